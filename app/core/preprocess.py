"""preprocess.json: how a camera frame or image file becomes the model's input tensor."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.files import write_json


class PreprocessSpec(BaseModel):
    """Resize → colour order → scale → (x − mean) / std → layout, with a batch axis of 1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_name: str = Field("x", min_length=1, max_length=256)
    width: int = Field(ge=1, le=4096)
    height: int = Field(ge=1, le=4096)
    channels: Literal[1, 3]
    color: Literal["GRAY", "RGB", "BGR"]
    layout: Literal["NCHW", "NHWC"] = "NCHW"
    scale: float = Field(1 / 255, gt=0, le=1)
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)

    @model_validator(mode="after")
    def _consistent(self) -> "PreprocessSpec":
        if (self.channels == 1) != (self.color == "GRAY"):
            raise ValueError("GRAY goes with 1 channel, RGB/BGR with 3")
        for name in ("mean", "std"):
            if len(getattr(self, name)) not in (1, self.channels):
                raise ValueError(f"{name} needs 1 or {self.channels} values")
        if any(s <= 0 for s in self.std):
            raise ValueError("std values must be positive")
        return self

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        if self.layout == "NCHW":
            return (1, self.channels, self.height, self.width)
        return (1, self.height, self.width, self.channels)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """An OpenCV image (H×W gray or H×W×3 BGR, uint8) → float32 input tensor."""
        import cv2

        if image.ndim == 3 and image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        if self.color == "GRAY" and image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        elif self.color != "GRAY" and image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if image.shape[:2] != (self.height, self.width):
            image = cv2.resize(image, (self.width, self.height), interpolation=cv2.INTER_AREA)
        if self.color == "RGB":
            image = image[:, :, ::-1]
        x = image.astype(np.float32).reshape(self.height, self.width, self.channels) * np.float32(self.scale)
        x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        if self.layout == "NCHW":
            x = x.transpose(2, 0, 1)
        return np.ascontiguousarray(x[None], dtype=np.float32)

    def apply_batch(self, images: np.ndarray) -> np.ndarray:
        return np.concatenate([self.apply(im) for im in images]) if len(images) else np.empty((0,) + self.input_shape[1:], np.float32)

    def with_layout(self, layout: str) -> "PreprocessSpec":
        return self.model_copy(update={"layout": layout})

    @classmethod
    def load(cls, path: str | Path) -> "PreprocessSpec":
        return cls.model_validate_json(Path(path).read_text())

    def save(self, path: str | Path) -> Path:
        return write_json(path, self.model_dump(mode="json"))

"""preprocess.json: how a camera frame or image file becomes the model's input tensor."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.core.files import write_json


class PreprocessError(ValueError):
    """preprocess.json is not a valid spec: the message names the file and each bad field.

    `problems` holds (field, message) pairs; field is "" for the whole document (not JSON, not an object)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        shown = [f"{field}: {message}" if field else message for field, message in problems[:5]]
        more = f"; … and {len(problems) - 5} more" if len(problems) > 5 else ""
        super().__init__(f"{source}: " + "; ".join(shown) + more)
        self.problems = problems


class PreprocessSpec(BaseModel):
    """Resize → colour order → scale → (x − mean) / std → layout, with a batch axis of 1."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # a NaN/inf scale: NaN tensors

    input_name: str = Field("x", min_length=1, max_length=256)
    width: int = Field(ge=1, le=4096)
    height: int = Field(ge=1, le=4096)
    channels: Literal[1, 3]
    color: Literal["GRAY", "RGB", "BGR"]
    layout: Literal["NCHW", "NHWC"] = "NCHW"
    scale: float = Field(1 / 255, gt=0, le=1)
    # bounded so that (x − mean) / std stays finite in float32 (a std of 1e-50 is 0 there)
    mean: tuple[Annotated[float, Field(ge=-1e6, le=1e6)], ...] = (0.0,)
    std: tuple[Annotated[float, Field(ge=1e-6, le=1e6)], ...] = (1.0,)

    @model_validator(mode="after")
    def _consistent(self) -> "PreprocessSpec":
        if (self.channels == 1) != (self.color == "GRAY"):
            raise ValueError(f"color {self.color} with channels {self.channels}: GRAY goes with 1 channel, "
                             "RGB/BGR with 3")
        for name in ("mean", "std"):
            if len(getattr(self, name)) not in (1, self.channels):
                raise ValueError(f"{name} needs 1 or {self.channels} values")
        return self

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        if self.layout == "NCHW":
            return (1, self.channels, self.height, self.width)
        return (1, self.height, self.width, self.channels)

    def value_range(self) -> tuple[float, float]:
        """The lowest and highest input value an 8-bit image can produce (the range verification feeds)."""
        ends = [(pixel * self.scale - m) / sd for pixel in (0, 255) for m in self.mean for sd in self.std]
        return float(min(ends)), float(max(ends))

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
        """Read preprocess.json; PreprocessError (a ValueError) if it is not a valid spec, OSError if unreadable."""
        return cls.from_json(Path(path).read_bytes(), str(path))

    @classmethod
    def from_json(cls, data: str | bytes, source: str = "preprocess.json") -> "PreprocessSpec":
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8-sig")  # a BOM (Windows editors) is fine
            except UnicodeDecodeError as exc:
                raise PreprocessError(source, [("", f"not UTF-8 text (byte {exc.start})")]) from None
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise PreprocessError(source, validation_problems(exc)) from None

    def save(self, path: str | Path) -> Path:
        return write_json(path, self.model_dump(mode="json"))


def letterbox(image: np.ndarray, width: int, height: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Pad `image` with black to the aspect ratio width:height (centred), as YOLO and MediaPipe models are fed;
    the padded image and (padded width, padded height, left, top)."""
    import cv2

    h, w = image.shape[:2]
    target = width / height
    pw, ph = max(w, round(h * target)), max(h, round(w / target))
    left, top = (pw - w) // 2, (ph - h) // 2
    padded = cv2.copyMakeBorder(image, top, ph - h - top, left, pw - w - left, cv2.BORDER_CONSTANT, value=0)
    return padded, (pw, ph, left, top)


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(field path, message) of each problem pydantic found in a sidecar file."""
    return [(".".join(str(p) for p in e["loc"]), e["msg"].removeprefix("Value error, "))
            for e in exc.errors(include_url=False, include_input=False)]


def find_sidecar(model: str | Path, name: str) -> Path | None:
    """A file that describes `model` (preprocess.json, labels.json, model.json): next to it, or one folder
    up as in deployment packages (PKG/edge/model.ms beside PKG/edge/preprocess.json or PKG/preprocess.json)."""
    model = Path(model)
    for folder in (model.parent, model.parent.parent):
        if (folder / name).is_file():
            return folder / name
    return None

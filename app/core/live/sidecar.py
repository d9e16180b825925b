"""The model sidecar: which postprocessor reads a model, its labels, thresholds and how to feed it.

Declared, never guessed from the file name: `<model stem>.model.json` next to the model, or the
folder's `model.json` (beside it or one folder up, as in deployment packages), e.g.

    {"kind": "yolov8", "labels": ["red", "green", "blue"], "score_threshold": 0.5, "iou_threshold": 0.45,
     "preprocess": {"color": "RGB", "range": "0-1", "letterbox": true}}

A classifier with only preprocess.json next to it needs none (it is read as a classifier).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.core.live.anchors import SSD_PRESETS, SsdAnchorOptions, SsdDecoderOptions
from app.core.preprocess import PreprocessError, PreprocessSpec, find_sidecar

MODEL_SIDECAR = "model.json"
KINDS = ("classification", "ssd", "yolov5", "yolov8", "segmentation", "keypoints")
Kind = Literal["classification", "ssd", "yolov5", "yolov8", "segmentation", "keypoints"]
# on 0..255 pixels: (scale, mean, std) as PreprocessSpec applies them: (x·scale − mean) / std
RANGES = {"0-255": (1.0, (0.0,), (1.0,)), "0-1": (1 / 255, (0.0,), (1.0,)), "-1-1": (2 / 255, (1.0,), (1.0,))}
Finite = Annotated[float, Field(ge=-1e6, le=1e6)]


class InputOptions(BaseModel):
    """How a frame becomes the input; the size and channel count come from the model's input."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    color: Literal["RGB", "BGR", "GRAY"] = "RGB"
    range: Literal["0-255", "0-1", "-1-1", "mean-std"] = "0-1"
    mean: tuple[Finite, ...] = (0.485, 0.456, 0.406)  # mean-std only, on 0..1 pixels (ImageNet's by default)
    std: tuple[Annotated[float, Field(ge=1e-6, le=1e6)], ...] = (0.229, 0.224, 0.225)
    layout: Literal["NCHW", "NHWC"] | None = None  # None: the model input's own
    letterbox: bool = False  # keep the aspect ratio and pad (YOLO, MediaPipe) instead of stretching

    def spec(self, input_shape: tuple[int, ...], input_name: str = "x") -> PreprocessSpec:
        """The full PreprocessSpec for a model whose input has `input_shape` (1, C, H, W) or (1, H, W, C)."""
        shape = tuple(int(d) for d in input_shape)
        if len(shape) != 4:
            raise ValueError(f"the model's input {shape} is not an image batch (N, C, H, W) or (N, H, W, C)")
        layout = self.layout or ("NCHW" if shape[1] in (1, 3) and shape[3] not in (1, 3) else
                                 "NHWC" if shape[3] in (1, 3) else "NCHW")
        channels, height, width = (shape[1], shape[2], shape[3]) if layout == "NCHW" else (shape[3], shape[1], shape[2])
        if channels not in (1, 3):
            raise ValueError(f"the model's input {shape} has {channels} channels in {layout}: 1 or 3 are fed")
        if self.range == "mean-std":
            scale, mean, std = 1 / 255, self.mean, self.std
        else:
            scale, mean, std = RANGES[self.range]
        color = "GRAY" if channels == 1 else ("RGB" if self.color == "GRAY" else self.color)
        if channels == 1:
            mean, std = mean[:1], std[:1]
        try:
            return PreprocessSpec(input_name=input_name or "x", width=width, height=height, channels=channels,
                                  color=color, layout=layout, scale=scale, mean=mean, std=std)
        except ValidationError as exc:
            raise ValueError(f"preprocess: {exc.errors()[0]['msg']}") from None


class ModelDescription(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: Kind
    labels: list[str] | None = None
    labels_file: str | None = None  # a JSON list or a text file, one label a line; relative to the sidecar
    score_threshold: float = Field(0.5, ge=0, le=1)  # detections kept from this score
    iou_threshold: float = Field(0.45, ge=0, le=1)  # NMS: boxes overlapping more are one
    max_detections: int = Field(100, ge=1, le=10000)
    top_k: int = Field(3, ge=1, le=100)  # classification: classes shown
    mask_threshold: float = Field(0.5, ge=0, le=1)  # segmentation with one channel
    normalized: bool = False  # yolo/keypoints: coordinates are 0..1 of the input, not input pixels
    topology: Literal["hand21", "pose33", "face468"] | None = None  # keypoints: the skeleton drawn
    values_per_keypoint: int | None = Field(None, ge=2, le=8)  # keypoints: x, y (, z, visibility, …)
    keypoint_output: int | None = Field(None, ge=0)  # keypoints: which output holds them (default: first that fits)
    presence_output: int | None = Field(None, ge=0)  # keypoints: a one-value "present" score output
    preset: str | None = None  # ssd: anchors and decoder of a MediaPipe detector (anchors.SSD_PRESETS)
    # ssd without a preset: MediaPipe's SsdAnchorsCalculator and TensorsToDetectionsCalculator options
    anchors: SsdAnchorOptions | None = None
    decoder: SsdDecoderOptions | None = None
    preprocess: InputOptions | None = None

    @model_validator(mode="after")
    def _needs(self) -> "ModelDescription":
        if self.kind == "ssd" and not self.preset and (self.anchors is None or self.decoder is None):
            raise ValueError(f"kind ssd needs a preset ({', '.join(SSD_PRESETS)}) or its anchors and decoder "
                             "options (MediaPipe's SsdAnchorsCalculator / TensorsToDetectionsCalculator)")
        if self.preset and self.preset not in SSD_PRESETS:
            raise ValueError(f"unknown ssd preset {self.preset!r}: use one of {', '.join(SSD_PRESETS)}")
        return self

    def label_list(self, sidecar: Path | None) -> list[str] | None:
        if self.labels is not None or not self.labels_file:
            return self.labels
        return read_labels((sidecar.parent if sidecar else Path.cwd()) / self.labels_file)


def read_labels(path: str | Path) -> list[str]:
    """A labels file: a JSON list of names, or plain text with one name a line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable labels file ({exc})") from None
    if text.lstrip().startswith("["):
        try:
            names = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{path}: not a JSON list of labels ({exc})") from None
        if not isinstance(names, list) or not all(isinstance(n, (str, int)) for n in names):
            raise ValueError(f"{path}: a labels file is a list of names")
        return [str(n) for n in names]
    return [line.strip() for line in text.splitlines() if line.strip()]


def sidecar_path(model: str | Path) -> Path:
    """Where a model's own sidecar goes: <stem>.model.json beside it."""
    model = Path(model)
    return model.with_name(f"{model.stem}.model.json")


def find_description(model: str | Path) -> Path | None:
    own = sidecar_path(model)
    return own if own.is_file() else find_sidecar(model, MODEL_SIDECAR)


def load_description(model: str | Path) -> tuple[ModelDescription | None, Path | None]:
    """The model's sidecar, validated; (None, None) when it has none. ValueError names each bad field."""
    found = find_description(model)
    if found is None:
        return None, None
    try:
        return ModelDescription.model_validate_json(found.read_bytes()), found
    except ValidationError as exc:
        problems = [(".".join(str(p) for p in e["loc"]), e["msg"].removeprefix("Value error, "))
                    for e in exc.errors(include_url=False, include_input=False)]
        raise PreprocessError(str(found), problems) from None
    except OSError as exc:
        raise ValueError(f"{found}: not readable ({exc})") from None


def save_description(model: str | Path, description: ModelDescription, folder_wide: bool = False) -> Path:
    """Write the sidecar next to `model` (<stem>.model.json, or the folder's model.json)."""
    from app.core.files import write_json

    target = Path(model).parent / MODEL_SIDECAR if folder_wide else sidecar_path(model)
    return write_json(target, description.model_dump(mode="json", exclude_defaults=True) | {"kind": description.kind})

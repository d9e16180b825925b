"""The model sidecar: which postprocessor reads a model, its labels, thresholds and how to feed it.

Declared, never guessed from the file name: `<model stem>.model.json` next to the model, or the
folder's `model.json` (beside it or one folder up, as in deployment packages), e.g.

    {"kind": "yolov8", "labels": ["red", "green", "blue"], "score_threshold": 0.5, "iou_threshold": 0.45,
     "preprocess": {"color": "RGB", "range": "0-1", "letterbox": true}}

A classifier with only preprocess.json next to it needs none (it is read as a classifier).
A model with a model description (app/core/description.py, description.json) is read from that instead:
these files are the older form of its kind, decoder settings and preprocessing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.core.description import KINDS, RANGES, InputOptions, Kind  # noqa: F401  (re-exported)
from app.core.description import find_description as find_model_description
from app.core.description import load_description_for, read_labels  # noqa: F401  (read_labels re-exported)
from app.core.preprocess import PreprocessError, find_sidecar
from app.core.live.anchors import SSD_PRESETS, SsdAnchorOptions, SsdDecoderOptions

MODEL_SIDECAR = "model.json"
Finite = Annotated[float, Field(ge=-1e6, le=1e6)]


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


def sidecar_path(model: str | Path) -> Path:
    """Where a model's own sidecar goes: <stem>.model.json beside it."""
    model = Path(model)
    return model.with_name(f"{model.stem}.model.json")


def find_description(model: str | Path) -> Path | None:
    own = sidecar_path(model)
    return own if own.is_file() else find_sidecar(model, MODEL_SIDECAR)


def load_description(model: str | Path) -> tuple[ModelDescription | None, Path | None]:
    """The model's sidecar, validated; (None, None) when it has none. ValueError names each bad field."""
    described = find_model_description(model)
    if described is not None:  # the model description (description.json) holds the live settings too
        return ModelDescription.model_validate(load_description_for(model).live_sidecar()), described
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

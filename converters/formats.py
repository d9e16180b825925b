"""The model file formats Lite 2.0's converter reads and writes: one table, no if/elif."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceFormat:
    name: str
    fmk: int  # mindspore::converter::FmkType
    suffix: str
    weight_suffix: str = ""  # a second file next to the model (Caffe)


SOURCE_FORMATS = (
    SourceFormat("tf", 0, ".pb"),
    SourceFormat("caffe", 1, ".prototxt", weight_suffix=".caffemodel"),
    SourceFormat("onnx", 2, ".onnx"),
    SourceFormat("mindir", 3, ".mindir"),
    SourceFormat("tflite", 4, ".tflite"),
)


@dataclass(frozen=True)
class LiteFormat:
    name: str
    model_type: int  # mindspore::ModelType: what the converter saves and the runtime loads
    suffix: str


LITE_FORMATS = (
    LiteFormat("mindir", 0, ".mindir"),
    LiteFormat("ms", 4, ".ms"),
)

INPUT_LAYOUTS = {"NCHW": 0, "NHWC": 1}


def source_format(path: str | Path, name: str | None = None) -> SourceFormat:
    """The source format named `name`, or the one the file's suffix says."""
    for fmt in SOURCE_FORMATS:
        if fmt.name == name or (name is None and Path(path).suffix.lower() == fmt.suffix):
            return fmt
    known = ", ".join(f"{f.suffix} ({f.name})" for f in SOURCE_FORMATS)
    what = f"format {name!r}" if name else f"suffix {Path(path).suffix or '(none)'!r}"
    raise ValueError(f"unknown model {what} for {Path(path).name}: the converter reads {known}")


def lite_format(path: str | Path, name: str | None = None) -> LiteFormat:
    """The Lite format named `name`, or the one the suffix says (.ms or .mindir)."""
    for fmt in LITE_FORMATS:
        if fmt.name == name or (name is None and Path(path).suffix.lower() == fmt.suffix):
            return fmt
    raise ValueError(f"{Path(path).name}: Lite models end in .ms or .mindir")

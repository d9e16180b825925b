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
# source format -> the layout of its 4-D tensors (Lite's converter turns NCHW graphs NHWC inside)
SOURCE_LAYOUTS = {"onnx": "NCHW", "caffe": "NCHW", "mindir": "NCHW", "tflite": "NHWC", "tf": "NHWC"}
# images the app reads as data (calibration, datasets, image-folder sources): what OpenCV decodes everywhere
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp"})


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


@dataclass(frozen=True)
class Signature:
    """Bytes every file of a format carries at a fixed offset. Lite's readers crash (SIGSEGV) or
    fail with "Get funcGraph failed" on a file of another format, so the first bytes are checked first."""

    offset: int
    magic: bytes
    identifier: bool  # a flatbuffer file identifier: strong enough to say which format another file is
    label: str  # how messages name the format


# Protobuf formats open with their first field's tag: ONNX's ir_version (field 1, varint: 0x08),
# MindIR's ir_version (field 1, string: 0x0a). Flatbuffers carry a 4-byte identifier after the root offset.
SIGNATURES = {
    "onnx": Signature(0, b"\x08", identifier=False, label="an ONNX model"),
    "mindir": Signature(0, b"\x0a", identifier=False, label="a MindIR model"),
    "tflite": Signature(4, b"TFL3", identifier=True, label="a TFLite model"),
    "ms": Signature(4, b"MSL2", identifier=True, label="a Lite .ms model"),
}


def _suffix(name: str) -> str:
    return next(f.suffix for f in (*SOURCE_FORMATS, *LITE_FORMATS) if f.name == name)


def format_name(path: str | Path) -> str | None:
    """The format a file's suffix names (onnx, tflite, ms, mindir, …), or None."""
    suffix = Path(path).suffix.lower()
    return next((f.name for f in (*SOURCE_FORMATS, *LITE_FORMATS) if f.suffix == suffix), None)


def path_problem(path: str | Path) -> str | None:
    """Why `path` cannot be read as a model file ("no such file", "not a file", a name over NAME_MAX,
    a symlink loop…); None when it is a file."""
    try:
        exists, is_file = Path(path).exists(), Path(path).is_file()
    except OSError as exc:  # the path itself is unusable
        return exc.strerror or str(exc)
    if not exists:
        return "no such file"
    return None if is_file else "not a file"


def checked_format(path: Path, lookup, error: type[Exception]):
    """`lookup(path)` (source_format, lite_format …) for a path that is a readable file; else `error` with one
    line: no such file, not a file, a name too long, a suffix no format has."""
    if problem := path_problem(path):
        raise error(f"{path}: {problem}")
    try:
        return lookup(path)
    except ValueError as exc:
        raise error(str(exc)) from None


def content_problem(path: str | Path, fmt_name: str) -> str | None:
    """Why the file cannot be a `fmt_name` model, judged from its first bytes; None when it may be one."""
    with open(path, "rb") as f:
        head = f.read(16)
    if not head:
        return "the file is empty"
    wanted = SIGNATURES.get(fmt_name)
    for other, sig in SIGNATURES.items():
        if other != fmt_name and sig.identifier and head[sig.offset:sig.offset + len(sig.magic)] == sig.magic:
            return (f"it is {sig.label}, not {wanted.label if wanted else f'a {fmt_name} model'}: "
                    f"give it the {_suffix(other)} suffix")
    if wanted is not None and head[wanted.offset:wanted.offset + len(wanted.magic)] != wanted.magic:
        return f"not {wanted.label} (it starts with {head[:12]!r})"
    return None

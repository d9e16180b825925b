"""The model description: every fact about a model that a stage needs, in one checked value.

Import and training propose it, the user corrects it (the GUI's import dialog, CLI flags), and it is
saved as `description.json` beside the model in the library and written into every package. Every stage
reads it through `load_description_for`: convert (input shapes), INT8 calibration (the same
preprocessing as Live, so calibration images look to the model like live frames), verification, Live,
deploy, profile. A folder without one (a model trained before this file existed, the sample) gets one
assembled from its older sidecars (preprocess.json, model.json / <stem>.model.json, labels.json,
metrics.json), so there is one reader however old the folder is.

The facts:
- inputs: names and shapes. A dynamic dimension is None and must be fixed (`with_input_shape`) before
  anything runs: `require_fixed` says which input and how, never a silent 1.
- preprocess: colour, value range (or mean/std), layout, letterbox or stretch (InputOptions).
- kind and its decoder settings (thresholds, anchors preset, topology…: validated by the live
  postprocessor's own schema, app.core.live.sidecar, when a stage decodes).
- labels; outputs with their role (main or auxiliary: an auxiliary output does not judge a conversion);
- the task metric (from the kind: TASKS) and its tolerance; representative data (calibration and
  evaluation), a folder of images or "digits".
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.core.files import write_json
from app.core.models.card import READERS
from app.core.preprocess import PreprocessError, PreprocessSpec, find_sidecar, letterbox, validation_problems
from converters.formats import path_problem, source_format
from converters.targets import TARGETS

DESCRIPTION_FILE = "description.json"
Kind = Literal["classification", "ssd", "yolov5", "yolov8", "segmentation", "keypoints"]
KINDS: tuple[str, ...] = Kind.__args__
# on 0..255 pixels: (scale, mean, std) as PreprocessSpec applies them: (x·scale − mean) / std
RANGES = {"0-255": (1.0, (0.0,), (1.0,)), "0-1": (1 / 255, (0.0,), (1.0,)), "-1-1": (2 / 255, (1.0,), (1.0,))}
Finite = Annotated[float, Field(ge=-1e6, le=1e6)]


class DescriptionError(ValueError):
    """A description is missing a fact a stage needs, or holds a wrong one; the message says which and how
    to give it."""


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

    @classmethod
    def from_spec(cls, spec: PreprocessSpec, letterboxed: bool = False) -> "InputOptions":
        """The options that rebuild `spec` (a training run's preprocess.json) exactly; the layout is left to
        each runtime's input (a Lite .ms often takes NHWC where the ONNX took NCHW)."""
        for name, (scale, mean, std) in RANGES.items():
            if math.isclose(spec.scale, scale) and set(spec.mean) == set(mean) and set(spec.std) == set(std):
                return cls(color=spec.color, range=name, letterbox=letterboxed)
        # (x·scale − m) / s = (x/255 − m/(255·scale)) / (s/(255·scale)): mean/std on 0..1 pixels
        k = 255 * spec.scale
        return cls(color=spec.color, range="mean-std", mean=tuple(m / k for m in spec.mean),
                   std=tuple(s / k for s in spec.std), letterbox=letterboxed)


class TensorFacts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=512)
    shape: list[int | None] | None = None  # None inside: a dynamic dimension; None for all: unknown rank
    dtype: str = "float32"

    @property
    def fixed(self) -> bool:
        return self.shape is not None and all(d is not None and d > 0 for d in self.shape)

    def shown(self) -> str:
        return "unknown" if self.shape is None else "×".join("?" if d is None else str(d) for d in self.shape)


class OutputFacts(TensorFacts):
    role: Literal["main", "auxiliary"] = "main"  # auxiliary: not drawn, not judged (e.g. world landmarks in metres)
    meaning: str = ""  # scores, boxes, landmarks, mask, presence … (free text the user reads)


class Task(BaseModel):
    """What a kind of model is judged by: its metric, the tolerance a quantized variant may lose."""

    metric: str
    unit: str  # "%" or "px"
    tolerance: float  # default loss allowed against FP32, in `unit` (points of % or pixels)


# one row per kind: the task metric verification, quant-debug and the picks report
TASKS: dict[str, Task] = {
    "classification": Task(metric="top-1", unit="%", tolerance=1.0),
    "ssd": Task(metric="box agreement (IoU ≥ 0.5)", unit="%", tolerance=5.0),
    "yolov5": Task(metric="box agreement (IoU ≥ 0.5)", unit="%", tolerance=5.0),
    "yolov8": Task(metric="box agreement (IoU ≥ 0.5)", unit="%", tolerance=5.0),
    "segmentation": Task(metric="mask IoU", unit="%", tolerance=5.0),
    "keypoints": Task(metric="PCK@0.1", unit="%", tolerance=5.0),
}


class ModelDescription(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    version: Literal[1] = 1
    name: str = Field("", max_length=256)
    model_file: str = Field("model.onnx", min_length=1, max_length=255)  # beside the description
    format: str = "onnx"  # a converters.formats source format name
    inputs: list[TensorFacts] = Field(min_length=1)
    outputs: list[OutputFacts] = []
    preprocess: InputOptions = InputOptions()
    kind: Kind = "classification"
    decoder: dict = {}  # the kind's settings (app.core.live.sidecar's fields: thresholds, preset, topology …)
    labels: list[str] | None = None
    data: str | None = None  # representative data: a folder of images (DIR/<class>/* or flat) or "digits"
    tolerance: float | None = Field(None, ge=0, le=100)  # None: the kind's (TASKS)
    origin: Literal["sample", "trained", "imported"] = "imported"

    @field_validator("name", "model_file", mode="before")
    @classmethod
    def _readable(cls, value):
        # A file name that is not UTF-8 reaches Python with surrogate escapes, which JSON cannot hold: the
        # description keeps a readable version (callers holding the real path use the path itself).
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return value

    @model_validator(mode="after")
    def _names(self) -> "ModelDescription":
        names = [i.name for i in self.inputs]
        if len(set(names)) != len(names):
            raise ValueError(f"two inputs share a name: {names}")
        if "/" in self.model_file or self.model_file in (".", ".."):
            raise ValueError(f"model_file {self.model_file!r} must be a file name beside the description")
        return self

    # -- the task ------------------------------------------------------------------------------
    @property
    def task(self) -> Task:
        return TASKS[self.kind]

    @property
    def allowed_loss(self) -> float:
        return self.task.tolerance if self.tolerance is None else self.tolerance

    def main_outputs(self) -> list[int]:
        """Indices of the outputs that judge a conversion (all of them when none is marked auxiliary)."""
        main = [i for i, o in enumerate(self.outputs) if o.role == "main"]
        return main or list(range(len(self.outputs)))

    # -- shapes --------------------------------------------------------------------------------
    def unfixed_inputs(self) -> list[str]:
        return [i.name for i in self.inputs if not i.fixed]

    def with_input_shape(self, name: str, shape: list[int]) -> "ModelDescription":
        """The description with input `name` fixed at `shape` (DescriptionError if it does not fit)."""
        known = {i.name: i for i in self.inputs}
        if name not in known:
            raise DescriptionError(f"{self.label} has no input {name!r} (its inputs: {', '.join(map(repr, known))})")
        declared = known[name].shape
        shape = [int(d) for d in shape]
        if any(d <= 0 for d in shape):
            raise DescriptionError(f"{self.label}: input {name!r} shape {shape}: every dimension must be positive")
        if declared is not None and (len(declared) != len(shape) or
                                     any(d is not None and d != s for d, s in zip(declared, shape))):
            raise DescriptionError(f"{self.label}: input {name!r} is {known[name].shown()}; {shape} does not fit it "
                                   "(only its open dimensions, shown as ?, can be chosen)")
        inputs = [i.model_copy(update={"shape": shape}) if i.name == name else i for i in self.inputs]
        return self.model_copy(update={"inputs": inputs})

    def require_fixed(self, stage: str) -> None:
        """Nothing runs at an unfixed dynamic shape: say which input and how to fix it."""
        open_inputs = [i for i in self.inputs if not i.fixed]
        if open_inputs:
            which = ", ".join(f"{i.name!r} ({i.shown()})" for i in open_inputs)
            example = open_inputs[0]
            dims = ",".join("640" if d is None else str(d) for d in (example.shape or [1, 3, 224, 224]))
            raise DescriptionError(f"{self.label}: {stage} needs fixed input shapes; dynamic: {which}. Fix it once: "
                                   f"`edge-studio import FILE --input-shape {example.name}:{dims}`, "
                                   "or fill the shape in the GUI's import dialog")

    def input_shapes(self) -> dict[str, list[int]]:
        """name -> shape of every fixed input (what the converter is told)."""
        return {i.name: [int(d) for d in i.shape] for i in self.inputs if i.fixed}

    @property
    def label(self) -> str:
        return self.name or self.model_file

    # -- preprocessing -------------------------------------------------------------------------
    def preprocess_spec(self, stage: str = "preprocessing") -> PreprocessSpec:
        """How a frame or image file becomes input 0 (an image model's only input)."""
        self.require_fixed(stage)
        first = self.inputs[0]
        try:
            return self.preprocess.spec(tuple(first.shape), first.name)
        except ValueError as exc:
            raise DescriptionError(f"{self.label}: {exc}") from None

    def image_input(self, image: np.ndarray, spec: PreprocessSpec | None = None) -> np.ndarray:
        """An OpenCV image → input tensor exactly as Live feeds a frame (letterbox or stretch included)."""
        spec = spec or self.preprocess_spec()
        if self.preprocess.letterbox:
            image, _ = letterbox(image, spec.width, spec.height)
        return spec.apply(image)

    def live_sidecar(self) -> dict:
        """The live postprocessor's sidecar fields (app.core.live.sidecar.ModelDescription) from this description."""
        return {**self.decoder, "kind": self.kind, "labels": self.labels,
                "preprocess": self.preprocess.model_dump(mode="json")}

    # -- files ---------------------------------------------------------------------------------
    def model_path(self, folder: str | Path) -> Path:
        return Path(folder) / self.model_file

    def save(self, folder: str | Path) -> Path:
        return write_json(Path(folder) / DESCRIPTION_FILE, self.model_dump(mode="json", exclude_defaults=False))


def parse(data: bytes | str, source: str) -> ModelDescription:
    try:
        return ModelDescription.model_validate_json(data)
    except ValidationError as exc:
        raise PreprocessError(source, validation_problems(exc)) from None


def find_description(model: str | Path) -> Path | None:
    """description.json of a folder, or of a model file's folder (or one up, as in packages)."""
    model = Path(model)
    if model.is_dir():
        return model / DESCRIPTION_FILE if (model / DESCRIPTION_FILE).is_file() else None
    return find_sidecar(model, DESCRIPTION_FILE)


def load_description_for(model: str | Path) -> ModelDescription:
    """The description of a model folder or file: its description.json, or one assembled from its older
    sidecars. DescriptionError when neither says anything about it."""
    model = Path(model)
    if not model.is_dir() and (problem := path_problem(model)):
        raise DescriptionError(f"{model}: {problem}")
    found = find_description(model)
    if found is not None:
        try:
            description = parse(found.read_bytes(), str(found))
        except OSError as exc:
            raise DescriptionError(f"{found}: not readable ({exc})") from None
        if model.is_file() and model.name != description.model_file and model.parent == found.parent:
            description = description.model_copy(update={"model_file": model.name})  # a tier's model.ms, say
        return description
    return _from_legacy(model)


def _from_legacy(model: Path) -> ModelDescription:
    """A trained model's folder (model.onnx + preprocess.json + labels.json + metrics.json) or a model file with
    <stem>.model.json / model.json beside it, as one description."""
    folder = model if model.is_dir() else model.parent
    model_file = "model.onnx" if model.is_dir() else model.name
    preprocess_file = find_sidecar(folder / model_file, "preprocess.json")
    spec = PreprocessSpec.load(preprocess_file) if preprocess_file else None
    own = folder / f"{Path(model_file).stem}.model.json"
    sidecar_file = own if _is_file(own) else find_sidecar(folder / model_file, "model.json")
    sidecar = _json(sidecar_file) if sidecar_file else {}
    if spec is None and not sidecar:
        raise DescriptionError(f"{folder / model_file}: nothing describes this model (no {DESCRIPTION_FILE}, "
                               "preprocess.json or model.json): import it first (`edge-studio import FILE`)")
    labels_file = find_sidecar(folder / model_file, "labels.json")
    labels = sidecar.pop("labels", None) or (read_labels(labels_file) if labels_file else None)
    metrics_file = find_sidecar(folder / model_file, "metrics.json")
    metrics = _json(metrics_file) if metrics_file else {}
    options = sidecar.pop("preprocess", None)
    kind = sidecar.pop("kind", "classification")
    sidecar.pop("labels_file", None)
    try:
        preprocess = InputOptions.model_validate(options) if options else (
            InputOptions.from_spec(spec) if spec else InputOptions())
    except ValidationError as exc:
        raise DescriptionError(f"{sidecar_file}: preprocess: {exc.errors()[0]['msg']}") from None
    inputs = [TensorFacts(name=spec.input_name, shape=list(spec.input_shape))] if spec else None
    outputs: list[OutputFacts] = []
    try:
        read_inputs, read_outputs = read_io(folder / model_file)
        inputs = inputs or read_inputs
        outputs = [OutputFacts(**o.model_dump()) for o in read_outputs]
    except (DescriptionError, OSError):
        if inputs is None:
            raise
    data = metrics.get("dataset_source") or metrics.get("dataset")
    return ModelDescription(name=folder.name, model_file=model_file, format=_format(folder / model_file),
                            inputs=inputs, outputs=outputs, preprocess=preprocess, kind=kind, decoder=sidecar,
                            labels=labels, data=str(data) if data else None,
                            origin="trained" if metrics else "imported")


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long to exist (a model named with 250 characters has no such sidecar)
        return False


def variant_label(model: str | Path) -> str | None:
    """"<model name> · INT8" for a described model file: a package tier's file by the targets table, a
    library folder's own model as its source precision; None when nothing describes it."""
    model = Path(model)
    if find_description(model) is None:
        return None
    try:
        description = load_description_for(model)
    except (DescriptionError, PreprocessError, OSError):
        return None
    target = next((t for t in TARGETS if t.file == model.name and t.tier == model.parent.name), None)
    precision = target.precision.upper() if target else "FP32"
    suffix = f" {target.tier}" if target else ""
    return f"{description.label} · {precision}{suffix}"


def read_io(path: Path) -> tuple[list[TensorFacts], list[TensorFacts]]:
    """A model file's inputs and outputs as the file declares them (pure Python: onnx, tflite readers)."""
    fmt = _format(path)
    reader = READERS.get(fmt)
    if reader is None:
        raise DescriptionError(f"{path.name}: {fmt} files declare no inputs a reader here can see")
    info: dict = {"notes": []}
    try:
        reader(path, info)
    except Exception as exc:  # a corrupt file fails its reader in many ways: one line, never a traceback
        raise DescriptionError(f"{path.name}: not a readable {fmt} model ({exc or type(exc).__name__})") from None

    def facts(t: dict) -> TensorFacts:
        shape = t.get("shape")
        dims = None if shape is None else [d if isinstance(d, int) and d > 0 else None for d in shape]
        return TensorFacts(name=t["name"] or "input", shape=dims, dtype=str(t.get("dtype") or "float32"))

    return [facts(t) for t in info.get("inputs", [])], [facts(t) for t in info.get("outputs", [])]


def _format(path: Path) -> str:
    try:
        return source_format(path).name
    except ValueError:
        return path.suffix.lstrip(".").lower() or "unknown"


def _json(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise DescriptionError(f"{path}: not a readable JSON file ({exc})") from None
    return value if isinstance(value, dict) else {}


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

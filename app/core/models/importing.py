"""Import: a model file the user brings becomes a library folder with its model description.

`propose` reads the file (pure Python: the onnx/tflite readers of the model card) and suggests a
description: inputs and outputs as the file declares them (dynamic dimensions left open), a kind from the
output shapes (the postprocessors' table), the kind's usual preprocessing. The user corrects it (CLI flags,
the GUI's import dialog: `choose`), and `import_into_library` copies the file into a new folder of the
app's own with description.json beside it. The user's file is only read, never moved or written.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import time
from pathlib import Path

from pydantic import ValidationError

from app.core.description import (
    DescriptionError,
    InputOptions,
    ModelDescription,
    OutputFacts,
    TensorFacts,
    load_description_for,
    read_io,
    read_labels,
)
from app.core.live.postprocess import POSTPROCESSORS, suggest_kinds
from app.core.models.datasets import NAMED
from converters.formats import checked_format, source_format

# the input's data type says the range a quantized model takes its pixels in
RANGE_BY_DTYPE = {"uint8": "0-255", "int8": "0-255"}


def model_file_of(path: str | Path) -> Path:
    """The file that names a model: a Caffe pair by its .prototxt."""
    path = Path(path)
    return path.with_suffix(".prototxt") if path.suffix.lower() == ".caffemodel" else path


def propose(path: str | Path, card=None) -> ModelDescription:
    """A first description of the model at `path`; DescriptionError (one line) when it cannot be read.
    `card` (a ModelCard): its Lite view of the inputs stands in for formats whose reader declares none
    (Caffe, TF, MindIR)."""
    path = model_file_of(path)
    fmt = checked_format(path, source_format, DescriptionError)
    if path.stat().st_size == 0:
        raise DescriptionError(f"{path.name}: the file is empty")
    try:
        inputs, outputs = read_io(path)
    except DescriptionError:
        if card is None or not card.inputs or fmt.name in ("onnx", "tflite"):
            raise
        inputs, outputs = [], []
    if not inputs and card is not None and card.inputs:
        inputs = [TensorFacts(name=t["name"], shape=[d if isinstance(d, int) and d > 0 else None for d in t["shape"]]
                              if t["shape"] is not None else None, dtype=str(t["dtype"])) for t in card.inputs]
        outputs = [TensorFacts(name=t["name"], shape=[d if isinstance(d, int) and d > 0 else None for d in t["shape"]]
                               if t["shape"] is not None else None, dtype=str(t["dtype"])) for t in card.outputs]
    if not inputs:
        raise DescriptionError(f"{path.name}: the file declares no inputs: not a model Edge Studio can feed")
    known = registry_entry(path)
    if known is not None and "live" in known:  # a model the sample registry knows: its declared facts
        return _from_registry(path, fmt.name, inputs, outputs, known)
    if (beside := _described_beside(path)) is not None and _same_inputs(beside.inputs, inputs):
        return beside
    shapes = [tuple(d or 1 for d in (o.shape or [])) for o in outputs]
    suggested = suggest_kinds(shapes) if shapes else []
    kind = suggested[0] if suggested else "classification"
    preprocess = POSTPROCESSORS[kind].default_input
    if inputs[0].dtype in RANGE_BY_DTYPE:
        preprocess = preprocess.model_copy(update={"range": RANGE_BY_DTYPE[inputs[0].dtype]})
    if _channels(preprocess, inputs[0]) == 1:  # say what will be fed: the dialog shows GRAY, not RGB
        preprocess = preprocess.model_copy(update={"color": "GRAY"})
    decoder = {"preset": "face_detection"} if kind == "ssd" else {}
    return ModelDescription(name=path.stem, model_file=path.name, format=fmt.name, inputs=inputs,
                            outputs=[OutputFacts(**o.model_dump()) for o in outputs], preprocess=preprocess,
                            kind=kind, decoder=decoder, origin="imported")


def _channels(preprocess: InputOptions, first: TensorFacts) -> int | None:
    """How many colour channels the first input takes (its open height and width do not matter here)."""
    if not first.shape or len(first.shape) != 4:
        return None
    try:
        return preprocess.spec(tuple(d or 64 for d in first.shape)).channels
    except ValueError:
        return None


def _described_beside(path: Path) -> ModelDescription | None:
    """What the files next to it already say (a trained model's preprocess.json and labels.json, a package's
    description.json, a <stem>.model.json): taken over, not guessed again (the bundled digits model read as
    [0, 1] RGB scores 76 % instead of 98 %)."""
    # Folder-wide sidecars (preprocess.json, labels.json, description.json) describe the folder's model.<ext>
    # (a trained model, a package tier); a file of another name only by its own <stem>.model.json.
    try:
        own = (path.parent / f"{path.stem}.model.json").is_file()
    except OSError:  # a name too long for the suffix: it has none
        own = False
    if path.stem != "model" and not own:
        return None
    try:
        described = load_description_for(path)
        check_kind(described)
    except DescriptionError:
        return None
    return described.model_copy(update={"name": path.stem if described.name in ("", path.parent.name) and
                                        path.stem != "model" else described.name,
                                        "model_file": path.name, "origin": "imported"})


def _same_inputs(described: list[TensorFacts], declared: list[TensorFacts]) -> bool:
    """Whether sidecars describe this file (a folder's preprocess.json may belong to another model in it): as
    many inputs, each of the same rank, every dimension the file fixes the same."""
    if len(described) != len(declared):
        return False
    for ours, its in zip(described, declared):
        if its.shape is None:
            continue
        if ours.shape is None or len(ours.shape) != len(its.shape):
            return False
        if any(a is not None and b is not None and a != b for a, b in zip(ours.shape, its.shape)):
            return False
    return True


def registry_entry(path: Path) -> dict | None:
    """The sample registry's manifest of this very file (same sha256), if it has one."""
    from sample_models.fetch import entries, manifest

    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    return next((m for m in map(manifest, entries()) if m["source"].get("sha256") == digest), None)


# an SSD preset's input block (range as [low, high]) in the description's words
PRESET_RANGES = {(0.0, 1.0): "0-1", (-1.0, 1.0): "-1-1", (0.0, 255.0): "0-255"}


def _preset_input(given: dict | None) -> dict | None:
    if not given:
        return None
    low, high = given.get("range", [0.0, 1.0])
    return {"color": given.get("color", "RGB"), "range": PRESET_RANGES.get((float(low), float(high)), "0-1"),
            "letterbox": bool(given.get("letterbox", True))}


def _from_registry(path: Path, fmt: str, inputs: list, outputs: list, known: dict) -> ModelDescription:
    live = dict(known["live"])
    meanings = {o["name"]: o for o in known.get("outputs", [])}
    facts = [OutputFacts(**o.model_dump(), meaning=meanings.get(o.name, {}).get("meaning", ""),
                         role=meanings.get(o.name, {}).get("role", "main")) for o in outputs]
    kind, labels = live.pop("kind"), live.pop("labels", None) or known.get("labels")
    given = live.pop("preprocess", None) or _preset_input(known.get("input"))
    preprocess = InputOptions.model_validate(given or {})
    return ModelDescription(name=path.stem, model_file=path.name, format=fmt, inputs=inputs, outputs=facts,
                            preprocess=preprocess, kind=kind, decoder=live, labels=labels, origin="imported")


def choose(description: ModelDescription, *, input_shapes: dict[str, list[int]] | None = None,
           kind: str | None = None, preprocess: dict | None = None, labels: list[str] | str | Path | None = None,
           data: str | None = None, auxiliary: list[str] | None = None, decoder: dict | None = None,
           tolerance: float | None = None, name: str | None = None) -> ModelDescription:
    """The user's corrections on top of a description, checked (DescriptionError names the bad one)."""
    for input_name, shape in (input_shapes or {}).items():
        description = description.with_input_shape(input_name, shape)
    update: dict = {}
    if kind is not None:
        update["kind"] = kind
        if kind != description.kind and decoder is None:
            update["decoder"] = {}  # another kind's settings do not carry over
    if decoder is not None:
        update["decoder"] = decoder
    if preprocess:
        try:
            update["preprocess"] = InputOptions.model_validate(description.preprocess.model_dump() | preprocess)
        except ValidationError as exc:
            error = exc.errors()[0]
            raise DescriptionError(f"preprocess {'.'.join(map(str, error['loc']))}: {error['msg']}") from None
    if labels is not None:
        update["labels"] = labels if isinstance(labels, list) else read_labels(labels)
    if data is not None:
        if data not in NAMED and not Path(data).is_dir():
            raise DescriptionError(f"representative data {data}: not a folder (images, or DIR/<class>/*) "
                                   f"or {' or '.join(repr(n) for n in NAMED)}")
        update["data"] = data if data in NAMED else str(Path(data).resolve())
    if auxiliary is not None:
        names = {o.name for o in description.outputs}
        unknown = [a for a in auxiliary if a not in names]
        if unknown:
            raise DescriptionError(f"{description.label} has no output {', '.join(map(repr, unknown))} "
                                   f"(its outputs: {', '.join(map(repr, names))})")
        update["outputs"] = [o.model_copy(update={"role": "auxiliary" if o.name in auxiliary else "main"})
                             for o in description.outputs]
    if tolerance is not None:
        update["tolerance"] = tolerance
    if name:
        update["name"] = name
    try:
        chosen = ModelDescription.model_validate(description.model_dump() | update)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise DescriptionError(f"{'.'.join(map(str, error['loc'])) or 'description'}: "
                               f"{error['msg'].removeprefix('Value error, ')}") from None
    if kind is not None:
        check_kind(chosen)
    return chosen


def check_kind(description: ModelDescription) -> None:
    """A declared kind must read the model's outputs (each kind's row says which shapes it reads): a palm
    detector declared yolov5 would draw garbage without a word."""
    if any(o.shape is None or None in o.shape for o in description.outputs):
        return  # open output dimensions: judged when the model first runs (the live view checks it then)
    shapes = [tuple(o.shape) for o in description.outputs]
    if not shapes or POSTPROCESSORS[description.kind].accepts(shapes):
        return
    fits = [k for k in suggest_kinds(shapes) if k != description.kind]
    listed = ", ".join(f"{o.name} {o.shown()}" for o in description.outputs)
    raise DescriptionError(f"{description.label}: kind {description.kind} reads {POSTPROCESSORS[description.kind].shapes}, "
                           f"but its outputs are {listed}" + (f"; they fit {' or '.join(fits)}" if fits else ""))


def import_into_library(path: str | Path, models_root: str | Path, description: ModelDescription) -> Path:
    """Copy the model (and a Caffe model's weights) into a new folder under `models_root`, with its
    description.json; the folder. The source file is only read."""
    path = model_file_of(path)
    fmt = source_format(path)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", description.name or path.stem).strip("-.")[:48] or "model"
    models_root = Path(models_root)
    models_root.mkdir(parents=True, exist_ok=True)
    folder = models_root / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}"
    n = 1
    while folder.exists():  # two imports in one second
        n += 1
        folder = models_root / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}-{n}"
    staging = models_root / f".{folder.name}.importing"
    staging.mkdir()
    try:
        model_file = f"model{path.suffix.lower()}"
        shutil.copyfile(path, staging / model_file)
        if fmt.weight_suffix:
            shutil.copyfile(path.with_suffix(fmt.weight_suffix), (staging / model_file).with_suffix(fmt.weight_suffix))
        description.model_copy(update={"model_file": model_file, "origin": "imported"}).save(staging)
        staging.rename(folder)  # the library sees a whole folder or none
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def remember(folder: str | Path, summary: str = "") -> None:
    """Put a library folder on the user's model list ("Your models", shared by the GUI and the CLI)."""
    from app.core.description import load_description_for
    from app.core.models.library import ModelLibrary, library_path

    description = load_description_for(folder)
    ModelLibrary(library_path()).add(folder, description.label, kind=description.origin,
                                     summary=summary or description.kind, model_file=description.model_file)

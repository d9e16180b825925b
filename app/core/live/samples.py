"""The live samples and models: sample names → Lite files (converted in a child, so the GUI never
feels the converter's GIL), model files and cloud URLs → (spec, open runtime).

A sample name is one of sample_models.SAMPLES (digits, face, boxes, person, hand, … and their -int8
twins; converted to .ms with Lite in a work folder, each with its sidecar); a model file (.ms or a
Lite .mindir → Lite; .onnx → onnxruntime; .tflite → converted to .ms first); or the URL of a cloud
server. Files find their sidecar (<stem>.model.json or model.json), preprocess.json and labels.json
next to them (or one folder up, as in deployment packages).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

from app.core.description import DESCRIPTION_FILE, find_description, load_description_for
from app.core.live import sample_cache
from app.core.live.postprocess import (
    MODEL_SIDECAR,
    POSTPROCESSORS,
    ModelSpec,
    declare_kind,
    model_spec,
    suggest_kinds,
)
from app.core.live.sidecar import ModelDescription, save_description, sidecar_path
from app.core.preprocess import PreprocessSpec
from jobs.child import ChildError, run_child
from jobs.state import JobState
from sample_models import DIGITS, digits_data, synthetic


def _with_sidecars(model: Path, folder: Path) -> Path:
    """The sidecars of `folder` (preprocess.json, labels.json, model.json) copied next to `model` (a
    converted file in a work folder)."""
    for name in ("preprocess.json", "labels.json", MODEL_SIDECAR, DESCRIPTION_FILE):
        for where in (folder, folder.parent):
            if (where / name).is_file():
                shutil.copy(where / name, model.parent / name)
                break
    own = folder / sidecar_path(model).name  # the source's <stem>.model.json: the converted file has the same stem
    if own.is_file():
        shutil.copy(own, sidecar_path(model))
    return model


def _digits(tmp: Path) -> Path:
    from converters.lite import convert

    out = tmp / "digits" / "digits.ms"
    convert(DIGITS / "model.onnx", out, input_format="NCHW")
    return _with_sidecars(out, DIGITS)


def _digits_int8(tmp: Path) -> Path:
    from app.core.models.datasets import calibration_inputs
    from converters.lite import QuantConfig, convert

    # 100 images of the training split of what the sample trained on
    calibration = calibration_inputs(digits_data(), PreprocessSpec.load(DIGITS / "preprocess.json"))
    out = tmp / "digits_int8" / "digits_int8.ms"
    convert(DIGITS / "model.onnx", out, input_format="NCHW", quant=QuantConfig(calibration))
    return _with_sidecars(out, DIGITS)


def _face(tmp: Path) -> Path:
    from sample_models.face_detection import ensure_face_detector

    out = _tflite(ensure_face_detector(), tmp)
    declare_kind(out, "ssd", preset="face_detection")
    return out


def _face_int8(tmp: Path) -> Path:
    """FULL_QUANT INT8 calibrated on synthetic face frames: very slow on x86 in Lite 2.0 (~50-80 ms)."""
    import numpy as np

    from app.core.live.postprocess import face_spec
    from app.core.live.sources import SyntheticSource
    from converters.lite import QuantConfig, convert
    from sample_models.face_detection import ensure_face_detector

    spec, source = face_spec("face"), SyntheticSource(scene="face")
    calibration = np.concatenate([spec.prepare(source.render(i * 7)[0])[0] for i in range(20)])
    out = tmp / "face_int8" / "face_detection_short_range_int8.ms"
    convert(ensure_face_detector(), out, quant=QuantConfig(calibration))
    declare_kind(out, "ssd", preset="face_detection")
    return out


def _tflite(path: Path, tmp: Path, input_shapes: dict | None = None) -> Path:
    from converters.lite import convert

    out = tmp / path.stem / f"{path.stem}.ms"
    convert(path, out, input_shapes=input_shapes)
    return _with_sidecars(out, path.parent)


def _registry(name: str) -> Callable[[Path], Path]:
    """A third-party sample from sample_models' registry: fetched, converted, its `live` sidecar written."""
    def build(tmp: Path) -> Path:
        from sample_models.fetch import ensure, manifest

        out = _tflite(ensure(name), tmp)
        save_description(out, ModelDescription.model_validate(manifest(name)["live"]))
        return out

    return build


# the test models of sample_models/synthetic.py: (ONNX builder, its sidecar, the scene it reads)
_RGB01 = {"color": "RGB", "range": "0-1"}
SYNTHETIC = {
    "boxes": (lambda p: synthetic.boxes_yolo(p, layout="yolov8"), {
        "kind": "yolov8", "labels": list(synthetic.OBJECT_CLASSES), "normalized": True,
        "preprocess": {**_RGB01, "letterbox": True}},
        "objects"),
    "boxes-v5": (lambda p: synthetic.boxes_yolo(p, layout="yolov5"), {
        "kind": "yolov5", "labels": list(synthetic.OBJECT_CLASSES), "normalized": True,
        "preprocess": {**_RGB01, "letterbox": True}},
        "objects"),
    "person": (synthetic.person_segmenter, {
        "kind": "segmentation", "labels": ["background", "person"], "preprocess": _RGB01}, "person"),
    "hand": (synthetic.hand_markers, {
        "kind": "keypoints", "topology": "hand21", "preprocess": {**_RGB01, "letterbox": True}}, "hand"),
}


def _synthetic(name: str, int8: bool = False) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        from app.core.live.sources import SyntheticSource
        from converters.lite import QuantConfig, convert

        make, declared, scene = SYNTHETIC[name]
        stem = name.replace("-", "_")
        folder = tmp / (stem + ("_int8" if int8 else ""))
        source = make(folder / f"{stem}.onnx")
        description = ModelDescription.model_validate(declared)
        save_description(source, description)
        quant = None
        if int8:  # calibrated on the scene the model is made for
            import numpy as np
            import onnx

            dims = [d.dim_value for d in onnx.load(str(source)).graph.input[0].type.tensor_type.shape.dim]
            spec, frames = model_spec(source, input_shape=tuple(dims)), SyntheticSource(scene=scene)
            quant = QuantConfig(np.concatenate([spec.prepare(frames.render(i * 7)[0])[0] for i in range(24)]))
        out = folder / f"{stem}{'_int8' if int8 else ''}.ms"
        # INT8 may differ from FP32 beyond the verifier's bar: the Live page shows by how much
        convert(source, out, input_format="NCHW", quant=quant, value_range=(0.0, 1.0), accept_mismatch=int8)
        save_description(out, description)
        return out

    return build


# sample name (sample_models.SAMPLES) -> how to build its Lite file in a folder
BUILDERS: dict[str, Callable[[Path], Path]] = {
    "digits": _digits, "digits-int8": _digits_int8, "face": _face, "face-int8": _face_int8,
    "boxes": _synthetic("boxes"), "boxes-int8": _synthetic("boxes", int8=True), "boxes-v5": _synthetic("boxes-v5"),
    "person": _synthetic("person"), "person-int8": _synthetic("person", int8=True),
    "hand": _synthetic("hand"), "hand-int8": _synthetic("hand", int8=True),
    "hand-landmarks": _registry("hand_landmark"), "palm": _registry("palm_detection"),
}


def output_shapes(runtime: Any) -> list[tuple[int, ...]]:
    """The shapes of a model's outputs, from one run on zeros (every runtime can do that)."""
    import numpy as np

    return [tuple(o.shape) for o in runtime.predict(np.zeros(tuple(runtime.input_shape), np.float32))]


def _input_name(runtime: Any) -> str:
    model = getattr(runtime, "model", None)
    return model.inputs[0].name if model is not None else getattr(runtime, "_input", "x")


def resolve_model(text: str, tmp: Path, threads: int = 1, token: str | None = None,
                  preprocess: str | None = None, overrides: dict | None = None) -> tuple[ModelSpec, Any]:
    """(spec, open runtime) for a sample name, a model file or a cloud URL. `overrides`: sidecar
    fields chosen by the caller (kind, labels, thresholds, preprocess) on top of the model's sidecar."""
    from app.core.runtimes import open_runtime, runtime_name
    from converters.lite import probe

    given = PreprocessSpec.load(preprocess) if preprocess else None
    if text.startswith(("http://", "https://")):
        return _cloud(text, token, given)
    if text in BUILDERS:
        path = sample_cache.build(text, BUILDERS)  # converted once, then kept by content hash
    else:
        from app.core.models.library import model_argument

        path = model_argument(text)  # a file, a library folder, or a model of "Your models" by name
        if path.is_dir() and find_description(path):  # a library folder: its model
            path = load_description_for(path).model_path(path)
        if not path.is_file():
            raise ValueError(f"{text}: not a file" if path.exists() else
                             f"{text}: no such model file (or sample: {', '.join(BUILDERS)})")
    shape = None
    if text not in BUILDERS and find_description(path):  # its description says the shape to run at
        described = load_description_for(path)
        described.require_fixed("the live view")
        shape = tuple(described.inputs[0].shape)
    if path.suffix.lower() == ".tflite":
        path = _tflite(path, tmp, described.input_shapes() if shape else None)  # converted here: no probe
    elif runtime_name(path) == "lite" and not _built_here(path):
        probe(path)  # a file from elsewhere is loaded in a child first: a crash there is an error here
    runtime = open_runtime(path, threads, input_shape=shape if runtime_name(path) == "onnxruntime" else None)
    try:
        spec = model_spec(path, given, tuple(runtime.input_shape), overrides, _input_name(runtime))
        shapes = output_shapes(runtime)
        if not POSTPROCESSORS[spec.postprocessor].accepts(shapes):  # a declared kind that cannot read it
            fits = [k for k in suggest_kinds(shapes) if k != spec.postprocessor]
            raise ValueError(f"{path.name}: declared {spec.postprocessor}, which reads "
                             f"{POSTPROCESSORS[spec.postprocessor].shapes}, but its outputs are "
                             f"{', '.join(str(list(s)) for s in shapes)}"
                             + (f"; they fit {' or '.join(fits)}" if fits else ""))
    except ValueError as exc:
        hint = ""
        if "declare its kind" in str(exc):
            suggested = suggest_kinds(output_shapes(runtime))
            hint = f"; its outputs suggest {' or '.join(suggested)}" if suggested else ""
        runtime.close()
        named = "" if Path(text).name in str(exc) or path.name in str(exc) else f"{Path(text).name}: "
        raise ValueError(f"{named}{exc}{hint}") from None
    except BaseException:
        runtime.close()
        raise
    return spec, runtime


def _cloud(url: str, token: str | None, given: PreprocessSpec | None) -> tuple[ModelSpec, Any]:
    from app.core.cloud.client import CloudRuntime

    runtime = CloudRuntime(url, token=token)
    digits = PreprocessSpec.load(DIGITS / "preprocess.json")
    takes_digits = tuple(runtime.input_shape) in (digits.input_shape, digits.with_layout("NHWC").input_shape)
    spec = given or (digits if takes_digits else None)
    if spec is None:
        runtime.close()
        raise ValueError(f"{url} takes {tuple(runtime.input_shape)}: pass --preprocess preprocess.json for it")
    return ModelSpec(url, spec, "classification", runtime.server.get("labels")), runtime




def _built_here(path: Path) -> bool:
    """A sample this app built and keeps (sample_cache): loaded without a probe child."""
    return path.resolve().is_relative_to(sample_cache.cache_root().resolve())


def prepare_job(params: dict, state: JobState) -> dict:
    names = params["names"]
    return {"paths": [str(sample_cache.build(name, BUILDERS)) if name in BUILDERS else name for name in names]}


def prepare_in_child(names: list[str], workdir: Path, state: JobState | None = None,
                     timeout: float = 600) -> list[str]:
    """Sample names → their converted model files (built in a child the first time, then taken from the
    cache: no child, no converter at all); files and URLs pass through."""
    found = [sample_cache.cached(name) if name in BUILDERS else name for name in names]
    if all(found):
        return [str(path) for path in found]
    try:
        return run_child("app.core.live.samples:prepare_job", {"names": names, "workdir": str(workdir)}, state,
                         timeout=timeout)["paths"]
    except ChildError as exc:
        raise RuntimeError(f"could not prepare the live models: {exc}") from None

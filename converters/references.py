"""Reference runtimes: the source model run by a runtime other than Lite, to check Lite's artifact against.

ONNX → onnxruntime and TFLite → LiteRT (ai-edge-litert) run in this process (neither clashes with
Lite's libraries). MindIR → full MindSpore, always in a child (it cannot share a process with Lite,
and converters/ never imports it). Formats nothing else here reads (Caffe, TF .pb) fall back to Lite's
own FP32 conversion: it can judge an FP16/INT8 artifact against FP32, never an FP32 artifact itself.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

InputSets = Sequence[Sequence[np.ndarray]]


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple[int, ...]  # -1 for a dimension the model leaves open
    dtype: np.dtype


@dataclass
class Reference:
    runtime: str  # "onnxruntime 1.32.0", …
    inputs: list[InputSpec]
    output_names: list[str]
    run: Callable[[InputSets], list[list[np.ndarray]]]  # per input set, the outputs
    independent: bool = True  # False: Lite itself stands in (judges reduced precision only)


class ReferenceUnavailable(RuntimeError):
    """The reference runtime cannot read or run the source model (the message says why)."""


# formats no runtime here reads besides Lite (a MindIR written by Lite's own converter is another)
LITE_ONLY_FORMATS = {"caffe", "tf"}


def has_independent_reader(src: Path, fmt_name: str) -> bool:
    """Whether a runtime other than Lite runs this source (cheap: reads at most the file's header)."""
    from converters.protobuf import is_lite_mindir

    if fmt_name in LITE_ONLY_FORMATS:
        return False
    return not (fmt_name == "mindir" and is_lite_mindir(src))


# -- ONNX: onnxruntime ------------------------------------------------------------------------------

ONNX_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
               "tensor(int8)": np.int8, "tensor(int16)": np.int16, "tensor(int32)": np.int32,
               "tensor(int64)": np.int64, "tensor(uint8)": np.uint8, "tensor(uint16)": np.uint16,
               "tensor(bool)": np.bool_}


def onnx_session(model: str | Path | bytes):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # the references are small runs; leave the cores to the app
    options.log_severity_level = 3  # its warnings about unused initializers are not ours to show
    if not isinstance(model, bytes):
        try:
            str(model).encode("utf-8")
        except UnicodeEncodeError:  # onnxruntime takes only UTF-8 path strings
            model = Path(model).read_bytes()
        else:
            model = str(model)
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def onnx_reference(src: Path) -> Reference:
    import onnxruntime as ort

    try:
        session = onnx_session(src)
    except Exception as exc:  # onnxruntime's own message names the op or the field
        raise ReferenceUnavailable(f"onnxruntime cannot load {src.name}: {exc}") from None
    specs = []
    for i in session.get_inputs():
        if i.type not in ONNX_DTYPES:
            raise ReferenceUnavailable(f"input {i.name!r} has type {i.type}, which verification does not feed")
        specs.append(InputSpec(i.name, tuple(d if isinstance(d, int) else -1 for d in i.shape),
                               np.dtype(ONNX_DTYPES[i.type])))
    names = [i.name for i in specs]

    def run(sets: InputSets) -> list[list[np.ndarray]]:
        return [session.run(None, dict(zip(names, arrays))) for arrays in sets]

    return Reference(f"onnxruntime {ort.__version__}", specs, [o.name for o in session.get_outputs()], run)


# -- TFLite: LiteRT -------------------------------------------------------------------------------

def tflite_reference(src: Path) -> Reference:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise ReferenceUnavailable("LiteRT (the ai-edge-litert package) is not installed: "
                              "pip install ai-edge-litert") from None
    from importlib.metadata import version

    try:
        interpreter = Interpreter(model_content=src.read_bytes(), num_threads=1)
        interpreter.allocate_tensors()
    except Exception as exc:
        raise ReferenceUnavailable(f"LiteRT cannot load {src.name}: {exc}") from None
    ins, outs = interpreter.get_input_details(), interpreter.get_output_details()
    specs = [InputSpec(d["name"], tuple(int(x) for x in d["shape_signature"]), np.dtype(d["dtype"])) for d in ins]

    def run(sets: InputSets) -> list[list[np.ndarray]]:
        results = []
        for arrays in sets:
            for d, arr in zip(ins, arrays):
                if tuple(d["shape"]) != arr.shape:
                    interpreter.resize_tensor_input(d["index"], list(arr.shape))
                    interpreter.allocate_tensors()
                interpreter.set_tensor(d["index"], arr)
            interpreter.invoke()
            results.append([interpreter.get_tensor(d["index"]).copy() for d in outs])
        return results

    return Reference(f"LiteRT {version('ai-edge-litert')}", specs, [d["name"] for d in outs], run)


# -- MindIR: full MindSpore in a child ----------------------------------------------------------------

# The child job that runs a MindIR with MindSpore (lives in app/: converters/ never imports mindspore).
MINDSPORE_JOB = "app.core.runtimes:batch_in_child"


def mindir_reference(src: Path) -> Reference:
    import importlib.util

    from converters.protobuf import is_lite_mindir

    if is_lite_mindir(src):  # written by Lite's converter: MindSpore does not read it, Lite's runtime does
        return lite_file_reference(src, "Lite 2.0 running the source MindIR (MindSpore does not read Lite's)")
    if importlib.util.find_spec("mindspore") is None:
        raise ReferenceUnavailable("MindSpore is not in this build: a MindIR source has no reference runtime")
    from converters.lite.probe import probe_lite_file

    # Lite reads the MindIR's declared inputs for us (a probe child): MindSpore's own would need a child too.
    described = probe_lite_file(src)
    specs = [InputSpec(d["name"], tuple(d["shape"]), np.dtype(d["dtype"])) for d in described.inputs]

    def run(sets: InputSets) -> list[list[np.ndarray]]:
        from jobs.child import ChildError, run_child

        if len(specs) != 1:
            raise ReferenceUnavailable("the MindSpore reference runs one-input models only")
        with tempfile.TemporaryDirectory(prefix="edge-studio-msref-") as tmp:
            np.save(Path(tmp) / "x.npy", np.concatenate([arrays[0] for arrays in sets]))
            try:
                answer = run_child(MINDSPORE_JOB, {"model": str(src.resolve()), "folder": tmp, "threads": 1})
            except ChildError as exc:
                raise ReferenceUnavailable(f"MindSpore could not run {src.name}: {exc}") from None
            batches = [np.load(Path(tmp) / name) for name in answer["outputs"]]
        return [[b[i:i + 1] for b in batches] for i in range(len(sets))]

    return Reference("MindSpore (child)", specs, [d["name"] for d in described.outputs], run)


# -- anything else: Lite itself ----------------------------------------------------------------------

def lite_file_reference(model: Path, runtime: str, cleanup: Path | None = None) -> Reference:
    """Lite's runtime on a file it loads directly (.ms or .mindir), in a child: not independent."""
    from converters.lite.probe import probe_lite_file
    from converters.lite.replay import replay

    described = probe_lite_file(model)
    specs = [InputSpec(d["name"], tuple(d["shape"]), np.dtype(d["dtype"])) for d in described.inputs]

    def run(sets: InputSets) -> list[list[np.ndarray]]:
        try:
            return replay(model, sets).outputs
        finally:
            if cleanup is not None:
                shutil.rmtree(cleanup, ignore_errors=True)

    return Reference(runtime, specs, [d["name"] for d in described.outputs], run, independent=False)


def lite_fp32_reference(src: Path, fmk: str, convert_options: dict) -> Reference:
    """Lite's own FP32 conversion of the source: judges an FP16/INT8 artifact, never an FP32 one.

    convert_options["convert"] is converters.lite.convert, handed down by it when it verifies: the
    references sit below the converter and never import it."""
    convert = convert_options.get("convert")
    if convert is None:
        raise ReferenceUnavailable(f"{src.name}: a {fmk} model's reference is Lite's own FP32 conversion, "
                                   "made when verifying through converters.lite.convert")
    folder = Path(tempfile.mkdtemp(prefix="edge-studio-literef-"))
    try:
        fp32 = convert(src, folder / "reference.ms", fmk=fmk, verify=False,
                       **{k: v for k, v in convert_options.items() if k in ("input_format", "input_shapes")}).path
        return lite_file_reference(fp32, "Lite 2.0 FP32 (no other runtime reads this format)", cleanup=folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise

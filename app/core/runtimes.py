"""Runtimes behind one small interface: predict(x) -> list of outputs.

Lite runs in this process; onnxruntime is the peer; full MindSpore runs only in a child
(it cannot share a process with Lite), so it offers batch evaluation here and serves frames
through the cloud tier.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import BaseModel

from converters.formats import content_problem
from converters.protobuf import is_lite_mindir
from converters.targets import require_mindspore


class Runtime(Protocol):
    name: str
    input_shape: tuple[int, ...]

    def predict(self, x: np.ndarray) -> list[np.ndarray]: ...

    def close(self) -> None: ...


class OnnxRuntime:
    name = "onnxruntime"

    def __init__(self, path: str | Path, threads: int = 0, input_shape: tuple[int, ...] | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        self._session = ort.InferenceSession(_path_or_bytes(path), options, providers=["CPUExecutionProvider"])
        first = self._session.get_inputs()[0]
        self._input = first.name
        self.input_shape = fixed_shape(Path(path).name, first.name, list(first.shape), input_shape)

    def predict(self, x: np.ndarray) -> list[np.ndarray]:
        return self._session.run(None, {self._input: x})

    def close(self) -> None:
        self._session = None


def _path_or_bytes(path: str | Path) -> str | bytes:
    """onnxruntime takes only UTF-8 path strings: a file under any other name goes in as its bytes."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return Path(path).read_bytes()
    return str(path)


def fixed_shape(model: str, name: str, declared: list, given: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape a runtime feeds: the declared one, or `given` where the model leaves dimensions open.
    A dynamic dimension is never run at a silent 1 (a text detector at 1×1 sees nothing and says nothing)."""
    if given is not None:
        return tuple(int(d) for d in given)
    if all(isinstance(d, int) and d > 0 for d in declared):
        return tuple(declared)
    shown = "×".join(str(d) if isinstance(d, int) and d > 0 else "?" for d in declared)
    raise ValueError(f"{model}: input {name!r} has dynamic dimensions ({shown}): fix them once with "
                     f"`edge-studio import {model} --input-shape {name}:1,3,640,640` (or the GUI's import dialog)")


class LiteRtRuntime:
    """A .tflite source on LiteRT (ai-edge-litert), the runtime the file was made for."""

    name = "litert"

    def __init__(self, path: str | Path, threads: int = 0, input_shape: tuple[int, ...] | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_content=Path(path).read_bytes(), num_threads=threads or 1)
        first = self._interpreter.get_input_details()[0]
        declared = [int(d) for d in (first.get("shape_signature") if len(first.get("shape_signature", [])) else
                                     first["shape"])]
        self.input_shape = fixed_shape(Path(path).name, first["name"], declared, input_shape)
        if tuple(declared) != self.input_shape:
            self._interpreter.resize_tensor_input(first["index"], list(self.input_shape))
        self._interpreter.allocate_tensors()
        self._input = first["index"]
        self._outputs = [o["index"] for o in self._interpreter.get_output_details()]

    def predict(self, x: np.ndarray) -> list[np.ndarray]:
        self._interpreter.set_tensor(self._input, np.ascontiguousarray(x, dtype=np.float32))
        self._interpreter.invoke()
        return [self._interpreter.get_tensor(k).copy() for k in self._outputs]

    def close(self) -> None:
        self._interpreter = None


class LiteRuntime:
    name = "lite"

    def __init__(self, path: str | Path, threads: int = 0, input_shape: tuple[int, ...] | None = None) -> None:
        from converters.lite import LiteModel

        self.model = LiteModel(path, threads=threads or None)
        self.input_shape = self.model.inputs[0].shape

    def predict(self, x: np.ndarray) -> list[np.ndarray]:
        return self.model.predict(x)

    def close(self) -> None:
        self.model.close()


IN_PROCESS = {"onnxruntime": OnnxRuntime, "litert": LiteRtRuntime, "lite": LiteRuntime}


def runtime_name(path: str | Path) -> str:
    """Which runtime executes this file: .onnx → onnxruntime, .ms → lite, .mindir → by producer."""
    suffix = Path(path).suffix.lower()
    by_suffix = {".onnx": lambda p: "onnxruntime", ".tflite": lambda p: "litert", ".ms": lambda p: "lite",
                 ".mindir": lambda p: "lite" if is_lite_mindir(p) else "mindspore"}
    if suffix not in by_suffix:
        raise ValueError(f"{Path(path).name}: no runtime runs {suffix or 'files without a suffix'} "
                         "(use .onnx, .tflite, .ms or .mindir)")
    if suffix == ".mindir" and Path(path).is_file() and (problem := content_problem(path, "mindir")):
        raise ValueError(f"{Path(path).name}: {problem}")  # not a MindIR at all: say so, not "runs on mindspore"
    return by_suffix[suffix](path)


def open_runtime(path: str | Path, threads: int = 0, input_shape: tuple[int, ...] | None = None) -> Runtime:
    """`input_shape`: the shape to run a model whose input leaves dimensions open (its description's)."""
    name = runtime_name(path)
    if name not in IN_PROCESS:
        raise ValueError(f"{Path(path).name} runs on {name}, which lives in its own process (the cloud tier)")
    return IN_PROCESS[name](path, threads, input_shape)


def run_batch(path: str | Path, x: np.ndarray, threads: int = 0, timeout: float = 600) -> list[np.ndarray]:
    """Outputs for every sample of x (N, ...), one sample per call as on a device.

    MindSpore and Lite run in a child process: MindSpore cannot share a process with Lite, and
    Lite 2.0 cannot load an FP16-weight .ms again in a process that closed one ("PrepareKernels …
    prepare failed"), so an evaluation must not leave its mark on the caller's process."""
    name = runtime_name(path)
    if name == "mindspore":
        require_mindspore(f"{Path(path).name} (a MindSpore MindIR)")
    if name in ("mindspore", "lite"):
        return _batch_in_child(path, x, threads, timeout)
    return _run_here(path, x, threads)


def _run_here(path: str | Path, x: np.ndarray, threads: int) -> list[np.ndarray]:
    runtime = open_runtime(path, threads, input_shape=_declared_or(path, x))
    x = match_layout(x, runtime.input_shape)
    try:
        per_sample = [runtime.predict(np.ascontiguousarray(x[i:i + 1])) for i in range(len(x))]
    finally:
        runtime.close()
    return [_join([outs[k] for outs in per_sample]) for k in range(len(per_sample[0]))]


def _declared_or(path: str | Path, x: np.ndarray) -> tuple[int, ...] | None:
    """For a batch run the samples give the shape, where the model leaves it open (None: the model's own)."""
    if runtime_name(path) != "onnxruntime":
        return None
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    consts = {t.name for t in graph.initializer}
    first = next(i for i in graph.input if i.name not in consts)
    dims = [d.dim_value if d.HasField("dim_value") else 0 for d in first.type.tensor_type.shape.dim]
    return None if all(d > 0 for d in dims) else (1,) + tuple(x.shape[1:])


def _join(per_sample: list[np.ndarray]) -> np.ndarray:
    """Per-sample outputs → one batch (scalar outputs get a batch axis)."""
    return np.stack(per_sample) if per_sample[0].ndim == 0 else np.concatenate(per_sample)


def match_layout(x: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """NCHW samples for a model that takes NHWC (Lite's default for converted .ms) get transposed."""
    if x.ndim == 4 and tuple(input_shape[1:]) != x.shape[1:] and \
            tuple(input_shape[1:]) == (x.shape[2], x.shape[3], x.shape[1]):
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    return x


class BatchAnswer(BaseModel):
    """What a batch child answers: the .npy files it wrote, one per output (validated at the boundary)."""

    outputs: list[str]


def _batch_in_child(path: str | Path, x: np.ndarray, threads: int, timeout: float) -> list[np.ndarray]:
    from jobs.child import ChildError, run_child

    name = runtime_name(path)
    with tempfile.TemporaryDirectory(prefix="edge-studio-eval-") as tmp:
        np.save(Path(tmp) / "x.npy", x)
        try:
            answer = run_child("app.core.runtimes:batch_in_child", {"model": str(Path(path).resolve()), "folder": tmp, "threads": threads},
                               timeout=timeout)
        except ChildError as exc:
            raise RuntimeError(f"{name} could not run {Path(path).name}: {exc}") from None
        return [np.load(Path(tmp) / out) for out in BatchAnswer.model_validate(answer).outputs]


def batch_in_child(params: dict, _state) -> dict:
    """Inside a child: run every sample through the model's runtime, save outputs as .npy."""
    folder = Path(params["folder"])
    x = np.load(folder / "x.npy")
    if runtime_name(params["model"]) == "mindspore":
        outputs = _mindspore_outputs(params["model"], x, folder)
    else:
        outputs = _run_here(params["model"], x, params["threads"])
    names = [f"out{k}.npy" for k in range(len(outputs))]
    for name, out in zip(names, outputs):
        np.save(folder / name, out)
    return {"outputs": names}


def _mindspore_outputs(model: str, x: np.ndarray, folder: Path) -> list[np.ndarray]:
    from app.core.files import enter_mindspore_scratch

    enter_mindspore_scratch(folder)
    from app.core.models.mindspore_cpu import prepare_environment

    prepare_environment()  # oneDNN's fast kernels on AVX-512 CPUs (see mindspore_cpu)
    import mindspore as ms
    from mindspore import Tensor, nn

    net = nn.GraphCell(ms.load(model))
    per_sample = [net(Tensor(x[i:i + 1])) for i in range(len(x))]
    per_sample = [[o.asnumpy() for o in (outs if isinstance(outs, (tuple, list)) else [outs])] for outs in per_sample]
    return [_join([outs[k] for outs in per_sample]) for k in range(len(per_sample[0]))]

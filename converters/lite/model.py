"""LiteModel: the real MindSpore Lite 2.0 runtime, in process, through our shim."""
from __future__ import annotations

import json
import os
import threading
from ctypes import byref, c_double, c_size_t, c_void_p, string_at
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from converters.formats import lite_format
from converters.lite import native
from converters.lite.errors import LiteError, with_lite_text

# mindspore::DataType -> numpy
DTYPES = {30: np.bool_, 32: np.int8, 33: np.int16, 34: np.int32, 35: np.int64, 37: np.uint8,
          38: np.uint16, 42: np.float16, 43: np.float32, 44: np.float64}
LAYOUTS = {0: "NCHW", 1: "NHWC"}
AFFINITY = {"none": 0, "big": 1, "little": 2}


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    format: str  # "NCHW" or "NHWC" for 4-D tensors, else "ND"

    @property
    def dynamic(self) -> bool:
        return any(d < 0 for d in self.shape)

    @property
    def nbytes(self) -> int:
        """0 while a dimension is unknown (-1)."""
        return 0 if self.dynamic else int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


@dataclass(frozen=True)
class OpTime:
    name: str
    type: str
    avg_ms: float  # per run
    calls: int  # per run
    percent: float  # of the sum over ops


@dataclass(frozen=True)
class Profile:
    ops: list[OpTime]
    runs: int
    wall_ms: float  # per run, callbacks included

    def by_type(self) -> dict[str, float]:
        """Average ms per run summed by op type, largest first."""
        totals: dict[str, float] = {}
        for op in self.ops:
            totals[op.type] = totals.get(op.type, 0.0) + op.avg_ms
        return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


@dataclass(frozen=True)
class TracedTensor:
    name: str
    data: np.ndarray | None  # None: Lite gave the tensor no buffer (or a type the bridge does not map)
    format: str  # "NCHW"/"NHWC" as Lite reports it for 4-D tensors, else "ND"
    scale: float | None = None  # int8/uint8 tensors: real = scale * (q - zero_point)
    zero_point: int = 0

    def real(self) -> np.ndarray | None:
        """The values as float64 (dequantized when Lite quantized the tensor)."""
        if self.data is None:
            return None
        values = self.data.astype(np.float64)
        # float tensors of a quantized model carry quant params too, but hold real values already
        quantized = self.scale is not None and self.data.dtype in (np.int8, np.uint8)
        return self.scale * (values - self.zero_point) if quantized else values


@dataclass(frozen=True)
class TracedNode:
    name: str
    type: str
    inputs: tuple[str, ...]
    changed_inputs: tuple[str, ...]  # inputs whose bytes this node changed while it ran
    outputs: tuple[TracedTensor, ...]


def _layout(shape: tuple[int, ...], reported: int) -> str:
    # Lite 2.0 reports NCHW even for the NHWC inputs its converter makes by default (checked),
    # so a 4-D image-like shape with channels last is called NHWC here.
    if len(shape) == 4 and shape[3] in (1, 3, 4) and shape[1] not in (1, 3, 4):
        return "NHWC"
    return LAYOUTS.get(reported, "other") if len(shape) == 4 else "ND"


def _specs(items: list[dict]) -> tuple[TensorSpec, ...]:
    specs = []
    for t in items:
        dtype = DTYPES.get(t["dtype"])
        if dtype is None:
            raise LiteError(f"tensor {t['name']!r} has a data type the bridge does not map ({t['dtype']})")
        shape = tuple(t["shape"])
        specs.append(TensorSpec(t["name"], shape, np.dtype(dtype), _layout(shape, t["format"])))
    return tuple(specs)


class LiteModel:
    """A `.ms` or `.mindir` model loaded in this process.

    Load files you do not trust with `probe()` first: it loads them in a child process.
    """

    def __init__(self, path: str | Path, threads: int | None = None,
                 affinity: str | Sequence[int] = "none") -> None:
        self.path = Path(path)
        self.threads = threads or os.cpu_count() or 1
        self._lib = native.runtime()
        self._handle: int | None = None
        self._lock = threading.Lock()
        if not self.path.is_file():
            raise LiteError(f"{self.path}: no such model file" if not self.path.exists()
                            else f"{self.path}: not a file")
        try:
            model_type = lite_format(self.path).model_type
        except ValueError as exc:
            raise LiteError(str(exc)) from None
        if self.path.stat().st_size == 0:
            raise LiteError(f"{self.path.name}: the file is empty")
        cores = "" if isinstance(affinity, str) else ",".join(str(int(c)) for c in affinity)
        mode = AFFINITY.get(affinity, 0) if isinstance(affinity, str) else 0
        with native.captured_stderr() as log:
            handle = self._lib.es_model_load(native.encode_path(self.path), model_type, self.threads, mode,
                                             cores.encode())
        if not handle:
            raise with_lite_text(f"Lite could not load {self.path.name} ({native.last_error(self._lib)})",
                                 log[0])
        self._handle = handle
        self._refresh()

    # -- description ---------------------------------------------------------------------------
    def _refresh(self) -> None:
        # tensor and op names come from the model file: not always valid UTF-8
        info = json.loads(self._lib.es_model_info(self._handle).decode("utf-8", "replace"))
        self.inputs = _specs(info["inputs"])
        self.outputs = _specs(info["outputs"])
        n_in, n_out = len(self.inputs), len(self.outputs)
        self._in_ptrs = (c_void_p * n_in)()
        self._in_sizes = (c_size_t * n_in)(*[s.nbytes for s in self.inputs])
        self._out_sizes = (c_size_t * n_out)(*[s.nbytes for s in self.outputs])
        # Lite copies outputs here; a dynamic (-1) shape gets an empty buffer until a run tells its size.
        self._out_bufs = [np.empty(0 if s.dynamic else s.shape, s.dtype) for s in self.outputs]
        self._out_ptrs = (c_void_p * n_out)(*[b.__array_interface__["data"][0] for b in self._out_bufs])
        self._bound: list[np.ndarray | None] = [None] * n_in  # the arrays Lite reads from
        self._one_input = n_in == 1
        self._predict = self._lib.es_model_predict

    def resize(self, shapes: Sequence[Sequence[int]] | Mapping[str, Sequence[int]]) -> None:
        """New input shapes, in input order or by name (e.g. another batch size).

        Lite 2.0 updates the output shapes at the next predict (`outputs` follows then)."""
        if isinstance(shapes, Mapping):
            missing = [s.name for s in self.inputs if s.name not in shapes]
            if missing:
                raise LiteError(f"resize: no shape for input(s) {', '.join(missing)}")
            shapes = [shapes[s.name] for s in self.inputs]
        if len(shapes) != len(self.inputs):
            raise LiteError(f"resize: the model has {len(self.inputs)} input(s), got {len(shapes)} shape(s)")
        text = ";".join(",".join(str(int(d)) for d in shape) for shape in shapes)
        with self._lock, native.captured_stderr() as log:
            rc = self._lib.es_model_resize(self._check_open(), text.encode())
        if rc != 0:
            raise with_lite_text(f"Lite could not resize to {text} ({native.last_error(self._lib)})", log[0])
        self._refresh()

    # -- inference -----------------------------------------------------------------------------
    def predict(self, inputs: np.ndarray | Sequence[np.ndarray] | Mapping[str, np.ndarray],
                copy: bool = True) -> list[np.ndarray]:
        """Run once. Inputs: one array, a sequence in input order, or a dict by name.

        Input arrays are bound, not copied. Outputs land in buffers owned by the model;
        copy=False returns those buffers themselves (overwritten by the next call).
        """
        if type(inputs) is np.ndarray and self._one_input:  # the live loop's case: the fewest Python steps
            with self._lock:
                handle = self._check_open()
                if inputs is not self._bound[0]:
                    self._bind(0, inputs)
                return self._run(handle, copy)
        if type(inputs) is np.ndarray:
            inputs = (inputs,)
        elif isinstance(inputs, Mapping):
            inputs = [inputs[s.name] for s in self.inputs]
        if len(inputs) != len(self.inputs):
            raise LiteError(f"the model takes {len(self.inputs)} input(s), got {len(inputs)}")
        with self._lock:
            handle = self._check_open()
            for i, arr in enumerate(inputs):
                if arr is not self._bound[i]:  # hot path: a new array each frame
                    self._bind(i, arr)
            return self._run(handle, copy)

    def _run(self, handle: int, copy: bool) -> list[np.ndarray]:
        """Under the lock, inputs bound: run, and hand out the outputs."""
        rc = self._predict(handle, self._in_ptrs, self._in_sizes, self._out_ptrs, self._out_sizes)
        if rc == -2:  # output shapes changed (after a resize): describe again, run again
            bound = self._bound
            self._refresh()
            for i, arr in enumerate(bound):
                self._bind(i, arr)
            rc = self._predict(handle, self._in_ptrs, self._in_sizes, self._out_ptrs, self._out_sizes)
        if rc != 0:
            raise LiteError(f"Lite predict failed: {native.last_error(self._lib)}")
        return [buf.copy() for buf in self._out_bufs] if copy else list(self._out_bufs)

    def _bind(self, i: int, arr: np.ndarray) -> None:
        spec = self.inputs[i]
        if arr.dtype != spec.dtype or not arr.flags.c_contiguous:
            arr = np.asarray(arr, dtype=spec.dtype, order="C")  # keeps 0-d scalars 0-d
        if arr.shape != spec.shape:
            raise LiteError(f"input {spec.name!r} must have shape {spec.shape}, got {arr.shape} "
                            "(use resize() for another shape)")
        self._bound[i] = arr  # keeps the buffer alive while Lite reads it
        self._in_ptrs[i] = arr.__array_interface__["data"][0]

    def time_native_predict(self, iterations: int = 1000) -> float:
        """Seconds per call of Lite's own C++ Predict on the last bound inputs (no Python in the loop)."""
        seconds = c_double()
        with self._lock:
            rc = self._lib.es_model_time_predict(self._check_open(), iterations, byref(seconds))
        if rc != 0:
            raise LiteError(f"Lite predict failed: {native.last_error(self._lib)}")
        return seconds.value / iterations

    def time_shim_call(self, iterations: int = 1000) -> float:
        """Seconds per call of the shim's whole predict path (bind, Predict, copy out) in a C++ loop."""
        seconds = c_double()
        with self._lock:
            rc = self._lib.es_model_time_call(self._check_open(), iterations, self._in_ptrs, self._in_sizes,
                                              self._out_ptrs, self._out_sizes, byref(seconds))
        if rc != 0:
            raise LiteError(f"Lite predict failed: {native.last_error(self._lib)}")
        return seconds.value / iterations

    def profile(self, runs: int = 20) -> Profile:
        """Per-operator times from Lite's kernel before/after callbacks, on the last bound inputs."""
        with self._lock:
            text = self._lib.es_model_profile(self._check_open(), runs)
        if text is None:
            raise LiteError(f"Lite profiling failed: {native.last_error(self._lib)}")
        data = json.loads(text.decode("utf-8", "replace"))
        total = sum(op["ms"] for op in data["ops"]) or 1.0
        ops = [OpTime(op["name"], op["type"], op["ms"] / runs, op["calls"] // runs, 100.0 * op["ms"] / total)
               for op in data["ops"]]
        return Profile(ops, runs, data["wall_ms"] / runs)

    def trace(self) -> list[TracedNode]:
        """Every kernel's outputs, in execution order, for one run on the last bound inputs
        (call predict() first). Each output is copied when its kernel finishes."""
        with self._lock:
            handle = self._check_open()
            text = self._lib.es_model_trace(handle)
            if text is None:
                raise LiteError(f"Lite trace failed: {native.last_error(self._lib)}")
            size = c_size_t()
            address = self._lib.es_model_trace_data(handle, byref(size))
            blob = string_at(address, size.value) if size.value else b""
        nodes = []
        for node in json.loads(text.decode("utf-8", "replace"))["nodes"]:
            outputs = []
            for t in node["outputs"]:
                dtype, data = DTYPES.get(t["dtype"]), None
                if dtype is not None and t["offset"] >= 0:
                    raw = blob[t["offset"]:t["offset"] + t["nbytes"]]
                    if len(raw) == int(np.prod(t["shape"], dtype=np.int64)) * np.dtype(dtype).itemsize:
                        data = np.frombuffer(raw, dtype).reshape(t["shape"])
                fmt = LAYOUTS.get(t["format"], "other") if len(t["shape"]) == 4 else "ND"
                outputs.append(TracedTensor(t["name"], data, fmt, t.get("scale"), int(t.get("zero_point", 0))))
            nodes.append(TracedNode(node["name"], node["type"], tuple(node["inputs"]),
                                    tuple(node["changed_inputs"]), tuple(outputs)))
        return nodes

    # -- lifetime ------------------------------------------------------------------------------
    def _check_open(self) -> int:
        if self._handle is None:
            raise LiteError("the model is closed")
        return self._handle

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._lib.es_model_free(self._handle)
                self._handle = None

    def __enter__(self) -> "LiteModel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            self.close()

    def __repr__(self) -> str:
        ins = ", ".join(f"{s.name}{list(s.shape)}" for s in getattr(self, "inputs", ()))
        return f"LiteModel({self.path.name!r}, threads={self.threads}, inputs=[{ins}])"

"""convert(): MindSpore Lite 2.0's real converter, always in a child process.

The parent checks the request, prepares calibration data, runs the child with a timeout,
and moves the child's output into place atomically (temp folder next to dst + rename).
"""
from __future__ import annotations

import math
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from converters.formats import INPUT_LAYOUTS, content_problem, lite_format, path_problem, source_format
from converters.lite import calibration
from converters.lite.errors import LiteError, lite_errors

QUANT_METHODS = ("MAX_MIN", "KL", "REMOVAL_OUTLIER")
# Lite 2.0.0 converts WEIGHT_QUANT but Model::Build then fails
# ("can not find tensor data in origin tensor data"): refused up front.
UNSUPPORTED_QUANT = {"WEIGHT_QUANT": "Lite 2.0.0 writes WEIGHT_QUANT models that its runtime cannot load"}


@dataclass
class QuantConfig:
    """INT8 post-training quantization (FULL_QUANT) with calibration data."""

    calibration: str | Path | np.ndarray  # folder of .npy/images, or stacked samples
    method: str = "MAX_MIN"  # activation range: MAX_MIN, KL or REMOVAL_OUTLIER
    max_samples: int = 100
    bias_correction: bool = True
    per_channel: bool = True
    kind: str = "FULL_QUANT"


@dataclass
class ConvertResult:
    path: Path
    size_bytes: int
    seconds: float
    source_format: str
    save_format: str
    precision: str  # fp32, fp16 or int8
    log_tail: list[str]  # Lite's own error/warning lines from the conversion (often harmless)

    def to_json(self) -> dict:
        return {"path": str(self.path), "size_bytes": self.size_bytes, "seconds": round(self.seconds, 3),
                "source_format": self.source_format, "save_format": self.save_format,
                "precision": self.precision, "log_tail": self.log_tail}


def _check_source(src: Path, fmt) -> Path | None:
    if problem := path_problem(src):
        raise LiteError(f"{src}: {problem}")
    problem = content_problem(src, fmt.name)
    if problem:
        raise LiteError(f"{src.name}: {problem}")
    SOURCE_CHECKS.get(fmt.name, lambda path: None)(src)
    if not fmt.weight_suffix:
        return None
    weight = src.with_suffix(fmt.weight_suffix)
    if not weight.is_file():
        raise LiteError(f"{src.name}: {fmt.name} needs its weights next to it as {weight.name}")
    return weight


INT32_ELEMENTS = 2**31  # Lite sizes tensors with int32


def _check_onnx(src: Path) -> None:
    """Read the ONNX file here (pure Python) for the damage Lite's reader reports only as
    "Get funcGraph failed": unparsable protobuf, missing external weights, impossible input shapes."""
    import onnx

    try:
        graph = onnx.load(str(src), load_external_data=False).graph
    except Exception as exc:  # protobuf's DecodeError and friends: the message says what broke
        raise LiteError(f"{src.name}: not a readable ONNX model ({exc})") from None
    for tensor in graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            location = {e.key: e.value for e in tensor.external_data}.get("location", "")
            if not (src.parent / location).is_file():
                raise LiteError(f"{src.name}: weight {tensor.name!r} is stored in {location!r} next to it, "
                                "which is missing")
    for value in graph.input:
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim if d.HasField("dim_value")]
        if any(d < 0 for d in dims):
            raise LiteError(f"{src.name}: input {value.name!r} has a negative dimension {dims}")
        if math.prod(dims) >= INT32_ELEMENTS:
            raise LiteError(f"{src.name}: input {value.name!r} of shape {dims} has more elements than "
                            "Lite's int32 sizes can hold")


# format name -> a check of the source file in this process, before Lite's converter sees it
SOURCE_CHECKS = {"onnx": _check_onnx}


def source_inputs(src: Path, fmt_name: str) -> list[tuple[str, list[int]]]:
    """Input names and shapes of a source model (ONNX read directly; others via a probe)."""
    if fmt_name == "onnx":
        import onnx

        try:
            graph = onnx.load(str(src), load_external_data=False).graph
        except Exception as exc:
            raise LiteError(f"{src.name}: not a readable ONNX model ({exc})") from None
        consts = {init.name for init in graph.initializer}
        return [(i.name, [d.dim_value if d.HasField("dim_value") else -1 for d in i.type.tensor_type.shape.dim])
                for i in graph.input if i.name not in consts]
    from converters.lite.probe import probe

    with tempfile.TemporaryDirectory(prefix="edge-studio-inputs-") as tmp:
        fp32 = convert(src, Path(tmp) / "fp32.ms", fmk=fmt_name)
        return [(s["name"], list(s["shape"])) for s in probe(fp32.path).inputs]


def _write_quant_config(quant: QuantConfig, src: Path, fmt_name: str, shapes: Mapping[str, Sequence[int]],
                        work: Path) -> Path:
    if quant.kind in UNSUPPORTED_QUANT:
        raise LiteError(f"{quant.kind} is not offered: {UNSUPPORTED_QUANT[quant.kind]}")
    if quant.kind != "FULL_QUANT":
        raise LiteError(f"unknown quantization {quant.kind!r}: use FULL_QUANT")
    if quant.method not in QUANT_METHODS:
        raise LiteError(f"unknown calibration method {quant.method!r}: use one of {', '.join(QUANT_METHODS)}")
    inputs = source_inputs(src, fmt_name)
    if len(inputs) != 1:
        raise LiteError(f"INT8 calibration supports one-input models; {src.name} has {len(inputs)}")
    name, shape = inputs[0]
    shape = list(shapes.get(name, shape))
    if any(d <= 0 for d in shape):
        raise LiteError(f"input {name!r} has a dynamic shape {shape}: give input_shapes for calibration")
    try:
        samples = calibration.collect(quant.calibration, shape, limit=quant.max_samples)
    except calibration.CalibrationError as exc:
        raise LiteError(f"calibration data: {exc}") from None
    count = calibration.write_bins(samples, work / "calibration")
    config = work / "quant.cfg"
    config.write_text(
        "[common_quant_param]\nquant_type=FULL_QUANT\nbit_num=8\n"
        f"[data_preprocess_param]\ncalibrate_path={name}:{work / 'calibration'}\n"
        f"calibrate_size={count}\ninput_type=BIN\n"
        f"[full_quant_param]\nactivation_quant_method={quant.method}\n"
        f"bias_correction={str(quant.bias_correction).lower()}\nper_channel={str(quant.per_channel).lower()}\n")
    return config


def convert(src: str | Path, dst: str | Path, *, fmk: str | None = None, input_format: str | None = None,
            input_shapes: Mapping[str, Sequence[int]] | None = None, fp16_weights: bool = False,
            quant: QuantConfig | None = None, no_fusion: bool = False, timeout: float = 600.0,
            cancel: threading.Event | None = None) -> ConvertResult:
    """Convert `src` (ONNX, TFLite, Caffe prototxt+caffemodel, TF pb, MindIR) to `dst` (.ms or .mindir).

    `fmk` names the source format (default: from the suffix). `input_format` "NCHW" keeps an
    NCHW model's input NCHW (Lite's default makes .ms inputs NHWC). Raises LiteError.
    """
    from app.core.child import ChildError, run_child

    src, dst = Path(src), Path(dst)
    try:
        fmt = source_format(src, fmk)
        out_fmt = lite_format(dst)
    except ValueError as exc:
        raise LiteError(str(exc)) from None
    weight = _check_source(src, fmt)
    if input_format is not None and input_format not in INPUT_LAYOUTS:
        raise LiteError(f"input_format must be one of {', '.join(INPUT_LAYOUTS)}, not {input_format!r}")
    if quant is not None and fp16_weights:
        raise LiteError("choose INT8 quantization or FP16 weights, not both")
    shapes = {k: [int(d) for d in v] for k, v in (input_shapes or {}).items()}
    dst.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # A short prefix: a 255-byte dst.name (NAME_MAX) must still leave room for the suffix.
    with tempfile.TemporaryDirectory(dir=dst.parent, prefix=f".{dst.stem[:32]}.convert-") as tmp:
        work = Path(tmp)
        config = _write_quant_config(quant, src, fmt.name, shapes, work) if quant else None
        params = {
            "fmk": fmt.fmk, "model": str(src.resolve()), "weight": str(weight.resolve()) if weight else "",
            "output": str(work / "model"), "save_type": out_fmt.model_type, "suffix": out_fmt.suffix,
            "input_format": INPUT_LAYOUTS.get(input_format, -1),
            "shapes": ";".join(f"{k}:{','.join(map(str, v))}" for k, v in shapes.items()),
            "fp16_weights": fp16_weights, "config": str(config) if config else "", "no_fusion": no_fusion,
        }
        try:
            logs: list[str] = []
            answer = run_child("convert", params, timeout=timeout, cancel=cancel, log_sink=logs)
        except ChildError as exc:
            if exc.kind in ("cancelled", "timeout"):
                raise LiteError(f"conversion of {src.name} {str(exc).split(' ', 1)[1]}", exc.log) from None
            died = str(exc).removeprefix("convert process ")
            if exc.kind == "crash" and died.startswith("crashed"):  # its own signal (SIGSEGV in Lite's
                # reader), not a kill from outside: that says something about the file
                raise lite_failure(f"Lite's converter {died} on {src.name}",
                                   f"the file is damaged or not a valid {fmt.name} model", exc.log) from None
            raise lite_failure(f"Lite could not convert {src.name}", str(exc), exc.log) from None
        produced = Path(answer["produced"])
        produced.chmod(0o644)  # Lite writes its output read-only
        produced.replace(dst)  # atomic: same folder tree, same filesystem
    precision = "int8" if quant else "fp16" if fp16_weights else "fp32"
    return ConvertResult(dst, dst.stat().st_size, time.perf_counter() - started, fmt.name, out_fmt.name,
                         precision, lite_errors(logs[0] if logs else ""))


# Lite's generic status text: its log, not the status, says what went wrong
LITE_GENERIC = "Common error code"


def lite_failure(summary: str, reason: str, log: str) -> LiteError:
    """"summary: reason" and Lite's own lines. Lite logs the root cause first ("unsupported onnx data
    type: 8") and the fallout after it ("Convert model failed"), so the first line stands in for a
    generic reason, and the first lines and the last are kept."""
    errors = lite_errors(log, limit=1000)
    if errors and LITE_GENERIC in reason:
        reason = errors[0]
    if len(errors) > 6:
        errors = errors[:4] + ["…"] + errors[-2:]
    lines = [f"{summary}: {reason}", *(f"  Lite: {e}" if e != "…" else "  …" for e in errors)]
    return LiteError("\n".join(lines), log)


_CALL_STACK = re.compile(r"\s*-{8,}\s*- C\+\+ Call Stack.*", re.S)


def without_call_stack(text: str) -> str:
    """MindSpore's exception text minus its "C++ Call Stack (For framework developers)" tail."""
    return _CALL_STACK.sub("", text).strip()


def run_in_child(params: dict) -> dict:
    """Inside the converter child: call Lite's converter; nothing else is loaded here."""
    from converters.lite import native

    lib = native.converter()
    rc = lib.es_convert(params["fmk"], native.encode_path(params["model"]), native.encode_path(params["weight"]),
                        native.encode_path(params["output"]), params["save_type"], params["input_format"],
                        params["shapes"].encode(), int(params["fp16_weights"]),
                        native.encode_path(params["config"]), int(params["no_fusion"]))
    produced = Path(params["output"] + params["suffix"])
    if rc != 0:
        raise LiteError(f"{without_call_stack(native.last_error(lib)) or 'converter failed'} (status {rc})")
    if not produced.is_file() or produced.stat().st_size == 0:
        raise LiteError("the converter reported success but wrote no model")
    return {"produced": str(produced)}

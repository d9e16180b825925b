"""convert(): MindSpore Lite 2.0's real converter, always in a child process.

The parent checks the request, prepares calibration data, runs the child with a timeout,
and moves the child's output into place atomically (temp folder next to dst + rename).
"""
from __future__ import annotations

import math
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from converters.formats import (
    INPUT_LAYOUTS,
    LITE_FORMATS,
    content_problem,
    lite_format,
    path_problem,
    source_format,
)
from converters.lite import calibration
from converters.lite.errors import LiteError, MismatchError, lite_errors
from converters.lite.probe import ProbeResult, probe_lite_file
from converters.lite.replay import LiteRunner
from jobs.child import ChildError, run_child
from jobs.state import Cancelled, JobState

if TYPE_CHECKING:
    from converters.verify import Verification

QUANT_METHODS = ("MAX_MIN", "KL", "REMOVAL_OUTLIER")
# Lite 2.0.0 converts WEIGHT_QUANT but Model::Build then fails
# ("can not find tensor data in origin tensor data"): refused up front.
UNSUPPORTED_QUANT = {"WEIGHT_QUANT": "Lite 2.0.0 writes WEIGHT_QUANT models that its runtime cannot load"}


@dataclass
class QuantConfig:
    """INT8 post-training quantization (FULL_QUANT) with calibration data."""

    # one input: a folder of .npy/images, or stacked samples. Several inputs: a folder holding one
    # subfolder per input name (DIR/<input name>/*.npy), or {input name: folder or stacked samples};
    # Lite pairs the inputs' samples by sorted file order.
    calibration: str | Path | np.ndarray | Mapping[str, str | Path | np.ndarray]
    method: str = "MAX_MIN"  # activation range: MAX_MIN, KL or REMOVAL_OUTLIER
    max_samples: int = 100
    bias_correction: bool = True
    per_channel: bool = True
    kind: str = "FULL_QUANT"
    # nodes (names as in the converted .ms, e.g. from LiteModel.trace()) Lite keeps in float: mixed
    # precision through the full-quant config's skip_quant_node, which Lite 2.0.0 honours (checked by
    # tests/test_quant_debug.py from the converted model's own tensor types)
    skip_nodes: Sequence[str] = ()


@dataclass
class ConvertResult:
    path: Path
    size_bytes: int
    seconds: float
    source_format: str
    save_format: str
    precision: str  # fp32, fp16 or int8
    log_tail: list[str]  # Lite's own error/warning lines from the conversion (often harmless)
    verification: Verification | None = None  # the artifact run against the source model (verify=False: None)
    repairs: dict[str, int] = field(default_factory=dict)  # converters/prepare.py passes applied: name -> count
    warnings: list[str] = field(default_factory=list)  # e.g. calibration data outside the model's input range

    def to_json(self) -> dict:
        return {"path": str(self.path), "size_bytes": self.size_bytes, "seconds": round(self.seconds, 3),
                "source_format": self.source_format, "save_format": self.save_format,
                "precision": self.precision, "log_tail": self.log_tail,
                "verification": self.verification.model_dump(mode="json") if self.verification else None,
                "repairs": self.repairs, "warnings": self.warnings}


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
        if any(d < -1 for d in dims):  # -1 is a common way to write "dynamic"; prepare.py names it
            raise LiteError(f"{src.name}: input {value.name!r} has a negative dimension {dims}")
        if math.prod(d for d in dims if d > 0) >= INT32_ELEMENTS:
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
    with tempfile.TemporaryDirectory(prefix="edge-studio-inputs-") as tmp:
        fp32 = convert(src, Path(tmp) / "fp32.ms", fmk=fmt_name, verify=False)
        return [(s["name"], list(s["shape"])) for s in probe_lite_file(fp32.path).inputs]


def _write_quant_config(quant: QuantConfig, src: Path, fmt_name: str, shapes: Mapping[str, Sequence[int]],
                        work: Path) -> tuple[Path, list[np.ndarray]]:
    """The quantization config file, and the calibration input sets it points at (one array per input)."""
    if quant.kind in UNSUPPORTED_QUANT:
        raise LiteError(f"{quant.kind} is not offered: {UNSUPPORTED_QUANT[quant.kind]}")
    if quant.kind != "FULL_QUANT":
        raise LiteError(f"unknown quantization {quant.kind!r}: use FULL_QUANT")
    if quant.method not in QUANT_METHODS:
        raise LiteError(f"unknown calibration method {quant.method!r}: use one of {', '.join(QUANT_METHODS)}")
    bad = [n for n in quant.skip_nodes if not n or any(c in n for c in ",\n=")]
    if bad:
        raise LiteError(f"cannot keep {bad[0]!r} in float: Lite's config cannot name a node holding ',', '=' or a newline")
    inputs = source_inputs(src, fmt_name)
    sources = _calibration_sources(quant.calibration, [name for name, _ in inputs], src.name)
    per_input = []
    for name, shape in inputs:
        shape = list(shapes.get(name, shape))
        if any(d <= 0 for d in shape):
            raise LiteError(f"input {name!r} has a dynamic shape {shape}: give input_shapes for calibration")
        if any(c in name for c in ":,;="):  # the config line separates inputs with these
            raise LiteError(f"input {name!r}: Lite's calibration config cannot name an input holding ':,;='")
        try:
            per_input.append(calibration.collect(sources[name], shape, limit=quant.max_samples))
        except calibration.CalibrationError as exc:
            where = f" for input {name!r}" if len(inputs) > 1 else ""
            raise LiteError(f"calibration data{where}: {exc}") from None
    count = min(len(samples) for samples in per_input)  # Lite pairs sample k of every input
    paths = []
    for k, ((name, _), samples) in enumerate(zip(inputs, per_input)):
        folder = work / "calibration" / str(k)
        calibration.write_bins(samples[:count], folder)
        paths.append(f"{name}:{folder}")
    config = work / "quant.cfg"
    config.write_text(
        "[common_quant_param]\nquant_type=FULL_QUANT\nbit_num=8\n"
        + (f"skip_quant_node={','.join(quant.skip_nodes)}\n" if quant.skip_nodes else "") +
        f"[data_preprocess_param]\ncalibrate_path={','.join(paths)}\n"
        f"calibrate_size={count}\ninput_type=BIN\n"
        f"[full_quant_param]\nactivation_quant_method={quant.method}\n"
        f"bias_correction={str(quant.bias_correction).lower()}\nper_channel={str(quant.per_channel).lower()}\n")
    return config, [[samples[k] for samples in per_input] for k in range(count)]


def _calibration_sources(source, names: list[str], model: str) -> dict:
    """input name -> its calibration source (a folder or stacked samples)."""
    if len(names) == 1 and not isinstance(source, Mapping):
        folder = Path(source) / names[0] if not isinstance(source, np.ndarray) else None
        # DIR/<input name>/ works for one input too
        return {names[0]: folder if folder is not None and folder.is_dir() else source}
    if isinstance(source, Mapping):
        missing = [n for n in names if n not in source]
        if missing:
            raise LiteError(f"calibration data: {model} has inputs {', '.join(map(repr, names))}; "
                            f"none given for {', '.join(map(repr, missing))}")
        return {n: source[n] for n in names}
    if isinstance(source, np.ndarray):
        raise LiteError(f"calibration data: {model} has {len(names)} inputs ({', '.join(map(repr, names))}): "
                        "give {input name: samples}, not one array")
    folder = Path(source)
    missing = [n for n in names if not (folder / n).is_dir()]
    if missing:
        raise LiteError(f"calibration data: {model} has {len(names)} inputs, so {folder} needs one subfolder per "
                        f"input ({', '.join(f'{n}/' for n in names)}); missing: {', '.join(f'{n}/' for n in missing)}")
    return {n: folder / n for n in names}


def convert(src: str | Path, dst: str | Path, *, fmk: str | None = None, input_format: str | None = None,
            input_shapes: Mapping[str, Sequence[int]] | None = None, fp16_weights: bool = False,
            quant: QuantConfig | None = None, no_fusion: bool = False, timeout: float = 600.0,
            state: JobState | None = None, verify: bool = True, accept_mismatch: bool = False,
            samples: Sequence[Sequence[np.ndarray]] = (), value_range: tuple[float, float] | None = None,
            explain: bool | None = None, repair: bool = True) -> ConvertResult:
    """Convert `src` (ONNX, TFLite, Caffe prototxt+caffemodel, TF pb, MindIR) to `dst` (.ms or .mindir).

    `fmk` names the source format (default: from the suffix). `input_format` "NCHW" keeps an
    NCHW model's input NCHW (Lite's default makes .ms inputs NHWC). Raises LiteError.

    verify: run the artifact against the source model in its reference runtime (converters.verify) on
    seeded random inputs in `value_range` plus `samples`; the result's `verification` holds the verdict.
    A WRONG artifact never reaches dst: MismatchError (a LiteError) says why, unless accept_mismatch.
    explain: name the first diverging node (None: only when the verdict is WRONG).
    repair: let converters/prepare.py (ONNX) or converters/tflite_repairs.py (TFLite) rewrite the source
    around Lite 2.0's defects first (the result's `repairs` counts what was applied); False hands Lite the
    file as it is.
    """
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
        config, calibration_samples = _write_quant_config(quant, src, fmt.name, shapes, work) if quant else (None, None)
        lite_reads, repairs, reference = _prepared(src, fmt.name, shapes, work) if repair else (src, {}, src)
        params = {
            "fmk": fmt.fmk, "model": str(lite_reads.resolve()), "weight": str(weight.resolve()) if weight else "",
            "output": str(work / "model"), "save_type": out_fmt.model_type, "suffix": out_fmt.suffix,
            "input_format": INPUT_LAYOUTS.get(input_format, -1),
            "shapes": ";".join(f"{k}:{','.join(map(str, v))}" for k, v in shapes.items()),
            "fp16_weights": fp16_weights, "config": str(config) if config else "", "no_fusion": no_fusion,
        }
        # the verification's Lite runtime child starts now, beside the converter child (never in one
        # process with it): its ~0.85 s start-up then overlaps the conversion
        runner = LiteRunner(timeout=timeout + 300.0, state=state) if verify else None
        try:
            try:
                logs: list[str] = []
                answer = run_child("converters.lite.convert:convert_in_child", params, state, timeout=timeout,
                                   log_sink=logs)
            except Cancelled:
                raise Cancelled(f"conversion of {src.name} cancelled") from None
            except ChildError as exc:
                if exc.kind == "timeout":
                    raise LiteError(f"conversion of {src.name} {str(exc).split(' ', 1)[1]}", exc.log) from None
                died = str(exc).removeprefix("convert_in_child process ")
                if exc.kind == "crash" and died.startswith("crashed"):  # its own signal (SIGSEGV in Lite's
                    # reader), not a kill from outside: that says something about the file
                    raise lite_failure(f"Lite's converter {died} on {src.name}",
                                       f"the file is damaged or not a valid {fmt.name} model", exc.log) from None
                raise lite_failure(f"Lite could not convert {src.name}", str(exc), exc.log) from None
            produced = Path(answer["produced"])
            produced.chmod(0o644)  # Lite writes its output read-only
            precision = "int8" if quant else "fp16" if fp16_weights else "fp32"
            verification = None
            warnings: list[str] = []
            if calibration_samples and value_range:  # the caller's range: what the model's preprocessing feeds it
                values = np.concatenate([a.ravel() for inputs in calibration_samples for a in inputs])
                if problem := calibration.range_warning(values, value_range):
                    warnings.append(problem)
            if verify and calibration_samples is not None:
                # INT8 is only meant for inputs like its calibration data: random inputs with its mean, spread
                # and range (uniform over the range would push most values out to where the data never goes),
                # and two of the samples themselves
                values = np.concatenate([a.ravel() for inputs in calibration_samples for a in inputs])
                value_range = value_range or (float(values.min()), float(values.max()))
                moments = (float(values.mean()), float(values.std()))
                samples = [*samples, *calibration_samples[:2]]
            if verify:  # before the move: dst only ever receives an artifact that passed (or was accepted)
                try:
                    verification = _verify(reference, fmt.name, produced, precision, src.name, dst.name, accept_mismatch,
                                           state, runner, samples=samples, value_range=value_range, explain=explain,
                                           value_moments=moments if calibration_samples is not None else None,
                                           convert_options={"input_format": input_format, "input_shapes": shapes,
                                                           "convert": convert})  # Caffe/TF: Lite FP32 reference
                except MismatchError as exc:
                    if not warnings:
                        raise
                    # the calibration data, not a layer, is the likelier cause: say so first
                    raise MismatchError(f"{exc}. Likely cause: {warnings[0]}", exc.verification) from None
            produced.replace(dst)  # atomic: same folder tree, same filesystem
        finally:
            if runner is not None:
                runner.close()
    return ConvertResult(dst, dst.stat().st_size, time.perf_counter() - started, fmt.name, out_fmt.name,
                         precision, lite_errors(logs[0] if logs else ""), verification, repairs, warnings)


def _prepared(src: Path, fmt_name: str, shapes: Mapping[str, Sequence[int]], work: Path) -> tuple[Path, dict, Path]:
    """(the file Lite should read, {repair: count}, the file the verifier runs in the reference runtime).
    An ONNX source goes through converters/prepare.py (fixed input dims, folded static control flow,
    rewrites around Lite 2.0's defects), a TFLite one through converters/tflite_repairs.py (operators Lite
    2.0 refuses rewritten), both written into `work`, never next to the user's file. The reference is the
    source unless its runtime cannot read it (a MediaPipe custom operator): then the rewritten file."""
    prepare = PREPARERS.get(fmt_name)
    if prepare is None:
        return src, {}, src
    try:
        return prepare(src, work, shapes)
    except UnicodeDecodeError:  # names the rewriting library cannot decode (a ValueError, but not ours to
        return src, {}, src  # report): Lite gets the original, the verifier judges what it makes of it
    except ValueError as exc:  # a given shape that does not fit the model; an operator nothing rewrites
        raise LiteError(f"{src.name}: {exc}") from None
    except Exception:  # a graph the rewriting library cannot handle: Lite gets the original, and the
        return src, {}, src  # verifier still judges what it makes of it


def _prepare_onnx(src: Path, work: Path, shapes: Mapping[str, Sequence[int]]) -> tuple[Path, dict, Path]:
    from converters.prepare import prepare_onnx

    return (*prepare_onnx(src, work, shapes), src)


def _prepare_tflite(src: Path, work: Path, shapes: Mapping[str, Sequence[int]]) -> tuple[Path, dict, Path]:
    from converters.tflite_repairs import prepare_tflite

    return prepare_tflite(src, work)


# source format -> its preparation before Lite reads it (formats not named go as they are)
PREPARERS = {"onnx": _prepare_onnx, "tflite": _prepare_tflite}


def _verify(src: Path, fmt_name: str, artifact: Path, precision: str, source_name: str, shown: str,
            accept_mismatch: bool, state: JobState | None, runner: LiteRunner, **options) -> Verification:
    """`src`: what the reference runtime runs (the user's file, or its rewrite when the runtime cannot read
    the original); `source_name`: the user's file, as messages name it."""
    from converters.verify import DEFAULT_RANGE, verify

    options["value_range"] = options["value_range"] or DEFAULT_RANGE
    result = verify(src, artifact, precision=precision, fmk=fmt_name, state=state, lite=runner, **options)
    if result.wrong and not accept_mismatch:
        raise MismatchError(f"Lite converted {source_name}, but {shown} answers differently: {result.summary()}",
                            result)
    return result


def probe(path: str | Path, timeout: float = 120.0, state: JobState | None = None) -> ProbeResult:
    """Load a model in a child process and run it once, so a file that crashes Lite cannot take the
    caller down. A source format (ONNX, TFLite, …) is converted to a temporary .ms first."""
    path = Path(path)
    if path.suffix.lower() in {f.suffix for f in LITE_FORMATS}:
        return probe_lite_file(path, timeout, state)
    with tempfile.TemporaryDirectory(prefix="edge-studio-probe-") as tmp:
        converted = convert(path, Path(tmp) / "probe.ms", timeout=timeout, state=state)
        try:
            result = probe_lite_file(converted.path, timeout, state)
        except LiteError as exc:  # name the user's file, not our temporary one
            raise LiteError(str(exc).replace("probe.ms", f"{path.name} (converted to .ms)"), exc.log) from None
    result.path, result.converted = path, True
    return result


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


def convert_in_child(params: dict, state: JobState) -> dict:
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

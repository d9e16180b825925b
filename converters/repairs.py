"""ONNX graph rewrites that route around MindSpore Lite 2.0 defects, applied before Lite reads a model.

Each entry of REPAIRS names one defect: a detector (which nodes Lite would get wrong), a rewrite into
an exactly equivalent graph Lite gets right, and a one-line why. Every defect was first measured on a
minimal graph (tests/test_repairs.py shows Lite wrong without the rewrite and right with it).

Graph library: onnx-graphsurgeon. Its Graph/Node/Tensor IR makes a local rewrite a few lines
(`graph.layer(...)`, re-pointing inputs), it folds constants with the onnxruntime we already ship
(inlining `If` nodes whose condition is constant — see prepasses.py) and it brings only onnx, numpy
and ml_dtypes. onnxslim would add fusions of its own that change what Lite sees; onnxscript's
rewriter is a pattern language heavier than these node-local fixes need.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

FLOAT_LOWEST = float(np.finfo(np.float32).min)


@dataclass(frozen=True)
class Repair:
    name: str
    why: str
    needs: Callable  # (graph, node, ctx) -> bool: Lite would compute this node wrong
    rewrite: Callable  # (graph, node, ctx) -> None: an exactly equivalent form Lite computes right


@dataclass
class Context:
    opset: int
    consumers: dict  # tensor name -> number of nodes reading it (+1 if a graph output)


# -- helpers -------------------------------------------------------------------------------------
_TAKEN: dict[int, set[str]] = {}  # id(graph) -> names in use, for the length of one apply_repairs()


def _fresh(graph, stem: str) -> str:
    """A name no tensor or node of the graph has (later passes match tensors by name)."""
    taken = _TAKEN.get(id(graph))
    if taken is None:
        taken = _TAKEN[id(graph)] = set(graph.tensors()) | {n.name for n in graph.nodes}
    k = len(taken)
    while f"{stem}_{k}" in taken:
        k += 1
    taken.add(f"{stem}_{k}")
    return f"{stem}_{k}"


def _const(graph, values, dtype=np.float32):
    import onnx_graphsurgeon as gs

    return gs.Constant(_fresh(graph, "repair_const"), np.asarray(values, dtype=dtype))


def _node_out(graph, op, inputs, attrs=None, like=None):
    """Add one node and return its single output variable (dtype/shape copied from `like`)."""
    import onnx_graphsurgeon as gs

    out = gs.Variable(_fresh(graph, f"repair_{op.lower()}"),
                      dtype=like.dtype if like is not None else None)
    graph.nodes.append(gs.Node(op, name=_fresh(graph, f"repair_{op}"), attrs=attrs or {},
                               inputs=list(inputs), outputs=[out]))
    return out


def _replace(graph, node, new_out) -> None:
    """Make the node's former output the output of the new chain: rename keeps graph outputs and
    every consumer intact, the old node is detached and dropped by cleanup()."""
    old = node.outputs[0]
    node.outputs.clear()
    last = new_out.inputs[0]  # the producer of the chain's last tensor
    last.outputs[0] = old


def _const_value(tensor):
    import onnx_graphsurgeon as gs

    return tensor.values if isinstance(tensor, gs.Constant) else None


def _static_shape(tensor):
    shape = getattr(tensor, "shape", None)
    if shape is None or any(not isinstance(d, int) or d <= 0 for d in shape):
        return None
    return list(shape)


# -- ReduceSumSquare ---------------------------------------------------------------------------------
def _rss_needs(graph, node, ctx) -> bool:
    # Lite squares the input in place: only a tensor read elsewhere too is harmed.
    return node.op == "ReduceSumSquare" and ctx.consumers.get(node.inputs[0].name, 0) > 1


def _rss_rewrite(graph, node, ctx) -> None:
    # ReduceL2 takes the same axes/keepdims form as ReduceSumSquare in every opset; L2² = sum of squares.
    l2 = _node_out(graph, "ReduceL2", node.inputs, dict(node.attrs), like=node.outputs[0])
    _replace(graph, node, _node_out(graph, "Mul", [l2, l2], like=node.outputs[0]))


# -- Resize ------------------------------------------------------------------------------------------
def _resize_io(node, ctx):
    """(scales per axis, input dims, output dims) when static, else None."""
    x, y = node.inputs[0], node.outputs[0]
    in_shape = _static_shape(x)
    scales = sizes = None
    if ctx.opset >= 11:
        if len(node.inputs) > 2 and node.inputs[2].name:
            scales = _const_value(node.inputs[2])
        if len(node.inputs) > 3 and node.inputs[3].name:
            sizes = _const_value(node.inputs[3])
    elif len(node.inputs) > 1:
        scales = _const_value(node.inputs[1])
    if in_shape is None or (scales is None and sizes is None):
        return None
    if sizes is not None and len(sizes):
        out = [int(s) for s in sizes]
        scales = [o / i for o, i in zip(out, in_shape)]
    elif scales is not None and len(scales):
        scales = [float(s) for s in scales]
        out = [int(math.floor(i * s)) for i, s in zip(in_shape, scales)]
    else:
        return None
    if len(out) != len(in_shape) or node.attrs.get("axes"):
        return None
    return scales, in_shape, out


def nearest_indices(length_in: int, length_out: int, scale: float, ctm: str, nearest_mode: str) -> np.ndarray:
    """Source index of each output position along one axis, as ONNX's Resize (mode=nearest) defines it."""
    x = np.arange(length_out, dtype=np.float64)
    if ctm == "half_pixel":
        orig = (x + 0.5) / scale - 0.5
    elif ctm == "pytorch_half_pixel":
        orig = (x + 0.5) / scale - 0.5 if length_out > 1 else np.zeros_like(x)
    elif ctm == "align_corners":
        orig = x * (length_in - 1) / (length_out - 1) if length_out > 1 else np.zeros_like(x)
    elif ctm == "tf_half_pixel_for_nn":
        orig = (x + 0.5) / scale
    else:  # asymmetric
        orig = x / scale
    if nearest_mode == "floor":
        idx = np.floor(orig)
    elif nearest_mode == "ceil":
        idx = np.ceil(orig)
    elif nearest_mode == "round_prefer_ceil":
        idx = np.floor(orig + 0.5)
    else:  # round_prefer_floor
        idx = np.ceil(orig - 0.5)
    return np.clip(idx, 0, length_in - 1).astype(np.int64)


def _same_as_pytorch_half_pixel(io) -> bool:
    """The two differ only on an axis resized to length 1."""
    scales, _, out = io
    return all(o > 1 or s == 1 for s, o in zip(scales, out))


def _attr(node, key, default):
    value = node.attrs.get(key, default)
    return value.decode() if isinstance(value, bytes) else value


def _resize_needs(graph, node, ctx) -> bool:
    if node.op != "Resize":
        return False
    if "mode" not in node.attrs:  # ONNX's default is nearest; Lite runs linear
        return True
    mode, ctm = _attr(node, "mode", "nearest"), _attr(node, "coordinate_transformation_mode", "half_pixel")
    if mode == "linear":  # Lite's half_pixel linear is off; pytorch_half_pixel equals it when out > 1
        io = _resize_io(node, ctx)
        return ctm == "half_pixel" and io is not None and _same_as_pytorch_half_pixel(io)
    if mode == "nearest":  # Lite always floors with asymmetric coordinates
        return (ctm, _attr(node, "nearest_mode", "round_prefer_floor")) != ("asymmetric", "floor")
    return False


def _resize_rewrite(graph, node, ctx) -> None:
    node.attrs.setdefault("mode", "nearest")
    mode = _attr(node, "mode", "nearest")
    io = _resize_io(node, ctx)
    if mode == "linear":
        if io and _same_as_pytorch_half_pixel(io) and _attr(node, "coordinate_transformation_mode", "half_pixel") == "half_pixel":
            node.attrs["coordinate_transformation_mode"] = "pytorch_half_pixel"
        return
    if io is None:
        return  # only the mode is known: made explicit, the verifier judges the rest
    scales, in_shape, out_shape = io
    ctm = _attr(node, "coordinate_transformation_mode", "half_pixel")
    rounding = _attr(node, "nearest_mode", "round_prefer_floor")
    wanted = [nearest_indices(i, o, s, ctm, rounding) for i, o, s in zip(in_shape, out_shape, scales)]
    lite = [nearest_indices(i, o, s, "asymmetric", "floor") for i, o, s in zip(in_shape, out_shape, scales)]
    if all(np.array_equal(w, g) for w, g in zip(wanted, lite)):
        # Same source pixels as Lite's own rule: say so explicitly.
        node.attrs.update(coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        return
    # Otherwise gather the exact source rows/columns: nearest resize is a Gather per axis.
    current = node.inputs[0]
    for axis, (w, i, o) in enumerate(zip(wanted, in_shape, out_shape)):
        if i == o and np.array_equal(w, np.arange(i)):
            continue
        current = _node_out(graph, "Gather", [current, _const(graph, w, np.int64)], {"axis": axis},
                            like=node.outputs[0])
    if current is node.inputs[0]:
        current = _node_out(graph, "Identity", [current], like=node.outputs[0])
    _replace(graph, node, current)


# -- activations -----------------------------------------------------------------------------------
def _hard_sigmoid_needs(graph, node, ctx) -> bool:
    # Lite ignores alpha and beta and computes relu6(x + 3) / 6.
    return node.op == "HardSigmoid" and not (math.isclose(node.attrs.get("alpha", 0.2), 1 / 6, rel_tol=1e-6)
                                             and math.isclose(node.attrs.get("beta", 0.5), 0.5))


def _hard_sigmoid_rewrite(graph, node, ctx) -> None:
    y = node.outputs[0]
    lin = _node_out(graph, "Mul", [node.inputs[0], _const(graph, node.attrs.get("alpha", 0.2))], like=y)
    lin = _node_out(graph, "Add", [lin, _const(graph, node.attrs.get("beta", 0.5))], like=y)
    low = _node_out(graph, "Max", [lin, _const(graph, 0.0)], like=y)
    _replace(graph, node, _node_out(graph, "Min", [low, _const(graph, 1.0)], like=y))


def _hard_swish_needs(graph, node, ctx) -> bool:
    return node.op == "HardSwish"  # opset 14: Lite's ONNX reader has no HardSwish


def _hard_swish_rewrite(graph, node, ctx) -> None:
    # x · HardSigmoid(x) with ONNX's HardSwish constants, which are the ones Lite's HardSigmoid computes
    y = node.outputs[0]
    gate = _node_out(graph, "HardSigmoid", [node.inputs[0]], {"alpha": 1 / 6, "beta": 0.5}, like=y)
    _replace(graph, node, _node_out(graph, "Mul", [node.inputs[0], gate], like=y))


def _clip_needs(graph, node, ctx) -> bool:
    # Lite reads Clip(x, <no min>, max) wrongly; an explicit lowest-float minimum is the same clip.
    return node.op == "Clip" and ctx.opset >= 11 and len(node.inputs) >= 3 and not node.inputs[1].name


def _clip_rewrite(graph, node, ctx) -> None:
    node.inputs[1] = _const(graph, FLOAT_LOWEST, node.inputs[0].dtype or np.float32)


def _gelu_needs(graph, node, ctx) -> bool:
    return node.op == "Gelu" and _attr(node, "approximate", "none") == "tanh"  # Lite ignores it


def _gelu_rewrite(graph, node, ctx) -> None:
    x, y = node.inputs[0], node.outputs[0]
    cube = _node_out(graph, "Mul", [_node_out(graph, "Mul", [x, x], like=y), x], like=y)
    inner = _node_out(graph, "Add", [x, _node_out(graph, "Mul", [cube, _const(graph, 0.044715)], like=y)], like=y)
    # 0.5·(1 + tanh(z)) = sigmoid(2z): Lite's fusion turns the tanh form back into its (erf) Gelu
    gate = _node_out(graph, "Sigmoid", [_node_out(graph, "Mul", [inner, _const(graph, 2 * math.sqrt(2 / math.pi))],
                                                  like=y)], like=y)
    _replace(graph, node, _node_out(graph, "Mul", [x, gate], like=y))


def _softmax_needs(graph, node, ctx) -> bool:
    # Before opset 13 Softmax flattens every axis from `axis` on; Lite normalizes over `axis` alone.
    if node.op not in ("Softmax", "LogSoftmax") or ctx.opset >= 13:
        return False
    rank = len(node.inputs[0].shape) if node.inputs[0].shape is not None else None
    if rank is None:
        return False
    axis = node.attrs.get("axis", 1)
    return (axis + rank if axis < 0 else axis) != rank - 1


def _softmax_rewrite(graph, node, ctx) -> None:
    x, y = node.inputs[0], node.outputs[0]
    flat = _node_out(graph, "Flatten", [x], {"axis": node.attrs.get("axis", 1)}, like=y)
    soft = _node_out(graph, node.op, [flat], {"axis": 1}, like=y)
    static = _static_shape(x)
    if static is not None:  # a constant shape: Lite's shape inference cannot follow Shape → Reshape
        shape = _const(graph, static, np.int64)
    else:
        shape = _node_out(graph, "Shape", [x])
        shape.dtype = np.int64
    _replace(graph, node, _node_out(graph, "Reshape", [soft, shape], like=y))


# -- pooling ---------------------------------------------------------------------------------------
def _avg_pool_needs(graph, node, ctx) -> bool:
    # Lite drops count_include_pad: the padded zeros are left out of the average.
    return (node.op == "AveragePool" and node.attrs.get("count_include_pad", 0) == 1
            and any(node.attrs.get("pads", [])) and _attr(node, "auto_pad", "NOTSET") == "NOTSET"
            and not node.attrs.get("ceil_mode", 0))


def _avg_pool_rewrite(graph, node, ctx) -> None:
    pads = list(node.attrs.pop("pads"))
    half = len(pads) // 2
    full = [0, 0, *pads[:half], 0, 0, *pads[half:]]  # N and C unpadded; ONNX Pad's begin-all/end-all order
    y = node.outputs[0]
    if ctx.opset >= 11:
        padded = _node_out(graph, "Pad", [node.inputs[0], _const(graph, full, np.int64)], {"mode": "constant"}, like=y)
    else:
        padded = _node_out(graph, "Pad", [node.inputs[0]], {"mode": "constant", "pads": full}, like=y)
    node.attrs["count_include_pad"] = 0
    node.inputs[0] = padded


# -- LRN -----------------------------------------------------------------------------------------
def _lrn_needs(graph, node, ctx) -> bool:
    # Lite's LRN is far off for ONNX's definition (window sum × alpha/size); needs a static channel count.
    return node.op == "LRN" and node.inputs[0].shape is not None and len(node.inputs[0].shape) >= 3 \
        and isinstance(node.inputs[0].shape[1], int) and node.inputs[0].shape[1] > 0


def _lrn_rewrite(graph, node, ctx) -> None:
    x, y = node.inputs[0], node.outputs[0]
    channels, rank = x.shape[1], len(x.shape)
    size = int(node.attrs["size"])
    alpha, beta, bias = node.attrs.get("alpha", 1e-4), node.attrs.get("beta", 0.75), node.attrs.get("bias", 1.0)
    # window sum over channels c-floor((size-1)/2) .. c+ceil((size-1)/2) as a 1×1 convolution
    lo, hi = (size - 1) // 2, math.ceil((size - 1) / 2)
    band = np.zeros((channels, channels) + (1,) * (rank - 2), np.float32)
    for c in range(channels):
        band[c, max(0, c - lo):min(channels, c + hi + 1)] = alpha / size
    square = _node_out(graph, "Mul", [x, x], like=y)
    ones = [1] * (rank - 2)
    summed = _node_out(graph, "Conv", [square, _const(graph, band)],
                       {"kernel_shape": ones, "strides": ones, "dilations": ones, "pads": [0] * 2 * (rank - 2)}, like=y)
    base = _node_out(graph, "Add", [summed, _const(graph, bias)], like=y)
    scale = _node_out(graph, "Pow", [base, _const(graph, beta)], like=y)
    _replace(graph, node, _node_out(graph, "Div", [x, scale], like=y))


# -- Conv attributes ---------------------------------------------------------------------------------
def _conv_needs(graph, node, ctx) -> bool:
    # Lite's converter fails ("kernel_size/stride/dilation is nullptr") on a Conv without `strides`
    # (ONNX's default: 1 per axis); the other attributes may be left out.
    return node.op in ("Conv", "ConvTranspose") and "strides" not in node.attrs


def _conv_rewrite(graph, node, ctx) -> None:
    weight = node.inputs[1]
    spatial = len(weight.shape) - 2 if weight.shape is not None else len(node.attrs.get("kernel_shape", []))
    node.attrs["strides"] = [1] * spatial


# -- auto_pad ------------------------------------------------------------------------------------------
def _same_pads(node, in_spatial: list[int]) -> list[int] | None:
    """Explicit begin…end pads for auto_pad SAME_UPPER/SAME_LOWER (ONNX's rule), or None."""
    kernel = node.attrs.get("kernel_shape")
    if kernel is None and len(node.inputs) > 1 and node.inputs[1].shape is not None:
        kernel = list(node.inputs[1].shape[2:])
    if not kernel or any(not isinstance(k, int) for k in kernel):
        return None
    strides = node.attrs.get("strides", [1] * len(kernel))
    dilations = node.attrs.get("dilations", [1] * len(kernel))
    begin, end = [], []
    for size, k, s, d in zip(in_spatial, kernel, strides, dilations):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        lower = _attr(node, "auto_pad", "NOTSET") == "SAME_LOWER"
        begin.append(large if lower else small)
        end.append(small if lower else large)
    return begin + end


def _auto_pad_needs(graph, node, ctx) -> bool:
    # Lite pads SAME_LOWER like SAME_UPPER: wrong wherever the total padding is odd.
    if node.op not in ("Conv", "MaxPool", "AveragePool") or _attr(node, "auto_pad", "NOTSET") != "SAME_LOWER":
        return False
    shape = _static_shape(node.inputs[0])
    pads = _same_pads(node, shape[2:]) if shape else None
    return pads is not None and pads[: len(pads) // 2] != pads[len(pads) // 2:]


def _auto_pad_rewrite(graph, node, ctx) -> None:
    node.attrs["pads"] = _same_pads(node, _static_shape(node.inputs[0])[2:])
    node.attrs["auto_pad"] = "NOTSET"


# -- Transpose → Conv ------------------------------------------------------------------------------------
LAYOUT_PERMS = ([0, 2, 3, 1], [0, 3, 1, 2])  # NCHW↔NHWC: Lite folds these into the layout itself


def _transpose_conv_needs(graph, node, ctx) -> bool:
    # Lite's converter fails ("InferSubgraph … failed") when a Transpose other than a layout change
    # feeds a Conv directly (YOLOv8's DFL head does so); a same-shape Reshape between them is enough.
    if node.op != "Conv" or not node.inputs[0].inputs:
        return False
    producer = node.inputs[0].inputs[0]
    return (producer.op == "Transpose" and list(producer.attrs.get("perm", [])) not in LAYOUT_PERMS
            and _static_shape(node.inputs[0]) is not None)


def _transpose_conv_rewrite(graph, node, ctx) -> None:
    x = node.inputs[0]
    node.inputs[0] = _node_out(graph, "Reshape", [x, _const(graph, _static_shape(x), np.int64)], like=x)


# -- empty Slice ------------------------------------------------------------------------------------
def _empty_slice_needs(graph, node, ctx) -> bool:
    # MindSpore writes x[:, :C] over all C channels as a Slice with empty starts/ends: a copy in ONNX,
    # "NULL pointer returned" from Lite's converter.
    if node.op != "Slice" or ctx.opset < 10 or len(node.inputs) < 3:
        return False
    starts, ends = _const_value(node.inputs[1]), _const_value(node.inputs[2])
    return starts is not None and ends is not None and starts.size == 0 and ends.size == 0


def _empty_slice_rewrite(graph, node, ctx) -> None:
    node.op = "Identity"
    while len(node.inputs) > 1:
        node.inputs.pop()


# -- sequences ----------------------------------------------------------------------------------------
def _sequence_needs(graph, node, ctx) -> bool:
    # Lite has no sequence type; MindSpore's exporter writes a Concat of a tuple as
    # SequenceConstruct → ConcatFromSequence.
    if node.op != "ConcatFromSequence" or not node.inputs[0].inputs:
        return False
    return node.inputs[0].inputs[0].op == "SequenceConstruct" and ctx.consumers.get(node.inputs[0].name, 0) == 1


def _sequence_rewrite(graph, node, ctx) -> None:
    items = list(node.inputs[0].inputs[0].inputs)
    axis, y = node.attrs.get("axis", 0), node.outputs[0]
    if node.attrs.get("new_axis", 0):  # stack: every item gains the axis first
        if ctx.opset >= 13:
            items = [_node_out(graph, "Unsqueeze", [t, _const(graph, [axis], np.int64)], like=y) for t in items]
        else:
            items = [_node_out(graph, "Unsqueeze", [t], {"axes": [axis]}, like=y) for t in items]
    _replace(graph, node, _node_out(graph, "Concat", items, {"axis": axis}, like=y))


REPAIRS: tuple[Repair, ...] = (
    Repair("sequence_concat_to_concat", "Lite has no sequences: SequenceConstruct → ConcatFromSequence (how "
           "MindSpore exports a Concat of a tuple) is one Concat", _sequence_needs, _sequence_rewrite),
    Repair("reduce_sum_square_out_of_place", "Lite squares ReduceSumSquare's input in place, so its other "
           "readers see x² (MindSpore writes every LayerNorm this way)", _rss_needs, _rss_rewrite),
    Repair("resize_exact_nearest_linear", "Lite runs a Resize without `mode` as linear (ONNX: nearest), always "
           "floors nearest indices and shifts half_pixel linear", _resize_needs, _resize_rewrite),
    Repair("hard_sigmoid_alpha_beta", "Lite's HardSigmoid ignores alpha and beta (always x/6 + 0.5)",
           _hard_sigmoid_needs, _hard_sigmoid_rewrite),
    Repair("hard_swish_expanded", "Lite's ONNX reader has no HardSwish (opset 14)", _hard_swish_needs,
           _hard_swish_rewrite),
    Repair("clip_explicit_min", "Lite misreads Clip with a max and no min", _clip_needs, _clip_rewrite),
    Repair("gelu_tanh_expanded", "Lite ignores Gelu's approximate='tanh'", _gelu_needs, _gelu_rewrite),
    Repair("softmax_legacy_axis", "before opset 13 Softmax flattens the axes from `axis` on; Lite uses `axis` "
           "alone", _softmax_needs, _softmax_rewrite),
    Repair("average_pool_pad_included", "Lite ignores AveragePool's count_include_pad=1 (padded zeros left "
           "out of the mean)", _avg_pool_needs, _avg_pool_rewrite),
    Repair("transpose_conv_reshape_between", "Lite's converter fails when a (non-layout) Transpose feeds a Conv "
           "directly", _transpose_conv_needs, _transpose_conv_rewrite),
    Repair("empty_slice_identity", "Lite's converter fails (\"NULL pointer returned\") on a Slice with empty "
           "starts/ends, which copies its input", _empty_slice_needs, _empty_slice_rewrite),
    Repair("same_lower_explicit_pads", "Lite pads auto_pad=SAME_LOWER like SAME_UPPER (wrong when the total "
           "padding is odd)", _auto_pad_needs, _auto_pad_rewrite),
    Repair("conv_explicit_strides", "Lite's converter fails on a Conv that leaves `strides` at its ONNX default",
           _conv_needs, _conv_rewrite),
    Repair("lrn_expanded", "Lite's LRN does not follow ONNX's definition (sum of squares × alpha/size)",
           _lrn_needs, _lrn_rewrite),
)

# run before constant folding: the folder cannot evaluate graphs that hold these
BEFORE_FOLDING = {"sequence_concat_to_concat"}

REPAIR_OPS = {"ConcatFromSequence", "HardSwish", "ReduceSumSquare", "Slice", "Resize", "HardSigmoid", "Clip", "Gelu", "Softmax", "LogSoftmax",
              "AveragePool", "MaxPool", "LRN", "Conv", "ConvTranspose"}


def _consumers(graph) -> dict:
    counts: dict[str, int] = {}
    for node in graph.nodes:
        for t in node.inputs:
            counts[t.name] = counts.get(t.name, 0) + 1
    for t in graph.outputs:
        counts[t.name] = counts.get(t.name, 0) + 1
    return counts


def apply_repairs(graph, opset: int, only: set[str] | None = None) -> dict[str, int]:
    """Rewrite, in place, every node of `graph` (an onnx_graphsurgeon Graph with shapes inferred) that
    Lite 2.0 would compute wrongly (`only`: just these repairs). Returns {repair name: nodes rewritten}."""
    ctx = Context(opset, _consumers(graph))
    table = [r for r in REPAIRS if only is None or r.name in only]
    applied: dict[str, int] = {}
    try:
        for node in list(graph.nodes):
            for repair in table:
                if node.outputs and repair.needs(graph, node, ctx):
                    repair.rewrite(graph, node, ctx)
                    applied[repair.name] = applied.get(repair.name, 0) + 1
                    break
    finally:
        _TAKEN.pop(id(graph), None)
    if applied:
        graph.cleanup().toposort()
    return applied


def describe(applied: dict[str, int]) -> str:
    """'reduce_sum_square_out_of_place ×12, resize_exact_nearest_linear ×2' (empty when none)."""
    return ", ".join(f"{name} ×{count}" for name, count in applied.items())

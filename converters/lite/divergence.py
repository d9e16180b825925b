"""find_divergence(): the first node of the source model whose output Lite's artifact does not reproduce.

Both sides run one input set with every intermediate tensor kept: onnxruntime with each node output
added as a graph output (LiteRT with all tensors preserved for TFLite), Lite with its kernel callbacks
(LiteModel.trace, in a child). Lite names its kernels after the source nodes (ONNX: the node name;
TFLite: "<OP>-<operator index>"), fuses some nodes into their producer (Conv+Relu runs as one "Conv"
kernel whose output is the Relu's) and adds its own (layout Transposes named "<node>_pre_0"/"_post"):
so a source node is compared where Lite ran a kernel of that name, against its own output or that of
the nodes fused into it, and a node Lite does not name is skipped.

A kernel that writes into one of its inputs while another node still reads that input corrupts the
graph without its own output being wrong (Lite 2.0's ReduceSumSquare): the trace notices a node whose
input bytes changed while it ran, and that node is named when a later node reads the tensor.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from pydantic import BaseModel

from converters.formats import SOURCE_LAYOUTS
from converters.lite.errors import LiteError
from converters.lite.model import TracedNode
from converters.tensor_compare import align, cosine
from jobs.state import JobState


class Divergence(BaseModel):
    """Where the artifact first departs from the source model (the first diverging node)."""

    node: str  # the source model's node name
    op_type: str  # the source model's op type
    lite_kernel: str  # the Lite kernel that ran it (fusions rename: Conv → Conv2DFusion)
    reason: str  # one line: what departs, with the numbers
    max_abs: float | None = None
    cosine: float | None = None
    last_agreeing: str = ""  # the last node before it whose output still agreed


@dataclass(frozen=True)
class SourceNode:
    name: str  # as Lite names the kernel that runs it
    op_type: str
    inputs: tuple[str, ...]  # tensor names
    outputs: tuple[str, ...]


def find_divergence(source: Path, fmt_name: str, artifact: Path, inputs: Sequence[np.ndarray], tolerance: Any,
                    state: JobState | None = None) -> tuple[Divergence | None, str]:
    """(the first diverging node, "") or (None, why none was named). tolerance: verify.Tolerance (its node_rel
    and node_cosine: verify.py imports this module, not the other way round)."""
    from converters.lite.replay import replay

    if fmt_name not in INTERMEDIATES:
        return None, f"the divergence search reads ONNX and TFLite sources (this one is {fmt_name})"
    try:
        graph, reference = INTERMEDIATES[fmt_name](source, inputs)
    except Exception as exc:  # a model the runtime runs, but not with extra outputs (e.g. ONNX > 2 GB)
        return None, f"the reference runtime could not keep the intermediate tensors: {exc}"
    try:
        trace = replay(artifact, [list(inputs)], trace=True, state=state).trace or []
    except LiteError as exc:
        return None, f"Lite could not trace the artifact: {str(exc).splitlines()[0]}"
    by_value = first_departing_node(graph, reference, trace, tolerance, SOURCE_LAYOUTS[fmt_name])
    in_place = first_in_place_write(graph, trace)
    found = [d for d in (in_place, by_value) if d is not None]
    if not found:
        kernels = {n.name for n in trace}
        compared = sum(node.name in kernels for node in graph)
        if not compared:
            return None, "Lite's kernels carry none of the source's node names: nothing to compare node by node"
        return None, (f"no node departs: the {compared} source nodes Lite ran under their own names agreed within "
                      "the node tolerance (a difference, if any, builds up gradually or lies inside a fused kernel)")
    executed = [n.name for n in trace]
    return min(found, key=lambda d: executed.index(d[1]))[0], ""


def onnx_node_name(node, index: int) -> str:
    """The node's name, or "<op_type>_<index in graph.node>" for an unnamed one. Lite calls the kernel of
    an unnamed node "Default/<kernel>-op<k>", which says nothing about which node it was: a converter
    step that names unnamed nodes by this same rule before Lite sees them makes them comparable."""
    return node.name or f"{node.op_type}_{index}"


def onnx_intermediates(source: Path, inputs: Sequence[np.ndarray]) -> tuple[list[SourceNode], dict]:
    """The nodes (topological order) and every node output (name → array) for one input set, by onnxruntime."""
    import onnx

    from converters.references import onnx_session

    model = onnx.load(str(source))
    graph = model.graph
    present = {o.name for o in graph.output}
    for node in graph.node:
        for name in node.output:
            if name and name not in present:
                graph.output.append(onnx.ValueInfoProto(name=name))  # onnxruntime infers the type
                present.add(name)
    session = onnx_session(model.SerializeToString())
    names = [o.name for o in session.get_outputs()]
    feeds = dict(zip([i.name for i in session.get_inputs()], inputs))
    nodes = [SourceNode(onnx_node_name(n, i), n.op_type, tuple(n.input), tuple(n.output))
             for i, n in enumerate(graph.node)]
    return nodes, dict(zip(names, session.run(None, feeds)))


def tflite_intermediates(source: Path, inputs: Sequence[np.ndarray]) -> tuple[list[SourceNode], dict]:
    """The operators and every tensor they write for one input set, by LiteRT with all tensors kept
    (and no XNNPACK delegate, which would keep a partition's tensors to itself)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_content=source.read_bytes(), num_threads=1,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
                              experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    for detail, arr in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(detail["index"], arr)
    interpreter.invoke()
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    values: dict[str, np.ndarray] = {}
    nodes = []
    for op in interpreter._get_ops_details():  # LiteRT's only listing of operators and their tensors
        names = []
        for index in op["outputs"]:
            detail = tensors.get(index)
            if detail is None:
                continue
            value = interpreter.get_tensor(index)
            scale, zero_point = detail["quantization"]
            if scale and value.dtype in (np.int8, np.uint8):  # an INT8 model: compare real values
                value = scale * (value.astype(np.float64) - zero_point)
            values[detail["name"]] = value
            names.append(detail["name"])
        ins = tuple(tensors[i]["name"] for i in op["inputs"] if i in tensors)
        nodes.append(SourceNode(f"{op['op_name']}-{op['index']}", op["op_name"], ins, tuple(names)))
    return nodes, values


INTERMEDIATES = {"onnx": onnx_intermediates, "tflite": tflite_intermediates}


def _consumers(graph: list[SourceNode]) -> dict[str, list[SourceNode]]:
    readers: dict[str, list[SourceNode]] = {}
    for node in graph:
        for name in node.inputs:
            readers.setdefault(name, []).append(node)
    return readers


def first_departing_node(graph: list[SourceNode], reference: dict[str, np.ndarray], trace: list[TracedNode],
                         tol: Any, reference_layout: str = "NCHW") -> tuple[Divergence, str] | None:
    """The first source node (graph order is topological) whose Lite kernel's output departs.
    tol: a verify.Tolerance (node_rel, node_cosine)."""
    kernels = {n.name: n for n in trace}
    readers = _consumers(graph)
    last_agreeing = ""
    for node in graph:
        kernel = kernels.get(node.name)
        if kernel is None or not node.outputs:
            continue  # fused into a neighbour, or renamed: nothing of Lite's to compare it with
        best: tuple[float, float, float] | None = None  # (max_abs, rel, cosine) of the closest candidate
        agreed = False
        for k, lite_tensor in enumerate(kernel.outputs[:len(node.outputs)]):
            got = lite_tensor.real()
            if got is None:
                continue
            for name in _fused_chain(node, k, readers, kernels):
                want = reference.get(name)
                aligned = None if want is None else align(got, want, lite_tensor.format, reference_layout)
                if aligned is None or want.dtype.kind not in "fiub":
                    continue
                w, g = want.astype(np.float64), aligned.astype(np.float64)
                delta = float(np.abs(w - g).max()) if w.size else 0.0
                scale = float(np.abs(w).max()) if w.size else 0.0
                rel = delta / scale if scale > 0 else (0.0 if delta == 0 else float("inf"))
                cos = cosine(w, g)
                if (tol.node_rel is None or rel <= tol.node_rel) and cos >= tol.node_cosine:
                    agreed = True
                    break
                if best is None or rel < best[1]:
                    best = (delta, rel, cos)
            if agreed:
                break
        if agreed or best is None:
            last_agreeing = node.name if agreed else last_agreeing
            continue
        delta, rel, cos = best
        reason = (f"its output departs from the reference's while its inputs agree: max |Δ| {delta:.3g} "
                  f"(rel {rel:.3g}), cosine {cos:.4f}")
        return Divergence(node=node.name, op_type=node.op_type, lite_kernel=kernel.type, reason=reason,
                          max_abs=delta, cosine=cos, last_agreeing=last_agreeing), kernel.name
    return None


def _fused_chain(node: SourceNode, k: int, readers: dict[str, list[SourceNode]],
                 kernels: dict[str, TracedNode]) -> list[str]:
    """The node's k-th output, then the outputs of single consumers Lite has no kernel for (fused in)."""
    names = [node.outputs[k]]
    current = node.outputs[k]
    while len(readers.get(current, [])) == 1:
        successor = readers[current][0]
        if successor.name in kernels or not successor.outputs:
            break
        current = successor.outputs[0]
        names.append(current)
    return names


def first_in_place_write(graph: list[SourceNode], trace: list[TracedNode]) -> tuple[Divergence, str] | None:
    """The first kernel that changed an input tensor which a later kernel still reads."""
    op_types = {n.name: n.op_type for n in graph}
    for i, kernel in enumerate(trace):
        for tensor in kernel.changed_inputs:
            later = [n.name for n in trace[i + 1:] if tensor in n.inputs]
            if not later:
                continue  # its last reader: an in-place kernel may reuse the buffer
            reason = (f"it writes into its input {tensor!r} in place, and {later[0]!r} reads that tensor "
                      "afterwards (it sees the overwritten values)")
            return Divergence(node=kernel.name, op_type=op_types.get(kernel.name, kernel.type),
                              lite_kernel=kernel.type, reason=reason), kernel.name
    return None

"""Make an ONNX file ready for MindSpore Lite 2.0: pre-passes that widen what converts, then the
defect rewrites of converters/repairs.py. The user's file is never touched: a changed model is
written into the caller's work folder, and every change is counted by name.

Pre-passes:
- fix_input_dims: dimensions given with --input-shape are written into the graph inputs (Lite and
  shape inference then see a static model); a dimension stored as -1 becomes a named dynamic one.
- fold_static_control_flow: `If` with a constant condition is inlined and Sequence constructs on
  static data are folded (onnx-graphsurgeon's fold_constants, evaluated by onnxruntime) — Lite 2.0
  converts neither.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import onnx

from converters import repairs

CONTROL_FLOW = {"If", "Loop", "SequenceConstruct", "SequenceAt", "SequenceInsert", "SequenceErase",
                "SequenceLength", "SequenceEmpty", "SplitToSequence", "ConcatFromSequence", "Optional",
                "OptionalGetElement", "OptionalHasElement"}
TWO_GB = 2**31 - 2**24  # protobuf's limit, with headroom: bigger models keep their weights outside


def fix_input_dims(model: onnx.ModelProto, shapes: Mapping[str, Sequence[int]]) -> int:
    """Write the given shapes into graph inputs; turn stored -1 dims into named dynamic dims.
    Returns the number of inputs changed."""
    inits = {t.name for t in model.graph.initializer}
    changed = 0
    for value in model.graph.input:
        if value.name in inits or not value.type.tensor_type.HasField("shape"):
            continue
        dims = value.type.tensor_type.shape.dim
        given = shapes.get(value.name)
        if given is not None:
            if len(given) != len(dims):
                raise ValueError(f"input {value.name!r} has {len(dims)} dimensions, "
                                 f"the given shape {list(given)} has {len(given)}")
            before = [(d.dim_value, d.dim_param) for d in dims]
            for d, size in zip(dims, given):
                d.Clear()
                d.dim_value = int(size)
            changed += before != [(d.dim_value, d.dim_param) for d in dims]
            continue
        touched = False
        for k, d in enumerate(dims):
            if d.HasField("dim_value") and d.dim_value < 0:
                d.Clear()
                d.dim_param = f"{value.name}_dim{k}"
                touched = True
        changed += touched
    return changed


def _ops(graph) -> set[str]:
    found = set()
    for node in graph.node:
        found.add(node.op_type)
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                found |= _ops(sub)
    return found


def _count(graph, ops: set[str]) -> int:
    return sum(1 for node in graph.node if node.op_type in ops)


def prepare_onnx(src: Path, work: Path, input_shapes: Mapping[str, Sequence[int]] | None = None,
                 ) -> tuple[Path, dict[str, int]]:
    """(the file Lite should read, {pass or repair name: count}). The file is `src` itself when
    nothing needed changing, else `work`/repaired.onnx."""
    import onnx_graphsurgeon as gs

    model = onnx.load(str(src))  # external weights come along: the repaired copy lives elsewhere
    applied: dict[str, int] = {}
    if n := fix_input_dims(model, input_shapes or {}):
        applied["fix_input_dims"] = n
    ops = _ops(model.graph)
    needs_fold = bool(ops & CONTROL_FLOW)
    if not applied and not needs_fold and not ops & repairs.REPAIR_OPS:
        return src, {}
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    try:
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # partial shapes still help; a model that fails inference is still converted
        pass
    graph = gs.import_onnx(model)
    if before := repairs.apply_repairs(graph, opset, only=repairs.BEFORE_FOLDING):
        applied.update(before)
        graph = _reinferred(graph)  # shapes past a sequence were unknown until now
    needs_fold = needs_fold and bool(_ops(gs.export_onnx(graph, do_type_check=False).graph) & CONTROL_FLOW)
    if needs_fold:
        before = _count(model.graph, CONTROL_FLOW)
        graph.toposort()
        graph.fold_constants(error_ok=True).cleanup()
        after = _count(gs.export_onnx(graph, do_type_check=False).graph, CONTROL_FLOW)
        if after < before:
            applied["fold_static_control_flow"] = before - after
            graph = _reinferred(graph)
    if why := runtime_control_flow(gs.export_onnx(graph, do_type_check=False).graph):
        raise ValueError(why)
    for name, count in repairs.apply_repairs(graph, opset).items():
        applied[name] = applied.get(name, 0) + count
    if not applied:
        return src, {}
    out = gs.export_onnx(graph, do_type_check=False)
    out.ir_version = model.ir_version
    del out.opset_import[:]
    out.opset_import.extend(model.opset_import)
    dst = work / "repaired.onnx"
    big = out.ByteSize() > TWO_GB if _small_enough_to_measure(out) else True
    onnx.save(out, str(dst), save_as_external_data=big, location="repaired.onnx.data" if big else None)
    return dst, applied


def runtime_control_flow(graph) -> str:
    """One line when `graph` still holds If/Loop/Scan after folding: which nodes, which graph inputs their
    conditions are computed from, which ops their branches hold. Lite 2.0 converts no control flow, and
    says so only by naming some op it meets inside ("not support onnx data type Size" for silero-vad)."""
    flow = [n for n in graph.node if n.op_type in ("If", "Loop", "Scan")]
    if not flow:
        return ""
    producer = {out: node for node in graph.node for out in node.output}
    inputs = {i.name for i in graph.input} - {t.name for t in graph.initializer}
    deciding: set[str] = set()
    for node in flow:
        seen, todo = set(), [node.input[0]]  # If: the condition; Loop: the trip count (and cond next)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in inputs:
                deciding.add(name)
            elif name in producer:
                todo.extend(producer[name].input)
    inside = sorted(_ops(graph) - {n.op_type for n in graph.node} - {"Constant", "Identity"})
    kinds = ", ".join(f"{op} ×{sum(n.op_type == op for n in flow)}" for op in sorted({n.op_type for n in flow}))
    by = f", conditions computed from the input(s) {', '.join(map(repr, sorted(deciding)))}" if deciding else ""
    holding = f"; their branches hold {', '.join(inside[:6])}" if inside else ""
    return f"Lite 2.0 converts no If/Loop/Scan: {kinds} left after constant folding{by}{holding}"


def _reinferred(graph):
    """The graph with ONNX shape inference run again (after a structural change)."""
    import onnx_graphsurgeon as gs

    model = gs.export_onnx(graph, do_type_check=False)
    try:
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # keep what is known
        pass
    return gs.import_onnx(model)


def _small_enough_to_measure(model: onnx.ModelProto) -> bool:
    """ByteSize() itself fails past 2 GB on some protobuf builds; sum the initializers first."""
    return sum(t.ByteSize() for t in model.graph.initializer) < TWO_GB

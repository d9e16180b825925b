"""MindSpore → ONNX, with exact-equivalent rewrites for what MindSpore 2.10's exporter cannot write,
and every export checked against MindSpore's own outputs (onnxruntime, in this same process).

Runs in a MindSpore process (a training child, the model-zoo builder's child): never import it where
Lite is loaded.

What 2.10's exporter fails on, and what is done about it (each rewrite computes the same function):
- nn.HSwish / nn.HSigmoid ("Can not find key HSwish in convert map"): x·relu6(x+3)/6 and relu6(x+3)/6.
- `x += y` on tensors becomes InplaceAddExt (and `-=`/`*=` their in-place kernels), which has no ONNX
  form: during the export, augmented assignment on tensors is plain x = x + y.
- ops.Unstack cells/primitives: Split into ones, then Squeeze.
- nn.GroupNorm ("Can not find key GroupNorm"): Reshape, ReduceMean, Sqrt with the same Parameters.
- exact nn.GELU ("Can not find key Erf"): erf as a rational-exponential approximation within 1.5e-7.
- Building some mindcv nets (ConvNeXt) under NumPy 2 fails: the first Tensor × float of a process
  raises once. Call `numpy2_safe_init()` before building the net.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np


class ExportError(RuntimeError):
    """The export failed or the ONNX file computes something else than the MindSpore net."""


@dataclass
class ExportReport:
    path: str
    seconds: float
    rewrites: dict[str, int]  # rewrite name -> cells/primitives replaced
    max_abs_diff: float  # onnxruntime vs MindSpore on the sample input, worst output
    max_rel_diff: float  # the same, relative to the largest |MindSpore output|
    outputs: int

    def to_json(self) -> dict:
        return asdict(self)


# -- rewrites of the net ---------------------------------------------------------------------------
def _exportable_cells():
    """Cells built only from ops 2.10's ONNX exporter knows."""
    from mindspore import nn, ops

    class HSwishExport(nn.Cell):
        def construct(self, x):
            return x * ops.relu6(x + 3.0) / 6.0

    class HSigmoidExport(nn.Cell):
        def construct(self, x):
            return ops.relu6(x + 3.0) / 6.0

    class UnstackExport(nn.Cell):
        def __init__(self, axis: int = 0):
            super().__init__()
            self.axis = axis

        def construct(self, x):
            parts = ops.split(x, 1, self.axis)
            return tuple(ops.squeeze(p, self.axis) for p in parts)

    class GroupNormExport(nn.Cell):
        """nn.GroupNorm spelled with Reshape/ReduceMean/Sqrt (2.10 has no GroupNorm export); same
        Parameters, same formula: per sample and group, (x - mean) / sqrt(var + eps), then γ, β."""

        def __init__(self, norm):
            super().__init__()
            self.groups, self.eps = norm.num_groups, norm.eps
            self.gamma, self.beta = norm.gamma, norm.beta

        def construct(self, x):
            grouped = ops.reshape(x, (x.shape[0], self.groups, -1))
            centered = grouped - ops.mean(grouped, 2, True)
            var = ops.mean(centered * centered, 2, True)
            y = ops.reshape(centered / ops.sqrt(var + self.eps), x.shape)
            shape = (1, x.shape[1]) + (1,) * (len(x.shape) - 2)
            return y * ops.reshape(self.gamma, shape) + ops.reshape(self.beta, shape)

    class GELUExport(nn.Cell):
        """Exact (erf) GELU without Erf, which 2.10 cannot export: erf by Abramowitz & Stegun 7.1.26,
        |error| < 1.5e-7 — below float32's own rounding of the result; export_onnx's check measures it."""

        def construct(self, x):
            z = x * 0.7071067811865476
            a = ops.abs(z)
            t = ops.pow(1.0 + 0.3275911 * a, -1.0)  # not 1 / …: Reciprocal has no export either
            poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
            erf_abs = 1.0 - poly * ops.exp(-(a * a))
            erf = erf_abs * z / ops.maximum(a, 1e-30)  # odd: the sign of z
            return 0.5 * x * (1.0 + erf)

    def gelu(cell):
        return GELUExport() if getattr(cell, "approximate", "tanh") in ("none", False) else None

    return {nn.HSwish: ("hswish", lambda cell: HSwishExport()),
            nn.GELU: ("gelu_erf", gelu),
            nn.GroupNorm: ("groupnorm", lambda cell: GroupNormExport(cell)),
            nn.HSigmoid: ("hsigmoid", lambda cell: HSigmoidExport()),
            ops.Unstack: ("unstack", lambda prim: UnstackExport(int(prim.axis)))}


def make_exportable(net) -> dict[str, int]:
    """Replace, in place, the cells and primitive attributes of `net` that 2.10 cannot export by
    equivalent cells. Returns {rewrite: count}."""
    table = _exportable_cells()
    counts: dict[str, int] = {}
    from mindspore import nn

    for _, cell in list(net.cells_and_names()):
        replaced = False
        for attr, child in list(vars(cell).items()) + list(cell._cells.items()):
            kind = next((k for k in table if type(child) is k), None)
            if kind is None:
                continue
            name, build = table[kind]
            replacement = build(child)
            if replacement is None:  # this instance exports as it is
                continue
            if attr in cell._cells:
                cell._cells[attr] = replacement
            else:
                setattr(cell, attr, replacement)
            counts[name] = counts.get(name, 0) + 1
            replaced = True
        if replaced and isinstance(cell, nn.SequentialCell):  # it iterates a copy of its cells
            cell.cell_list = list(cell._cells.values())
    return counts


@contextlib.contextmanager
def plain_augmented_assignment():
    """Inside: `x += y` (and -=, *=) on tensors compiles to Add/Sub/Mul instead of the in-place kernels
    2.10 maps them to (InplaceAddExt, …), which have no ONNX export. Restored on exit."""
    from mindspore import ops
    from mindspore.ops.composite import multitype_ops as mt

    table = [(mt.augassign_add, ops.add), (mt.augassign_sub, ops.sub), (mt.augassign_mul, ops.mul)]
    saved = [list(graph.entries) for graph, _ in table]

    def plain(fn):
        return lambda x, y: fn(x, y)

    try:
        for graph, fn in table:
            for sig in (("Tensor", "Tensor"), ("Tensor", "Number")):
                graph.register(*sig)(plain(fn))
        yield
    finally:
        for (graph, _), entries in zip(table, saved):
            for sigs, fn in entries:  # the originals again, for the rest of the process
                if sigs and len(sigs) == 2:
                    graph.register(*[str(s) if not isinstance(s, str) else s for s in sigs])(fn)
            graph.entries[:] = entries


def numpy2_safe_init() -> None:
    """Let a net's constructor do `parameter * 0.5` under NumPy 2 (mindcv's ConvNeXt scales its head so).

    In MindSpore 2.10 the first Tensor × Python-float of a process fails once (SystemError from
    Tensor.__mul__: a lazily imported helper built against NumPy 1 raises while loading) and works
    from then on. One throw-away product takes that hit."""
    import io

    import mindspore as ms

    try:  # NumPy prints its "compiled using NumPy 1.x" notice on the way: not news here
        with contextlib.redirect_stderr(io.StringIO()):
            _ = ms.Tensor(np.ones(1, np.float32)) * 1.0
    except SystemError:
        pass


# -- export + check ------------------------------------------------------------------------------
def _as_list(outputs) -> list[np.ndarray]:
    if isinstance(outputs, (tuple, list)):
        return [o for item in outputs for o in _as_list(item)]
    return [outputs.asnumpy()]


def export_onnx(net, sample_input, path: str | Path, *, rtol: float = 1e-4) -> ExportReport:
    """Export `net` (a mindspore.nn.Cell) to ONNX at `path`, checked: onnxruntime must reproduce
    MindSpore's outputs on `sample_input` (a Tensor/ndarray or a sequence of them) within `rtol`
    of the output's scale. Raises ExportError. `net` is put in eval mode and rewritten in place
    (equivalent cells, see make_exportable)."""
    import mindspore as ms
    import onnxruntime as ort

    started = time.perf_counter()
    path = Path(path)
    samples = list(sample_input) if isinstance(sample_input, (list, tuple)) else [sample_input]
    tensors = [s if isinstance(s, ms.Tensor) else ms.Tensor(np.asarray(s)) for s in samples]
    net.set_train(False)
    expected = _as_list(net(*tensors))  # before any rewrite: the check covers the rewrites too
    rewrites = make_exportable(net)
    path.parent.mkdir(parents=True, exist_ok=True)
    stem = path.with_suffix("") if path.suffix == ".onnx" else path
    try:
        with plain_augmented_assignment():
            ms.export(net, *tensors, file_name=str(stem), file_format="ONNX")
    except Exception as exc:
        raise ExportError(f"MindSpore could not export {type(net).__name__} to ONNX: "
                          f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    written = stem.with_suffix(".onnx")
    if written != path:
        written.replace(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: t.asnumpy() for i, t in zip(session.get_inputs(), tensors)}
    got = session.run(None, feeds)
    if len(got) != len(expected):
        raise ExportError(f"{path.name}: {len(got)} outputs, MindSpore gives {len(expected)}")
    worst_abs = worst_rel = 0.0
    for k, (g, e) in enumerate(zip(got, expected)):
        if g.shape != e.shape:
            raise ExportError(f"{path.name}: output {k} has shape {g.shape}, MindSpore gives {e.shape}")
        diff = float(np.abs(g.astype(np.float64) - e).max()) if e.size else 0.0
        scale = float(np.abs(e).max()) if e.size else 0.0
        worst_abs, worst_rel = max(worst_abs, diff), max(worst_rel, diff / scale if scale else diff)
    if worst_rel > rtol:
        raise ExportError(f"{path.name} differs from MindSpore: max |Δ| {worst_abs:.3g} "
                          f"({worst_rel:.3g} of the output scale, allowed {rtol:g})")
    return ExportReport(str(path), round(time.perf_counter() - started, 2), rewrites, worst_abs, worst_rel,
                        len(expected))


def export_onnx_shapes(net, shapes: Sequence[Sequence[int]], path: str | Path, seed: int = 0,
                       **options) -> ExportReport:
    """export_onnx with seeded standard-normal float32 sample inputs of the given shapes."""
    rng = np.random.default_rng(seed)
    samples = [rng.standard_normal(tuple(s)).astype(np.float32) for s in shapes]
    return export_onnx(net, samples, path, **options)


def export_in_child(params: dict, state=None) -> dict:
    """Job for a MindSpore child (jobs.child.run_child): build params["factory"] ("module:function",
    called with params.get("kwargs", {})) and export it to params["path"] with seeded inputs of
    params["shapes"]. params["save_io"]: also save the sample inputs and MindSpore's outputs as
    <path>.inputs.npz / <path>.expected.npz, for a check in another process."""
    import importlib

    import mindspore as ms

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(params.get("seed", 0))
    numpy2_safe_init()
    module, _, name = params["factory"].partition(":")
    net = getattr(importlib.import_module(module), name)(**params.get("kwargs", {}))
    net.set_train(False)
    rng = np.random.default_rng(params.get("seed", 0))
    samples = [rng.standard_normal(tuple(s)).astype(np.float32) for s in params["shapes"]]
    if params.get("save_io"):
        expected = _as_list(net(*[ms.Tensor(s) for s in samples]))
        np.savez(f"{params['path']}.inputs.npz", *samples)
        np.savez(f"{params['path']}.expected.npz", *expected)
    return export_onnx(net, samples, params["path"]).to_json()

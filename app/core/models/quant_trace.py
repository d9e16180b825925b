"""The Lite side of quant-debug, run in a child (never beside Lite's converter): every variant's outputs
and latency on the evaluation inputs, and every kernel's output of the INT8 model matched by node name
with the FP32 model's, pooled over several inputs.

Matching: both artifacts come from the same converter and source, so a node keeps its name. The INT8
graph adds QuantDTypeCast nodes and sometimes keeps apart what the FP32 graph fused (Lite 2.0 runs a
MatMul's Relu as its own kernel in INT8): a matched node's INT8 value is the last non-cast output of the
chain of INT8-only nodes that follows it, which is what the fused FP32 kernel wrote.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from converters.lite.model import TracedNode
from jobs.state import JobState

CAST = "QuantDTypeCast"
PROFILE_RUNS = 5
WARM_UP = 3


def _int8_time(name: str, times: dict[str, float]) -> float:
    """A node's INT8 time with the casts Lite put in front of it ("<name>_dtype_cast_*")."""
    return times.get(name, 0.0) + sum(ms for op, ms in times.items() if op.startswith(f"{name}_dtype_cast"))


def matched_values(fp32: list[TracedNode], int8: list[TracedNode]) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """node name -> [(FP32 value, INT8 value dequantized)] per output, for nodes both graphs run."""
    fp32_names = {n.name for n in fp32}
    by_name = {n.name: n for n in fp32}
    pairs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for i, node in enumerate(int8):
        ref = by_name.get(node.name)
        if ref is None or node.type == CAST or len(ref.outputs) != len(node.outputs):
            continue
        outputs = list(node.outputs)
        if len(outputs) == 1:  # follow the INT8-only chain this node feeds (unfused activation, casts)
            current = outputs[0].name
            for later in int8[i + 1:]:
                if later.name in fp32_names or current not in later.inputs or len(later.outputs) != 1:
                    break
                current = later.outputs[0].name
                if later.type != CAST:
                    outputs = [later.outputs[0]]
        got = [(r.real(), g.real()) for r, g in zip(ref.outputs, outputs)]
        if all(a is not None and b is not None and a.size == b.size for a, b in got):
            pairs[node.name] = [(a.reshape(-1), b.reshape(-1)) for a, b in got]
    return pairs


class ErrorStats:
    """Sums over inputs for one node: pooled cosine, relative MSE and SNR of INT8 against FP32."""

    def __init__(self) -> None:
        self.dot = self.ref = self.got = self.err = 0.0
        self.worst_cosine = 1.0

    def add(self, ref: np.ndarray, got: np.ndarray) -> None:
        ref, got = ref.astype(np.float64), got.astype(np.float64)
        dot, rr, gg = float(ref @ got), float(ref @ ref), float(got @ got)
        self.dot, self.ref, self.got = self.dot + dot, self.ref + rr, self.got + gg
        self.err += float(((got - ref) ** 2).sum())
        self.worst_cosine = min(self.worst_cosine, _cos(dot, rr, gg))

    def to_json(self) -> dict:
        rel = self.err / self.ref if self.ref > 0 else (0.0 if self.err == 0 else float("inf"))
        snr = 10 * np.log10(1 / rel) if rel > 0 else 100.0
        return {"cosine": round(_cos(self.dot, self.ref, self.got), 6), "worst_cosine": round(self.worst_cosine, 6),
                "rel_mse": float(f"{rel:.4g}"), "snr_db": round(float(min(snr, 100.0)), 2)}


def _cos(dot: float, rr: float, gg: float) -> float:
    if rr == 0 and gg == 0:
        return 1.0
    return dot / np.sqrt(rr * gg) if rr > 0 and gg > 0 else 0.0


def _input_quantization(model, trace: list[TracedNode], x: np.ndarray) -> dict:
    """input name -> [(the input, what the INT8 model's first cast made of it)]: the error every INT8
    graph starts with, the baseline for the nodes that read the input."""
    names = [spec.name for spec in model.inputs]
    produced = {t.name for node in trace for t in node.outputs}
    found = {}
    for node in trace:
        if node.type != CAST or not node.inputs or node.inputs[0] in produced or node.outputs[0].data is None:
            continue
        # Lite renames what it feeds a subgraph ("CpuFP32SubGraph0_0_duplicate_x" for input x)
        hit = [n for n in names if node.inputs[0] == n or node.inputs[0].endswith(f"_{n}")]
        if len(hit) == 1 and len(names) == 1 and node.outputs[0].data.size == x.size:
            found[hit[0]] = [(x.reshape(-1), node.outputs[0].real().reshape(-1))]
    return found


def _inputs_of(model, arrays: list[np.ndarray]) -> list[np.ndarray]:
    from converters.lite.replay import fit_input

    return [fit_input(a, spec.shape, spec.dtype) for a, spec in zip(arrays, model.inputs)]


def run_variants_in_child(params: dict, state: JobState) -> dict:
    """Inside the child: params {"models": {key: path}, "inputs": npz of x (N, ...), "out": npz path,
    "trace": [fp32 key, int8 key, how many inputs] or None}. Saves each variant's outputs as
    "<key>/<k>"; returns per-variant median latency (ms, 1 thread) and the per-node error table."""
    from converters.lite.model import LiteModel

    with np.load(params["inputs"]) as saved:
        x = saved["x"]
    outputs, latency = {}, {}
    models = params["models"]
    for v, (key, path) in enumerate(models.items()):
        state.check()
        state.set_progress(v / (len(models) + 1), f"running {Path(path).name}")
        model = LiteModel(path, threads=1)
        try:
            per_sample, spent = [], []
            for _ in range(WARM_UP):  # first runs pay for allocation and caches, not for the kernels
                model.predict(_inputs_of(model, [x[:1]]))
            for i in range(len(x)):
                arrays = _inputs_of(model, [x[i:i + 1]])
                started = time.perf_counter()
                per_sample.append(model.predict(arrays))
                spent.append(time.perf_counter() - started)
            for k in range(len(per_sample[0])):
                outputs[f"{key}/{k}"] = np.concatenate([s[k].reshape(1, -1) for s in per_sample])
            latency[key] = 1000 * float(np.median(spent))  # the median: robust to a busy machine
        finally:
            model.close()
    np.savez(params["out"], **outputs)
    table = _trace_errors(models, x, *params["trace"], state) if params.get("trace") else None
    return {"latency_ms": latency, "nodes": table}


def _trace_errors(models: dict, x: np.ndarray, fp32_key: str, int8_key: str, count: int, state: JobState) -> list:
    """Per matched node (FP32 execution order): type, input nodes and the pooled error stats."""
    from converters.lite.model import LiteModel

    fp32, int8 = LiteModel(models[fp32_key], threads=1), LiteModel(models[int8_key], threads=1)
    stats: dict[str, list[ErrorStats]] = {}
    try:
        for i in range(min(count, len(x))):
            state.check()
            traces = []
            for model in (fp32, int8):
                model.predict(_inputs_of(model, [x[i:i + 1]]))
                traces.append(model.trace())
            found = matched_values(*traces)
            found.update(_input_quantization(int8, traces[1], x[i:i + 1]))
            for name, pairs in found.items():
                per_output = stats.setdefault(name, [ErrorStats() for _ in pairs])
                for s, (ref, got) in zip(per_output, pairs):
                    s.add(ref, got)
        # per-kernel time of each model (Lite's kernel callbacks, a few runs on the last input)
        times = [{op.name: op.avg_ms for op in model.profile(runs=PROFILE_RUNS).ops} for model in (fp32, int8)]
        inputs = [{"name": n, "type": "input", "inputs": [], "int8": True, "outputs": [stats[n][0].to_json()]}
                  for n in (spec.name for spec in int8.inputs) if n in stats]
        producers = {t.name: n.name for n in traces[0] for t in n.outputs}
        for n in traces[0]:  # the graph input, under Lite's subgraph copy name
            producers.update({t: i["name"] for t in n.inputs for i in inputs
                              if t not in producers and (t == i["name"] or t.endswith(f"_{i['name']}"))})
        quantized = {n.name for n in traces[1] if any(t.data is not None and t.data.dtype in (np.int8, np.uint8)
                                                        for t in n.outputs)}
        return inputs + [{"name": n.name, "type": n.type, "inputs": [producers[t] for t in n.inputs if t in producers],
                 "int8": n.name in quantized, "outputs": [s.to_json() for s in stats[n.name]],
                 "fp32_ms": round(times[0].get(n.name, 0.0), 4), "int8_ms": round(_int8_time(n.name, times[1]), 4)}
                for n in traces[0] if n.name in stats]
    finally:
        fp32.close()
        int8.close()

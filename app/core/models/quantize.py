"""quant-debug: where INT8 hurts and what keeping layers in float buys.

1. Convert the source model to FP32 and INT8 .ms (calibrated on real data), run both on the same inputs
   with every kernel's output kept (quant_trace, in a Lite child), and rank the nodes by the error each
   adds: its SNR against FP32 minus the worst SNR of the nodes feeding it.
2. Sensitivity: for the top-K candidates, re-quantize with that one node kept in float
   (QuantConfig.skip_nodes → Lite's skip_quant_node) and measure the task metric.
3. Search: add float nodes in order of measured gain until the metric is within `target` points of FP32.

The task metric is on a 0–100 scale. A model with a model description (app/core/description.py) is judged by
its task on its representative data, through its own decoder: top-1 % against the labels, or agreement with
FP32 (boxes, mask IoU, keypoint PCK); only the outputs that matter count, the auxiliary ones are reported
beside. Without one: top-1 % on the validation data when it has labels, else the outputs' cosine to FP32 ×
100 (the lowest over outputs of the mean per-sample cosine), labelled as such.

The search picks nodes on one half of the held-out data and keeps its result only when the task metric also
improves on the other half; a node whose SNR is already ≥ 35 dB is never ranked above one that is not.
"""
from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.description import ModelDescription
from app.core.models import task_check
from app.core.models.evaluate import cosine
from converters.lite.calibration import range_warning
from jobs.state import JobState

# kernels that only move values: the error they show is their input's quantization, which the next
# kernel repeats, so keeping one in float buys nothing (measured: digits' input Transpose)
LAYOUT_ONLY = {"Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "ExpandDims", "QuantDTypeCast", "input"}
TRACE_INPUTS = 8  # inputs whose every kernel output is compared (per-node stats are pooled over them)
EVAL_LIMIT = 400  # evaluation inputs for the task metric
# a node whose output keeps ≥ 35 dB SNR against FP32 (cosine ≈ 0.9998) is not where INT8 hurts, however many
# dB it "adds" over a near-perfect input (measured: a 38.7 dB node ranked first on MediaPipe's hand landmarks)
HARMLESS_DB = 35.0


@dataclass
class QuantData:
    """What quant-debug runs on: calibration samples, evaluation inputs (+ labels), the model's range."""

    calibration: np.ndarray  # (N, *input shape without batch … with batch 1 per sample) stacked samples
    evaluation: np.ndarray  # (M, ...) one sample per row, batch axis 1 per row
    labels: np.ndarray | None
    source: str  # where the data came from, for the report
    value_range: tuple[float, float] | None = None  # what the model's preprocessing produces
    # extra task numbers for a variant: (its outputs, FP32's outputs) -> {name: value}, e.g. faces found
    task: Callable[[list[np.ndarray], list[np.ndarray]], dict] | None = None
    description: ModelDescription | None = None  # the model's: its task metric, decoder, outputs that matter
    model: Path | None = None  # the source file the description's decoder reads
    confirm: np.ndarray | None = None  # held-out inputs the search's result must also improve on (+ labels)
    confirm_labels: np.ndarray | None = None


@dataclass
class Variant:
    name: str  # fp32, int8, int8+float[a,b]
    path: str
    size_bytes: int
    float_nodes: list[str] = field(default_factory=list)
    metric: float = 0.0
    cosine: float = 0.0
    latency_ms: float = 0.0
    task: dict = field(default_factory=dict)  # QuantData.task's numbers (the face detector: faces found)
    outputs: list[dict] = field(default_factory=list)  # per output: name, role (main/auxiliary), cosine to FP32

    def to_json(self) -> dict:
        return {"name": self.name, "path": self.path, "size_bytes": self.size_bytes, "float_nodes": self.float_nodes,
                "metric": round(self.metric, 3), "cosine": round(self.cosine, 6), "latency_ms": round(self.latency_ms, 3),
                "task": self.task, "outputs": self.outputs}


@dataclass
class QuantReport:
    model: str
    metric_name: str  # "top-1 %" or "cosine × 100"
    data: str
    calibration: dict  # samples, method, range, warning
    nodes: list[dict]  # per matched node: name, type, inputs, cosine, snr_db, rel_mse, added_db, rank
    variants: list[Variant]
    sensitivity: list[dict]  # per top-K candidate: node, metric, gain
    search: dict | None
    seconds: float = 0.0
    constraints: dict = field(default_factory=dict)  # pick_variants' limits (max_latency_ms, max_size_kib, min_metric)

    tolerance: float = 1.0  # metric points a device variant may lose against FP32 when no limit says otherwise

    def picks(self, **constraints) -> dict:
        return pick_variants(self.variants, tolerance=self.tolerance, **constraints)

    def worst(self, k: int = 3) -> list[str]:
        return [n["name"] for n in sorted(self.nodes, key=lambda n: n["rank"])[:k]]

    def to_json(self) -> dict:
        return {"model": self.model, "metric": self.metric_name, "data": self.data, "calibration": self.calibration,
                "worst_nodes": self.worst(), "nodes": self.nodes, "variants": [v.to_json() for v in self.variants],
                "sensitivity": self.sensitivity, "search": self.search, "seconds": round(self.seconds, 1),
                "pareto": [self.variants[i].name for i in pareto([(v.latency_ms, v.metric) for v in self.variants])],
                "picks": self.picks(**self.constraints)}


def pareto(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the (latency, metric) points no other point beats on both (lower latency, higher
    metric), in order of latency: the front of the trade-off chart."""
    keep = [i for i, (lat, met) in enumerate(points)
            if not any(l2 <= lat and m2 >= met and (l2 < lat or m2 > met) for l2, m2 in points)]
    return sorted(keep, key=lambda i: points[i][0])


TIER_OF = {"fp32": "edge"}  # every other variant (FP16, INT8, mixed) is a device-tier artifact


def pick_variants(variants: list[Variant], max_latency_ms: float | None = None, max_size_kib: float | None = None,
                  min_metric: float | None = None, tolerance: float = 1.0) -> dict:
    """Per tier, the variant the user's limits choose: among those within every limit, the edge tier
    takes the most accurate, the device tier the smallest file (ties: the more accurate). Says why, or
    which limit ruled every variant out. Without a metric limit the device tier still honours accuracy:
    only variants within `tolerance` points of FP32 count (the smallest file is no pick if it fails the task)."""
    fp32 = next((v for v in variants if v.name == "fp32"), None)
    if min_metric is None and fp32 is not None:
        min_metric = fp32.metric - tolerance
    def misses(v: Variant) -> list[str]:
        out = []
        if max_latency_ms is not None and v.latency_ms > max_latency_ms:
            out.append(f"latency {v.latency_ms:.2f} > {max_latency_ms:g} ms")
        if max_size_kib is not None and v.size_bytes / 1024 > max_size_kib:
            out.append(f"size {v.size_bytes / 1024:.0f} > {max_size_kib:g} KiB")
        if min_metric is not None and v.metric < min_metric:
            out.append(f"metric {v.metric:.2f} < {min_metric:g}")
        return out

    picks = {}
    for tier in ("edge", "device"):
        members = [v for v in variants if TIER_OF.get(v.name, "device") == tier]
        fitting = [v for v in members if not misses(v)]
        if not fitting:
            picks[tier] = {"variant": None, "why": "; ".join(f"{v.name}: {', '.join(misses(v))}" for v in members)}
            continue
        best = max(fitting, key=lambda v: v.metric) if tier == "edge" else \
            min(fitting, key=lambda v: (v.size_bytes, -v.metric))
        rule = "the most accurate" if tier == "edge" else "the smallest file"
        picks[tier] = {"variant": best.name, "why": f"{rule} of {len(fitting)} within the limits: "
                       f"{best.size_bytes / 1024:.0f} KiB, metric {best.metric:.2f}, {best.latency_ms:.2f} ms"}
    return picks


def _metric(outputs: list[np.ndarray], reference: list[np.ndarray], labels: np.ndarray | None) -> tuple[float, float]:
    """(task metric 0–100, cosine to FP32: lowest over outputs of the mean per-sample cosine)."""
    cos = min(cosine(o, r) for o, r in zip(outputs, reference))
    if labels is not None:
        return 100.0 * float((outputs[0].argmax(-1) == labels).mean()), cos
    return 100.0 * cos, cos


def _measure(data: QuantData, outputs: list[np.ndarray], reference: list[np.ndarray],
             labels: np.ndarray | None) -> tuple[float, float, list[dict]]:
    """(task metric 0–100, cosine of the outputs that matter, per-output figures). With a description: its
    task through its decoder; without: _metric over every output."""
    description = data.description
    if description is None or not description.outputs:
        metric, cos = _metric(outputs, reference, labels)
        return metric, cos, [{"name": f"output {k}", "role": "main", "cosine": round(cosine(o, r), 6)}
                             for k, (o, r) in enumerate(zip(outputs, reference))]
    shaped_ref, shaped = _shaped(description, reference), _shaped(description, outputs)
    figures = task_check.per_output(description, shaped_ref, shaped)
    main = [f.cosine for f in figures if f.role == "main"] or [f.cosine for f in figures]
    check = task_check.check(description, data.model, shaped_ref, shaped, labels, data.source)
    return check.value, min(main), [f.model_dump() for f in figures]


def _shaped(description: ModelDescription, outputs: list[np.ndarray]) -> list[np.ndarray]:
    """Lite's flattened per-sample outputs as the source's output shapes (matched by size: Lite may reorder)."""
    n = len(outputs[0])
    free, shaped = list(range(len(outputs))), []
    for facts in description.outputs:
        dims = [d or 1 for d in (facts.shape or [])]
        size = int(np.prod(dims[1:])) if dims else 0
        j = next((j for j in free if outputs[j][0].size == size), free[0] if free else None)
        if j is None:
            break
        free.remove(j)
        shaped.append(outputs[j].reshape(n, *dims[1:]) if outputs[j][0].size == size else outputs[j])
    return shaped


class _Session:
    """The FP32/INT8 conversions and Lite runs of one quant-debug call, in a temporary folder."""

    def __init__(self, src: Path, data: QuantData, method: str, work: Path, state: JobState | None) -> None:
        self.src, self.data, self.method, self.work, self.state = src, data, method, work, state
        self.input_format = "NCHW" if src.suffix.lower() == ".onnx" else None  # keep the source's layout
        self.inputs = work / "inputs.npz"
        np.savez(self.inputs, x=data.evaluation)
        self.reference: list[np.ndarray] = []

    def convert(self, name: str, float_nodes: list[str] | None, fp16: bool = False) -> Variant:
        """float_nodes None: no quantization (FP32, or FP16 weights); [] INT8; else INT8 with those in float."""
        from converters.lite import QuantConfig, convert

        quant = None if float_nodes is None else QuantConfig(self.data.calibration, method=self.method,
                                                              skip_nodes=tuple(float_nodes))
        path = self.work / f"{len(list(self.work.glob('*.ms')))}.ms"
        result = convert(self.src, path, input_format=self.input_format, quant=quant, fp16_weights=fp16,
                         verify=False, state=self.state)
        return Variant(name, str(path), result.size_bytes, list(float_nodes or []))

    def run(self, variants: list[Variant], trace: bool = False, confirm: bool = False) -> list[dict] | None:
        """Outputs, metric, cosine and latency of each variant (in one Lite child); the per-node
        table of variants[1] against variants[0] when `trace`. confirm: on the confirmation inputs."""
        from jobs.child import run_child

        out = self.work / "outputs.npz"
        keys = {str(i): v.path for i, v in enumerate(variants)}
        inputs, labels = self.inputs, self.data.labels
        if confirm:
            inputs, labels = self.work / "confirm.npz", self.data.confirm_labels
            np.savez(inputs, x=self.data.confirm)
        answer = run_child("app.core.models.quant_trace:run_variants_in_child",
                           {"models": keys, "inputs": str(inputs), "out": str(out),
                            "trace": ["0", "1", TRACE_INPUTS] if trace else None}, self.state)
        with np.load(out) as saved:
            for i, v in enumerate(variants):
                outputs = [saved[k] for k in sorted((k for k in saved.files if k.split("/")[0] == str(i)),
                                                    key=lambda k: int(k.split("/")[1]))]
                if v.name == "fp32":
                    self.reference = outputs
                v.metric, v.cosine, v.outputs = _measure(self.data, outputs, self.reference, labels)
                if self.data.task is not None:
                    v.task = self.data.task(outputs, self.reference)
                v.latency_ms = answer["latency_ms"][str(i)]
        return answer["nodes"]


def rank_nodes(nodes: list[dict]) -> list[dict]:
    """Adds `added_db` (the SNR this node loses against the worst of its inputs) and `rank` (1 = the node
    that adds the most error) to each node. The graph input's own row holds what INT8's first cast does to
    it, so the first layers are not blamed for the input's quantization."""
    snr = {n["name"]: min(o["snr_db"] for o in n["outputs"]) for n in nodes}
    for n in nodes:
        before = min((snr[i] for i in n["inputs"] if i in snr), default=100.0)
        n["snr_db"], n["cosine"] = snr[n["name"]], min(o["cosine"] for o in n["outputs"])
        # the input's row: its own SNR is what INT8's first cast costs; it adds nothing to itself
        n["added_db"] = 0.0 if n["type"] == "input" else round(max(0.0, before - snr[n["name"]]), 2)
    key = lambda n: (not is_candidate(n), n["snr_db"] >= HARMLESS_DB, -n["added_db"], n["snr_db"])  # noqa: E731
    for rank, n in enumerate(sorted(nodes, key=key), 1):
        n["rank"] = rank
    return nodes


def is_candidate(node: dict) -> bool:
    """A node worth keeping in float: it computes (not LAYOUT_ONLY) and Lite runs it in INT8."""
    return node["type"] not in LAYOUT_ONLY and node.get("int8", True)


def quant_debug(src: str | Path, data: QuantData, *, top_k: int = 3, target: float | None = 0.5,
                max_float: int = 5, method: str = "MAX_MIN", keep: Path | None = None,
                state: JobState | None = None) -> QuantReport:
    """The per-node INT8 error of `src` (a source model: ONNX, TFLite, …), the metric gained by keeping
    each of the top_k worst nodes in float, and (target given) the search for the fewest float nodes that
    bring the metric within `target` points of FP32. keep: a folder that receives every variant's .ms."""
    src = Path(src)
    started = time.perf_counter()
    warning = range_warning(data.calibration, data.value_range)
    with tempfile.TemporaryDirectory(prefix="edge-studio-quant-") as tmp:
        session = _Session(src, data, method, Path(tmp), state)
        _progress(state, 0.05, "converting FP32 and INT8")
        fp32, int8 = session.convert("fp32", None), session.convert("int8", [])
        fp16 = session.convert("fp16", None, fp16=True)
        _progress(state, 0.2, "tracing every kernel on both")
        # FP16 only in this run: Lite 2.0 cannot load an FP16 .ms in a process that closed one (runtimes.py)
        nodes = rank_nodes(session.run([fp32, int8, fp16], trace=True))
        candidates = [n["name"] for n in sorted(nodes, key=lambda n: n["rank"]) if is_candidate(n)]
        variants, sensitivity = [fp32, int8, fp16], []
        singles = []
        for k, name in enumerate(candidates[:top_k]):
            _progress(state, 0.3 + 0.3 * k / max(top_k, 1), f"keeping {name} in float")
            singles.append(session.convert(f"int8+float[{name}]", [name]))
        if singles:
            session.run([fp32, *singles])
            variants += singles
            sensitivity = [{"node": v.float_nodes[0], "metric": round(v.metric, 3),
                            "gain": round(v.metric - int8.metric, 3), "cosine": round(v.cosine, 6)} for v in singles]
        search = _search(session, fp32, int8, singles, candidates, target, max_float, variants, state) \
            if target is not None else None
        if keep is not None:
            _keep(variants, keep)
    _progress(state, 1.0, "done")
    metric_name = ("top-1 %" if data.labels is not None else
                   f"{data.description.task.metric} vs FP32, %" if data.description is not None and
                   data.description.outputs else "cosine × 100 (no model description: raw outputs)")
    report = QuantReport(str(src), metric_name, data.source,
                       {"samples": len(data.calibration), "method": method,
                        "range": [float(data.calibration.min()), float(data.calibration.max())],
                        "model_range": list(data.value_range) if data.value_range else None, "warning": warning},
                       nodes, variants, sensitivity, search, time.perf_counter() - started)
    if data.description is not None:
        report.tolerance = data.description.allowed_loss
    return report


def _search(session: _Session, fp32: Variant, int8: Variant, singles: list[Variant], candidates: list[str],
            target: float, max_float: int, variants: list[Variant], state: JobState | None) -> dict:
    """Greedy forward selection: start from the best single float node, then try the next candidates (by
    measured gain, then by the error ranking) one at a time, keeping a node only when it raises the metric;
    stop at the first set within `target` points of FP32, or after `max_float` tries."""
    goal = fp32.metric - target
    best = max([int8, *(v for v in singles if max_float >= 1)], key=lambda v: v.metric)
    measured = [v.float_nodes[0] for v in sorted(singles, key=lambda v: -v.metric) if v.metric > int8.metric]
    order = [c for c in measured + candidates if c not in best.float_nodes]
    order = list(dict.fromkeys(order))  # each node once, first place kept
    tried = 0
    for name in order:
        # max_float bounds the nodes kept in float (not the tries); tries are bounded too
        if best.metric >= goal or len(best.float_nodes) >= max_float or tried >= 2 * max_float:
            break
        tried += 1
        nodes = [*best.float_nodes, name]
        _progress(state, 0.6 + 0.3 * tried / (2 * max_float), f"trying {len(nodes)} nodes in float")
        variant = session.convert(f"int8+float[{','.join(nodes)}]", nodes)
        session.run([fp32, variant])
        variants.append(variant)
        if variant.metric > best.metric:
            best = variant
    result = {"target": round(goal, 3), "reached": best.metric >= goal, "float_nodes": best.float_nodes,
              "metric": round(best.metric, 3), "gap": round(fp32.metric - best.metric, 3), "tried": tried}
    if best is not int8 and session.data.confirm is not None and len(session.data.confirm):
        # chosen on the search half: kept only if the task also improves on inputs the search never saw
        _progress(state, 0.95, "checking the result on held-out inputs")
        fresh = [Variant(v.name, v.path, v.size_bytes, v.float_nodes) for v in (fp32, int8, best)]
        session.run(fresh, confirm=True)
        confirmed = fresh[2].metric > fresh[1].metric
        result["held_out"] = {"fp32": round(fresh[0].metric, 3), "int8": round(fresh[1].metric, 3),
                              "recommended": round(fresh[2].metric, 3), "confirmed": confirmed}
        if not confirmed:
            result.update(float_nodes=[], reached=False, note=(
                f"nothing improves the task on held-out inputs: {'+'.join(best.float_nodes)} scored "
                f"{fresh[2].metric:.2f} vs plain INT8 {fresh[1].metric:.2f} there"))
    return result


def calibration_sweep(src: str | Path, data: QuantData, methods: tuple[str, ...] = ("MAX_MIN", "KL"),
                      sizes: tuple[int, ...] = (10, 50, 100, 300), state: JobState | None = None) -> list[dict]:
    """INT8 metric and cosine per calibration method × calibration-set size (evenly spread subsets of
    data.calibration; a size beyond what the data holds is left out)."""
    sizes = tuple(n for n in sizes if n <= len(data.calibration))
    if not sizes:
        raise ValueError(f"the calibration data holds {len(data.calibration)} samples, fewer than every size asked")
    rows = []
    with tempfile.TemporaryDirectory(prefix="edge-studio-sweep-") as tmp:
        session = _Session(Path(src), data, methods[0], Path(tmp), state)
        fp32 = session.convert("fp32", None)
        variants = []
        for i, (method, size) in enumerate((m, n) for m in methods for n in sizes):
            _progress(state, 0.05 + 0.8 * i / (len(methods) * len(sizes)), f"INT8, {method}, {size} samples")
            picks = np.linspace(0, len(data.calibration) - 1, size).astype(int)
            session.method, session.data = method, QuantData(data.calibration[picks], data.evaluation,
                                                             data.labels, data.source, data.value_range)
            variants.append((method, size, session.convert(f"int8 {method} {size}", [])))
        session.run([fp32, *(v for _, _, v in variants)])
        for method, size, v in variants:
            rows.append({"method": method, "samples": size, "metric": round(v.metric, 3), "cosine": round(v.cosine, 6),
                         "fp32_metric": round(fp32.metric, 3)})
    return rows


def _keep(variants: list[Variant], folder: Path) -> None:
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    for v in variants:
        name = v.name.replace("+float[", "_float_").replace("]", "").replace(",", "_").replace("/", "_")[:120]
        target = folder / f"{name}.ms"
        shutil.copyfile(v.path, target)
        v.path = str(target)


def _progress(state: JobState | None, fraction: float, status: str) -> None:
    if state is not None:
        state.check()
        state.set_progress(fraction, status)


# -- where the data comes from ----------------------------------------------------------------------
def data_for(model: Path, calib: str | None = None, data: str | None = None, samples: int = 100) -> QuantData:
    """Calibration from --calib, else from the model's training data (its metrics.json's dataset, or
    --data); evaluation on the dataset's validation split (with labels) or held-out calibration files.
    Never random: a model with neither is refused. A model with a description (description.json) reads
    its data the way every other stage does (described_data)."""
    from app.core.description import find_description, load_description_for
    from app.core.models.evaluate import find_preprocess, validation_inputs

    if find_description(model) is not None:
        description = load_description_for(model)
        if data or description.data or calib:
            return described_data(model, description, calib, data, samples)
    spec = find_preprocess(model)
    dataset = data or _training_data(model)
    value_range = spec.value_range() if spec else None
    if dataset:
        from app.core.models.datasets import load_dataset_for

        loaded = load_dataset_for(dataset, spec)
        train, _ = loaded.split(0.2, 0)
        x_val, y_val = validation_inputs(loaded, spec)
        if calib:
            cal = _folder(model, calib, x_val.shape[1:], samples)
        else:
            picks = train[np.linspace(0, len(train) - 1, min(samples, len(train))).astype(int)]
            cal = loaded.inputs(picks)  # spread over the whole training split: every class
        return QuantData(cal, x_val[:EVAL_LIMIT], y_val[:EVAL_LIMIT], f"{dataset}: calibrated on the training split, measured on the validation split",
                         value_range or loaded.preprocess.value_range())
    if not calib:
        raise ValueError(f"{model.name}: no dataset is known for it: give --calib DIR (real inputs, .npy or "
                         "images) or --data")
    shape = spec.input_shape if spec else _source_shape(model)
    arrays = _folder(model, calib, shape[1:], samples * 2)
    half = max(1, len(arrays) // 2)
    return QuantData(arrays[:half], arrays[half:] if len(arrays) > 1 else arrays, None, f"{calib}: calibrated on half, measured on the other half",
                     value_range)


def _source_shape(model: Path) -> tuple[int, ...]:
    from converters.formats import source_format
    from converters.lite.convert import source_inputs
    from converters.lite.errors import LiteError

    try:
        inputs = source_inputs(model, source_format(model, None).name)
    except (LiteError, ValueError) as exc:  # an unreadable model, an unknown suffix: the message names the file
        raise ValueError(str(exc)) from None
    if len(inputs) != 1 or any(d <= 0 for d in inputs[0][1]):
        raise ValueError(f"{model.name}: quant-debug takes one input of fixed shape, not {inputs}")
    return tuple(inputs[0][1])


def _folder(model: Path, folder: str, shape, limit: int) -> np.ndarray:
    from converters.lite import calibration

    try:
        return np.concatenate(calibration.collect(folder, (1, *shape), limit=limit))
    except calibration.CalibrationError as exc:
        raise ValueError(f"{model.name}: {exc}") from None


def _training_data(model: Path) -> str | None:
    """The dataset the model was trained on, as its metrics.json names it."""
    from app.core.preprocess import find_sidecar

    found = find_sidecar(model, "metrics.json")
    if not found:
        return None
    try:
        return json.loads(Path(found).read_text()).get("dataset_source") or None
    except (OSError, ValueError):
        return None


def face_data(frames: int = 40) -> QuantData:
    """The face detector's data: synthetic face frames prepared like the live pipeline does (the
    calibration of the face-int8 sample); even frames calibrate, odd ones evaluate."""
    from app.core.live.postprocess import face_spec
    from app.core.live.sources import SyntheticSource

    spec, source = face_spec("face"), SyntheticSource(scene="face")
    x = np.concatenate([spec.prepare(source.render(i * 7)[0])[0] for i in range(frames)])
    return QuantData(x[0::2], x[1::2], None, "synthetic face frames: calibrated on 20, measured on 20 others",
                     spec.preprocess.value_range(), task=_faces_found(spec.options))


def _faces_found(options: dict) -> Callable[[list[np.ndarray], list[np.ndarray]], dict]:
    """The face detector's task numbers: in how many frames the variant's best face (highest score, ≥ the
    decoder's threshold) is FP32's best face (IoU ≥ 0.5), and its mean best score (FP32's alongside)."""
    from app.core.live.postprocess import decode_boxes, ssd_anchors

    anchors, dec = ssd_anchors(options["anchors"]), options["decoder"]
    threshold = dec.get("min_score_thresh", 0.5)

    def best(outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        by_width = {o.shape[1] // len(anchors): o for o in outputs}  # outputs arrive as (frames, flattened)
        logits = np.clip(by_width[dec["num_classes"]].astype(np.float64), -100, 100)
        scores = 1 / (1 + np.exp(-logits))
        top = scores.argmax(1)
        boxes = np.stack([decode_boxes(raw, anchors, dec)[0][k] for raw, k in zip(by_width[dec["num_coords"]], top)])
        return scores.max(1), boxes

    def found(outputs: list[np.ndarray], reference: list[np.ndarray]) -> dict:
        (score, box), (ref_score, ref_box) = best(outputs), best(reference)
        low = np.maximum(box[:, :2], ref_box[:, :2])
        high = np.minimum(box[:, 2:], ref_box[:, 2:])
        inter = np.prod(np.clip(high - low, 0, None), 1)
        union = np.prod(box[:, 2:] - box[:, :2], 1) + np.prod(ref_box[:, 2:] - ref_box[:, :2], 1) - inter
        same = (score >= threshold) & (ref_score >= threshold) & (inter / np.maximum(union, 1e-9) >= 0.5)
        return {"faces_found_pct": round(100.0 * float(same.sum()) / max(int((ref_score >= threshold).sum()), 1), 1),
                "best_score": round(float(score.mean()), 4), "fp32_best_score": round(float(ref_score.mean()), 4)}

    return found


def described_data(model: Path, description: ModelDescription, calib: str | None = None, data: str | None = None,
                   samples: int = 100) -> QuantData:
    """A described model's data: calibration from the training part of its representative data (or --calib),
    the held-out part split in two: the search measures on one half and must improve on the other too."""
    from app.core.models.representative import calibration_inputs
    from app.core.models.representative import samples as representative_samples

    held_out = representative_samples(description, "held-out", data)
    calibration = calibration_inputs(description, calib or data, samples)
    if isinstance(calibration, str):
        calibration = _folder(model, calibration, tuple(description.inputs[0].shape[1:]), samples)
    half = len(held_out.x) // 2 if len(held_out.x) >= 4 else len(held_out.x)
    labels = held_out.labels
    return QuantData(calibration, held_out.x[:half][:EVAL_LIMIT], None if labels is None else labels[:half][:EVAL_LIMIT],
                     f"{held_out.origin}: calibrated on its training part, searched on {half}, "
                     f"checked on {len(held_out.x) - half} others",
                     description.preprocess_spec().value_range(), description=description, model=model,
                     confirm=held_out.x[half:][:EVAL_LIMIT] if half < len(held_out.x) else None,
                     confirm_labels=None if labels is None else labels[half:][:EVAL_LIMIT])


def resolve_source(model: str) -> tuple[Path, QuantData | None]:
    """A model path or library folder, or a sample name ("digits", "face") → (source file, its data when the
    sample has it, or when the model's description names representative data)."""
    from app.core.description import find_description, load_description_for
    from sample_models import DIGITS_ONNX

    from app.core.models.library import model_argument

    if model in ("digits", "digits-int8"):
        return DIGITS_ONNX, None
    path = model_argument(model)
    if (path.is_dir() or path.is_file()) and find_description(path) is not None:
        description = load_description_for(path)
        source = description.model_path(path) if path.is_dir() else path
        description.require_fixed("quant-debug")
        return source, described_data(source, description) if description.data else None
    if model in ("face", "face-int8"):
        from sample_models.face_detection import ensure_face_detector

        return ensure_face_detector(), face_data()
    path = Path(model)
    if not path.is_file():
        raise ValueError(f"{model}: not a file or a sample name (digits, face)")
    if path.suffix.lower() in (".ms",):
        raise ValueError(f"{path.name}: quant-debug needs the source model (.onnx, .tflite, …), not a converted .ms")
    return path, None

"""compare(): cloud → edge → device, measured on this machine from one deployment package.

Every target of converters/targets.py that the package holds is timed with profiler.bench over a
precision × threads grid: targets meant for all cores are also tried on one, one-core (device)
targets stay on one. The cloud tier is its MindSpore server, started on the package's cloud/ folder
for the length of its run (so it does not compete with the Lite runs for the cores). Each Lite
variant is timed in a child process of its own (profiler.bench_job): its peak memory is its own, a crash cannot
take the caller down, and Lite 2.0 cannot load an FP16-weight .ms again in a process that has
already freed one ("PrepareKernels: node … prepare failed"), which a long-lived process (the GUI,
after deploy's evaluation) has usually done. Top-1 comes
from the package's metrics.json (deploy's evaluation). Per tier, the fastest variant by median
latency is picked, with a sentence saying why.
"""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from app.core.files import read_json
from app.core.measure.profiler import BenchResult, bench
from converters.targets import TARGETS, TIERS, Target
from jobs.child import ChildError, run_child
from jobs.state import JobState

TIE = 0.05  # a runner-up within 5 % of the pick is a tie within measurement noise


class CompareResult(BaseModel):
    """What compare() returns, validated once where it comes back from its child process."""

    model_config = ConfigDict(extra="allow")
    package: str
    machine: dict
    variants: list[dict]
    picks: dict[str, dict]
    notes: list[str] = []


class CompareError(ValueError):
    pass


@dataclass(frozen=True)
class Variant:
    target: Target
    threads: int
    path: Path

    @property
    def id(self) -> str:
        return self.target.name if self.target.runtime == "mindspore" else f"{self.target.name}@{self.threads}t"

    @property
    def label(self) -> str:
        if self.target.runtime == "mindspore":
            return f"{self.target.name} (MindSpore over HTTP)"
        return f"{self.target.name} {self.path.name}, {self.threads} thread{'s' if self.threads > 1 else ''}"


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "arch": platform.machine(), "cores": os.cpu_count() or 1, "os": platform.platform()}


def variants(pkg: Path, cores: int) -> tuple[list[Variant], list[str]]:
    """The precision × threads grid over the package's files; missing files are listed, not fatal."""
    found, missing = [], []
    for target in TARGETS:
        if why_not := target.why_unavailable():
            if target.available:  # offered in general, not in this build: say so
                missing.append(f"{target.name}: {why_not}")
            continue
        path = pkg / target.tier / target.file
        if not path.is_file():
            missing.append(f"{target.name}: no {target.tier}/{target.file} in the package")
            continue
        if target.runtime == "mindspore":
            found.append(Variant(target, 0, path))
            continue
        grid = sorted({1, cores}) if target.threads == 0 else [target.threads]
        found += [Variant(target, threads, path) for threads in grid]
    return found, missing


def _metrics(pkg: Path, target: Target) -> dict:
    """deploy's evaluation of this target: top1, size_vs_fp32_ms, cosine_vs_fp32…"""
    metrics = pkg / target.tier / "metrics.json"
    return read_json(metrics).get("targets", {}).get(target.name, {}) if metrics.is_file() else {}


def _row(variant: Variant, result: BenchResult, metrics: dict) -> dict:
    data = result.to_json()
    data.pop("per_op"), data.pop("per_op_type")
    return {"id": variant.id, "label": variant.label, "tier": variant.target.tier, "target": variant.target.name,
            "precision": variant.target.precision, "file": f"{variant.target.tier}/{variant.path.name}",
            **data, "threads": variant.threads, "top1": metrics.get("top1"),
            "size_vs_fp32_ms": metrics.get("size_vs_fp32_ms"),
            "quantiles_ms": [float(q) for q in np.percentile(result.samples_ms, np.arange(101))]}


def compare(pkg_dir: str | Path, *, min_seconds: float = 1.0, min_runs: int = 10, warmup: int = 3,
            wan_delay_ms: float = 0.0, per_op_runs: int = 20, tiers: tuple[str, ...] = TIERS,
            cloud_scale: tuple[int, ...] = (), cloud_scale_requests: int = 200,
            state: JobState | None = None) -> dict:
    """cloud_scale: replica counts to serve the cloud tier with on Ray Serve (e.g. (1, 2)); each is
    timed at 1, 2, 4 and 8 concurrent clients and reported under "cloud_scale"."""
    pkg = Path(pkg_dir)
    if not pkg.is_dir():
        raise CompareError(f"{pkg}: not a deployment package folder (make one with `edge-studio deploy`)")
    state = state or JobState()
    info = machine()
    grid, missing = variants(pkg, info["cores"])
    grid = [v for v in grid if v.target.tier in tiers]
    if not grid:
        raise CompareError(f"{pkg}: no model files of any tier ({', '.join(tiers)}) found")
    rows, results = [], {}
    for i, variant in enumerate(grid):
        state.check()
        state.set_progress(i / (len(grid) + 1), f"timing {variant.label}")
        result = _measure(variant, min_seconds, min_runs, warmup, wan_delay_ms, per_op_runs, state)
        results[variant.id] = (variant, result)
        rows.append(_row(variant, result, _metrics(pkg, variant.target)))
    picks = {tier: pick(tier, [r for r in rows if r["tier"] == tier], info) for tier in TIERS
             if any(r["tier"] == tier for r in rows)}
    per_op = {p["id"]: _per_op(*results[p["id"]]) for p in picks.values() if results[p["id"]][1].per_op}
    notes = [f"Cloud latency is the HTTP round trip on this machine (127.0.0.1) plus an EMULATED WAN delay of "
             f"{wan_delay_ms:g} ms slept client-side; it is not a real network measurement."] if wan_delay_ms else []
    if any(r["tier"] == "cloud" for r in rows):
        notes.append("Cloud: full MindSpore in its own server process on this machine, all cores; "
                     "latency is the client's round trip, the server's own inference time is server_p50_ms.")
    scale = None
    if cloud_scale and "cloud" in tiers:
        scale = _cloud_scale(pkg, cloud_scale, cloud_scale_requests, state)
        notes.append(f"Cloud on Ray Serve: {scale['where']}; {info['cores']} cores shared by the clients, the "
                     "driver and every replica, so more replicas than cores cannot add throughput here.")
    state.set_progress(1.0, "done")
    return {"package": str(pkg.resolve()), "machine": info, "emulated_wan_delay_ms": wan_delay_ms,
            "settings": {"min_seconds": min_seconds, "min_runs": min_runs, "warmup": warmup},
            "variants": rows, "picks": picks, "per_op": per_op, "skipped": missing, "notes": notes,
            **({"cloud_scale": scale} if scale else {})}


def _cloud_scale(pkg: Path, replicas: tuple[int, ...], requests: int, state: JobState) -> dict:
    from app.core.cloud.server import check_model_dir
    from app.core.measure.scale import scale_curve
    from app.core.preprocess import PreprocessSpec

    folder = check_model_dir(pkg / "cloud")
    shape = tuple(PreprocessSpec.load(folder / "preprocess.json").input_shape)
    inputs = np.random.default_rng(0).random((16, *shape[1:]), dtype=np.float32)  # throughput: any valid tensor
    state.set_progress(0.95, f"cloud on Ray Serve: {', '.join(map(str, replicas))} replica(s)")
    return scale_curve(folder, inputs, replicas=replicas, requests=requests)


def _measure(variant: Variant, min_seconds: float, min_runs: int, warmup: int, wan_delay_ms: float,
             per_op_runs: int, state: JobState) -> BenchResult:
    if variant.target.runtime == "lite":
        return _bench_in_child(variant, min_seconds, min_runs, warmup, per_op_runs, state)
    from app.core.cloud.client import CloudRuntime
    from app.core.cloud.server import start_server_process

    with start_server_process(variant.path.parent) as server, \
            CloudRuntime(server.url, server.token, wan_delay_ms=wan_delay_ms) as cloud:
        return bench(cloud, min_seconds=min_seconds, min_runs=min_runs, warmup=warmup)


def _bench_in_child(variant: Variant, min_seconds: float, min_runs: int, warmup: int, per_op_runs: int,
                    state: JobState) -> BenchResult:
    """profiler.bench with per-op times, in a child process of its own."""
    params = {"model": str(variant.path), "runtime": "lite", "threads": variant.threads, "min_seconds": min_seconds,
              "min_runs": min_runs, "warmup": warmup, "per_op": True, "per_op_runs": per_op_runs}
    try:
        answer = run_child("app.core.measure.profiler:bench_job", params, state,
                           timeout=max(300.0, 60 * min_seconds))
    except ChildError as exc:
        raise CompareError(f"timing {variant.label} failed: {str(exc).splitlines()[0]}") from None
    return BenchResult(**answer)


def _per_op(variant: Variant, result: BenchResult) -> dict:
    return {"label": variant.label, "by_type": result.per_op_type or {}, "ops": result.per_op or []}


# -- the pick -------------------------------------------------------------------------------------
def pick(tier: str, rows: list[dict], info: dict) -> dict:
    """The fastest variant of a tier by median latency, and a sentence saying why."""
    ranked = sorted(rows, key=lambda r: r["p50_ms"])
    best = ranked[0]
    why = [f"{best['label']} is the fastest {tier} variant measured: p50 {best['p50_ms']:.3f} ms "
           f"({best['throughput_per_s']:.0f}/s)"]
    if len(ranked) > 1:
        second = ranked[1]
        ratio = second["p50_ms"] / best["p50_ms"]
        why[0] += f", {ratio:.2f}× faster than {second['label']} ({second['p50_ms']:.3f} ms)"
        if ratio < 1 + TIE:
            why.append(f"The two are within {TIE:.0%}: a tie within measurement noise")
    else:
        why[0] += " (the only one)"
    why += [line for line in (_int8_note(best, ranked, info),) if line]
    return {"id": best["id"], "label": best["label"], "p50_ms": best["p50_ms"], "why": ". ".join(why) + "."}


def _int8_note(best: dict, ranked: list[dict], info: dict) -> str:
    int8 = [r for r in ranked if r["precision"] == "int8"]
    if not int8 or best["precision"] == "int8":
        return ""
    fastest = int8[0]
    slower = fastest["p50_ms"] / best["p50_ms"]
    ratio = fastest.get("size_vs_fp32_ms")
    size = f" at {ratio:.2f}× the size of the FP32 .ms" if ratio else ""
    return (f"INT8 is not picked: on this {info['arch']} CPU Lite 2.0's INT8 kernels ran {slower:.1f}× slower "
            f"than {best['precision'].upper()} ({fastest['p50_ms']:.3f} vs {best['p50_ms']:.3f} ms, "
            f"{fastest['threads']} thread{'s' if fastest['threads'] > 1 else ''}), a known weakness of its "
            f"x86 build. {Path(fastest['file']).name} remains the artifact for ARM devices{size}, where Lite's "
            f"INT8 kernels are its optimized path (not measured on this machine)")


def compare_job(params: dict, state: JobState) -> dict:
    return compare(params.pop("package"), state=state, **params)


def compare_in_child(package: str | Path, *, state: JobState | None = None, timeout: float = 1800,
                     **options) -> dict:
    """compare() in a child process, for callers (the GUI) that must not share the GIL with benchmarks."""
    try:
        answer = run_child("app.core.measure.compare:compare_job", {"package": str(Path(package).resolve()), **options},
                         state, timeout=timeout, grace=10)
    except ChildError as exc:
        raise CompareError(str(exc)) from None
    try:
        return CompareResult.model_validate(answer).model_dump(mode="json")
    except ValidationError as exc:
        raise CompareError(f"compare answered with an unexpected result: {exc.errors()[0]['msg']}") from None

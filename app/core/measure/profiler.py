"""bench(): latency percentiles, throughput, memory and load time of one runtime — Lite, onnxruntime,
the cloud tier, or anything with predict(x) and input_shape.

The timed loop is one perf_counter_ns pair, a list append and a comparison per call:
`measure_overhead()` measures what that adds over a bare predict loop (bench/peers.py reports it in
docs/benchmarks.md; the limit is 2 % of a call).
Peak memory comes from the kernel's high-water mark (VmHWM), reset before loading, so it covers
load + warm-up + timed runs of this model in this process; the cloud server reports its own.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.core.runtimes import IN_PROCESS, open_runtime, runtime_name

RUNTIME_ALIASES = {"ort": "onnxruntime", "onnxruntime": "onnxruntime", "lite": "lite", "cloud": "cloud"}


@dataclass
class BenchResult:
    runtime: str
    model: str
    threads: int  # 0: the runtime's default (all cores)
    runs: int
    warmup: int
    min_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    std_ms: float
    throughput_per_s: float  # single stream: runs / time spent in the timed loop
    load_ms: float | None
    size_bytes: int | None
    peak_rss_mb: float | None  # whole process (the server's for the cloud tier)
    rss_delta_mb: float | None  # peak minus the process before loading (in-process runtimes)
    samples_ms: list[float] = field(repr=False, default_factory=list)
    per_op: list[dict] | None = None  # Lite: per-operator average ms per run
    per_op_type: dict[str, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # cloud: server ms, emulated WAN delay…

    def to_json(self, samples: bool = False) -> dict:
        data = asdict(self)
        if not samples:
            data.pop("samples_ms")
        return data


# -- memory ---------------------------------------------------------------------------------------
def _status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0); False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# -- timing ---------------------------------------------------------------------------------------
def timed_loop(predict, x, min_seconds: float, min_runs: int, max_seconds: float) -> list[int]:
    """Per-call nanoseconds until both minimums are met (or max_seconds has passed)."""
    clock = time.perf_counter_ns
    times: list[int] = []
    append = times.append
    start = clock()
    min_ns, max_ns = int(min_seconds * 1e9), int(max_seconds * 1e9)
    while True:
        t0 = clock()
        predict(x)
        t1 = clock()
        append(t1 - t0)
        if (len(times) >= min_runs and t1 - start >= min_ns) or t1 - start >= max_ns:
            return times


def summarize(samples_ms: list[float]) -> dict:
    a = np.asarray(samples_ms, dtype=np.float64)
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    return {"min_ms": float(a.min()), "p50_ms": float(p50), "p90_ms": float(p90), "p99_ms": float(p99),
            "max_ms": float(a.max()), "mean_ms": float(a.mean()), "std_ms": float(a.std(ddof=1)) if len(a) > 1 else 0.0}


def example_input(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _open(target, runtime: str | None, threads: int):
    """A runtime object and the seconds it took to load; paths are opened here."""
    if not isinstance(target, (str, Path)):
        return target, None, False
    name = RUNTIME_ALIASES.get(runtime or "", runtime) or runtime_name(target)
    if name not in IN_PROCESS:
        raise ValueError(f"{Path(target).name}: bench opens lite or onnxruntime models in this process; "
                         "the cloud tier is benchmarked through its server (--runtime cloud)")
    started = time.perf_counter()
    opened = IN_PROCESS[name](target, threads) if runtime else open_runtime(target, threads)
    return opened, (time.perf_counter() - started) * 1000, True


def bench(target, threads: int = 0, min_seconds: float = 1.0, min_runs: int = 10, warmup: int = 3,
          x: np.ndarray | None = None, runtime: str | None = None, per_op: bool = False, per_op_runs: int = 20,
          per_op_seconds: float = 2.0, max_seconds: float | None = None, keep_samples: bool = True) -> BenchResult:
    """Time `target` (a model path, or an opened runtime) on one input, after `warmup` calls.

    per_op profiles up to per_op_runs runs, fewer when they would take over per_op_seconds."""
    reset = reset_peak_rss()
    before = _status_mb("VmRSS")
    opened, load_ms, owned = _open(target, runtime, threads)
    try:
        if x is None:
            x = example_input(tuple(opened.input_shape))
        for _ in range(warmup):
            opened.predict(x)
        times = timed_loop(opened.predict, x, min_seconds, min_runs, max_seconds or max(30.0, min_seconds * 5))
        samples = [t / 1e6 for t in times]
        mean_ms = sum(samples) / len(samples)
        ops = _per_op(opened, max(3, min(per_op_runs, int(per_op_seconds * 1000 / mean_ms)))) if per_op else None
        extra, peak, delta = _runtime_extra(opened, len(samples))
        if peak is None:
            peak = _status_mb("VmHWM")
            delta = peak - before if reset and peak is not None and before is not None else None
        path = getattr(getattr(opened, "model", None), "path", None) or (target if owned else None)
        size = Path(path).stat().st_size if path and Path(path).is_file() else extra.pop("size_bytes", None)
        return BenchResult(
            runtime=getattr(opened, "name", type(opened).__name__), model=str(path or extra.get("model", "")),
            threads=threads, runs=len(samples), warmup=warmup, **summarize(samples),
            throughput_per_s=len(samples) / (sum(samples) / 1000), load_ms=load_ms if load_ms is not None
            else extra.pop("load_ms", None), size_bytes=size, peak_rss_mb=peak, rss_delta_mb=delta,
            samples_ms=samples if keep_samples else [], per_op=ops[0] if ops else None,
            per_op_type=ops[1] if ops else None, extra=extra)
    finally:
        if owned:
            opened.close()


def _per_op(opened, runs: int):
    model = getattr(opened, "model", None)
    if model is None or not hasattr(model, "profile"):
        return None  # only Lite reports per-operator times
    profile = model.profile(runs)
    return [asdict(op) for op in profile.ops], profile.by_type()


def _runtime_extra(opened, runs: int) -> tuple[dict, float | None, float | None]:
    """The cloud runtime: the server's own numbers; the WAN delay is flagged as emulated."""
    if not hasattr(opened, "describe"):
        return {}, None, None
    health = opened.health()
    server_ms = list(opened.server_ms_log)[-runs:]
    extra = {**opened.describe(), "server_p50_ms": float(np.median(server_ms)) if server_ms else None,
             "load_ms": health.get("load_ms"), "size_bytes": health.get("size_bytes"),
             "server_pid": health.get("pid")}
    return extra, health.get("peak_rss_mb"), None


def _noop(x) -> None:
    return None


def _per_call_ns(loop, calls: int, rounds: int) -> float:
    per_call = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        loop()
        per_call.append((time.perf_counter_ns() - start) / calls)
    return statistics.median(per_call)


def measure_overhead(runtime, x: np.ndarray | None = None, rounds: int = 7, calls: int = 2000) -> dict:
    """What the timed loop adds to each predict call, as a share of one call of `runtime`.

    The added cost does not depend on what is called, so it is measured on a no-op (bare loop vs
    timed loop, 100k calls: stable to a few ns) and divided by the runtime's bare per-call time.
    A direct bare-vs-timed comparison on the runtime itself is reported too (`direct_pct`); on a
    busy machine its noise (several %) is far larger than the cost it tries to see."""
    x = example_input(tuple(runtime.input_shape)) if x is None else x
    predict = runtime.predict

    def bare(fn, n):
        def loop():
            for _ in range(n):
                fn(x)
        return loop

    null_calls = 100_000
    added_ns = (_per_call_ns(lambda: timed_loop(_noop, x, 0.0, null_calls, 1e9), null_calls, rounds)
                - _per_call_ns(bare(_noop, null_calls), null_calls, rounds))
    for _ in range(50):
        predict(x)
    bare_ns, timed_ns = [], []
    for _ in range(rounds):  # alternate, so drift hits both alike
        bare_ns.append(_per_call_ns(bare(predict, calls), calls, 1))
        timed_ns.append(_per_call_ns(lambda: timed_loop(predict, x, 0.0, calls, 1e9), calls, 1))
    b, t = statistics.median(bare_ns), statistics.median(timed_ns)
    return {"added_ns_per_call": added_ns, "bare_us_per_call": b / 1e3, "overhead_pct": 100.0 * added_ns / b,
            "direct_timed_us_per_call": t / 1e3, "direct_pct": 100.0 * (t - b) / b, "rounds": rounds, "calls": calls}


def bench_job(params: dict, state) -> dict:
    """bench() of a model file in a child process (its peak memory is its own; a crash stays there)."""
    return bench(params.pop("model"), **params).to_json(samples=True)

"""The cloud tier under concurrent load: throughput and p50/p99 against replicas and client count.

`load()` drives a running server (either engine) with N concurrent clients, each on its own
keep-alive connection, and counts what every replica answered; a failed request is counted, never
raised. `scale_curve()` starts `edge-studio serve --engine ray` once per replica count (as a child:
MindSpore and Ray never load into the caller) and runs `load()` at each concurrency. Every result
names the machine and where the replicas ran, since 2 shared cores say little about N machines.
"""
from __future__ import annotations

import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

from jobs.state import JobState

CONCURRENCY = (1, 2, 4, 8)


def load(url: str, token: str | None, inputs: np.ndarray, requests: int, concurrency: int,
         expected: list[np.ndarray] | None = None, during: Callable[[int], None] | None = None) -> dict:
    """Send `requests` predictions (inputs[i % len]) from `concurrency` clients.

    expected: the answer for each input; an answer that differs in any bit counts as a mismatch.
    during(done): called from a watcher thread as requests complete (e.g. to kill a replica mid-run)."""
    from app.core.cloud.client import CloudRuntime

    latencies = np.full(requests, np.nan)
    errors: list[str] = []
    mismatches: list[int] = []
    replicas: Counter[str] = Counter()
    lock = threading.Lock()
    counter = iter(range(requests))
    done = [0]

    def client() -> None:
        with CloudRuntime(url, token) as runtime:  # one keep-alive connection per client
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    break
                k = i % len(inputs)
                started = time.perf_counter()
                try:
                    out = runtime.predict(inputs[k:k + 1])
                    latencies[i] = (time.perf_counter() - started) * 1000
                    if expected is not None and not (len(out) == 1 and np.array_equal(out[0], expected[k])):
                        mismatches.append(i)
                except Exception as exc:  # noqa: BLE001  (counted and reported, the run goes on)
                    errors.append(f"request {i}: {type(exc).__name__}: {str(exc)[:160]}")
                with lock:
                    done[0] += 1
            with lock:
                replicas.update(runtime.replica_counts)

    stop = threading.Event()
    watcher = None
    if during is not None:
        def watch() -> None:
            while not stop.is_set():
                during(done[0])
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(client) for _ in range(concurrency)]:
            future.result()
    wall = time.perf_counter() - started
    stop.set()
    if watcher is not None:
        watcher.join()
    ok = latencies[~np.isnan(latencies)]
    p50, p99 = (np.percentile(ok, [50, 99]) if ok.size else (float("nan"),) * 2)
    return {"requests": requests, "concurrency": concurrency, "answered": int(ok.size), "errors": len(errors),
            "error_samples": errors[:5], "mismatches": len(mismatches), "wall_s": round(wall, 3),
            "throughput_per_s": round(ok.size / wall, 1), "p50_ms": round(float(p50), 3),
            "p99_ms": round(float(p99), 3), "per_replica": dict(sorted(replicas.items()))}


def load_for(url: str, token: str | None, inputs: np.ndarray, seconds: float, concurrency: int,
             raw: bool = False) -> dict:
    """`concurrency` clients, each on its own keep-alive connection, send back to back for `seconds`
    (a bounded run on a shared machine, whatever the server's speed). Failed requests are counted.
    raw: also return every latency (`latencies_ms`), to pool interleaved rounds."""
    from app.core.cloud.client import CloudRuntime

    latencies: list[float] = []
    errors: list[str] = []
    replicas: Counter[str] = Counter()
    lock = threading.Lock()
    clients = [CloudRuntime(url, token) for _ in range(concurrency)]  # connected before the clock starts
    deadline = time.perf_counter() + seconds

    def client(runtime) -> None:
        mine, i = [], 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                runtime.predict(inputs[i % len(inputs)][None])
                mine.append((time.perf_counter() - started) * 1000)
            except Exception as exc:  # noqa: BLE001  (counted and reported, the run goes on)
                with lock:
                    errors.append(f"{type(exc).__name__}: {str(exc)[:160]}")
            i += 1
        with lock:
            latencies.extend(mine)
            replicas.update(runtime.replica_counts)

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(concurrency) as pool:
            for future in [pool.submit(client, c) for c in clients]:
                future.result()
    finally:
        for c in clients:
            c.close()
    wall = time.perf_counter() - started
    ok = np.asarray(latencies)
    p50, p99 = (np.percentile(ok, [50, 99]) if ok.size else (float("nan"),) * 2)
    return {"seconds": seconds, "concurrency": concurrency, "answered": int(ok.size), "errors": len(errors),
            "error_samples": errors[:5], "wall_s": round(wall, 3), "throughput_per_s": round(ok.size / wall, 1),
            "p50_ms": round(float(p50), 3), "p99_ms": round(float(p99), 3),
            "per_replica": dict(sorted(replicas.items()))} | ({"latencies_ms": latencies} if raw else {})


def _cpu_seconds(pid: int) -> dict[str, float]:
    """CPU time used so far by the server process (the front) and by its replicas, for cost per request."""
    import psutil

    root = psutil.Process(pid)
    spent = {"front": sum(root.cpu_times()[:2]), "replicas": 0.0}
    for proc in root.children(recursive=True):
        try:
            if "ServeReplica" in proc.name():
                spent["replicas"] += sum(proc.cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue
    return spent


def _costed_load(server, inputs: np.ndarray, requests: int, clients: int) -> dict:
    before = _cpu_seconds(server.pid)
    row = load(server.url, server.token, inputs, requests, clients)
    after = _cpu_seconds(server.pid)
    return row | {f"{part}_cpu_ms_per_request": round((after[part] - before[part]) * 1000 / max(row["answered"], 1), 3)
                  for part in before}


def machine() -> dict:
    return {"cpus": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2)}


def scale_curve(cloud_dir: str | Path, inputs: np.ndarray, *, replicas: tuple[int, ...] = (1, 2),
                concurrency: tuple[int, ...] = CONCURRENCY, requests: int = 200, runtime: str = "mindspore",
                baseline: bool = False, state: JobState | None = None) -> dict:
    """Throughput and p50/p99 for each replica count × concurrency, each replica count on a fresh server.

    baseline: also time the single-process server (engine uvicorn, MindSpore) first, as replicas 0."""
    from app.core.cloud.client import CloudRuntime
    from app.core.cloud.server import start_server_process

    state = state or JobState()
    rows, where = [], None
    steps = len(replicas) * len(concurrency)
    if baseline:
        with start_server_process(cloud_dir) as server:
            load(server.url, server.token, inputs, 4, 1)
            for clients in concurrency:
                state.check()
                rows.append({"replicas": 0, "engine": "uvicorn", **_costed_load(server, inputs, requests, clients)})
    for r_i, count in enumerate(replicas):
        state.check()
        state.set_progress(r_i * len(concurrency) / steps, f"starting Ray Serve with {count} replica(s)")
        with start_server_process(cloud_dir, engine="ray",
                                  engine_args=("--replicas", str(count), "--runtime", runtime)) as server:
            with CloudRuntime(server.url, server.token) as probe:
                where = probe.health()["ray"]["where"]
                load(server.url, server.token, inputs, 4 * count, min(count, 2))  # warm every replica
            for c_i, clients in enumerate(concurrency):
                state.check()
                state.set_progress((r_i * len(concurrency) + c_i) / steps, f"{count} replica(s), {clients} client(s)")
                rows.append({"replicas": count, "engine": "ray", **_costed_load(server, inputs, requests, clients)})
    state.set_progress(1.0, "done")
    return {"engine": "ray", "runtime": runtime, "where": where, "machine": machine(), "rows": rows}


def autoscale_ramp(cloud_dir: str | Path, inputs: np.ndarray, *, autoscale: str = "1:3",
                   ramp: tuple[tuple[int, float], ...] = ((1, 20.0), (8, 60.0), (1, 60.0)),
                   runtime: str = "mindspore", state: JobState | None = None) -> dict:
    """Run a load ramp — (clients, seconds) steps — against `--autoscale MIN:MAX` and sample, once a
    second, how many replicas Serve keeps running: the autoscaler's answer to queue length over time."""
    from app.core.cloud.client import CloudRuntime
    from app.core.cloud.server import start_server_process

    state = state or JobState()
    timeline: list[dict] = []
    steps: list[dict] = []
    with start_server_process(cloud_dir, engine="ray",
                              engine_args=("--autoscale", autoscale, "--runtime", runtime)) as server, \
            CloudRuntime(server.url, server.token) as probe:
        where = probe.health()["ray"]["where"]
        started = time.monotonic()
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                ray = probe.health()["ray"]
                timeline.append({"t_s": round(time.monotonic() - started, 1), "replicas_running": ray["replicas_running"]})
                stop.wait(1.0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            for i, (clients, seconds) in enumerate(ramp):
                state.check()
                state.set_progress(i / len(ramp), f"{clients} client(s) for {seconds:.0f} s")
                step_started = time.monotonic()
                rows = []
                while time.monotonic() - step_started < seconds:
                    rows.append(load(server.url, server.token, inputs, 30 * clients, clients))
                answered = sum(r["answered"] for r in rows)
                steps.append({"clients": clients, "seconds": seconds, "answered": answered,
                              "errors": sum(r["errors"] for r in rows),
                              "throughput_per_s": round(answered / (time.monotonic() - step_started), 1),
                              "t_end_s": round(time.monotonic() - started, 1)})
        finally:
            stop.set()
            sampler.join()
    state.set_progress(1.0, "done")
    changes = [s for i, s in enumerate(timeline) if i == 0 or s["replicas_running"] != timeline[i - 1]["replicas_running"]]
    return {"engine": "ray", "autoscale": autoscale, "where": where, "machine": machine(), "steps": steps,
            "replica_changes": changes, "timeline": timeline}

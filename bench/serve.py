"""The cloud tier's two engines side by side, in one run: the single process (uvicorn + MindSpore) and
Ray Serve with R replicas on a private loopback node, driven by the same N clients for the same time.

    python bench/serve.py [--json out.json] [--clients 8] [--seconds 20] [--replicas 2] [--model PKG/cloud]
                          [--rounds 4] [--unbatched] [--ray-arg=--batch-wait-ms --ray-arg=1 ...]

Without --model it builds the digits cloud package (`edge-studio deploy --tiers cloud`) in a temp folder.
Each engine is started as a child (`start_server_process`: MindSpore and Ray never load here), timed from
start to its first /health answer (ready_s), and warmed for 2 s; all run at once, and they take turns:
--rounds rounds of --seconds/--rounds each, --clients keep-alive connections sending raw float32, so the
shared machine's drifting load falls on every engine alike (latencies pooled over the rounds). CPU ms per request come from /proc (front = the server
process; replicas = Ray's ServeReplica workers). Headline: Ray's req/s ÷ uvicorn's and p99 ÷ p99.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.cloud.client import CloudRuntime  # noqa: E402
from app.core.cloud.server import start_server_process  # noqa: E402
from app.core.measure.scale import _cpu_seconds, load_for  # noqa: E402
from jobs.process import child_env, entry_command  # noqa: E402

DIGITS = ROOT / "sample_models" / "digits"
WARM_S = 2.0


def cpu_model() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or "unknown"


def build_package(out: Path) -> Path:
    done = subprocess.run(entry_command() + ["deploy", str(DIGITS / "model.onnx"), "--out", str(out), "--tiers", "cloud"],
                          capture_output=True, text=True, timeout=600, env=child_env(), stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        sys.exit(f"could not build the digits cloud package: {done.stderr.strip().splitlines()[-1:]}")
    return out / "cloud"


def inputs_for(cloud: Path) -> np.ndarray:
    from app.core.preprocess import PreprocessSpec

    shape = tuple(PreprocessSpec.load(cloud / "preprocess.json").input_shape)
    return np.random.default_rng(0).random((16, *shape[1:]), dtype=np.float32)


def start(cloud: Path, name: str, engine: str, engine_args: tuple[str, ...], inputs: np.ndarray, clients: int):
    print(f"starting {name}: {engine} {' '.join(engine_args)}", file=sys.stderr)
    started = time.perf_counter()
    server = start_server_process(cloud, engine=engine, engine_args=engine_args)
    ready_s = time.perf_counter() - started
    load_for(server.url, server.token, inputs, WARM_S, clients)  # every replica and connection warm
    return {"name": name, "engine": engine, "args": list(engine_args), "server": server, "ready_s": round(ready_s, 2),
            "latencies": [], "answered": 0, "errors": 0, "wall_s": 0.0, "cpu": {"front": 0.0, "replicas": 0.0},
            "load": []}


def one_round(entry: dict, inputs: np.ndarray, clients: int, seconds: float) -> None:
    server = entry["server"]
    entry["load"].append(os.getloadavg()[0])
    before = _cpu_seconds(server.pid)
    row = load_for(server.url, server.token, inputs, seconds, clients, raw=True)
    after = _cpu_seconds(server.pid)
    for part in before:
        entry["cpu"][part] += after[part] - before[part]
    entry["latencies"] += row["latencies_ms"]
    entry["answered"] += row["answered"]
    entry["errors"] += row["errors"]
    entry["wall_s"] += row["wall_s"]


def finish(entry: dict) -> dict:
    server = entry.pop("server")
    with CloudRuntime(server.url, server.token) as probe:
        health = probe.health()
    server.stop()
    lat = np.asarray(entry.pop("latencies"))
    p50, p99 = np.percentile(lat, [50, 99]) if lat.size else (float("nan"),) * 2
    answered, cpu, load = max(entry["answered"], 1), entry.pop("cpu"), entry.pop("load")
    ray = health.get("ray")
    return entry | {"throughput_per_s": round(entry["answered"] / max(entry["wall_s"], 1e-9), 1),
                    "p50_ms": round(float(p50), 2), "p99_ms": round(float(p99), 2),
                    "front_cpu_ms_per_request": round(cpu["front"] * 1000 / answered, 3),
                    "replicas_cpu_ms_per_request": round(cpu["replicas"] * 1000 / answered, 3),
                    "load_average_1m": [round(min(load), 2), round(max(load), 2)], "threads": health.get("threads"),
                    "ray": {k: ray.get(k) for k in ("scaling", "threads_per_replica", "batching", "startup_s",
                                                    "replicas_running", "retries", "errors")} if ray else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", nargs="?", const="-", help="write the results as JSON (- or no value: stdout)")
    parser.add_argument("--model", type=Path, help="a cloud folder (model.mindir + preprocess.json); default: digits")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--ray-arg", action="append", default=[], help="extra `serve --engine ray` option (repeat)")
    parser.add_argument("--engines", default="uvicorn,ray", help="which engines, in this order")
    parser.add_argument("--rounds", type=int, default=4, help="alternate the engines this many times")
    parser.add_argument("--unbatched", action="store_true", help="also Ray with --max-batch 1 (one call per request)")
    args = parser.parse_args()
    variants = [("uvicorn", "uvicorn", ())] if "uvicorn" in args.engines.split(",") else []
    if "ray" in args.engines.split(","):
        variants.append(("ray", "ray", ("--replicas", str(args.replicas), *args.ray_arg)))
    if args.unbatched:
        variants.append(("ray-unbatched", "ray", ("--replicas", str(args.replicas), "--max-batch", "1", *args.ray_arg)))
    entries = []
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        cloud = args.model or build_package(Path(tmp) / "pkg")
        inputs = inputs_for(cloud)
        try:
            for name, engine, engine_args in variants:  # all running at once, each idle while another is loaded
                entries.append(start(cloud, name, engine, engine_args, inputs, args.clients))
            for r in range(args.rounds):  # interleaved: the shared machine's load drifts over all alike
                for entry in entries:
                    print(f"round {r + 1}/{args.rounds}: {entry['name']}", file=sys.stderr)
                    one_round(entry, inputs, args.clients, args.seconds / args.rounds)
            rows = [finish(entry) for entry in entries]
        finally:
            for entry in entries:
                if "server" in entry:
                    entry["server"].stop()
    by = {r["name"]: r for r in rows}
    ratio = {}
    if "uvicorn" in by and "ray" in by:
        u, r = by["uvicorn"], by["ray"]
        ratio = {"ray_over_uvicorn_req_per_s": round(r["throughput_per_s"] / max(u["throughput_per_s"], 1e-9), 3),
                 "ray_over_uvicorn_p99": round(r["p99_ms"] / max(u["p99_ms"], 1e-9), 3),
                 "ray_over_uvicorn_p50": round(r["p50_ms"] / max(u["p50_ms"], 1e-9), 3)}
    result = {"machine": {"cpu": cpu_model(), "cpus": os.cpu_count(), "python": platform.python_version()},
              "model": str(args.model or "digits (built)"), "clients": args.clients, "seconds": args.seconds,
              "rounds": args.rounds, "command": " ".join(["python", *sys.argv]),
              "rows": rows, "ratio": ratio}
    print(f"{'engine':14} {'ready s':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'front ms/req':>13} "
          f"{'replica ms/req':>15} {'errors':>6} {'load':>11}", file=sys.stderr)
    for r in rows:
        print(f"{r['name']:14} {r['ready_s']:8.1f} {r['throughput_per_s']:8.1f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
              f"{r['front_cpu_ms_per_request']:13.2f} {r['replicas_cpu_ms_per_request']:15.2f} {r['errors']:6d} "
              f"{r['load_average_1m'][0]:5.1f}/{r['load_average_1m'][1]:<5.1f}", file=sys.stderr)
    if ratio:
        print(f"Ray / uvicorn: req/s {ratio['ray_over_uvicorn_req_per_s']:.2f}×, p99 {ratio['ray_over_uvicorn_p99']:.2f}×",
              file=sys.stderr)
    if args.json:
        text = json.dumps(result, indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`edge-studio --self-test`: an installed build checks itself end to end.

Builds the sample digits model for every tier (deploy: Lite conversion incl. INT8 calibration,
evaluation of each artifact), runs the edge model in this process, benchmarks edge and device
variants briefly, streams synthetic frames through the live pipeline and, where MindSpore is in
the build, trains one short epoch and queries the cloud tier over HTTP. Prints one JSON summary;
exit code 0 only if every check that applies passed. Checks that need MindSpore are "absent" in
the lean package (by design, and said so) and "fail" anywhere MindSpore should be.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from converters.targets import MINDSPORE_MISSING, mindspore_available
from sample_models import DIGITS, digits_data

BUILD_INFO = "edge_studio_build.json"
MAX_INT8_DROP = 0.05  # top-1 points an INT8 build may lose against FP32 before the check fails


def build_info() -> dict:
    """What this installation is: the frozen build's flavour and versions, or a source checkout."""
    if getattr(sys, "frozen", False):
        path = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / BUILD_INFO
        try:
            return {"frozen": True, **json.loads(path.read_text(encoding="utf-8"))}
        except (OSError, ValueError):
            return {"frozen": True, "flavour": "unknown"}
    return {"frozen": False, "flavour": "source"}


@dataclass
class Check:
    name: str
    run: Callable[[dict], dict]  # takes the shared context, returns details; raises on failure
    needs_mindspore: bool = False
    needs_package: bool = True  # runs on what "deploy every tier" built


def _deploy(ctx: dict) -> dict:
    from app.core.models.deploy import deploy_in_child

    summary = deploy_in_child(DIGITS / "model.onnx", ctx["tmp"] / "package", data=digits_data(), timeout=900)
    targets = summary["targets"]
    reference = targets.pop("reference")["top1"]
    built = {name: {"top1": round(r["top1"], 4), "size_bytes": r["size_bytes"]} for name, r in targets.items()}
    low = [name for name, r in targets.items() if r["top1"] < reference - MAX_INT8_DROP]
    if low:
        raise AssertionError(f"top-1 below FP32 ONNX ({reference:.4f}) − {MAX_INT8_DROP}: {', '.join(low)}")
    expected_tiers = {"edge", "device"} | ({"cloud"} if mindspore_available() else set())
    missing = expected_tiers - {r["tier"] for r in targets.values()}
    if missing:
        raise AssertionError(f"no target built for tier(s) {', '.join(sorted(missing))}")
    ctx["package"] = ctx["tmp"] / "package"
    return {"reference_top1": round(reference, 4), "targets": built, "skipped": summary["skipped"],
            "seconds": summary["seconds"]}


def _hundred(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """100 validation digits spread over the split (it is sorted by class: its first 100 are all zeros)."""
    pick = np.linspace(0, len(x) - 1, 100).round().astype(int)
    return x[pick], labels[pick]


def _inference_here(ctx: dict) -> dict:
    """The GUI process runs Lite itself: load the edge .ms here and classify validation digits."""
    from app.core.models.evaluate import find_preprocess, validation_inputs
    from app.core.runtimes import LiteRuntime, match_layout

    path = ctx["package"] / "edge" / "model.ms"
    x, labels = _hundred(*validation_inputs(digits_data(), find_preprocess(path)))
    runtime = LiteRuntime(path, threads=0)
    try:
        x = match_layout(x, runtime.input_shape)
        predicted = [int(runtime.predict(np.ascontiguousarray(x[i:i + 1]))[0].argmax()) for i in range(len(x))]
    finally:
        runtime.close()
    top1 = float(np.mean(np.array(predicted) == labels))
    if top1 < 0.9:
        raise AssertionError(f"edge/model.ms classified {top1:.0%} of 100 validation digits (expected ≥ 90%)")
    return {"model": "edge/model.ms", "samples": 100, "top1": top1}


def _benchmark(ctx: dict) -> dict:
    from app.core.measure.profiler import bench

    results = {}
    for name, file, threads in (("edge-fp32", "edge/model.ms", 0), ("device-int8", "device/model_int8.ms", 1)):
        result = bench(ctx["package"] / file, threads=threads, min_seconds=0.5, min_runs=20, per_op=True,
                       per_op_runs=5, keep_samples=False)
        if not result.per_op:
            raise AssertionError(f"{file}: no per-operator profile")
        results[name] = {"median_ms": round(result.p50_ms, 4), "p99_ms": round(result.p99_ms, 4),
                         "runs": result.runs, "operators": len(result.per_op)}
    results["int8_vs_fp32_median"] = round(results["device-int8"]["median_ms"] / results["edge-fp32"]["median_ms"], 3)
    return results


def _live(ctx: dict) -> dict:
    from app.core.live.pipeline import LiveModel, LivePipeline
    from app.core.live.postprocess import model_spec
    from app.core.live.sources import SyntheticSource
    from app.core.runtimes import LiteRuntime

    path = ctx["package"] / "edge" / "model.ms"
    spec = model_spec(path, None)
    model = LiveModel(spec, LiteRuntime(path, threads=1), "edge-fp32")
    pipeline = LivePipeline(SyntheticSource(fps=0), [model])
    try:
        stats = pipeline.run(frames=120, timeout=60).to_json()
    finally:
        pipeline.close()
    done = stats["models"][0]
    if done["error"] or done["processed"] < 120:
        raise AssertionError(f"the live pipeline processed {done['processed']} of 120 synthetic frames "
                             f"({done['error'] or stats['source']['error'] or 'no error reported'})")
    return {"frames": done["processed"], "fps": done["fps"], "vs_truth": done.get("vs_truth"),
            "latency_ms": done["ms"]["latency"]}


def _train(ctx: dict) -> dict:
    from app.core.models.training import TrainConfig, train

    metrics = train(TrainConfig(epochs=1, time_budget_s=30), ctx["tmp"] / "trained", timeout=600)
    return {key: metrics.get(key) for key in ("val_top1", "epochs", "train_seconds") if key in metrics}


def _cloud(ctx: dict) -> dict:
    from app.core.cloud.client import CloudRuntime
    from app.core.cloud.server import start_server_process
    from app.core.models.evaluate import find_preprocess, validation_inputs

    folder = ctx["package"] / "cloud"
    x, labels = _hundred(*validation_inputs(digits_data(), find_preprocess(folder / "model.mindir")))
    with start_server_process(folder) as server, CloudRuntime(server.url, token=server.token) as client:
        started = time.perf_counter()
        predicted = [int(client.predict(x[i:i + 1])[0].argmax()) for i in range(100)]
        seconds = time.perf_counter() - started
    top1 = float(np.mean(np.array(predicted) == labels))
    if top1 < 0.9:
        raise AssertionError(f"the cloud tier classified {top1:.0%} of 100 validation digits (expected ≥ 90%)")
    return {"requests": 100, "top1": top1, "mean_round_trip_ms": round(seconds / 100 * 1000, 2)}


CHECKS = (
    Check("deploy every tier", _deploy, needs_package=False),
    Check("Lite inference in this process", _inference_here),
    Check("benchmark edge vs device", _benchmark),
    Check("live pipeline, synthetic frames", _live),
    Check("train one epoch (MindSpore)", _train, needs_mindspore=True, needs_package=False),
    Check("cloud tier over HTTP (MindSpore)", _cloud, needs_mindspore=True),
)


def _run_check(check: Check, ctx: dict) -> dict:
    started = time.perf_counter()
    entry = {"name": check.name}
    if check.needs_mindspore and not mindspore_available():
        # Absent by design only where the build says it left MindSpore out.
        status = "absent" if ctx["info"].get("flavour") == "lean" else "fail"
        return entry | {"status": status, "detail": MINDSPORE_MISSING}
    if check.needs_package and "package" not in ctx:
        return entry | {"status": "fail", "detail": "skipped: deploy failed, nothing to run"}
    try:
        entry |= {"status": "pass", "detail": check.run(ctx)}
    except Exception as exc:  # a check's failure is a finding for the summary, not a crash
        entry |= {"status": "fail", "error": f"{type(exc).__name__}: {exc}",
                  "where": traceback.format_exc(limit=3).splitlines()[-3:]}
    entry["seconds"] = round(time.perf_counter() - started, 2)
    return entry


def run_self_test(progress: Callable[[str], None] | None = None) -> dict:
    say = progress or (lambda message: None)
    info = build_info()
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="edge-studio-self-test-") as tmp:
        ctx = {"tmp": Path(tmp), "info": info}
        for check in CHECKS:
            say(f"self-test: {check.name} …")
            results.append(_run_check(check, ctx))
            say(f"self-test: {check.name}: {results[-1]['status']}")
    ok = all(r["status"] != "fail" for r in results)
    return {"ok": ok, "build": info, "mindspore": mindspore_available(),
            "seconds": round(time.perf_counter() - started, 1), "checks": results}

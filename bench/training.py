"""Training speed per architecture: seconds to a target accuracy, per-step ms, samples/s.

    python bench/training.py [--json] [--arch NAME ...] [--runs 3] [--data digits shapes]

Each run is a real `train()` (MindSpore child process, exports checked), so the numbers are what the
CLI and the Model page get. Per dataset:
- digits: seconds of training until the held-out top-1 first reaches 97 % (the epoch's end, compile
  included), and the final top-1 within the default 50 s budget (goal ≥ 98 %);
- shapes: a synthetic folder dataset, 3 classes × 100 distinct images (circles, squares, bars of
  random colour, size and place on noise), default settings (capture augmentation); goal ≥ 95 %
  held-out within 30 s.
Zoo backbones (mindcv) run once, with a larger budget: they are minutes, not seconds, on 2 cores.
The machine's CPU model, usable cores and load average are recorded beside every number: this is a
benchmark, not a timed test.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.models.architectures import ARCHITECTURES, DEFAULT_ARCH  # noqa: E402
from app.core.models.training import TrainConfig, train  # noqa: E402
from jobs.state import JobState  # noqa: E402

GOALS = {"digits": {"target": 0.97, "seconds": 20.0, "final": 0.98},
         "shapes": {"target": 0.95, "seconds": 30.0, "final": 0.95}}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    from app.core.models.mindspore_cpu import usable_cores

    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return {"cpu": cpu_model(), "usable_cores": usable_cores(), "python": platform.python_version(),
            "avx512": " avx512f " in flags, "avx512_vnni": "avx512_vnni" in flags,
            "onednn_isa_cap": os.environ.get("ONEDNN_MAX_CPU_ISA", "AVX2 (mindspore_cpu default)"),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def make_shapes(folder: Path, per_class: int = 100, size: int = 64, seed: int = 0) -> Path:
    """3 classes × per_class synthetic images: a filled circle, square or bar of random colour, size
    and position on a noisy background of another random tint."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)

    def colour():
        return tuple(int(v) for v in rng.integers(90, 256, 3))

    draw = {
        "circle": lambda im, c, r: cv2.circle(im, c, r, colour(), -1),
        "square": lambda im, c, r: cv2.rectangle(im, (c[0] - r, c[1] - r), (c[0] + r, c[1] + r), colour(), -1),
        "bar": lambda im, c, r: cv2.rectangle(im, (c[0] - r, c[1] - r // 4), (c[0] + r, c[1] + r // 4), colour(), -1),
    }
    for name, fn in draw.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            tint = rng.integers(0, 70, 3)
            image = (rng.integers(0, 50, (size, size, 3)) + tint).astype(np.uint8)
            r = int(rng.integers(size // 8, size // 4))
            center = tuple(int(v) for v in rng.integers(r + 2, size - r - 2, 2))
            fn(image, center, r)
            cv2.imwrite(str(folder / name / f"{i:03d}.png"), image)
    return folder


def one_run(arch: str, data: str, seed: int, budget: float, epochs: int, out: Path) -> dict:
    events: list[dict] = []
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    metrics = train(TrainConfig(data=data, arch=arch, seed=seed, epochs=epochs, time_budget_s=budget),
                    out, JobState(on_event=lambda e: events.append(e) if e["type"] == "epoch" else None), force=True)
    wall = time.perf_counter() - started
    goal = GOALS["digits" if data == "digits" else "shapes"]
    reached = next((e for e in events if e["val_accuracy"] >= goal["target"]), None)
    return {"seed": seed, "seconds_to_target": round(reached["seconds"], 2) if reached else None,
            "cpu_seconds_to_target": reached["cpu_seconds"] if reached else None,
            "epochs_to_target": reached["epoch"] if reached else None,
            "final_top1": metrics["val_top1"], "onnx_top1": metrics["onnx_val_top1"],
            "train_top1": metrics["train_top1"], "epochs": metrics["epochs"], "stopped": metrics["stopped"],
            "train_seconds": metrics["train_seconds"], "train_cpu_seconds": metrics["train_cpu_seconds"],
            "wall_seconds": round(wall, 2),
            "first_epoch_seconds": round(events[0]["seconds"], 2) if events else None,
            "step_ms": metrics["step_ms"], "samples_per_s": metrics["samples_per_s"],
            "parameters": metrics["parameters"], "input_size": metrics["input_size"],
            "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}


def median_of(runs: list[dict], key: str):
    """Median over runs; a run that never reached the target counts as infinitely slow (None if that
    is the median)."""
    values = sorted(float("inf") if r[key] is None else r[key] for r in runs)
    middle = statistics.median(values) if values else float("inf")
    return None if middle == float("inf") else round(middle, 3)


def bench(archs: list[str], datasets: list[str], runs: int, zoo_budget: float, work: Path, log) -> list[dict]:
    results = []
    for data_name in datasets:
        data = "digits" if data_name == "digits" else str(make_shapes(work / "shapes"))
        for arch in archs:
            zoo = ARCHITECTURES[arch].source != "edge-studio"
            count = 1 if zoo else runs
            budget, epochs = (zoo_budget, 30) if zoo else (50.0, 10)
            done = []
            for k in range(count):
                row = one_run(arch, data, k, budget, epochs, work / f"{arch}-{data_name}-{k}")
                done.append(row)
                log(f"{data_name} {arch} run {k + 1}/{count}: to target {row['seconds_to_target']} s, "
                    f"final {row['final_top1']:.4f}, {row['step_ms']} ms/step, load {row['load_before']}")
            goal = GOALS["digits" if data_name == "digits" else "shapes"]
            summary = {key: median_of(done, key) for key in
                       ("seconds_to_target", "cpu_seconds_to_target", "final_top1", "train_seconds",
                        "train_cpu_seconds", "step_ms", "samples_per_s")}
            results.append({"data": data_name, "arch": arch, "runs": done, "median": summary, "goal": goal,
                            "meets_goal": (summary["seconds_to_target"] is not None
                                           and summary["seconds_to_target"] <= goal["seconds"]
                                           and summary["final_top1"] >= goal["final"])})
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", choices=list(ARCHITECTURES), default=[DEFAULT_ARCH])
    parser.add_argument("--data", nargs="+", choices=["digits", "shapes"], default=["digits", "shapes"])
    parser.add_argument("--runs", type=int, default=3, help="runs of the small CNN (the median is reported)")
    parser.add_argument("--zoo-budget", type=float, default=300.0, help="training budget of a zoo backbone (s)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    args = parser.parse_args()
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else print
    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        results = bench(args.arch, args.data, args.runs, args.zoo_budget, Path(tmp), log)
    report = {"machine": machine(), "results": results}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for r in results:
            m = r["median"]
            print(f"{r['data']:7s} {r['arch']:20s} to {r['goal']['target']:.0%}: {m['seconds_to_target']} s  "
                  f"final {m['final_top1']}  {m['step_ms']} ms/step  {m['samples_per_s']} samples/s  "
                  f"{'meets' if r['meets_goal'] else 'misses'} the goal")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

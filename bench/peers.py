"""MindSpore Lite next to its peers on the same models, this machine, one input at a time.

    python bench/peers.py [--json out.json] [--seconds 1.5] [--threads 1,2] [--models digits,face,mobilenet]
                          [--doc docs/benchmarks.md]

Runtimes: Lite FP32 / FP16 weights / INT8 (FULL_QUANT), onnxruntime FP32 and INT8 (quantize_static,
QDQ), OpenCV DNN, and full MindSpore (its own child process). Models: the digits sample, the
BlazeFace face detector (.tflite) and a MobileNet-v1-class 224×224 CNN that MindSpore builds and
exports (random weights). Headline: ratios of median latency to onnxruntime FP32 (<1: faster).

Each model × thread count runs in a worker process of its own holding every in-process runtime,
timed in interleaved rounds (drift hits all alike). A fresh process also matters for Lite 2.0:
it cannot load an FP16-weight .ms again in a process that has already freed one.
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

from app.core.measure.profiler import example_input, summarize, timed_loop  # noqa: E402

CALIBRATION_SAMPLES = 20
# what follows this line in the document is written by hand (the analyses behind the numbers): kept on a re-run
KEPT = "<!-- written by hand below this line: bench/peers.py keeps it -->"


# -- runtimes inside a worker ---------------------------------------------------------------------
class OpenCvRuntime:
    name = "opencv"

    def __init__(self, path: str, threads: int, input_shape: tuple[int, ...]) -> None:
        import cv2

        cv2.setNumThreads(threads)
        self.net = cv2.dnn.readNet(path)
        self.net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self.outputs = list(self.net.getUnconnectedOutLayersNames())
        self.input_shape = input_shape

    def predict(self, x: np.ndarray) -> list[np.ndarray]:
        self.net.setInput(x)
        return list(self.net.forward(self.outputs))

    def close(self) -> None:
        self.net = None


def _open(kind: str, spec: dict, threads: int):
    from app.core.runtimes import LiteRuntime, OnnxRuntime

    openers = {"lite": lambda: LiteRuntime(spec["path"], threads), "onnxruntime": lambda: OnnxRuntime(spec["path"], threads),
               "opencv": lambda: OpenCvRuntime(spec["path"], threads, tuple(spec["input_shape"]))}
    return openers[kind]()


def worker(job: dict) -> dict:
    """Open every runtime of one model at one thread count; time them in interleaved rounds."""
    opened, results = {}, {}
    for key, spec in job["runtimes"].items():
        try:
            started = time.perf_counter()
            runtime = _open(spec["kind"], spec, job["threads"])
            x = example_input(tuple(runtime.input_shape))
            runtime.predict(x)
            opened[key] = (runtime, x, (time.perf_counter() - started) * 1000)
        except Exception as exc:  # report what does not work, time the rest
            results[key] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"}
    samples: dict[str, list[float]] = {key: [] for key in opened}
    round_p50: dict[str, list[float]] = {key: [] for key in opened}
    for round_ in range(job["rounds"]):
        for key, (runtime, x, _) in opened.items():
            for _ in range(job["warmup"] if round_ == 0 else 1):  # later rounds: refill the caches
                runtime.predict(x)
            times = timed_loop(runtime.predict, x, job["seconds"] / job["rounds"], 1, 60.0)
            samples[key] += [t / 1e6 for t in times]
            round_p50[key].append(float(np.median(times)) / 1e6)
    for key, (runtime, _, load_ms) in opened.items():
        results[key] = {**summarize(samples[key]), "runs": len(samples[key]), "load_ms": load_ms,
                        "best_round_p50_ms": min(round_p50[key])}
    from app.core.measure.profiler import (
        measure_overhead,  # the profiler's timed loop vs a bare predict loop
    )

    overhead = [{"runtime": key, **measure_overhead(opened[key][0], opened[key][1])}
                for key in job.get("overhead", []) if key in opened]
    for runtime, _, _ in opened.values():
        runtime.close()
    return {"results": results, "overhead": overhead}


# -- preparing the models -------------------------------------------------------------------------
def _digits_calibration() -> np.ndarray:
    from app.core.models.datasets import load_digits

    data = load_digits()
    train, _ = data.split(0.2, 0)
    return data.inputs(np.random.default_rng(0).permutation(train)[:CALIBRATION_SAMPLES])


def _ort_int8(onnx_path: Path, calib: np.ndarray, out: Path) -> Path:
    import logging

    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        quantize_static,
    )

    logging.getLogger().setLevel(logging.ERROR)  # its "consider pre-processing" advice, twice per model
    model = onnx.load(str(onnx_path))
    name = model.graph.input[0].name
    # Per-channel DequantizeLinear needs opset 13; MindSpore exports opset 11.
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset < 13:
        onnx_path = out.with_name(out.stem + "_opset13.onnx")
        onnx.save(version_converter.convert_version(model, 13), str(onnx_path))

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{name: calib[i:i + 1]} for i in range(len(calib))])

        def get_next(self):
            return next(self.items, None)

    quantize_static(str(onnx_path), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True)
    return out


def prepare(models: list[str], folder: Path) -> dict:
    """Source files, Lite conversions and the onnxruntime INT8 model for each benchmark model."""
    from converters.lite import QuantConfig, convert
    from jobs.child import run_child

    plan = {}
    if "digits" in models:
        plan["digits"] = {"onnx": ROOT / "sample_models/digits/model.onnx",
                          "mindir": ROOT / "sample_models/digits/model.mindir", "calib": _digits_calibration()}
    if "face" in models:
        from sample_models.face_detection import ensure_face_detector

        rng = np.random.default_rng(0)
        plan["face"] = {"tflite": ensure_face_detector(),
                        "calib": rng.uniform(-1, 1, (CALIBRATION_SAMPLES, 128, 128, 3)).astype(np.float32)}
    if "mobilenet" in models:
        built = run_child("bench.mindspore_child:run_in_child", {"action": "export_mobilenet", "folder": str(folder / "mobilenet")},
                          timeout=600)
        rng = np.random.default_rng(0)
        plan["mobilenet"] = {"onnx": Path(built["onnx"]), "mindir": Path(built["mindir"]),
                             "calib": rng.standard_normal((CALIBRATION_SAMPLES, 3, 224, 224)).astype(np.float32)}
    for name, p in plan.items():
        src = p.get("onnx") or p["tflite"]
        fmt = {"input_format": "NCHW"} if "onnx" in p else {}
        started = time.perf_counter()
        # accept_mismatch: an artifact that verification calls WRONG is still timed, its verdict in the table
        # (the MobileNet-class model has random weights, so its INT8 top-1 may well disagree with FP32)
        p["verdicts"] = {}
        for key, dst, options in (("lite_fp32", f"{name}.ms", {}), ("lite_fp16", f"{name}_fp16.ms", {"fp16_weights": True}),
                                  ("lite_int8", f"{name}_int8.ms", {"quant": QuantConfig(p["calib"])})):
            done = convert(src, folder / dst, accept_mismatch=True, explain=False, **options, **fmt)
            p[key] = done.path
            p["verdicts"][key] = _verdict(done.verification)
        if "onnx" in p:
            p["ort_int8"] = _ort_int8(p["onnx"], p["calib"], folder / f"{name}_ort_int8.onnx")
        p["prepare_seconds"] = time.perf_counter() - started
        print(f"prepared {name} in {p['prepare_seconds']:.1f} s", file=sys.stderr, flush=True)
    return plan


def _verdict(verification) -> dict:
    if verification is None:
        return {"verdict": "unverified", "summary": ""}
    return {"verdict": verification.verdict, "summary": verification.summary()}


def runtimes_of(p: dict) -> dict:
    """(label → what to open) for one model; what cannot run is listed with the reason."""
    verdicts = p.get("verdicts", {})
    items = {"Lite FP32": {"kind": "lite", "path": p["lite_fp32"], "precision": "fp32", **verdicts.get("lite_fp32", {})},
             "Lite FP16 weights": {"kind": "lite", "path": p["lite_fp16"], "precision": "fp16",
                                   **verdicts.get("lite_fp16", {})},
             "Lite INT8": {"kind": "lite", "path": p["lite_int8"], "precision": "int8", **verdicts.get("lite_int8", {})}}
    if "onnx" in p:
        shape = _onnx_shape(p["onnx"])
        items |= {"onnxruntime FP32": {"kind": "onnxruntime", "path": p["onnx"], "precision": "fp32"},
                  "onnxruntime INT8": {"kind": "onnxruntime", "path": p["ort_int8"], "precision": "int8"},
                  "OpenCV DNN FP32": {"kind": "opencv", "path": p["onnx"], "precision": "fp32", "input_shape": shape}}
    else:  # OpenCV 5 reads TFLite itself, with NCHW input
        items["OpenCV DNN FP32"] = {"kind": "opencv", "path": p["tflite"], "precision": "fp32",
                                    "input_shape": [1, 3, 128, 128]}
    return {k: {**v, "path": str(v["path"])} for k, v in items.items()}


def _onnx_shape(path: Path) -> list[int]:
    import onnx

    dims = onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    return [d.dim_value or 1 for d in dims]


NOT_FEASIBLE = {
    "face": {
        "onnxruntime FP32": "onnxruntime reads ONNX only, and no TFLite→ONNX converter (tf2onnx) is installed",
        "onnxruntime INT8": "no ONNX model (see onnxruntime FP32)",
        "MindSpore FP32": "MindSpore 2.10 imports no TFLite models (and Lite 2.0 cannot export one to MindIR "
                          "that MindSpore loads)",
    },
}


def run_worker_process(job: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(job, f)
    done = subprocess.run([sys.executable, __file__, "--worker", f.name], capture_output=True, text=True,
                          timeout=1800)
    Path(f.name).unlink(missing_ok=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"worker for {job['model']} × {job['threads']} failed: {done.stderr.strip()[-600:]}")
    return json.loads(lines[-1])


def mindspore_times(p: dict, threads: int, seconds: float) -> dict:
    from jobs.child import ChildError, run_child

    try:
        r = run_child("bench.mindspore_child:run_in_child", {"action": "time", "model": str(p["mindir"]), "threads": threads,
                                          "shape": _onnx_shape(p["onnx"]), "seconds": seconds}, timeout=600)
    except ChildError as exc:
        return {"error": str(exc)}
    r.pop("samples_ms")
    return r


def run(models: list[str], threads_list: list[int], seconds: float, rounds: int) -> dict:
    rows, overhead = [], []
    load_at_start = [round(x, 2) for x in os.getloadavg()]  # other work on the machine skews absolute times
    with tempfile.TemporaryDirectory(prefix="edge-studio-peers-") as tmp:
        plan = prepare(models, Path(tmp))
        for name, p in plan.items():
            items = runtimes_of(p)
            for threads in threads_list:
                job = {"model": name, "threads": threads, "runtimes": items, "seconds": seconds, "rounds": rounds,
                       "warmup": 2,
                       "overhead": ["Lite FP32", "onnxruntime FP32"] if name == "digits" and threads == 1 else []}
                answer = run_worker_process(job)
                results = answer["results"]
                if "mindir" in p:
                    results["MindSpore FP32"] = mindspore_times(p, threads, seconds)
                for label, why in NOT_FEASIBLE.get(name, {}).items():
                    results[label] = {"error": f"not feasible: {why}"}
                overhead += [{"model": name, "threads": threads, **o} for o in answer["overhead"]]
                base = results.get("onnxruntime FP32", {}).get("p50_ms")
                for label, r in results.items():
                    verdict = {k: items[label][k] for k in ("verdict", "summary") if k in items.get(label, {})}
                    rows.append({**r, **verdict, "model": name, "runtime": label, "threads": threads,
                                 "ratio_vs_ort_fp32": r["p50_ms"] / base if base and "p50_ms" in r else None})
                print(f"{name} × {threads} thread(s): done", file=sys.stderr, flush=True)
        sizes = {name: {k: Path(p[k]).stat().st_size for k in ("onnx", "tflite", "lite_fp32", "lite_fp16",
                                                                  "lite_int8", "ort_int8") if k in p}
                 for name, p in plan.items()}
    return {"machine": {"cpu": _cpu(), "arch": platform.machine(), "cores": os.cpu_count(),
                        "python": platform.python_version(), "load_average_at_start": load_at_start},
            "settings": {"seconds": seconds, "rounds": rounds, "threads": threads_list},
            "rows": rows, "sizes_bytes": sizes, "profiler_overhead": overhead, "headline": headline(rows)}


def _cpu() -> str:
    """The CPU as lscpu names it, with family/model and the SIMD that matters for INT8 (VNNI)."""
    try:
        info = dict(line.split(":", 1) for line in Path("/proc/cpuinfo").read_text().split("\n\n")[0].splitlines()
                    if ":" in line)
        info = {k.strip(): v.strip() for k, v in info.items()}
        flags = info.get("flags", "").split()
        simd = "AVX-512 with VNNI" if "avx512_vnni" in flags else "AVX-512" if "avx512f" in flags else \
            "AVX2" if "avx2" in flags else "no AVX2"
        return f"{info['model name']} (family {info.get('cpu family', '?')}, model {info.get('model', '?')}; {simd})"
    except (OSError, KeyError, ValueError):
        return platform.processor()


def _p50(rows: list[dict], model: str, runtime: str, threads: int, key: str = "p50_ms") -> float | None:
    return next((r.get(key) for r in rows if (r["model"], r["runtime"], r["threads"]) == (model, runtime, threads)), None)


def headline(rows: list[dict]) -> list[dict]:
    """Lite FP32 / onnxruntime FP32 and INT8 / FP32, per model and thread count."""
    out = []
    for model, threads in sorted({(r["model"], r["threads"]) for r in rows}):
        def ratio(a: str, b: str, key: str = "p50_ms"):
            x, y = _p50(rows, model, a, threads, key), _p50(rows, model, b, threads, key)
            return x / y if x and y else None

        out.append({"model": model, "threads": threads,
                    "lite_fp32_vs_ort_fp32": ratio("Lite FP32", "onnxruntime FP32"),
                    "lite_fp32_vs_ort_fp32_best_round": ratio("Lite FP32", "onnxruntime FP32", "best_round_p50_ms"),
                    "lite_int8_vs_lite_fp32": ratio("Lite INT8", "Lite FP32"),
                    "ort_int8_vs_ort_fp32": ratio("onnxruntime INT8", "onnxruntime FP32"),
                    "mindspore_vs_lite_fp32": ratio("MindSpore FP32", "Lite FP32"),
                    "opencv_vs_lite_fp32": ratio("OpenCV DNN FP32", "Lite FP32")})
    return out


# -- the document ---------------------------------------------------------------------------------
def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["rows"] if r.get("p50_ms")]
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models):
        labels = list(dict.fromkeys(r["runtime"] for r in rows if r["model"] == model))
        threads = sorted({r["threads"] for r in rows if r["model"] == model})
        height = 0.8 / len(threads)
        for i, t in enumerate(threads):
            values = [_p50(rows, model, label, t) or 0 for label in labels]
            ax.barh(np.arange(len(labels)) + i * height, values, height, label=f"{t} thread(s)")
        ax.set_yticks(np.arange(len(labels)) + height * (len(threads) - 1) / 2, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("median latency, ms (log)")
        ax.set_title(model)
        ax.grid(True, axis="x", which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _verdict_cell(row: dict) -> str:
    """Lite rows carry the converter's verification verdict (the source model in its reference runtime)."""
    verdict = row.get("verdict")
    return "—" if verdict is None else f"**{verdict}**" if verdict == "WRONG" else verdict


def _fmt(x, spec: str = "{:.2f}") -> str:
    return "—" if x is None else spec.format(x)


def markdown(result: dict, png: str) -> str:
    m = result["machine"]
    lines = ["# Lite next to its peers", "",
             f"Measured by `python bench/peers.py --json` on {m['cpu']} ({m['arch']}, {m['cores']} cores, "
             f"Python {m['python']}; load average {m['load_average_at_start'][0]} at the start); "
             f"one input at a time, {result['settings']['seconds']} s per runtime in "
             f"{result['settings']['rounds']} interleaved rounds. **Ratios are the headline**: absolute times "
             "move with the machine. Ratio = median latency / onnxruntime FP32 on the same model and threads "
             "(< 1: faster than onnxruntime). *Best round*: the same ratio of each runtime's quietest round "
             "(lowest per-round median), less sensitive to other work on a shared machine.", "",
             "## Headline", "", "| model | threads | Lite FP32 / ORT FP32 | (best round) | Lite INT8 / Lite FP32 | "
             "ORT INT8 / ORT FP32 | MindSpore / Lite FP32 | OpenCV / Lite FP32 |", "|---|---|---|---|---|---|---|---|"]
    for h in result["headline"]:
        lines.append(f"| {h['model']} | {h['threads']} | {_fmt(h['lite_fp32_vs_ort_fp32'])} | "
                     f"{_fmt(h['lite_fp32_vs_ort_fp32_best_round'])} | "
                     f"{_fmt(h['lite_int8_vs_lite_fp32'])} | {_fmt(h['ort_int8_vs_ort_fp32'])} | "
                     f"{_fmt(h['mindspore_vs_lite_fp32'])} | {_fmt(h['opencv_vs_lite_fp32'])} |")
    goal = [h for h in result["headline"] if h["model"] == "mobilenet" and h["lite_fp32_vs_ort_fp32"]]
    if goal:
        met = all(h["lite_fp32_vs_ort_fp32"] <= 1.0 for h in goal)  # judged on the plain medians
        lines += ["", f"**Goal: Lite FP32 ≤ 1.0× onnxruntime FP32 on the MobileNet-class model at 1 and 2 threads — "
                      f"{'met' if met else 'not met'} in this run** (" +
                  ", ".join(f"{h['lite_fp32_vs_ort_fp32']:.2f}× at {h['threads']} thread(s), best round "
                            f"{_fmt(h['lite_fp32_vs_ort_fp32_best_round'])}×" for h in goal) + ")."]
    lines += ["", f"![median latency per runtime]({png})", "", "## All runs", "",
              "| model | runtime | threads | p50 ms | p90 ms | mean ± std ms | runs | × ORT FP32 | verification |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        if "p50_ms" in r:
            lines.append(f"| {r['model']} | {r['runtime']} | {r['threads']} | {r['p50_ms']:.3f} | {r['p90_ms']:.3f} | "
                         f"{r['mean_ms']:.3f} ± {r['std_ms']:.3f} | {r['runs']} | {_fmt(r['ratio_vs_ort_fp32'])} | "
                         f"{_verdict_cell(r)} |")
    verdicts = {(r["model"], r["runtime"]): r["summary"] for r in result["rows"] if r.get("summary")}
    if verdicts:
        lines += ["", "## Verification of the Lite artifacts", "",
                  "Every Lite artifact is run against its source model in the reference runtime at conversion "
                  "(`converters/verify.py`); a WRONG one is still timed here, and its verdict shown.", "",
                  "| model | runtime | verdict |", "|---|---|---|"]
        lines += [f"| {model} | {runtime} | {summary} |" for (model, runtime), summary in verdicts.items()]
    failed = {(r["model"], r["runtime"]): r["error"] for r in result["rows"] if "error" in r}
    if failed:
        lines += ["", "## Not measured", "", "| model | runtime | why |", "|---|---|---|"]
        lines += [f"| {model} | {runtime} | {why} |" for (model, runtime), why in failed.items()]
    lines += ["", "## Sizes (bytes)", "", "| model | file | bytes |", "|---|---|---|"]
    lines += [f"| {model} | {k} | {v:,} |" for model, sizes in result["sizes_bytes"].items() for k, v in sizes.items()]
    if result["profiler_overhead"]:
        lines += ["", "## Profiler overhead", "",
                  "`app/core/measure/profiler.py` times each call with a `perf_counter_ns` pair, a list append and a "
                  "comparison. What that adds per call is measured on a no-op (timed loop vs bare `for` loop, "
                  "100k calls, medians of 7 rounds) and set against the model's bare per-call time. The direct "
                  "comparison on the model (alternating bare and timed rounds) is shown too: its noise on a "
                  "shared machine is larger than the cost itself.", "",
                  "| model | runtime | threads | added ns/call | bare µs/call | overhead | direct A/B |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {o['model']} | {o['runtime']} | {o['threads']} | {o['added_ns_per_call']:.0f} | "
                  f"{o['bare_us_per_call']:.1f} | **{o['overhead_pct']:.2f} %** | {o['direct_pct']:+.1f} % |"
                  for o in result["profiler_overhead"]]
        lines += ["", "The digits model is the fastest one here (~0.1 ms a call), so this is the worst case; "
                      "the limit is 2 %."]
    lines += ["", "## Notes", "",
              "- Lite INT8 is FULL_QUANT post-training quantization; on x86 Lite 2.0's INT8 kernels are far slower "
              "than FP32 (reported as measured). The INT8 .ms is the artifact for ARM devices.",
              "- Lite FP16 *weights*: stored as FP16, computed in FP32 on x86 (half the file, same speed class).",
              "- onnxruntime INT8: `quantize_static`, QDQ, per-channel, calibrated on the same "
              f"{CALIBRATION_SAMPLES} samples as Lite INT8.",
              "- MindSpore FP32: full MindSpore 2.10 in its own process (`nn.GraphCell` over the exported MindIR), "
              "threads set with `op_tuning.threads_num` and CPU affinity.",
              "- OpenCV DNN reads the face detector's TFLite itself (input NCHW) but returns only its first output.",
              "- The MobileNet-v1-class model has random weights (timing only).", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", nargs="?", const="-", help="write the result as JSON (to a file, or stdout)")
    parser.add_argument("--seconds", type=float, default=1.5, help="timed seconds per runtime")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--models", default="digits,face,mobilenet")
    parser.add_argument("--doc", default=str(ROOT / "docs/benchmarks.md"), help="markdown report ('' to skip)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(Path(args.worker).read_text()))))
        return 0
    result = run(args.models.split(","), [int(t) for t in args.threads.split(",")], args.seconds, args.rounds)
    if args.doc:
        doc = Path(args.doc)
        plot(result, doc.with_suffix(".png"))
        old = doc.read_text() if doc.is_file() else ""
        kept = old[old.index(KEPT):] if KEPT in old else KEPT + "\n"
        doc.write_text(markdown(result, doc.with_suffix(".png").name) + "\n" + kept)
    if args.json == "-":
        print(json.dumps(result, indent=2))
    elif args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    for h in result["headline"]:
        print(f"{h['model']:10s} {h['threads']} thread(s): Lite FP32 / ORT FP32 = {_fmt(h['lite_fp32_vs_ort_fp32'])}, "
              f"Lite INT8 / FP32 = {_fmt(h['lite_int8_vs_lite_fp32'])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

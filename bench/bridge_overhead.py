"""What the Python bridge adds per predict over Lite's own C++ Predict, measured in one run.

    python bench/bridge_overhead.py [--json out.json] [--rounds 7] [--iters 2000]

For each model: rounds alternate a bare C++ Predict loop (in the shim), the shim's whole predict
path in a C++ loop (bind, Predict, copy out), and a Python LiteModel.predict loop on the same bound
input; onnxruntime on the same ONNX runs alongside for context. Medians over rounds;
overhead = Python − bare C++ Predict per call. `python_side_only_us` stubs the foreign call out;
`lite_context_switches_per_predict` counts the process's context switches over the C++ Predict loop.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import onnx_models  # noqa: E402  (the same small models the tests build)

from converters.lite import LiteModel, convert  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def context_switches() -> int:
    """Context switches so far, summed over this process's threads (Lite's actor thread included)."""
    total = 0
    for task in Path("/proc/self/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if "ctxt_switches:" in line:  # voluntary and nonvoluntary
                    total += int(line.split()[-1])
        except OSError:
            continue
    return total


MODELS = {
    "digits_sample_1x1x28x28": lambda p: ROOT / "sample_models" / "digits" / "model.onnx",
    "tiny_cnn_1x3x16x16": lambda p: onnx_models.conv_net(p),
    "digits_like_cnn_1x1x28x28": onnx_models.gap_net,
    "mlp_3072_256_10": lambda p: onnx_models.mlp(p),
}


def per_call(fn, iters: int) -> float:
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - start) / iters


def measure(name: str, build, folder: Path, rounds: int, iters: int, threads: int) -> dict:
    import onnxruntime as ort

    src = build(folder / f"{name}.onnx")
    ms = convert(src, folder / f"{name}.ms", input_format="NCHW").path
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    session = ort.InferenceSession(str(src), opts, providers=["CPUExecutionProvider"])
    feed_name = session.get_inputs()[0].name
    with LiteModel(ms, threads=threads) as model:
        x = np.random.default_rng(0).standard_normal(model.inputs[0].shape).astype(np.float32)
        for _ in range(200):  # warm up both
            model.predict(x)
            session.run(None, {feed_name: x})
        frames = [x.copy() for _ in range(16)]  # a new array each call, as live frames are
        native, shim, python, fresh, onnxrt = [], [], [], [], []
        for _ in range(rounds):
            native.append(model.time_native_predict(iters))
            shim.append(model.time_shim_call(iters))
            python.append(per_call(lambda: model.predict(x), iters))
            calls = iter(range(1 << 62))
            fresh.append(per_call(lambda: model.predict(frames[next(calls) % 16]), iters))
            onnxrt.append(per_call(lambda: session.run(None, {feed_name: x}), iters))
    # Rounds alternate, so the machine's state is shared; the median round is reported.
        before = context_switches()
        model.time_native_predict(iters)
        switches = (context_switches() - before) / iters  # Lite hands each run to its actor thread and back
        real_call = model._predict
        model._predict = lambda *args: 0  # the Python side alone: everything but the foreign call
        python_only = per_call(lambda: model.predict(x), iters)
        model._predict = real_call
    us = lambda values: statistics.median(values) * 1e6  # noqa: E731
    return {"model": name, "threads": threads, "lite_cpp_predict_us": round(us(native), 2),
            "shim_call_cpp_loop_us": round(us(shim), 2),
            "python_side_only_us": round(python_only * 1e6, 2),
            "lite_python_predict_us": round(us(python), 2),
            "bridge_overhead_us": round(us(python) - us(native), 2),
            "lite_python_new_array_each_call_us": round(us(fresh), 2),
            "bridge_overhead_new_array_us": round(us(fresh) - us(native), 2),
            "onnxruntime_python_us": round(us(onnxrt), 2),
            "lite_python_vs_onnxruntime": round(us(python) / us(onnxrt), 2),
            "lite_context_switches_per_predict": round(switches, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write results here")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(name, build, Path(tmp), args.rounds, args.iters, args.threads)
                for name, build in MODELS.items()]
    report = {"machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
              "date": time.strftime("%Y-%m-%d"), "rounds": args.rounds, "iters": args.iters, "results": rows}
    text = json.dumps(report, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

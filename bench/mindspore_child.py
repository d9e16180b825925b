"""Full MindSpore inside the "mindspore_bench" child (it cannot share a process with Lite).

Two actions for bench/peers.py:
  time             — time a MindSpore-exported .mindir (nn.GraphCell) with N CPU threads
  export_mobilenet — build a MobileNet-v1-class 224×224 CNN (random weights) and export it as
                     ONNX (for Lite, onnxruntime, OpenCV) and MINDIR (for MindSpore itself; Lite 2.0
                     rejects MindSpore 2.10's MindIR, so Lite gets the ONNX)
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def _mindspore(threads: int = 0):
    """Import MindSpore with its CPU kernels limited to `threads` (0: all), in this process only."""
    from app.core.files import enter_mindspore_scratch

    enter_mindspore_scratch()
    if threads and hasattr(os, "sched_setaffinity"):  # also keeps MindSpore's other pools on those cores
        cores = sorted(os.sched_getaffinity(0))[:threads]
        os.sched_setaffinity(0, cores)
    from app.core.models.mindspore_cpu import prepare_environment

    prepare_environment()  # oneDNN's fast kernels on AVX-512 CPUs (see mindspore_cpu)
    import mindspore as ms

    if threads:
        ms.device_context.cpu.op_tuning.threads_num(threads)
    return ms


def time_mindir(params: dict) -> dict:
    from app.core.measure.profiler import example_input, summarize, timed_loop

    model = str(Path(params["model"]).resolve())  # before _mindspore() changes the cwd
    ms = _mindspore(params.get("threads", 0))
    from mindspore import Tensor, nn

    net = nn.GraphCell(ms.load(model))
    x = Tensor(example_input(tuple(params["shape"])))

    def predict(t):
        out = net(t)
        return [o.asnumpy() for o in (out if isinstance(out, (tuple, list)) else [out])]

    for _ in range(params.get("warmup", 3)):
        predict(x)
    times = timed_loop(predict, x, params.get("seconds", 1.0), params.get("min_runs", 10),
                       params.get("max_seconds", 30.0))
    samples = [t / 1e6 for t in times]
    return {"runtime": "mindspore", "mindspore": ms.__version__, "threads": params.get("threads", 0),
            "runs": len(samples), **summarize(samples), "samples_ms": samples}


def _mobilenet_v1(nn, classes: int = 1000):
    """MobileNet v1 (width 1.0): 3×3 conv, then 13 depthwise-separable blocks; ONNX-exportable ops only."""

    def conv_bn(cin: int, cout: int, stride: int, groups: int = 1, kernel: int = 3):
        return [nn.Conv2d(cin, cout, kernel, stride, pad_mode="pad", padding=kernel // 2, group=groups,
                          has_bias=False), nn.BatchNorm2d(cout), nn.ReLU6()]

    plan = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2),
            *[(512, 512, 1)] * 5, (512, 1024, 2), (1024, 1024, 1)]
    layers = conv_bn(3, 32, 2)
    for cin, cout, stride in plan:
        layers += conv_bn(cin, cin, stride, groups=cin) + conv_bn(cin, cout, 1, kernel=1)
    layers += [nn.AvgPool2d(7, 7), nn.Flatten(), nn.Dense(1024, classes)]  # no AdaptiveAvgPool: no ONNX export
    return nn.SequentialCell(layers)


def export_mobilenet(params: dict) -> dict:
    folder = Path(params["folder"]).resolve()
    ms = _mindspore()
    from mindspore import Tensor, nn

    ms.set_seed(params.get("seed", 0))
    net = _mobilenet_v1(nn)
    net.set_train(False)
    folder.mkdir(parents=True, exist_ok=True)
    example = Tensor(np.zeros((1, 3, 224, 224), np.float32))
    paths = {}
    for fmt, suffix in (("ONNX", ".onnx"), ("MINDIR", ".mindir")):
        ms.export(net, example, file_name=str(folder / "mobilenet_v1"), file_format=fmt)
        paths[fmt.lower()] = str(folder / f"mobilenet_v1{suffix}")
        Path(paths[fmt.lower()]).chmod(0o644)  # MindSpore writes them owner-read-only
    return {**paths, "parameters": int(sum(p.size for p in net.trainable_params())), "input_shape": [1, 3, 224, 224]}


ACTIONS = {"time": time_mindir, "export_mobilenet": export_mobilenet}


def run_in_child(params: dict, state) -> dict:
    action = params.get("action", "time")
    if action not in ACTIONS:
        raise ValueError(f"unknown mindspore_bench action {action!r}: {', '.join(ACTIONS)}")
    return ACTIONS[action](params)

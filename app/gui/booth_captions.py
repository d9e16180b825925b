"""What booth mode says, in words a passer-by reads in two seconds, and only what is true: captions
built from the numbers measured now (pipeline stats, file sizes, held-out top-1), never fixed claims,
and a friendly line for each kind of trouble (the raw error goes to the log for the staff)."""
from __future__ import annotations

import os

from converters.targets import TIER_INFO

# Threads: on a 2-core box a Lite model at 2 threads runs SLOWER than at 1 when another model runs
# beside it (measured: face FP32 12 FPS at 2 threads vs 30 at 1), so the edge tier takes the cores
# the device tier and the camera leave free, and its label says how many it got.
EDGE_THREADS = max(1, min(4, (os.cpu_count() or 1) - 1))
DEVICE_THREADS = 1


def _threads(n: int) -> str:
    return f"{n} thread" + ("" if n == 1 else "s")


TIER_LABELS = {
    "edge": f"{TIER_INFO['edge'].label.upper()} · Lite FP32 · {_threads(EDGE_THREADS)}",
    "device": f"{TIER_INFO['device'].label.upper()} · Lite INT8 · {_threads(DEVICE_THREADS)}",
    "cloud": f"{TIER_INFO['cloud'].label.upper()} · MindSpore FP32 over HTTP",
}

FRIENDLY = {
    "camera": "The camera stopped sending pictures: reconnecting…",
    "model": "One of the models stopped: restarting the live view…",
    "stalled": "The picture froze: restarting the live view…",
    "start": "This scene could not start: trying again…",
    "cloud": "The cloud server stopped: restarting it (edge and device carry on)…",
}


def friendly(kind: str) -> str:
    return FRIENDLY.get(kind, FRIENDLY["model"])


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def kilobytes(size: int) -> str:
    return f"{size / 1024:.0f} kB" if size < 10 * 2**20 else f"{size / 2**20:.1f} MB"


def int8_slower(edge_ms: float | None, device_ms: float | None) -> bool:
    return edge_ms is not None and device_ms is not None and device_ms > edge_ms


X86_INT8 = "Lite 2.0's INT8 runs slower than FP32 on x86 PCs like this one: the device tier's INT8 targets ARM boards"


def panes_caption(source_name: str, agreement: float | None, skipped: int, slower_int8: bool = False) -> str:
    """Two panes fed by one source: each shows the newest frame its model finished, so the slower
    model's pane lags and skips frames (saying "the same frames" would be false)."""
    source = "your camera" if source_name.startswith(("/dev/video", "camera")) or source_name.isdigit() \
        else "a built-in synthetic scene"
    text = f"One source ({source}) feeds both models; each pane shows the newest frame its model finished"
    if skipped:
        text += ", so the slower one skips frames"
    text += "."
    if agreement is not None:
        text += f" INT8 agrees with FP32 on {pct(agreement)} of the frames both saw."
    if slower_int8:
        text += f" {X86_INT8}."
    return text


def race_caption(cloud: str, slower_int8: bool = False) -> str:
    """cloud: 'running', 'starting' or why it is not there."""
    text = "Milliseconds per frame for the same digits CNN on each tier, measured now (median; shorter wins)."
    if slower_int8:
        text += f" {X86_INT8}."
    if cloud == "running":
        text += " The cloud server runs on this machine: a real network adds its round trip."
    elif cloud in ("starting", "restarting"):
        text += " The cloud tier joins when its MindSpore server has started."
    else:
        text += f" Cloud tier: {cloud}."
    return text


def shrink_caption(sizes: dict | None) -> str:
    if not sizes:
        return "Measuring the model files…"
    ratio = sizes["edge"] / max(1, sizes["device"])
    return (f"The same digits CNN, file by file: INT8 quantization makes the device model {ratio:.1f}× smaller "
            f"than the edge's FP32 ({kilobytes(sizes['edge'])} → {kilobytes(sizes['device'])}).")


def accuracy_caption(facts: dict | None) -> str:
    if not facts:
        return "Measuring top-1 on the held-out digits…"
    top1 = facts["top1"]
    drop = 100 * (top1["edge"] - top1["device"])
    change = f"costs {drop:.1f} points" if drop > 0.05 else "costs nothing measurable"
    return (f"Top-1 on {facts['samples']} held-out digits (cloud: as measured at training). "
            f"Shrinking to INT8 {change}: {pct(top1['edge'])} → {pct(top1['device'])}.")

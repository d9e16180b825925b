"""Tests on a busy, shared machine: waits that scale with the measured load, and leaks judged as a trend.

A wait sized on a quiet machine times out when other work holds the cores (CI beside other jobs, a
developer's build): `scaled(s)` stretches it by the load per core, read when the wait starts. A count
taken once before and once after (threads, descriptors) also moves for reasons of its own — an earlier
test's pool thread ending late, a collector freeing an old pipe — so a leak is judged over repeated
cycles instead: it is growth that goes on cycle after cycle (`growing`), not one step.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Sequence

MAX_STRETCH = 8.0  # a wait never grows past this many times its quiet-machine length


def load_per_core() -> float:
    """The 1-minute load average per core (1.0: every core busy)."""
    return os.getloadavg()[0] / (os.cpu_count() or 1)


def stretch() -> float:
    """How much longer than on a quiet machine things take now: 1 up to a load of one per core, then the
    load per core (two runnable processes per core: each gets half), at most MAX_STRETCH."""
    return min(MAX_STRETCH, max(1.0, load_per_core()))


def scaled(seconds: float) -> float:
    """A quiet-machine wait, stretched by the load now."""
    return seconds * stretch()


def wait_until(condition: Callable[[], object], seconds: float, interval: float = 0.1) -> bool:
    """Poll `condition` until it holds or scaled(seconds) have passed; whether it held."""
    deadline = time.monotonic() + scaled(seconds)
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return bool(condition())
        time.sleep(interval)


def slope(values: Sequence[float]) -> float:
    """The least-squares slope of values over their index (per cycle)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    return num / sum((x - mean_x) ** 2 for x in range(n))


def growing(values: Sequence[float], per_cycle: float) -> bool:
    """A leak: over the second half of the cycles (after any warm-up plateau) the fitted slope is at least
    `per_cycle`, the value rose in at least two of its cycles, and the last value is above every value of the
    first half — growth that goes on. A level that steps once (an earlier test's thread ending or starting
    meanwhile) and then stays is not one."""
    if len(values) < 4:
        raise ValueError(f"a trend needs at least 4 cycles, got {len(values)}")
    half = len(values) // 2
    tail = list(values[half:])
    rises = sum(b > a for a, b in zip(tail, tail[1:]))
    return slope(tail) >= per_cycle and rises >= 2 and values[-1] > max(values[:half])


def scaled_ms(milliseconds: int) -> int:
    """scaled() for Qt's waits (qtbot.waitUntil(…, timeout=ms))."""
    return int(milliseconds * stretch())

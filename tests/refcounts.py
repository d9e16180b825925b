"""A guard for references to None, True and False (not immortal on Python 3.11).

A C extension that returns one of them without taking a reference makes its count fall by one per
call; at zero Python aborts ("Fatal Python error: none_dealloc"). The guard counts them around a block,
gives back what the block lost (so one failing test does not end the whole run with a fatal error)
and fails if the loss is over a small bound. A growing count is not checked: that leaks nothing.
"""
from __future__ import annotations

import gc
import time
from typing import Callable

from app.gui.binding_check import restore, singleton_refcounts

BOUND = 50  # other threads (Lite's pool, the pipeline) hold a few references that come and go


def bound_for(calls: int) -> int:
    """What a block of `calls` may lose: other threads of the test process (an earlier test's pipeline or
    server winding down) free objects meanwhile — up to a few hundred references in a full run on busy
    cores — while the defect this guards against loses one per call (4,994 of 5,000 measured)."""
    return max(BOUND, calls // 10)


class SingletonGuard:
    def __init__(self, what: str, calls: int, bound: int | None = None) -> None:
        self.what, self.calls, self.bound = what, calls, bound if bound is not None else bound_for(calls)
        self.lost: dict[str, int] = {}

    def __enter__(self) -> "SingletonGuard":
        gc.collect()  # garbage from before the block must not be freed (and counted) inside it
        self.before = singleton_refcounts()
        return self

    def __exit__(self, *exc) -> None:
        after = singleton_refcounts()
        self.lost = {name: self.before[name] - after[name] for name in after}
        restore(self.lost)
        print(f"\n{self.what}: references lost over {self.calls} calls: {self.lost}")

    def check(self) -> None:
        worst = max(self.lost.values())
        assert worst <= self.bound, (
            f"{self.what}: lost {self.lost} references to None/True/False over {self.calls} calls "
            f"(bound {self.bound}); on Python 3.11 that ends in 'Fatal Python error: none_dealloc'")


def check_calls(what: str, fn: Callable[[], object], calls: int, bound: int | None = None,
                warmup: int = 50) -> dict:
    """Call fn() `calls` times under the guard (after a warm-up that fills caches); fail on a loss."""
    for _ in range(warmup):
        fn()
    with SingletonGuard(what, calls, bound) as guard:
        for _ in range(calls):
            fn()
    guard.check()
    return guard.lost


class NoneSlope:
    """None's refcount sampled once a second by the caller (a Qt timer or a loop): the slope per second
    of a straight-line fit, which is what the issue measured on the Live page (−61.6/s before the fix)."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int]] = []
        self._t0 = time.monotonic()

    def sample(self) -> None:
        self.samples.append((time.monotonic() - self._t0, singleton_refcounts()["None"]))

    def per_second(self) -> float:
        if len(self.samples) < 3:
            return 0.0
        n = len(self.samples)
        mt = sum(t for t, _ in self.samples) / n
        mv = sum(v for _, v in self.samples) / n
        var = sum((t - mt) ** 2 for t, _ in self.samples)
        return sum((t - mt) * (v - mv) for t, v in self.samples) / var if var else 0.0

    def restore_lost(self) -> int:
        """Give back what was lost between the first and last sample (the run may go on after a failure)."""
        lost = self.samples[0][1] - self.samples[-1][1] if self.samples else 0
        restore({"None": lost})
        return lost

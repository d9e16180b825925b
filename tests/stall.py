"""Fails a GUI test when the GUI thread is blocked for more than `limit_ms`.

Each timer tick measures the wall-clock gap since the last one and how much CPU the GUI thread
itself used in that gap (time.thread_time). A long gap in which the GUI thread was busy is the app
blocking its own event loop: over `limit_ms` it fails. A long gap in which it used little CPU is the
2-core machine being saturated by the test's own child processes (the OS did not schedule us); that
fails only past `gross_ms`, stretched by the machine's load per core (tests/busy.py: other work on the
cores delays every tick by itself). A watchdog thread notes where the GUI thread was, so a failure says why.
"""
from __future__ import annotations

import sys
import threading
import time
import traceback

from busy import stretch
from PySide6.QtCore import QTimer


class StallDetector:
    def __init__(self, limit_ms: float = 100.0, gross_ms: float = 300.0, tick_ms: int = 10) -> None:
        self.limit_ms, self.gross_ms = limit_ms, gross_ms
        self.worst_busy_ms = 0.0  # longest gap in which the GUI thread was mostly running
        self.worst_ms = 0.0  # longest gap of any kind
        self.worst_stack = ""
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._timer = QTimer()
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._tick)
        self._gui_thread = threading.get_ident()
        self._stop = threading.Event()

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        gap_ms, cpu_ms = (now - self._last) * 1000, (cpu - self._last_cpu) * 1000
        self.worst_ms = max(self.worst_ms, gap_ms)
        if cpu_ms >= 0.5 * gap_ms:
            self.worst_busy_ms = max(self.worst_busy_ms, gap_ms)
        self._last, self._last_cpu = now, cpu

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            gap_ms = (time.perf_counter() - self._last) * 1000
            if gap_ms > self.limit_ms * 0.6:
                frame = sys._current_frames().get(self._gui_thread)
                if frame is not None:
                    self.worst_stack = f"at {gap_ms:.0f} ms:\n" + "".join(traceback.format_stack(frame)[-30:])

    def __enter__(self) -> "StallDetector":
        self._stretch = stretch()
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self._timer.start()
        threading.Thread(target=self._watch, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.stop()
        self._stop.set()

    def check(self) -> None:
        gross_ms = self.gross_ms * max(getattr(self, "_stretch", 1.0), stretch())  # the busier of start and end
        assert self.worst_busy_ms <= self.limit_ms and self.worst_ms <= gross_ms, (
            f"GUI thread blocked: {self.worst_busy_ms:.0f} ms busy (limit {self.limit_ms:.0f}), "
            f"{self.worst_ms:.0f} ms in all (limit {gross_ms:.0f} at this load); last seen {self.worst_stack}")

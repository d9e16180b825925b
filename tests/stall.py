"""Fails a GUI test when the GUI thread stops turning its event loop for more than `limit_ms`.

A watchdog thread notes where the GUI thread was during the longest stall, so a failure says why.
"""
from __future__ import annotations

import sys
import threading
import time
import traceback

from PySide6.QtCore import QTimer


class StallDetector:
    def __init__(self, limit_ms: float = 100.0, tick_ms: int = 10) -> None:
        self.limit_ms = limit_ms
        self.worst_ms = 0.0
        self.worst_stack = ""
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._tick)
        self._gui_thread = threading.get_ident()
        self._stop = threading.Event()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst_ms = max(self.worst_ms, (now - self._last) * 1000)
        self._last = now

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            gap_ms = (time.perf_counter() - self._last) * 1000
            if gap_ms > self.limit_ms * 0.6:
                frame = sys._current_frames().get(self._gui_thread)
                if frame is not None:
                    self.worst_stack = f"at {gap_ms:.0f} ms:\n" + "".join(traceback.format_stack(frame)[-30:])

    def __enter__(self) -> "StallDetector":
        self._last = time.perf_counter()
        self._timer.start()
        threading.Thread(target=self._watch, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.stop()
        self._stop.set()

    def check(self) -> None:
        assert self.worst_ms <= self.limit_ms, \
            f"GUI thread blocked for {self.worst_ms:.0f} ms; last seen {self.worst_stack}"

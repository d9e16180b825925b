"""Record the next N seconds of a window to an MP4, ready to share: a QTimer grabs the window
(QWidget.grab(), GUI thread, up to 15 times a second) and a ClipWriter thread encodes. Only a grab
that differs from the last one recorded is kept — a new live frame, a new caption — so a loaded
machine gives fewer frames, never repeats; the file states the real rate (frames ÷ seconds) and
plays as long as it was recorded. The REC indicator shows that rate while recording.

A grab renders the whole window on the GUI thread (tens of ms on a loaded machine), so when the
caller can count its new live frames (`frames`), the window is grabbed only after a new one, and
once a second for anything else that changed (captions, the REC clock)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from app.core.live.clip_writer import ClipWriter, new_clip_path

CLIP_FPS = 15


def grab_rgb(widget: QWidget) -> np.ndarray:
    """What the widget shows now, as an H×W×3 RGB array (a copy)."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    rows = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return rows[:, :w * 3].reshape(h, w, 3).copy()


def clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class ClipRecorder(QObject):
    """One recording at a time. `changed` fires when it starts, each second, and when the file is
    saved (`saved`) or failed (`error`, one line)."""

    changed = Signal()

    def __init__(self, widget: QWidget, fps: int = CLIP_FPS, frames: Callable[[], int] | None = None) -> None:
        """frames: how many live frames the window has shown so far (None: grab at every tick)."""
        super().__init__(widget)
        self.widget, self.fps, self._frames = widget, fps, frames
        self._seen: int | None = None  # frames() at the last grab
        self._grabbed_at = 0.0
        self.writer: ClipWriter | None = None
        self.path: Path | None = None
        self.saved: Path | None = None
        self.error: str | None = None
        self.seconds, self.written, self.grabs, self.started = 0.0, 0, 0, 0.0
        self.real_fps: float | None = None  # of the last clip saved
        self._last: np.ndarray | None = None
        self._shown_second = -1
        self.grab_timer = QTimer(self, interval=max(1, round(1000 / fps)), timeout=self._grab)
        self.finish_timer = QTimer(self, interval=100, timeout=self._check_finished)

    @property
    def recording(self) -> bool:
        return self.writer is not None

    @property
    def elapsed(self) -> float:
        return min(self.seconds, time.monotonic() - self.started) if self.recording else 0.0

    def start(self, folder: Path, seconds: float) -> Path:
        """Begin recording the next `seconds` into a new file in `folder`; returns its path."""
        if self.recording:
            return self.path
        self.path, self.saved, self.error, self.real_fps = new_clip_path(folder), None, None, None
        self.seconds, self.written, self.grabs, self._last = float(seconds), 0, 0, None
        self._seen, self._grabbed_at = None, 0.0
        self.writer = ClipWriter(self.path, self.fps)
        self.started, self._shown_second = time.monotonic(), -1
        self.grab_timer.start()
        self._grab()
        return self.path

    @property
    def rate(self) -> float:
        """Distinct frames per second recorded so far."""
        return self.written / self.elapsed if self.recording and self.elapsed >= 1.0 else 0.0

    def status_text(self) -> str:
        if self.recording:
            rate = f" · {self.rate:.1f} fps" if self.rate else ""
            return f"● REC {clock(self.elapsed)} / {clock(self.seconds)}{rate}"
        if self.error:
            return "The clip could not be saved"
        return ""

    def _grab(self) -> None:
        if self.writer is None:
            return
        elapsed = time.monotonic() - self.started
        seen = self._frames() if self._frames is not None else None
        due = seen is None or seen != self._seen or elapsed - self._grabbed_at >= 1.0
        if elapsed < self.seconds and due:
            self._seen, self._grabbed_at = seen, elapsed
            rgb = grab_rgb(self.widget)
            self.grabs += 1
            if self._last is None or rgb.shape != self._last.shape or not np.array_equal(rgb, self._last):
                self.writer.add(rgb)  # a new picture: the same one again is not recorded
                self._last, self.written = rgb, self.written + 1
        if int(elapsed) != self._shown_second:
            self._shown_second = int(elapsed)
            self.changed.emit()
        if elapsed >= self.seconds or self.writer.error:
            self.grab_timer.stop()
            self._last = None
            self.writer.finish(min(elapsed, self.seconds))
            self.finish_timer.start()

    def _check_finished(self) -> None:
        if self.writer is None or not self.writer.done:
            return
        self.finish_timer.stop()
        writer, self.writer = self.writer, None
        if writer.error or writer.frames == 0:
            self.error = writer.error or "no frame was recorded"
        else:
            self.saved, self.real_fps = self.path, writer.real_fps
        self.changed.emit()

    def shutdown(self) -> None:
        """Leaving mid-recording: keep what was recorded (a shorter clip), stop the thread."""
        self.grab_timer.stop()
        self.finish_timer.stop()
        if self.writer is not None:
            self.writer.close(min(time.monotonic() - self.started, self.seconds))
            self.writer = None

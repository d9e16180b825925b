"""Record the next N seconds of a window to an MP4, ready to share: a QTimer grabs the window
(QWidget.grab(), GUI thread, ~15 fps) and a ClipWriter thread encodes. The clip follows the wall
clock, so it plays as long as it was recorded even when a grab comes late."""
from __future__ import annotations

import time
from pathlib import Path

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

    def __init__(self, widget: QWidget, fps: int = CLIP_FPS) -> None:
        super().__init__(widget)
        self.widget, self.fps = widget, fps
        self.writer: ClipWriter | None = None
        self.path: Path | None = None
        self.saved: Path | None = None
        self.error: str | None = None
        self.seconds, self.total, self.written, self.started = 0.0, 0, 0, 0.0
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
        self.path, self.saved, self.error = new_clip_path(folder), None, None
        self.seconds, self.total, self.written = float(seconds), max(1, round(seconds * self.fps)), 0
        self.writer = ClipWriter(self.path, self.fps)
        self.started, self._shown_second = time.monotonic(), -1
        self.grab_timer.start()
        self._grab()
        return self.path

    def status_text(self) -> str:
        if self.recording:
            return f"● REC {clock(self.elapsed)} / {clock(self.seconds)}"
        if self.error:
            return "The clip could not be saved"
        return ""

    def _grab(self) -> None:
        if self.writer is None:
            return
        elapsed = time.monotonic() - self.started
        due = min(self.total, int(elapsed * self.fps) + 1)  # frames the wall clock asks for by now
        if due > self.written:
            self.writer.add(grab_rgb(self.widget), due - self.written)
            self.written = due
        if int(elapsed) != self._shown_second:
            self._shown_second = int(elapsed)
            self.changed.emit()
        if self.written >= self.total or self.writer.error:
            self.grab_timer.stop()
            self.writer.finish()
            self.finish_timer.start()

    def _check_finished(self) -> None:
        if self.writer is None or not self.writer.done:
            return
        self.finish_timer.stop()
        writer, self.writer = self.writer, None
        if writer.error or writer.frames == 0:
            self.error = writer.error or "no frame was recorded"
        else:
            self.saved = self.path
        self.changed.emit()

    def shutdown(self) -> None:
        """Leaving mid-recording: keep what was recorded (a shorter clip), stop the thread."""
        self.grab_timer.stop()
        self.finish_timer.stop()
        if self.writer is not None:
            self.writer.close()
            self.writer = None

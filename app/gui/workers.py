"""Long jobs off the GUI thread: a plain core function runs in a QThread and reports through
Qt signals. The function gets `progress(fraction, message)` and a `cancel` threading.Event,
the Orange3 way; its result or exception comes back on the GUI thread."""
from __future__ import annotations

import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot


class Job(QObject):
    progress = Signal(float, str)
    event = Signal(dict)  # free-form events (e.g. training steps)
    finished = Signal(object)
    failed = Signal(str, str)  # message, details

    def __init__(self, fn: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__()
        self._fn, self._kwargs = fn, kwargs
        self.cancel_event = threading.Event()

    @Slot()
    def run(self) -> None:
        try:
            result = self._fn(progress=self.progress.emit, emit=self.event.emit, cancel=self.cancel_event,
                              **self._kwargs)
        except Exception as exc:  # every failure becomes a dialog, never a crash
            self.failed.emit(str(exc) or type(exc).__name__, getattr(exc, "log", "") or traceback.format_exc())
        else:
            self.finished.emit(result)

    def cancel(self) -> None:
        self.cancel_event.set()


class JobRunner(QObject):
    """Owns the threads of running jobs; keeps references until they end."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[Job, QThread] = {}

    def start(self, fn: Callable[..., Any], *, on_done=None, on_error=None, on_progress=None, on_event=None,
              **kwargs: Any) -> Job:
        job = Job(fn, **kwargs)
        thread = QThread(self)
        job.moveToThread(thread)
        thread.started.connect(job.run)
        for signal, slot in ((job.finished, on_done), (job.failed, on_error), (job.progress, on_progress),
                             (job.event, on_event)):
            if slot is not None:
                signal.connect(slot)
        job.finished.connect(thread.quit)
        job.failed.connect(thread.quit)
        thread.finished.connect(lambda: self._forget(job))
        self._running[job] = thread
        thread.start()
        return job

    def _forget(self, job: Job) -> None:
        thread = self._running.pop(job, None)
        if thread is not None:
            thread.deleteLater()
        job.deleteLater()

    def busy(self) -> bool:
        return bool(self._running)

    def stop_all(self, wait_ms: int = 10000) -> None:
        for job, thread in list(self._running.items()):
            job.cancel()
            thread.quit()
            thread.wait(wait_ms)

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


class _Relay(QObject):
    """Lives in the GUI thread and calls a job's callbacks there. A signal connected straight to
    a lambda runs it in the emitting (worker) thread, and a widget touched from there crashes Qt."""

    def __init__(self, parent: QObject, on_done, on_error, on_progress, on_event) -> None:
        super().__init__(parent)
        self.on_done, self.on_error, self.on_progress, self.on_event = on_done, on_error, on_progress, on_event

    @Slot(object)
    def deliver_done(self, result: Any) -> None:
        if self.on_done is not None:
            self.on_done(result)

    @Slot(str, str)
    def deliver_error(self, message: str, details: str) -> None:
        if self.on_error is not None:
            self.on_error(message, details)

    @Slot(float, str)
    def deliver_progress(self, fraction: float, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(fraction, message)

    @Slot(dict)
    def deliver_event(self, event: dict) -> None:
        if self.on_event is not None:
            self.on_event(event)


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
        relay = _Relay(self, on_done, on_error, on_progress, on_event)  # created here: the GUI thread
        job.finished.connect(relay.deliver_done)
        job.failed.connect(relay.deliver_error)
        job.progress.connect(relay.deliver_progress)
        job.event.connect(relay.deliver_event)
        job.finished.connect(thread.quit)
        job.failed.connect(thread.quit)
        thread.finished.connect(lambda: self._forget(job, relay))
        self._running[job] = thread
        thread.start()
        return job

    def _forget(self, job: Job, relay: _Relay) -> None:
        thread = self._running.pop(job, None)
        if thread is not None:
            thread.deleteLater()
        job.deleteLater()
        relay.deleteLater()

    def busy(self) -> bool:
        return bool(self._running)

    def stop_all(self, wait_ms: int = 10000) -> None:
        for job, thread in list(self._running.items()):
            job.cancel()
            thread.quit()
            thread.wait(wait_ms)

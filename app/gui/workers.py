"""Long jobs off the GUI thread: a plain core function `fn(state, **kwargs)` runs in a QThread with a
JobState whose progress and events come back as Qt signals, the Orange3 way; its result or exception
comes back on the GUI thread. Cancel sets the state's flag; the job raises `Cancelled`."""
from __future__ import annotations

import traceback
import weakref
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from jobs.state import JobState


class Job(QObject):
    progress = Signal(float, str)
    event = Signal(dict)  # free-form events (e.g. training steps)
    finished = Signal(object)
    failed = Signal(object)  # the exception (a Cancelled one too: dialogs tell them apart by type)

    def __init__(self, fn: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__()
        self._fn, self._kwargs = fn, kwargs
        self.state = JobState(on_progress=self.progress.emit, on_event=self.event.emit)

    @Slot()
    def run(self) -> None:
        try:
            result = self._fn(self.state, **self._kwargs)
        except Exception as exc:  # every failure becomes a dialog, never a crash
            if not getattr(exc, "log", ""):
                exc.details = traceback.format_exc()
            _drop_frames(exc)
            self.failed.emit(exc)
        else:
            self.finished.emit(result)
        finally:
            # Back to the GUI thread: the runner's deleteLater() would be posted to this job's thread,
            # which has finished by then and never processes it (no Job was ever deleted).
            self.moveToThread(QCoreApplication.instance().thread())
            # PySide still keeps a finished Job's wrapper alive (references Python's gc cannot see): let go
            # of the function, its arguments and what their closures hold (a whole booth window, found
            # by tests/test_gui_soak.py), so that only the small Job shell remains.
            self._fn = self._kwargs = None

    def cancel(self) -> None:
        self.state.cancel()


def _drop_frames(exc: BaseException) -> None:
    """Let go of the frames an exception's traceback keeps alive (their text is in exc.details by now).
    Whoever keeps the error — a log record does (the booth logs its cloud failure with it, and pytest's
    log capture keeps every record) — kept the job's closure with it: a whole booth window per booth round
    in the 30-minute GUI soak, a slow climb of RSS (+86 MB)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc.__traceback__ = None
        exc = exc.__cause__ or exc.__context__


def error_details(exc: BaseException) -> str:
    """What a details pane shows: the child's log, else the traceback."""
    return getattr(exc, "log", "") or getattr(exc, "details", "")


class _Relay(QObject):
    """Lives in the GUI thread and calls a job's callbacks there. A signal connected straight to
    a lambda runs it in the emitting (worker) thread, and a widget touched from there crashes Qt."""

    def __init__(self, runner: "JobRunner", job: Job, on_done, on_error, on_progress, on_event) -> None:
        super().__init__()  # no Qt parent: see JobRunner
        self.on_done, self.on_error, self.on_progress, self.on_event = on_done, on_error, on_progress, on_event
        self._runner, self._job = weakref.ref(runner), job

    @Slot()
    def thread_finished(self) -> None:
        runner = self._runner()
        if runner is not None:
            runner._forget(self._job)

    @Slot(object)
    def deliver_done(self, result: Any) -> None:
        if self.on_done is not None:
            self.on_done(result)

    @Slot(object)
    def deliver_error(self, exc: Exception) -> None:
        if self.on_error is not None:
            self.on_error(exc)

    @Slot(float, str)
    def deliver_progress(self, fraction: float, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(fraction, message)

    @Slot(dict)
    def deliver_event(self, event: dict) -> None:
        if self.on_event is not None:
            self.on_event(event)


_RUNNERS: "weakref.WeakSet[JobRunner]" = weakref.WeakSet()


def threads_still_running() -> int:
    """Job threads that have not ended (after stop_all: jobs that ignored Cancel for its whole wait)."""
    return sum(thread.isRunning() for runner in list(_RUNNERS) for thread, _ in list(runner._running.values()))


class JobRunner(QObject):
    """Owns the threads of running jobs; keeps references until they end.

    A job's thread and relay are not Qt children of the runner, and they refer to it only weakly. As
    children, a runner without a parent (one a test makes) was deleted from inside its last relay's
    deferred delete — the relay's callbacks held the page that held the runner — and the runner then
    deleted that same relay again: "shared QObject was deleted directly", then a segfault or a corrupted
    heap (tests/test_workers.py; the likely cause of the load-10 crash in docs/reliability.md)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[Job, tuple[QThread, _Relay]] = {}
        _RUNNERS.add(self)

    def start(self, fn: Callable[..., Any], *, on_done=None, on_error=None, on_progress=None, on_event=None,
              **kwargs: Any) -> Job:
        """Run fn(state, **kwargs) in a thread; callbacks run on the GUI thread (on_error gets the exception)."""
        job = Job(fn, **kwargs)
        thread = QThread()
        job.moveToThread(thread)
        thread.started.connect(job.run)
        relay = _Relay(self, job, on_done, on_error, on_progress, on_event)  # created here: the GUI thread
        job.finished.connect(relay.deliver_done)
        job.failed.connect(relay.deliver_error)
        job.progress.connect(relay.deliver_progress)
        job.event.connect(relay.deliver_event)
        job.finished.connect(thread.quit)
        job.failed.connect(thread.quit)
        thread.finished.connect(relay.thread_finished)  # queued: runs in the GUI thread, after the callbacks
        self._running[job] = (thread, relay)
        thread.start()
        return job

    def _forget(self, job: Job) -> None:
        entry = self._running.pop(job, None)
        if entry is None:
            return
        thread, relay = entry
        # deleteLater hands each object to Qt (PySide gives up its ownership), so dropping our references
        # here deletes nothing now: Qt deletes them once control is back in the event loop.
        thread.deleteLater()
        job.deleteLater()
        relay.deleteLater()

    def busy(self) -> bool:
        return bool(self._running)

    def stop_all(self, wait_ms: int = 10000) -> None:
        for job, (thread, _) in list(self._running.items()):
            job.cancel()
            thread.quit()
            thread.wait(wait_ms)

"""JobState: what a long job reports and how it is told to stop (in the spirit of Orange3's TaskState).

Every long job (train, convert, deploy, evaluate, compare, bench) takes one. The caller reads progress,
status and partial results through the callbacks it gives; a cancel is a flag the job polls with
`check()`, which raises `Cancelled` — so a cancel is recognised by its type, never by its text.
"""
from __future__ import annotations

import threading
from typing import Any, Callable


class Cancelled(Exception):
    """The job stopped because it was asked to. Not a failure: callers show no error for it."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


class JobState:
    def __init__(self, on_progress: Callable[[float, str], None] | None = None,
                 on_event: Callable[[dict], None] | None = None,
                 on_partial: Callable[[Any], None] | None = None) -> None:
        self.progress = 0.0
        self.status = ""
        self.partial: Any = None
        self._on_progress = on_progress
        self._on_event = on_event
        self._on_partial = on_partial
        self._cancel = threading.Event()

    def set_progress(self, fraction: float, status: str | None = None) -> None:
        self.progress = min(1.0, max(0.0, float(fraction)))
        if status is not None:
            self.status = status
        if self._on_progress is not None:
            self._on_progress(self.progress, self.status)

    def set_status(self, status: str) -> None:
        self.set_progress(self.progress, status)

    def set_partial_result(self, value: Any) -> None:
        self.partial = value
        if self._on_partial is not None:
            self._on_partial(value)

    def emit(self, event: dict) -> None:
        """A job-specific event (a training step, an epoch's metrics, a benchmark row)."""
        if self._on_event is not None:
            self._on_event(event)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def cancel_event(self) -> threading.Event:
        """For code that waits on an Event (a thread pool, a server loop)."""
        return self._cancel

    def check(self) -> None:
        """Raise Cancelled if the job was asked to stop; call it between units of work."""
        if self._cancel.is_set():
            raise Cancelled()

    def scaled(self, start: float, end: float) -> "JobState":
        """A view for one stage of a longer job: its 0..1 maps onto start..end of this one,
        and it shares this job's cancel flag."""
        return _Stage(self, start, end)


class _Stage(JobState):
    def __init__(self, parent: JobState, start: float, end: float) -> None:
        super().__init__()
        self._parent, self._start, self._end = parent, start, end
        self._cancel = parent._cancel

    def set_progress(self, fraction: float, status: str | None = None) -> None:
        super().set_progress(fraction, status)
        self._parent.set_progress(self._start + (self._end - self._start) * self.progress, status)

    def set_partial_result(self, value: Any) -> None:
        self._parent.set_partial_result(value)

    def emit(self, event: dict) -> None:
        self._parent.emit(event)


def state_or_new(state: JobState | None) -> JobState:
    return state if state is not None else JobState()

"""JobControls: the one row every page uses for a long job — its start button, Cancel, a progress
bar and a status line — and the busy/idle switching between them."""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.gui.dialogs import show_job_error
from app.gui.workers import Job, JobRunner, error_details
from jobs.state import Cancelled


class JobControls(QWidget):
    def __init__(self, runner: JobRunner, start_label: str, *, error_title: str, object_name: str = "") -> None:
        super().__init__()
        self.runner, self.error_title = runner, error_title
        self.job: Job | None = None
        self.start_button = QPushButton(start_label)
        if object_name:
            self.start_button.setObjectName(object_name)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        for button in (self.start_button, self.cancel_button):
            button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)  # sized to their text
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.start_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(row)
        column.addWidget(self.status)
        self.cancel_button.clicked.connect(self.cancel)

    def run(self, fn: Callable[..., Any], *, on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[Exception], None] | None = None, on_event: Callable[[dict], None] | None = None,
            **kwargs: Any) -> Job:
        """Start fn(state, **kwargs); on_done/on_error run on the GUI thread after the controls are idle.
        A failure shows the error dialog (a cancel shows none) after on_error."""
        self.progress.setValue(0)
        self.status.setText("")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)

        def done(result: Any) -> None:
            self._idle()
            if on_done is not None:
                on_done(result)

        def failed(exc: Exception) -> None:
            self._idle()
            self.progress.setValue(0)  # a cancelled or failed job leaves no half-full bar behind
            text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            self.status.setText(text[:1].upper() + text[1:] if isinstance(exc, Cancelled) else text)
            if on_error is not None:
                on_error(exc)
            show_job_error(self.window(), self.error_title, exc)

        self.job = self.runner.start(fn, on_done=done, on_error=failed, on_progress=self.show_progress,
                                     on_event=on_event, **kwargs)
        return self.job

    def show_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        if message:
            self.status.setText(message)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Cancelling…")

    @property
    def busy(self) -> bool:
        return self.job is not None

    def _idle(self) -> None:
        self.job = None
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)


__all__ = ["JobControls", "error_details"]

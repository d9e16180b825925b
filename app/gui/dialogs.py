"""Failures are dialogs with a short message and expandable details; the app never exits on them."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from jobs.state import Cancelled


def show_error(parent: QWidget | None, title: str, message: str, details: str = "") -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Warning, title, message.splitlines()[0] if message else title,
                      QMessageBox.StandardButton.Ok, parent)
    rest = "\n".join(message.splitlines()[1:])
    box.setInformativeText(rest[:2000])
    if details:
        box.setDetailedText(details[-20000:])
    box.setObjectName("errorDialog")
    box.open()  # non-blocking: the GUI keeps running (and tests can read it)
    return box


def show_job_error(parent: QWidget | None, title: str, exc: Exception) -> QMessageBox | None:
    """A long job's failure; a cancel the user asked for is not one (no dialog)."""
    if isinstance(exc, Cancelled):
        return None
    details = getattr(exc, "log", "") or getattr(exc, "details", "")
    return show_error(parent, title, str(exc) or type(exc).__name__, details)

"""Does this PySide6 build keep Python's reference counts? Checked once before the GUI starts.

PySide6-Essentials 6.12.0 (cp310-abi3 wheel, shiboken6 6.12.0) returns None from every void wrapper
(QLabel.setPixmap, QWidget.resize, QTimer.start, …) and True from Signal.emit without taking a
reference: its `Py_RETURN_NONE` tails are a bare `mov _Py_NoneStruct, %rax` with no `incq`, as
if built against Python ≥ 3.12 headers, where None and True are immortal. On Python 3.11 each call
takes one reference away; the live view makes ~60 such calls a second and None is freed after
~7 minutes ("Fatal Python error: none_dealloc"). pyproject.toml keeps that release out; this check
catches a venv or bundle that still carries it (or a later release with the same defect) and says
so in one line instead of crashing minutes later.
"""
from __future__ import annotations

import ctypes
import sys

SINGLETONS = {"None": None, "True": True, "False": False}
CALLS = 200


def singleton_refcounts() -> dict[str, int]:
    return {name: sys.getrefcount(value) for name, value in SINGLETONS.items()}


def restore(lost: dict[str, int]) -> None:
    """Give back references a broken binding took (so a check, or a failing test, does not end the
    process with a fatal error later)."""
    for name, count in lost.items():
        for _ in range(max(0, count)):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(SINGLETONS[name]))


def dropped_references(calls: int = CALLS) -> dict[str, int]:
    """References to None/True/False lost over `calls` void wrapper calls and signal emits."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal(object)

    probe = _Probe()
    before = singleton_refcounts()
    for _ in range(calls):
        probe.setObjectName("probe")  # a void wrapper: returns None
        probe.ping.emit(None)  # returns True
    after = singleton_refcounts()
    lost = {name: before[name] - after[name] for name in before}
    restore(lost)
    return lost


def problem() -> str | None:
    """One line saying what is wrong, or None when the binding keeps its references."""
    lost = dropped_references()
    if all(count < CALLS // 2 for count in lost.values()):
        return None
    import PySide6

    which = ", ".join(f"{name} ({count} in {CALLS} calls)" for name, count in lost.items() if count >= CALLS // 2)
    return (f"PySide6 {PySide6.__version__} loses references to {which}: the app would crash within minutes "
            "(Fatal Python error: none_dealloc). Install a release that keeps them: "
            "pip install 'PySide6-Essentials>=6.7,<6.12' (or run make setup)")

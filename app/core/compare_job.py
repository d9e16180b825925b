"""compare() in a child process, for callers (the GUI) that must not share the GIL with benchmarks."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable


def run_in_child(params: dict) -> dict:
    from app.core.child import cancel_requested, emit_event
    from app.core.compare import compare

    return compare(params.pop("package"), cancel=cancel_requested(),
                   progress=lambda f, m: emit_event({"type": "progress", "fraction": f, "message": m}), **params)


def compare_in_child(package: str | Path, *, progress: Callable[[float, str], None] | None = None,
                     cancel: threading.Event | None = None, timeout: float = 1800, **options) -> dict:
    from app.core.child import ChildError, run_child

    on_event = (lambda e: progress(e["fraction"], e["message"])) if progress else None
    try:
        return run_child("compare", {"package": str(Path(package).resolve()), **options}, timeout=timeout,
                         on_event=on_event, cancel=cancel, grace=10)
    except ChildError as exc:
        raise RuntimeError("compare was cancelled" if exc.kind == "cancelled" else str(exc)) from None

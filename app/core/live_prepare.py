"""Prepare live models in a child process: converting the samples (and calibrating the INT8 ones)
holds the GIL in long stretches, which a GUI process must not feel. Returns model file paths."""
from __future__ import annotations

from pathlib import Path


def run_in_child(params: dict) -> dict:
    from app.core.live_cli import SAMPLES

    workdir = Path(params["workdir"])
    return {"paths": [str(SAMPLES[name](workdir)) if name in SAMPLES else name for name in params["names"]]}


def prepare_in_child(names: list[str], workdir: Path, cancel=None, timeout: float = 600) -> list[str]:
    """Sample names → converted model files in `workdir`; files and URLs pass through."""
    from app.core.child import ChildError, run_child

    try:
        return run_child("live_prepare", {"names": names, "workdir": str(workdir)}, timeout=timeout,
                         cancel=cancel)["paths"]
    except ChildError as exc:
        raise RuntimeError(f"could not prepare the live models: {exc}") from None

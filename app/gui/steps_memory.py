"""The guided flow's ✓ marks across a restart: the steps done for the active model are kept in the
settings, and given back only while their results are still there (the model, its package)."""
from __future__ import annotations

from pathlib import Path

KEY = "steps_done"


def remember(state, settings) -> None:
    settings.set(KEY, {"model": str(state.model_dir), "done": sorted(state.steps_done),
                       "package": str(state.package_dir) if state.package_dir else None})


def restore(state, settings) -> None:
    """After the active model is restored: its package (if it still exists) and the steps done for it."""
    kept = settings.get(KEY) or {}
    if kept.get("model") != str(state.model_dir) or not state.model_path.is_file():
        return
    package = kept.get("package")
    done = set(kept.get("done", []))
    if package and Path(package).is_dir():
        state.set_package(Path(package))  # marks Convert; the Profile and Deploy pages can run on it
    elif done & {"Convert", "Profile", "Deploy"}:
        done -= {"Convert", "Profile", "Deploy"}  # the package is gone: those results are gone with it
    for step in sorted(done):
        state.mark_done(step)

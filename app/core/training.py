"""train(): MindSpore training in its own process (it cannot share one with Lite).

Progress arrives as events; cancel kills the child. Output is staged next to the target folder
and published file by file only after the child succeeded, so a cancelled or crashed run
leaves nothing half-written.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from app.core.child import ChildError, run_child
from app.core.files import publish_dir
from converters.targets import require_mindspore

ARTIFACTS = ("model.onnx", "model.mindir", "model.ckpt", "labels.json", "preprocess.json", "metrics.json")


class TrainingError(RuntimeError):
    pass


@dataclass
class TrainConfig:
    data: str = "digits"  # "digits" or DIR/<class>/*.png
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 3e-3
    val_fraction: float = 0.2
    seed: int = 0
    augment: bool = True
    time_budget_s: float = 50.0  # stop after the epoch that passes it
    folder_options: dict = field(default_factory=dict)  # size, color for folder datasets


def train(config: TrainConfig, out_dir: str | Path, on_event: Callable[[dict], None] | None = None,
          cancel: threading.Event | None = None, timeout: float = 1800) -> dict:
    """Train and write ARTIFACTS into out_dir; returns metrics. Raises TrainingError."""
    require_mindspore("Training")
    out_dir = Path(out_dir).resolve()  # the child works in another cwd
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # One folder, owned here, holds everything the child writes (its results and MindSpore's scratch
    # files): whatever happens to the child (even SIGKILL), removing it leaves nothing behind.
    work = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.train-"))
    staging, scratch = work / "out", work / "scratch"
    staging.mkdir()
    scratch.mkdir()
    try:
        params = asdict(config) | {"staging": str(staging), "scratch": str(scratch)}
        if config.data != "digits":
            params["data"] = str(Path(config.data).resolve())
        metrics = run_child("train", params, timeout=timeout, on_event=on_event, cancel=cancel)
        missing = [name for name in ARTIFACTS if not (staging / name).is_file()]
        if missing:
            raise TrainingError(f"training finished without {', '.join(missing)}")
        publish_dir(staging, out_dir)
        return metrics
    except ChildError as exc:
        message = "training was cancelled" if exc.kind == "cancelled" else f"training failed: {exc}"
        raise TrainingError(message) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)

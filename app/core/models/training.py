"""train(): MindSpore training in its own process (it cannot share one with Lite).

Progress arrives as events; cancel kills the child. Output is staged next to the target folder
and published file by file only after the child succeeded, so a cancelled or crashed run
leaves nothing half-written.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from app.core.description import DESCRIPTION_FILE, load_description_for
from app.core.files import check_target_folder, publish_dir
from app.core.models.architectures import DEFAULT_ARCH, get_architecture
from app.core.models.augment import PRESETS
from app.core.models.datasets import NAMED
from converters.targets import require_mindspore
from jobs.child import ChildError, run_child
from jobs.state import Cancelled, JobState

CHILD_ARTIFACTS = ("model.onnx", "model.mindir", "model.ckpt", "labels.json", "preprocess.json", "metrics.json")
ARTIFACTS = (*CHILD_ARTIFACTS, DESCRIPTION_FILE)  # the description is written here, from the child's files


class TrainingError(RuntimeError):
    pass


@dataclass
class TrainConfig:
    data: str = "digits"  # a name of datasets.NAMED ("digits", "mnist-5k") or DIR/<class>/*.png
    arch: str = DEFAULT_ARCH  # a name in architectures.ARCHITECTURES
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float | None = None  # None: the architecture's own (Architecture.learning_rate)
    val_fraction: float = 0.2
    seed: int = 0
    # True: the dataset's preset (small shifts for digits; flip/crop/colour jitter for folders);
    # False: none; or a preset name from augment.PRESETS.
    augment: bool | str = True
    # stop after the epoch that passes it; None: adaptive (early_stopping.TimeBudget: 50 s, extended
    # up to 240 s while the held-out accuracy still rises or is still at chance)
    time_budget_s: float | None = None
    patience: int = 5  # stop after this many epochs without held-out gain; 0 = never early
    threads: int | None = None  # MindSpore kernel threads; None = the usable cores
    # folders: size (default: the images' own side, within the arch's range), color (default: detected)
    folder_options: dict = field(default_factory=dict)

    def check(self) -> None:
        """ValueError with one clear line for a setting that cannot work."""
        arch = get_architecture(self.arch)
        size = (self.folder_options or {}).get("size")
        if size is not None and size < arch.min_size:
            raise ValueError(f"{arch.name} needs inputs of at least {arch.min_size}×{arch.min_size} pixels, "
                             f"got {size}")
        if isinstance(self.augment, str) and self.augment not in PRESETS:
            raise ValueError(f"unknown augmentation {self.augment!r}; choose one of {', '.join(PRESETS)}")
        if self.epochs < 1 or self.batch_size < 1 or (self.learning_rate is not None and self.learning_rate <= 0):
            raise ValueError("epochs and batch size must be at least 1 and the learning rate positive")
        if self.time_budget_s is not None and self.time_budget_s <= 0:
            raise ValueError("the time budget must be positive (leave it unset for the adaptive default)")
        if not 0 < self.val_fraction < 1:
            raise ValueError("the held-out fraction must be between 0 and 1")


def train(config: TrainConfig, out_dir: str | Path, state: JobState | None = None, timeout: float = 1800,
          force: bool = False) -> dict:
    """Train and write ARTIFACTS into out_dir; returns metrics. Raises TrainingError, or Cancelled.
    `state` receives the child's "step" and "epoch" events and its progress."""
    config.check()
    require_mindspore("Training")
    out_dir = Path(out_dir).resolve()  # the child works in another cwd
    check_target_folder(out_dir, [], force)  # before the training, not after it
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # One folder, owned here, holds everything the child writes (its results and MindSpore's scratch
    # files): whatever happens to the child (even SIGKILL), removing it leaves nothing behind.
    work = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.train-"))
    staging, scratch = work / "out", work / "scratch"
    staging.mkdir()
    scratch.mkdir()
    try:
        params = asdict(config) | {"staging": str(staging), "scratch": str(scratch)}
        if config.data not in NAMED:
            params["data"] = str(Path(config.data).resolve())
        metrics = run_child("app.core.models.training_child:train_in_child", params, state, timeout=timeout)
        missing = [name for name in CHILD_ARTIFACTS if not (staging / name).is_file()]
        if missing:
            raise TrainingError(f"training finished without {', '.join(missing)}")
        # the model description every later stage reads (inputs, preprocessing, labels, the data it learnt from)
        load_description_for(staging).model_copy(update={"name": out_dir.name, "origin": "trained"}).save(staging)
        publish_dir(staging, out_dir, force)
        return metrics
    except Cancelled:
        raise Cancelled("training was cancelled") from None
    except ChildError as exc:
        raise TrainingError(f"training failed: {exc}") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)

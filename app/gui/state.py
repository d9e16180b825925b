"""What the pages share: the active model folder and the last built package."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.core.files import workspace  # noqa: F401  (the pages take it from here)
from converters.lite.paths import PROJECT_ROOT

SAMPLE_MODEL = PROJECT_ROOT / "sample_models" / "digits"


class AppState(QObject):
    model_changed = Signal(object)  # Path of a folder with model.onnx + preprocess.json
    package_changed = Signal(object)  # Path of a built deployment package
    status = Signal(str)
    step_done = Signal(str)  # a step of the guided flow (a page name) was done: Model, Convert, Live, …

    def __init__(self, model_dir: Path = SAMPLE_MODEL) -> None:
        super().__init__()
        self.model_dir = Path(model_dir)
        self.package_dir: Path | None = None
        self.card: dict | None = None
        self.steps_done: set[str] = set()
        self.cameras: list[dict] | None = None  # what the camera scan found (None: not scanned yet)

    @property
    def model_onnx(self) -> Path:
        return self.model_dir / "model.onnx"

    @property
    def model_name(self) -> str:
        """What the pages call the active model: the sample by its name, a trained one by its folder."""
        return "Digits CNN (the sample)" if self.model_dir == SAMPLE_MODEL else self.model_dir.name

    def set_model(self, folder: Path, card: dict | None = None) -> None:
        self.model_dir, self.card, self.package_dir = Path(folder), card, None
        self.steps_done -= {"Convert", "Profile", "Deploy"}  # a new model: those steps are to do again
        self.model_changed.emit(self.model_dir)
        self.mark_done("Model")

    def set_package(self, folder: Path) -> None:
        self.package_dir = Path(folder)
        self.package_changed.emit(self.package_dir)
        self.mark_done("Convert")

    def mark_done(self, step: str) -> None:
        if step not in self.steps_done:
            self.steps_done.add(step)
            self.step_done.emit(step)

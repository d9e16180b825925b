"""What the pages share: the active model (its library folder and its model description), the model
library, and the last built package of the active model."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.core.files import workspace  # noqa: F401  (the pages take it from here)
from converters.lite.paths import PROJECT_ROOT

SAMPLE_MODEL = PROJECT_ROOT / "sample_models" / "digits"


def describe(folder: Path):
    """The model description of a library folder (description.json, or its older sidecars); None when
    nothing describes it."""
    from app.core.description import load_description_for

    try:
        return load_description_for(folder)
    except (ValueError, OSError):  # DescriptionError, PreprocessError: an undescribed or damaged folder
        return None


class AppState(QObject):
    model_changed = Signal(object)  # Path of the active model's library folder (its description.json beside)
    package_changed = Signal(object)  # Path of a built deployment package
    status = Signal(str)
    step_done = Signal(str)  # a step of the guided flow (a page name) was done: Model, Convert, Live, …

    def __init__(self, model_dir: Path = SAMPLE_MODEL) -> None:
        super().__init__()
        self.model_dir = Path(model_dir)
        self.description = describe(self.model_dir)
        self._library = None
        self.package_dir: Path | None = None
        self.package_built = False  # package_dir was built in this run (not found again from an earlier one)
        self.card: dict | None = None
        self.steps_done: set[str] = set()
        self.cameras: list[dict] | None = None  # what the camera scan found (None: not scanned yet)

    @property
    def library(self):
        """The user's model library ("Your models"), shared by the pages."""
        if self._library is None:
            from app.core.models.library import ModelLibrary, library_path

            self._library = ModelLibrary(library_path())
        return self._library

    @library.setter
    def library(self, library) -> None:
        self._library = library

    @property
    def model_path(self) -> Path:
        """The active model's file (model.onnx, model.tflite, … as its description says)."""
        if self.description is not None:
            return self.description.model_path(self.model_dir)
        return self.model_dir / "model.onnx"

    @property
    def model_name(self) -> str:
        """What the pages call the active model: the sample by its name, another by its description's."""
        if self.model_dir == SAMPLE_MODEL:
            return "Digits CNN (the sample)"
        return (self.description.name if self.description is not None and self.description.name
                else self.model_dir.name)

    def latest_package(self) -> Path | None:
        """The newest package built from the active model that is still there (the library remembers them)."""
        entry = self.library.find(self.model_dir)
        packages = [Path(p) for p in (entry.packages if entry else []) if (Path(p) / "deploy.json").is_file()]
        return packages[-1] if packages else None

    def set_model(self, folder: Path, card: dict | None = None) -> None:
        """Make a model active; its newest package, built in an earlier run, comes with it (the pages
        see it already when model_changed arrives; package_changed follows)."""
        self.model_dir, self.card = Path(folder), card
        self.description = describe(self.model_dir)
        self.package_dir, self.package_built = self.latest_package(), False
        self.steps_done -= {"Convert", "Profile", "Deploy"}  # a new model: those steps are to do again
        self.model_changed.emit(self.model_dir)
        self.mark_done("Model")
        if self.package_dir is not None:
            self.package_changed.emit(self.package_dir)

    def restore_package(self) -> None:
        """The active model's newest package, built in an earlier run: Live, Profile and Deploy use it."""
        latest = self.latest_package()
        if latest is not None:
            self.set_package(latest, built=False)

    def set_package(self, folder: Path, built: bool = True) -> None:
        """built: made just now (the Convert step is done); False: one built before, found again."""
        self.package_dir, self.package_built = Path(folder), built
        self.package_changed.emit(self.package_dir)
        if built:
            self.mark_done("Convert")

    def mark_done(self, step: str) -> None:
        if step not in self.steps_done:
            self.steps_done.add(step)
            self.step_done.emit(step)

"""The model library: every model the user trained, imported or built packages for, remembered across
runs (a JSON file in the app's data folder, written atomically on every change) so nothing is forgotten
and any of them can be made the active model again."""
from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from app.core.files import workspace, write_json

KINDS = ("sample", "trained", "imported")


class Entry(BaseModel):
    folder: str  # holds the model file and its description.json (older folders: preprocess.json, labels.json, …)
    name: str
    model_file: str = "model.onnx"  # beside description.json: model.onnx, model.tflite, …
    kind: str = "trained"
    added: float = Field(default_factory=time.time)
    summary: str = ""  # one line: dataset and top-1, or the card's I/O
    packages: list[str] = []  # deployment packages built from it, newest last
    verdicts: dict[str, str] = {}  # target name → matches / close / WRONG (the last build's)

    @property
    def usable(self) -> bool:
        return (Path(self.folder) / self.model_file).is_file()


class LibraryFile(BaseModel):
    entries: list[Entry] = []
    forgotten: list[Entry] = []  # taken off the list, newest last: the Model page can bring them back


class ModelLibrary:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            saved = LibraryFile.model_validate_json(self.path.read_bytes())
        except (OSError, ValidationError, ValueError):
            saved = LibraryFile()  # missing or damaged: start empty (the models themselves are untouched)
        self.entries, self.forgotten = saved.entries, saved.forgotten

    def save(self) -> None:
        write_json(self.path, LibraryFile(entries=self.entries, forgotten=self.forgotten).model_dump(mode="json"))

    def find(self, folder: str | Path) -> Entry | None:
        key = str(Path(folder).resolve())
        return next((e for e in self.entries if e.folder == key), None)

    def add(self, folder: str | Path, name: str = "", kind: str = "trained", summary: str = "",
            model_file: str = "") -> Entry:
        """Remember a model (again: its name and summary are updated, its packages kept)."""
        folder = Path(folder).resolve()
        entry = self.find(folder)
        if entry is None:
            entry = Entry(folder=str(folder), name=name or folder.name, kind=kind, summary=summary,
                          model_file=model_file or "model.onnx")
            self.entries.append(entry)
            self.forgotten = [e for e in self.forgotten if e.folder != entry.folder]  # added back: not forgotten
        else:
            entry.name, entry.summary = name or entry.name, summary or entry.summary
            entry.model_file = model_file or entry.model_file
        self.save()
        return entry

    def set_sample(self, folder: str | Path, name: str, summary: str = "") -> Entry:
        """The one sample entry, pointing at this installation's sample: an earlier installation's (another
        checkout, an older package) is moved here with its packages, never listed beside it."""
        key = str(Path(folder).resolve())
        samples = [e for e in self.entries if e.kind == "sample"]
        entry = next((e for e in samples if e.folder == key), samples[0] if samples else None)
        if entry is None:
            return self.add(key, name, kind="sample", summary=summary)
        self.entries = [e for e in self.entries if e.kind != "sample" or e is entry]
        entry.folder, entry.name, entry.summary = key, name, summary or entry.summary
        self.save()
        return entry

    def add_package(self, folder: str | Path, package: str | Path, verdicts: dict[str, str] | None = None) -> None:
        entry = self.find(folder) or self.add(folder)
        entry.packages = [p for p in entry.packages if p != str(package)] + [str(package)]
        entry.verdicts = dict(verdicts or {})
        self.save()

    def forget(self, folder: str | Path) -> Entry | None:
        """Take a model off the list (its files stay where they are); it is kept among the forgotten
        ones, with its packages, so it can be brought back."""
        key = str(Path(folder).resolve())
        gone = [e for e in self.entries if e.folder == key]
        self.entries = [e for e in self.entries if e.folder != key]
        self.forgotten = [e for e in self.forgotten if e.folder != key] + gone
        self.save()
        return gone[0] if gone else None

    def restore(self, folder: str | Path) -> Entry | None:
        """Bring a forgotten model back onto the list, as it was (None: it was not forgotten)."""
        key = str(Path(folder).resolve())
        entry = next((e for e in self.forgotten if e.folder == key), None)
        if entry is not None:
            self.forgotten = [e for e in self.forgotten if e.folder != key]
            if self.find(key) is None:
                self.entries.append(entry)
            self.save()
        return entry

    def usable(self) -> list[Entry]:
        return [e for e in self.entries if e.usable]


def library_path() -> Path:
    """The user's model library (the GUI's "Your models" and the CLI's import share it)."""
    return workspace() / "library.json"


def summary_of(metrics: dict) -> str:
    """One line from training's metrics.json."""
    top1 = metrics.get("val_top1")
    data = metrics.get("dataset") or metrics.get("dataset_source") or ""
    parts = [str(data)] if data else []
    if top1 is not None:
        parts.append(f"val top-1 {top1 * 100:.1f} %")
    if metrics.get("arch"):
        parts.append(str(metrics["arch"]))
    return " · ".join(parts)


def model_argument(text: str) -> Path:
    """What a command's MODEL names: a path as given, or else a model of "Your models" by its name (the
    newest of that name), so `edge-studio import x.onnx --name mine` is followed by `convert mine`."""
    path = Path(text)
    if path.exists() or "/" in text:
        return path
    named = [e for e in ModelLibrary(library_path()).entries if e.name == text and Path(e.folder).is_dir()]
    return Path(named[-1].folder) if named else path

"""The model library: trained, imported and packaged models are remembered across runs; one click makes
one active; forgetting one never touches its files."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from app.core.models.library import ModelLibrary
from sample_models import DIGITS


def _model(folder: Path, top1: float) -> Path:
    folder.mkdir(parents=True)
    for name in ("model.onnx", "preprocess.json", "labels.json"):
        shutil.copy(DIGITS / name, folder / name)
    (folder / "metrics.json").write_text(json.dumps({"dataset": "digits", "val_top1": top1}))
    return folder


def test_remembered_across_runs_and_forgetting_keeps_files(tmp_path):
    path = tmp_path / "library.json"
    first, second = _model(tmp_path / "a", 0.97), _model(tmp_path / "b", 0.99)
    library = ModelLibrary(path)
    library.add(first, summary="digits · val top-1 97.0 %")
    library.add(second, kind="imported")
    library.add_package(first, tmp_path / "pkg", {"edge-fp32": "matches", "device-int8": "WRONG"})
    again = ModelLibrary(path)  # a new run
    assert [e.name for e in again.usable()] == ["a", "b"]
    assert again.find(first).packages == [str(tmp_path / "pkg")]
    assert again.find(first).verdicts["device-int8"] == "WRONG"
    again.forget(second)
    assert [e.name for e in ModelLibrary(path).entries] == ["a"] and (second / "model.onnx").is_file()


def test_one_sample_entry_however_many_installations_ran(tmp_path):
    """Each checkout or package has its own sample folder; the list shows the sample once, at this one's."""
    path = tmp_path / "library.json"
    old, new = _model(tmp_path / "old-install", 0.98), _model(tmp_path / "new-install", 0.98)
    library = ModelLibrary(path)
    library.set_sample(old, "Digits CNN (the sample)")
    library.add_package(old, tmp_path / "pkg")
    library.add(_model(tmp_path / "mine", 0.9))
    ModelLibrary(path).set_sample(new, "Digits CNN (the sample)", "digits")
    entries = ModelLibrary(path).entries
    assert [(e.kind, Path(e.folder).name) for e in entries] == [("sample", "new-install"), ("trained", "mine")]
    assert entries[0].packages == [str(tmp_path / "pkg")] and entries[0].summary == "digits"


def test_a_damaged_library_file_starts_empty_without_touching_models(tmp_path):
    path = tmp_path / "library.json"
    path.write_text("{not json")
    model = _model(tmp_path / "a", 0.9)
    library = ModelLibrary(path)
    assert library.entries == []
    library.add(model)
    assert ModelLibrary(path).find(model) is not None


def test_panel_makes_a_model_active_and_records_it(qtbot, tmp_path):
    from app.gui.model_library_panel import ModelLibraryPanel
    from app.gui.state import AppState

    state = AppState()
    panel = ModelLibraryPanel(state, ModelLibrary(tmp_path / "library.json"))
    qtbot.addWidget(panel)
    trained = _model(tmp_path / "trained", 0.98)
    state.set_model(trained)  # what training does: the library remembers it
    assert panel.library.find(trained).summary == "digits · val top-1 98.0 %"
    state.set_model(DIGITS)  # back to the sample
    row = next(i for i in range(panel.list.count()) if "trained" in panel.list.item(i).text())
    panel.list.setCurrentRow(row)
    with qtbot.waitSignal(state.model_changed):
        panel.make_active()
    assert state.model_dir == trained
    assert panel.list.item(0).text().startswith("●")  # the active one is marked

"""What a person does, by clicks through Qt (button.click(), a patched QFileDialog/QMessageBox, OK clicked in
the dialog that opened), offscreen: Forget and its undo, Live's added sources and model
files after a restart. (Export report's button: tests/test_gui_live.py.)"""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog, QMessageBox

DIGITS = Path(__file__).resolve().parents[1] / "sample_models" / "digits"


def answer_modal(act, timeout_ms: int = 60_000) -> list:
    """When the next modal dialog opens (exec() blocks the test until it is answered), act on it as a
    person would; returns a list that holds the dialog once it was answered."""
    seen: list = []
    waited = [0]

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            waited[0] += 20
            if waited[0] < timeout_ms:
                QTimer.singleShot(20, poll)
            return
        seen.append(dialog)
        act(dialog)

    QTimer.singleShot(0, poll)
    return seen


def click_ok(dialog) -> None:
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()


def _model_folder(folder: Path) -> Path:
    """A trained-looking model (the digits sample's files in a folder of its own)."""
    folder.mkdir(parents=True)
    for name in ("model.onnx", "preprocess.json", "labels.json", "metrics.json"):
        shutil.copy(DIGITS / name, folder / name)
    return folder


@pytest.fixture
def settings(tmp_path):
    from app.gui.settings import Settings

    return Settings(tmp_path / "settings.json")


def _row_of(panel, folder: Path) -> int:
    rows = [i for i in range(panel.list.count()) if panel.list.item(i).toolTip() == str(folder.resolve())]
    return rows[0] if rows else -1


def test_forget_the_active_model_falls_back_to_the_sample_and_undo_brings_it_back(qtbot, settings, tmp_path,
                                                                                  monkeypatch):
    from app.gui.main import MainWindow
    from app.gui.state import SAMPLE_MODEL

    window = MainWindow(settings=settings, start_live=False)
    qtbot.addWidget(window)
    panel = window.pages["Model"].library
    mine = _model_folder(tmp_path / "my-digits")
    window.state.set_model(mine)  # what training does when it finishes
    assert "my-digits" in window.banner.text() and window.model_label.text() == "model: my-digits"

    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a: asked.append(text)
                        or QMessageBox.StandardButton.Yes)
    panel.list.setCurrentRow(_row_of(panel, mine))
    assert panel.forget_button.isEnabled()
    panel.forget_button.click()
    assert asked and "my-digits" in asked[0]  # it asked first
    assert _row_of(panel, mine) == -1  # off the list, files untouched
    assert (mine / "model.onnx").is_file()
    assert window.state.model_dir == SAMPLE_MODEL  # the active one: the sample takes over, everywhere
    assert "Digits CNN (the sample)" in window.banner.text() and "my-digits" not in window.banner.text()
    assert window.model_label.text() == "model: Digits CNN (the sample)"

    assert panel.undo_button.isEnabled() and "my-digits" in panel.undo_button.toolTip()
    panel.undo_button.click()
    assert _row_of(panel, mine) >= 0 and window.state.model_dir == mine  # back, and active again
    assert "my-digits" in window.banner.text()

    # forgotten again, then brought back from the menu of forgotten models (after a restart of the list)
    panel.list.setCurrentRow(_row_of(panel, mine))
    panel.forget_button.click()
    from app.gui.model_library_panel import ModelLibraryPanel

    again = ModelLibraryPanel(window.state)  # the library file is read again: the forgotten list persists
    qtbot.addWidget(again)
    actions = again.undo_button.menu().actions()
    assert any("my-digits" in a.text() for a in actions)
    next(a for a in actions if "my-digits" in a.text()).trigger()
    assert _row_of(again, mine) >= 0

    # the sample cannot be forgotten, and the button says why
    panel.show_entries()
    panel.list.setCurrentRow(_row_of(panel, SAMPLE_MODEL))
    assert not panel.forget_button.isEnabled()
    assert "cannot be forgotten" in panel.forget_button.toolTip()
    window.close()


def test_live_model_file_applies_at_once_and_added_choices_survive_a_restart(qtbot, settings, tmp_path, monkeypatch):
    from app.gui.main import ALL_PAGES, MainWindow

    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        cv2.imwrite(str(frames / f"{i}.png"), rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    model = tmp_path / "models" / "my-digits.onnx"
    model.parent.mkdir()
    shutil.copy(DIGITS / "model.onnx", model)

    window = MainWindow(settings=settings, start_live=False)
    qtbot.addWidget(window)
    window.show()
    window.nav.setCurrentRow(ALL_PAGES.index("Live"))
    live = window.pages["Live"]
    live.model_b.setCurrentIndex(live.model_b.findData(None))  # one pane: quicker
    live.source.setCurrentIndex(live.source.findData("folder"))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(frames))
    live.start_button.click()
    qtbot.waitUntil(lambda: live.pipeline is not None and live.views[0].frames_shown >= 2, timeout=180_000)
    assert live.source.currentData() == str(frames)

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(model), "Models"))
    answered = answer_modal(click_ok)
    live.import_button.click()  # the import dialog opens; OK is clicked in it
    assert answered, "the import dialog did not open"
    imported = live.model_a.currentData()  # a folder of its own in "Your models" (the user's file stays put)
    assert window.state.library.find(imported).kind == "imported" and live.model_a.currentText().startswith("my-digits")
    # applies at once: the running view switches to the imported model without Stop/Start
    qtbot.waitUntil(lambda: live.pipeline is not None and live.pipeline.models[0].name.startswith("my-digits"),
                    timeout=180_000)
    window.close()

    again = MainWindow(settings=type(settings)(settings.path), start_live=False)  # the app started again
    qtbot.addWidget(again)
    live = again.pages["Live"]
    assert live.source.findData(str(frames)) >= 0, "the added image folder is gone after a restart"
    assert live.model_a.findData(imported) >= 0 and live.model_b.findData(imported) >= 0
    assert live.model_a.currentData() == imported  # and it is still the chosen one
    again.close()

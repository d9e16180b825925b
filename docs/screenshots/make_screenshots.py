"""Screenshots of every page and booth mode, from the real windows (offscreen, QWidget.grab()).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_screenshots.py

The app is driven through its five steps once (train, convert, live, profile, deploy); then every page is
shot in the light and the dark theme at 1600×1000 and at 1024×700: <page>-<theme>-<width>.png, plus the
README's <page>.png (light, 1600×1000).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))


def wait_until(app, condition, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window never got there")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)


def answer_import_dialog(app) -> None:
    """Click OK in the import dialog about to open (it runs modal), then No in "Make it active?"."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(50, answer)
        elif hasattr(dialog, "ok_button"):
            dialog.ok_button.click()
            QTimer.singleShot(50, answer)
        elif isinstance(dialog, QMessageBox):
            dialog.button(QMessageBox.StandardButton.No).click()

    QTimer.singleShot(0, answer)


def shoot_every_page(app, window) -> None:
    from app.gui.main import ALL_PAGES as PAGES
    from app.gui.theme import apply_theme

    for theme in ("light", "dark"):
        apply_theme(theme)
        for width, height in ((1600, 1000), (1024, 700)):
            window.resize(width, height)
            for row, page in enumerate(PAGES):
                window.nav.setCurrentRow(row)
                if page == "Live":  # the view resumes when shown: wait for fresh frames
                    live = window.pages["Live"]
                    shown = live.views[0].frames_shown
                    wait_until(app, lambda: live.views[0].frames_shown > shown + 10)
                settle_until = time.monotonic() + 0.5  # charts lay their scenes out a few events after a resize
                while time.monotonic() < settle_until:
                    app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
                window.grab().save(str(HERE / f"{page.lower()}-{theme}-{width}.png"))
    apply_theme("light")


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    from app.gui.theme import apply_theme

    apply_theme("light")  # before the window: as the app does
    from app.gui.main import MainWindow
    from app.gui.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="edge-studio-shots-"))
    os.environ["XDG_DATA_HOME"] = str(tmp / "data")  # the trained model and packages stay out of your own list
    settings = Settings(tmp / "settings.json")
    window = MainWindow(settings=settings)
    window.resize(1600, 1000)
    window.show()
    live = window.pages["Live"]
    wait_until(app, lambda: live.views[0].frames_shown > 60 and live.views[1].frames_shown > 20)
    live.stats.setText(live._stats_text())
    window.grab().save(str(HERE / "live.png"))

    model = window.pages["Model"]
    window.nav.setCurrentRow(0)
    model.epochs.setValue(4)
    model.start_training()
    wait_until(app, lambda: not model.training.busy)
    answer_import_dialog(app)  # OK in the import dialog, then "Make it active?" — no, the trained one stays
    model.import_model(Path("sample_models/digits/model.onnx").resolve())
    wait_until(app, lambda: "Lite" in model.card_view.toPlainText() and "Probing" not in model.card_view.toPlainText())
    window.grab().save(str(HERE / "model.png"))

    convert = window.pages["Convert"]
    window.nav.setCurrentRow(1)
    convert.build()
    wait_until(app, lambda: not convert.controls.busy and window.state.package_dir is not None)
    window.grab().save(str(HERE / "convert.png"))

    profile = window.pages["Profile"]
    window.nav.setCurrentRow(3)
    profile.run_compare()
    wait_until(app, lambda: profile.result is not None)
    window.grab().save(str(HERE / "profile.png"))

    deploy = window.pages["Deploy"]
    window.nav.setCurrentRow(4)
    deploy.destination.setText(str(tmp / "package"))
    deploy.write()
    window.grab().save(str(HERE / "deploy.png"))

    shoot_every_page(app, window)

    from make_booth import (
        shoot_booth,  # booth.png and one booth-<scene>.png per scene, 1600×1000
    )

    shoot_booth(app, HERE)
    window.close()
    print("screenshots in", HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main())

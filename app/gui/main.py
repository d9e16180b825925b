"""The main window: left navigation, five pages, a status bar with model, tier and Lite health."""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QStackedWidget,
    QWidget,
)

from app.gui.settings import Settings
from app.gui.state import AppState
from app.gui.workers import JobRunner

ICON = Path(__file__).resolve().parent / "resources" / "edge-studio.svg"

PAGES = ("Model", "Convert", "Live", "Profile", "Deploy")


def _doctor_job(state):
    from app.core.doctor import run_doctor

    return run_doctor()


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None, start_live: bool = True) -> None:
        super().__init__()
        from app.gui.pages.convert_page import ConvertPage
        from app.gui.pages.deploy_page import DeployPage
        from app.gui.pages.live_page import LivePage
        from app.gui.pages.model_page import ModelPage
        from app.gui.pages.profile_page import ProfilePage

        self.settings = settings or Settings()
        self.state = AppState()
        self.runner = JobRunner(self)
        self.setWindowTitle("Edge Studio — cloud → edge → device with MindSpore")
        self.resize(1200, 800)
        self.nav = QListWidget()
        self.nav.addItems(PAGES)
        self.nav.setFixedWidth(130)
        self.nav.setStyleSheet("QListWidget { font-size: 15px; } QListWidget::item { padding: 10px; }")
        self.stack = QStackedWidget()
        self.pages = {
            "Model": ModelPage(self.state, self.runner),
            "Convert": ConvertPage(self.state, self.runner),
            "Live": LivePage(self.state, self.runner, self.settings),
            "Profile": ProfilePage(self.state, self.runner),
            "Deploy": DeployPage(self.state),
        }
        for name in PAGES:
            self.stack.addWidget(self.pages[name])
        body = QWidget()
        row = QHBoxLayout(body)
        row.addWidget(self.nav)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(body)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)

        self.model_label, self.tier_label, self.health_label = QLabel(), QLabel("tier: edge (Lite FP32)"), QLabel()
        for label in (self.model_label, self.tier_label, self.health_label):
            self.statusBar().addPermanentWidget(label)
        self.health_label.setText("Lite bridge: checking…")
        self.state.model_changed.connect(lambda folder: self.model_label.setText(f"model: {folder.name}"))
        self.model_label.setText(f"model: {self.state.model_dir.name}")
        self._menus()
        self._restore()
        self.state.model_changed.connect(lambda folder: self.settings.set("model_dir", str(folder)))
        last = self.settings.get("model_dir")
        if last and (Path(last) / "model.onnx").is_file():
            self.state.set_model(Path(last))  # the last active model, if it is still there
        self.runner.start(_doctor_job, on_done=self.show_health,
                          on_error=lambda exc: self.health_label.setText(f"Lite bridge: BROKEN ({exc})"))
        if start_live:
            self.nav.setCurrentRow(PAGES.index("Live"))
            self.pages["Live"].autostart()
        else:
            self.nav.setCurrentRow(self.settings.get("page", 0))

    def _menus(self) -> None:
        view = self.menuBar().addMenu("&View")
        booth = QAction("Booth mode", self)
        booth.setShortcut(QKeySequence("F11"))
        booth.triggered.connect(self.enter_booth)
        view.addAction(booth)
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        view.addAction(quit_action)

    def enter_booth(self) -> None:
        from app.gui.booth import BoothWindow

        self.booth = BoothWindow(self.state, self.settings)
        self.booth.showFullScreen()

    def show_health(self, report: dict) -> None:
        bridge = report["lite_bridge"]
        self.doctor = report
        self.health_label.setText(f"Lite bridge: OK ({bridge['version']})" if bridge["ok"]
                                  else f"Lite bridge: BROKEN — {bridge['error']}")
        self.health_label.setStyleSheet("color: #196619;" if bridge["ok"] else "color: #b00020;")

    def _restore(self) -> None:
        geometry = self.settings.get("geometry")
        if geometry:
            self.restoreGeometry(QByteArray.fromBase64(geometry.encode()))

    def closeEvent(self, event) -> None:
        self.settings.set("geometry", bytes(self.saveGeometry().toBase64()).decode())
        self.settings.set("page", self.nav.currentRow())
        for page in self.pages.values():
            if hasattr(page, "shutdown"):
                page.shutdown()
        self.settings.save()
        self.runner.stop_all()
        super().closeEvent(event)


def run_gui(booth: bool = False, first_frame_exit: bool = False, screenshot: str | None = None) -> int:
    """first_frame_exit: quit once the live view shows its first frame and print the time from
    process start as JSON (the packaged build's cold-start measure); screenshot: save the window then."""
    from app.gui.binding_check import problem

    broken = problem()  # a PySide6 build that drops references to None crashes minutes later: say so now
    if broken:
        print(f"edge-studio: {broken}", file=sys.stderr)
        return 2
    from app.core.files import remove_stale_scratch

    remove_stale_scratch()  # what a crashed or killed run left in the temp folder
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Edge Studio")
    app.setDesktopFileName("edge-studio")  # ties the window to the installed menu entry and its icon
    app.setWindowIcon(QIcon(str(ICON)))
    window = MainWindow()
    window.show()
    if booth:
        window.enter_booth()
    if first_frame_exit:
        _exit_on_first_frame(app, window, screenshot)
    return app.exec()


def _exit_on_first_frame(app: QApplication, window: MainWindow, screenshot: str | None) -> None:
    import json
    import time

    import psutil
    from PySide6.QtCore import QTimer

    view = window.pages["Live"].views[0]
    timer = QTimer(window)

    def check() -> None:
        if view.frames_shown == 0:
            return
        timer.stop()
        seconds = time.time() - psutil.Process().create_time()
        if screenshot:
            window.grab().save(screenshot)
        print(json.dumps({"first_frame_s": round(seconds, 2), "source": window.pages["Live"].pipeline.source.name}),
              flush=True)
        window.close()
        app.quit()

    timer.timeout.connect(check)
    timer.start(20)

"""The main window: left navigation, five pages, a status bar with model, tier and Lite health."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.gui import steps_memory
from app.gui.settings import Settings
from app.gui.state import AppState
from app.gui.workers import JobRunner

ICON = Path(__file__).resolve().parent / "resources" / "edge-studio.svg"
DOCS = Path(__file__).resolve().parents[2] / "docs"
LINK = "#5b9bd5"  # readable on the light and the dark theme


def about_text() -> str:
    from importlib import metadata

    from converters.lite.paths import LITE_VERSION

    try:
        version = metadata.version("edge-studio")
    except metadata.PackageNotFoundError:
        version = "source checkout"
    return (f"Edge Studio {version}\n\nTrain, convert with MindSpore Lite {LITE_VERSION}, run live and profile a "
            "neural network from cloud to edge to device.\n\nDocumentation: the docs/ folder next to the app "
            "(Help → Documentation); the command line: edge-studio --help.")

PAGES = ("Model", "Convert", "Live", "Profile", "Deploy")  # the five steps of the guided flow
TOOLS = ("Quantize",)  # pages beside the flow, listed after its steps
ALL_PAGES = PAGES + TOOLS
# what each step of the guided flow asks of a newcomer (the banner shows the next one)
HINTS = {
    "Model": "train a model on digits or your webcam captures, or import one (ONNX, TFLite, Caffe, TF)",
    "Convert": "build every tier with MindSpore Lite — FP32, FP16 and INT8 — each checked against its source",
    "Live": "run the converted models side by side on camera frames",
    "Profile": "compare cloud, edge and device: latency, size and accuracy, and the pick per tier",
    "Deploy": "write the package (cloud/, edge/, device/) where your devices can take it",
}


def _doctor_job(state):
    from app.core.doctor import run_doctor

    return run_doctor()


def _page_factories() -> dict:
    """name -> (state, runner, settings) -> page; a page's modules are imported when it is built."""
    def model(state, runner, settings):
        from app.gui.pages.model_page import ModelPage

        return ModelPage(state, runner)

    def convert(state, runner, settings):
        from app.gui.pages.convert_page import ConvertPage

        return ConvertPage(state, runner)

    def live(state, runner, settings):
        from app.gui.pages.live_page import LivePage

        return LivePage(state, runner, settings)

    def profile(state, runner, settings):
        from app.gui.pages.profile_page import ProfilePage

        return ProfilePage(state, runner)

    def deploy(state, runner, settings):
        from app.gui.pages.deploy_page import DeployPage

        return DeployPage(state)

    def quantize(state, runner, settings):
        from app.gui.pages.quantize_page import QuantizePage

        return QuantizePage(state, runner)

    return {"Model": model, "Convert": convert, "Live": live, "Profile": profile, "Deploy": deploy,
            "Quantize": quantize}


def fit_buttons(page: QWidget) -> None:
    """Buttons as wide as their text, not stretched across the page."""
    for button in page.findChildren(QPushButton):
        button.setSizePolicy(QSizePolicy.Policy.Maximum, button.sizePolicy().verticalPolicy())


class _Pages(dict):
    """The pages by name, each built the first time it is asked for (`window.pages["Model"]`) and put in
    its place in the stack: the app shows its first live frame without importing the other pages."""

    def __init__(self, window: "MainWindow") -> None:
        super().__init__()
        self.window = window
        self.factories = _page_factories()

    def __missing__(self, name: str):
        window = self.window
        page = self.factories[name](window.state, window.runner, window.settings)
        self[name] = page
        fit_buttons(page)
        # a page taller than the window scrolls instead of clipping (1024×700 screens)
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setWidget(page)
        index = ALL_PAGES.index(name)
        placeholder = window.stack.widget(index)
        window.stack.insertWidget(index, area)
        window.stack.removeWidget(placeholder)
        placeholder.deleteLater()
        return page

    def build_rest(self) -> None:
        """Build the pages not built yet, one per event-loop turn (each takes a fraction of a second)."""
        missing = [name for name in ALL_PAGES if name not in self]
        if missing:
            self[missing[0]]  # noqa: B018 (builds it)
            QTimer.singleShot(0, self.build_rest)


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None, start_live: bool = True, lazy: bool = False) -> None:
        """lazy: build only the page shown first; the others when first shown, or build_rest() later."""
        super().__init__()
        self.settings = settings or Settings()
        self.state = AppState()
        self.runner = JobRunner(self)
        self.setWindowTitle("Edge Studio — cloud → edge → device with MindSpore")
        self.nav = QListWidget()
        self.nav.setObjectName("steps")
        self.nav.addItems(ALL_PAGES)
        # as wide as its longest step with its mark, not a fixed 150 px: the pages get the rest of an 800-px screen
        widest = max(self.nav.fontMetrics().horizontalAdvance(f"{i + 1}  {name}  ✓") for i, name in enumerate(ALL_PAGES))
        self.nav.setFixedWidth(min(150, widest + 40))
        self.stack = QStackedWidget()
        for _ in ALL_PAGES:
            self.stack.addWidget(QWidget())  # a placeholder until the page is built
        self.pages = _Pages(self)
        for name in ALL_PAGES if not lazy else ():
            self.pages[name]  # noqa: B018 (builds it)
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.banner.setWordWrap(True)
        self.banner.linkActivated.connect(lambda step: self.nav.setCurrentRow(PAGES.index(step)))
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.banner)
        column.addWidget(self.stack, 1)
        body = QWidget()
        row = QHBoxLayout(body)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.nav)
        row.addWidget(right, 1)
        self.setCentralWidget(body)
        self.nav.currentRowChanged.connect(self.show_page)
        self.nav.currentRowChanged.connect(lambda _: self.show_steps())  # the banner names this page's step

        self.model_label, self.tier_label, self.health_label = QLabel(), QLabel("tier: edge (Lite FP32)"), QLabel()
        for label in (self.model_label, self.tier_label, self.health_label):
            self.statusBar().addPermanentWidget(label)
        self.health_label.setText("Lite bridge: checking…")
        self.state.model_changed.connect(lambda _: self.model_label.setText(f"model: {self.state.model_name}"))
        self.model_label.setText(f"model: {self.state.model_name}")
        self.state.model_changed.connect(lambda _: self.show_steps())
        self.state.step_done.connect(lambda _: self.show_steps())
        self.show_steps()
        self._menus()
        self._restore()
        self.state.model_changed.connect(lambda folder: self.settings.set("model_dir", str(folder)))
        last = self.settings.get("model_dir")
        if last and self._usable(Path(last)):
            self.state.set_model(Path(last))  # the last active model, if it is still there
        else:
            self.state.restore_package()  # the sample's package, if one was built
        steps_memory.restore(self.state, self.settings)  # the ✓ of steps whose results are still there
        self.state.step_done.connect(lambda _: steps_memory.remember(self.state, self.settings))
        self.state.model_changed.connect(lambda _: steps_memory.remember(self.state, self.settings))
        if not lazy:
            self.check_health()
        if start_live:
            self.nav.setCurrentRow(PAGES.index("Live"))
            self.pages["Live"].autostart()
        else:
            self.nav.setCurrentRow(self.settings.get("page", 0))

    @staticmethod
    def _usable(folder: Path) -> bool:
        from app.gui.state import describe

        description = describe(folder)
        return (description.model_path(folder) if description else folder / "model.onnx").is_file()

    def check_health(self) -> None:
        """The doctor's Lite bridge check (a converter child): not while the app is starting up."""
        self.runner.start(_doctor_job, on_done=self.show_health,
                          on_error=lambda exc: self.health_label.setText(f"Lite bridge: BROKEN ({exc})"))

    def next_step(self) -> str | None:
        return next((step for step in PAGES if step not in self.state.steps_done), None)

    def show_steps(self) -> None:
        """Numbered steps with their state (✓ done, → next) and a banner naming the active model and
        what to do next, above every page."""
        upcoming = self.next_step()
        for i, step in enumerate(PAGES):
            mark = "✓" if step in self.state.steps_done else "→" if step == upcoming else " "
            self.nav.item(i).setText(f"{i + 1}  {step}  {mark}")
            self.nav.item(i).setToolTip(HINTS[step])
        for i, tool in enumerate(TOOLS, start=len(PAGES)):
            self.nav.item(i).setText(f"   {tool}")
            self.nav.item(i).setToolTip("per-layer INT8 error, mixed precision and the accuracy–latency–size trade-off")
        here = ALL_PAGES[self.nav.currentRow()] if 0 <= self.nav.currentRow() < len(ALL_PAGES) else None
        if upcoming and upcoming == here:  # on the step's own page: no link to itself
            todo = f"This step ({PAGES.index(upcoming) + 1} of {len(PAGES)}): {HINTS[upcoming]}"
        elif upcoming:
            todo = (f"Next: <a href='{upcoming}' style='color: {LINK}'>step {PAGES.index(upcoming) + 1}, "
                    f"{upcoming}</a> — {HINTS[upcoming]}")
        else:
            todo = "All five steps done — try another model, or booth mode (F11)"
        self.banner.setText(f"<b>Active model:</b> {self.state.model_name} &nbsp;·&nbsp; {todo}")

    def show_page(self, row: int) -> None:
        if 0 <= row < len(ALL_PAGES):
            self.pages[ALL_PAGES[row]]  # noqa: B018 (built on first use)
            self.stack.setCurrentIndex(row)

    def current_page(self) -> QWidget:
        """The page on screen (the stack holds each page inside its scroll area)."""
        return self.stack.currentWidget().widget()

    def _menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")  # where desktop users look for Import and Quit
        import_action = QAction("Import a model…", self)
        import_action.setShortcut(QKeySequence.StandardKey.Open)
        import_action.triggered.connect(self.import_model)
        file_menu.addAction(import_action)
        file_menu.addSeparator()
        view = self.menuBar().addMenu("&View")
        booth = QAction("Booth mode", self)
        booth.setShortcut(QKeySequence("F11"))
        booth.triggered.connect(lambda: self.enter_booth())  # not triggered(bool) as resume_live
        view.addAction(booth)
        dark = QAction("Dark theme", self, checkable=True, checked=self.settings.get("theme") == "dark")
        dark.toggled.connect(self.set_dark)
        view.addAction(dark)
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        docs = QAction("Documentation", self)
        docs.triggered.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(DOCS))))
        help_menu.addAction(docs)
        about = QAction("About Edge Studio", self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    def import_model(self) -> None:
        """File → Import: the Model page's own import (file dialog, model card, errors in a dialog)."""
        self.nav.setCurrentRow(ALL_PAGES.index("Model"))
        self.pages["Model"].choose_import()

    def set_dark(self, dark: bool) -> None:
        from app.gui.theme import apply_theme

        self.settings.set("theme", "dark" if dark else "light")
        apply_theme(self.settings.get("theme"))

    def show_about(self) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Information, "About Edge Studio", about_text(), parent=self)
        box.setObjectName("aboutDialog")
        box.open()
        return box

    def enter_booth(self, resume_live: bool | None = None) -> None:
        """Booth mode over the app. The Live page's view pauses meanwhile (the booth runs its own source
        and models; both at once would share the cores for a view nobody sees) and starts again when
        booth mode is left, if it was running (resume_live: start it then in any case, as when the app
        opened in booth mode)."""
        from app.gui.booth import BoothWindow

        if getattr(self, "booth", None) is not None and self.booth.isVisible():
            return  # F11 again: one booth at a time (a second would run its models beside the first)
        live = self.pages["Live"]
        live.pause()  # resumed when booth mode is left, if it was running
        self.booth = BoothWindow(self.state, self.settings)
        # Deleted once closed: its C++ children (the clip recorder, timers, shortcuts) keep their Python
        # wrappers alive and point back at the booth, a cycle Python's gc cannot see; without this every
        # enter/leave leaked the whole window (~13 MB, found by tests/test_gui_soak.py).
        self.booth.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        booth = self.booth
        booth.destroyed.connect(lambda: self._booth_gone(booth))
        self.booth.left.connect(live.autostart if resume_live else live.resume)
        self.booth.show_on(self.screen())

    def _booth_gone(self, booth) -> None:
        if self.booth is booth:  # not a newer booth entered before this one's deferred delete
            self.booth = None

    def show_health(self, report: dict) -> None:
        bridge = report["lite_bridge"]
        self.doctor = report
        self.health_label.setText(f"Lite bridge: OK ({bridge['version']})" if bridge["ok"]
                                  else f"Lite bridge: BROKEN — {bridge['error']}")
        # mid-tone green and red: readable on the light and the dark theme alike
        self.health_label.setStyleSheet("color: #3a9d5d;" if bridge["ok"] else "color: #e0524f;")

    def _restore(self) -> None:
        from app.gui.screen_fit import fit_main_window

        geometry = self.settings.get("geometry")
        restored = bool(geometry) and self.restoreGeometry(QByteArray.fromBase64(geometry.encode()))
        self.maximize = fit_main_window(self, restored)  # a small screen: shown maximized (run_gui)

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
    from app.gui.theme import apply_theme

    apply_theme(Settings().get("theme", "light"))
    window = MainWindow(lazy=True, start_live=not booth)  # `booth`: the live view starts when booth mode is left
    window.showMaximized() if window.maximize else window.show()
    done: list[bool] = []

    # the other pages are built once the first live frame is up (or when the user opens one)
    def after_first_frame() -> None:
        if not done:
            done.append(True)
            window.check_health()
            QTimer.singleShot(200, window.pages.build_rest)

    window.pages["Live"].views[0].first_frame.connect(after_first_frame)
    if booth:
        window.nav.setCurrentRow(PAGES.index("Live"))  # what is shown when booth mode is left
        window.enter_booth(resume_live=True)
        window.booth.views[0].first_frame.connect(after_first_frame)
    if first_frame_exit:
        _exit_on_first_frame(app, window, screenshot)
    code = app.exec()
    leave_if_jobs_hang(code)
    return code


def leave_if_jobs_hang(code: int) -> None:
    """The window has closed and cancelled every job; one that ignored Cancel still runs in its thread, and
    Qt aborts the process (SIGABRT) when it destroys a running QThread at exit. Settings are saved by
    now and job children killed, so leave at once instead: a quit never ends in a crash report."""
    from app.gui.workers import threads_still_running

    hanging = threads_still_running()
    if hanging:
        print(f"edge-studio: {hanging} job(s) did not stop when asked; leaving without them", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


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

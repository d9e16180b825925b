"""The screenshot matrix: every page (and with --booth every booth scene) on one screen size, in the
light and the dark theme, from the real windows on a real X server (tests/test_screenshot_matrix.py
runs it under Xvfb with openbox, one screen size per run). Each shot is checked: a widget clipped or
outside the window, a text wider than its box, a page scrolling sideways, a chart axis title longer
than its axis, a window larger than the screen's free area. Prints one JSON line: the problems and the
files written.

    DISPLAY=:N .venv/bin/python docs/screenshots/matrix.py --size 1024x768 --themes light dark --out DIR
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
os.environ.setdefault("GLOG_v", "3")

from PySide6.QtCore import QEventLoop, QPoint, QRect  # noqa: E402
from PySide6.QtGui import QFontMetrics, QTextDocument  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton,
    QAbstractScrollArea,
    QApplication,
    QCheckBox,
    QLabel,
    QPushButton,
    QRadioButton,
    QWidget,
)


def settle(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


def wait_until(app, condition, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        settle(app, 0.05)
    return False


def _inside_scroll_content(widget: QWidget, top: QWidget) -> QAbstractScrollArea | None:
    """The scroll area whose scrolled content holds `widget` (its rows may be below the fold), if any."""
    parent = widget.parentWidget()
    while parent is not None and parent is not top:
        if isinstance(parent, QAbstractScrollArea) and parent.viewport().isAncestorOf(widget):
            return parent
        parent = parent.parentWidget()
    return None


def _text_width(widget: QWidget) -> int | None:
    """The width the widget's text needs, for the kinds whose text can be cut off (None: not checked)."""
    metrics = QFontMetrics(widget.font())
    if isinstance(widget, QLabel):
        if widget.wordWrap() or not widget.text() or (widget.pixmap() is not None and not widget.pixmap().isNull()):
            return None
        text = widget.text()
        if widget.textFormat() != 0 and ("<" in text and ">" in text):  # rich text: as Qt lays it out
            doc = QTextDocument()
            doc.setDefaultFont(widget.font())
            doc.setHtml(text)
            doc.setDocumentMargin(0)
            return int(doc.idealWidth())
        return max(metrics.horizontalAdvance(line) for line in text.splitlines())
    if isinstance(widget, QPushButton) and widget.text():  # its style sheet's padding included
        return widget.sizeHint().width()
    if isinstance(widget, (QCheckBox, QRadioButton)) and widget.text():
        return widget.sizeHint().width()
    return None


def layout_problems(top: QWidget, name: str) -> list[str]:
    """What a person would see cut off in `top` as shown now."""
    import pyqtgraph as pg

    problems = []
    frame = top.rect()
    reported: set[int] = set()  # a widget found cut off: its children are not listed again
    for widget in top.findChildren(QWidget):
        if not widget.isVisible() or widget.width() <= 0:
            continue
        if any(id(a) in reported for a in _ancestors(widget, top)):
            continue
        if any(isinstance(a, pg.GraphicsView) for a in _ancestors(widget, top)):
            continue  # pyqtgraph's own items are checked as charts below
        where = QRect(widget.mapTo(top, QPoint(0, 0)), widget.size())
        what = f"{name}: {type(widget).__name__} {widget.objectName() or _short(widget)}"
        area = _inside_scroll_content(widget, top)
        if area is not None:
            if not hasattr(area, "setWidgetResizable"):
                continue  # a table's, a list's or a text box's own rows: they scroll inside it
            port = QRect(area.viewport().mapTo(top, QPoint(0, 0)), area.viewport().size())
            if where.left() < port.left() - 1 or where.right() > port.right() + 1:
                problems.append(f"{what} sticks out sideways of its page ({where.left()}..{where.right()} "
                                f"outside {port.left()}..{port.right()})")
                reported.add(id(widget))
                continue
        elif not frame.adjusted(-1, -1, 1, 1).contains(where):
            problems.append(f"{what} outside the window ({where.getRect()} not in {frame.getRect()})")
            reported.add(id(widget))
            continue
        needed = _text_width(widget)
        room = widget.contentsRect().width() if isinstance(widget, QLabel) else widget.width()
        if needed is not None and needed > room + 1 and not isinstance(widget.parentWidget(), QAbstractButton):
            problems.append(f"{what}: text needs {needed} px, has {room}")
    for area in top.findChildren(QAbstractScrollArea):
        if area.isVisible() and area.horizontalScrollBar().isVisible() and area.objectName() != "allowSideways" \
                and hasattr(area, "setWidgetResizable"):
            problems.append(f"{name}: a page scrolls sideways ({area.widget().__class__.__name__})")
    for plot in top.findChildren(pg.PlotWidget):
        if not plot.isVisible():
            continue
        item = plot.getPlotItem()
        title = item.titleLabel
        room = plot.width() - plot.getAxis("left").width()
        if title.text and (title.item.boundingRect().width() > room + 1 or item.vb.width() > room + 1):
            problems.append(f"{name}: chart title '{title.text}' wider than its chart ({room} px)")
        left = plot.getAxis("left")
        if left.label.isVisible() and left.label.toPlainText() and \
                left.label.boundingRect().width() > left.height() + 1:  # rotated: its width runs down the axis
            problems.append(f"{name}: axis title '{left.label.toPlainText()}' longer than its axis")
    return problems


def _ancestors(widget: QWidget, top: QWidget):
    parent = widget.parentWidget()
    while parent is not None and parent is not top:
        yield parent
        parent = parent.parentWidget()


def _short(widget: QWidget) -> str:
    text = getattr(widget, "text", lambda: "")()
    return repr(text[:40]) if isinstance(text, str) and text else ""


def quant_report(cache: Path):
    """A real quant-debug report of the digits sample (made once, kept for the other screen sizes)."""
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    from app.gui.pages.quantize_page import quant_debug_job
    from jobs.state import JobState

    report = quant_debug_job(JobState(), "digits", 0.5, 3)
    cache.write_bytes(pickle.dumps(report))
    return report


def built_results(folder: Path, window) -> tuple[Path, dict, dict]:
    """A real build of the active model's targets and a real tier comparison of it (made once into
    `folder`, read from there for the other screen sizes): what the Convert and Profile pages show."""
    from app.gui.pages.convert_page import _deploy_job
    from app.gui.pages.profile_page import _compare_job
    from jobs.state import JobState

    cache, package = folder / "results.pkl", folder / "package"
    if cache.is_file():
        return package, *pickle.loads(cache.read_bytes())
    convert = window.pages["Convert"]
    chosen = [name for name, check in convert.checks.items() if check.isChecked()]
    from converters.targets import TARGETS

    tiers = tuple(sorted({t.tier for t in TARGETS if t.name in chosen}))
    summary = _deploy_job(JobState(), model=window.state.model_onnx, out=package, tiers=tiers, calibration=None,
                          method=convert.method.currentText())
    result = _compare_job(JobState(), package=package, wan_delay_ms=0.0)
    cache.write_bytes(pickle.dumps((summary, result)))
    return package, summary, result


def shoot_pages(app, size: str, themes: list[str], out: Path, report_cache: Path | None,
                built: Path | None = None) -> tuple[list, list]:
    from app.gui.main import ALL_PAGES, MainWindow
    from app.gui.settings import Settings
    from app.gui.theme import apply_theme

    tmp = Path(tempfile.mkdtemp(prefix="pages-"))
    apply_theme(themes[0])
    window = MainWindow(settings=Settings(tmp / "settings.json"), start_live=False)
    window.showMaximized() if window.maximize else window.show()
    settle(app, 1.0)
    problems, written = [], []
    screen = window.screen().availableGeometry()
    if not screen.contains(window.frameGeometry()):
        problems.append(f"main window {window.frameGeometry().getRect()} larger than the screen's free area "
                        f"{screen.getRect()}")
    if built is not None:  # the pages as after the steps: through the pages' own result callbacks
        package, summary, result = built_results(built, window)
        convert = window.pages["Convert"]
        convert.chosen = {name for name, check in convert.checks.items() if check.isChecked()}
        convert.done(package, summary)
        window.pages["Profile"].show_result(result)
        settle(app, 0.5)
    if report_cache is not None:
        page = window.pages["Quantize"]
        page.show_report(quant_report(report_cache))
        worst = next(i for i, n in enumerate(page.report.nodes) if n["rank"] == 1)
        page.show_node(worst)  # what a click on a node shows
    for theme in themes:
        apply_theme(theme)
        for row, name in enumerate(ALL_PAGES):
            window.nav.setCurrentRow(row)
            settle(app, 0.4)  # charts lay their scenes out a few events after a resize
            problems += layout_problems(window, f"{name} {theme} {size}")
            path = out / f"{name.lower()}-{theme}-{size}.png"
            window.grab().save(str(path))
            written.append(path)
    window.close()
    settle(app, 0.5)
    return problems, written


def shoot_booth(app, size: str, out: Path) -> tuple[list, list]:
    """Every booth scene, shown as booth mode shows it (exactly the screen), after its own frames came."""
    from app.gui.booth import SCENES, BoothTiming, BoothWindow

    booth = BoothWindow(camera="", timing=BoothTiming(scene_s=3600), clip_dir=tempfile.mkdtemp())
    booth.show_on()
    problems, written = [], []
    try:
        settle(app, 1.0)
        screen = booth.screen().geometry()
        if booth.geometry() != screen:
            problems.append(f"booth {booth.geometry().getRect()} is not the screen {screen.getRect()}")
        wait_until(app, lambda: booth.facts is not None, 240)
        for index, scene in enumerate(SCENES):
            booth._show_scene(index)
            if scene.panel == "panes":
                wait_until(app, lambda: all(v.pixmap() is not None and not v.pixmap().isNull()
                                            for v in booth.views), 240)  # this scene's own frames in both panes
            settle(app, 2.0)
            problems += layout_problems(booth, f"booth {scene.panel} {index} {size}")
            path = out / f"booth-{index + 1}-{scene.panel}-{size}.png"
            booth.grab().save(str(path))
            written.append(path)
    finally:
        booth.close()
        settle(app, 0.5)
    return problems, written


def booth_geometry(app) -> list[str]:
    """Only where booth mode lands: exactly the screen, with or without a window manager."""
    from app.gui.booth import BoothTiming, BoothWindow

    booth = BoothWindow(camera="", timing=BoothTiming(scene_s=3600), clip_dir=tempfile.mkdtemp())
    booth.show_on()
    try:
        screen = booth.screen().geometry()
        # the window manager makes it full-screen when it gets to it: within 1.5 s here on a quiet machine (first
        # it maps the window decorated), later beside other work (still decorated, (-1, -20, 1026, 793), after
        # 1.5 s under a CPU hog)
        settle(app, 1.5)
        wait_until(app, lambda: booth.frameGeometry() == screen and booth.geometry() == screen, timeout=30)
        shown = booth.frameGeometry()
        return [] if shown == screen and booth.geometry() == screen else \
            [f"booth {shown.getRect()} is not the screen {screen.getRect()}"]
    finally:
        booth.close()
        settle(app, 0.5)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", required=True, help="the screen's size, e.g. 1024x768 (for the file names)")
    parser.add_argument("--themes", nargs="+", default=["light", "dark"])
    parser.add_argument("--out", type=Path, default=HERE / "matrix")
    parser.add_argument("--booth", action="store_true", help="also every booth scene")
    parser.add_argument("--booth-geometry", action="store_true", help="only check where booth mode lands")
    parser.add_argument("--quantize-report", type=Path, help="fill the Quantize page with a real report "
                        "(made into this file once, read from it after)")
    parser.add_argument("--built", type=Path, help="fill the Convert and Profile pages with a real build and "
                        "comparison (made into this folder once, read from it after)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # the user's own model list and packages stay out of the shots (and untouched)
    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="data-")
    app = QApplication.instance() or QApplication(sys.argv)
    from app.gui.live_view import load_lite_runtime

    load_lite_runtime()
    if args.booth_geometry:
        print(json.dumps({"problems": booth_geometry(app), "written": []}), flush=True)
        return 0
    if args.built:
        args.built.mkdir(parents=True, exist_ok=True)
    problems, written = shoot_pages(app, args.size, args.themes, args.out, args.quantize_report, args.built)
    if args.booth:
        more, shots = shoot_booth(app, args.size, args.out)
        problems += more
        written += shots
    print(json.dumps({"problems": problems, "written": [str(p) for p in written]}), flush=True)
    return 0


if __name__ == "__main__":
    # every temp folder of the run (settings, the model list, booth clips, the app's scratch; children's too,
    # through TMPDIR) goes in here and goes with it; a file still being written at the end must not turn a good
    # run into exit 1
    with tempfile.TemporaryDirectory(prefix="edge-studio-matrix-", ignore_cleanup_errors=True) as scratch:
        tempfile.tempdir = os.environ["TMPDIR"] = scratch
        code = main()
    sys.exit(code)

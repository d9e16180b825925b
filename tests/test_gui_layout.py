"""Every page fits a 1024×700 window (a booth laptop, a projector): no page is wider than the space beside
the step list, so nothing is cut off behind a horizontal scroll bar. Found on the Profile page (its package
name, spin boxes and buttons in one row), the Quantize page (three limit boxes beside the target) and the Live
page (its statistics lines)."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.gui.main import ALL_PAGES, MainWindow
from app.gui.settings import Settings

LONG_PACKAGE = "Package: trained-20261202-002904-20261202-002916"  # what a trained model's package is called
LIVE_STATS = ("digits-int8      lite           32.2 FPS  inference p50   1.55 ms  latency p99  38.73 ms  dropped 0"
              "  vs truth: top-1 92.8 %\ndigits vs digits-int8: top-1 98.3 % on 1690 shared frames")  # Live, running


def test_every_page_fits_a_1024_window(qtbot, tmp_path):
    window = MainWindow(settings=Settings(tmp_path / "settings.json"), start_live=False)
    qtbot.addWidget(window)
    window.resize(1024, 700)
    window.show()
    too_wide = {}
    for row, name in enumerate(ALL_PAGES):
        window.show_page(row)
        page = window.pages[name]
        if hasattr(page, "package"):  # the Profile page shows the package's full name
            page.package.setText(LONG_PACKAGE)
        if name == "Live":  # its statistics lines while a view runs, and a built package's models as choices
            page.stats.setText(LIVE_STATS)
            package = tmp_path / "trained-20261202-002904-20261202-002916"
            for tier_file in ("edge/model.ms", "device/model_int8.ms"):  # names only: nothing is loaded
                (package / tier_file).parent.mkdir(parents=True, exist_ok=True)
                (package / tier_file).write_bytes(b"")
            window.state.set_package(package, built=False)  # the active model's variants become choices
        qtbot.wait(50)
        room = window.stack.currentWidget().viewport().width()
        assert room > 700, (name, room)  # the stack itself got the window's width
        if page.minimumSizeHint().width() > room:
            too_wide[name] = (page.minimumSizeHint().width(), room)
        for plot in page.findChildren(pg.PlotWidget):  # a title spans the data area only (not the axes)
            title, room = plot.getPlotItem().titleLabel, plot.getPlotItem().vb.width()
            if title.text and title.item.boundingRect().width() > room:
                too_wide[f"{name}: {title.text}"] = (round(title.item.boundingRect().width()), round(room))
    assert not too_wide, f"wider than a 1024-px window leaves them: {too_wide}"


def test_chart_titles_follow_the_theme(qtbot, tmp_path):
    """Switched to dark, a chart made in the light theme gets a light title (it kept dark grey before)."""
    from app.gui.theme import THEMES, apply_theme

    window = MainWindow(settings=Settings(tmp_path / "settings.json"), start_live=False)
    qtbot.addWidget(window)
    plots = window.pages["Profile"].findChildren(pg.PlotWidget)
    try:
        for theme in ("light", "dark"):
            apply_theme(theme)
            colours = {plot.getPlotItem().titleLabel.opts["color"] for plot in plots}
            assert colours == {THEMES[theme]["chart_fg"]}, (theme, colours)
    finally:
        apply_theme("light")


def test_file_menu_imports_and_quits(qtbot, tmp_path, monkeypatch):
    """File holds Import (Ctrl+O, the Model page's own import) and Quit (Ctrl+Q), where desktop users look."""
    import onnx_models
    from PySide6.QtWidgets import QFileDialog, QMessageBox
    from test_gui_clicks import answer_modal, click_ok

    window = MainWindow(settings=Settings(tmp_path / "settings.json"), start_live=False)
    qtbot.addWidget(window)
    window.show()
    menus = {a.text(): a.menu() for a in window.menuBar().actions()}
    assert list(menus) == ["&File", "&View", "&Help"]
    actions = {a.text(): a for a in menus["&File"].actions() if a.text()}
    assert set(actions) == {"Import a model…", "Quit"}
    model = onnx_models.gap_net(tmp_path / "from-the-menu.onnx")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(model), "")))
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.No)  # "Make it active?"
    answered = answer_modal(click_ok)  # the import dialog, as proposed
    actions["Import a model…"].trigger()
    page = window.pages["Model"]
    assert answered and window.current_page() is page
    assert window.state.library.find(page.imported).name == "from-the-menu"  # in Your models
    qtbot.waitUntil(lambda: "Lite converts" in page.card_view.toPlainText()
                    and "Reading" not in page.card_view.toPlainText(), timeout=120_000)  # the card of the chosen file
    actions["Quit"].trigger()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert (tmp_path / "settings.json").is_file()  # quitting saved the window's place


def _wheel(widget, ctrl: bool = False) -> None:
    """A real wheel turn over the middle of `widget` (one notch up)."""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier if ctrl else Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget.viewport(), event)


def test_the_wheel_scrolls_the_page_and_ctrl_wheel_zooms_the_chart(qtbot, tmp_path):
    window = MainWindow(settings=Settings(tmp_path / "settings.json"), start_live=False)
    qtbot.addWidget(window)
    window.resize(1024, 700)
    window.show()
    window.show_page(ALL_PAGES.index("Profile"))
    qtbot.wait(100)
    area = window.stack.currentWidget()
    plot = window.pages["Profile"].cdf
    area.ensureWidgetVisible(plot)
    area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())
    qtbot.wait(50)
    before_range, before_scroll = plot.getPlotItem().vb.viewRange(), area.verticalScrollBar().value()
    assert before_scroll > 0  # the page is taller than the window: there is something to scroll
    _wheel(plot)
    qtbot.wait(50)
    assert plot.getPlotItem().vb.viewRange() == before_range  # no zoom
    assert area.verticalScrollBar().value() < before_scroll  # the page scrolled up instead
    _wheel(plot, ctrl=True)
    qtbot.wait(50)
    assert plot.getPlotItem().vb.viewRange() != before_range  # Ctrl+wheel zooms


def test_point_labels_step_aside_or_hide(qtbot):
    """Five names on nearly the same spot: the ones shown never overlap, the rest are hidden."""
    from app.gui.charts import PointLabels
    from app.gui.theme import titled_chart

    plot = titled_chart("labels")
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    plot.show()
    plot.setXRange(0, 10, padding=0)
    plot.setYRange(0, 10, padding=0)
    labels = PointLabels(plot)
    labels.set([(5, 5 + i * 0.05, f"variant-{i}") for i in range(5)] + [(1, 1, "alone")])
    qtbot.wait(50)
    shown = [item for _, _, item in labels.items if item.isVisible()]
    boxes = [item.sceneBoundingRect() for item in shown]
    assert "alone" in labels.shown() and 2 <= len(shown) < 6
    assert not any(a.intersects(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_log_axis_ticks_do_not_run_together(qtbot):
    """A log axis over 0.05–0.1 ms on a 300-px chart: pyqtgraph labelled every minor tick
    ("0.050.060.07…"); the labels now keep their distance."""
    from app.gui.charts import TICK_ROOM
    from app.gui.theme import titled_chart

    plot = titled_chart("ticks")
    qtbot.addWidget(plot)
    plot.resize(300, 240)
    plot.show()
    plot.setLogMode(x=True)
    plot.plot([0.05, 0.06, 0.07, 0.08, 0.1], [1, 2, 3, 4, 5])
    qtbot.wait(50)
    axis = plot.getAxis("bottom")
    values = [v for _, level in axis.tickValues(*plot.getPlotItem().vb.viewRange()[0], axis.width()) for v in level]
    assert 2 <= len(values) <= axis.width() / TICK_ROOM["bottom"] + 1


def test_banner_never_links_to_its_own_page_and_steps_survive_a_restart(qtbot, tmp_path):
    settings_file = tmp_path / "settings.json"
    window = MainWindow(settings=Settings(settings_file), start_live=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton,
                     pos=window.nav.visualItemRect(window.nav.item(ALL_PAGES.index("Model"))).center())
    assert "href='Model'" not in window.banner.text() and "This step (1 of 5)" in window.banner.text()
    qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton,
                     pos=window.nav.visualItemRect(window.nav.item(ALL_PAGES.index("Deploy"))).center())
    assert "href='Model'" in window.banner.text()  # elsewhere it links to the step
    package = tmp_path / "package"
    package.mkdir()
    window.state.set_model(window.state.model_dir)  # the Model step, as a training or an import ends
    window.state.set_package(package)  # the Convert step, as a build ends
    window.state.mark_done("Live")
    window.close()
    again = MainWindow(settings=Settings(settings_file), start_live=False)
    qtbot.addWidget(again)
    assert {"Model", "Convert", "Live"} <= again.state.steps_done and again.state.package_dir == package
    assert again.nav.item(1).text().endswith("✓")  # Convert
    again.close()
    package.rmdir()  # the package is gone: its step is to do again
    third = MainWindow(settings=Settings(settings_file), start_live=False)
    qtbot.addWidget(third)
    assert "Convert" not in third.state.steps_done and "Live" in third.state.steps_done
    third.close()


def test_small_words(qtbot, tmp_path):
    """No "(the sample) (sample)", no "10 epochs (epochs)", Lite bridge in a colour both themes read."""
    from app.gui.pages.training_report import report_html

    window = MainWindow(settings=Settings(tmp_path / "settings.json"), start_live=False)
    qtbot.addWidget(window)
    library = window.pages["Model"].library.list
    texts = [library.item(i).text() for i in range(library.count())]
    assert texts and not any("(the sample)" in t and "(sample)" in t for t in texts), texts
    metrics = {"val_top1": 0.98, "val_samples": 360, "train_top1": 0.99, "train_samples": 1437, "arch": "cnn",
               "epochs": 10, "stopped": "epochs", "train_seconds": 12.0, "step_ms": 4.0}
    assert "10 epochs," in report_html(metrics) and "(epochs)" not in report_html(metrics)
    assert "(stopped by time budget)" in report_html(metrics | {"stopped": "time budget"})  # 7ae5238: "stopped by"
    window.show_health({"lite_bridge": {"ok": True, "version": "2.0.0"}})
    assert "#3a9d5d" in window.health_label.styleSheet()


def test_file_dialogs_open_in_the_home_folder(qtbot, tmp_path, monkeypatch):
    from pathlib import Path

    from PySide6.QtWidgets import QFileDialog

    asked = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda parent, caption, folder="", *a, **k: asked.append(folder) or ""))
    window = MainWindow(settings=Settings(tmp_path / "settings.json"), start_live=False)
    qtbot.addWidget(window)
    window.show()
    deploy = window.pages["Deploy"]
    browse = next(b for b in deploy.findChildren(QPushButton) if b.text().startswith("Browse"))
    qtbot.mouseClick(browse, Qt.MouseButton.LeftButton)
    assert asked == [str(Path.home())]


def test_named_ticks_are_thinned_to_the_axis_length(qtbot):
    """Bar names on a narrow chart (Profile's variants at 800 px) keep apart: every other one is dropped."""
    from PySide6.QtGui import QFontMetricsF

    from app.gui.theme import titled_chart

    plot = titled_chart("bars")
    qtbot.addWidget(plot)
    plot.resize(200, 200)
    plot.show()
    names = [(i, f"int8·{i}t-variant") for i in range(8)]
    plot.getAxis("bottom").setTicks([names])
    qtbot.wait(50)
    axis = plot.getAxis("bottom")
    shown = axis._tickLevels[0]
    width = QFontMetricsF(axis.font()).horizontalAdvance(names[0][1])
    assert 1 <= len(shown) < len(names) and len(shown) * width <= axis.width() + width
    plot.resize(1600, 200)
    qtbot.wait(50)
    assert len(plot.getAxis("bottom")._tickLevels[0]) == len(names)  # room again: all of them


def test_live_never_says_press_start_while_it_starts_by_itself(qtbot, tmp_path):
    window = MainWindow(settings=Settings(tmp_path / "settings.json"), start_live=True)
    qtbot.addWidget(window)
    view = window.pages["Live"].views[0]
    assert view.text() == "Starting…"
    window.show()
    qtbot.waitUntil(lambda: view.frames_shown > 0, timeout=120_000)
    window.close()


def test_live_source_shows_its_whole_name_where_there_is_room(qtbot, tmp_path):
    """At 1024 px the source picker shows "Synthetic digits (no webcam found)" whole (at a fixed 220 px it was
    cut); narrower, it gives way and the tooltip keeps the whole name."""
    window = MainWindow(settings=Settings(tmp_path / "settings.json"), start_live=False)
    qtbot.addWidget(window)
    window.show()
    window.show_page(ALL_PAGES.index("Live"))
    source = window.pages["Live"].source
    source.setCurrentIndex(source.findData("synthetic"))
    source.setItemText(source.currentIndex(), "Synthetic digits (no webcam found)")  # as after the camera scan
    assert source.toolTip() == "Synthetic digits (no webcam found)"
    needed = source.fontMetrics().horizontalAdvance(source.currentText())
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: source.width() > needed + 20)  # the text and the arrow both fit
    window.resize(800, 560)
    qtbot.waitUntil(lambda: source.width() < needed)  # the page still fits; the row gave way
    assert window.pages["Live"].minimumSizeHint().width() <= window.stack.currentWidget().viewport().width()

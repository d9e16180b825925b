"""Every page fits a 1024×700 window (a booth laptop, a projector): no page is wider than the space beside
the step list, so nothing is cut off behind a horizontal scroll bar. Found on the Profile page (its package
name, spin boxes and buttons in one row), the Quantize page (three limit boxes beside the target) and the Live
page (its statistics lines)."""
from __future__ import annotations

import pyqtgraph as pg

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
    qtbot.waitUntil(lambda: "model.onnx" in page.card_view.toPlainText()
                    and "Probing" not in page.card_view.toPlainText(), timeout=120_000)
    actions["Quit"].trigger()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert (tmp_path / "settings.json").is_file()  # quitting saved the window's place

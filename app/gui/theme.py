"""One look for the whole app: a light theme for the desk, a dark one for the booth, the tier colours
of converters/targets.py for every chart (the HTML report uses the same), and chart helpers that label
axes with units and keep legends off the data."""
from __future__ import annotations

from PySide6.QtWidgets import QApplication

from converters.targets import TIER_COLOURS

ACCENT = "#3b6ea8"
GOOD, BAD, WARN = "#2e7d32", "#c62828", "#b26a00"

THEMES = {
    "light": {"window": "#f7f7f9", "panel": "#ffffff", "text": "#1d1d1f", "muted": "#6b6b73", "border": "#d6d6dc",
              "chart_bg": "#ffffff", "chart_fg": "#333333"},
    "dark": {"window": "#16181d", "panel": "#1f2229", "text": "#eceef2", "muted": "#9aa0ab", "border": "#343844",
             "chart_bg": "#1f2229", "chart_fg": "#d8dbe2"},
}


def stylesheet(name: str) -> str:
    c = THEMES[name]
    return f"""
    QWidget {{ background: {c['window']}; color: {c['text']}; font-size: 13px; }}
    QGroupBox {{ background: {c['panel']}; border: 1px solid {c['border']}; border-radius: 6px;
                 margin-top: 14px; padding: 8px; }}
    QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {c['muted']}; }}
    QPushButton {{ background: {c['panel']}; border: 1px solid {c['border']}; border-radius: 5px;
                   padding: 5px 14px; }}
    QPushButton:hover {{ border-color: {ACCENT}; }}
    QPushButton:default, QPushButton#primary {{ background: {ACCENT}; color: white; border-color: {ACCENT}; }}
    QPushButton:disabled {{ color: {c['muted']}; }}
    QListWidget#steps {{ background: {c['panel']}; border: none; border-right: 1px solid {c['border']};
                         font-size: 14px; }}
    QListWidget#steps::item {{ padding: 10px 8px; }}
    QListWidget#steps::item:selected {{ background: {ACCENT}; color: white; }}
    QLabel#banner {{ background: {c['panel']}; border-bottom: 1px solid {c['border']}; padding: 6px 10px; }}
    QLabel[role="empty"] {{ color: {c['muted']}; font-size: 15px; padding: 24px; }}
    QTableWidget, QTextBrowser, QPlainTextEdit, QLineEdit, QComboBox, QSpinBox {{
        background: {c['panel']}; border: 1px solid {c['border']}; }}
    QProgressBar {{ border: 1px solid {c['border']}; border-radius: 4px; text-align: center; }}
    QProgressBar::chunk {{ background: {ACCENT}; }}
    """


def apply_theme(name: str, app: QApplication | None = None) -> None:
    import pyqtgraph as pg

    app = app or QApplication.instance()
    app.setStyleSheet(stylesheet(name))
    colours = THEMES[name]
    pg.setConfigOptions(background=colours["chart_bg"], foreground=colours["chart_fg"], antialias=True)
    for widget in app.allWidgets():  # charts that exist already follow the switch too
        if isinstance(widget, pg.PlotWidget):
            widget.setBackground(colours["chart_bg"])
            title = widget.getPlotItem().titleLabel
            if title.text:  # kept its creation colour: dark grey, unreadable on the dark theme
                title.setText(title.text, color=colours["chart_fg"])
                if hasattr(widget, "fit_title"):
                    widget.fit_title()
            for side in ("left", "bottom"):
                axis = widget.getAxis(side)
                axis.setPen(colours["chart_fg"])
                axis.setTextPen(colours["chart_fg"])
                if axis.label.toPlainText():  # an axis title keeps the colour it was made with otherwise
                    axis.setLabel(axis.labelText, units=axis.labelUnits, color=colours["chart_fg"])
            for item in widget.getPlotItem().items:  # node and point labels
                if isinstance(item, pg.TextItem) and getattr(item, "themed", True):
                    item.setColor(colours["chart_fg"])


def tier_colour(tier: str) -> str:
    return TIER_COLOURS.get(tier, ACCENT)


TITLE_SIZE = "10pt"  # pyqtgraph's default clips a one-line title in a third of a 1024-px window


def titled_chart(title: str):
    """A chart with its title in the theme's size and colour (pages use this, not pg.PlotWidget)."""
    from app.gui.charts import ChartWidget

    plot = ChartWidget()
    set_title(plot, title)
    return plot


def set_title(plot, title: str) -> None:
    import pyqtgraph as pg

    plot.setTitle(title, size=TITLE_SIZE, color=pg.getConfigOption("foreground"))
    if hasattr(plot, "fit_title"):
        plot.fit_title()


def label_axes(plot, bottom: tuple[str, str], left: tuple[str, str]) -> None:
    """Axis titles with units (pyqtgraph keeps SI prefixes off: "ms" stays "ms")."""
    import pyqtgraph as pg

    for side, (text, unit) in (("bottom", bottom), ("left", left)):
        axis = plot.getAxis(side)
        axis.enableAutoSIPrefix(False)
        plot.setLabel(side, text, units=unit, color=pg.getConfigOption("foreground"))


def legend_html(entries: list[tuple[str, str]]) -> str:
    """A legend for a QLabel above a chart (never over the data): coloured squares and names."""
    return " &nbsp; ".join(f'<span style="color:{colour}">&#9632;</span> {label}' for label, colour in entries)

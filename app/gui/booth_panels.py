"""Booth mode's big, readable pictures: one bar per tier in the tier's colour (converters/targets.py),
painted large enough to read from across a hall. The race, the shrinking model and the accuracy kept
are all this one widget with different rows."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.gui.theme import THEMES, tier_colour

DARK = THEMES["dark"]


@dataclass
class Row:
    tier: str  # cloud | edge | device | "" (a reference row, grey)
    label: str  # e.g. "EDGE · Lite FP32 · 1 thread"
    value: float | None  # bar length relative to the panel's scale; None: not measured yet
    text: str  # what the bar says, e.g. "0.21 ms"
    note: str = ""  # a small word under the label, e.g. "fastest"


class TierBars(QWidget):
    """Rows of labelled horizontal bars. scale: the value of a full-length bar (None: the largest row)."""

    def __init__(self, scale: float | None = None) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self.scale = scale
        self.unit = 1.0  # the booth's type scale (1.0 at a 1000-px-high screen)
        self.setMinimumHeight(160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_unit(self, unit: float) -> None:
        self.unit = unit
        self.update()

    def set_rows(self, rows: list[Row]) -> None:
        self.rows = rows
        self.update()

    def bar_text(self, tier: str) -> str:
        """The text of a tier's bar (for tests and screenshots)."""
        return next((row.text for row in self.rows if row.tier == tier), "")

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if not self.rows:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width, height = self.width(), self.height()
        lane = height / len(self.rows)
        u = self.unit
        label_w = min(600.0 * u, width * 0.38)
        text_w = min(300.0 * u, width * 0.22)
        bar_h = min(64.0 * u, lane * 0.5)
        values = [row.value for row in self.rows if row.value is not None]
        scale = self.scale or max(values + [1e-9])
        for i, row in enumerate(self.rows):
            top = i * lane
            colour = QColor(tier_colour(row.tier) if row.tier else DARK["muted"])
            painter.setPen(colour)
            painter.setFont(_font(min(28 * u, lane * 0.22), bold=True))
            painter.drawText(QRectF(12, top, label_w - 24, lane * 0.62),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom | Qt.TextFlag.TextWordWrap,
                             row.label)
            if row.note:
                painter.setPen(QColor(DARK["text"]))
                painter.setFont(_font(min(20 * u, lane * 0.15)))
                painter.drawText(QRectF(12, top + lane * 0.62, label_w - 24, lane * 0.36),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, row.note)
            track = QRectF(label_w, top + (lane - bar_h) / 2, max(8.0, width - label_w - text_w - 16), bar_h)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(DARK["panel"]))
            painter.drawRoundedRect(track, 8, 8)
            if row.value is not None:
                filled = QRectF(track.left(), track.top(), max(6.0, track.width() * min(1.0, row.value / scale)),
                                track.height())
                painter.setBrush(colour)
                painter.drawRoundedRect(filled, 8, 8)
            painter.setPen(QColor(DARK["text"]))
            painter.setFont(_fitting(row.text, min(34 * u, lane * 0.25), text_w, bold=True))
            painter.drawText(QRectF(track.right() + 16, top, text_w, lane),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, row.text)
        painter.end()


def _font(size: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(max(10, int(size)))
    font.setBold(bold)
    return font


def _fitting(text: str, size: float, width: float, bold: bool = False) -> QFont:
    """The largest font up to `size` in which `text` fits `width` (a number is never cut off)."""
    font = _font(size, bold)
    while font.pixelSize() > 10 and QFontMetrics(font).horizontalAdvance(text) > width:
        font.setPixelSize(font.pixelSize() - 1)
    return font

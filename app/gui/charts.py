"""Charts that read at any window size: the wheel scrolls the page (Ctrl+wheel zooms, a double-click
resets), tick labels spaced from the axis length, and point labels that step aside for each other
(hidden when there is no room; a hover over the point names it)."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QAbstractScrollArea, QApplication

TICK_ROOM = {"bottom": 64.0, "top": 64.0, "left": 26.0, "right": 26.0}  # pixels per tick label


class ReadableAxis(pg.AxisItem):
    """pyqtgraph labels every level that fits a fill ratio; on a short axis (a third of a 1024-px window)
    its log-scale labels ran together ("0.050.060.07"). Here each level is thinned to what the axis
    length holds, and a level that cannot be shown whole is left out."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        levels = super().tickValues(minVal, maxVal, size)
        budget = max(2, int(size / TICK_ROOM[self.orientation]))
        kept, used = [], 0
        for spacing, values in levels:
            values = list(values)
            if not values:
                continue
            if used + len(values) > budget:
                if used:
                    break  # the finer levels would crowd the labels already there
                stride = -(-len(values) // budget)
                values = values[::stride]
            kept.append((spacing, values))
            used += len(values)
        return kept


    # ticks a page set itself (decades, bar names): thinned the same way, again at every resize
    def setTicks(self, ticks) -> None:  # noqa: N802
        self._all_ticks = ticks
        super().setTicks(self._thinned(ticks))

    def resizeEvent(self, event=None) -> None:  # noqa: N802
        if getattr(self, "_all_ticks", None):
            super().setTicks(self._thinned(self._all_ticks))
        super().resizeEvent(event)

    def _thinned(self, ticks):
        if not ticks:
            return ticks
        horizontal = self.orientation in ("bottom", "top")
        length = self.width() if horizontal else self.height()
        if length <= 0:
            return ticks
        metrics = QFontMetricsF(self.style.get("tickFont") or QFont())
        thinned = []
        for level in ticks:
            level = list(level)
            if not level:
                thinned.append(level)
                continue
            need = (max(metrics.horizontalAdvance(str(text)) for _, text in level) + 10) if horizontal \
                else metrics.height() + 4
            stride = max(1, -(-int(need * len(level)) // int(length)))
            thinned.append(level[::stride])
        return thinned


class ChartWidget(pg.PlotWidget):
    """A plot that lets the page scroll: the wheel zooms only with Ctrl held; a double-click resets."""

    def __init__(self, **kwargs) -> None:
        axes = {side: ReadableAxis(side) for side in ("left", "bottom")}
        super().__init__(axisItems=axes, **kwargs)
        self.setToolTip("Ctrl+wheel zooms, drag pans, double-click resets")
        self.getPlotItem().vb.setMenuEnabled(False)

    def wheelEvent(self, event) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(event)
            return
        area = self.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is None:
            event.ignore()
        else:  # handed on explicitly: Qt does not pass an ignored wheel event on when it was synthesized
            QApplication.sendEvent(area.viewport(), event)

    def resizeEvent(self, event) -> None:  # noqa: N802
        self.fit_title()  # first: the layout below then sizes the data area with the wrapped title
        super().resizeEvent(event)

    def fit_title(self) -> None:
        """A title wider than the chart takes two lines: pyqtgraph sized the data area to the title and
        pushed the chart past its widget, cutting the title's end off."""
        item = self.getPlotItem()
        if item is None or not item.titleLabel.text:  # None: pyqtgraph resizes while it builds the widget
            return
        title = item.titleLabel
        title.item.setTextWidth(-1)
        room = self.width() - self.getAxis("left").width() - 16
        if title.item.boundingRect().width() > room > 60:
            title.item.setTextWidth(room)
        title.updateMin()
        item.layout.invalidate()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        self.getPlotItem().vb.enableAutoRange()
        super().mouseDoubleClickEvent(event)


class PointLabels:
    """Text beside points, each where it overlaps no other label (right-above, right-below, left-above,
    left-below), or hidden; placed again whenever the view changes."""

    OFFSETS = ((0.0, 1.0), (0.0, 0.0), (1.0, 1.0), (1.0, 0.0))  # TextItem anchors to try, in order

    def __init__(self, plot: pg.PlotWidget) -> None:
        self.plot = plot
        self.items: list[tuple[float, float, pg.TextItem]] = []
        vb = plot.getPlotItem().vb
        vb.sigRangeChanged.connect(self.place)
        vb.sigResized.connect(self.place)

    def set(self, points: list[tuple]) -> None:
        """points: (x, y, text) or (x, y, text, gap): gap, in pixels, keeps the text off a big marker."""
        for _, _, item in self.items:
            self.plot.removeItem(item)
        self.items, self.gaps = [], []
        for x, y, text, *gap in points:
            item = pg.TextItem(text, color=pg.getConfigOption("foreground"))  # the theme's; apply_theme follows
            item.setPos(x, y)
            self.plot.addItem(item, ignoreBounds=True)  # moved as the view changes: never widens the range
            self.items.append((x, y, item))
            self.gaps.append(float(gap[0]) if gap else 0.0)
        self.place()

    def place(self, *_) -> None:
        vb = self.plot.getPlotItem().vb
        if not self.items or vb.width() <= 0:
            return
        metrics = QFontMetricsF(QFont())
        bounds = vb.sceneBoundingRect()
        taken: list[QRectF] = []
        for (x, y, item), gap in zip(self.items, self.gaps):
            point = vb.mapViewToScene(pg.Point(x, y))
            w, h = metrics.horizontalAdvance(item.textItem.toPlainText()) + 8, metrics.height() + 4
            for ax, ay in self.OFFSETS:
                at = point + pg.Point(gap * 0.7 * (1 - 2 * ax), gap * 0.7 * (2 * ay - 1) * -1)  # off the marker
                box = QRectF(at.x() - ax * w, at.y() - ay * h, w, h)
                if bounds.contains(box) and not any(box.intersects(other) for other in taken):
                    item.setAnchor((ax, ay))
                    item.setPos(vb.mapSceneToView(at))
                    item.show()
                    taken.append(box)
                    break
            else:
                item.hide()

    def shown(self) -> list[str]:
        return [item.textItem.toPlainText() for _, _, item in self.items if item.isVisible()]

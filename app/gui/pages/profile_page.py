"""Profile page: compare the package's tiers (latency, throughput, size, memory, top-1), charts of the
latency distributions, tier bars and per-op bars, the auto-picked fastest variant per tier, and export
of the HTML/JSON/CSV report."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QTextBrowser, QVBoxLayout,
                               QWidget)

from app.core.compare_job import compare_in_child
from app.core.report import write_all
from app.gui.dialogs import show_error, show_job_error
from app.gui.state import AppState
from app.gui.workers import JobRunner

TIER_COLORS = {"cloud": "#4e79a7", "edge": "#59a14f", "device": "#e15759"}
COLUMNS = ("variant", "tier", "precision", "threads", "p50 ms", "p99 ms", "per s", "size KiB", "peak RSS MB", "top-1")


def _compare_job(package: Path, wan_delay_ms: float, progress, emit, cancel):
    return compare_in_child(package, wan_delay_ms=wan_delay_ms, progress=progress, cancel=cancel)


class ProfilePage(QWidget):
    def __init__(self, state: AppState, runner: JobRunner) -> None:
        super().__init__()
        self.state, self.runner = state, runner
        self.result: dict | None = None
        self.job = None
        layout = QVBoxLayout(self)
        controls = QHBoxLayout()
        self.package = QLabel("Build the targets on the Convert page first.")
        self.wan = QSpinBox()
        self.wan.setRange(0, 1000)
        self.wan.setSuffix(" ms emulated WAN")
        self.run_button = QPushButton("Compare tiers")
        self.run_button.setObjectName("compareTiers")
        self.run_button.setEnabled(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.export_button = QPushButton("Export report…")
        self.export_button.setEnabled(False)
        for widget in (self.package, self.wan, self.run_button, self.cancel_button, self.export_button):
            controls.addWidget(widget)
        layout.addLayout(controls)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        layout.addWidget(self.progress)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table, 1)
        charts = QGridLayout()
        self.cdf = pg.PlotWidget(background="w", title="Latency distribution (ms, log)")
        self.cdf.setLogMode(x=True)
        self.cdf.addLegend(offset=(-5, -5), labelTextSize="7pt")
        self.tiers = pg.PlotWidget(background="w", title="p50 latency per variant (ms)")
        self.ops = pg.PlotWidget(background="w", title="Per-op time of the picked edge variant (ms/run)")
        for col, plot in enumerate((self.cdf, self.tiers, self.ops)):
            plot.setMinimumHeight(200)
            charts.addWidget(plot, 0, col)
        layout.addLayout(charts, 1)
        self.picks = QTextBrowser()
        self.picks.setObjectName("picks")
        self.picks.setMaximumHeight(150)
        layout.addWidget(self.picks)
        self.run_button.clicked.connect(self.run_compare)
        self.cancel_button.clicked.connect(lambda: self.job and self.job.cancel())
        self.export_button.clicked.connect(self.export)
        state.package_changed.connect(self.package_ready)

    def package_ready(self, folder: Path) -> None:
        self.package.setText(f"Package: {folder.name}")
        self.run_button.setEnabled(True)

    def run_compare(self) -> None:
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.job = self.runner.start(_compare_job, package=self.state.package_dir, wan_delay_ms=float(self.wan.value()),
                                     on_progress=lambda f, m: (self.progress.setValue(int(f * 1000)),
                                                               self.progress.setFormat(m)),
                                     on_done=self.show_result, on_error=self.failed)

    def failed(self, message: str, details: str) -> None:
        self._idle()
        show_job_error(self, "Compare failed", message, details)

    def _idle(self) -> None:
        self.job = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def show_result(self, result: dict) -> None:
        self._idle()
        self.result = result
        self.progress.setValue(1000)
        rows = result["variants"]
        self.table.setRowCount(len(rows))
        picked = {p["id"] for p in result["picks"].values()}
        for r, row in enumerate(rows):
            values = (row["label"], row["tier"], row["precision"], str(row["threads"]), f"{row['p50_ms']:.3f}",
                      f"{row['p99_ms']:.3f}", f"{row['throughput_per_s']:.0f}",
                      f"{(row['size_bytes'] or 0) / 1024:.1f}", f"{row['peak_rss_mb'] or 0:.0f}",
                      f"{row['top1'] * 100:.2f} %" if row.get("top1") is not None else "")
            for c, value in enumerate(values):
                item = QTableWidgetItem(("★ " if c == 0 and row["id"] in picked else "") + value)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        notes = "".join(f"<p><i>{n}</i></p>" for n in result.get("notes", []))
        self.picks.setHtml("".join(f"<p><b>{tier}:</b> {p['why']}</p>" for tier, p in result["picks"].items()) + notes)
        self.export_button.setEnabled(True)
        # One chart per event-loop turn (each draws and paints in ~20-30 ms): no long GUI-thread stretch.
        for delay, chart in enumerate((self._plot_cdf, self._plot_tiers, self._plot_ops)):
            QTimer.singleShot(10 * delay, lambda chart=chart: chart(result))

    def _plot_cdf(self, result: dict) -> None:
        rows = result["variants"]
        self.cdf.clear()
        for row in rows:
            q = np.maximum(np.asarray(row["quantiles_ms"]), 1e-3)
            self.cdf.plot(q, np.arange(len(q)), pen=pg.mkPen(TIER_COLORS[row["tier"]], width=2), name=row["label"])

    def _plot_tiers(self, result: dict) -> None:
        rows = result["variants"]
        self.tiers.clear()
        p50 = [row["p50_ms"] for row in rows]
        self.tiers.addItem(pg.BarGraphItem(x=np.arange(len(rows)), height=p50, width=0.7,
                                           brushes=[TIER_COLORS[row["tier"]] for row in rows]))
        short = [f"{row['precision']}·{row['threads'] or 'all'}t" if row["tier"] != "cloud" else "cloud" for row in rows]
        self.tiers.getAxis("bottom").setTicks([[(i, label) for i, label in enumerate(short)]])

    def _plot_ops(self, result: dict) -> None:
        self.ops.clear()
        edge = result["picks"].get("edge") or next(iter(result["picks"].values()), None)
        entry = result.get("per_op", {}).get(edge["id"]) if edge else None
        if entry and entry["by_type"]:
            items = list(entry["by_type"].items())[:10]
            self.ops.addItem(pg.BarGraphItem(x0=0, y=np.arange(len(items)), height=0.7,
                                             width=[v for _, v in items], brush="#9c755f"))
            self.ops.getAxis("left").setTicks([[(i, "") for i in range(len(items))]])
            for i, (op_type, ms) in enumerate(items):  # the op type written on its bar
                label = pg.TextItem(f"{op_type} {ms * 1000:.0f} µs", color="#222", anchor=(0, 0.5))
                label.setPos(0, i)
                self.ops.addItem(label)

    def export(self, path: str | None = None) -> list[Path]:
        path = path or QFileDialog.getSaveFileName(self, "Export report", "compare.html", "HTML (*.html)")[0]
        if not path:
            return []
        try:
            return write_all(self.result, html_path=path)
        except OSError as exc:
            show_error(self, "Could not write the report", str(exc))
            return []

"""Profile page: compare the package's tiers (latency, throughput, size, memory, top-1), charts of the
latency distributions, tier bars and per-op bars, the auto-picked fastest variant per tier, and export
of the HTML/JSON/CSV report."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import platformdirs
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.files import FolderInUse
from app.core.measure.compare import compare_in_child
from app.core.measure.report import check_report_paths, report_paths, write_all
from app.core.models import device_parity
from app.gui.dialogs import show_error
from app.gui.job_controls import JobControls
from app.gui.state import AppState
from app.gui.theme import label_axes, legend_html, tier_colour, titled_chart
from app.gui.workers import JobRunner
from converters.targets import TIER_INFO
from jobs.state import JobState

COLUMNS = ("variant", "tier", "precision", "threads", "p50 ms", "p99 ms", "per s", "size KiB", "peak RSS MB", "top-1",
           device_parity.COLUMN)
ARM64_COLUMN = COLUMNS.index(device_parity.COLUMN)
# What a device-tier row timed on this PC means (Lite 2.0's x86 INT8 kernels are its slow path).
X86_DEVICE_TIP = ("measured on this x86 PC, not on a device: Lite 2.0's x86 INT8 kernels are much slower than its "
                  "FP32 ones; ARM boards run INT8 on their optimized path. Time a board with 'Time on a board…'.")


def _remote_job(state: JobState, remote: str, package: Path):
    from app.core.measure.remote_bench import remote_bench

    return remote_bench(remote, package, state=state)


def _compare_job(state: JobState, package: Path, wan_delay_ms: float, cloud_scale: tuple[int, ...] = ()):
    return compare_in_child(package, wan_delay_ms=wan_delay_ms, cloud_scale=cloud_scale, state=state)


# The cloud tier on Ray Serve as well: replica counts, each timed at 1, 2, 4 and 8 concurrent clients.
RAY_CHOICES = {"Cloud: one process": (), "+ Ray Serve, 1 and 2 replicas": (1, 2),
               "+ Ray Serve, 1, 2 and 4 replicas": (1, 2, 4)}


def scale_html(scale: dict) -> str:
    """The Ray Serve rows: where it ran, throughput and p50/p99 per replicas × clients, who answered."""
    rows = "".join(f"<tr><td>{r['replicas']}</td><td>{r['concurrency']}</td><td>{r['throughput_per_s']:.1f}</td>"
                   f"<td>{r['p50_ms']:.2f}</td><td>{r['p99_ms']:.2f}</td><td>{r['errors']}</td>"
                   f"<td>{' / '.join(str(n) for n in r['per_replica'].values())}</td></tr>" for r in scale["rows"])
    return (f"<p><b>cloud on Ray Serve</b> — {scale['where']}</p><table border='1' cellspacing='0' cellpadding='2'>"
            "<tr><th>replicas</th><th>clients</th><th>req/s</th><th>p50 ms</th><th>p99 ms</th><th>errors</th>"
            f"<th>requests per replica</th></tr>{rows}</table>")


class ProfilePage(QWidget):
    def __init__(self, state: AppState, runner: JobRunner) -> None:
        super().__init__()
        self.state, self.runner = state, runner
        self.result: dict | None = None
        layout = QVBoxLayout(self)
        controls = QHBoxLayout()
        self.package = QLabel("Build the targets on the Convert page first.")
        self.wan = QSpinBox()
        self.wan.setRange(0, 1000)
        self.wan.setSuffix(" ms WAN")
        self.wan.setToolTip("An emulated wide-area network delay added to every cloud request")
        self.ray = QComboBox()
        self.ray.setObjectName("cloudEngine")
        self.ray.addItems(list(RAY_CHOICES))
        self.ray.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.ray.setMinimumContentsLength(16)  # its longest choice widened the page past an 800-px screen
        self.ray.setToolTip("Also serve the cloud tier on Ray Serve (a private Ray on 127.0.0.1) and time "
                            "throughput and p50/p99 against replicas and 1, 2, 4, 8 concurrent clients")
        self.controls = JobControls(runner, "Compare tiers", error_title="Compare failed", object_name="compareTiers")
        self.run_button, self.cancel_button = self.controls.start_button, self.controls.cancel_button
        self.run_button.setEnabled(False)
        self.export_button = QPushButton("Export report…")
        self.export_button.setEnabled(False)
        self.board_button = QPushButton("Time on a board…")
        self.board_button.setToolTip("Copy the package's ARM64 bundle (device/arm64/) to a 64-bit ARM board over "
                                     "SSH (key login, known host), run it and add its latencies as device rows")
        self.board_button.setEnabled(False)
        # the package's name is long: a line of its own keeps the page within a 1024-px window
        self.package.setWordWrap(True)
        layout.addWidget(self.package)
        for widget in (self.wan, self.ray, self.export_button, self.board_button):
            controls.addWidget(widget)
        controls.addStretch(1)
        layout.addLayout(controls)
        self.progress = self.controls.progress
        layout.addWidget(self.controls)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeaderItem(ARM64_COLUMN).setToolTip(device_parity.COLUMN_TIP)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table, 1)
        charts = QGridLayout()
        self.legend = QLabel(legend_html([(TIER_INFO[t].label, tier_colour(t)) for t in TIER_INFO]))
        self.legend.setObjectName("chartLegend")
        charts.addWidget(self.legend, 0, 0, 1, 3)
        self.cdf = titled_chart("Latency spread — left is faster")
        self.cdf.setLogMode(x=True)
        label_axes(self.cdf, ("latency", "ms, log scale"), ("runs ≤ x", "%"))  # fits the axis at 220 px
        self.tiers = titled_chart("Median latency — lower is faster")
        label_axes(self.tiers, ("variant", ""), ("p50", "ms, log"))
        self.ops = titled_chart("Edge pick, per operator")
        label_axes(self.ops, ("time per run", "µs"), ("", ""))  # the names say what they are
        for col, plot in enumerate((self.cdf, self.tiers, self.ops)):
            plot.setMinimumHeight(220)
            charts.addWidget(plot, 1, col)
        layout.addLayout(charts, 1)
        self.picks = QTextBrowser()
        self.picks.setObjectName("picks")
        self.picks.setMaximumHeight(150)
        layout.addWidget(self.picks)
        self.run_button.clicked.connect(self.run_compare)
        # a slot without parameters: clicked(bool) would be passed into a parameter (the path) otherwise
        self.export_button.clicked.connect(self.choose_export)
        self.board_button.clicked.connect(lambda: self.time_on_board())
        state.package_changed.connect(self.package_ready)
        state.model_changed.connect(self.model_changed)
        if state.package_dir is not None:  # built before this page was
            self.package_ready(state.package_dir)

    def model_changed(self) -> None:
        """Another active model: its own package (set right after, if it has one) or none yet."""
        if self.controls.busy:
            return  # the comparison under way finishes and shows what it measured
        self.package.setText(f"Build {self.state.model_name} on the Convert page first.")
        for button in (self.run_button, self.board_button, self.export_button):
            button.setEnabled(False)
        self.result = None
        self.table.setRowCount(0)

    def package_ready(self, folder: Path) -> None:
        self.package.setText(f"Package: {folder.name}")
        self.run_button.setEnabled(True)
        self.board_button.setEnabled((folder / "device" / "arm64" / "run.sh").is_file())

    def run_compare(self) -> None:
        self.controls.run(_compare_job, package=self.state.package_dir, wan_delay_ms=float(self.wan.value()),
                          cloud_scale=RAY_CHOICES[self.ray.currentText()], on_done=self.show_result)

    def show_result(self, result: dict) -> None:
        self.state.mark_done("Profile")
        self.result = result
        self.progress.setValue(1000)
        rows = result["variants"]
        self.table.setRowCount(len(rows))
        picked = {p["id"] for p in result["picks"].values()}
        arm = device_parity.package_result(result["package"])
        for r, row in enumerate(rows):
            arm_text, arm_tip = device_parity.cell(arm, row.get("target", ""))
            values = (row["label"], row["tier"], row["precision"], str(row["threads"]), f"{row['p50_ms']:.3f}",
                      f"{row['p99_ms']:.3f}", f"{row['throughput_per_s']:.0f}",
                      f"{(row['size_bytes'] or 0) / 1024:.1f}", f"{row['peak_rss_mb'] or 0:.0f}",
                      f"{row['top1'] * 100:.2f} %" if row.get("top1") is not None else "", arm_text)
            for c, value in enumerate(values):
                item = QTableWidgetItem(("★ " if c == 0 and row["id"] in picked else "") + value)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if c == ARM64_COLUMN:
                    item.setToolTip(arm_tip)
                elif row["tier"] == "device" and c in (0, 4, 5):
                    item.setToolTip(X86_DEVICE_TIP)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        notes = "".join(f"<p><i>{n}</i></p>" for n in result.get("notes", []))
        if result.get("cloud_scale"):
            notes = scale_html(result["cloud_scale"]) + notes
        self.picks.setHtml("".join(f"<p><b>{tier}:</b> {p['why']}</p>" for tier, p in result["picks"].items()) + notes)
        self.export_button.setEnabled(True)
        # One chart per event-loop turn (each draws and paints in ~20-30 ms): no long GUI-thread stretch.
        for delay, chart in enumerate((self._plot_cdf, self._plot_tiers, self._plot_ops)):
            QTimer.singleShot(10 * delay, lambda chart=chart: chart(result))

    def time_on_board(self, remote: str | None = None) -> None:
        """Ask for USER@HOST[:PORT], run the bundle there, add one device row per model."""
        if remote is None:
            remote, ok = QInputDialog.getText(self, "Time on a board", "Board over SSH (USER@HOST[:PORT]); key login, "
                                              "its host key must be in ~/.ssh/known_hosts:")
            if not ok or not remote.strip():
                return
        self.controls.run(_remote_job, remote=remote.strip(), package=self.state.package_dir,
                          on_done=self.add_board_rows)

    def add_board_rows(self, result: dict) -> None:
        """The board's measured latencies as device-tier rows, labelled with the board."""
        from app.core.measure.remote_bench import profile_rows

        self.progress.setValue(1000)
        for row in profile_rows(result):
            r = self.table.rowCount()
            self.table.insertRow(r)
            per_s = f"{1000 / row['p50_ms']:.0f}" if row.get("p50_ms") else ""
            values = {0: f"{row['model']} @ {result['host']}", 1: "device", 2: row["precision"],
                      3: str(row["threads"] or ""), 4: f"{row['p50_ms']:.3f}" if row.get("p50_ms") else row["error"],
                      5: f"{row['p99_ms']:.3f}" if row.get("p99_ms") else "", 6: per_s,
                      ARM64_COLUMN: "✓" if row["check_ok"] else "✗"}
            for c in range(len(COLUMNS)):
                item = QTableWidgetItem(values.get(c, ""))
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                item.setToolTip(row["label"] if c != ARM64_COLUMN else "the board's output for the sample input "
                                "against the emulated ARM64 runtime's")
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.picks.append(f"<p><b>device (board):</b> {result['label']}</p>")

    def _plot_cdf(self, result: dict) -> None:
        rows = result["variants"]
        self.cdf.clear()
        styles = {"fp32": Qt.PenStyle.SolidLine, "fp16": Qt.PenStyle.DashLine, "int8": Qt.PenStyle.DotLine}
        for row in rows:
            q = np.maximum(np.asarray(row["quantiles_ms"]), 1e-3)
            pen = pg.mkPen(tier_colour(row["tier"]), width=2, style=styles.get(row["precision"], Qt.PenStyle.SolidLine))
            self.cdf.plot(q, np.arange(len(q)), pen=pen)
        # one label per decade (pyqtgraph's own log ticks crowd into each other)
        lows = [max(float(np.min(r["quantiles_ms"])), 1e-3) for r in rows]
        highs = [max(float(np.max(r["quantiles_ms"])), 1e-3) for r in rows]
        decades = range(int(np.floor(np.log10(min(lows)))), int(np.ceil(np.log10(max(highs)))) + 1)
        self.cdf.getAxis("bottom").setTicks([[(d, f"{10.0 ** d:g}") for d in decades], []])
        self.legend.setText(legend_html([(TIER_INFO[t].label, tier_colour(t)) for t in TIER_INFO])
                            + " &nbsp; — FP32 solid, FP16 dashed, INT8 dotted")

    def _plot_tiers(self, result: dict) -> None:
        rows = result["variants"]
        self.tiers.clear()
        # values span decades (µs on Lite, ms over HTTP): bars on a log axis, from one decade below the fastest
        p50 = np.log10(np.maximum([row["p50_ms"] for row in rows], 1e-4))
        floor = np.floor(p50.min()) - 1
        self.tiers.addItem(pg.BarGraphItem(x=np.arange(len(rows)), y0=floor, height=p50 - floor, width=0.7,
                                           brushes=[tier_colour(row["tier"]) for row in rows]))
        decades = range(int(floor), int(np.ceil(p50.max())) + 1)
        self.tiers.getAxis("left").setTicks([[(d, f"{10.0 ** d:g}") for d in decades]])
        short = [f"{row['precision']}·{row['threads'] or 'all'}t" if row["tier"] != "cloud" else "cloud" for row in rows]
        self.tiers.getAxis("bottom").setTicks([[(i, label) for i, label in enumerate(short)]])

    def _plot_ops(self, result: dict) -> None:
        self.ops.clear()
        edge = result["picks"].get("edge") or next(iter(result["picks"].values()), None)
        entry = result.get("per_op", {}).get(edge["id"]) if edge else None
        if entry and entry["by_type"]:
            items = list(entry["by_type"].items())[:10]
            self.ops.addItem(pg.BarGraphItem(x0=0, y=np.arange(len(items)), height=0.7,
                                             width=[ms * 1000 for _, ms in items], brush=tier_colour("edge")))
            self.ops.getAxis("left").setTicks([[(i, op_type) for i, (op_type, _) in enumerate(items)]])

    def choose_export(self) -> list[Path]:
        """The Export button: a save dialog in the user's documents (it asks before replacing the HTML),
        then the report is written and opened."""
        start = Path(platformdirs.user_documents_dir()) / "edge-studio-compare.html"
        path = QFileDialog.getSaveFileName(self, "Export report", str(start), "HTML (*.html)")[0]
        if not path:
            return []
        written = self.export(path, confirmed=True)
        if written:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(written[0])))
        return written

    def export(self, path: str, confirmed: bool = False) -> list[Path]:
        """Write the self-contained HTML report, with its .json and .csv beside it. No existing file is
        replaced, except the HTML when the user `confirmed` it in the save dialog; the .json/.csv beside it
        never are."""
        html, csv, js = report_paths(str(path))
        try:
            check_report_paths(csv, js)  # only the HTML was confirmed in the dialog
            check_report_paths(html, force=confirmed)
            return write_all(self.result, html_path=html, csv_path=csv, json_path=js, beside=False, force=True)
        except (OSError, FolderInUse) as exc:
            show_error(self, "Could not write the report", str(exc))
            return []

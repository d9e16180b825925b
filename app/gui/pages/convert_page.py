"""Convert page: pick targets from the converters table, a calibration source, build everything in one
click; a results table (size, top-1, cosine vs FP32, time) with differences highlighted, and Lite's
error text in a details pane when a conversion fails."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.models import device_parity
from app.core.models.deploy import deploy_in_child
from app.gui.job_controls import JobControls, error_details
from app.gui.state import AppState, workspace
from app.gui.workers import JobRunner
from converters.lite.convert import QUANT_METHODS
from converters.targets import TARGETS
from jobs.state import JobState

COLUMNS = ("target", "runtime", "precision", "size", "× FP32 .ms", "top-1", "Δ top-1", "cosine vs FP32", "build s",
           "vs source", device_parity.COLUMN)
VERDICT_COLUMN = COLUMNS.index("vs source")
ARM64_COLUMN = COLUMNS.index(device_parity.COLUMN)
# converters.verify's verdicts: a wrong file is red, never a plain row
VERDICT_COLOURS = {"matches": "#e3f6e3", "close": "#fff4cc", "WRONG": "#f8c9c6", "unverified": "#eeeeee"}


def _deploy_job(state: JobState, model: Path, out: Path, tiers: tuple, calibration: str | None, method: str):
    return deploy_in_child(model, out, tiers=tiers, calibration=calibration, calibration_method=method, state=state)


def _highlight(item: QTableWidgetItem, colour: str) -> None:
    """A pale background and dark text, readable in the light and the dark theme alike."""
    item.setBackground(QBrush(QColor(colour)))
    item.setForeground(QBrush(QColor("#1d1d1f")))


class ConvertPage(QWidget):
    def __init__(self, state: AppState, runner: JobRunner) -> None:
        super().__init__()
        self.state, self.runner = state, runner
        self.building_for = None  # the model a running build is for (the active one may change meanwhile)
        layout = QVBoxLayout(self)
        targets_box = QGroupBox("Targets (from the converters table)")
        grid = QGridLayout(targets_box)
        self.checks: dict[str, QCheckBox] = {}
        for row, target in enumerate(TARGETS):
            check = QCheckBox(f"{target.tier} · {target.name}")
            why_not = target.why_unavailable()
            check.setChecked(not why_not)
            check.setEnabled(not why_not)
            note = QLabel(f"not offered: {why_not}" if why_not else target.summary)
            note.setWordWrap(True)
            note.setStyleSheet("color: #a33;" if why_not else "")
            grid.addWidget(check, row, 0)
            grid.addWidget(note, row, 1)
            self.checks[target.name] = check
        layout.addWidget(targets_box)

        options = QHBoxLayout()
        self.calibration = QComboBox()
        self.calibration.addItem("Calibrate INT8 on the training split", None)
        self.calibration.addItem("Calibrate on a folder…", "folder")
        self.method = QComboBox()
        self.method.addItems(QUANT_METHODS)
        for widget in (QLabel("Calibration"), self.calibration, QLabel("Method"), self.method):
            options.addWidget(widget)
        options.addStretch(1)
        layout.addLayout(options)
        self.controls = JobControls(runner, "Build all", error_title="Conversion failed", object_name="buildAll")
        self.build_button, self.cancel_button = self.controls.start_button, self.controls.cancel_button
        self.progress, self.stage = self.controls.progress, self.controls.status
        layout.addWidget(self.controls)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeaderItem(ARM64_COLUMN).setToolTip(device_parity.COLUMN_TIP)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()  # the verdicts next to the target: seen without scrolling sideways
        header.moveSection(VERDICT_COLUMN, 1)
        header.moveSection(ARM64_COLUMN, 2)
        layout.addWidget(self.table, 2)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Lite's messages appear here when a conversion fails.")
        self.details.setMaximumHeight(120)
        layout.addWidget(self.details)
        self.build_button.clicked.connect(lambda: self.build())  # not clicked(bool) as the folder
        state.model_changed.connect(self.model_changed)

    def model_changed(self) -> None:
        """Another active model: the table was the last one's."""
        if not self.controls.busy:
            self.table.setRowCount(0)
            self.details.clear()
            self.stage.setText(f"Build all converts {self.state.model_name}")

    def build(self, calibration_folder: str | None = None) -> None:
        calibration = None
        if self.calibration.currentData() == "folder":
            calibration = calibration_folder or QFileDialog.getExistingDirectory(self, "Calibration folder", str(Path.home()))
            if not calibration:
                return
        chosen = [name for name, check in self.checks.items() if check.isChecked()]
        tiers = tuple(sorted({t.tier for t in TARGETS if t.name in chosen}))
        out = workspace() / "packages" / f"{self.state.model_dir.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        self.chosen = set(chosen)
        self.building_for = self.state.model_dir
        self.table.setRowCount(0)
        self.details.clear()
        # the active model's own file (its description beside it says shapes, preprocessing, data)
        self.controls.run(_deploy_job, model=self.state.model_path, out=out, tiers=tiers, calibration=calibration,
                          method=self.method.currentText(), on_done=lambda s: self.done(out, s), on_error=self.failed)

    def done(self, out: Path, summary: dict) -> None:
        self.stage.setText(f"built {len(summary['targets']) - 1} artifacts in {summary['seconds']:.1f} s → {out}")
        rows = [(name, r) for name, r in summary["targets"].items() if name == "reference" or name in self.chosen]
        failed = summary.get("failed", {})
        self.table.setRowCount(len(rows) + len(failed))
        for row, (name, r) in enumerate(rows):
            delta = r.get("top1_delta_vs_fp32")
            values = (name, r["runtime"], r.get("precision", "fp32"), f"{r['size_bytes'] / 1024:.1f} KiB",
                      f"{r['size_vs_fp32_ms']:.3f}" if "size_vs_fp32_ms" in r else "",
                      f"{r['top1'] * 100:.2f} %" if r.get("top1") is not None else "–",
                      f"{delta * 100:+.2f}" if delta is not None else "",
                      ", ".join(f"{c:.5f}" for c in r.get("cosine_vs_fp32", [])), f"{r.get('build_seconds', 0):.2f}",
                      r.get("verification", {}).get("verdict", ""))
            arm_text, arm_tip = device_parity.cell(summary.get("arm64"), name)
            values += (arm_text,)
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if col == 6 and delta is not None and delta < 0:
                    _highlight(item, "#fde2e1")  # lost accuracy: highlight
                if col == 4 and r.get("size_vs_fp32_ms", 1) < 0.9:
                    _highlight(item, "#e3f6e3")  # smaller: highlight
                if col == ARM64_COLUMN:
                    item.setToolTip(arm_tip)
                    if value in ("✓", "✗"):
                        _highlight(item, "#e3f6e3" if value == "✓" else "#f8c9c6")
                if col == VERDICT_COLUMN and value in VERDICT_COLOURS:
                    _highlight(item, VERDICT_COLOURS[value])
                    item.setToolTip(r["verification"]["summary"])
                self.table.setItem(row, col, item)
        for row, (name, failure) in enumerate(failed.items(), start=len(rows)):
            self._failed_row(row, name, failure)
        self.table.resizeColumnsToContents()
        if failed:  # the numbers and the first diverging op, where people read Lite's messages
            self.details.setPlainText("\n\n".join(f"{name} not built: {f['error']}" for name, f in failed.items()))
        if self.building_for is not None and self.state.model_dir != self.building_for:  # another model was made
            # active meanwhile: the package is this one's
            self.state.library.add_package(self.building_for, out)
            return
        self.state.set_package(out)

    def _failed_row(self, row: int, name: str, failure: dict) -> None:
        """A target whose Lite file answers differently from the source: a red row with the verdict."""
        check = failure["verification"]
        judged = "pooled_cosine" if check["tolerance"].get("pooled_cosine") else "cosine"  # what the verdict used
        worst = min(check["outputs"], key=lambda o: o[judged], default=None)
        task = failure.get("task")  # judged by the task on representative data: its figure, not a cosine
        verdict = (f"WRONG · {task['metric']} {task['value']:.1f} % (−{task['loss']:.1f})" if task else
                   f"{check['verdict']} · cosine {worst[judged]:.4f}" if worst else check["verdict"])
        values = {0: name, 1: "lite", 2: failure["precision"], 3: "not built", VERDICT_COLUMN: verdict}
        for col in range(len(COLUMNS)):
            item = QTableWidgetItem(values.get(col, ""))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            _highlight(item, VERDICT_COLOURS["WRONG"])
            item.setToolTip(failure["error"])
            self.table.setItem(row, col, item)

    def failed(self, exc: Exception) -> None:
        details = error_details(exc)
        self.details.setPlainText(str(exc) + ("\n\n" + details if details else ""))

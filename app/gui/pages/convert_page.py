"""Convert page: pick targets from the converters table, a calibration source, build everything in one
click; a results table (size, top-1, cosine vs FP32, time) with differences highlighted, and Lite's
error text in a details pane when a conversion fails."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPlainTextEdit, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from app.core.deploy import deploy_in_child
from app.gui.dialogs import show_job_error
from app.gui.state import AppState, workspace
from app.gui.workers import JobRunner
from converters.targets import TARGETS

COLUMNS = ("target", "runtime", "precision", "size", "× FP32 .ms", "top-1", "Δ top-1", "cosine vs FP32", "build s")


def _deploy_job(model: Path, out: Path, tiers: tuple, calibration: str | None, method: str, progress, emit, cancel):
    return deploy_in_child(model, out, tiers=tiers, calibration=calibration, calibration_method=method,
                           progress=progress, cancel=cancel)


class ConvertPage(QWidget):
    def __init__(self, state: AppState, runner: JobRunner) -> None:
        super().__init__()
        self.state, self.runner = state, runner
        self.job = None
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
        self.method.addItems(["MAX_MIN", "KL", "REMOVAL_OUTLIER"])
        self.build_button = QPushButton("Build all")
        self.build_button.setObjectName("buildAll")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        for widget in (QLabel("Calibration"), self.calibration, QLabel("Method"), self.method, self.build_button,
                       self.cancel_button):
            options.addWidget(widget)
        layout.addLayout(options)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.stage = QLabel("")
        layout.addWidget(self.progress)
        layout.addWidget(self.stage)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table, 2)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Lite's messages appear here when a conversion fails.")
        self.details.setMaximumHeight(120)
        layout.addWidget(self.details)
        self.build_button.clicked.connect(self.build)
        self.cancel_button.clicked.connect(lambda: self.job and self.job.cancel())

    def build(self, calibration_folder: str | None = None) -> None:
        calibration = None
        if self.calibration.currentData() == "folder":
            calibration = calibration_folder or QFileDialog.getExistingDirectory(self, "Calibration folder")
            if not calibration:
                return
        chosen = [name for name, check in self.checks.items() if check.isChecked()]
        tiers = tuple(sorted({t.tier for t in TARGETS if t.name in chosen}))
        out = workspace() / "packages" / f"{self.state.model_dir.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        self.chosen = set(chosen)
        self.table.setRowCount(0)
        self.details.clear()
        self.progress.setValue(0)
        self.build_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.job = self.runner.start(_deploy_job, model=self.state.model_onnx, out=out, tiers=tiers,
                                     calibration=calibration, method=self.method.currentText(),
                                     on_progress=self.on_progress, on_done=lambda s: self.done(out, s),
                                     on_error=self.failed)

    def on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.stage.setText(message)

    def done(self, out: Path, summary: dict) -> None:
        self._idle()
        self.stage.setText(f"built {len(summary['targets']) - 1} artifacts in {summary['seconds']:.1f} s → {out}")
        rows = [(name, r) for name, r in summary["targets"].items() if name == "reference" or name in self.chosen]
        self.table.setRowCount(len(rows))
        for row, (name, r) in enumerate(rows):
            delta = r.get("top1_delta_vs_fp32")
            values = (name, r["runtime"], r.get("precision", "fp32"), f"{r['size_bytes'] / 1024:.1f} KiB",
                      f"{r['size_vs_fp32_ms']:.3f}" if "size_vs_fp32_ms" in r else "",
                      f"{r['top1'] * 100:.2f} %", f"{delta * 100:+.2f}" if delta is not None else "",
                      ", ".join(f"{c:.5f}" for c in r.get("cosine_vs_fp32", [])), f"{r.get('build_seconds', 0):.2f}")
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if col == 6 and delta is not None and delta < 0:
                    item.setBackground(QBrush(QColor("#fde2e1")))  # lost accuracy: highlight
                if col == 4 and r.get("size_vs_fp32_ms", 1) < 0.9:
                    item.setBackground(QBrush(QColor("#e3f6e3")))  # smaller: highlight
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        self.state.set_package(out)

    def failed(self, message: str, details: str) -> None:
        self._idle()
        self.stage.setText(message.splitlines()[0])
        self.details.setPlainText(message + ("\n\n" + details if details else ""))
        show_job_error(self, "Conversion failed", message, details)

    def _idle(self) -> None:
        self.job = None
        self.build_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

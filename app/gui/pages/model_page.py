"""Model page: train (digits or a folder) with live curves, progress, ETA and Cancel; import a file
(drag-and-drop too) and show its model card."""
from __future__ import annotations

import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QProgressBar, QPushButton, QSpinBox, QTextBrowser, QVBoxLayout, QWidget)

from app.core.model_card import make_card
from app.core.training import TrainConfig, train
from converters.targets import MINDSPORE_MISSING, mindspore_available
from app.gui.dialogs import show_error, show_job_error
from app.gui.pages.capture_panel import CapturePanel
from app.gui.state import AppState, workspace
from app.gui.workers import JobRunner


def _train_job(config: TrainConfig, out: Path, progress, emit, cancel):
    return train(config, out, on_event=emit, cancel=cancel)


def _card_job(path: Path, progress, emit, cancel):
    progress(0.1, f"probing {path.name} in a child process")
    return make_card(path, cancel=cancel)


class ModelPage(QWidget):
    def __init__(self, state: AppState, runner: JobRunner) -> None:
        super().__init__()
        self.state, self.runner = state, runner
        self.train_job = None
        self.setAcceptDrops(True)
        layout = QVBoxLayout(self)
        self.current = QLabel()
        self.current.setObjectName("currentModel")
        layout.addWidget(self.current)

        train_box = QGroupBox("Train with MindSpore")
        form = QFormLayout(train_box)
        self.dataset = QComboBox()
        self.dataset.addItem("Digits (bundled with scikit-learn)", "digits")
        self.dataset.addItem("Image folder…", "folder")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 200)
        self.epochs.setValue(10)
        buttons = QHBoxLayout()
        self.train_button = QPushButton("Train")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        self.progress = QProgressBar()
        self.eta = QLabel("")
        form.addRow("Dataset", self.dataset)
        form.addRow("Epochs", self.epochs)
        form.addRow(buttons)
        form.addRow(self.progress)
        if not mindspore_available():  # the lean package: say so up front, not after a click
            self.train_button.setEnabled(False)
            self.train_button.setToolTip(MINDSPORE_MISSING)
            missing = QLabel(MINDSPORE_MISSING)
            missing.setWordWrap(True)
            missing.setStyleSheet("color: #a33;")
            form.addRow(missing)
        form.addRow(self.eta)
        self.curves = pg.PlotWidget(background="w")
        self.curves.setMinimumHeight(160)
        self.curves.setMaximumHeight(260)
        self.curves.addLegend()
        self.curves.setLabel("bottom", "epoch")
        self.loss_curve = self.curves.plot([], [], pen=pg.mkPen("#d62728", width=2), name="train loss")
        self.acc_curve = self.curves.plot([], [], pen=pg.mkPen("#1f77b4", width=2), symbol="o", name="val top-1")
        form.addRow(self.curves)
        layout.addWidget(train_box, 1)

        self.capture = CapturePanel()
        self.capture.train_requested.connect(self.train_on_folder)
        layout.addWidget(self.capture, 1)

        import_box = QGroupBox("Import a model (ONNX, TFLite, Caffe, TF .pb) — or drop a file here")
        import_layout = QVBoxLayout(import_box)
        self.import_button = QPushButton("Import…")
        self.card_view = QTextBrowser()
        self.card_view.setObjectName("modelCard")
        import_layout.addWidget(self.import_button)
        import_layout.addWidget(self.card_view)
        layout.addWidget(import_box, 2)

        self.train_button.clicked.connect(self.start_training)
        self.cancel_button.clicked.connect(self.cancel_training)
        self.import_button.clicked.connect(self.choose_import)
        state.model_changed.connect(self.show_model)
        self.show_model(state.model_dir)

    def show_model(self, folder: Path) -> None:
        self.current.setText(f"<b>Active model:</b> {folder}")

    # -- training ---------------------------------------------------------------------------
    def start_training(self, folder: str | None = None) -> None:
        data = "digits"
        if self.dataset.currentData() == "folder":
            folder = folder or QFileDialog.getExistingDirectory(self, "Dataset folder (DIR/<class>/*.png)")
            if not folder:
                return
            data = folder
        config = TrainConfig(data=data, epochs=self.epochs.value(), time_budget_s=3600,
                             folder_options={} if data == "digits" else {"size": 64, "color": "RGB"})
        out = workspace() / "models" / time.strftime("trained-%Y%m%d-%H%M%S")
        self.history: list[tuple[int, float, float]] = []
        self.started = time.monotonic()
        self.loss_curve.setData([], [])
        self.acc_curve.setData([], [])
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.train_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.eta.setText("starting MindSpore…")
        self.train_out = out
        # Callbacks are bound methods, never lambdas: Qt runs a slot of this widget in the GUI thread,
        # but a lambda in the worker thread that emitted the signal (widgets there crash the app).
        self.train_job = self.runner.start(_train_job, config=config, out=out, on_event=self.on_train_event,
                                           on_done=self.training_finished, on_error=self.training_failed)

    def train_on_folder(self, folder: str) -> None:
        self.dataset.setCurrentIndex(self.dataset.findData("folder"))
        self.start_training(folder)

    def shutdown(self) -> None:
        self.capture.close_session()

    def on_train_event(self, event: dict) -> None:
        epochs = self.epochs.value()
        if event["type"] == "step":
            done = (event["epoch"] - 1 + event["step"] / event["steps"]) / epochs
            self.progress.setValue(int(done * 1000))
            elapsed = time.monotonic() - self.started
            remaining = elapsed / max(done, 1e-6) - elapsed
            self.eta.setText(f"epoch {event['epoch']}/{epochs} · loss {event['loss']:.3f} · "
                             f"about {remaining:.0f} s left")
        elif event["type"] == "epoch":
            self.history.append((event["epoch"], event["loss"], event["val_accuracy"]))
            xs = [h[0] for h in self.history]
            self.loss_curve.setData(xs, [h[1] for h in self.history])
            self.acc_curve.setData(xs, [h[2] for h in self.history])

    def cancel_training(self) -> None:
        if self.train_job is not None:
            self.train_job.cancel()
            self.eta.setText("cancelling…")

    def training_finished(self, metrics: dict) -> None:
        self.training_done(self.train_out, metrics)

    def training_done(self, out: Path, metrics: dict) -> None:
        self._training_idle()
        self.progress.setValue(1000)
        self.eta.setText(f"val top-1 {metrics['val_top1'] * 100:.2f} % in {metrics['train_seconds']:.1f} s")
        self.state.set_model(out)

    def training_failed(self, message: str, details: str) -> None:
        self._training_idle()
        self.eta.setText(message)
        show_job_error(self, "Training failed", message, details)

    def _training_idle(self) -> None:
        self.train_job = None
        self.train_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    # -- import ------------------------------------------------------------------------------
    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a model", "",
                                              "Models (*.onnx *.tflite *.prototxt *.caffemodel *.pb *.mindir)")
        if path:
            self.import_model(Path(path))

    def import_model(self, path: Path) -> None:
        self.card_view.setPlainText(f"Reading {path.name} and probing it with Lite in a child process…")
        # Bound methods, not lambdas: see start_training.
        self.runner.start(_card_job, path=path, on_done=self.show_card, on_error=self.import_failed)

    def import_failed(self, message: str, details: str) -> None:
        self.card_view.setPlainText(message)
        show_error(self, "Import failed", message, details)

    def show_card(self, card) -> None:
        self.last_card = card
        self.card_view.setMarkdown(card.to_markdown())

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls:
            self.import_model(Path(urls[0].toLocalFile()))


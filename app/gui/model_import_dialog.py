"""The import dialog for a model file on the Live page: what kind of model it is (suggested from its
outputs, chosen by the user), its labels, thresholds and preprocessing. OK validates the choices
(the sidecar's pydantic model) and writes them next to the model as <stem>.model.json."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.live.postprocess import POSTPROCESSORS, suggest_kinds
from app.core.live.sidecar import (
    InputOptions,
    ModelDescription,
    load_description,
    read_labels,
    save_description,
)


def model_outputs(path: Path) -> list[tuple[int, ...]] | None:
    """The output shapes of an .onnx/.ms/.mindir file (one run on zeros), None when it cannot be opened here."""
    from app.core.live.samples import output_shapes
    from app.core.runtimes import open_runtime

    try:
        runtime = open_runtime(path, 1)
    except Exception:  # noqa: BLE001  (a .tflite or a broken file: the user chooses without a suggestion)
        return None
    try:
        return output_shapes(runtime)
    except Exception:  # noqa: BLE001
        return None
    finally:
        runtime.close()


class ModelImportDialog(QDialog):
    def __init__(self, path: str | Path, parent: QWidget | None = None,
                 outputs: list[tuple[int, ...]] | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.setWindowTitle(f"Import {self.path.name}")
        self.saved: Path | None = None
        try:
            existing, _ = load_description(self.path)
        except ValueError:
            existing = None  # a broken sidecar: start from defaults, OK overwrites it
        self.outputs = outputs if outputs is not None else model_outputs(self.path)
        suggested = suggest_kinds(self.outputs) if self.outputs else []
        layout = QVBoxLayout(self)
        shapes = ", ".join(str(list(s)) for s in self.outputs) if self.outputs else "unknown (not opened here)"
        intro = QLabel(f"<b>{self.path.name}</b><br>outputs: {shapes}")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.kind = QComboBox()
        self.kind.setObjectName("importKind")
        for kind, row in POSTPROCESSORS.items():
            tag = "  (suggested)" if suggested and kind == suggested[0] else ""
            self.kind.addItem(f"{row.label}{tag}", kind)
            self.kind.setItemData(self.kind.count() - 1, row.shapes, Qt.ItemDataRole.ToolTipRole)
        chosen = existing.kind if existing else (suggested[0] if suggested else "classification")
        self.kind.setCurrentIndex(self.kind.findData(chosen))
        form.addRow("Kind", self.kind)
        self.labels = QLineEdit(", ".join(existing.labels) if existing and existing.labels else "")
        self.labels.setPlaceholderText("comma-separated, or load a file")
        pick = QPushButton("File…")
        pick.clicked.connect(self._pick_labels)
        row = QHBoxLayout()
        row.addWidget(self.labels, 1)
        row.addWidget(pick)
        form.addRow("Labels", row)
        self.score = self._spin(existing.score_threshold if existing else 0.5)
        self.iou = self._spin(existing.iou_threshold if existing else 0.45)
        form.addRow("Score threshold", self.score)
        form.addRow("NMS IoU threshold", self.iou)
        self.topology = QComboBox()
        for name in ("", "hand21", "pose33", "face468"):
            self.topology.addItem(name or "— none —", name or None)
        self.topology.setCurrentIndex(max(0, self.topology.findData(
            existing.topology if existing else self._topology_from_outputs())))
        form.addRow("Keypoint topology", self.topology)
        self.preset = QComboBox()
        for name in ("face_detection", "palm_detection"):
            self.preset.addItem(name, name)
        if existing and existing.preset:
            self.preset.setCurrentIndex(max(0, self.preset.findData(existing.preset)))
        form.addRow("SSD anchors preset", self.preset)
        self.normalized = QCheckBox("coordinates are 0..1 of the input (not input pixels)")
        self.normalized.setChecked(bool(existing and existing.normalized))
        form.addRow("", self.normalized)
        given = existing.preprocess if existing and existing.preprocess else \
            POSTPROCESSORS[chosen].default_input
        self.color = self._combo(("RGB", "BGR", "GRAY"), given.color)
        self.range = self._combo(("0-1", "-1-1", "0-255", "mean-std"), given.range)
        self.layout_choice = self._combo(("model's own", "NCHW", "NHWC"), given.layout or "model's own")
        self.letterbox = QCheckBox("letterbox (keep the aspect ratio, pad)")
        self.letterbox.setChecked(given.letterbox)
        form.addRow("Colour order", self.color)
        form.addRow("Value range", self.range)
        form.addRow("Layout", self.layout_choice)
        form.addRow("", self.letterbox)
        layout.addLayout(form)
        self.problem = QLabel("")
        self.problem.setObjectName("importProblem")
        self.problem.setStyleSheet("color: #d33;")
        self.problem.setWordWrap(True)
        layout.addWidget(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

    def _topology_from_outputs(self) -> str | None:
        """The known topology whose points fit an output (2 to 5 values a point): [1, 63] → hand21."""
        from math import prod

        from app.core.live.topologies import TOPOLOGIES

        for shape in self.outputs or []:
            for topology in TOPOLOGIES.values():
                if prod(shape) % topology.points == 0 and 2 <= prod(shape) // topology.points <= 5:
                    return topology.name
        return None

    @staticmethod
    def _spin(value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(0.0, 1.0)
        spin.setSingleStep(0.05)
        spin.setDecimals(2)
        spin.setValue(value)
        return spin

    @staticmethod
    def _combo(values, current) -> QComboBox:
        combo = QComboBox()
        combo.addItems(list(values))
        combo.setCurrentText(current)
        return combo

    def _pick_labels(self) -> None:
        chosen = QFileDialog.getOpenFileName(self, "Labels file", str(self.path.parent))[0]
        if chosen:
            try:
                self.labels.setText(", ".join(read_labels(chosen)))
            except ValueError as exc:
                self.problem.setText(str(exc))

    def _kind_changed(self, picked: int | None = None) -> None:
        """Show only the settings the chosen kind reads; a kind the user picks brings its usual input
        (YOLO and landmarks: letterbox)."""
        kind = self.kind.currentData()
        detector = kind in ("ssd", "yolov5", "yolov8")
        self.iou.setEnabled(detector)
        self.score.setEnabled(detector or kind == "keypoints")
        self.topology.setEnabled(kind == "keypoints")
        self.preset.setEnabled(kind == "ssd")
        self.normalized.setEnabled(kind in ("yolov5", "yolov8", "keypoints"))
        if picked is not None:
            self.letterbox.setChecked(POSTPROCESSORS[kind].default_input.letterbox)

    def description(self) -> ModelDescription:
        """The choices as a validated sidecar (ValueError / pydantic's ValidationError when invalid)."""
        kind = self.kind.currentData()
        labels = [t.strip() for t in self.labels.text().split(",") if t.strip()] or None
        data: dict = {"kind": kind, "labels": labels,
                      "preprocess": InputOptions(color=self.color.currentText(), range=self.range.currentText(),
                                                 layout=None if self.layout_choice.currentIndex() == 0
                                                 else self.layout_choice.currentText(),
                                                 letterbox=self.letterbox.isChecked())}
        if self.score.isEnabled():
            data["score_threshold"] = round(self.score.value(), 4)
        if self.iou.isEnabled():
            data["iou_threshold"] = round(self.iou.value(), 4)
        if kind == "keypoints" and self.topology.currentData():
            data["topology"] = self.topology.currentData()
        if kind == "ssd":
            data["preset"] = self.preset.currentData()
        if self.normalized.isEnabled() and self.normalized.isChecked():
            data["normalized"] = True
        return ModelDescription.model_validate(data)

    def accept(self) -> None:
        try:
            self.saved = save_description(self.path, self.description())
        except (ValueError, OSError) as exc:  # pydantic's ValidationError is a ValueError
            self.problem.setText(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return
        super().accept()

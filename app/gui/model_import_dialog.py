"""The one import dialog (Model page: button, File → Import, drag-and-drop; Live page: "Model file…"): the
model description proposed from the file (app.core.models.importing.propose) for the user to correct —
input shapes (a dynamic dimension must be filled before OK), kind and its decoder settings, colour,
range, layout and letterbox, labels, which outputs matter, the representative data folder. OK checks it
(importing.choose); `import_model_file` then copies the file into a new library folder with it."""
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
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.description import DescriptionError, ModelDescription, load_description_for, read_labels
from app.core.live.postprocess import POSTPROCESSORS, suggest_kinds
from app.core.models.importing import choose, import_into_library, propose
from app.gui.dialogs import show_error

DETECTORS = ("ssd", "yolov5", "yolov8")
MAX_DIM = 100_000


class ShapeField(QWidget):
    """One input's shape: a box per dimension; the file's own dimensions are shown and locked, a dynamic
    one (None) starts at "?" and must be given. An input of unknown rank: the whole shape as text."""

    def __init__(self, shape: list[int | None] | None) -> None:
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.boxes: list[QSpinBox] = []
        self.text: QLineEdit | None = None
        if shape is None:
            self.text = QLineEdit()
            self.text.setPlaceholderText("e.g. 1, 3, 224, 224")
            row.addWidget(self.text)
            return
        for dim in shape:
            box = QSpinBox()
            box.setRange(0, MAX_DIM)
            box.setSpecialValueText("?")  # 0: not given yet
            box.setValue(dim or 0)
            box.setEnabled(dim is None)  # only the open dimensions can be chosen
            box.setToolTip("fixed by the file" if dim else "dynamic in the file: give the size to run at")
            row.addWidget(box)
            self.boxes.append(box)
        row.addStretch(1)

    def shape(self) -> list[int] | None:
        """The shape given, None while a dimension is open."""
        if self.text is not None:
            try:
                dims = [int(t) for t in self.text.text().replace("×", ",").split(",") if t.strip()]
            except ValueError:
                return None
            return dims if dims and all(d > 0 for d in dims) else None
        dims = [box.value() for box in self.boxes]
        return dims if all(d > 0 for d in dims) else None

    def changed(self, slot) -> None:
        for box in self.boxes:
            box.valueChanged.connect(lambda *_: slot())
        if self.text is not None:
            self.text.textChanged.connect(lambda *_: slot())


class ModelImportDialog(QDialog):
    def __init__(self, path: str | Path, parent: QWidget | None = None,
                 description: ModelDescription | None = None) -> None:
        """description: what to start from (propose(path) when not given: DescriptionError if unreadable)."""
        super().__init__(parent)
        self.path = Path(path)
        self.proposed = description or propose(self.path)
        self.chosen: ModelDescription | None = None
        d = self.proposed
        self.setObjectName("importDialog")
        self.setWindowTitle(f"Import {self.path.name}")
        shapes = [tuple(x or 1 for x in (o.shape or [])) for o in d.outputs]
        suggested = suggest_kinds(shapes) if shapes else []
        outer = QVBoxLayout(self)
        intro = QLabel(f"<b>{self.path.name}</b> — {d.format}, {len(d.inputs)} input(s), {len(d.outputs)} output(s). "
                       "What the file does not say is proposed below: correct it before OK. It is saved with the "
                       "model in “Your models” and every step reads it.")
        intro.setWordWrap(True)
        outer.addWidget(intro)
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)

        form = QFormLayout()
        self.name = QLineEdit(d.name)
        self.name.setObjectName("importName")
        form.addRow("Name", self.name)
        column.addLayout(form)

        inputs_box = QGroupBox("Inputs — the shape each runs at")
        inputs = QGridLayout(inputs_box)
        self.shapes: dict[str, ShapeField] = {}
        for row, tensor in enumerate(d.inputs):
            field = ShapeField(tensor.shape)
            field.setObjectName(f"shape:{tensor.name}")
            field.changed(self._check)
            inputs.addWidget(QLabel(f"{tensor.name} ({tensor.dtype})"), row, 0)
            inputs.addWidget(field, row, 1)
            self.shapes[tensor.name] = field
        column.addWidget(inputs_box)

        what = QGroupBox("What it is and how a frame becomes its input")
        form = QFormLayout(what)
        self.kind = QComboBox()
        self.kind.setObjectName("importKind")
        for kind, row in POSTPROCESSORS.items():
            tag = "  (suggested)" if suggested and kind == suggested[0] else ""
            self.kind.addItem(f"{row.label}{tag}", kind)
            self.kind.setItemData(self.kind.count() - 1, row.shapes, Qt.ItemDataRole.ToolTipRole)
        self.kind.setCurrentIndex(max(0, self.kind.findData(d.kind)))
        form.addRow("Kind", self.kind)
        decoder = d.decoder
        self.score = self._spin(decoder.get("score_threshold", 0.5))
        self.iou = self._spin(decoder.get("iou_threshold", 0.45))
        self.topology = QComboBox()
        for name in ("", "hand21", "pose33", "face468"):
            self.topology.addItem(name or "— none —", name or None)
        self.topology.setCurrentIndex(max(0, self.topology.findData(decoder.get("topology"))))
        self.preset = QComboBox()
        for name in ("face_detection", "palm_detection"):
            self.preset.addItem(name, name)
        self.preset.setCurrentIndex(max(0, self.preset.findData(decoder.get("preset"))))
        self.normalized = QCheckBox("coordinates are 0..1 of the input (not input pixels)")
        self.normalized.setChecked(bool(decoder.get("normalized")))
        thresholds = QHBoxLayout()
        for label, spin in (("score", self.score), ("NMS IoU", self.iou)):
            thresholds.addWidget(QLabel(label))
            thresholds.addWidget(spin)
        thresholds.addStretch(1)
        form.addRow("Thresholds", thresholds)
        form.addRow("Keypoint topology", self.topology)
        form.addRow("SSD anchors preset", self.preset)
        form.addRow("", self.normalized)
        given = d.preprocess
        self.color = self._combo(("RGB", "BGR", "GRAY"), given.color)
        self.range = self._combo(("0-1", "-1-1", "0-255", "mean-std"), given.range)
        self.range.setObjectName("importRange")
        self.layout_choice = self._combo(("model's own", "NCHW", "NHWC"), given.layout or "model's own")
        self.letterbox = QCheckBox("letterbox (keep the aspect ratio, pad)")
        self.letterbox.setChecked(given.letterbox)
        pixels = QHBoxLayout()
        for label, combo in (("colour", self.color), ("range", self.range), ("layout", self.layout_choice)):
            pixels.addWidget(QLabel(label))
            pixels.addWidget(combo)
        pixels.addStretch(1)
        form.addRow("Input pixels", pixels)
        form.addRow("", self.letterbox)
        self.labels = QLineEdit(", ".join(d.labels or []))
        self.labels.setObjectName("importLabels")
        self.labels.setPlaceholderText("comma-separated, or load a file")
        pick = QPushButton("File…")
        pick.clicked.connect(self._pick_labels)
        row = QHBoxLayout()
        row.addWidget(self.labels, 1)
        row.addWidget(pick)
        form.addRow("Labels", row)
        self.data = QLineEdit(d.data or "")
        self.data.setObjectName("importData")
        self.data.setPlaceholderText("a folder of images (or DIR/<class>/*) like the ones it will see — INT8 "
                                     "calibration and the accuracy check use it")
        browse = QPushButton("Folder…")
        browse.clicked.connect(self._pick_data)
        row = QHBoxLayout()
        row.addWidget(self.data, 1)
        row.addWidget(browse)
        form.addRow("Representative data", row)
        column.addWidget(what)

        outputs_box = QGroupBox("Outputs — which ones judge a conversion (auxiliary: not drawn, not judged)")
        outputs = QGridLayout(outputs_box)
        self.roles: dict[str, QComboBox] = {}
        self.meanings: dict[str, QLineEdit] = {}
        for row, tensor in enumerate(d.outputs):
            role = self._combo(("main", "auxiliary"), tensor.role)
            meaning = QLineEdit(tensor.meaning)
            meaning.setPlaceholderText("scores, boxes, landmarks in pixels, mask…")
            outputs.addWidget(QLabel(f"{tensor.name}  [{tensor.shown()}]"), row, 0)
            outputs.addWidget(role, row, 1)
            outputs.addWidget(meaning, row, 2)
            self.roles[tensor.name], self.meanings[tensor.name] = role, meaning
        column.addWidget(outputs_box)
        column.addStretch(1)
        scroll = QScrollArea()  # a model with many outputs must not push OK off a 700-px screen
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # rows wrap, never scroll sideways
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)

        self.problem = QLabel("")
        self.problem.setObjectName("importProblem")
        self.problem.setStyleSheet("color: #d33;")
        self.problem.setWordWrap(True)
        outer.addWidget(self.problem)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()
        self.resize(820, 600)
        self._check()

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    @staticmethod
    def _spin(value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(0.0, 1.0)
        spin.setSingleStep(0.05)
        spin.setDecimals(2)
        spin.setValue(float(value))
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

    def _pick_data(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Representative data (images like the ones it will see)")
        if chosen:
            self.data.setText(chosen)

    def _kind_changed(self, picked: int | None = None) -> None:
        """Show only the settings the chosen kind reads; a kind the user picks brings its usual input
        (YOLO and landmarks: letterbox)."""
        kind = self.kind.currentData()
        self.iou.setEnabled(kind in DETECTORS)
        self.score.setEnabled(kind in DETECTORS or kind == "keypoints")
        self.topology.setEnabled(kind == "keypoints")
        self.preset.setEnabled(kind == "ssd")
        self.normalized.setEnabled(kind in ("yolov5", "yolov8", "keypoints"))
        if picked is not None:
            self.letterbox.setChecked(POSTPROCESSORS[kind].default_input.letterbox)

    def open_inputs(self) -> list[str]:
        return [name for name, field in self.shapes.items() if field.shape() is None]

    def _check(self) -> None:
        """OK only once every input has a shape: nothing runs at a dynamic one, never a silent 1."""
        missing = self.open_inputs()
        self.ok_button.setEnabled(not missing)
        self.problem.setText(
            f"Fill the dynamic dimensions (shown as ?) of {', '.join(map(repr, missing))}: the size the model will "
            "run at (e.g. 640 × 640 for a detector). Lite converts and runs it at exactly that shape." if missing
            else "")

    def decoder(self) -> dict:
        kind = self.kind.currentData()
        settings: dict = {k: v for k, v in self.proposed.decoder.items()
                          if k not in ("score_threshold", "iou_threshold", "topology", "preset", "normalized")} \
            if kind == self.proposed.kind else {}
        if self.score.isEnabled():
            settings["score_threshold"] = round(self.score.value(), 4)
        if self.iou.isEnabled():
            settings["iou_threshold"] = round(self.iou.value(), 4)
        if kind == "keypoints" and self.topology.currentData():
            settings["topology"] = self.topology.currentData()
        if kind == "ssd":
            settings["preset"] = self.preset.currentData()
        if self.normalized.isEnabled() and self.normalized.isChecked():
            settings["normalized"] = True
        return settings

    def description(self) -> ModelDescription:
        """The choices, checked (DescriptionError names what is wrong)."""
        missing = self.open_inputs()
        if missing:
            raise DescriptionError(f"give the shape of {', '.join(map(repr, missing))} first")
        labels = [t.strip() for t in self.labels.text().split(",") if t.strip()]
        chosen = choose(
            self.proposed,
            input_shapes={name: field.shape() for name, field in self.shapes.items()},
            kind=self.kind.currentData(), decoder=self.decoder(),
            preprocess={"color": self.color.currentText(), "range": self.range.currentText(),
                        "layout": None if self.layout_choice.currentIndex() == 0 else self.layout_choice.currentText(),
                        "letterbox": self.letterbox.isChecked()},
            labels=labels if labels else None, data=self.data.text().strip() or None,
            auxiliary=[name for name, role in self.roles.items() if role.currentText() == "auxiliary"],
            name=self.name.text().strip() or None)
        outputs = [o.model_copy(update={"meaning": self.meanings[o.name].text().strip()}) for o in chosen.outputs]
        return chosen.model_copy(update={"outputs": outputs, "labels": labels or None})

    def accept(self) -> None:
        try:
            self.chosen = self.description()
        except (DescriptionError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            self.problem.setText(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return
        super().accept()


def import_model_file(parent: QWidget, path: str | Path, models_root: Path) -> tuple[Path, ModelDescription] | None:
    """The whole import of a file the user chose: its description proposed (an unreadable file: an error
    dialog, nothing written), corrected in the dialog, then a new library folder under `models_root`
    (the user's file is only read). None when it was not imported."""
    path = Path(path)
    try:
        proposed = propose(path)
    except (DescriptionError, OSError) as exc:
        show_error(parent, "Cannot import this file", str(exc))
        return None
    dialog = ModelImportDialog(path, parent, proposed)
    if not dialog.exec() or dialog.chosen is None:
        return None
    return _into_library(parent, path, models_root, dialog.chosen)


def _into_library(parent: QWidget, path: Path, models_root: Path,
                  description: ModelDescription) -> tuple[Path, ModelDescription] | None:
    try:
        folder = import_into_library(path, models_root, description)
        return folder, load_description_for(folder)  # as saved there (its model file is renamed model.<ext>)
    except (OSError, ValueError) as exc:
        show_error(parent, "Import failed", str(exc))
        return None


def import_described(parent: QWidget, path: str | Path, models_root: Path,
                     description: ModelDescription) -> tuple[Path, ModelDescription] | None:
    """The import of a file already described (no dialog): a new library folder with `description`."""
    return _into_library(parent, Path(path), models_root, description)

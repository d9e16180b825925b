""""Your models" on the Model page: every trained, imported and packaged model (app.core.models.library),
its summary, packages and last verdicts; one click makes one the active model; nothing is forgotten."""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
)

from app.core.models.library import ModelLibrary, summary_of
from app.gui.state import SAMPLE_MODEL, AppState, workspace
from app.gui.theme import BAD, GOOD


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class ModelLibraryPanel(QGroupBox):
    def __init__(self, state: AppState, library: ModelLibrary | None = None) -> None:
        super().__init__("Your models — click one and “Make active”; every model you train or import stays here")
        self.state = state
        self.library = library or ModelLibrary(workspace() / "library.json")
        self.library.set_sample(SAMPLE_MODEL, "Digits CNN",  # the list adds "(sample)"
                                summary_of(_json(SAMPLE_MODEL / "metrics.json")))
        self.list = QListWidget()
        self.list.setObjectName("modelLibrary")
        self.list.setMaximumHeight(150)
        self.activate_button = QPushButton("Make active")
        self.activate_button.setObjectName("makeActive")
        self.forget_button = QPushButton("Forget…")
        buttons = QHBoxLayout()
        for button in (self.activate_button, self.forget_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        column = QVBoxLayout(self)
        column.addWidget(self.list)
        column.addLayout(buttons)
        self.activate_button.clicked.connect(self.make_active)
        self.list.itemDoubleClicked.connect(lambda _: self.make_active())
        self.forget_button.clicked.connect(self.forget)
        state.model_changed.connect(self.remember_model)
        state.package_changed.connect(self.remember_package)
        self.show_entries()

    def remember_model(self, folder: Path) -> None:
        metrics = _json(Path(folder) / "metrics.json")
        kind = "sample" if Path(folder) == SAMPLE_MODEL else "trained" if metrics else "imported"
        self.library.add(folder, kind=kind, summary=summary_of(metrics))
        self.show_entries()

    def remember_package(self, package: Path) -> None:
        deploy = _json(Path(package) / "deploy.json")
        verdicts = {name: (r.get("verification") or {}).get("verdict", "")
                    for name, r in deploy.get("targets", {}).items() if isinstance(r, dict) and r.get("verification")}
        self.library.add_package(self.state.model_dir, package, verdicts)
        self.show_entries()

    def show_entries(self) -> None:
        self.list.clear()
        active = str(Path(self.state.model_dir).resolve())
        for entry in reversed(self.library.usable()):  # newest first
            wrong = [name for name, verdict in entry.verdicts.items() if verdict.upper() == "WRONG"]
            packages = f" · {len(entry.packages)} package{'s' * (len(entry.packages) != 1)}" if entry.packages else ""
            verdict = f" · WRONG: {', '.join(wrong)}" if wrong else " · all verified" if entry.verdicts else ""
            mark = "● " if entry.folder == active else "   "
            item = QListWidgetItem(f"{mark}{entry.name}  ({entry.kind}) — {entry.summary or 'no metrics'}"
                                   f"{packages}{verdict}")
            item.setData(Qt.ItemDataRole.UserRole, entry.folder)
            item.setToolTip(entry.folder)
            if wrong:
                item.setForeground(QColor(BAD))
            elif entry.verdicts:
                item.setForeground(QColor(GOOD))
            self.list.addItem(item)

    def selected_folder(self) -> Path | None:
        item = self.list.currentItem()
        return Path(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def make_active(self) -> None:
        folder = self.selected_folder()
        if folder is not None and (folder / "model.onnx").is_file():
            self.state.set_model(folder)

    def forget(self, confirm=None) -> None:
        folder = self.selected_folder()
        if folder is None or folder == SAMPLE_MODEL:
            return
        confirm = confirm or (lambda f: QMessageBox.question(
            self, "Forget this model?", f"Take {f.name} off the list? Its files stay in {f}.")
            == QMessageBox.StandardButton.Yes)
        if confirm(folder):
            self.library.forget(folder)
            self.show_entries()

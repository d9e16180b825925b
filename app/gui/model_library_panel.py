""""Your models" on the Model page: every trained, imported and packaged model (app.core.models.library),
its summary, packages and last verdicts; one click makes one the active model. Forget takes one off the
list (never its files; the active one falls back to the sample) and "Undo forget" brings it back."""
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
    QMenu,
    QMessageBox,
    QPushButton,
    QToolButton,
    QVBoxLayout,
)

from app.core.models.library import ModelLibrary, summary_of
from app.gui.state import SAMPLE_MODEL, AppState
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
        if library is not None:
            state.library = library  # the pages share one library
        self.library = state.library
        self.library.set_sample(SAMPLE_MODEL, "Digits CNN",  # the list adds "(sample)"
                                summary_of(_json(SAMPLE_MODEL / "metrics.json")))
        self.list = QListWidget()
        self.list.setObjectName("modelLibrary")
        self.list.setMaximumHeight(150)
        self.activate_button = QPushButton("Make active")
        self.activate_button.setObjectName("makeActive")
        self.forget_button = QPushButton("Forget…")
        self.forget_button.setObjectName("forgetModel")
        # click: the last one forgotten comes back; the arrow: any model forgotten before
        self.undo_button = QToolButton()
        self.undo_button.setObjectName("undoForget")
        self.undo_button.setText("Undo forget")
        self.undo_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.undo_button.setMenu(QMenu(self.undo_button))
        self.was_active: set[str] = set()  # forgotten while active: made active again when brought back
        buttons = QHBoxLayout()
        for button in (self.activate_button, self.forget_button, self.undo_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        column = QVBoxLayout(self)
        column.addWidget(self.list)
        column.addLayout(buttons)
        self.activate_button.clicked.connect(self.make_active)
        self.list.itemDoubleClicked.connect(lambda _: self.make_active())
        self.forget_button.clicked.connect(self.forget)
        self.undo_button.clicked.connect(self.undo_forget)
        self.list.currentItemChanged.connect(lambda *_: self._selection_changed())
        state.model_changed.connect(self.remember_model)
        state.package_changed.connect(self.remember_package)
        self.show_entries()

    def remember_model(self, folder: Path) -> None:
        metrics = _json(Path(folder) / "metrics.json")
        description = self.state.description if Path(folder) == self.state.model_dir else None
        kind = ("sample" if Path(folder) == SAMPLE_MODEL else description.origin if description
                else "trained" if metrics else "imported")
        if kind != "sample" or self.library.find(folder) is None:  # the sample keeps its one entry's name
            self.library.add(folder, name=description.label if description and kind != "trained" else "", kind=kind,
                             summary=summary_of(metrics), model_file=description.model_file if description else "")
        self.show_entries()

    def remember_package(self, package: Path) -> None:
        deploy = _json(Path(package) / "deploy.json")
        verdicts = {name: (r.get("verification") or {}).get("verdict", "")
                    for name, r in deploy.get("targets", {}).items() if isinstance(r, dict) and r.get("verification")}
        self.library.add_package(self.state.model_dir, package, verdicts)
        self.show_entries()

    def show_entries(self) -> None:
        selected = self.selected_folder()  # kept selected across the refresh
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
        if selected is not None:
            self.select(selected)
        self._selection_changed()
        self._show_forgotten()

    def _selection_changed(self) -> None:
        """The sample cannot be forgotten (the app falls back to it): the button says so instead of doing nothing."""
        folder = self.selected_folder()
        sample = folder is not None and self._is_sample(folder)
        self.forget_button.setEnabled(folder is not None and not sample)
        self.forget_button.setToolTip(
            "The sample cannot be forgotten: it is the model the app falls back to" if sample else
            "Take the selected model off the list (its files stay; Undo forget brings it back)" if folder else
            "Select a model first")

    def _show_forgotten(self) -> None:
        forgotten = [e for e in reversed(self.library.forgotten) if e.usable]  # newest first
        menu = self.undo_button.menu()
        menu.clear()
        for entry in forgotten:
            menu.addAction(f"Bring back {entry.name} ({entry.kind})").triggered.connect(
                lambda _=False, folder=entry.folder: self.restore(Path(folder)))
        self.undo_button.setEnabled(bool(forgotten))
        self.undo_button.setToolTip(f"Bring back {forgotten[0].name} (the arrow: every forgotten model)"
                                    if forgotten else "No forgotten model")

    @staticmethod
    def _is_sample(folder: Path) -> bool:
        return Path(folder).resolve() == SAMPLE_MODEL.resolve()

    def select(self, folder: Path) -> None:
        key = str(Path(folder).resolve())
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.list.setCurrentRow(row)

    def selected_folder(self) -> Path | None:
        item = self.list.currentItem()
        return Path(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def make_active(self) -> None:
        folder = self.selected_folder()
        entry = self.library.find(folder) if folder is not None else None
        if entry is not None and entry.usable:
            self.state.set_model(folder)

    def forget(self) -> None:
        """Ask, then take the selected model off the list. The active one: the sample becomes active, so
        the banner and the status bar never name a model that is not on the list."""
        folder = self.selected_folder()
        if folder is None:
            return
        if self._is_sample(folder):
            QMessageBox.information(self, "The sample stays", "The sample cannot be forgotten: it is the model "
                                    "the app falls back to.")
            return
        answer = QMessageBox.question(
            self, "Forget this model?", f"Take {folder.name} off the list? Its files stay in {folder}; "
            "“Undo forget” brings it back.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.library.forget(folder)
        if Path(folder).resolve() == Path(self.state.model_dir).resolve():
            self.was_active.add(str(Path(folder).resolve()))
            self.state.set_model(SAMPLE_MODEL)  # shows the list again (remember_model)
        self.show_entries()

    def undo_forget(self) -> None:
        """The model forgotten last comes back (active again if it was when it was forgotten)."""
        forgotten = [e for e in self.library.forgotten if e.usable]
        if forgotten:
            self.restore(Path(forgotten[-1].folder))

    def restore(self, folder: Path) -> None:
        entry = self.library.restore(folder)
        if entry is None:
            return
        key = str(Path(folder).resolve())
        if key in self.was_active:
            self.was_active.discard(key)
            self.state.set_model(Path(entry.folder))
        self.show_entries()

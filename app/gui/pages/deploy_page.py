"""Deploy page: write the built package (one folder per tier) where the user wants it, and open it."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.files import FolderInUse, check_target_folder, publish_dir
from app.gui.dialogs import show_error
from app.gui.state import AppState
from app.gui.theme import BAD


class DeployPage(QWidget):
    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        layout = QVBoxLayout(self)
        self.info = QLabel("Build the targets on the Convert page first.")
        layout.addWidget(self.info)
        row = QHBoxLayout()
        self.destination = QLineEdit(str(_new_folder(Path.home() / "edge-studio-package")))
        browse = QPushButton("Browse…")
        self.write_button = QPushButton("Write package")
        self.write_button.setEnabled(False)
        self.open_button = QPushButton("Open folder")
        self.open_button.setEnabled(False)
        for widget in (QLabel("Destination"), self.destination, browse, self.write_button, self.open_button):
            row.addWidget(widget)
        layout.addLayout(row)
        self.readme = QTextBrowser()
        layout.addWidget(self.readme, 1)
        browse.clicked.connect(self.browse)
        self.write_button.clicked.connect(lambda: self.write())  # not clicked(bool) as confirm
        self.open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(self.destination.text())))
        state.package_changed.connect(self.package_ready)
        state.model_changed.connect(self.model_changed)
        if state.package_dir is not None:  # built before this page was
            self.package_ready(state.package_dir)

    def model_changed(self) -> None:
        """Another active model: its own package (set right after, if it has one) or none yet."""
        self.info.setText(f"Build {self.state.model_name} on the Convert page first.")
        self.write_button.setEnabled(False)
        self.open_button.setEnabled(False)
        self.readme.clear()

    def package_ready(self, folder: Path) -> None:
        failed = _failed_targets(folder)
        self.info.setText(f"Built package: {folder}" + (
            f"<br><span style='color: {BAD}'><b>Not in the package</b> — its Lite file answered differently from "
            f"the source model: {', '.join(failed)} (see the Convert page for the numbers)</span>" if failed else ""))
        self.write_button.setEnabled(True)
        readme = folder / "device" / "README.md"
        self.readme.setMarkdown(readme.read_text() if readme.exists() else "")

    def browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Write the package into", str(Path.home()))
        if folder:
            self.destination.setText(folder)

    def write(self, confirm=None) -> bool:
        """Copy the built package into the destination. A folder that is not empty is used only after the
        user agrees, and even then only files Edge Studio wrote there are replaced (never the user's)."""
        source, target = self.state.package_dir, Path(self.destination.text()).expanduser()
        confirm = confirm or self._ask_to_replace
        force = False
        try:
            check_target_folder(target, [], force=False)
        except FolderInUse:
            if not confirm(target):
                return False
            force = True
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            staged = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name[:32]}.writing-"))
            try:
                shutil.copytree(source, staged, dirs_exist_ok=True)
                publish_dir(staged, target, force=force)
            finally:
                shutil.rmtree(staged, ignore_errors=True)
        except (OSError, FolderInUse) as exc:
            show_error(self, "Could not write the package", str(exc))
            return False
        self.info.setText(f"Package written to {target} (cloud/, edge/, device/)")
        self.open_button.setEnabled(True)
        self.state.mark_done("Deploy")
        return True

    def _ask_to_replace(self, target: Path) -> bool:
        answer = QMessageBox.question(
            self, "Folder is not empty",
            f"{target} already holds files.\n\nWrite the package there? Only files Edge Studio wrote there "
            "before are replaced; your other files are never touched.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes


def _failed_targets(package: Path) -> list[str]:
    """Targets deploy left out because their verification said WRONG (deploy.json's "failed")."""
    try:
        return sorted(json.loads((package / "deploy.json").read_text(encoding="utf-8")).get("failed", {}))
    except (OSError, ValueError, AttributeError):
        return []


def _new_folder(path: Path) -> Path:
    """`path`, or path-2, path-3 … : the first that does not exist yet (a default never points at user files)."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate

"""Deploy page: write the built package (one folder per tier) where the user wants it, and open it."""
from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QTextBrowser,
                               QVBoxLayout, QWidget)

from app.gui.dialogs import show_error
from app.gui.state import AppState


class DeployPage(QWidget):
    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        layout = QVBoxLayout(self)
        self.info = QLabel("Build the targets on the Convert page first.")
        layout.addWidget(self.info)
        row = QHBoxLayout()
        self.destination = QLineEdit(str(Path.home() / "edge-studio-package"))
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
        self.write_button.clicked.connect(self.write)
        self.open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(self.destination.text())))
        state.package_changed.connect(self.package_ready)

    def package_ready(self, folder: Path) -> None:
        self.info.setText(f"Built package: {folder}")
        self.write_button.setEnabled(True)
        readme = folder / "device" / "README.md"
        self.readme.setMarkdown(readme.read_text() if readme.exists() else "")

    def browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Write the package into")
        if folder:
            self.destination.setText(folder)

    def write(self) -> None:
        source, target = self.state.package_dir, Path(self.destination.text())
        try:
            staged = target.with_name(f".{target.name}.writing")
            shutil.rmtree(staged, ignore_errors=True)
            shutil.copytree(source, staged)
            if target.exists():
                shutil.rmtree(target)
            staged.rename(target)
        except OSError as exc:
            show_error(self, "Could not write the package", str(exc))
            return
        self.info.setText(f"Package written to {target} (cloud/, edge/, device/)")
        self.open_button.setEnabled(True)

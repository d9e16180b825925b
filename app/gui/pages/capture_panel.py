"""Capture from the webcam, Teachable-Machine style: name classes, hold a button to record samples
into a folder dataset, see thumbnails, then train on it."""
from __future__ import annotations

import time

from PySide6.QtCore import QSize, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)

from app.core.live.capture import CaptureSession, class_folder_name
from app.gui.dialogs import show_error
from app.gui.live_view import FrameView, to_pixmap
from app.gui.state import workspace
from app.gui.theme import WARN

RECORD_HZ = 8


class CapturePanel(QGroupBox):
    train_requested = Signal(str)  # the dataset folder

    def __init__(self) -> None:
        super().__init__("Capture from webcam (hold to record samples of a class)")
        self.session: CaptureSession | None = None
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        row = QHBoxLayout()
        self.source = QComboBox()
        self.source.addItem("Camera 0 (synthetic if none)", "0")
        self.source.addItem("Synthetic digits", "synthetic")
        self.open_button = QPushButton("Open camera")
        row.addWidget(self.source)
        row.addWidget(self.open_button)
        left.addLayout(row)
        self.preview = FrameView("camera closed")
        self.preview.setMinimumSize(200, 150)
        left.addWidget(self.preview)
        self.notice = QLabel("")  # says so when no webcam was found and the synthetic source records instead
        self.notice.setObjectName("captureNotice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(f"color: {WARN}; font-weight: 600;")
        left.addWidget(self.notice)
        layout.addLayout(left, 1)
        right = QVBoxLayout()
        row = QHBoxLayout()
        self.class_name = QLineEdit()
        self.class_name.setPlaceholderText("class name, e.g. thumbs up")
        self.add_button = QPushButton("Add class")
        row.addWidget(self.class_name)
        row.addWidget(self.add_button)
        right.addLayout(row)
        self.classes = QComboBox()
        self.record_button = QPushButton("Hold to record")
        self.record_button.setEnabled(False)
        self.counts = QLabel("no samples yet")
        self.thumbs = QListWidget()
        self.thumbs.setViewMode(QListWidget.ViewMode.IconMode)
        self.thumbs.setIconSize(QSize(56, 42))
        self.thumbs.setMaximumHeight(120)
        self.train_button = QPushButton("Train on these samples")
        self.train_button.setEnabled(False)
        for widget in (self.classes, self.record_button, self.counts, self.thumbs, self.train_button):
            right.addWidget(widget)
        layout.addLayout(right, 1)
        self.folder = workspace() / "datasets" / time.strftime("captured-%Y%m%d-%H%M%S")
        self.preview_timer = QTimer(self, interval=100, timeout=self._show_preview)
        self.record_timer = QTimer(self, interval=1000 // RECORD_HZ, timeout=self._record_one)
        self.open_button.clicked.connect(self.open_session)
        self.add_button.clicked.connect(self.add_class)
        self.class_name.returnPressed.connect(self.add_class)
        self.record_button.pressed.connect(self.record_timer.start)
        self.record_button.released.connect(self.record_timer.stop)
        self.train_button.clicked.connect(lambda: self.train_requested.emit(str(self.folder)))

    def open_session(self) -> None:
        self.close_session()
        try:
            self.session = CaptureSession(self.source.currentData(), self.folder)
        except Exception as exc:  # a missing camera is a message, not a traceback
            show_error(self, "Camera", str(exc))
            return
        self.preview_timer.start()
        self.record_button.setEnabled(self.classes.count() > 0)
        fell_back = "synthetic" in self.session.source.name and self.source.currentData() != "synthetic"
        self.notice.setText("No webcam found — synthetic source: the samples you record are synthetic digits"
                            if fell_back else "")

    def add_class(self) -> None:
        try:
            name = class_folder_name(self.class_name.text())
        except ValueError as exc:
            show_error(self, "Class name", str(exc))
            return
        if self.classes.findText(name) < 0:
            self.classes.addItem(name)
        self.classes.setCurrentText(name)
        self.class_name.clear()
        self.record_button.setEnabled(self.session is not None)

    def _show_preview(self) -> None:
        image = self.session.latest() if self.session else None
        if image is not None:
            self.preview.show_frame(image)

    def _record_one(self) -> None:
        if self.session is None or not self.classes.currentText():
            return
        path = self.session.save(self.classes.currentText())
        if path is None:
            return
        image = self.session.latest()
        item = QListWidgetItem(QIcon(to_pixmap(image)), path.parent.name)
        self.thumbs.insertItem(0, item)
        while self.thumbs.count() > 40:
            self.thumbs.takeItem(self.thumbs.count() - 1)
        counts = self.session.counts()
        self.counts.setText(" · ".join(f"{k}: {v}" for k, v in counts.items()))
        self.train_button.setEnabled(len(counts) >= 2 and min(counts.values()) >= 2)

    def close_session(self) -> None:
        self.preview_timer.stop()
        self.record_timer.stop()
        if self.session is not None:
            self.session.close()
            self.session = None

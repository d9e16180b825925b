"""Main window. For now: the installation's health (doctor) computed off the GUI thread."""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget


class DoctorWorker(QObject):
    finished = Signal(dict)

    def run(self) -> None:
        from app.core.doctor import run_doctor

        self.finished.emit(run_doctor())


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Edge Studio")
        self.resize(900, 560)
        body = QWidget()
        layout = QVBoxLayout(body)
        self.headline = QLabel("Checking the MindSpore Lite bridge…")
        self.headline.setStyleSheet("font-size: 18px; font-weight: 600;")
        self.details = QTreeWidget()
        self.details.setHeaderLabels(["Component", "Status"])
        layout.addWidget(self.headline)
        layout.addWidget(self.details)
        self.setCentralWidget(body)
        self.statusBar().showMessage("Lite bridge: checking…")
        self._thread = QThread(self)
        self._worker = DoctorWorker()
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.finished.connect(self.show_report)
        self._worker.finished.connect(self._thread.quit)
        self._thread.start()

    def show_report(self, report: dict) -> None:
        bridge = report["lite_bridge"]
        health = f"OK (Lite {bridge['version']})" if bridge["ok"] else f"BROKEN: {bridge['error']}"
        self.headline.setText(f"MindSpore Lite bridge: {health}")
        self.statusBar().showMessage(f"Lite bridge: {'OK' if bridge['ok'] else 'broken'}")
        rows = [("Python", report["python"]), ("MindSpore", report["mindspore"]), ("PySide6", report["pyside6"]),
                ("OpenCV", report["opencv"]), ("onnxruntime", report["onnxruntime"])]
        cams = ", ".join(c["device"] for c in report["cameras"]) or "none (synthetic source)"
        rows.append(("Cameras", cams))
        for name, value in rows:
            self.details.addTopLevelItem(QTreeWidgetItem([name, str(value or "not installed")]))
        self.details.resizeColumnToContents(0)

    def closeEvent(self, event) -> None:
        self._thread.quit()
        self._thread.wait(5000)
        super().closeEvent(event)


def run_gui() -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    window = MainWindow()
    window.show()
    return app.exec()

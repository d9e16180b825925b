"""Booth mode: fullscreen, large type, no controls. The same frames run on the edge tier (Lite FP32,
all cores), the device tier (Lite INT8, one core) and, when its server starts, the cloud tier (full
MindSpore over HTTP), with a latency bar per tier. An attract loop cycles scenes when nobody touches
it; a watchdog restarts the pipeline after any error or a lost camera. Leave with Ctrl+Shift+Q."""
from __future__ import annotations

import os

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from app.gui.live_view import (
    FrameView,
    close_pipeline,
    load_lite_runtime,
    new_workdir,
    start_pipeline,
)
from app.gui.state import SAMPLE_MODEL
from app.gui.workers import JobRunner

# (title, source, models): the attract loop cycles through these
SCENES = (
    ("Digits", "synthetic", ("digits", "digits-int8")),
    ("Face detection", "synthetic:face", ("face", "face-int8")),
)
TIER_LABELS = ("EDGE · Lite FP32 · all cores", "DEVICE · Lite INT8 · 1 core", "CLOUD · MindSpore over HTTP")
EXIT_CHORD = "Ctrl+Shift+Q"
ATTRACT_S, IDLE_S, STALL_S = 25, 60, 6


def _start_cloud(state):
    from app.core.cloud.server import start_server_process

    return start_server_process(SAMPLE_MODEL)


class BoothWindow(QWidget):
    def __init__(self, state=None, settings=None, camera: str | None = None) -> None:
        super().__init__()
        load_lite_runtime()
        self.setWindowTitle("Edge Studio — booth")
        self.setStyleSheet("background: black; color: white;")
        self.runner = JobRunner(self)
        self.camera = camera or (settings.get("camera") if settings else None)
        self.pipeline = self.cloud = self.workdir = None
        self.scene_index, self.idle_s, self.stalled_s, self.restarts = 0, 0, 0, 0
        self.generation, self.closed = 0, False  # a pipeline that arrives late for its scene is closed
        self._last_seq: list[int | None] = [None, None, None]
        layout = QVBoxLayout(self)
        self.title = QLabel("Edge Studio")
        self.title.setStyleSheet("font-size: 40px; font-weight: 700;")
        layout.addWidget(self.title)
        grid = QGridLayout()
        self.views, self.captions = [], []
        for col, caption in enumerate(TIER_LABELS[:2]):
            label = QLabel(caption)
            label.setStyleSheet("font-size: 28px; color: #9fe;")
            view = FrameView("starting…")
            grid.addWidget(label, 0, col)
            grid.addWidget(view, 1, col)
            self.views.append(view)
            self.captions.append(label)
        layout.addLayout(grid, 1)
        self.bars, self.bar_texts = {}, {}
        for tier in ("cloud", "edge", "device"):
            row = QGridLayout()
            name = QLabel(tier.upper())
            name.setFixedWidth(160)
            name.setStyleSheet("font-size: 26px; font-weight: 600;")
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setTextVisible(False)
            bar.setFixedHeight(28)
            text = QLabel("—")
            text.setFixedWidth(260)
            text.setStyleSheet("font-size: 26px;")
            row.addWidget(name, 0, 0)
            row.addWidget(bar, 0, 1)
            row.addWidget(text, 0, 2)
            layout.addLayout(row)
            self.bars[tier], self.bar_texts[tier] = bar, text
        self.footer = QLabel(f"Touch to explore · {EXIT_CHORD} leaves booth mode")
        self.footer.setStyleSheet("font-size: 18px; color: #888;")
        layout.addWidget(self.footer)
        QShortcut(QKeySequence(EXIT_CHORD), self, activated=self.leave)
        self.frame_timer = QTimer(self, interval=33, timeout=self.refresh)
        self.second_timer = QTimer(self, interval=1000, timeout=self.every_second)
        self.installEventFilter(self)
        self.runner.start(_start_cloud, on_done=self._cloud_ready, on_error=lambda exc: self._scene())
        self.frame_timer.start()
        self.second_timer.start()

    # -- scenes and recovery -------------------------------------------------------------------
    def _cloud_ready(self, handle) -> None:
        if self.closed:
            handle.stop()
            return
        self.cloud = handle
        self._scene()

    def _scene(self) -> None:
        title, source, models = SCENES[self.scene_index % len(SCENES)]
        names, threads = list(models), [os.cpu_count() or 1, 1]
        if self.cloud is not None and title == SCENES[0][0]:
            names.append(self.cloud.url)  # the cloud tier serves the digits model
            threads.append(1)
        self._stop_pipeline()
        self.generation += 1
        generation = self.generation
        self.title.setText(f"{title} — the same frames on every tier")
        self.workdir = new_workdir()
        self.runner.start(start_pipeline, source_spec=self.camera or source, model_names=names, threads=threads,
                          workdir=self.workdir, token=self.cloud.token if self.cloud else None,
                          on_done=lambda p: self._started(p, generation),
                          on_error=lambda exc: self._recover(str(exc)) if generation == self.generation else None)

    def _started(self, pipeline, generation: int) -> None:
        if self.closed or generation != self.generation:
            pipeline.close()
            return
        self.pipeline, self.stalled_s = pipeline, 0

    def _recover(self, reason: str) -> None:
        if self.closed:
            return
        self.restarts += 1
        self._stop_pipeline()
        self.footer.setText(f"Recovering ({reason.splitlines()[0][:80]}) · {EXIT_CHORD} leaves booth mode")
        if self.camera and self.restarts % 3 == 0:
            self.camera = None  # a camera that keeps failing: fall back to the synthetic scenes
        QTimer.singleShot(1000, lambda: None if self.closed else self._scene())

    def every_second(self) -> None:
        self.idle_s += 1
        if self.pipeline is None:
            return
        self.stalled_s += 1
        errors = [m["error"] for m in self.pipeline.stats().models if m["error"]]
        if errors or self.stalled_s > STALL_S or not self.pipeline.running:
            self._recover(errors[0] if errors else "no frames")
        elif self.idle_s > IDLE_S and self.idle_s % ATTRACT_S == 0:
            self.scene_index += 1  # attract loop: nobody touched it for a while
            self._scene()

    def refresh(self) -> None:
        if self.pipeline is None:
            return
        stats = None
        for i, model in enumerate(self.pipeline.models):
            latest = self.pipeline.latest(i)
            if latest is None or latest.seq == self._last_seq[i]:
                continue
            self._last_seq[i] = latest.seq
            self.stalled_s = 0
            if i < len(self.views) and latest.image is not None:
                self.views[i].show_frame(latest.image)
        if self.views[0].frames_shown % 10 == 1:
            stats = self.pipeline.stats().models
            tiers = ("edge", "device", "cloud")
            worst = max([(m["ms"]["inference"]["p50"] or 0) for m in stats] + [1.0])
            for tier in tiers:
                self.bar_texts[tier].setText("—")
                self.bars[tier].setValue(0)
            for tier, entry in zip(tiers, stats):
                p50 = entry["ms"]["inference"]["p50"]
                if p50 is not None:
                    self.bars[tier].setValue(int(1000 * p50 / worst))
                    self.bar_texts[tier].setText(f"{p50:.2f} ms")

    def eventFilter(self, obj, event) -> bool:
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress, QEvent.Type.TouchBegin):
            self.idle_s = 0
        return super().eventFilter(obj, event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space:  # a visitor's touch: next scene
            self.scene_index += 1
            self._scene()
        self.idle_s = 0  # Esc and everything else do not leave: only the chord does

    # -- leaving -------------------------------------------------------------------------------
    def _stop_pipeline(self) -> None:
        close_pipeline(self.pipeline, self.workdir)
        self.pipeline = self.workdir = None
        self._last_seq = [None, None, None]

    def leave(self) -> None:
        self.close()

    def closeEvent(self, event) -> None:
        self.closed = True
        self.frame_timer.stop()
        self.second_timer.stop()
        self._stop_pipeline()
        if self.cloud is not None:
            self.cloud.stop()
            self.cloud = None
        self.runner.stop_all()
        super().closeEvent(event)

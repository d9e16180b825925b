"""Booth mode: fullscreen, dark, large type, made to draw a crowd and survive strangers.

It runs its own source and models (a camera when one answers, with the face detector; else the
built-in synthetic scenes), never the Live page's. The first scene starts at once from the cached
samples; the cloud tier's MindSpore server starts after the first frame and joins when it answers.
An attract loop cycles the scenes (live FP32 vs INT8, the cloud → edge → device latency race, the
model shrinking, the accuracy kept); a visitor's touch or Space moves on, and after a quiet while the
loop starts over. A watchdog restarts whatever fails (pipeline, camera, cloud server) and says so in
one friendly line that clears once it is healthy again. Ctrl+R records the next minute of the screen
to an MP4. Leave with Ctrl+Shift+Q (Esc does nothing: visitors press it)."""
from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2  # noqa: F401  imported on the GUI thread: a first import inside a worker holds the import lock
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.doctor import list_cameras
from app.core.live import sample_cache
from app.core.live.booth_facts import load_facts
from app.core.live.clip_writer import clip_folder
from app.core.live.samples import prepare_in_child
from app.core.live.sources import (
    CameraSource,
    FallbackSource,
    ReopeningSource,
    SyntheticSource,
)
from app.gui import booth_captions as say
from app.gui.booth_panels import Row, TierBars
from app.gui.clip import ClipRecorder, clock
from app.gui.live_view import (
    FrameView,
    close_pipeline,
    load_lite_runtime,
    new_workdir,
    start_pipeline,
)
from app.gui.state import SAMPLE_MODEL
from app.gui.theme import BAD, THEMES, tier_colour
from app.gui.workers import JobRunner
from jobs.state import Cancelled, JobState

log = logging.getLogger(__name__)
EXIT_CHORD, CLIP_CHORD = "Ctrl+Shift+Q", "Ctrl+R"
DARK = THEMES["dark"]


@dataclass(frozen=True)
class Scene:
    title: str
    setup: str  # which pipeline it runs: "digits" (+ the cloud tier when it is up) or "face"
    panel: str  # panes | race | shrink | accuracy


# the attract loop, in order; ~12 s each makes one loop about as long as a one-minute clip
SCENES = (
    Scene("Digits — FP32 vs INT8, live", "digits", "panes"),
    Scene("Face detection — FP32 vs INT8, live", "face", "panes"),
    Scene("The latency race: cloud → edge → device", "digits", "race"),
    Scene("The model shrinks", "digits", "shrink"),
    Scene("Accuracy kept", "digits", "accuracy"),
)
SETUPS = {"digits": ("digits", "digits-int8"), "face": ("face", "face-int8")}
PANELS = ("panes", "race", "shrink", "accuracy")
COLD = "the samples are not built yet"
WARMING_UP = "warming up…"
BACKGROUND_LATEST_MS = 20_000  # the cloud server starts by then even if no frame has come


@dataclass(frozen=True)
class BoothTiming:
    scene_s: float = 12.0  # the attract loop shows each scene this long
    idle_reset_s: float = 45.0  # after a visitor's last touch: back to the loop's first scene
    stall_s: float = 6.0  # no new frame for this long: restart the live view
    tick_ms: int = 500  # the watchdog's period
    clear_s: float = 2.0  # a friendly line stays this long once things run again
    retry_s: float = 1.0  # pause before a restart
    cloud_retry_s: float = 15.0  # pause before the cloud server is started again
    cloud_tries: int = 3  # server starts before the cloud tier is given up for the session


def _start_cloud(state):
    from app.core.cloud.server import start_server_process

    return start_server_process(SAMPLE_MODEL)


def _find_camera(state) -> str | None:
    cameras = list_cameras()
    return cameras[0]["device"] if cameras else None


def _open_source(setup: str, camera: str | None):
    """The booth's own source: the face scene on a camera when there is one (falling back to the
    synthetic face scene if it dies), the synthetic scenes otherwise."""
    if setup == "face" and camera:
        device = int(camera) if camera.isdigit() else camera
        return FallbackSource(ReopeningSource(CameraSource(device)), SyntheticSource(scene="face"), on_open=True)
    return SyntheticSource(scene="face" if setup == "face" else "digits")


class BoothWindow(QWidget):
    left = Signal()  # booth mode was left (everything it started has stopped)

    def __init__(self, state=None, settings=None, camera: str | None = None, timing: BoothTiming | None = None,
                 clip_dir: str | Path | None = None, clip_seconds: float = 60.0) -> None:
        """state, settings: what the main window passes; booth mode takes neither the Live page's source
        nor its models. camera: a device to use ("" for none); None looks for one. clip_dir: where
        clips go (None: the user's Videos folder)."""
        super().__init__()
        self.entered = time.monotonic()
        self.first_frame_s: float | None = None
        load_lite_runtime()
        self.timing = timing or BoothTiming()
        self.clip_dir, self.clip_seconds = (Path(clip_dir) if clip_dir else None), clip_seconds
        self.setWindowTitle("Edge Studio — booth")
        self.setObjectName("booth")
        self.setStyleSheet(f"QWidget#booth, QStackedWidget, QWidget {{ background: {DARK['window']}; "
                           f"color: {DARK['text']}; }}")
        self.runner = JobRunner(self)
        self.camera, self.camera_given = camera, camera is not None  # None: looked for when booth starts
        self.pipeline = self.workdir = None
        self.running_setup: tuple[str, bool] | None = None  # (setup, with the cloud tier)
        self.cloud = None
        self.cloud_status, self.cloud_tries, self.cloud_ran = "starting", 0, False
        self.facts: dict | None = None
        self.scene_index, self.scene_started, self.touched_at = 0, time.monotonic(), None
        self.home_scene = 0  # where the loop starts over: the face scene when a camera is there
        self.restarts, self.generation, self.closed = 0, 0, False
        self.starting = self.start_wanted = False
        self.last_frame_at = time.monotonic()
        self.problem: str | None = None
        self.healthy_since: float | None = None
        self._made: list = []  # every pipeline a job started: leaving closes any that arrived late
        self._last_seq: list[int | None] = [None, None]
        self._build()
        QShortcut(QKeySequence(EXIT_CHORD), self, activated=self.leave)
        QShortcut(QKeySequence(CLIP_CHORD), self, activated=self.record_clip)
        self.frame_timer = QTimer(self, interval=33, timeout=self.refresh)
        self.tick_timer = QTimer(self, interval=self.timing.tick_ms, timeout=self.tick)
        self.views[0].first_frame.connect(self._first_frame)
        self.background_started = False
        QTimer.singleShot(BACKGROUND_LATEST_MS, self, self._start_background)
        self._show_scene(0)
        self.frame_timer.start()
        self.tick_timer.start()

    # -- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = self._layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.title = QLabel("Edge Studio")
        self.title.setWordWrap(True)  # a long title takes two lines on a 4:3 projector, never a wider window
        self.dots = QLabel()
        self.rec_label = QLabel()
        self.rec_button = QPushButton(f"● Record {clock(self.clip_seconds)} clip")
        self.rec_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space is "next scene", never "record"
        self.rec_button.clicked.connect(self.record_clip)
        top.addWidget(self.title, 1)
        top.addWidget(self.dots)
        top.addSpacing(24)
        top.addWidget(self.rec_label)
        top.addWidget(self.rec_button)
        layout.addLayout(top)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._panes())
        self.race, self.shrink, self.accuracy = TierBars(), TierBars(), TierBars(scale=1.0)
        for panel in (self.race, self.shrink, self.accuracy):
            self.stack.addWidget(panel)
        layout.addWidget(self.stack, 1)
        self.status = QLabel()
        self.status.setObjectName("boothStatus")
        self.status.setWordWrap(True)
        self.status.hide()
        layout.addWidget(self.status)
        self.saved_label = QLabel()
        self.saved_label.setWordWrap(True)
        self.saved_label.hide()
        layout.addWidget(self.saved_label)
        self.footer = QLabel(f"Space or touch: next scene · {CLIP_CHORD}: record a clip · "
                             f"{EXIT_CHORD} leaves booth mode")
        self.footer.setWordWrap(True)
        layout.addWidget(self.footer)
        self.recorder = ClipRecorder(self, frames=lambda: sum(view.frames_shown for view in self.views))
        self.recorder.changed.connect(self._clip_changed)
        self.saved_timer = QTimer(self, singleShot=True, interval=30_000, timeout=self.saved_label.hide)
        self._fitted_to: int | None = None
        self._fit()

    def _fit(self) -> None:
        """Type, margins and bars in proportion to the window's height (designed at 1000 px): the same
        scene reads on a 800×600 projector and a 1920×1080 screen, 4:3 or 16:9, never wider than it."""
        unit = max(0.55, min(1.25, min(self.height() / 1000, self.width() / 1280)))
        if self._fitted_to == round(unit * 100):
            return
        self._fitted_to = round(unit * 100)

        def px(size: float) -> int:
            return max(11, round(size * unit))

        self._layout.setContentsMargins(px(28), px(20), px(28), px(16))
        self.title.setStyleSheet(f"font-size: {px(44)}px; font-weight: 700;")
        self.dots.setStyleSheet(f"font-size: {px(26)}px; color: {DARK['muted']};")
        self.rec_label.setStyleSheet(f"font-size: {px(26)}px; font-weight: 700; color: {BAD};")
        self.rec_button.setStyleSheet(f"font-size: {px(18)}px; padding: {px(6)}px {px(14)}px; "
                                      f"border: 1px solid {DARK['border']}; border-radius: 6px; "
                                      f"background: {DARK['panel']};")
        self.caption.setStyleSheet(f"font-size: {px(24)}px; color: {DARK['muted']};")
        self.caption.setMinimumHeight(px(72))
        self.status.setStyleSheet(f"font-size: {px(22)}px; color: #1d1d1f; background: #f2c14e; "
                                  f"padding: {px(8)}px {px(14)}px; border-radius: 6px;")
        self.saved_label.setStyleSheet(f"font-size: {px(18)}px; color: #9fe0a0;")
        self.footer.setStyleSheet(f"font-size: {px(18)}px; color: {DARK['muted']};")
        for header, tier in zip(self.headers, ("edge", "device")):
            header.setStyleSheet(f"font-size: {px(28)}px; font-weight: 700; color: {tier_colour(tier)}; "
                                 f"border-bottom: {px(4)}px solid {tier_colour(tier)}; padding-bottom: 4px;")
        for stats in self.pane_stats:
            stats.setStyleSheet(f"font-size: {px(24)}px;")
        for view in self.views:
            view.setStyleSheet(f"background: #111; color: #ddd; font-size: {px(20)}px;")
            view.setMinimumSize(px(320), px(240))
        for panel in (self.race, self.shrink, self.accuracy):
            panel.set_unit(unit)

    def resizeEvent(self, event) -> None:  # noqa: N802
        self._fit()
        super().resizeEvent(event)

    def show_on(self, screen=None) -> None:
        """Exactly the screen it is on: the geometry first (no window manager needed, no normal-sized
        window flashing before the full screen), then full screen for a window manager to honour."""
        from PySide6.QtGui import QGuiApplication

        screen = screen or self.screen() or QGuiApplication.primaryScreen()
        self.setGeometry(screen.geometry())
        self._fit()
        self.showFullScreen()

    def _panes(self) -> QWidget:
        panes = QWidget()
        grid = QGridLayout(panes)
        grid.setContentsMargins(0, 8, 0, 0)
        self.views, self.headers, self.pane_stats = [], [], []
        for col, tier in enumerate(("edge", "device")):
            header = QLabel(say.TIER_LABELS[tier])
            header.setWordWrap(True)
            view = FrameView(WARMING_UP)
            view.setWordWrap(True)
            stats = QLabel("—")
            stats.setWordWrap(True)
            grid.addWidget(header, 0, col)
            grid.addWidget(view, 1, col)
            grid.addWidget(stats, 2, col)
            self.headers.append(header)
            self.views.append(view)
            self.pane_stats.append(stats)
        grid.setRowStretch(1, 1)
        return panes

    # -- scenes ---------------------------------------------------------------------------------
    @property
    def scene(self) -> Scene:
        return SCENES[self.scene_index % len(SCENES)]

    def _show_scene(self, index: int) -> None:
        self.scene_index, self.scene_started = index % len(SCENES), time.monotonic()
        scene = self.scene
        self.title.setText(scene.title)
        self.dots.setText(" ".join("●" if i == self.scene_index else "○" for i in range(len(SCENES))))
        self.stack.setCurrentIndex(PANELS.index(scene.panel))
        self._update_texts()
        if self.running_setup is None or self.running_setup[0] != scene.setup or (
                scene.setup == "digits" and self.running_setup[1] != (self.cloud is not None)):
            self._start_setup()

    def next_scene(self) -> None:
        self._show_scene(self.scene_index + 1)

    def _start_setup(self) -> None:
        """(Re)start the pipeline the current scene needs. One start at a time: asked again while
        one is under way (a visitor pressing Space while the models are built), the running start's
        pipeline is discarded when it arrives and the newest request starts then."""
        self._stop_pipeline()
        if self.starting:
            self.generation += 1
            self.start_wanted = True
            return
        setup = self.scene.setup
        with_cloud = setup == "digits" and self.cloud is not None
        names = list(SETUPS[setup]) + ([self.cloud.url] if with_cloud else [])
        threads = [say.EDGE_THREADS, say.DEVICE_THREADS] + ([1] if with_cloud else [])
        self.generation += 1
        generation = self.generation
        self.running_setup, self.starting = (setup, with_cloud), True
        self.workdir = workdir = new_workdir()
        token = self.cloud.token if with_cloud else None
        look_for_camera = not self.camera_given and self.camera is None and generation == 1

        def job(state: JobState):
            used, models, counts = setup, names, threads
            if look_for_camera:
                self.camera = _find_camera(state)  # once, at entry
                if self.camera:  # a camera draws a crowd: the loop starts on the face scene, on the camera
                    used, models, counts = "face", list(SETUPS["face"]), threads[:2]
            if any(sample_cache.cached(name) is None for name in models):
                state.set_progress(0.0, COLD)
            pipeline = start_pipeline(state, _open_source(used, self.camera), models, counts, workdir, token=token)
            self._made.append(pipeline)
            if self.closed or state.cancelled:
                self._close(pipeline)
                raise Cancelled()
            return pipeline, used

        self.runner.start(job, on_done=lambda p: self._started(p, generation),
                          on_error=lambda exc: self._start_failed(exc, generation), on_progress=self._preparing)

    def _preparing(self, fraction: float, message: str) -> None:
        """While a pipeline starts: the models are normally cached (a second); the first run after an
        update converts them, which takes a minute, so the panes say so rather than look dead."""
        if self.pipeline is None and message == COLD:
            for view in self.views:
                if view.pixmap() is None or view.pixmap().isNull():
                    view.setText("Preparing the models for this machine (once after an update, about a minute)…")

    def _started(self, started: tuple, generation: int) -> None:
        pipeline, used = started
        self.starting = False
        if self.closed or generation != self.generation:
            self._close(pipeline)
            self._start_pending()
            return
        self.pipeline = pipeline
        if used != self.scene.setup:  # a camera was found: home is the face scene
            self.home_scene = next(i for i, scene in enumerate(SCENES) if scene.setup == used)
            self.running_setup = (used, False)
            self._show_scene(self.home_scene)
        self.last_frame_at = self.scene_started = time.monotonic()  # the scene's time runs from its frames

    def _start_pending(self) -> None:
        if self.start_wanted and not self.closed:
            self.start_wanted = False
            self._start_setup()

    def _start_failed(self, exc: BaseException, generation: int) -> None:
        self.starting = False
        if self.closed or generation != self.generation or isinstance(exc, Cancelled):
            self._start_pending()
            return
        self._recover("start", f"{type(exc).__name__}: {exc}")

    def _first_frame(self) -> None:
        self.first_frame_s = time.monotonic() - self.entered
        log.info("booth: first frame %.2f s after entering", self.first_frame_s)
        self._start_background()

    def _start_background(self) -> None:
        """The cloud server and the facts, once: after the first frame (MindSpore's import would compete
        with it for the cores), or after a while when no frame comes."""
        if self.background_started or self.closed:
            return
        self.background_started = True
        self._start_cloud_tier()
        self._load_facts()

    # -- the cloud tier -------------------------------------------------------------------------
    def _start_cloud_tier(self) -> None:
        if self.closed or self.cloud is not None or self.cloud_tries >= self.timing.cloud_tries:
            return
        self.cloud_tries += 1
        self.cloud_status = "restarting" if self.cloud_ran else "starting"

        def job(state: JobState):
            handle = _start_cloud(state)
            if self.closed:
                handle.stop()
                raise Cancelled()
            return handle

        self.runner.start(job, on_done=self._cloud_ready, on_error=self._cloud_failed)

    def _cloud_ready(self, handle) -> None:
        if self.closed:
            handle.stop()
            return
        self.cloud, self.cloud_status, self.cloud_ran = handle, "running", True
        if self.problem == say.friendly("cloud"):
            self._healthy()
        if self.scene.setup == "digits":
            self._start_setup()  # the digits scenes take the cloud tier in at once

    def _cloud_failed(self, exc: BaseException) -> None:
        if self.closed or isinstance(exc, Cancelled):
            return
        log.warning("booth: the cloud server did not start: %s", exc)
        if self.cloud_ran and self.cloud_tries < self.timing.cloud_tries:
            QTimer.singleShot(int(self.timing.cloud_retry_s * 1000), self, self._start_cloud_tier)
            return
        # never started here (e.g. a build without MindSpore), or its restarts failed: the race runs
        # edge and device only, and says why in its caption rather than as an error
        self.cloud_status = "not available on this machine" if not self.cloud_ran else "stopped"
        if self.problem == say.friendly("cloud"):
            self._clear_problem()

    def _cloud_lost(self, detail: str) -> None:
        log.warning("booth: the cloud tier stopped: %s", detail)
        if self.cloud is not None:
            self.cloud.stop()
            self.cloud = None
        self.cloud_status = "restarting"
        self.cloud_tries = 1  # a server that ran once gets its retries again
        self._say(say.friendly("cloud"))
        if self.scene.setup == "digits":
            self._start_setup()  # edge and device go on without it
        QTimer.singleShot(int(self.timing.cloud_retry_s * 1000), self, self._start_cloud_tier)

    # -- the numbers the shrink and accuracy scenes show ----------------------------------------
    def _load_facts(self) -> None:
        def job(state: JobState) -> dict:
            paths = prepare_in_child(list(SETUPS["digits"]), Path(tempfile.gettempdir()), state)  # cached: no child
            edge, device = (Path(p) for p in paths)
            return load_facts(edge, device, state)

        def failed(exc: BaseException) -> None:
            log.warning("booth: could not measure the model facts: %s", exc)

        self.runner.start(job, on_done=self._facts_ready, on_error=failed)

    def _facts_ready(self, facts: dict) -> None:
        self.facts = facts
        self._update_texts()

    # -- the watchdog and the attract loop ------------------------------------------------------
    def tick(self) -> None:
        now = time.monotonic()
        if self.touched_at is not None and now - self.touched_at >= self.timing.idle_reset_s:
            self.touched_at = None  # nobody is there any more: the loop starts over
            self._show_scene(self.home_scene)
        elif self.touched_at is None and not self.starting and now - self.scene_started >= self.timing.scene_s:
            self.next_scene()
        if self.cloud is not None and self.cloud.process.poll() is not None:
            self._cloud_lost(f"the server process ended ({self.cloud.process.returncode})")
        if self.problem and self.healthy_since and now - self.healthy_since >= self.timing.clear_s:
            self._clear_problem()
        self._watch(now)
        self._update_texts()

    def _watch(self, now: float) -> None:
        pipeline = self.pipeline
        if pipeline is None or self.starting:
            return
        models = pipeline.stats().models
        for model, entry in zip(pipeline.models, models):
            if entry["error"] and model.name.startswith("http"):
                self._cloud_lost(entry["error"])
                return
        errors = [f"{m['name']}: {m['error']}" for m in models if m["error"]]
        if errors:
            self._recover("model", errors[0])
        elif not pipeline.running:
            failed = pipeline.stats().source.get("error")
            self._recover("camera" if self.camera and self.scene.setup == "face" else "stalled",
                          failed or "the live view stopped")
        elif now - self.last_frame_at > self.timing.stall_s:
            self._recover("stalled", f"no new frame for {now - self.last_frame_at:.0f} s")

    def _recover(self, kind: str, detail: str) -> None:
        """Restart the live view after a pause; the visitor sees one friendly line, the log the detail."""
        if self.closed:
            return
        log.warning("booth: %s — %s", kind, detail)
        self.restarts += 1
        self._say(say.friendly(kind))
        self._stop_pipeline()
        self.running_setup = None
        generation = self.generation

        def restart() -> None:
            if not self.closed and self.pipeline is None and generation == self.generation:
                self._start_setup()

        QTimer.singleShot(int(self.timing.retry_s * 1000), self, restart)

    def _say(self, text: str) -> None:
        self.problem, self.healthy_since = text, None
        self.status.setText(text)
        self.status.show()

    def _healthy(self) -> None:
        if self.problem and self.healthy_since is None:
            self.healthy_since = time.monotonic()

    def _clear_problem(self) -> None:
        self.problem = self.healthy_since = None
        self.status.hide()

    # -- drawing --------------------------------------------------------------------------------
    def refresh(self) -> None:
        pipeline = self.pipeline
        if pipeline is None:
            return
        for i, view in enumerate(self.views):
            pipeline.set_view(i, view.width(), view.height())  # overlays drawn in the pane's pixels
            latest = pipeline.latest(i) if i < len(pipeline.models) else None
            if latest is None or latest.seq == self._last_seq[i] or not self._own(i, latest.model):
                continue
            self._last_seq[i] = latest.seq
            self.last_frame_at = time.monotonic()
            if self.problem and self.problem != say.friendly("cloud"):
                self._healthy()
            if latest.image is not None:
                view.show_frame(latest.image)

    def _own(self, index: int, model: str) -> bool:
        """A frame of the model this scene's pane `index` stands for (never another scene's)."""
        setup = self.running_setup[0] if self.running_setup else None
        return setup == self.scene.setup and index < 2 and SETUPS[setup][index] == model

    def _update_texts(self) -> None:
        """Captions and bars from the numbers measured now."""
        scene, pipeline = self.scene, self.pipeline
        stats = pipeline.stats() if pipeline is not None and not self.starting else None
        models = stats.models if stats else []
        by_tier = dict(zip(("edge", "device", "cloud"), models))
        if scene.panel == "panes":
            agreement = next((a.get("agreement") for a in (stats.agreement if stats else [])
                              if a["models"][:2] == [m["name"] for m in models[:2]]), None)
            skipped = max((m["dropped"] for m in models[:2]), default=0)
            source = stats.source["name"] if stats else "synthetic"
            slower = say.int8_slower(*(m["ms"]["inference"]["p50"] for m in models[:2])) if len(models) > 1 else False
            self.caption.setText(say.panes_caption(source, agreement, skipped, slower))
            for label, entry in zip(self.pane_stats, models[:2]):
                p50 = entry["ms"]["inference"]["p50"]
                label.setText(f"{entry['fps']:.1f} FPS · {p50:.2f} ms per frame" if p50 is not None else "—")
        elif scene.panel == "race":
            slower = say.int8_slower(*(by_tier.get(t, {}).get("ms", {}).get("inference", {}).get("p50")
                                       for t in ("edge", "device")))
            cloud = "running" if "cloud" in by_tier else \
                "starting" if self.cloud_status == "running" else self.cloud_status  # up, not yet in the race
            self.caption.setText(say.race_caption(cloud, slower))
            self.race.set_rows(self._race_rows(by_tier))
        elif scene.panel == "shrink":
            self.caption.setText(say.shrink_caption(self._sizes()))
            self.shrink.set_rows(self._shrink_rows())
        else:
            self.caption.setText(say.accuracy_caption(self.facts))
            self.accuracy.set_rows(self._accuracy_rows())

    def _race_rows(self, by_tier: dict) -> list[Row]:
        times = {tier: entry["ms"]["inference"]["p50"] for tier, entry in by_tier.items()}
        measured = {tier: ms for tier, ms in times.items() if ms is not None}
        fastest = min(measured, key=measured.get) if measured else None
        rows = []
        for tier in ("cloud", "edge", "device"):
            ms = times.get(tier)
            if tier == "cloud" and tier not in by_tier:
                # "not here" only when it is not: a server that answers joins at the next start of the race
                text = {"starting": "starting…", "restarting": "restarting…",
                        "running": "joining…"}.get(self.cloud_status, "not here")
                rows.append(Row(tier, say.TIER_LABELS[tier], None, text))
                continue
            note = "fastest" if tier == fastest and len(measured) > 1 else ""
            if tier == "cloud":
                note = (note + " · " if note else "") + "incl. the HTTP round trip"
            rows.append(Row(tier, say.TIER_LABELS[tier], ms, f"{ms:.2f} ms" if ms is not None else "…", note))
        return rows

    def _sizes(self) -> dict | None:
        if self.facts:
            return self.facts["sizes"]
        return None

    def _shrink_rows(self) -> list[Row]:
        found = self._sizes()
        if not found:
            return []
        edge = found["edge"]
        return [Row("", "ONNX FP32 · from training", found["onnx"], say.kilobytes(found["onnx"])),
                Row("cloud", "CLOUD · MindSpore MindIR FP32", found["cloud"], say.kilobytes(found["cloud"])),
                Row("edge", "EDGE · Lite .ms FP32", edge, say.kilobytes(edge)),
                Row("device", "DEVICE · Lite .ms INT8", found["device"], say.kilobytes(found["device"]),
                    f"{edge / max(1, found['device']):.1f}× smaller than FP32")]

    def _accuracy_rows(self) -> list[Row]:
        if not self.facts:
            return []
        top1 = self.facts["top1"]
        labels = {"cloud": "CLOUD · MindSpore FP32", "edge": "EDGE · Lite FP32", "device": "DEVICE · Lite INT8"}
        return [Row(tier, labels[tier], top1[tier], say.pct(top1[tier]),
                    "at training" if tier == "cloud" else "held-out digits") for tier in ("cloud", "edge", "device")]

    # -- the clip -------------------------------------------------------------------------------
    def record_clip(self) -> None:
        if self.recorder.recording:
            return
        try:
            path = self.recorder.start(self.clip_dir or clip_folder(), self.clip_seconds)
        except (OSError, RuntimeError) as exc:
            log.warning("booth: cannot record: %s", exc)
            self._show_saved("The clip could not be started (no folder to write it to).")
            return
        log.info("booth: recording %s", path)
        self.rec_button.hide()  # the REC indicator takes its place
        self.saved_label.hide()
        self._clip_changed()

    def _clip_changed(self) -> None:
        recorder = self.recorder
        self.rec_label.setText(recorder.status_text())
        if recorder.recording:
            return
        self.rec_button.show()
        if recorder.saved is not None:
            shown = str(recorder.saved).replace(str(Path.home()), "~", 1)
            self._show_saved(f"Saved a {clock(recorder.seconds)} clip, ready to share: {shown}")
        elif recorder.error:
            log.warning("booth: clip failed: %s", recorder.error)
            self._show_saved("The clip could not be saved (see the log).")

    def _show_saved(self, text: str) -> None:
        self.saved_label.setText(text)
        self.saved_label.show()
        self.saved_timer.start()

    # -- visitors -------------------------------------------------------------------------------
    def _touched(self) -> None:
        self.touched_at = time.monotonic()

    def mousePressEvent(self, event) -> None:  # noqa: N802  a touch on the screen: the next scene
        self._touched()
        self.next_scene()
        super().mousePressEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        self._touched()
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Right):
            self.next_scene()
        elif event.key() == Qt.Key.Key_Left:
            self._show_scene(self.scene_index - 1)
        # Esc and everything else do not leave: only the chord does

    # -- leaving --------------------------------------------------------------------------------
    def _close(self, pipeline) -> None:
        if pipeline in self._made:
            self._made.remove(pipeline)
            pipeline.close()

    def _stop_pipeline(self) -> None:
        pipeline, workdir = self.pipeline, self.workdir
        self.pipeline = self.workdir = None
        self.running_setup = None
        if pipeline is not None:
            self._close(pipeline)
        close_pipeline(None, workdir)
        self._last_seq = [None, None]
        self._warm_up_views()

    def _warm_up_views(self) -> None:
        """The panes drop the last pipeline's picture (a digit left in the face scene) and say they are
        warming up until their own model's first frame."""
        for view, stats in zip(self.views, self.pane_stats):
            view.clear()
            view.setText(WARMING_UP)
            stats.setText("—")

    def leave(self) -> None:
        self.close()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.closed = True
        self.frame_timer.stop()
        self.tick_timer.stop()
        self.saved_timer.stop()
        self.recorder.shutdown()
        self._stop_pipeline()
        self.runner.stop_all(wait_ms=30_000)
        for pipeline in list(self._made):  # started by a job that was still running a moment ago
            self._close(pipeline)
        if self.cloud is not None:
            self.cloud.stop()
            self.cloud = None
        super().closeEvent(event)
        self.left.emit()

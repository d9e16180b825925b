"""Live page: camera picker (what OpenCV finds; synthetic/video/folder fallback), the live view with
overlay (labels, boxes, masks, landmarks; FPS, per-stage ms), and a side-by-side mode (e.g. FP32 | INT8
on the same frames) with the per-kind agreement of the two. Both panes offer the active model and the
FP32/FP16/INT8 variants of its package, and follow it when another model is made active or built.
"Model file…" imports a model through the one import dialog (it joins "Your models")."""
from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.description import DESCRIPTION_FILE, ModelDescription
from app.core.live.sources import Source
from app.gui.dialogs import show_job_error
from app.gui.live_view import (
    FrameView,
    close_pipeline,
    load_lite_runtime,
    new_workdir,
    start_pipeline,
)
from app.gui.model_import_dialog import import_described, import_model_file
from app.gui.settings import Settings
from app.gui.state import SAMPLE_MODEL, AppState, workspace
from app.gui.workers import JobRunner
from sample_models import SAMPLES

# frames kept per pane to show both panes the same one: 1 s at 30 fps (each 640×480 frame is ~0.9 MB)
RECENT_FRAMES = 30
MODELS = {sample.label: name for name, sample in SAMPLES.items()}
# the package's variants offered per pane (target name → precision shown); the .mindir twin of FP32 is not
VARIANTS = {"edge-fp32": "FP32", "device-fp16": "FP16", "device-int8": "INT8", "device-int8-weight": "INT8 weights"}
# Lite 2.0 cannot load an FP16-weight .ms again in a process that closed one (runtimes.run_batch)
FP16_AGAIN = "Lite 2.0 cannot load an FP16 model again in a process that closed one: restart the app to run it"
SCENES = {"synthetic": "Synthetic digits", "synthetic:face": "Synthetic face", "synthetic:objects": "Synthetic objects",
          "synthetic:person": "Synthetic person", "synthetic:hand": "Synthetic hand"}


def _find_cameras(state):
    from app.core.doctor import list_cameras

    return list_cameras()


def _figure(entry: dict, key: str = "rate") -> str:
    """The per-kind figure as the Live page shows it: 98.0 % (top-1, boxes, mask IoU), or keypoints' pixels."""
    text = f"{entry[key] * 100:.1f} %" if entry.get(key) is not None else "–"
    if "mean_px" in entry:
        text = f"{entry['mean_px']:.1f} px (PCK {text})"
    elif "metric" in entry and key == "rate":
        text = f"{entry['metric'].split(' (')[0]} {text}"
    return text


class LivePage(QWidget):
    def __init__(self, state: AppState, runner: JobRunner, settings: Settings) -> None:
        super().__init__()
        self.state, self.runner, self.settings = state, runner, settings
        load_lite_runtime()
        self.pipeline = None
        self._last_event = None  # the pipeline event the message line shows
        self.workdir: Path | None = None  # the running pipeline's converted models
        # Each start is a generation; a stop, or a newer start, makes loads still under way stale, and a
        # stale pipeline is closed when it arrives. Without this a change applied while a view was
        # loading left the first pipeline running unseen (its threads and memory, found by a 30-minute soak).
        self._generation = 0
        self._cameras_known = False
        self._autostart = False
        layout = QVBoxLayout(self)
        controls = QHBoxLayout()
        self.source = QComboBox()
        for spec, label in SCENES.items():
            self.source.addItem(label, spec)
        self.source.addItem("Video file…", "file")
        self.source.addItem("Image folder…", "folder")
        # as narrow as 14 characters on an 800-px screen, as wide as its text (up to 360 px) where there is room:
        # at a fixed 220 px a 1024-px window cut "Synthetic digits (no webcam found)"; the tooltip has it all
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(14)
        self.source.setMaximumWidth(360)
        self.source.setToolTip(self.source.currentText())
        self.source.currentTextChanged.connect(self.source.setToolTip)
        self.model_a = QComboBox()
        self.model_b = QComboBox()
        self.model_b.addItem("— single view —", None)
        for label, name in MODELS.items():
            self.model_a.addItem(label, name)
            self.model_b.addItem(label, name)
        self.model_b.setCurrentIndex(2)  # digits INT8: FP32 | INT8 side by side by default
        for combo in (self.model_a, self.model_b):  # a package's long names (added later) must not widen the page
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(11)  # both rows fit an 800×600 screen beside the steps
        # threads per model; 1 by default: on this 2-core machine a Lite model beside another one ran
        # fastest on one thread (face FP32: 30 FPS at 1 thread, 12 FPS at 2)
        self.threads = QSpinBox()
        self.threads.setRange(1, 64)
        self.threads.setValue(self.settings.get("live_threads", 1))
        self.threads.setToolTip("threads of the left model")
        self.threads_b = QSpinBox()
        self.threads_b.setRange(1, 64)
        self.threads_b.setValue(self.settings.get("live_threads_b", 1))
        self.threads_b.setToolTip("threads of the right model (the device tier: one core)")
        self.same_frame = QCheckBox("same frame")
        self.same_frame.setChecked(True)
        self.same_frame.setToolTip("Both panes show the newest frame both models have processed; off: each pane "
                                   "shows its model's newest frame (the slower model skips frames)")
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("liveStart")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.import_button = QPushButton("Model file…")
        self.import_button.setToolTip("Import a model file: say what kind it is (detector, mask, landmarks…)")
        self.import_button.clicked.connect(lambda: self.import_model())
        # two rows: what runs (left and right model, their threads), then how (source, buttons) — fits 1024 px
        for widget in (QLabel("Model"), self.model_a, QLabel("threads"), self.threads, QLabel("beside"),
                       self.model_b, QLabel("threads"), self.threads_b):
            controls.addWidget(widget)
        for combo in (self.model_a, self.model_b):  # a wider window shows the whole "<model name> · INT8": at 11
            controls.setStretchFactor(combo, 2)  # characters, "trained-20261207-… · FP32" and "· INT8" looked alike
            combo.setMaximumWidth(380)
        controls.addStretch(1)
        layout.addLayout(controls)
        actions = QHBoxLayout()
        for widget in (QLabel("Source"), self.source, self.same_frame, self.import_button, self.start_button,
                       self.stop_button):
            actions.addWidget(widget)
        actions.setStretchFactor(self.source, 3)  # the room goes to the source's name first
        actions.addStretch(1)
        layout.addLayout(actions)
        views = QHBoxLayout()
        self.views = [FrameView("Press Start"), FrameView("")]
        self.views[0].first_frame.connect(lambda: self.state.mark_done("Live"))
        for view in self.views:
            views.addWidget(view)
        layout.addLayout(views, 1)
        self.stats = QLabel("")
        self.stats.setObjectName("liveStats")
        self.stats.setStyleSheet("font-family: monospace;")
        self.stats.setWordWrap(True)  # a model's line wraps in a 1024-px window instead of widening the page
        self.message = QLabel("")
        layout.addWidget(self.stats)
        layout.addWidget(self.message)
        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self.refresh)
        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button.clicked.connect(self.stop)
        self._active_items: list[str] = []  # data of the active model's choices
        self._fp16_closed = False
        self._running: list[str] = []  # the models of the pipeline started last
        self.offer_active()  # before the last run's choices are restored: one may be the active model's
        self._restore_choices()
        self.model_a.currentIndexChanged.connect(self._match_scene)
        # a change applies at once: a running view restarts on the new choice (debounced)
        self._restart = QTimer(self, singleShot=True, interval=300, timeout=self._apply_change)
        for signal in (self.source.activated, self.model_a.activated, self.model_b.activated,
                       self.threads.valueChanged, self.threads_b.valueChanged):
            signal.connect(lambda *_: self._restart.start())
        self._paused = False
        self._recent: list[dict[int, object]] = [{}, {}]  # seq → image of the last frames of each pane
        state.model_changed.connect(lambda _: self.offer_active(follow=True))
        state.package_changed.connect(lambda _: self.offer_active(follow=self.state.package_built))
        self.runner.start(_find_cameras, on_done=self.add_cameras, on_error=lambda exc: self.add_cameras([]))

    def active_choices(self) -> list[tuple[str, str]]:
        """(label, model) of the active model: its own file (not the sample's: it is listed already) and its
        package's Lite variants, labelled "<model name> · INT8"."""
        name = self.state.model_name
        # the library folder (its description.json says how to run it), or an older folder's model file
        own = self.state.model_dir if (self.state.model_dir / DESCRIPTION_FILE).is_file() else self.state.model_path
        choices = [] if self.state.model_dir == SAMPLE_MODEL else [(f"{name} · source", str(own))]
        package = self.state.package_dir
        if package is not None:
            from converters.targets import TARGETS

            for target in TARGETS:
                path = package / target.tier / target.file
                if target.name in VARIANTS and path.is_file():
                    choices.append((f"{name} · {VARIANTS[target.name]}", str(path)))
        return choices

    def offer_active(self, follow: bool = False) -> None:
        """Both panes offer the active model's choices (the last model's are taken away); follow: show it
        now — its FP32 beside its INT8 when it has a package — and a running view switches at once."""
        choices = self.active_choices()
        stale = set(self._active_items) - {data for _, data in choices} - self._kept_models()
        for combo in (self.model_a, self.model_b):  # (only stale ones: removing the current item moves the choice)
            for data in stale:
                index = combo.findData(data)
                if index >= 0:
                    combo.removeItem(index)
        self._active_items = [data for _, data in choices]
        for offset, combo in ((0, self.model_a), (1, self.model_b)):  # first, under "— single view —"
            for i, (label, data) in enumerate(choices):
                index = combo.findData(data)
                if index >= 0:
                    combo.setItemText(index, label)
                else:
                    combo.insertItem(offset + i, label, data)
                if data.endswith("_fp16.ms") and self._fp16_closed:
                    self._disable(combo, combo.findData(data), FP16_AGAIN)
        if follow and choices:
            by_label = {label.rsplit(" · ", 1)[1]: data for label, data in choices}
            left = by_label.get("FP32") or choices[0][1]
            right = by_label.get("INT8")
            if self.settings.get("live_model_a") in self._active_items:  # the app restarted on this model
                left, right = self.settings.get("live_model_a"), self.settings.get("live_model_b")
            self.model_a.setCurrentIndex(self.model_a.findData(left))
            self.model_b.setCurrentIndex(self.model_b.findData(right) if right else self.model_b.findData(None))
            self._restart.start()  # a running view switches to it

    def _kept_models(self) -> set[str]:
        return {m.get("path") for m in self.settings.get("live_models", []) if isinstance(m, dict)}

    @staticmethod
    def _disable(combo: QComboBox, index: int, why: str) -> None:
        item = combo.model().item(index)
        if item is not None:
            item.setEnabled(False)
            item.setToolTip(why)

    def import_model(self, path: str | Path | None = None, description: ModelDescription | None = None) -> bool:
        """A model file as a choice of its own, once it is described: by the import dialog, or by
        `description` (without asking). Either way it is copied into the library ("Your models")."""
        if path is None:
            path = QFileDialog.getOpenFileName(self, "Model file", str(Path.home()), "Models (*.onnx *.tflite *.prototxt "
                                               "*.caffemodel *.pb *.mindir)")[0]
            if not path:
                return False
        imported = (import_model_file(self, path, workspace() / "models") if description is None
                    else import_described(self, path, workspace() / "models", description))
        if imported is None:
            return False
        folder, description = imported
        self.state.library.add(folder, description.label, kind="imported", summary=description.kind,
                               model_file=description.model_file)
        label = f"{description.label} · {description.kind}"
        self._add_model_choice(str(folder), label)
        # remembered: offered again after a restart (as long as the folder is there)
        kept = [m for m in self.settings.get("live_models", []) if m.get("path") != str(folder)]
        self.settings.set("live_models", kept + [{"path": str(folder), "label": label}])
        self.model_a.setCurrentIndex(self.model_a.findData(str(folder)))
        self._restart.start()  # applies at once: a running view switches to it
        return True

    def _add_model_choice(self, path: str, label: str) -> None:
        for combo in (self.model_a, self.model_b):
            index = combo.findData(path)
            if index < 0:
                combo.addItem(label, path)
            else:
                combo.setItemText(index, label)

    def _match_scene(self) -> None:
        """A sample made for a synthetic scene shows it, when a synthetic scene is the source."""
        sample = SAMPLES.get(self.model_a.currentData() or "")
        if sample is None or not sample.scene or not str(self.source.currentData()).startswith("synthetic"):
            return
        spec = "synthetic" if sample.scene == "digits" else f"synthetic:{sample.scene}"
        index = self.source.findData(spec)
        if index >= 0:
            self.source.setCurrentIndex(index)

    def add_cameras(self, cameras: list) -> None:
        for cam in reversed(cameras):
            self.source.insertItem(0, f"Camera {cam['device']} ({cam['width']}×{cam['height']})", str(cam["index"]))
        if cameras and self.settings.get("camera") in (None, "synthetic"):
            self.source.setCurrentIndex(0)  # a webcam when there is one, the synthetic source otherwise
            if self.settings.get("live_model_a") is None:  # on a camera, a model that means something there
                for combo, name in ((self.model_a, "face"), (self.model_b, "face-int8")):
                    combo.setCurrentIndex(max(0, combo.findData(name)))
        self.state.cameras = cameras
        if not cameras:
            self.source.setItemText(self.source.findData("synthetic"), "Synthetic digits (no webcam found)")
            self.no_camera = "No webcam found — synthetic source"
        self._cameras_known = True
        if self._autostart:
            self.start()

    def autostart(self) -> None:
        """Start on the defaults once the camera scan is done (the app opens on a live view)."""
        self.views[0].setText("Starting…")  # not "Press Start" while it starts by itself
        if self._cameras_known:
            self.start()
        else:
            self._autostart = True

    def _add_path_source(self, path: str) -> None:
        """A chosen video file or image folder as a choice of its own, selected."""
        index = self.source.findData(path)
        if index < 0:
            kind = "Folder" if Path(path).is_dir() else "Video"
            self.source.addItem(f"{kind}: {Path(path).name}", path)
            index = self.source.count() - 1
        added = self.settings.get("live_sources", [])
        if path not in added:  # offered again after a restart
            self.settings.set("live_sources", added + [path])
        self.source.setCurrentIndex(index)

    def _restore_choices(self) -> None:
        """The choices of the last run: the video files, image folders and model files added then (those
        still there), and what was chosen."""
        for path in [p for p in self.settings.get("live_sources", []) if Path(p).exists()]:
            if self.source.findData(path) < 0:
                self.source.addItem(f"{'Folder' if Path(path).is_dir() else 'Video'}: {Path(path).name}", path)
        for model in self.settings.get("live_models", []):
            if isinstance(model, dict) and Path(str(model.get("path", ""))).exists():  # a library folder
                self._add_model_choice(str(model["path"]), str(model.get("label") or Path(model["path"]).name))
        remembered = self.settings.get("camera")
        if remembered and remembered not in ("file", "folder") and os.sep in str(remembered):
            if Path(remembered).exists():
                self._add_path_source(remembered)  # the file itself reopens; no dialog at start-up
            else:
                self.settings.set("camera", "synthetic")  # gone: fall back quietly
        elif remembered in ("file", "folder"):
            self.settings.set("camera", "synthetic")  # an old setting that would open a dialog at every start
        for combo, key in ((self.source, "camera"), (self.model_a, "live_model_a"), (self.model_b, "live_model_b")):
            index = combo.findData(self.settings.get(key, combo.currentData()))
            if index >= 0:
                combo.setCurrentIndex(index)

    # -- control -------------------------------------------------------------------------------
    def start(self, source: str | Source | None = None) -> None:
        """Start on the chosen source, or on `source`: a spec open_source() takes, or a Source object."""
        self._autostart = False
        source = source or self.source.currentData()
        if source in ("file", "folder"):
            chosen = (QFileDialog.getOpenFileName(self, "Video file", str(Path.home()))[0] if source == "file"
                      else QFileDialog.getExistingDirectory(self, "Image folder", str(Path.home())))
            if not chosen:
                return
            source = chosen
            self._add_path_source(chosen)  # remembered as the file itself: no dialog at the next start
        self.stop()
        names = [self.model_a.currentData()] + ([self.model_b.currentData()] if self.model_b.currentData() else [])
        self._running = names
        # a file's pane and stats line carry the choice's label ("my-detector · INT8"), not "model_int8.ms"
        titles = [combo.currentText() if os.sep in str(combo.currentData()) else None
                  for combo in (self.model_a, self.model_b)][:len(names)]
        threads = [self.threads.value(), self.threads_b.value()][:len(names)]
        self.settings.set("camera", self.source.currentData())
        self.settings.set("live_model_a", names[0])
        self.settings.set("live_model_b", self.model_b.currentData())
        self.settings.set("live_threads", self.threads.value())
        self.settings.set("live_threads_b", self.threads_b.value())
        self.views[1].setVisible(len(names) > 1)
        self.start_button.setEnabled(False)
        self.message.setText("Loading models (Lite conversions run in child processes)…")
        generation, workdir = self._generation, new_workdir()
        self.runner.start(start_pipeline, source_spec=source, model_names=names, threads=threads, workdir=workdir,
                          titles=titles,
                          on_done=partial(self.started, generation=generation, workdir=workdir),
                          on_error=partial(self.failed, generation=generation, workdir=workdir),
                          on_progress=partial(self._loading, generation=generation))

    def _loading(self, fraction: float, message: str, generation: int) -> None:
        if generation == self._generation:
            self.message.setText(message)

    def started(self, pipeline, generation: int, workdir: Path) -> None:
        if generation != self._generation:  # stopped, paused or restarted meanwhile
            close_pipeline(pipeline, workdir)
            return
        self.pipeline, self.workdir, self._last_event = pipeline, workdir, None
        for view in self.views:
            view._seq = None  # a new pipeline counts frames from 0 again
        self.stop_button.setEnabled(True)
        self._recent = [{}, {}]
        prefix = f"{self.no_camera} · " if getattr(self, "no_camera", "") and "synthetic" in pipeline.source.name else ""
        self.message.setText(f"{prefix}Running on {pipeline.source.name}")
        self.show_events()  # e.g. the camera could not be opened and the synthetic source stands in
        self.timer.start()

    def failed(self, exc: Exception, generation: int, workdir: Path) -> None:
        close_pipeline(None, workdir)
        if generation != self._generation:
            return  # a load nobody waits for any more: no dialog
        self.start_button.setEnabled(True)
        self.message.setText(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        show_job_error(self, "Live view could not start", exc)

    def show_events(self) -> None:
        """The newest pipeline event (stalled, reopened, fallback, black, failed, …) on the message line."""
        events = list(self.pipeline.events)
        if events and events[-1] is not self._last_event:
            self._last_event = events[-1]
            self.message.setText(events[-1].message)

    def refresh(self) -> None:
        if self.pipeline is None:
            return
        self.show_events()
        count = len(self.pipeline.models)
        for i in range(min(count, 2)):
            self.pipeline.set_view(i, self.views[i].width(), self.views[i].height())  # overlays in pane pixels
            latest = self.pipeline.latest(i)
            if latest is not None and latest.image is not None and latest.seq not in self._recent[i]:
                self._recent[i][latest.seq] = latest.image
                while len(self._recent[i]) > RECENT_FRAMES:
                    self._recent[i].pop(next(iter(self._recent[i])))
        shown = self._frames_to_show(count)
        for view, entry in zip(self.views, shown):
            if entry is None:
                continue  # this model has not finished a frame yet
            seq, image = entry
            if getattr(view, "_seq", None) != seq:
                view._seq = seq
                view.show_frame(image)
        if self.views[0].frames_shown % 15 == 1:
            self.stats.setText(self._stats_text())

    def _frames_to_show(self, count: int) -> list[tuple[int, object] | None]:
        """(seq, image) per pane: side by side, the newest frame both models processed (the slower one
        skips frames it cannot keep up with), so the two overlays are of the same picture."""
        newest = [(max(recent), recent[max(recent)]) if recent else None for recent in self._recent[:count]]
        if count == 2 and self.same_frame.isChecked():
            common = set(self._recent[0]) & set(self._recent[1])
            if common:
                seq = max(common)
                self.views[1].setToolTip("")
                return [(seq, self._recent[0][seq]), (seq, self._recent[1][seq])]
            self.views[1].setToolTip("no frame processed by both models yet: each pane shows its newest")
        return newest

    def _apply_change(self) -> None:
        if self.pipeline is not None or not self.start_button.isEnabled():
            self.start()

    # The view runs only while it is seen: another page, or booth mode, pauses it (and frees the cores).
    def pause(self) -> None:
        starting = self.pipeline is None and not self.start_button.isEnabled()  # a start still loading
        if self.pipeline is not None or starting:
            self._paused = True
            self.stop()
            self.message.setText("Paused while the view is not shown")

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            self.start()

    def hideEvent(self, event) -> None:
        self.pause()
        super().hideEvent(event)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.resume()

    def _stats_text(self) -> str:
        stats = self.pipeline.stats()
        lines = []
        for entry in stats.models:
            ms = entry["ms"]
            truth = f"  vs truth: {_figure(entry['vs_truth'])}" if "vs_truth" in entry else ""
            lines.append(f"{entry['name'][:28]:<16} {entry['runtime']:<12} {entry['fps'] or 0:6.1f} FPS  "
                         f"inference p50 {ms['inference']['p50'] or 0:6.2f} ms  latency p99 {ms['latency']['p99'] or 0:6.2f} ms"
                         f"  dropped {entry['dropped']}{truth}" + (f"  ERROR {entry['error']}" if entry["error"] else ""))
        for pair in stats.agreement:
            lines.append(f"{' vs '.join(pair['models'])}: {pair['metric']} {_figure(pair, 'agreement')} "
                         f"on {pair['shared_frames']} shared frame{'' if pair['shared_frames'] == 1 else 's'}")
        return "\n".join(lines)

    def stop(self) -> None:
        self._generation += 1  # a load still under way is closed when it arrives
        self.timer.stop()
        if self.pipeline is not None and any(str(n).endswith("_fp16.ms") for n in self._running):
            self._fp16_closed = True  # from now on an FP16 .ms cannot be loaded in this process: say so
            for combo in (self.model_a, self.model_b):
                for i in range(combo.count()):
                    if str(combo.itemData(i)).endswith("_fp16.ms"):
                        self._disable(combo, i, FP16_AGAIN)
        close_pipeline(self.pipeline, self.workdir)
        self.pipeline = self.workdir = None
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def shutdown(self) -> None:
        self.stop()

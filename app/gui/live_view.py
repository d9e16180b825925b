"""Shared by the Live page and booth mode: start a live pipeline off the GUI thread, show frames."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import numpy.ma  # noqa: F401  np.percentile imports it lazily: ~0.3 s under PySide's import hook, not mid-frame
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy

# Imported here, on the GUI thread at start-up: an import inside a worker holds the import lock
# (and PySide's import hook) while the GUI thread may need it.
from app.core.files import scratch_dir
from app.core.live.pipeline import LiveModel, LivePipeline
from app.core.live.samples import prepare_in_child, resolve_model
from app.core.live.sources import Source, open_source
from converters.lite import LiteModel  # noqa: F401  (opened by resolve_model in the worker)
from jobs.process import lower_priority
from jobs.state import JobState


def load_lite_runtime() -> None:
    """dlopen of Lite's ~300 MB of libraries holds the GIL (~0.4 s): done once while a page is built,
    never from a worker while the GUI is live. A broken bridge is reported by the doctor instead."""
    from converters.lite import LiteError, native

    try:
        native.runtime()
    except LiteError:
        pass


def start_pipeline(state: JobState, source_spec: str | Source, model_names: list[str], threads: list[int],
                   workdir: Path, token: str | None = None, titles: list[str | None] | None = None):
    """In a worker thread: convert/open the models (Lite conversions run in child processes), open the
    source (a missing camera falls back to the synthetic source), start the pipeline.

    source_spec: what open_source() takes, or a Source as it is; titles: what each model is called on
    screen (the page's choice, e.g. "my-detector · INT8"), None: its file's or sample's name. The pipeline's events (stalled,
    reopened, fallback, black, …) are not sent through `state`: this job's signals are gone once it
    returns, and the pipeline lives on. A page polls `pipeline.events` instead."""
    lower_priority(thread_only=True)  # Lite's pool and the pipeline threads, created here, inherit it
    state.set_progress(0.1, "converting the models with Lite (child process)…")
    paths = prepare_in_child(model_names, workdir, state)
    models = []
    try:
        for i, (name, path, n_threads) in enumerate(zip(model_names, paths, threads)):
            state.set_progress((i + 1) / (len(model_names) + 1), f"loading {name}")
            spec, runtime = resolve_model(path, workdir, threads=n_threads, token=token)
            shown = Path(name).name if "://" not in name and ("/" in name or "\\" in name) else name  # a file: its name
            shown = (titles or [])[i] if i < len(titles or []) and titles[i] else shown  # "<model> · INT8"
            models.append(LiveModel(spec, runtime, name=shown))
        source = source_spec if isinstance(source_spec, Source) else open_source(source_spec, fallback=True)
        pipeline = LivePipeline(source, models)
        pipeline.start()
    except BaseException:
        for model in models:
            model.close()
        raise
    return pipeline


def close_pipeline(pipeline, workdir: Path | None) -> None:
    """Stop the threads, close the runtimes, remove the converted models."""
    if pipeline is not None:
        pipeline.close()
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


def new_workdir() -> Path:
    return scratch_dir("live")


def to_pixmap(image: np.ndarray) -> QPixmap:
    """BGR uint8 (OpenCV) → QPixmap (copies: the frame buffer is reused by the pipeline)."""
    rgb = np.ascontiguousarray(image[:, :, ::-1])
    h, w = rgb.shape[:2]
    return QPixmap.fromImage(QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy())


class FrameView(QLabel):
    """A frame scaled to fit, aspect kept."""

    first_frame = Signal()  # once, when the first frame is shown (start-up work waits for it)

    def __init__(self, placeholder: str = "") -> None:
        super().__init__(placeholder)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(240, 180)  # two side by side fit beside the steps on an 800×600 screen
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet("background: #111; color: #ddd; font-size: 16px;")
        self.frames_shown = 0

    def show_frame(self, image: np.ndarray) -> None:
        pixmap = to_pixmap(image)
        self.setPixmap(pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.FastTransformation))
        self.frames_shown += 1
        if self.frames_shown == 1:
            self.first_frame.emit()

"""Issue 12: the GUI died with "Fatal Python error: none_dealloc" after ~7 minutes on the Live page.

Root cause: PySide6-Essentials 6.12.0 returns None (every void wrapper: QLabel.setPixmap, …) and True
(Signal.emit) without taking a reference; see app/gui/binding_check.py. Each call on the per-frame path
and on the job relay runs thousands of times here under a guard on the references to None/True/False
(tests/refcounts.py), so that release — or any C extension on these paths with the same defect —
fails here in seconds rather than in a 7-minute session.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QTimer, Signal, Slot
from refcounts import NoneSlope, SingletonGuard, check_calls

from app.core.live.pipeline import FrameResult, LiveModel, LivePipeline
from app.core.live.postprocess import model_spec, overlay
from app.core.live.sources import SyntheticSource
from app.core.runtimes import LiteRuntime

CALLS = 5000


@pytest.fixture(scope="module")
def model(digits_ms: Path):
    live = LiveModel(model_spec(digits_ms), LiteRuntime(digits_ms, 1), name="digits")
    yield live
    live.close()


@pytest.fixture(scope="module")
def source():
    synthetic = SyntheticSource(fps=0)  # unpaced: thousands of frames in seconds
    synthetic.open()
    yield synthetic
    synthetic.close()


@pytest.fixture(scope="module")
def frame_result(model, source) -> FrameResult:
    frame = source.read()
    x, geometry = model.spec.prepare(frame.image)
    result = model.decode(model.runtime.predict(x), geometry)
    image = overlay(frame.image.copy(), result, 30.0, {"inference": 0.1}, "digits (lite)")
    return FrameResult("digits", frame.index, frame, result, image, {"latency": 1.0})


# -- the per-frame path, one stage at a time -----------------------------------------------------
def test_capture_from_the_synthetic_source(source):
    check_calls("SyntheticSource.read", source.read, CALLS)


def test_preprocess(model, source):
    image = source.read().image
    check_calls("ModelSpec.prepare (preprocess)", lambda: model.spec.prepare(image), CALLS)


# Lite's predict is the slow stage (1.7 ms a call at load 3.7; at load 10 it was 53 ms inside the full suite, 4 ms
# alone: Lite had reused a thread pool an earlier test made at nice 10, docs/lite-2.0-notes.md): fewer calls, the
# same bound as 5,000 calls of the cheap stages. A binding that drops one reference a call still loses twice the bound.
LITE_CALLS = 1000


def test_lite_predict(model, source):
    x, _ = model.spec.prepare(source.read().image)
    check_calls("LiteModel.predict (ctypes shim)", lambda: model.runtime.predict(x), LITE_CALLS,
                bound=LITE_CALLS // 2)


def test_postprocess(model, source):
    x, geometry = model.spec.prepare(source.read().image)
    outputs = model.runtime.predict(x)
    check_calls("classification decode", lambda: model.decode(outputs, geometry), CALLS)


def test_overlay_drawing(frame_result):
    image = frame_result.frame.image
    check_calls("overlay (OpenCV drawing)",
                lambda: overlay(image.copy(), frame_result.result, 30.0, {"inference": 0.1}, "digits (lite)"), CALLS)


@pytest.mark.long  # the refcount checks (45 s together): make test-long
def test_pipeline_worker_threads(digits_ms):
    """The whole worker step (take_newer → preprocess → predict → decode → overlay → on_result) in the
    pipeline's own threads, as the Live page runs it."""
    seen = []
    live = LiveModel(model_spec(digits_ms), LiteRuntime(digits_ms, 1), name="digits")
    with LivePipeline(SyntheticSource(fps=0), [live], on_result=lambda r: seen.append(r.seq)) as pipeline:
        pipeline.run(frames=50)
        with SingletonGuard("LivePipeline worker threads", CALLS) as guard:
            stats = pipeline.run(frames=CALLS, timeout=600)
    guard.check()
    assert stats.models[0]["processed"] == CALLS and stats.models[0]["error"] is None


# -- where the frames meet Qt --------------------------------------------------------------------
@pytest.mark.long
def test_qt_image_hand_off(qtbot, frame_result):
    """numpy BGR → QImage → QPixmap → scaled → QLabel.setPixmap: what FrameView does per frame.
    PySide6 6.12.0 loses one None here per call (QLabel.setPixmap returns it unowned)."""
    from app.gui.live_view import FrameView, to_pixmap

    view = FrameView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    check_calls("to_pixmap", lambda: to_pixmap(frame_result.image), CALLS)
    check_calls("FrameView.show_frame", lambda: view.show_frame(frame_result.image), CALLS)
    assert view.frames_shown == CALLS + 50 and not view.pixmap().isNull()


class _FrameCarrier(QObject):
    frame = Signal(object)


class _FrameSink(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.received = 0

    @Slot(object)
    def take(self, item) -> None:
        self.received += 1


@pytest.mark.parametrize("payload", ["frame", "none"])
def test_signal_carrying_frames_across_threads(qtbot, frame_result, payload):
    """A worker thread emits a Signal(object) (a FrameResult, or None) to a slot in the GUI thread:
    queued delivery, as the job relay and any frame signal use. 6.12.0 loses a True per emit."""
    carrier, sink = _FrameCarrier(), _FrameSink()  # both live in the GUI thread: the emit is queued
    carrier.frame.connect(sink.take)
    item = frame_result if payload == "frame" else None

    def emit_all() -> None:
        for _ in range(CALLS):
            carrier.frame.emit(item)

    with SingletonGuard(f"Signal(object).emit({payload}) from a worker thread", CALLS) as guard:
        worker = threading.Thread(target=emit_all)
        worker.start()
        qtbot.waitUntil(lambda: sink.received == CALLS, timeout=60_000)
        worker.join()
    guard.check()


def test_live_page_refresh(qtbot, tmp_path):
    """The Live page's per-frame path on the GUI thread (pipeline.latest → show_frame → stats text),
    on an unpaced synthetic source so that thousands of frames are shown in seconds."""
    from app.gui.pages.live_page import LivePage
    from app.gui.settings import Settings
    from app.gui.state import AppState
    from app.gui.workers import JobRunner

    runner = JobRunner()
    page = LivePage(AppState(), runner, Settings(tmp_path / "settings.json"))
    qtbot.addWidget(page)
    page.model_b.setCurrentIndex(0)  # single view: one model keeps up with the refresh loop
    try:
        page.start(SyntheticSource(fps=0))
        qtbot.waitUntil(lambda: page.pipeline is not None or page.start_button.isEnabled(), timeout=300_000)
        assert page.pipeline is not None, page.message.text()
        page.timer.stop()  # refresh is driven below, as fast as frames come
        shown = page.views[0].frames_shown

        # 600 frames under the bound of 1,500 (150): a refresh that drops one reference a frame loses 4× that
        # (1,500 frames took 175 s at load 10)
        with SingletonGuard("LivePage.refresh (latest frame → view)", 600, bound=150) as guard:
            while page.views[0].frames_shown < shown + 600:
                page.refresh()
                time.sleep(0.001)  # lets the pipeline's threads have the GIL: a busy loop starves them
        guard.check()
    finally:
        page.stop()
        runner.stop_all()


# -- the job relay -------------------------------------------------------------------------------
def _chatty_job(state, steps: int, fail: bool):
    for i in range(steps):
        state.set_progress(i / steps, "step")
        state.emit({"step": i, "loss": None})
    if fail:
        raise ValueError("planned failure")
    # falls off the end: on_done gets None, carried across threads by the relay


def test_job_relay_callbacks(qtbot):
    """JobRunner: progress, events, a None result and an exception, relayed to the GUI thread.
    One guard per job: True has only a few thousand references, and a binding that drops one per
    emit would end the run with a fatal error before a single guard over all jobs could report."""
    from app.gui.workers import JobRunner

    runner = JobRunner()
    done, errors, progress, events = [], [], [], []
    jobs, steps = 10, 500
    lost = {"None": 0, "True": 0, "False": 0}
    for j in range(jobs):
        with SingletonGuard(f"job relay, job {j}", steps * 2) as guard:
            runner.start(_chatty_job, steps=steps, fail=j % 2 == 1, on_done=done.append, on_error=errors.append,
                         on_progress=lambda f, m: progress.append(f), on_event=events.append)
            qtbot.waitUntil(lambda: not runner.busy(), timeout=60_000)
        lost = {name: lost[name] + guard.lost[name] for name in lost}
    total = SingletonGuard("job relay (progress, event, done, error)", jobs * steps * 2)
    total.lost = lost
    total.check()
    assert done == [None] * 5 and len(errors) == 5 and all(isinstance(e, ValueError) for e in errors)
    assert len(progress) == len(events) == jobs * steps


# -- the whole GUI, as the issue measured it -------------------------------------------------------
@pytest.mark.long
def test_live_page_default_view_keeps_none_alive(qtbot, tmp_path):
    """The Live page on its defaults (two models side by side, synthetic source at 30 fps) for 20 s:
    None's refcount must not fall (before the fix: about −56 per second, one per shown frame)."""
    from app.gui.pages.live_page import LivePage
    from app.gui.settings import Settings
    from app.gui.state import AppState
    from app.gui.workers import JobRunner

    runner = JobRunner()
    page = LivePage(AppState(), runner, Settings(tmp_path / "settings.json"))
    qtbot.addWidget(page)
    page.resize(1100, 600)
    page.show()
    slope = NoneSlope()
    sampler = QTimer()
    sampler.timeout.connect(slope.sample)
    try:
        page.start("synthetic")
        qtbot.waitUntil(lambda: page.views[1].frames_shown >= 10 or page.start_button.isEnabled(),
                        timeout=300_000)  # two Lite conversions in a child first: slow on busy cores
        assert page.pipeline is not None, page.message.text()
        shown = page.views[0].frames_shown + page.views[1].frames_shown
        slope.sample()
        sampler.start(1000)
        qtbot.wait(20_000)
        sampler.stop()
        slope.sample()
        shown = page.views[0].frames_shown + page.views[1].frames_shown - shown
    finally:
        page.stop()
        runner.stop_all()
    per_second = slope.per_second()
    lost = slope.restore_lost()
    print(f"\nLive page, 2 models: {shown} frames shown in 20 s, None refcount slope {per_second:+.2f}/s "
          f"(lost {lost})")
    assert shown > 200  # the view was really live
    assert per_second > -1.0 and lost < 50, f"None's refcount falls by {-per_second:.1f}/s on the Live page"


def test_installed_pyside_keeps_its_references():
    """The start-up check the GUI runs (a broken binding is refused with one line, not a crash)."""
    from app.gui.binding_check import problem

    assert problem() is None

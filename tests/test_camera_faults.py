"""Camera faults through the real live pipeline (a real Lite model, sample_models/digits) and the
Live page (offscreen): no camera, a camera without frames, black frames, a camera that stops
mid-stream (reopened) or is unplugged for good (the synthetic source takes over).

Real parts: OpenCV's capture and CameraSource everywhere. This machine has no camera, so a missing
device is a real one (index 99 through cv2.VideoCapture), and a present one is a video file opened
by the same CameraSource code (FileCamera below): a file that ends is a camera that stops
delivering, a deleted file is an unplugged camera, a file of black frames is a covered lens.
No timing assertions; timeouts are generous.
"""
from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from faulty_sources import FlakySource

from app.core.live.pipeline import LiveModel, LivePipeline
from app.core.live.postprocess import model_spec
from app.core.live.sources import (
    CameraSource,
    FallbackSource,
    ReopeningSource,
    SourceError,
    SyntheticSource,
    open_source,
)
from app.core.runtimes import LiteRuntime
from jobs.process import child_env, entry_command

ROOT = Path(__file__).resolve().parents[1]


class FileCamera(CameraSource):
    """CameraSource, unchanged, with a video file as its device (see the module docstring). Read on
    demand (fps 0) so every frame of the file reaches the model and the counts below are exact."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.name = f"camera {path.name}"

    def _capture(self):
        return cv2.VideoCapture(str(self.device))

    def open(self) -> None:
        super().open()
        self.fps = 0.0


def write_video(path: Path, frames: list[np.ndarray]) -> Path:
    h, w = frames[0].shape[:2] if frames else (240, 320)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (w, h))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def digit_frames(n: int, start: int = 0) -> list[np.ndarray]:
    synthetic = SyntheticSource(width=320, height=240, fps=0)
    return [synthetic.render(start + i)[0] for i in range(n)]


def black_frames(n: int) -> list[np.ndarray]:
    return [np.zeros((240, 320, 3), np.uint8) for _ in range(n)]


def digits_model(path: Path) -> LiveModel:
    return LiveModel(model_spec(path), LiteRuntime(path, 1))


def kinds(events) -> list[str]:
    return [e["kind"] if isinstance(e, dict) else e.kind for e in events]


def assert_message(text: str, *needles: str) -> None:
    for needle in needles:
        assert needle in text, text
    assert "Traceback" not in text and 'File "' not in text, text


# -- no camera -----------------------------------------------------------------------------------
def test_missing_camera_is_a_message(digits_ms):
    with pytest.raises(SourceError) as info:  # cv2.VideoCapture(99, CAP_V4L2) really fails here
        LivePipeline(open_source("99"), [digits_model(digits_ms)]).start()
    assert_message(str(info.value), "camera 99 could not be opened", "edge-studio doctor")
    # the command line says the same in one line, exit code 1, no traceback
    done = subprocess.run(entry_command() + ["live", "--source", "99", "--model", str(digits_ms), "--frames", "5"],
                          capture_output=True, text=True, timeout=300, env=child_env(), cwd=ROOT,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 1, done.stderr
    assert_message(done.stderr, "camera 99 could not be opened")


def test_missing_camera_falls_back_to_synthetic(digits_ms):
    source = open_source("99", fps=0, fallback=True)
    with LivePipeline(source, [digits_model(digits_ms)]) as pipeline:
        stats = pipeline.run(frames=30, timeout=120).to_json()
        events = list(pipeline.events)
    assert kinds(events) == ["fallback"]
    assert_message(events[0].message, "camera 99 could not be opened", "showing synthetic instead")
    model = stats["models"][0]
    assert model["processed"] == 30 and model["error"] is None
    assert model["vs_truth"]["frames"] == 30 and model["vs_truth"]["rate"] > 0.5  # real digits, recognised
    assert stats["source"]["name"] == "synthetic" and kinds(stats["source"]["events"]) == ["fallback"]


def test_camera_that_opens_but_delivers_no_frames(digits_ms, tmp_path):
    empty = write_video(tmp_path / "empty.avi", [])  # OpenCV opens it; every read fails
    with pytest.raises(SourceError) as info:
        LivePipeline(ReopeningSource(FileCamera(empty)), [digits_model(digits_ms)]).start()
    assert_message(str(info.value), "camera empty.avi opened but delivers no frames")

    source = FallbackSource(ReopeningSource(FileCamera(empty)), SyntheticSource(fps=0), on_open=True)
    with LivePipeline(source, [digits_model(digits_ms)]) as pipeline:
        stats = pipeline.run(frames=20, timeout=120).to_json()
    assert stats["models"][0]["processed"] == 20 and stats["source"]["name"] == "synthetic"
    (event,) = stats["source"]["events"]
    assert event["kind"] == "fallback"
    assert_message(event["message"], "delivers no frames", "showing synthetic instead")


# -- black frames ----------------------------------------------------------------------------------
def test_black_frames_are_reported_and_the_stream_goes_on(digits_ms, tmp_path):
    # a covered lens for 80 frames, then the lens uncovered for 40: the file loops by being reopened
    clip = write_video(tmp_path / "covered.avi", black_frames(80) + digit_frames(40))
    source = ReopeningSource(FileCamera(clip), black_frames=60)
    seen = {"after_black_event": 0}
    events: list = []
    ended = threading.Event()

    def on_result(result) -> None:  # the model keeps getting frames while the camera is black
        if not result.frame.image.any():
            seen["after_black_event"] += "black" in kinds(events)

    def on_event(event) -> None:
        events.append(event)
        if event.kind == "black_ended":
            ended.set()

    with LivePipeline(source, [digits_model(digits_ms)], draw=False, on_result=on_result,
                      on_event=on_event) as pipeline:
        pipeline.start()
        assert ended.wait(120), kinds(events)
        stats = pipeline.stats().to_json()
    assert kinds(events)[:2] == ["black", "black_ended"]
    assert_message(events[0].message, "camera covered.avi delivers only black frames (60 in a row)",
                   "lens covered")
    assert_message(events[1].message, "camera covered.avi delivers images again")
    assert seen["after_black_event"] > 0  # the stream did not stop when the black event came
    assert stats["source"]["error"] is None and stats["models"][0]["error"] is None


def test_a_dark_scene_is_not_black():
    dark = ReopeningSource(Still(np.full((480, 640, 3), 12, np.uint8)), black_frames=5)  # a dim room
    black = ReopeningSource(Still(np.zeros((480, 640, 3), np.uint8)), black_frames=5)
    for source in (dark, black):
        with source:
            for _ in range(20):
                assert source.read() is not None
    assert list(dark.events) == [] and kinds(black.events) == ["black"]


class Still(SyntheticSource):
    """A device stand-in: one fixed picture, `fps` times a second (30: like a camera; 0: on demand)."""

    def __init__(self, image: np.ndarray, fps: float = 0) -> None:
        super().__init__(fps=fps)
        self.image = image
        self.name = "camera (still)"

    def render(self, index: int):
        return self.image, None


# -- a camera that stops mid-stream ----------------------------------------------------------------
def test_camera_that_stops_is_reopened(digits_ms, tmp_path):
    clip = write_video(tmp_path / "thirty.avi", digit_frames(30))  # stops after 30 frames, every time
    source = ReopeningSource(FileCamera(clip), max_failed_reads=10, retry_s=0)
    with LivePipeline(source, [digits_model(digits_ms)]) as pipeline:
        stats = pipeline.run(frames=50, timeout=120).to_json()
        events = list(pipeline.events)
    assert kinds(events) == ["stalled", "reopened"]
    assert_message(events[0].message, "camera thirty.avi stopped delivering frames (10 failed reads", "reopening it")
    assert_message(events[1].message, "camera thirty.avi reopened (attempt 1)")
    model = stats["models"][0]
    assert model["processed"] == 50 and model["error"] is None and model["dropped"] == 0
    assert stats["source"]["failed_reads"] == 10 and stats["source"]["state"] == "stopped"


def test_unplugged_camera_falls_back_to_synthetic(digits_ms, tmp_path):
    clip = write_video(tmp_path / "unplugged.avi", digit_frames(30))
    source = FallbackSource(ReopeningSource(FileCamera(clip), max_failed_reads=10, retry_s=0),
                            SyntheticSource(fps=0))
    truths: list = []

    def unplug_while_streaming(result) -> None:  # the open capture keeps its 30 frames; a reopen finds no device
        truths.append(result.frame.truth)
        clip.unlink(missing_ok=True)

    with LivePipeline(source, [digits_model(digits_ms)], on_result=unplug_while_streaming) as pipeline:
        stats = pipeline.run(frames=60, timeout=120).to_json()
    assert kinds(stats["source"]["events"]) == ["stalled", "fallback"]
    fallback = stats["source"]["events"][1]["message"]
    assert_message(fallback, "camera unplugged.avi stopped delivering frames and could not be reopened (3 attempts)",
                   "no such device", "showing synthetic instead")
    model = stats["models"][0]
    assert model["processed"] == 60 and model["error"] is None
    assert truths[:30] == [None] * 30  # the camera's frames …
    assert all(t is not None for t in truths[30:])  # … then the synthetic source's, which know their digit
    assert stats["source"]["name"] == "synthetic" and stats["source"]["state"] == "stopped"


# -- the Live page: the user sees the message, the GUI stays alive ----------------------------------
@pytest.fixture
def live_page(qtbot, tmp_path):
    from app.gui.pages.live_page import LivePage
    from app.gui.settings import Settings
    from app.gui.state import AppState
    from app.gui.workers import JobRunner

    runner = JobRunner()
    page = LivePage(AppState(), runner, Settings(tmp_path / "settings.json"))
    qtbot.addWidget(page)
    page.model_b.setCurrentIndex(0)  # single view: one conversion per start
    page.show()
    yield page
    page.stop()
    runner.stop_all()


def _run_until(qtbot, page, source, message: str, frames: int = 3):
    """Start `source` on the page; wait until the message line shows `message` and frames arrive."""
    page.start(source)
    qtbot.waitUntil(lambda: page.pipeline is not None, timeout=120_000)
    qtbot.waitUntil(lambda: message in page.message.text(), timeout=60_000)
    shown = page.views[0].frames_shown
    qtbot.waitUntil(lambda: page.views[0].frames_shown >= shown + frames, timeout=60_000)  # still live
    assert page.pipeline.running and page.stop_button.isEnabled()


def _stop(qtbot, page):
    from PySide6.QtCore import Qt

    qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    assert page.pipeline is None and page.start_button.isEnabled()
    qtbot.waitUntil(lambda: not [t for t in threading.enumerate() if t.name.startswith("live-")], timeout=10_000)


def test_live_page_shows_a_missing_camera_and_falls_back(qtbot, live_page):
    _run_until(qtbot, live_page, "99", "camera 99 could not be opened")
    assert_message(live_page.message.text(), "showing synthetic instead")
    assert live_page.pipeline.source.name == "synthetic"
    _stop(qtbot, live_page)


def test_live_page_reopens_a_stalled_camera_then_falls_back(qtbot, live_page):
    # a camera that stops after 30 frames and comes back when reopened …
    flaky = ReopeningSource(FlakySource(SyntheticSource(fps=30), fail_after=30), max_failed_reads=5, retry_s=0.1)
    _run_until(qtbot, live_page, flaky, "reopened (attempt 1)", frames=10)
    assert kinds(live_page.pipeline.events) == ["stalled", "reopened"]
    assert live_page.pipeline.stats().source["state"] == "running"
    _stop(qtbot, live_page)
    # … and one that stays gone: the synthetic face scene takes over, and the page says why
    gone = FallbackSource(ReopeningSource(FlakySource(SyntheticSource(fps=30), fail_after=30, dead_reopens=99),
                                          max_failed_reads=5, retry_s=0.1), SyntheticSource(fps=30, scene="face"))
    _run_until(qtbot, live_page, gone, "showing synthetic:face instead", frames=10)
    assert_message(live_page.message.text(), "could not be reopened (3 attempts)")
    _stop(qtbot, live_page)


def test_live_page_says_the_camera_is_black(qtbot, live_page):
    covered = ReopeningSource(Still(np.zeros((480, 640, 3), np.uint8), fps=30), black_frames=30)
    _run_until(qtbot, live_page, covered, "delivers only black frames", frames=10)
    assert kinds(live_page.pipeline.events) == ["black"]
    _stop(qtbot, live_page)
    _run_until(qtbot, live_page, "synthetic", "Running on synthetic")  # and the page starts again

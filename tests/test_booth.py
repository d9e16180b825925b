"""Booth mode as a visitor meets it, offscreen, with the real pipeline, Lite models and cloud server:
the first frame within 3 s of entering (samples built once in a fixture), the attract loop through
its scenes and back after a touch, a failure shown as one friendly line that clears, the one-minute
clip (3 s here) played back, and nothing left running after leaving."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from busy import scaled
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

pytestmark = pytest.mark.timeout(600)  # a cold sample cache converts for a minute first; warm: ~90 s


@pytest.fixture(scope="module")
def warm_samples(tmp_path_factory):
    """The app as F11 finds it: the booth's samples built into the cache (a later start needs no
    conversion) and Lite's libraries loaded (the app loads them while its first page is built)."""
    from app.core.live.booth_facts import load_facts
    from app.core.live.samples import prepare_in_child
    from app.gui.live_view import load_lite_runtime

    load_lite_runtime()

    paths = prepare_in_child(["digits", "digits-int8", "face", "face-int8"], tmp_path_factory.mktemp("samples"))
    load_facts(Path(paths[0]), Path(paths[1]))  # the shrink and accuracy numbers, measured once too
    return paths


@pytest.fixture
def no_cloud(monkeypatch):
    import app.gui.booth as booth

    monkeypatch.setattr(booth, "_start_cloud", lambda state: (_ for _ in ()).throw(
        RuntimeError("no cloud in this test")))  # the cloud tier has its own test below


def _booth(qtbot, tmp_path, camera: str | None = "", **timing):
    """camera "": no camera (the synthetic scenes); None: the booth looks for one, as in the app."""
    from app.gui.booth import BoothTiming, BoothWindow

    window = BoothWindow(camera=camera, timing=BoothTiming(**timing), clip_dir=tmp_path, clip_seconds=3)
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    return window


def _booth_threads():
    return [t.name for t in threading.enumerate() if t.name.startswith(("live-", "booth-"))]


def test_first_frame_within_3_s(qtbot, tmp_path, warm_samples, no_cloud):
    window = _booth(qtbot, tmp_path, camera=None)
    qtbot.waitUntil(lambda: window.first_frame_s is not None, timeout=30_000)
    print(f"\nbooth first frame: {window.first_frame_s:.2f} s after entering")
    assert window.first_frame_s <= scaled(3.0)  # 3 s on a quiet machine, longer when the cores are shared
    assert "Digits" in window.title.text() and not window.status.isVisible()
    qtbot.waitUntil(lambda: window.views[1].frames_shown >= 3, timeout=30_000)
    window.close()


def test_attract_loop_cycles_and_idle_reset(qtbot, tmp_path, warm_samples, no_cloud):
    from app.gui.booth import SCENES

    window = _booth(qtbot, tmp_path, scene_s=1.5, idle_reset_s=2.0, tick_ms=100)
    seen: list[str] = []

    def visited() -> bool:
        if not seen or seen[-1] != window.title.text():
            seen.append(window.title.text())
        return len(set(seen)) >= len(SCENES)

    try:
        qtbot.waitUntil(visited, timeout=60_000)
        assert len(set(seen)) >= 4 and {s.title for s in SCENES} == set(seen)
        qtbot.waitUntil(lambda: window.facts is not None, timeout=60_000)
        window._show_scene(3)  # the shrink scene: real file sizes
        assert window.shrink.bar_text("device").endswith("kB") and "smaller" in window.caption.text()
        window._show_scene(4)  # accuracy kept: measured top-1
        assert window.accuracy.bar_text("device").endswith("%") and "held-out" in window.caption.text()
        window._show_scene(2)  # the race: the tiers measured now
        qtbot.waitUntil(lambda: window.race.bar_text("edge").endswith(" ms"), timeout=30_000)
        assert window.race.bar_text("cloud") == "not here" and "not available" in window.caption.text()
        index = window.scene_index
        QTest.keyClick(window, Qt.Key.Key_Space)  # a visitor: the loop waits for them
        assert window.scene_index == (index + 1) % len(SCENES) and window.touched_at is not None
        qtbot.waitUntil(lambda: window.touched_at is None and window.scene_index == 0, timeout=10_000)
    finally:
        window.close()


def test_each_scene_shows_only_its_own_frames_after_warming_up(qtbot, tmp_path, warm_samples, no_cloud):
    """Issue 29: the face scene showed digit frames for ~10 s, the DEVICE pane kept a digit after Space."""
    from app.gui.booth import SETUPS, WARMING_UP

    window = _booth(qtbot, tmp_path, scene_s=600)
    shown: list[tuple[int, str, str | None]] = []  # (pane, the scene's setup, the setup that made the frame)
    for i, view in enumerate(window.views):
        original = view.show_frame

        def spy(image, i=i, original=original):
            models = [m.name for m in window.pipeline.models] if window.pipeline else []
            made = next((setup for setup, names in SETUPS.items() if models[:2] == list(names)), None)
            shown.append((i, window.scene.setup, made))
            original(image)

        view.show_frame = spy
    try:
        qtbot.waitUntil(lambda: all(v.frames_shown > 3 for v in window.views), timeout=60_000)
        QTest.keyClick(window, Qt.Key.Key_Space)  # digits → face
        assert window.scene.setup == "face"
        for view in window.views:  # the digit is gone at once, the pane says what it waits for
            assert (view.pixmap() is None or view.pixmap().isNull()) and view.text() == WARMING_UP
        counts = [v.frames_shown for v in window.views]
        qtbot.waitUntil(lambda: all(v.frames_shown > c + 3 for v, c in zip(window.views, counts)), timeout=120_000)
        assert shown and all(scene == made for _, scene, made in shown), \
            [entry for entry in shown if entry[1] != entry[2]][:5]
        assert {made for _, _, made in shown} == {"digits", "face"}
    finally:
        window.close()


def test_failure_shows_a_friendly_line_that_clears(qtbot, tmp_path, warm_samples, no_cloud):
    from app.gui.booth_captions import friendly

    window = _booth(qtbot, tmp_path, scene_s=600, tick_ms=100, retry_s=0.3, clear_s=1.0)
    try:
        qtbot.waitUntil(lambda: window.views[1].frames_shown >= 3, timeout=30_000)
        restarts = window.restarts

        def broken(x):
            raise RuntimeError("Lite: kernel failed\nTraceback (most recent call last): ...")

        window.pipeline.models[1].runtime.predict = broken  # the device model fails mid-session
        qtbot.waitUntil(window.status.isVisible, timeout=10_000)
        shown = window.status.text()
        assert shown == friendly("model") and "\n" not in shown and "Traceback" not in shown
        assert window.status.wordWrap()  # never cut off
        qtbot.waitUntil(lambda: not window.status.isVisible(), timeout=30_000)  # recovered: the line clears
        assert window.restarts == restarts + 1
        assert window.pipeline is not None and window.pipeline.running
        shown = window.views[1].frames_shown
        qtbot.waitUntil(lambda: window.views[1].frames_shown > shown, timeout=10_000)
    finally:
        window.close()


def test_clip_records_and_plays_back(qtbot, tmp_path, warm_samples, no_cloud):
    import cv2

    window = _booth(qtbot, tmp_path)
    try:
        qtbot.waitUntil(lambda: window.views[0].frames_shown >= 3, timeout=30_000)
        QTest.keySequence(window, QKeySequence("Ctrl+R"))
        assert window.recorder.recording and window.rec_label.text().startswith("● REC 0:0")
        qtbot.waitUntil(lambda: window.recorder.saved is not None, timeout=30_000)
        path = window.recorder.saved
        assert path.parent == tmp_path and path.suffix == ".mp4"
        assert window.saved_label.isVisible() and path.name in window.saved_label.text()
        assert not window.rec_label.text()  # the REC indicator is gone
        capture = cv2.VideoCapture(str(path))
        fps = capture.get(cv2.CAP_PROP_FPS)
        frames, size, repeats, last = 0, None, 0, None
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            repeats += last is not None and np.array_equal(frame, last)
            frames, size, last = frames + 1, frame.shape, frame
        capture.release()
        recorder = window.recorder
        print(f"\nbooth clip: {frames} frames at {fps} fps = {frames / fps:.2f} s, {size}, {repeats} repeats, "
              f"{recorder.grabs} grabs")
        # only new pictures are recorded, at the rate they came; the file says that rate and plays 3 s
        assert frames == recorder.written >= 3 and repeats == 0
        assert fps == pytest.approx(recorder.real_fps, abs=0.01) and abs(frames / fps - 3.0) < 0.05
        assert size[1] <= 1280 and size[0] % 2 == 0 and size[1] % 2 == 0
    finally:
        window.close()


def test_main_window_pauses_its_live_view_for_booth(qtbot, tmp_path, warm_samples, no_cloud):
    from app.gui.main import MainWindow
    from app.gui.settings import Settings

    window = MainWindow(settings=Settings(tmp_path / "settings.json"))
    qtbot.addWidget(window)
    window.show()
    live = window.pages["Live"]
    try:
        qtbot.waitUntil(lambda: live.views[0].frames_shown >= 3, timeout=60_000)
        window.enter_booth()  # F11
        booth = window.booth
        assert live.pipeline is None  # the booth has the cores to itself
        qtbot.waitUntil(lambda: booth.views[0].frames_shown >= 3, timeout=30_000)
        window.enter_booth()  # F11 again: still the one booth
        assert window.booth is booth
        QTest.keySequence(booth, QKeySequence("Ctrl+Shift+Q"))
        qtbot.waitUntil(lambda: not booth.isVisible(), timeout=30_000)
        shown = live.views[0].frames_shown
        qtbot.waitUntil(lambda: live.pipeline is not None and live.views[0].frames_shown >= shown + 3,
                        timeout=60_000)  # the live view is back
    finally:
        if getattr(window, "booth", None) is not None:
            window.booth.close()
        window.close()


def test_clip_names_are_new(tmp_path):
    from app.core.live.clip_writer import new_clip_path

    first, second = new_clip_path(tmp_path), new_clip_path(tmp_path)
    assert first != second and first.exists() and second.exists()


def test_missing_camera_falls_back_to_the_synthetic_face(qtbot, tmp_path, warm_samples, no_cloud):
    window = _booth(qtbot, tmp_path, camera="/dev/video99", scene_s=600)
    try:
        window._show_scene(1)  # the face scene runs on the camera when there is one
        qtbot.waitUntil(lambda: window.pipeline is not None and window.views[0].frames_shown >= 3, timeout=30_000)
        window._update_texts()
        assert "built-in synthetic scene" in window.caption.text() and not window.status.isVisible()
        assert any(e.kind == "fallback" for e in window.pipeline.source.events)
    finally:
        window.close()


def test_cloud_joins_heals_and_leaving_stops_everything(qtbot, tmp_path, warm_samples):
    import psutil

    from app.gui.booth_captions import friendly
    from converters.targets import mindspore_available

    if not mindspore_available():
        pytest.skip("the cloud tier needs MindSpore (a lean build)")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    window = _booth(qtbot, tmp_path, scene_s=600, tick_ms=200, cloud_retry_s=0.5, clear_s=1.0)
    qtbot.waitUntil(lambda: window.first_frame_s is not None, timeout=30_000)
    qtbot.waitUntil(lambda: window.cloud is not None and window.pipeline is not None
                    and len(window.pipeline.models) == 3, timeout=120_000)  # the cloud server joined
    window._show_scene(2)
    qtbot.waitUntil(lambda: window.race.bar_text("cloud").endswith(" ms"), timeout=30_000)
    false_absence: list[str] = []  # "not here" while the cloud server answers (issue 29)
    watch = QTimer(window, interval=50, timeout=lambda: false_absence.append(window.cloud_status) if (
        window.race.bar_text("cloud") == "not here" and window.cloud is not None) else None)
    watch.start()
    first = window.cloud.process
    first.kill()  # the server dies mid-session: edge and device carry on, the server comes back
    qtbot.waitUntil(lambda: window.status.isVisible() and window.status.text() == friendly("cloud"), timeout=10_000)
    qtbot.waitUntil(lambda: window.cloud is not None and window.cloud.process is not first
                    and window.pipeline is not None and len(window.pipeline.models) == 3, timeout=120_000)
    qtbot.waitUntil(lambda: not window.status.isVisible(), timeout=10_000)
    watch.stop()
    assert not false_absence, false_absence
    server = window.cloud.process.pid
    QTest.keySequence(window, QKeySequence("Ctrl+Shift+Q"))
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30_000)
    assert not psutil.pid_exists(server) or psutil.Process(server).status() == psutil.STATUS_ZOMBIE
    left = {p.pid for p in psutil.Process().children(recursive=True)} - before
    assert not left
    qtbot.waitUntil(lambda: not _booth_threads(), timeout=10_000)
    # the runner's last job (the cloud stop) hands back its result just after: waited for, not sampled once
    qtbot.waitUntil(lambda: not window.runner.busy(), timeout=10_000)

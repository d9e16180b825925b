"""Screenshots of booth mode, one per scene, at 1600×1000 from the real window (offscreen, QWidget.grab()),
with the real cloud server when MindSpore is installed. Run: .venv/bin/python docs/screenshots/make_booth.py"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GLOG_v", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

NAMES = ("booth-digits", "booth-face", "booth-race", "booth-shrink", "booth-accuracy")


def wait_until(app, condition, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    return False


def settle(app, seconds: float) -> None:
    wait_until(app, lambda: False, seconds)


def shoot_booth(app, out: Path = HERE) -> list[Path]:
    from app.gui.booth import SCENES, BoothTiming, BoothWindow
    from converters.targets import mindspore_available

    clips = tempfile.mkdtemp(prefix="edge-studio-booth-shots-")  # the REC shot's clip is not kept
    booth = BoothWindow(camera="", timing=BoothTiming(scene_s=3600), clip_dir=clips, clip_seconds=60)
    booth.resize(1600, 1000)
    booth.show()
    written = []
    try:
        wait_until(app, lambda: booth.views[0].frames_shown > 30, timeout=300)
        if mindspore_available():
            wait_until(app, lambda: booth.pipeline is not None and len(booth.pipeline.models) == 3, timeout=180)
        wait_until(app, lambda: booth.facts is not None, timeout=180)
        for index, name in enumerate(NAMES):
            if SCENES[index].panel == "accuracy":
                booth.record_clip()  # shows the REC indicator in this one
            booth._show_scene(index)
            wait_until(app, lambda: booth.pipeline is not None and booth.views[1].frames_shown > 3, timeout=120)
            settle(app, 6.0)  # a few seconds of measurements behind the numbers
            path = out / f"{name}.png"
            booth.grab().save(str(path))
            written.append(path)
            if index == 0:
                booth.grab().save(str(out / "booth.png"))  # the README's picture
    finally:
        booth.close()
        shutil.rmtree(clips, ignore_errors=True)
    return written


def main() -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    for path in shoot_booth(app):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

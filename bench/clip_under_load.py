"""The booth's one-minute clip under a CPU hog: how many of its frames are distinct, and whether the
rate the file states is the rate it was recorded at.

    python bench/clip_under_load.py [--json out.json] [--seconds 60] [--hog 2] [--window 1600x1000]

Opens the real booth window (offscreen unless a display is set; synthetic scenes, the app's own
models), waits for its live panes, starts `stress-ng --cpu HOG` for the recording plus a margin
(≤ 90 s), records a clip through the booth's recorder (Ctrl+R's code path), and decodes the file:
frames, the container's fps and duration, and consecutive decoded frames that are identical (repeats).
Also counts the live frames the panes showed meanwhile (the rate a viewer saw).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
BEFORE_S = 10.0  # the live panes' rate is measured this long before recording starts


def decode(path: Path) -> dict:
    import cv2

    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames, repeats, last = 0, 0, None
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        repeats += last is not None and np.array_equal(frame, last)
        frames, last = frames + 1, frame
    capture.release()
    return {"frames": frames, "fps": round(fps, 3), "seconds": round(frames / fps, 3) if fps else 0.0,
            "repeats": repeats, "distinct_fraction": round(1 - repeats / max(frames - 1, 1), 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", nargs="?", const="-", help="write the result as JSON (to a file, or stdout)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--hog", type=int, default=2, help="stress-ng --cpu workers (0: none)")
    parser.add_argument("--window", default="1600x1000")
    args = parser.parse_args()
    if args.hog and not shutil.which("stress-ng"):
        sys.exit("stress-ng is not installed (apt-get install stress-ng), or pass --hog 0")
    if args.seconds + BEFORE_S + 15 > 90 and args.hog:
        sys.exit(f"keep the hog ≤ 90 s on a shared machine: --seconds ≤ {90 - BEFORE_S - 15:.0f}")

    from PySide6.QtWidgets import QApplication

    from app.gui.booth import BoothWindow
    from app.gui.live_view import load_lite_runtime

    app = QApplication.instance() or QApplication([])
    load_lite_runtime()
    out = Path(tempfile.mkdtemp(prefix="bench-clip-"))
    window = BoothWindow(camera="", clip_dir=out, clip_seconds=args.seconds)
    width, height = (int(v) for v in args.window.split("x"))
    window.resize(width, height)
    window.show()

    def wait(condition, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        return condition()

    hog = None
    try:
        if not wait(lambda: all(v.frames_shown >= 3 for v in window.views), 120):
            sys.exit("the booth's live panes did not start")
        if args.hog:
            hog = subprocess.Popen(["stress-ng", "--cpu", str(args.hog), "--timeout",
                                    f"{int(args.seconds + BEFORE_S + 12)}s",
                                    "--quiet"], stdin=subprocess.DEVNULL)
            wait(lambda: False, 3.0)  # the hog is at full speed when the clip starts
        shown = [v.frames_shown for v in window.views]
        wait(lambda: False, BEFORE_S)  # the panes' own rate under the hog, before the recorder grabs anything
        before = [round((v.frames_shown - s) / BEFORE_S, 2) for v, s in zip(window.views, shown)]
        load_at_start = os.getloadavg()[0]
        shown = [v.frames_shown for v in window.views]
        window.recorder.start(out, args.seconds)
        started = time.monotonic()
        wait(lambda: window.recorder.saved is not None or window.recorder.error is not None, args.seconds + 120)
        recorded_s = time.monotonic() - started
        shown = [v.frames_shown - s for v, s in zip(window.views, shown)]
        recorder = window.recorder
        if recorder.error:
            sys.exit(f"the clip failed: {recorder.error}")
        result = {"seconds": args.seconds, "hog_cpus": args.hog, "window": args.window, "cpus": os.cpu_count(),
                  "load_average_1m": [round(load_at_start, 2), round(os.getloadavg()[0], 2)],
                  "grabs": recorder.grabs, "recorded_frames": recorder.written, "real_fps": recorder.real_fps,
                  "wall_s_until_saved": round(recorded_s, 2),
                  "live_frames_shown_per_pane": shown,
                  "live_fps_per_pane": [round(n / args.seconds, 2) for n in shown],
                  "live_fps_per_pane_before_recording": before,
                  "file": decode(recorder.saved)}
    finally:
        if hog is not None:
            hog.terminate()
            hog.wait(10)
        window.close()
        app.processEvents()
        shutil.rmtree(out, ignore_errors=True)
    f = result["file"]
    print(f"clip: {f['frames']} frames at {f['fps']} fps = {f['seconds']} s; {f['repeats']} repeats "
          f"({f['distinct_fraction']:.0%} distinct); {result['grabs']} grabs; live panes "
          f"{result['live_fps_per_pane']} fps (before recording {before}); load {result['load_average_1m']}", file=sys.stderr)
    text = json.dumps(result, indent=2)
    if args.json == "-":
        print(text)
    elif args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

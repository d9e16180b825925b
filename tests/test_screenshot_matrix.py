"""The screenshot matrix (issue 29): the real app on a real X server (Xvfb) with a window manager
(openbox), one screen size per server, every page in the light and the dark theme and every booth
scene; docs/screenshots/matrix.py shoots and checks each (a widget clipped or outside the window, a
text wider than its box, a page scrolling sideways, a chart's axis title longer than its axis, a window
larger than its screen). The default suite runs the 1024×768 light pages (a few seconds); `-m long`
runs the whole matrix and refreshes docs/screenshots/matrix/ and the contact sheet
docs/screenshot-matrix.png.

Needs Xvfb and openbox (Debian: apt-get install -y xvfb openbox imagemagick); without them the test
says so and is skipped."""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MATRIX = ROOT / "docs" / "screenshots" / "matrix.py"
DOCS_SHOTS = ROOT / "docs" / "screenshots" / "matrix"
CONTACT_SHEET = ROOT / "docs" / "screenshot-matrix.png"
SIZES = ("800x600", "1024x768", "1366x768", "1920x1080")

needs_x = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("openbox")),
                             reason="the screenshot matrix needs Xvfb and openbox (apt-get install -y xvfb openbox)")


def _display_number(xvfb: subprocess.Popen, read_end: int, timeout_s: float = 30) -> int:
    """The display Xvfb chose (-displayfd: it writes the number once it accepts clients). Picking a free
    number ourselves raced with the other pytest-xdist worker and with other X servers on the machine."""
    deadline = time.monotonic() + timeout_s
    text = b""
    while not text.endswith(b"\n"):
        if xvfb.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("Xvfb did not start")
        if select.select([read_end], [], [], 0.1)[0]:
            chunk = os.read(read_end, 16)
            if not chunk:
                raise RuntimeError("Xvfb closed -displayfd without naming a display")
            text += chunk
    return int(text)


class XServer:
    """Xvfb of one screen size with openbox on it; stopped (by their own pids) on exit."""

    def __init__(self, size: str, window_manager: bool = True) -> None:
        self.size, self.window_manager = size, window_manager
        self.display = ""
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> "XServer":
        # `with` calls __exit__ only once __enter__ has returned: whatever started before a failure is stopped here
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        read_end, write_end = os.pipe()
        try:
            try:
                xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", f"{self.size}x24",
                                         "-nolisten", "tcp"], pass_fds=(write_end,),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            finally:
                os.close(write_end)  # Xvfb holds its own copy: the pipe reads empty if it dies
            self.processes.append(xvfb)
            self.display = f":{_display_number(xvfb, read_end)}"
        finally:
            os.close(read_end)
        if self.window_manager:
            self.processes.append(subprocess.Popen(["openbox"], env=self.env(), stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL))
            time.sleep(1.0)  # openbox takes the screen (it then decorates, maximizes and full-screens for us)
            if self.processes[-1].poll() is not None:
                raise RuntimeError("openbox did not start")

    def env(self) -> dict:
        env = dict(os.environ, DISPLAY=self.display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT))
        env.pop("WAYLAND_DISPLAY", None)
        return env

    def __exit__(self, *exc) -> None:
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def _shoot(size: str, out: Path, *extra: str, timeout: float = 600, window_manager: bool = True) -> dict:
    with XServer(size, window_manager) as server:
        run = subprocess.run([sys.executable, str(MATRIX), "--size", size, "--out", str(out), *extra],
                             env=server.env(), capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert run.returncode == 0 and lines, f"the matrix run failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return json.loads(lines[-1])


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[16:24]
    return int.from_bytes(head[:4], "big"), int.from_bytes(head[4:], "big")


@needs_x
def test_every_page_whole_at_1024x768(tmp_path):
    """The default-suite slice: every page, light theme, on a 1024×768 screen with a window manager."""
    from app.gui.main import ALL_PAGES

    found = _shoot("1024x768", tmp_path, "--themes", "light", timeout=300)
    assert not found["problems"], "\n".join(found["problems"])
    shots = [Path(p) for p in found["written"]]
    assert len(shots) == len(ALL_PAGES)
    for shot in shots:  # the window is maximized: as wide as the screen, never wider
        width, height = _png_size(shot)
        assert width == 1024 and height <= 768, (shot.name, width, height)


@needs_x
@pytest.mark.parametrize("window_manager", [True, False], ids=["openbox", "no-window-manager"])
def test_booth_is_exactly_the_screen(window_manager, tmp_path):
    """A 1024×768 projector: booth mode is 1024 px wide (it was 1121), also without a window manager."""
    found = _shoot("1024x768", tmp_path, "--booth-geometry", timeout=300, window_manager=window_manager)
    assert not found["problems"], "\n".join(found["problems"])


@needs_x
@pytest.mark.long
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("size", SIZES)
def test_the_whole_matrix(size, tmp_path_factory):
    """Every page (Convert, Profile and Quantize with real results) in both themes and every booth scene,
    at each size; the images go to docs/screenshots/matrix/ (palette PNGs) and the contact sheet is rebuilt."""
    report = tmp_path_factory.getbasetemp() / "quantize-report.pkl"  # made once, shared by the sizes
    built = tmp_path_factory.getbasetemp() / "built"  # a real build and comparison, also made once
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    found = _shoot(size, DOCS_SHOTS, "--themes", "light", "dark", "--booth", "--quantize-report", str(report),
                   "--built", str(built), timeout=3000)
    shots = [Path(p) for p in found["written"]]
    width, height = (int(v) for v in size.split("x"))
    for shot in shots:
        w, h = _png_size(shot)
        assert w <= width and h <= height, (shot.name, w, h)
        if shot.name.startswith("booth-"):
            assert (w, h) == (width, height), (shot.name, w, h)  # booth: exactly the screen
    if shutil.which("mogrify"):  # screenshots compress well to a palette: the docs stay small
        subprocess.run(["mogrify", "-colors", "256", *map(str, shots)], check=True)
    if shutil.which("montage"):
        tiles = sorted(DOCS_SHOTS.glob("*.png"), key=lambda p: (p.name.rsplit("-", 1)[-1], p.name))
        subprocess.run(["montage", "-label", "%t", "-pointsize", "11", *map(str, tiles), "-tile", "8x",
                        "-geometry", "240x180+4+4", str(CONTACT_SHEET)], check=True)
        subprocess.run(["convert", str(CONTACT_SHEET), "-depth", "8", "-colors", "256", f"PNG8:{CONTACT_SHEET}"],
                       check=True)  # a palette: 0.7 MB instead of 3
    assert not found["problems"], "\n".join(found["problems"])

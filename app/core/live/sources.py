"""Frame sources for the live view: cameras, video files, image folders and a deterministic
synthetic camera (used where no camera exists, and by the tests).

Every source has open() / read() / close(); read() gives a Frame, None for one failed read (a
camera hiccup), or raises EndOfStream (a file that does not loop) or SourceError (broken for good).
Recovery is layered by wrapping: ReopeningSource reopens a source whose reads keep failing,
FallbackSource switches to another source when one fails. Both report what they did as events.
"""
from __future__ import annotations

import math
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from app.core.live.scenes import (
    background,
    draw_face,
    draw_hand,
    draw_objects,
    draw_person,
    glyph,
    paste_glyph,
)
from converters.formats import IMAGE_SUFFIXES
from converters.lite.calibration import read_image

VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"}


class SourceError(RuntimeError):
    """A source cannot be opened, or stopped for good; the message says which and why."""


class EndOfStream(Exception):
    """A source that does not loop has no more frames."""


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # H×W×3 BGR uint8
    index: int  # frames this source delivered since it was (re)opened, from 0
    truth: Any = None  # ground truth where the source knows it: the synthetic digit, or face box


@dataclass(frozen=True)
class SourceEvent:
    kind: str  # stalled, reopened, fallback, skipped, black, black_ended (the pipeline adds failed, model_failed)
    message: str
    time: float = field(default_factory=time.time)


class Source:
    name = "source"
    fps = 0.0  # nominal frames per second; 0: a frame whenever read() is called (no pacing)

    def __init__(self) -> None:
        self.events: deque[SourceEvent] = deque(maxlen=100)
        self.on_event: Callable[[SourceEvent], None] | None = None  # called from the reading thread

    def open(self) -> None:
        pass

    def read(self) -> Frame | None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def emit(self, kind: str, message: str) -> None:
        self._relay(SourceEvent(kind, message))

    def _relay(self, event: SourceEvent) -> None:
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def __enter__(self) -> "Source":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class _Pacer:
    """Sleeps so reads come at most `fps` times a second; after a hold-up it does not burst to catch up."""

    def __init__(self, fps: float) -> None:
        self.period = 1 / fps if fps > 0 else 0.0
        self.next = 0.0

    def wait(self) -> None:
        if not self.period:
            return
        now = time.perf_counter()
        if self.next > now:
            time.sleep(self.next - now)
        self.next = max(self.next, now) + self.period


# -- synthetic ---------------------------------------------------------------------------------
class SyntheticSource(Source):
    """A deterministic camera: frame i is a pure function of (i, seed).

    "digits" scenes show one big white digit (changing every `frames_per_digit` frames, in a
    seeded order) drifting around the centre, plus a small bouncing ball; `truth` is the digit.
    The digit fills the frame's height, as the digits sample's training images do.
    "face" scenes show a cartoon face moving across a gray frame; `truth` is its box.
    "objects" (red, green, blue boxes: BoxesTruth), "person" (MaskTruth) and "hand" (21 joints:
    KeypointsTruth) are for detectors, segmenters and landmark models (see scenes.py).
    """

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0, scene: str = "digits",
                 frames_per_digit: int = 15, seed: int = 0) -> None:
        super().__init__()
        if scene not in self.SCENES:
            raise SourceError(f"synthetic scene {scene!r} is not one of {', '.join(self.SCENES)}")
        self.width, self.height, self.fps, self.scene = width, height, float(fps), scene
        self.frames_per_digit, self.seed = max(1, frames_per_digit), seed
        self.name = "synthetic" if scene == "digits" else f"synthetic:{scene}"
        self._order = np.random.default_rng(seed).permutation(10)
        self._glyphs: list[np.ndarray] = []
        self._count = 0
        self._pacer = _Pacer(self.fps)

    def open(self) -> None:
        # Digits are drawn wider than tall-in-the-frame: a 4:3 frame is squeezed into a square input.
        if not self._glyphs:
            self._glyphs = [glyph(d, round(self.height * 0.95), 0.8 * self.width / self.height) for d in range(10)]
        self._count = 0
        self._pacer = _Pacer(self.fps)

    def label_at(self, index: int) -> int:
        return int(self._order[(index // self.frames_per_digit + self.seed) % 10])

    def render(self, index: int) -> tuple[np.ndarray, Any]:
        if not self._glyphs:
            self.open()
        return self.SCENES[self.scene](self, index)

    def _digits(self, index: int) -> tuple[np.ndarray, int]:
        import cv2

        gray = np.zeros((self.height, self.width), np.uint8)
        label = self.label_at(index)
        ink = self._glyphs[label]
        dx = round(self.width * 0.045 * math.sin(2 * math.pi * index / 97))
        dy = round(self.height * 0.025 * math.sin(2 * math.pi * index / 61))
        paste_glyph(gray, ink, (self.width - ink.shape[1]) // 2 + dx, (self.height - ink.shape[0]) // 2 + dy)
        frame = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        # a small ball bouncing along the bottom edge: motion a viewer sees even between digit changes
        span = max(1, self.width - 40)
        t = (index * 8) % (2 * span)
        cv2.circle(frame, (20 + min(t, 2 * span - t), self.height - 14), 10, (200, 120, 40), -1, cv2.LINE_AA)
        return frame, label

    def _face(self, index: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        frame = np.full((self.height, self.width, 3), 120, np.uint8)
        r = round(self.height * 0.22)
        cx = round(self.width / 2 + self.width * 0.25 * math.sin(2 * math.pi * index / 120))
        cy = round(self.height / 2 + self.height * 0.12 * math.sin(2 * math.pi * index / 80))
        return frame, draw_face(frame, cx, cy, r)

    def _drawn(draw: Callable[[np.ndarray, int], Any]) -> Callable[["SyntheticSource", int], tuple[np.ndarray, Any]]:
        """A scene drawn by `draw(image, index) -> truth` onto the textured gray background."""
        def render(self: "SyntheticSource", index: int) -> tuple[np.ndarray, Any]:
            frame = background(self.height, self.width)
            return frame, draw(frame, index)

        return render

    SCENES: dict[str, Callable[["SyntheticSource", int], tuple[np.ndarray, Any]]] = {
        "digits": _digits, "face": _face, "objects": _drawn(draw_objects), "person": _drawn(draw_person),
        "hand": _drawn(draw_hand)}

    def read(self) -> Frame:
        self._pacer.wait()
        image, truth = self.render(self._count)
        self._count += 1
        return Frame(image, self._count - 1, truth)


# -- OpenCV captures ---------------------------------------------------------------------------
class _QuietOpenCV:
    """OpenCV prints warnings for a camera it cannot open; our SourceError says it better."""

    def __enter__(self):
        import cv2

        self._level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

    def __exit__(self, *exc):
        import cv2

        cv2.utils.logging.setLogLevel(self._level)


class _OpenCVSource(Source):
    """What the OpenCV-backed sources share: a cv2.VideoCapture in `_cap`, frames numbered as read."""

    _cap = None
    _count = 0

    def _frame(self, image: np.ndarray) -> Frame:
        self._count += 1
        return Frame(image if image.ndim == 3 else _bgr(image), self._count - 1)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class CameraSource(_OpenCVSource):
    """A webcam by index (0) or device path (/dev/video0). Opening a missing or busy camera raises
    SourceError; a failed read returns None. Wrap it in ReopeningSource (open_source does) to
    survive a camera that stops delivering frames."""

    def __init__(self, device: int | str, width: int = 640, height: int = 480) -> None:
        super().__init__()
        self.device, self.width, self.height = device, width, height
        self.name = f"camera {device}"
        self._cap = None
        self._first: np.ndarray | None = None
        self._count = 0

    def open(self) -> None:
        import cv2

        hint = "(`edge-studio doctor` lists the cameras found; `--source synthetic` needs none)"
        if isinstance(self.device, str) and not Path(self.device).exists():
            raise SourceError(f"{self.name}: no such device {hint}")
        with _QuietOpenCV():
            cap = self._capture()
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{self.name} could not be opened: it is missing, busy in another program, "
                              f"or not readable by this user {hint}")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        ok, image = cap.read()
        if not ok or image is None:
            cap.release()
            raise SourceError(f"{self.name} opened but delivers no frames (busy in another program?) {hint}")
        self._cap, self._first, self._count = cap, image, 0
        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0) or 30.0

    def _capture(self):
        """The OpenCV capture of the device (tests give it a video file to stand in for a camera)."""
        import cv2

        backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        return cv2.VideoCapture(self.device, backend)

    def read(self) -> Frame | None:
        if self._cap is None:
            raise SourceError(f"{self.name} is not open")
        image, self._first = (self._first, None) if self._first is not None else (self._cap.read()[1], None)
        return None if image is None else self._frame(image)



def _bgr(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_BGRA2BGR)


def _utf8(path: Path) -> bool:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class VideoFileSource(_OpenCVSource):
    """A video file, paced at its own frame rate (realtime) or as fast as it decodes; loops by default."""

    def __init__(self, path: str | Path, loop: bool = True, realtime: bool = True) -> None:
        super().__init__()
        self.path, self.loop, self.realtime = Path(path), loop, realtime
        self.name = self.path.name
        self.file_fps = 0.0
        self._cap = None
        self._count = 0
        self._pacer = _Pacer(0)

    def _capture(self):
        import cv2

        if not _utf8(self.path):  # OpenCV's file backends crash the process on such names
            raise SourceError(f"{self.path}: OpenCV cannot open a file whose name is not UTF-8: rename it")
        with _QuietOpenCV():
            cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{self.path}: OpenCV cannot decode this video file")
        return cap

    def open(self) -> None:
        import cv2

        if not self.path.is_file():
            raise SourceError(f"{self.path}: no such video file")
        self._cap = self._capture()
        self.file_fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0) or 30.0
        self.fps = self.file_fps if self.realtime else 0.0  # 0: frames on demand, as fast as they decode
        self._pacer = _Pacer(self.fps)
        self._count = 0

    def read(self) -> Frame | None:
        if self._cap is None:
            raise SourceError(f"{self.name} is not open")
        self._pacer.wait()
        ok, image = self._cap.read()
        if not ok:
            if not self.loop or self._count == 0:
                raise EndOfStream(self.name)
            self._cap.release()  # reopening is the one rewind every container supports
            self._cap = self._capture()
            ok, image = self._cap.read()
            if not ok:
                return None
        return self._frame(image)


class ImageFolderSource(Source):
    """The images of a folder (and its subfolders) in name order, `fps` of them a second, looping."""

    def __init__(self, folder: str | Path, fps: float = 5.0, loop: bool = True) -> None:
        super().__init__()
        self.folder, self.fps, self.loop = Path(folder), float(fps), loop
        self.name = self.folder.name or str(self.folder)
        self.files: list[Path] = []
        self._count = 0
        self._pacer = _Pacer(self.fps)

    def open(self) -> None:
        if not self.folder.is_dir():
            raise SourceError(f"{self.folder}: not a folder")
        self.files = sorted(p for p in self.folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not self.files:
            raise SourceError(f"{self.folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self._count = 0
        self._pacer = _Pacer(self.fps)

    def read(self) -> Frame | None:
        import cv2

        if not self.files:
            raise SourceError(f"{self.name} is not open")
        if self._count >= len(self.files) and not self.loop:
            raise EndOfStream(self.name)
        self._pacer.wait()
        path = self.files[self._count % len(self.files)]
        self._count += 1
        image = read_image(path, cv2.IMREAD_COLOR)  # cv2.imread crashes on names that are not UTF-8
        if image is None:
            if self._count <= len(self.files):  # say so once, not every loop
                self.emit("skipped", f"{path.name}: not a readable image")
            return None
        return Frame(image, self._count - 1)


# -- recovery wrappers ---------------------------------------------------------------------------
BLACK_LEVEL = 4.0  # mean brightness (0-255) at or below which a frame is black: a covered lens, empty buffers


def is_black(image: np.ndarray, level: float = BLACK_LEVEL) -> bool:
    """Cheap enough for every frame: the mean of every 8th pixel in each direction."""
    return float(image[::8, ::8].mean()) <= level


class Wrapper(Source):
    """A source around another: it reads through `wrapped` and goes by its name and pace."""

    inner: Source

    @property
    def wrapped(self) -> Source:
        return self.inner

    @property
    def name(self) -> str:
        return self.wrapped.name

    @property
    def fps(self) -> float:
        return self.wrapped.fps


class ReopeningSource(Wrapper):
    """Detects a source that stopped delivering (`max_failed_reads` failed reads in a row, or none
    good for `stall_s`), closes and reopens it (`reopen_attempts` tries, `retry_s` apart) and reports
    both as events. Raises SourceError when it cannot be reopened.

    A camera that delivers only black frames still works as far as the pipeline can tell, but the
    user sees a black view and wants to know why: after `black_frames` black frames in a row a
    "black" event says so (once), and "black_ended" when images come back. Frames keep flowing."""

    def __init__(self, inner: Source, max_failed_reads: int = 10, stall_s: float = 2.0, reopen_attempts: int = 3,
                 retry_s: float = 0.5, black_frames: int = 60) -> None:
        super().__init__()
        self.inner = inner
        self.max_failed_reads, self.stall_s = max_failed_reads, stall_s
        self.reopen_attempts, self.retry_s = reopen_attempts, retry_s
        self.black_frames = black_frames
        self.reopened = 0
        inner.on_event = self._relay
        self._failures, self._last_good = 0, 0.0
        self._black = 0  # black frames in a row

    def open(self) -> None:
        self.inner.open()
        self._failures, self._last_good = 0, time.monotonic()

    def read(self) -> Frame | None:
        frame = self.inner.read()
        now = time.monotonic()
        if frame is not None:
            self._failures, self._last_good = 0, now
            self._watch_black(frame)
            return frame
        self._failures += 1
        if self._failures >= self.max_failed_reads or now - self._last_good > self.stall_s:
            self._reopen(f"{self._failures} failed reads, {now - self._last_good:.1f} s without a frame")
        return None

    def _watch_black(self, frame: Frame) -> None:
        if is_black(frame.image):
            self._black += 1
            if self._black == self.black_frames:
                self.emit("black", f"{self.name} delivers only black frames ({self._black} in a row): "
                                   "is the lens covered, or the camera switched off?")
            return
        if self._black >= self.black_frames:
            self.emit("black_ended", f"{self.name} delivers images again")
        self._black = 0

    def _reopen(self, why: str) -> None:
        self.emit("stalled", f"{self.name} stopped delivering frames ({why}); reopening it")
        self.inner.close()
        error: Exception | None = None
        for attempt in range(self.reopen_attempts):
            if attempt:
                time.sleep(self.retry_s)
            try:
                self.inner.open()
            except SourceError as exc:
                error = exc
                continue
            self.reopened += 1
            self._failures, self._last_good = 0, time.monotonic()
            self.emit("reopened", f"{self.name} reopened (attempt {attempt + 1})")
            return
        raise SourceError(f"{self.name} stopped delivering frames and could not be reopened "
                          f"({self.reopen_attempts} attempts): {error}")

    def close(self) -> None:
        self.inner.close()


class FallbackSource(Wrapper):
    """`primary` until it fails for good (SourceError), then `fallback` (by default the synthetic
    camera), with a "fallback" event. `on_open`: also fall back when the primary cannot be opened."""

    def __init__(self, primary: Source, fallback: Source | None = None, on_open: bool = False) -> None:
        super().__init__()
        self.primary, self.fallback = primary, fallback or SyntheticSource()
        self.on_open = on_open
        self.active = primary
        primary.on_event = self._relay
        self.fallback.on_event = self._relay

    @property
    def wrapped(self) -> Source:
        return self.active

    def open(self) -> None:
        self.active = self.primary
        try:
            self.primary.open()
        except SourceError as exc:
            if not self.on_open:
                raise
            self._switch(exc)

    def read(self) -> Frame | None:
        if self.active is self.primary:
            try:
                return self.primary.read()
            except SourceError as exc:
                self._switch(exc)
        return self.fallback.read()

    def _switch(self, error: Exception) -> None:
        self.primary.close()
        self.fallback.open()
        self.active = self.fallback
        self.emit("fallback", f"{error}; showing {self.fallback.name} instead")

    def close(self) -> None:
        self.primary.close()
        self.fallback.close()


# -- open by spec ------------------------------------------------------------------------------
def _camera(spec: str, options: dict) -> Source:
    device: int | str = int(spec) if spec.isdigit() else spec
    return ReopeningSource(CameraSource(device))


def _synthetic(spec: str, options: dict) -> Source:
    scene = spec.partition(":")[2] or "digits"
    return SyntheticSource(fps=options["fps"] if options.get("fps") is not None else 30.0, scene=scene)


def _video(spec: str, options: dict) -> Source:
    return VideoFileSource(spec, realtime=options.get("fps") != 0)


def _folder(spec: str, options: dict) -> Source:
    return ImageFolderSource(spec, fps=options.get("fps") or 5.0)


# First match wins: (test on the spec, what it opens, how the help text names it).
OPENERS: list[tuple[Callable[[str], bool], Callable[[str, dict], Source], str]] = [
    (lambda s: s == "synthetic" or s.startswith("synthetic:"), _synthetic, "synthetic[:face|objects|person|hand]"),
    (lambda s: s.isdigit() or s.startswith("/dev/video"), _camera, "a camera index or /dev/videoN"),
    (lambda s: Path(s).suffix.lower() in VIDEO_SUFFIXES, _video, "a video file"),
    (lambda s: Path(s).is_dir(), _folder, "a folder of images"),
]


def open_source(spec: str, fps: float | None = None, fallback: bool = False) -> Source:
    """A source, not yet opened, for "synthetic", "synthetic:face", "0", "/dev/video0", "clip.mp4" or
    "images/". fps: pacing for synthetic/file/folder sources (0: as fast as frames are taken).
    fallback: a camera that fails (even at open) is replaced by the synthetic source."""
    spec = str(spec).strip()
    options = {"fps": fps}
    for matches, make, _ in OPENERS:
        if matches(spec):
            source = make(spec, options)
            if fallback and isinstance(source, ReopeningSource):
                return FallbackSource(source, SyntheticSource(fps=fps if fps is not None else 30.0), on_open=True)
            return source
    raise SourceError(f"{spec!r} is not a source: use " + ", ".join(desc for _, _, desc in OPENERS))

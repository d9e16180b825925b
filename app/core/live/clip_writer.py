"""A one-minute clip of the booth screen as an MP4 (OpenCV's mp4v codec): frames are handed over from
the GUI thread and encoded on a worker thread, so recording never stalls the live panes.

The caller hands over only distinct pictures (a new live frame on screen), as fast as they come. The
clip states its real frame rate: frames ÷ the seconds recorded is the rate written into the MP4
(what every player and `ffprobe` report), so N seconds of recording play for N seconds and no frame
is a padded repeat. The frames go to a hidden temp file first; when the real rate differs from the
one the file was opened with, it is re-timed (decoded and encoded again at that rate) into `path`."""
from __future__ import annotations

import os
import queue
import threading
import time
from pathlib import Path

import numpy as np

MAX_WIDTH = 1280  # small enough to share, large enough to read the captions
CODEC = "mp4v"


def clip_folder() -> Path:
    """The user's Videos folder, else Documents (platformdirs knows where they are on each system)."""
    import platformdirs

    for folder in (platformdirs.user_videos_dir(), platformdirs.user_documents_dir()):
        path = Path(folder)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
    return Path.home()


def new_clip_path(folder: Path, stem: str = "edge-studio-booth") -> Path:
    """A name no file has yet (reserved by creating it empty: two recordings never share one)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    base = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    for n in range(1, 1000):
        path = folder / (f"{base}.mp4" if n == 1 else f"{base}-{n}.mp4")
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"{folder}: no free clip name left for {base}")


def even_size(width: int, height: int, max_width: int = MAX_WIDTH) -> tuple[int, int]:
    """The clip's frame size: at most max_width wide, aspect kept, both even (the codec needs it)."""
    scale = min(1.0, max_width / max(1, width))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def video_info(path: Path) -> dict:
    """What a player sees in an MP4: frames (decoded, counted), the container's fps, the duration."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    fps, frames = capture.get(cv2.CAP_PROP_FPS), 0
    while capture.grab():
        frames += 1
    capture.release()
    return {"frames": frames, "fps": fps, "seconds": frames / fps if fps else 0.0}


class ClipWriter:
    """Encodes RGB frames to `path` on its own thread. add(frame) never blocks for long;
    finish(seconds) says how long the recording took (the real rate is frames ÷ seconds);
    close() waits until every frame is written and returns the frame count."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = Path(path), float(fps)  # fps: the most frames per second the caller sends
        self.frames = 0
        self.real_fps: float | None = None  # written into the file: frames ÷ seconds recorded
        self.error: str | None = None
        self._temp = self.path.with_name(f".{self.path.stem}.part{self.path.suffix}")
        self._queue: queue.Queue = queue.Queue(maxsize=64)
        self._thread = threading.Thread(target=self._run, name="booth-clip-writer", daemon=True)
        self._thread.start()

    def add(self, rgb: np.ndarray, copies: int = 1) -> None:
        if copies > 0 and self.error is None and not self.done:
            self._queue.put((rgb, copies), timeout=10)

    def finish(self, seconds: float | None = None) -> None:
        """No more frames: the thread writes what it holds, sets the file's rate to frames ÷ `seconds`
        (None: keep `fps`), closes the file and ends (see `done`)."""
        self._queue.put(("end", seconds), timeout=30)

    def close(self, seconds: float | None = None, timeout: float = 60.0) -> int:
        """finish(seconds) and wait for the thread; the number of frames written."""
        if not self.done:
            self.finish(seconds)
            self._thread.join(timeout)
        return self.frames

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def _run(self) -> None:
        writer, size = None, (0, 0)
        while not isinstance((item := self._queue.get())[0], str):  # ("end", seconds) closes
            if self.error is not None:
                continue  # keep draining so add() never blocks on a writer that failed
            try:
                writer, size = self._write(writer, size, *item)
            except Exception as exc:  # noqa: BLE001  a full disk must not end the booth: the GUI says so
                self.error = f"the clip could not be written: {exc}"
        if writer is not None:
            writer.release()
        try:
            if self.error is None and self.frames:
                self._settle(item[1])
        except Exception as exc:  # noqa: BLE001  as above: one line for the GUI
            self.error = f"the clip could not be written: {exc}"
        finally:
            self._temp.unlink(missing_ok=True)

    def _settle(self, seconds: float | None) -> None:
        """Move the temp file to `path` at the real rate (re-timed when it is not the rate it has)."""
        import cv2

        real = self.frames / seconds if seconds else self.fps
        self.real_fps = round(real, 2)
        if abs(real - self.fps) <= 0.01 * self.fps:
            os.replace(self._temp, self.path)
            return
        capture = cv2.VideoCapture(str(self._temp))
        writer = None
        try:
            while True:
                ok, bgr = capture.read()
                if not ok:
                    break
                if writer is None:
                    writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*CODEC), self.real_fps,
                                             (bgr.shape[1], bgr.shape[0]))
                    if not writer.isOpened():
                        raise RuntimeError(f"OpenCV cannot write an MP4 to {self.path}")
                writer.write(bgr)
        finally:
            capture.release()
            if writer is not None:
                writer.release()

    def _write(self, writer, size: tuple[int, int], rgb: np.ndarray, copies: int):
        import cv2

        if writer is None:
            size = even_size(rgb.shape[1], rgb.shape[0])
            writer = cv2.VideoWriter(str(self._temp), cv2.VideoWriter_fourcc(*CODEC), self.fps, size)
            if not writer.isOpened():
                raise RuntimeError(f"OpenCV cannot write an MP4 to {self.path}")
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        if (bgr.shape[1], bgr.shape[0]) != size:
            bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        for _ in range(copies):
            writer.write(bgr)
            self.frames += 1
        return writer, size

"""Teachable-Machine-style capture: frames from a camera (or the synthetic source) saved as a folder
dataset DIR/<class>/NNNN.png, the layout `load_folder` and training read."""
from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path

import numpy as np

from app.core.live.sources import EndOfStream, SourceError, open_source

_SAFE = re.compile(r"[^\w\- ]+")


def class_folder_name(name: str) -> str:
    """A class name that is safe as a folder name (no separators, no dots)."""
    cleaned = _SAFE.sub("", name).strip()
    if not cleaned:
        raise ValueError(f"{name!r} is not a usable class name: use letters, digits, spaces, - or _")
    return cleaned[:64]


def write_new(folder: Path, data: bytes) -> Path:
    """The next free NNNN.png in `folder`: after the highest number there, never over an existing file
    (a user's own images, or a gap left by a deleted one)."""
    numbers = [int(p.stem) for p in folder.glob("*.png") if p.stem.isdigit()]
    index = max(numbers, default=-1) + 1
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".capture-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        while True:
            path = folder / f"{index:04d}.png"
            try:
                os.link(tmp, path)  # atomic, and fails rather than replaces
                return path
            except FileExistsError:
                index += 1
    finally:
        os.unlink(tmp)


class CaptureSession:
    """A background reader that keeps the latest frame, and saves it into a class folder on demand."""

    def __init__(self, source_spec: str, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.source = open_source(source_spec, fallback=True)
        self.source.open()  # SourceError: a clear message, nothing started
        self._latest: np.ndarray | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="capture", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                frame = self.source.read()
            except (EndOfStream, SourceError):
                break
            if frame is not None:
                with self._lock:
                    self._latest = frame.image

    def latest(self) -> np.ndarray | None:
        with self._lock:
            return None if self._latest is None else self._latest.copy()

    def save(self, class_name: str) -> Path | None:
        """Write the latest frame as the next PNG of the class; None before the first frame."""
        import cv2

        image = self.latest()
        if image is None:
            return None
        folder = self.folder / class_folder_name(class_name)
        folder.mkdir(parents=True, exist_ok=True)
        ok, png = cv2.imencode(".png", image)
        if not ok:
            raise ValueError("could not encode the frame as PNG")
        return write_new(folder, png.tobytes())

    def counts(self) -> dict[str, int]:
        if not self.folder.is_dir():
            return {}
        return {p.name: len(list(p.glob("*.png"))) for p in sorted(self.folder.iterdir()) if p.is_dir()}

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.source.close()

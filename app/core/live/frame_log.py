"""What the model saw: each frame's decoded results (the first N frames per model) and one overlay every
K frames in a folder, collected from the live pipeline's on_result callback (worker threads).

`edge-studio live --json --results N --snapshot DIR --snapshot-every K` uses it, so that a run can be
checked or reused after it ended: boxes, classes, scores, landmarks and the mask's area per frame.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from app.core.live.pipeline import FrameResult

SNAPSHOT_SUFFIX = ".png"


def _rounded(value, digits: int = 2):
    """JSON of a result with pixel coordinates and scores rounded (a frame's landmarks stay readable)."""
    if isinstance(value, float):
        return round(value, digits + 2) if abs(value) < 1 else round(value, digits)
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v, digits) for v in value]
    return value


@dataclass
class FrameLog:
    """results: frames per model whose decoded results are kept (0: none). snapshots: a folder that gets
    the overlay of every `every`-th frame each model processes (None: none)."""

    results: int = 0
    snapshots: Path | None = None
    every: int = 30
    per_model: dict[str, list[dict]] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"--snapshot-every {self.every}: keep one overlay every 1 or more frames")
        if self.results < 0:
            raise ValueError(f"--results {self.results}: give a number of frames, 0 or more")
        if self.snapshots is not None:
            if self.snapshots.exists() and not self.snapshots.is_dir():
                raise ValueError(f"--snapshot {self.snapshots}: a file is there, not a folder")
            self.snapshots.mkdir(parents=True, exist_ok=True)

    def __call__(self, done: FrameResult) -> None:
        """The pipeline's on_result: runs in the model's worker thread, so it stays short."""
        with self._lock:
            count = self._seen.get(done.model, 0)
            self._seen[done.model] = count + 1
            if count < self.results:
                self.per_model.setdefault(done.model, []).append(
                    {"seq": done.seq, "frame": done.frame.index, "result": _rounded(done.result.to_json()),
                     "ms": {k: round(v, 3) for k, v in done.timings.items()}})
        if self.snapshots is not None and done.image is not None and count % self.every == 0:
            self._snapshot(done, count)

    def _snapshot(self, done: FrameResult, count: int) -> None:
        import cv2

        from app.core.files import write_atomic

        ok, encoded = cv2.imencode(SNAPSHOT_SUFFIX, done.image)
        if not ok:
            return
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in done.model)
        path = self.snapshots / f"{stem}-{count:06d}{SNAPSHOT_SUFFIX}"  # the model's own frame count
        write_atomic(path, encoded.tobytes())
        with self._lock:
            self.written.append(path)

    def to_json(self) -> dict:
        with self._lock:
            return {"results": {m: list(rows) for m, rows in self.per_model.items()},
                    "snapshots": [str(p) for p in sorted(self.written)]}

"""Sources that fail on purpose, for the camera-fault tests (not shipped: tests only)."""
from __future__ import annotations

from app.core.live.sources import Frame, Source, SourceError, Wrapper


class FlakySource(Wrapper):
    """Simulates a camera that stops mid-stream (for tests and demos): after `fail_after` frames
    every read fails until the source is reopened; the first `dead_reopens` reopen attempts fail
    too (a large number: the device is gone for good)."""

    def __init__(self, inner: Source, fail_after: int = 30, dead_reopens: int = 0) -> None:
        super().__init__()
        self.inner, self.fail_after, self.dead_reopens = inner, fail_after, dead_reopens
        inner.on_event = self._relay
        self.opens = 0
        self._served = 0
        self._stalled = False

    @property
    def name(self) -> str:
        return f"flaky {self.inner.name}"

    def open(self) -> None:
        self.opens += 1
        if self.opens > 1 and self.dead_reopens > 0:
            self.dead_reopens -= 1
            raise SourceError(f"{self.name}: device not found")
        self.inner.open()
        self._served, self._stalled = 0, False

    def read(self) -> Frame | None:
        if self._stalled or (self.opens == 1 and self._served >= self.fail_after):
            self._stalled = True  # stalls once, in the first session: a reopen cures it
            return None
        self._served += 1
        return self.inner.read()

    def close(self) -> None:
        self.inner.close()

"""The live pipeline: capture thread → latest-frame slot → one worker per model → FrameResult.

The capture thread overwrites a one-frame slot; it never queues. Each model has its own worker
that takes the newest frame it has not seen, so a slow runtime (Lite's x86 INT8 kernels) only
skips frames for itself and never holds back the other model or the camera. A source with fps 0
(unpaced: synthetic or a file read as fast as possible) is read on demand instead, when a worker
has taken the previous frame, so no frames are rendered just to be dropped.

Every FrameResult carries per-stage milliseconds; `stats()` gives FPS, drops and percentiles.
Runtimes are any object with predict(x) -> list, input_shape and close(): Lite, onnxruntime,
or the cloud client.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from app.core.live import metrics
from app.core.live.postprocess import ModelSpec, Result, overlay
from app.core.live.sources import EndOfStream, Frame, Source, SourceError, SourceEvent

STAGES = ("capture_wait", "queue", "preprocess", "inference", "postprocess", "overlay", "latency")
HISTORY = 5000  # frames kept for percentiles (a rolling window in a long GUI session)
RECENT = 32  # results kept per model to compare with the other model's result on the same frame


@dataclass
class FrameResult:
    model: str
    seq: int  # capture sequence number (the same frame has the same seq in every model)
    frame: Frame
    result: Result
    image: np.ndarray | None  # the frame with the overlay drawn (None with draw=False)
    # ms: capture_wait (blocked in source.read), queue (captured → taken by this worker), preprocess,
    # inference, postprocess, overlay, latency (captured → overlay done: what the pipeline adds)
    timings: dict[str, float]


@dataclass
class LiveModel:
    """A model as the pipeline runs it: spec (preprocess, postprocessor) and an open runtime."""

    spec: ModelSpec
    runtime: Any  # predict(x) -> list[np.ndarray], input_shape, close()
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or self.spec.name
        self.spec = self.spec.fit_layout(tuple(self.runtime.input_shape))
        self.decode = self.spec.postprocess()

    @property
    def runtime_name(self) -> str:
        return getattr(self.runtime, "name", type(self.runtime).__name__)

    def close(self) -> None:
        self.runtime.close()


@dataclass
class _Captured:
    seq: int
    frame: Frame
    ready: float  # perf_counter when read() returned
    wait_ms: float


class LatestSlot:
    """One frame, overwritten by each capture; readers wait for a frame newer than the last they took."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: _Captured | None = None
        self._taken = -1  # newest seq any reader has taken
        self.closed = False

    def put(self, item: _Captured) -> None:
        with self._cond:
            self._item = item
            self._cond.notify_all()

    def take_newer(self, seq: int, timeout: float) -> _Captured | None:
        with self._cond:
            self._cond.wait_for(lambda: self.closed or (self._item is not None and self._item.seq > seq), timeout)
            if self._item is None or self._item.seq <= seq:
                return None
            self._taken = max(self._taken, self._item.seq)
            self._cond.notify_all()
            return self._item

    def wait_taken(self, seq: int, timeout: float) -> bool:
        """For on-demand sources: wait until some reader has taken frame `seq`."""
        with self._cond:
            return self._cond.wait_for(lambda: self.closed or self._taken >= seq, timeout)

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class _Tally:
    """Counters and a rolling window of per-stage timings for one model."""

    def __init__(self) -> None:
        self.processed = 0
        self.dropped = 0
        self.first: float | None = None
        self.last: float | None = None
        self.timings: dict[str, deque] = {k: deque(maxlen=HISTORY) for k in STAGES}
        self.busy: deque = deque(maxlen=HISTORY)  # preprocess → overlay, ms
        self.recent: dict[int, Result] = {}  # seq → result, the last RECENT frames (for agreement between models)
        self.truth: metrics.Tally | None = None  # the per-kind figure against the synthetic truth
        self.error: str | None = None
        self.finished = False


def _percentiles(values) -> dict[str, float | None]:
    values = list(values)  # a snapshot: workers keep appending (list() of a deque holds the GIL)
    if not values:
        return {"p50": None, "p90": None, "p99": None, "mean": None}
    a = np.asarray(values, float)
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    return {"p50": round(float(p50), 3), "p90": round(float(p90), 3), "p99": round(float(p99), 3),
            "mean": round(float(a.mean()), 3)}


@dataclass
class LiveStats:
    source: dict
    models: list[dict]
    wall_s: float
    agreement: list[dict] = field(default_factory=list)  # per-kind agreement of model pairs on shared frames

    def to_json(self) -> dict:
        return {"source": self.source, "wall_s": round(self.wall_s, 3), "models": self.models,
                "agreement": self.agreement}


class LivePipeline:
    """Runs `models` side by side on frames from `source`.

    Headless: `stats = LivePipeline(source, models).run(frames=300)`. GUI: start(), read
    latest(i) or get on_result(FrameResult) callbacks (from worker threads), stop(). The pipeline
    opens and closes the source; close() also closes the models' runtimes.
    """

    def __init__(self, source: Source, models: list[LiveModel], draw: bool = True,
                 on_result: Callable[[FrameResult], None] | None = None,
                 on_event: Callable[[SourceEvent], None] | None = None) -> None:
        if not models:
            raise ValueError("the live pipeline needs at least one model")
        self.source, self.models, self.draw = source, list(models), draw
        self.on_result, self.on_event = on_result, on_event
        self._slot = LatestSlot()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._tallies = [_Tally() for _ in self.models]
        self._pairs: dict[tuple[int, int], metrics.Tally] = {}
        self._latest: list[FrameResult | None] = [None] * len(self.models)
        self.view_sizes: list[tuple[int, int] | None] = [None] * len(self.models)  # the panes showing them
        self._lock = threading.Lock()
        self._captured = 0
        self._failed_reads = 0
        self.events: deque[SourceEvent] = deque(maxlen=100)  # the source's and our own, newest last: a GUI polls them
        self._source_state = "idle"  # running, ended, failed, stopped
        self._source_error: str | None = None
        self._started = self._stopped = 0.0
        self._done = threading.Event()  # every worker has finished (or the run reached its frame count)
        self._target: int | None = None

    # -- control -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self) -> None:
        if self.running:
            raise RuntimeError("the live pipeline is already running")
        self.source.on_event = self._event
        self.events.clear()
        self.source.open()  # SourceError here: nothing started
        self._slot, self._stop = LatestSlot(), threading.Event()
        self._tallies = [_Tally() for _ in self.models]
        self._pairs = {}
        self._latest = [None] * len(self.models)
        self._captured = self._failed_reads = 0
        self._source_state, self._source_error = "running", None
        self._done.clear()
        self._started, self._stopped = time.perf_counter(), 0.0
        self._threads = [threading.Thread(target=self._capture, name="live-capture", daemon=True)]
        self._threads += [threading.Thread(target=self._work, args=(i,), name=f"live-model-{i}", daemon=True)
                          for i in range(len(self.models))]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the threads and close the source (models stay open for another start())."""
        self._stop.set()
        self._slot.close()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if not self._stopped:
            self._stopped = time.perf_counter()
        if self._source_state == "running":
            self._source_state = "stopped"
        self.source.close()

    def close(self) -> None:
        self.stop()
        for model in self.models:
            model.close()

    def run(self, frames: int = 300, timeout: float | None = None) -> LiveStats:
        """Headless: run until every model has processed `frames` frames (or the source ends, or
        `timeout` seconds pass), then stop and return the stats."""
        self._target = frames
        try:
            self.start()
            self._done.wait(timeout)
        finally:
            self.stop()
            self._target = None
        return self.stats()

    def set_view(self, index: int, width: int, height: int) -> None:
        """The size of the pane that shows model `index`: its overlay is drawn in the pane's pixels
        (from the GUI thread; a tuple swap is atomic for the worker that reads it)."""
        if index < len(self.view_sizes) and width > 0 and height > 0:
            self.view_sizes[index] = (width, height)

    def latest(self, index: int = 0) -> FrameResult | None:
        return self._latest[index]

    def __enter__(self) -> "LivePipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- threads -------------------------------------------------------------------------------
    def _event(self, event: SourceEvent) -> None:
        self.events.append(event)
        if self.on_event is not None:
            # A listener that fails (e.g. a Qt signal whose object is gone) must not stop the capture,
            # which calls this from inside source.read(); the event stays in .events either way.
            try:
                self.on_event(event)
            except Exception:  # noqa: BLE001
                pass

    def _capture(self) -> None:
        on_demand = not self.source.fps
        seq = -1
        try:
            while not self._stop.is_set():
                if on_demand and seq >= 0 and not self._slot.wait_taken(seq, 0.1):
                    continue
                started = time.perf_counter()
                frame = self.source.read()
                ready = time.perf_counter()
                if frame is None:
                    self._failed_reads += 1
                    continue
                seq += 1
                self._captured = seq + 1
                self._slot.put(_Captured(seq, frame, ready, (ready - started) * 1000))
        except EndOfStream:
            self._source_state = "ended"
        except SourceError as exc:
            self._source_state, self._source_error = "failed", str(exc)
            self._event(SourceEvent("failed", str(exc)))
        except Exception as exc:  # a source bug must not leave workers waiting forever
            self._source_state, self._source_error = "failed", f"{type(exc).__name__}: {exc}"
            self._event(SourceEvent("failed", self._source_error))
        finally:
            self._slot.close()

    def _work(self, index: int) -> None:
        model, tally = self.models[index], self._tallies[index]
        last = -1
        try:
            while not self._stop.is_set():
                item = self._slot.take_newer(last, 0.1)
                if item is None:
                    if self._slot.closed:
                        break
                    continue
                tally.dropped += item.seq - last - 1
                last = item.seq
                self._process(index, model, tally, item)
                if self._target is not None and tally.processed >= self._target:
                    break
        except Exception as exc:  # e.g. the cloud server went away: this model stops, the rest go on
            tally.error = f"{type(exc).__name__}: {exc}"
            self._event(SourceEvent("model_failed", f"{model.name}: {tally.error}"))
        finally:
            with self._lock:
                tally.finished = True
                if all(t.finished for t in self._tallies):
                    self._stopped = time.perf_counter()
                    self._done.set()

    def _process(self, index: int, model: LiveModel, tally: _Tally, item: _Captured) -> None:
        t0 = time.perf_counter()
        x, geometry = model.spec.prepare(item.frame.image)
        t1 = time.perf_counter()
        outputs = model.runtime.predict(x)
        t2 = time.perf_counter()
        result = model.decode(outputs, geometry)
        t3 = time.perf_counter()
        image = None
        if self.draw:
            fps = self._fps(tally)
            shown = {k: tally.timings[k][-1] for k in ("preprocess", "inference", "postprocess")
                     if tally.timings[k]}
            view = self.view_sizes[index]
            frame = item.frame.image if view is not None else item.frame.image.copy()  # a view draws on a copy
            image = overlay(frame, result, fps, shown, f"{model.name} ({model.runtime_name})", view=view)
        t4 = time.perf_counter()
        timings = {"capture_wait": item.wait_ms, "queue": (t0 - item.ready) * 1000,
                   "preprocess": (t1 - t0) * 1000, "inference": (t2 - t1) * 1000,
                   "postprocess": (t3 - t2) * 1000, "overlay": (t4 - t3) * 1000,
                   "latency": (t4 - item.ready) * 1000}
        for key, value in timings.items():
            tally.timings[key].append(value)
        tally.busy.append((t4 - t0) * 1000)
        tally.processed += 1
        tally.first = tally.first or t0
        tally.last = t4
        self._judge(index, model, tally, item, result)
        done = FrameResult(model.name, item.seq, item.frame, result, image, timings)
        self._latest[index] = done
        if self.on_result is not None:
            self.on_result(done)

    def _judge(self, index: int, model: LiveModel, tally: _Tally, item: _Captured, result: Result) -> None:
        """The per-kind figure against the frame's truth, and against every other model's result on
        the same frame (whichever of the two finishes the frame second compares them)."""
        kind = model.spec.postprocessor
        if item.frame.truth is not None:
            figure = metrics.compare(kind, result, item.frame.truth)
            if figure is not None:
                tally.truth = tally.truth or metrics.Tally(kind)
                tally.truth.add(figure)
        with self._lock:
            tally.recent[item.seq] = result
            if len(tally.recent) > RECENT:
                tally.recent.pop(next(iter(tally.recent)))
            for other in range(len(self.models)):
                theirs = self._tallies[other].recent.get(item.seq) if other != index else None
                other_kind = self.models[other].spec.postprocessor
                if theirs is None or metrics.FAMILY.get(other_kind) != metrics.FAMILY.get(kind):
                    continue
                first, second = sorted((index, other))
                reference, judged = (result, theirs) if first == index else (theirs, result)
                pair = self._pairs.setdefault((first, second), metrics.Tally(self.models[first].spec.postprocessor))
                pair.add(metrics.compare(self.models[first].spec.postprocessor, judged, reference))

    @staticmethod
    def _fps(tally: _Tally) -> float | None:
        if tally.processed < 2 or not tally.last or not tally.first or tally.last <= tally.first:
            return None
        return (tally.processed - 1) / (tally.last - tally.first)

    # -- report --------------------------------------------------------------------------------
    def stats(self) -> LiveStats:
        end = self._stopped or time.perf_counter()
        wall = max(1e-9, end - self._started) if self._started else 0.0
        models = []
        for model, tally in zip(self.models, self._tallies):
            busy = list(tally.busy)
            entry = {"name": model.name, "runtime": model.runtime_name, "postprocessor": model.spec.postprocessor,
                     "processed": tally.processed, "dropped": tally.dropped,
                     # from the start to this model's last frame: a model that finished early is not diluted
                     "fps": round(tally.processed / max(1e-9, tally.last - self._started), 2) if tally.last else 0.0,
                     # frames/s the stages could sustain if frames were always waiting
                     "capacity_fps": round(1000 / float(np.mean(busy)), 2) if busy else None,
                     "ms": {k: _percentiles(tally.timings[k]) for k in STAGES},
                     "error": tally.error}
            if tally.truth is not None and tally.truth.frames:  # synthetic frames know their truth
                entry["vs_truth"] = tally.truth.to_json()
            describe = getattr(model.runtime, "describe", None)
            if callable(describe):
                entry["runtime_info"] = describe()
            models.append(entry)
        source = {"name": self.source.name, "nominal_fps": self.source.fps, "captured": self._captured,
                  "failed_reads": self._failed_reads, "state": self._source_state, "error": self._source_error,
                  "events": [{"kind": e.kind, "message": e.message} for e in self.source.events]}
        return LiveStats(source, models, wall, self._agreement())

    def _agreement(self) -> list[dict]:
        pairs = []
        with self._lock:
            tallies = dict(self._pairs)
        for (i, j), tally in sorted(tallies.items()):
            if not tally.frames:
                continue
            entry = {"models": [self.models[i].name, self.models[j].name], "shared_frames": tally.frames,
                     **{k: v for k, v in tally.to_json().items() if k != "frames"}}
            entry["agreement"] = entry.pop("rate")
            if metrics.FAMILY[tally.kind] == "classes":
                entry["top1_agreement"] = entry["agreement"]
            pairs.append(entry)
        return pairs

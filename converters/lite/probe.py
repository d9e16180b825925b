"""probe_lite_file(): load a Lite file (.ms, .mindir) in a child process and run it once on zeros, so a
file that crashes Lite cannot take the caller down. `convert.probe` handles source formats on top."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from converters.formats import checked_format, content_problem, lite_format
from converters.lite.errors import LiteError, with_lite_text
from jobs.child import ChildError, run_child
from jobs.state import JobState


@dataclass
class ProbeResult:
    path: Path
    inputs: list[dict]  # name, shape, dtype, format
    outputs: list[dict]
    load_ms: float
    first_run_ms: float
    converted: bool  # the source was converted to .ms for the probe

    def to_json(self) -> dict:
        return {"path": str(self.path), "inputs": self.inputs, "outputs": self.outputs,
                "load_ms": round(self.load_ms, 2), "first_run_ms": round(self.first_run_ms, 3),
                "converted": self.converted}


def probe_lite_file(path: str | Path, timeout: float = 120.0, state: JobState | None = None) -> ProbeResult:
    path = Path(path)
    fmt = checked_format(path, lite_format, LiteError)
    if problem := content_problem(path, fmt.name):
        # not worth a child process: Lite would only say "Load model by meta graph failed"
        raise LiteError(f"{path.name}: {problem}")
    try:
        answer = run_child("converters.lite.probe:probe_in_child", {"path": str(path.resolve())}, state,
                           timeout=timeout)
    except ChildError as exc:
        raise with_lite_text(f"Lite could not load {path.name}: {exc}", exc.log) from None
    return ProbeResult(path, answer["inputs"], answer["outputs"], answer["load_ms"], answer["first_run_ms"], False)


def probe_in_child(params: dict, state: JobState) -> dict:
    """Inside the probe child: load, describe, and run once on zeros."""
    import numpy as np

    from converters.lite.model import LiteModel

    started = time.perf_counter()
    model = LiteModel(params["path"], threads=1)
    load_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    model.predict([np.zeros(s.shape, s.dtype) for s in model.inputs])
    run_ms = (time.perf_counter() - started) * 1000

    def describe(specs):
        return [{"name": s.name, "shape": list(s.shape), "dtype": s.dtype.name, "format": s.format} for s in specs]

    return {"inputs": describe(model.inputs), "outputs": describe(model.outputs), "load_ms": load_ms,
            "first_run_ms": run_ms}

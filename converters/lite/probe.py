"""probe(): load a model in a child process first, so a file that crashes Lite cannot take
the caller down. Source formats (ONNX, TFLite, …) are converted to a temporary .ms, then probed."""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from converters.formats import LITE_FORMATS, content_problem, lite_format, path_problem
from converters.lite.errors import LiteError, with_lite_text


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


def probe(path: str | Path, timeout: float = 120.0) -> ProbeResult:
    from app.core.child import ChildError, run_child

    path = Path(path)
    if path.suffix.lower() not in {f.suffix for f in LITE_FORMATS}:
        from converters.lite.convert import convert

        with tempfile.TemporaryDirectory(prefix="edge-studio-probe-") as tmp:
            converted = convert(path, Path(tmp) / "probe.ms", timeout=timeout)
            try:
                result = probe(converted.path, timeout=timeout)
            except LiteError as exc:  # name the user's file, not our temporary one
                raise LiteError(str(exc).replace("probe.ms", f"{path.name} (converted to .ms)"),
                                exc.log) from None
        result.path, result.converted = path, True
        return result
    if problem := path_problem(path):
        raise LiteError(f"{path}: {problem}")
    problem = content_problem(path, lite_format(path).name)
    if problem:  # not worth a child process: Lite would only say "Load model by meta graph failed"
        raise LiteError(f"{path.name}: {problem}")
    try:
        answer = run_child("probe", {"path": str(path.resolve())}, timeout=timeout)
    except ChildError as exc:
        raise with_lite_text(f"Lite could not load {path.name}: {exc}", exc.log) from None
    return ProbeResult(path, answer["inputs"], answer["outputs"], answer["load_ms"], answer["first_run_ms"], False)


def run_in_child(params: dict) -> dict:
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

"""The numbers booth mode shows besides the live panes: how big the digits model is on each tier and
how accurate it stays there. Sizes are the files themselves; top-1 is measured on the held-out digits
(the split training used) by running the built Lite files in a child, once per build of the samples
(kept next to the built INT8 sample, so a warm start reads a small JSON)."""
from __future__ import annotations

from pathlib import Path

from app.core.files import read_json, write_json
from jobs.state import JobState
from sample_models import DIGITS

FACTS_FILE = "booth-facts.json"


def sizes(edge_ms: Path, device_ms: Path) -> dict[str, int]:
    """Bytes of the digits model as each tier holds it: ONNX (what training hands over), the cloud's
    MindIR, the edge's Lite FP32 .ms, the device's Lite INT8 .ms."""
    return {"onnx": (DIGITS / "model.onnx").stat().st_size, "cloud": (DIGITS / "model.mindir").stat().st_size,
            "edge": Path(edge_ms).stat().st_size, "device": Path(device_ms).stat().st_size}


def facts_path(device_ms: Path) -> Path:
    return Path(device_ms).parent / FACTS_FILE


def cached_facts(device_ms: Path) -> dict | None:
    path = facts_path(device_ms)
    return read_json(path) if path.is_file() else None


def facts_job(params: dict, state: JobState) -> dict:
    """In a child (Lite's runtime and scikit-learn's import stay out of the GUI process): top-1 of
    the edge and device files on the held-out digits, with the cloud's from training's metrics."""
    from app.core.models.evaluate import evaluate, validation_inputs
    from app.core.preprocess import PreprocessSpec

    metrics = read_json(DIGITS / "metrics.json")
    spec = PreprocessSpec.load(DIGITS / "preprocess.json")
    x_val, y_val = validation_inputs(metrics.get("dataset_source") or "digits", spec, seed=metrics.get("seed", 0))
    top1 = {"cloud": metrics["val_top1"]}
    for tier in ("edge", "device"):
        state.check()
        top1[tier] = evaluate(params[tier], x_val, y_val, threads=1, data=metrics.get("dataset_source") or "digits")["top1"]
    facts = {"top1": top1, "samples": int(len(y_val)),
             "sizes": sizes(Path(params["edge"]), Path(params["device"]))}
    write_json(facts_path(Path(params["device"])), facts)
    return facts


def load_facts(edge_ms: Path, device_ms: Path, state: JobState | None = None) -> dict:
    """The facts from the cache, else measured in a child (a few seconds)."""
    from jobs.child import run_child

    found = cached_facts(device_ms)
    if found is not None:
        return found
    return run_child("app.core.live.booth_facts:facts_job", {"edge": str(edge_ms), "device": str(device_ms)},
                     state, timeout=300)

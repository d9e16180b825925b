"""deploy(): trained (or imported) model → every available target → evaluation → one package
folder per tier with the model file(s), preprocess.json, labels.json, metrics.json and a run card.

Works like an Orange3 job: a plain function taking `progress(fraction, message)` and a cancel event.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

from app.core import runcard
from app.core.datasets import load_dataset_for
from app.core.evaluate import evaluate, validation_inputs
from app.core.files import publish_dir, read_json, write_json
from app.core.preprocess import PreprocessSpec
from converters.lite import QuantConfig, convert
from converters.targets import TIERS, Target, available_targets, unavailable_targets

Progress = Callable[[float, str], None]


class DeployError(RuntimeError):
    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log  # the child's log, for a details pane


def _source_files(model: Path) -> dict:
    """The training hand-off next to model.onnx: labels, preprocess, metrics, the cloud .mindir."""
    folder = model.parent
    found = {"onnx": model}
    for key, name in (("labels", "labels.json"), ("preprocess", "preprocess.json"), ("metrics", "metrics.json"),
                      ("mindir", "model.mindir")):
        if (folder / name).is_file():
            found[key] = folder / name
    return found


def _calibration(data: str, spec: PreprocessSpec, samples: int, seed: int) -> np.ndarray:
    """INT8 calibration from the training split (never the validation split)."""
    dataset = load_dataset_for(data, spec)
    train, _ = dataset.split(0.2, seed)
    pick = np.random.default_rng(seed).permutation(train)[:samples]
    return dataset.inputs(pick)


def deploy(model: str | Path, out: str | Path, *, data: str | None = None, calibration: str | None = None,
           calibration_samples: int = 100, calibration_method: str = "MAX_MIN", tiers: tuple[str, ...] = TIERS,
           progress: Progress | None = None, cancel: threading.Event | None = None) -> dict:
    """Build, evaluate and package every available target of `tiers` for `model` (an ONNX file)."""
    model, out = Path(model), Path(out)
    report = progress or (lambda fraction, message: None)
    if model.suffix.lower() != ".onnx":
        raise DeployError(f"{model}: deploy starts from an ONNX file (train's model.onnx, or an imported one)")
    if not model.is_file():
        raise DeployError(f"{model}: no such file" if not model.exists() else f"{model}: not a file")
    files = _source_files(model)
    if "preprocess" not in files:
        raise DeployError(f"{model.parent}: no preprocess.json next to the model (train writes one)")
    spec = PreprocessSpec.load(files["preprocess"])
    metrics = read_json(files["metrics"]) if "metrics" in files else {}
    data = data or metrics.get("dataset_source") or metrics.get("dataset")
    if not data:
        raise DeployError(f"{model.name}: no metrics.json next to it names its evaluation data: "
                          "pass data ('--data') 'digits' or a folder")
    seed = metrics.get("seed", 0)
    targets = [t for t in available_targets(tiers) if t.runtime == "lite" or "mindir" in files]
    skipped = {t.name: "no MindSpore .mindir next to the model (only models trained here have a cloud tier)"
               for t in available_targets(tiers) if t not in targets} | unavailable_targets(tiers)
    x_val, y_val = validation_inputs(data, spec, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A short prefix: a 255-byte out.name (NAME_MAX) must still leave room for the random suffix.
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name[:32]}.deploy-"))
    started = time.perf_counter()
    try:
        report(0.0, "evaluating the FP32 ONNX reference")
        reference = evaluate(model, x_val, y_val, data=data)
        results = {"reference": _public(reference)}
        for i, target in enumerate(targets):
            if cancel is not None and cancel.is_set():
                raise DeployError("deploy was cancelled")
            report((i + 0.5) / (len(targets) + 1), f"building {target.name}")
            results[target.name] = _build_and_evaluate(target, files, staging, spec, data, seed, x_val, y_val,
                                                       reference, calibration, calibration_samples,
                                                       calibration_method, cancel)
        fp32_ms = results.get("edge-fp32", {}).get("size_bytes")
        for result in results.values():
            if fp32_ms and result.get("runtime") == "lite":
                result["size_vs_fp32_ms"] = round(result["size_bytes"] / fp32_ms, 4)
        summary = {"model": str(model), "data": data, "samples": int(len(y_val)), "targets": results,
                   "skipped": skipped, "seconds": round(time.perf_counter() - started, 2)}
        for tier in {t.tier for t in targets}:
            folder = staging / tier
            if "labels" in files:
                shutil.copy(files["labels"], folder / "labels.json")
            spec.save(folder / "preprocess.json")
            tier_results = {name: r for name, r in results.items() if name.startswith(tier)}
            write_json(folder / "metrics.json", {"reference": results["reference"], "targets": tier_results})
            (folder / "README.md").write_text(runcard.render(tier, tier_results, spec, files.get("labels")))
        write_json(staging / "deploy.json", summary)
        publish_dir(staging, out)
        report(1.0, "done")
        return summary
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _build_and_evaluate(target: Target, files: dict, staging: Path, spec: PreprocessSpec, data: str, seed: int,
                        x_val, y_val, reference: dict, calibration: str | None, samples: int, method: str,
                        cancel) -> dict:
    folder = staging / target.tier
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / target.file
    started = time.perf_counter()
    if target.runtime == "mindspore":
        shutil.copy(files["mindir"], path)
    else:
        quant = None
        if target.calibration:
            source = calibration or _calibration(data, spec, samples, seed)
            quant = QuantConfig(source, method=method, max_samples=samples)
        convert(files["onnx"], path, quant=quant, cancel=cancel, **target.convert_options)
    build_seconds = time.perf_counter() - started
    result = evaluate(path, x_val, y_val, threads=target.threads, reference_outputs=reference["outputs"], data=data)
    return {**_public(result), "model": f"{target.tier}/{target.file}", "tier": target.tier,
            "precision": target.precision, "threads": target.threads, "build_seconds": round(build_seconds, 3),
            "size_vs_fp32_onnx": round(result["size_bytes"] / reference["size_bytes"], 4),
            "top1_delta_vs_fp32": round(result["top1"] - reference["top1"], 6)}


def _public(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "outputs"}


def run_in_child(params: dict) -> dict:
    """Inside a child: deploy with progress as events; SIGTERM from the parent cancels cleanly."""
    from app.core.child import cancel_requested, emit_event

    return deploy(params.pop("model"), params.pop("out"), cancel=cancel_requested(),
                  progress=lambda f, m: emit_event({"type": "progress", "fraction": f, "message": m}),
                  tiers=tuple(params.pop("tiers")), **params)


def deploy_in_child(model: str | Path, out: str | Path, *, progress: Progress | None = None,
                    cancel: threading.Event | None = None, timeout: float = 3600, **options) -> dict:
    """deploy() in its own process, so a GUI thread never waits on the evaluation's GIL-holding calls."""
    from app.core.child import ChildError, run_child

    params = {"model": str(Path(model).resolve()), "out": str(Path(out).resolve()),
              "tiers": list(options.pop("tiers", TIERS)), **options}
    on_event = (lambda e: progress(e["fraction"], e["message"])) if progress else None
    try:
        return run_child("deploy", params, timeout=timeout, on_event=on_event, cancel=cancel, grace=10)
    except ChildError as exc:
        raise DeployError("deploy was cancelled" if exc.kind == "cancelled" else str(exc), exc.log) from None

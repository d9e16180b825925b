"""Evaluate any artifact on a dataset: top-1, and agreement with the FP32 reference."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.core.models.datasets import Dataset, load_dataset_for
from app.core.preprocess import PreprocessSpec, find_sidecar
from app.core.runtimes import run_batch, runtime_name
from converters.formats import content_problem, format_name


class EvaluationError(ValueError):
    """The model cannot be evaluated on this data; the message names the model (and the data)."""


def validation_inputs(data: str | Dataset, spec: PreprocessSpec | None = None, seed: int = 0,
                      val_fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """The held-out split training used (same seed), preprocessed like the model's input."""
    if isinstance(data, Dataset):
        dataset = data
        if spec is not None:
            dataset.preprocess = spec
    else:
        dataset = load_dataset_for(data, spec)
    _, val = dataset.split(val_fraction, seed)
    return dataset.inputs(val), dataset.labels[val]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean per-sample cosine similarity of two (N, ...) output batches."""
    a, b = a.reshape(len(a), -1).astype(np.float64), b.reshape(len(b), -1).astype(np.float64)
    denom = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(np.mean(np.sum(a * b, axis=1) / np.where(denom == 0, 1, denom)))


def evaluate(model: str | Path, x: np.ndarray, labels: np.ndarray | None, threads: int = 0,
             reference_outputs: list[np.ndarray] | None = None, data: str = "") -> dict:
    """Run every sample through the model's runtime; top-1 on output 0 (None without labels: the data is
    not a labelled dataset the model classifies), cosine vs the reference. `data` names the dataset in
    error messages."""
    model = Path(model)
    fmt = format_name(model)
    problem = fmt and model.is_file() and content_problem(model, fmt)
    if problem:  # before a runtime (a MindSpore child takes seconds to start) meets a file it cannot read
        raise EvaluationError(f"{model.name}: {problem}")
    outputs = _outputs(model, x, threads)
    top1 = None
    if labels is not None:
        _check_scores(model, outputs[0], labels, data)
        top1 = float((outputs[0].argmax(-1) == labels).mean())
    result = {"model": str(model), "runtime": runtime_name(model), "size_bytes": model.stat().st_size,
              "samples": int(len(x)), "top1": top1}
    if reference_outputs is not None:
        result["cosine_vs_fp32"] = [round(cosine(o, r), 6) for o, r in zip(outputs, reference_outputs)]
    result["outputs"] = outputs
    return result


def _outputs(model: Path, x: np.ndarray, threads: int) -> list[np.ndarray]:
    try:
        return run_batch(model, x, threads=threads)
    except (RuntimeError, ValueError):
        raise  # the runtimes' own errors already name the model
    except Exception as exc:  # onnxruntime raises its own types (InvalidProtobuf, Fail, …), not RuntimeError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EvaluationError(f"{runtime_name(model)} could not run {model.name}: {first}") from exc


def _check_scores(model: Path, scores: np.ndarray, labels: np.ndarray, data: str) -> None:
    """Top-1 needs one row of class scores per sample, and a score for every label of the data."""
    if scores.ndim != 2 or len(scores) != len(labels):
        raise EvaluationError(f"{model.name}: output 0 has shape {tuple(scores.shape)} for {len(labels)} "
                              "samples; top-1 needs one row of class scores per sample")
    if len(labels) and labels.max() >= scores.shape[1]:
        where = Path(data).name if data else "the dataset"
        raise EvaluationError(f"{model.name} scores {scores.shape[1]} classes, but {where} has at least "
                              f"{labels.max() + 1}: evaluate it on the data it was trained for")


def find_preprocess(model: Path) -> PreprocessSpec | None:
    """preprocess.json next to the model, or in its parent (deployment packages)."""
    found = find_sidecar(model, "preprocess.json")
    return PreprocessSpec.load(found) if found else None

"""Judged by the task: a converted variant against its FP32 reference on representative data, through the
model's own decoder, by the kind's metric (top-1, box agreement, mask IoU, keypoint PCK).

Raw-tensor figures (cosine on seeded random inputs: converters.verify) say whether the arithmetic is
sound; they say little about whether a quantized model still does its job. A quantized variant is WRONG
only when its task figure falls beyond the description's tolerance (TASKS in app/core/description.py,
or the user's); "close" otherwise, shipped with the figure. Per-output cosines on the same data are
reported beside it, with the auxiliary outputs (the description's) marked: they do not judge.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel

from app.core.description import ModelDescription
from app.core.live import metrics
from app.core.live.postprocess import ModelSpec, model_spec
from app.core.live.results import Geometry
from app.core.models.evaluate import cosine
from converters.tensor_compare import align

Verdict = Literal["matches", "close", "WRONG"]


class OutputFigure(BaseModel):
    name: str
    role: str  # main or auxiliary
    cosine: float  # mean per-sample cosine against the reference on the representative data


class TaskCheck(BaseModel):
    metric: str  # the kind's metric, e.g. "top-1", "box agreement (IoU ≥ 0.5)"
    against: str  # "labels" (accuracy of each side) or "FP32" (the variant's agreement with the reference)
    reference: float | None  # the reference's own figure against the labels, % (None: judged by agreement)
    value: float  # the variant's figure, %
    loss: float  # points below the reference (labels) or below full agreement (FP32)
    tolerance: float  # points the variant may lose
    verdict: Verdict
    samples: int
    data: str  # what the figures rest on
    outputs: list[OutputFigure] = []
    note: str = ""  # why it was judged this way, when not by the kind's metric against the labels

    def summary(self) -> str:
        if self.against == "labels":
            text = (f"{self.metric} {self.value:.2f} % vs FP32 {self.reference:.2f} % "
                    f"(−{max(self.loss, 0):.2f} points; tolerance {self.tolerance:g})")
        else:
            measured = self.metric if "FP32" in self.metric else f"{self.metric} with FP32"
            text = f"{measured} {self.value:.1f} % (tolerance −{self.tolerance:g} points)"
        main = [o for o in self.outputs if o.role == "main"]
        if main and self.verdict == "WRONG":  # the raw figures beside the task's
            text += "; raw " + ", ".join(f"{o.name} cosine {o.cosine:.3f}" for o in main)
        aux = [o for o in self.outputs if o.role == "auxiliary"]
        if aux:
            text += "; auxiliary, not judged: " + ", ".join(f"{o.name} cosine {o.cosine:.3f}" for o in aux)
        note = f" ({self.note})" if self.note else ""
        return f"{self.verdict}: {text} on {self.data}{note}"


def decoder(description: ModelDescription, model_path) -> tuple[ModelSpec, object]:
    """(ModelSpec, decode) of the description's kind for `model_path` (any variant of the model: the
    description says how to read it, whatever sidecars lie beside the file)."""
    spec = model_spec(model_path, input_shape=tuple(description.inputs[0].shape), input_name=description.inputs[0].name,
                      overrides=description.live_sidecar())
    return spec, spec.postprocess()


def _results(decode, outputs: list[np.ndarray], n: int, geometry: Geometry) -> list:
    return [decode([o[i:i + 1] for o in outputs], geometry) for i in range(n)]


def per_output(description: ModelDescription, reference: list[np.ndarray], variant: list[np.ndarray]) -> list[OutputFigure]:
    """Each source output against the variant's output of the same shape (Lite may reorder outputs)."""
    free = list(range(len(variant)))
    figures = []
    for k, want in enumerate(reference):
        match = next((j for j in free if variant[j].shape == want.shape), None)
        if match is None:
            match = next((j for j in free if variant[j].size == want.size), None)
        if match is None:
            continue
        free.remove(match)
        got = align(variant[match], want)  # NHWC → NCHW where Lite changed the layout
        if got is None:
            continue
        facts = description.outputs[k] if k < len(description.outputs) else None
        figures.append(OutputFigure(name=facts.name if facts else f"output {k}", role=facts.role if facts else "main",
                                    cosine=round(cosine(want, got), 6)))
    return figures


CHANCE_MARGIN = 10.0  # points above 1/classes within which a classifier's top-1 on the labels is chance


def check(description: ModelDescription, model_path, reference: list[np.ndarray], variant: list[np.ndarray],
          labels: np.ndarray | None, data: str) -> TaskCheck:
    """The variant's outputs against the reference's on the same representative inputs (N samples each)."""
    n = len(reference[0])
    tolerance = description.allowed_loss
    outputs = per_output(description, reference, variant)
    raw_ok = all(o.cosine >= 0.99 for o in outputs if o.role == "main")
    metric = description.task.metric
    if description.kind == "classification" and labels is not None:
        main = description.main_outputs()[0] if description.outputs else 0
        ref_top1 = float((reference[main].reshape(n, -1).argmax(1) == labels).mean()) * 100
        var_scores = next((o for o in variant if o.shape == reference[main].shape), variant[0])
        var_top1 = float((var_scores.reshape(n, -1).argmax(1) == labels).mean()) * 100
        classes = reference[main].reshape(n, -1).shape[1]
        if ref_top1 <= 100 / max(classes, 2) + CHANCE_MARGIN:
            # the source itself is at chance on these labels: they cannot tell a broken variant from a good
            # one (both "lose" nothing), so the variant must give the source's own answers
            agree = float((var_scores.reshape(n, -1).argmax(1) == reference[main].reshape(n, -1).argmax(1)).mean())
            loss = 100.0 - agree * 100
            verdict = "WRONG" if loss > tolerance else ("matches" if loss <= 0 and raw_ok else "close")
            return TaskCheck(metric="top-1 agreement with FP32", note=f"FP32 scores {ref_top1:.1f} % on the labels "
                             "(chance): they cannot judge the variant", against="FP32", reference=None, value=round(agree * 100, 3), loss=round(loss, 3),
                             tolerance=tolerance, verdict=verdict, samples=n, data=data, outputs=outputs)
        loss = ref_top1 - var_top1
        verdict = "WRONG" if loss > tolerance else ("matches" if loss <= 0 and raw_ok else "close")
        return TaskCheck(metric=metric, against="labels", reference=round(ref_top1, 3), value=round(var_top1, 3),
                         loss=round(loss, 3), tolerance=tolerance, verdict=verdict, samples=n, data=data,
                         outputs=outputs)
    spec, decode = decoder(description, model_path)
    height, width = spec.preprocess.height, spec.preprocess.width
    geometry = Geometry(width, height, width=width, height=height)  # both sides in input pixels
    wants = _results(decode, reference, n, geometry)
    gots = _results(decode, [variant[j] for j in _same_order(reference, variant)], n, geometry)
    figures = [metrics.compare(description.kind, got, want) for got, want in zip(gots, wants)]
    rates = [f.rate for f in figures if f is not None]
    agreement = float(np.mean(rates)) * 100 if rates else 100.0
    loss = 100.0 - agreement
    verdict = "WRONG" if loss > tolerance else ("matches" if loss <= 0 and raw_ok else "close")
    return TaskCheck(metric=metric, against="FP32", reference=None, value=round(agreement, 3), loss=round(loss, 3),
                     tolerance=tolerance, verdict=verdict, samples=n, data=data, outputs=outputs)


def _same_order(reference: list[np.ndarray], variant: list[np.ndarray]) -> list[int]:
    """The variant's outputs in the reference's order, by shape (Lite can list them in another order)."""
    free, order = list(range(len(variant))), []
    for want in reference:
        j = next((j for j in free if variant[j].shape == want.shape), None)
        j = j if j is not None else next((j for j in free if variant[j].size == want.size), free[0])
        free.remove(j)
        order.append(j)
    return order


def judge_file(description: ModelDescription, source, artifact, data: str | None = None,
               threads: int = 1) -> TaskCheck:
    """`artifact` (a converted file) against `source` on the held-out part of the representative data."""
    from app.core.models.representative import samples
    from app.core.runtimes import run_batch

    held_out = samples(description, "held-out", data)
    reference = run_batch(source, held_out.x, threads=threads)
    variant = run_batch(artifact, held_out.x, threads=threads)
    return check(description, source, reference, variant, held_out.labels, held_out.origin)

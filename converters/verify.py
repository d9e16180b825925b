"""verify(): run the source model in its reference runtime and Lite's artifact on the same inputs,
and say per output whether the artifact matches, is close, or is WRONG.

Lite 2.0 converts some models into files that run and answer wrongly (ReduceSumSquare squaring its
input in place, Resize without `mode` run as linear, …), with every exit code 0. Only running both
sides tells; this module does that for every conversion. The tolerances live in TOLERANCES, nowhere else.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from converters import references
from converters.formats import SOURCE_LAYOUTS, source_format
from converters.lite.divergence import Divergence, find_divergence
from converters.lite.errors import LiteError
from converters.tensor_compare import align, cosine
from jobs.state import Cancelled, JobState

if TYPE_CHECKING:
    from converters.lite.replay import LiteRunner

Verdict = Literal["matches", "close", "WRONG", "unverified"]
VERDICT_RANK = {"matches": 0, "close": 1, "unverified": 2, "WRONG": 3}


class Tolerance(BaseModel):
    """An output matches when all three hold at the `matches` levels, is close at the `close` levels.

    rel: max |Δ| / max |reference| (None: not judged by it); cosine: lowest over the inputs, or with
    pooled_cosine over all inputs' outputs at once; top1: share of inputs whose argmax agrees
    (classifier-like outputs only); random_inputs: how many seeded random input sets are fed."""

    model_config = ConfigDict(frozen=True)
    matches_rel: float | None
    close_rel: float | None
    matches_cosine: float
    close_cosine: float
    matches_top1: float
    close_top1: float
    # the divergence search: a traced node agrees while both hold (errors grow along the graph)
    node_rel: float | None
    node_cosine: float
    pooled_cosine: bool = False
    random_inputs: int = 3


# Per precision of the artifact. FP32: Lite and onnxruntime differ by reassociation only (~1e-6 rel on
# the digits CNN); FP16 weights round every weight to 11 bits. INT8 is judged by direction and task:
# one input whose activations leave the calibrated range can lose much (a 3072-256-10 MLP: cosine 0.69
# on one of 3 inputs, 0.93 pooled over 10, top-1 always right), so its cosine is pooled over more inputs.
# The known Lite defects score cosine ~0.0-0.92 at FP32, far outside the FP32 row.
TOLERANCES = {
    "fp32": Tolerance(matches_rel=1e-4, close_rel=1e-2, matches_cosine=0.99999, close_cosine=0.999,
                      matches_top1=1.0, close_top1=1.0, node_rel=1e-3, node_cosine=0.9999),
    "fp16": Tolerance(matches_rel=1e-2, close_rel=5e-2, matches_cosine=0.9999, close_cosine=0.995,
                      matches_top1=1.0, close_top1=0.9, node_rel=5e-2, node_cosine=0.999),
    "int8": Tolerance(matches_rel=None, close_rel=None, matches_cosine=0.99, close_cosine=0.9,
                      matches_top1=0.9, close_top1=0.7, node_rel=None, node_cosine=0.9, pooled_cosine=True,
                      random_inputs=8),
}
DEFAULT_RANGE = (-1.0, 1.0)  # for float inputs when the caller knows no better (no preprocess spec)


class OutputCheck(BaseModel):
    name: str
    shape: list[int]
    max_abs: float
    max_rel: float  # max |Δ| / max |reference|
    cosine: float  # lowest over the inputs
    pooled_cosine: float  # over all inputs' outputs at once
    top1: float | None  # share of inputs whose argmax agrees; None when the output is no class vector
    verdict: Literal["matches", "close", "WRONG"]
    problem: str = ""  # a shape or NaN problem that decided the verdict by itself


class Verification(BaseModel):
    verdict: Verdict
    precision: str
    reference: str  # the runtime that ran the source model
    inputs: str  # what was fed, for people
    tolerance: Tolerance
    outputs: list[OutputCheck]
    divergence: Divergence | None = None
    seconds: float
    note: str = ""  # why a verdict is "unverified", or why the divergence search found nothing

    @property
    def wrong(self) -> bool:
        return self.verdict == "WRONG"

    def summary(self) -> str:
        """One line: the verdict and the worst output's numbers (and the diverging node)."""
        if not self.outputs:
            return f"{self.verdict}: {self.note}"
        worst = max(self.outputs, key=lambda o: (VERDICT_RANK[o.verdict], o.max_rel))
        cos = (f"cosine {worst.pooled_cosine:.6f} over all inputs (lowest {worst.cosine:.6f})"
               if self.tolerance.pooled_cosine else f"cosine {worst.cosine:.6f}")
        text = (f"{self.verdict} vs {self.reference} ({self.inputs}): output {worst.name!r} max |Δ| "
                f"{worst.max_abs:.3g}, rel {worst.max_rel:.3g}, {cos}")
        if worst.top1 is not None:
            text += f", top-1 agreement {worst.top1:.0%}"
        if worst.problem:
            text += f" ({worst.problem})"
        if self.divergence:
            d = self.divergence
            text += f"; first diverging op: {d.op_type} {d.node!r} — {d.reason}"
        return text


# source format -> how its reference runtime is opened (see converters/references.py)
REFERENCE_RUNTIMES: dict[str, Callable[[Path, str, dict], references.Reference]] = {
    "onnx": lambda src, fmk, options: references.onnx_reference(src),
    "tflite": lambda src, fmk, options: references.tflite_reference(src),
    "mindir": lambda src, fmk, options: references.mindir_reference(src),
    "caffe": references.lite_fp32_reference,
    "tf": references.lite_fp32_reference,
}


def random_inputs(specs: Sequence[references.InputSpec], seed: int,
                  value_range: tuple[float, float] = DEFAULT_RANGE,
                  moments: tuple[float, float] | None = None) -> list[np.ndarray]:
    """One seeded input set: floats uniform in value_range (or, given the data's mean and std, normal
    and clipped to value_range), integers in {0, 1}, an open dimension as 1."""
    rng = np.random.default_rng(seed)
    arrays = []
    for spec in specs:
        shape = tuple(d if d > 0 else 1 for d in spec.shape)
        if spec.dtype.kind == "f" and moments is not None:
            arrays.append(np.clip(rng.normal(*moments, shape), *value_range).astype(spec.dtype))
        elif spec.dtype.kind == "f":
            arrays.append(rng.uniform(*value_range, shape).astype(spec.dtype))
        elif spec.dtype.kind == "b":
            arrays.append(rng.integers(0, 2, shape).astype(np.bool_))
        else:  # token ids, indices: 0 and 1 are valid wherever an index is
            arrays.append(rng.integers(0, 2, shape).astype(spec.dtype))
    return arrays


def verify(source: str | Path, artifact: str | Path, *, precision: str = "fp32", fmk: str | None = None,
           samples: Sequence[Sequence[np.ndarray]] = (), value_range: tuple[float, float] = DEFAULT_RANGE,
           explain: bool | None = None, convert_options: dict | None = None,
           value_moments: tuple[float, float] | None = None, state: JobState | None = None,
           lite: LiteRunner | None = None) -> Verification:
    """Check Lite's `artifact` against `source` run by its reference runtime.

    Inputs: the tolerance's random_inputs seeded random sets in `value_range` (uniform; normal with `value_moments`
    = (mean, std), e.g. an INT8 model's calibration data's), plus `samples` (real input sets in the
    source model's input order and layout, e.g. from its preprocess spec and dataset).
    explain: look for the first diverging node (None: only when the verdict is WRONG).
    lite: a LiteRunner started earlier (its child's start-up overlaps the caller's work); else one is started."""
    from converters.lite.replay import LiteRunner

    started = time.perf_counter()
    source, artifact = Path(source), Path(artifact)
    if precision not in TOLERANCES:
        raise LiteError(f"unknown precision {precision!r}: use one of {', '.join(TOLERANCES)}")
    tolerance = TOLERANCES[precision]
    try:
        fmt = source_format(source, fmk)
    except ValueError as exc:
        raise LiteError(str(exc)) from None
    if precision == "fp32" and not references.has_independent_reader(source, fmt.name):
        return Verification(verdict="unverified", precision=precision, reference="none", inputs="",
                            tolerance=tolerance, outputs=[], seconds=time.perf_counter() - started,
                            note=f"no runtime here reads this {fmt.name} model besides Lite: an FP32 artifact has "
                                 "nothing independent to be checked against")
    try:
        reference = REFERENCE_RUNTIMES[fmt.name](source, fmt.name, convert_options or {})
    except Cancelled:
        raise
    except Exception as exc:  # the reference cannot read what Lite read (odd names, ops it lacks): say so
        if not isinstance(exc, (references.ReferenceUnavailable, LiteError)):
            exc = f"{source.name}: {type(exc).__name__}: {exc}"
        return Verification(verdict="unverified", precision=precision, reference="none", inputs="",
                            tolerance=tolerance, outputs=[], seconds=time.perf_counter() - started, note=str(exc))
    fixed = (convert_options or {}).get("input_shapes") or {}  # dims the conversion fixed (dynamic ones)
    specs = [references.InputSpec(s.name, tuple(fixed.get(s.name, s.shape)), s.dtype) for s in reference.inputs]
    seeds = range(tolerance.random_inputs)
    sets = [random_inputs(specs, seed, value_range, value_moments) for seed in seeds] + [list(s) for s in samples]
    described = f"{len(seeds)} seeded random inputs in [{value_range[0]:g}, {value_range[1]:g}]"
    if value_moments is not None:
        described += f" (normal, mean {value_moments[0]:.3g}, std {value_moments[1]:.3g})"
    if samples:
        described += f" + {len(samples)} real samples"
    runner = lite or LiteRunner(state=state)
    try:  # Lite's side runs in its child while the reference computes here: the two overlap
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="verify-lite") as pool:
            lite_side = pool.submit(runner.run, artifact, sets)
            try:
                expected = [[np.asarray(out) for out in outs] for outs in reference.run(sets)]
            except Cancelled:
                raise
            except Exception as exc:  # the reference itself fails on the model: nothing to check against
                return Verification(verdict="unverified", precision=precision, reference=reference.runtime,
                                    inputs=described, tolerance=tolerance, outputs=[],
                                    seconds=time.perf_counter() - started,
                                    note=f"{reference.runtime} could not run {source.name}: {exc}")
    finally:
        if lite is None:
            runner.close()
    try:
        got = lite_side.result()
    except LiteError as exc:  # converted, but Lite cannot load or run its own file: as wrong as wrong outputs
        return Verification(verdict="WRONG", precision=precision, reference=reference.runtime, inputs=described,
                            tolerance=tolerance, outputs=[], seconds=time.perf_counter() - started,
                            note=f"Lite cannot run the artifact: {str(exc).splitlines()[0]}")
    # Lite itself as the reference: its tensors are laid out as the artifact's are
    reference_layout = SOURCE_LAYOUTS.get(fmt.name, "NCHW") if reference.independent else "NHWC"
    checks = compare_outputs(reference.output_names, expected, got.output_names, got.outputs, tolerance,
                             got.output_formats, reference_layout)
    verdict = max((c.verdict for c in checks), key=VERDICT_RANK.__getitem__, default="matches")
    if not reference.independent:
        described += f", against {reference.runtime}"
    result = Verification(verdict=verdict, precision=precision, reference=reference.runtime, inputs=described,
                          tolerance=tolerance, outputs=checks, seconds=0.0)
    if explain or (explain is None and verdict == "WRONG"):
        result.divergence, result.note = find_divergence(source, fmt.name, artifact, sets[0], tolerance, state)
    result.seconds = time.perf_counter() - started
    return result


def compare_outputs(ref_names: list[str], expected: list[list[np.ndarray]], lite_names: list[str],
                    got: list[list[np.ndarray]], tolerance: Tolerance,
                    lite_layouts: Sequence[str] = (), reference_layout: str = "NCHW") -> list[OutputCheck]:
    """One check per reference output, over all input sets. Outputs pair by name when Lite kept
    every name, else by position."""
    if len(got[0]) != len(expected[0]):
        return [OutputCheck(name=n, shape=list(expected[0][k].shape), max_abs=float("inf"), max_rel=float("inf"),
                            cosine=0.0, pooled_cosine=0.0, top1=None, verdict="WRONG",
                            problem=f"the artifact has {len(got[0])} output(s), the source {len(expected[0])}")
                for k, n in enumerate(ref_names)]
    order = [lite_names.index(n) for n in ref_names] if set(ref_names) <= set(lite_names) else list(range(len(ref_names)))
    layouts = list(lite_layouts) or [""] * len(lite_names)
    return [check_output(name, [e[k] for e in expected], [g[order[k]] for g in got], tolerance, layouts[order[k]],
                         reference_layout) for k, name in enumerate(ref_names)]


def _classes(want: np.ndarray) -> bool:
    """A class-score vector: one row of at least two floats per input (1×C, or C)."""
    return want.dtype.kind == "f" and want.ndim in (1, 2) and want.shape[-1] >= 2 and want.size == want.shape[-1]


def check_output(name: str, wants: list[np.ndarray], gots: list[np.ndarray], tolerance: Tolerance,
                 layout: str = "", reference_layout: str = "NCHW") -> OutputCheck:
    shape = list(wants[0].shape)
    max_abs, max_rel, cos, agree, problem = 0.0, 0.0, 1.0, [], ""
    pooled: list[tuple[np.ndarray, np.ndarray]] = []
    for want, got in zip(wants, gots):
        aligned = align(got, want, layout, reference_layout)
        if aligned is None:
            problem = f"shape {list(got.shape)}, the source gives {list(want.shape)}"
            break
        w, g = want.astype(np.float64), aligned.astype(np.float64)
        if not np.array_equal(np.isfinite(w), np.isfinite(g)):
            problem = "non-finite values (NaN/inf) where the source has none" if np.isfinite(w).all() \
                else "NaN/inf in other places than the source's"
            break
        finite = np.isfinite(w)
        delta = np.abs(w[finite] - g[finite])
        scale = float(np.abs(w[finite]).max()) if finite.any() else 0.0
        step = float(delta.max()) if delta.size else 0.0
        max_abs = max(max_abs, step)
        max_rel = max(max_rel, step / scale if scale > 0 else (0.0 if step == 0 else float("inf")))
        cos = min(cos, cosine(w[finite], g[finite]))
        pooled.append((w[finite], g[finite]))
        if _classes(want):
            agree.append(int(np.argmax(w)) == int(np.argmax(g)))
    if problem:
        return OutputCheck(name=name, shape=shape, max_abs=float("inf"), max_rel=float("inf"), cosine=0.0,
                           pooled_cosine=0.0, top1=None, verdict="WRONG", problem=problem)
    top1 = sum(agree) / len(agree) if agree else None
    whole = cosine(np.concatenate([w for w, _ in pooled]), np.concatenate([g for _, g in pooled]))
    return OutputCheck(name=name, shape=shape, max_abs=max_abs, max_rel=max_rel, cosine=cos, pooled_cosine=whole,
                       top1=top1, verdict=judge(max_rel, whole if tolerance.pooled_cosine else cos, top1, tolerance))


def judge(rel: float, cos: float, top1: float | None, tol: Tolerance) -> Literal["matches", "close", "WRONG"]:
    for level in ("matches", "close"):
        rel_ok = getattr(tol, f"{level}_rel") is None or rel <= getattr(tol, f"{level}_rel")
        top1_ok = top1 is None or top1 >= getattr(tol, f"{level}_top1")
        if rel_ok and cos >= getattr(tol, f"{level}_cosine") and top1_ok:
            return level
    return "WRONG"

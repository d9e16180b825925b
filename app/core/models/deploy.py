"""deploy(): trained (or imported) model → every available target → evaluation → one package
folder per tier with the model file(s), preprocess.json, labels.json, metrics.json and a run card.

Works like an Orange3 job: a plain function taking a JobState (progress, cancel).
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from app.core.files import check_target_folder, publish_dir, read_json, write_json
from app.core.description import DescriptionError, ModelDescription, load_description_for
from app.core.models import device_parity, representative, runcard, task_check
from app.core.models.task_check import TaskCheck
from app.core.models.datasets import DatasetError
from app.core.models.evaluate import evaluate
from app.core.preprocess import PreprocessSpec
from converters.lite import QuantConfig, convert
from converters.lite.arm64 import bundle as arm64_bundle
from converters.lite.errors import MismatchError
from converters.targets import TIERS, Target, available_targets, unavailable_targets
from jobs.child import ChildError, run_child
from jobs.state import JobState


class TargetResult(BaseModel):
    """One built and evaluated target (or the FP32 reference) as it crosses the child's JSON boundary."""

    model_config = ConfigDict(extra="allow")
    runtime: str
    size_bytes: int
    top1: float | None = None


class DeployResult(BaseModel):
    """What deploy() returns, validated once where it comes back from its child process."""

    model_config = ConfigDict(extra="allow")
    model: str
    data: str
    samples: int
    targets: dict[str, TargetResult]
    skipped: dict[str, str] = {}
    failed: dict[str, dict] = {}
    seconds: float


class DeployError(RuntimeError):
    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log  # the child's log, for a details pane


class TaskMismatch(DeployError):
    """A quantized variant whose task figure on the representative data falls beyond the tolerance."""

    def __init__(self, message: str, task: TaskCheck, verification) -> None:
        super().__init__(message)
        self.task, self.verification = task, verification


# the formats deploy starts from: each has an independent reference runtime (verification, evaluation)
SOURCE_FORMATS = ("onnx", "tflite")
# the layout the converted .ms keeps for its input: an ONNX model's NCHW (Lite would make it NHWC); a
# TFLite model is NHWC already
INPUT_LAYOUT = {"onnx": "NCHW"}
RANDOM_SAMPLES = 16


def _source_files(model: Path) -> dict:
    """The training hand-off next to the model: metrics, the cloud .mindir."""
    folder = model.parent
    found = {"source": model}
    for key, name in (("metrics", "metrics.json"), ("mindir", "model.mindir")):
        if (folder / name).is_file():
            found[key] = folder / name
    return found


def _described(model: Path) -> tuple[ModelDescription, Path]:
    """The model's description and its model file, checked once here and passed down."""
    try:
        description = load_description_for(model)
    except DescriptionError as exc:
        raise DeployError(str(exc)) from None
    source = description.model_path(model if model.is_dir() else model.parent)
    if not model.is_dir():
        source = model
    if description.format not in SOURCE_FORMATS:
        raise DeployError(f"{source.name}: deploy starts from {' or '.join(SOURCE_FORMATS)} (a {description.format} "
                          "model has no runtime here to check its conversions against)")
    if not source.is_file():
        raise DeployError(f"{source}: no such file" if not source.exists() else f"{source}: not a file")
    try:
        description.require_fixed("deploy")
    except DescriptionError as exc:
        raise DeployError(str(exc)) from None
    return description, source


def _evaluation_samples(description: ModelDescription, spec: PreprocessSpec, data: str | None,
                        seed: int) -> representative.Samples:
    """The held-out representative data, or (without any) seeded random inputs in the input's range,
    labelled as such: they check the conversion's arithmetic and say nothing about real frames."""
    if data:
        try:
            return representative.samples(description, "held-out", data, seed=seed)
        except (DescriptionError, DatasetError) as exc:
            raise DeployError(str(exc)) from None
    low, high = spec.value_range()
    x = np.random.default_rng(seed).uniform(low, high, (RANDOM_SAMPLES, *spec.input_shape[1:])).astype(np.float32)
    return representative.Samples(x, None, f"{RANDOM_SAMPLES} seeded random inputs (no representative data: "
                                           "figures check the arithmetic, not the task)")


def deploy(model: str | Path, out: str | Path, *, data: str | None = None, calibration: str | None = None,
           calibration_samples: int = 100, calibration_method: str = "MAX_MIN", tiers: tuple[str, ...] = TIERS,
           state: JobState | None = None, force: bool = False, accept_mismatch: bool = False,
           arm64: bool = True) -> dict:
    """Build, evaluate and package every available target of `tiers` for `model` (an ONNX file).

    `out` must be empty or new; with `force` the files deploy wrote there before may be replaced
    (never anything else: FolderInUse). Every Lite file is verified against the ONNX model
    (converters.verify); one that answers wrongly is not shipped but listed under "failed" with the
    verdict, unless `accept_mismatch` ships it with the warning in its run card. With `arm64`, the
    Lite .ms files also run on Lite's aarch64 runtime (emulated: correctness only) and the device
    tier gets a board bundle, device/arm64/ (device_parity, converters.lite.arm64.bundle)."""
    model, out = Path(model), Path(out)
    state = state or JobState()
    check_target_folder(out, [], force)  # before minutes of work, not after
    if not model.exists():
        raise DeployError(f"{model}: no such file or folder")
    description, model = _described(model)
    spec = description.preprocess_spec("deploy")
    files = _source_files(model)
    metrics = read_json(files["metrics"]) if "metrics" in files else {}
    data = data or description.data
    seed = metrics.get("seed", 0)
    uncalibrated = not data and not calibration
    targets = [t for t in available_targets(tiers) if (t.runtime == "lite" or "mindir" in files)
               and not (t.calibration and uncalibrated)]
    skipped = {t.name: ("INT8 needs calibration data: give the model representative data (import --data DIR, "
                        "or the import dialog) or --calib DIR" if t.calibration and uncalibrated else
                        "no MindSpore .mindir next to the model (only models trained here have a cloud tier)")
               for t in available_targets(tiers) if t not in targets} | unavailable_targets(tiers)
    evaluation = _evaluation_samples(description, spec, data, seed)
    x_val, y_val = evaluation.x, evaluation.labels
    out.parent.mkdir(parents=True, exist_ok=True)
    # A short prefix: a 255-byte out.name (NAME_MAX) must still leave room for the random suffix.
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name[:32]}.deploy-"))
    started = time.perf_counter()
    try:
        state.set_progress(0.0, "evaluating the FP32 ONNX reference")
        reference = evaluate(model, x_val, y_val, data=data or "")
        results = {"reference": _public(reference)}
        failed: dict[str, dict] = {}
        for i, target in enumerate(targets):
            state.check()
            state.set_progress((i + 0.5) / (len(targets) + 1), f"building {target.name}")
            try:
                results[target.name] = _build_and_evaluate(target, description, files, staging, spec, data,
                                                           evaluation, seed, reference, calibration,
                                                           calibration_samples, calibration_method, state,
                                                           accept_mismatch)
            except (MismatchError, TaskMismatch) as exc:  # the tier fails with the verdict; the others still ship
                failed[target.name] = {"tier": target.tier, "precision": target.precision, "error": str(exc),
                                       "verification": exc.verification.model_dump(mode="json")}
                if isinstance(exc, TaskMismatch):
                    failed[target.name]["task"] = exc.task.model_dump(mode="json")
        fp32_ms = results.get("edge-fp32", {}).get("size_bytes")
        for result in results.values():
            if fp32_ms and result.get("runtime") == "lite":
                result["size_vs_fp32_ms"] = round(result["size_bytes"] / fp32_ms, 4)
        arm = _arm64_parity(results, staging, x_val, reference, state, model.stem, description) if arm64 else None
        summary = {"model": str(model), "data": data or "", "evaluated_on": evaluation.origin,
                   "samples": int(len(x_val)), "targets": results,
                   "skipped": skipped, "failed": failed, "seconds": round(time.perf_counter() - started, 2)}
        if arm is not None:
            summary["arm64"] = arm
        for tier in {t.tier for t in targets}:
            folder = staging / tier
            tier_files = [r["model"].split("/", 1)[1] for name, r in results.items() if name.startswith(tier)]
            # the description travels with every tier (its model file: the tier's first); preprocess.json and
            # labels.json stay beside it for Lite's `benchmark` users and older readers, derived from it
            description.model_copy(update={"model_file": tier_files[0] if tier_files else description.model_file}
                                   ).save(folder)
            if description.labels:
                write_json(folder / "labels.json", description.labels)
            spec.save(folder / "preprocess.json")
            tier_results = {name: r for name, r in results.items() if name.startswith(tier)}
            tier_failed = {name: f for name, f in failed.items() if f["tier"] == tier}
            tier_metrics = {"reference": results["reference"], "targets": tier_results, "failed": tier_failed}
            arm_lines = []
            if arm is not None and any(r.get("runtime") == "lite" for r in tier_results.values()):
                tier_metrics["arm64"] = device_parity.for_models(arm, tier_results)
                arm_lines = device_parity.markdown(tier_metrics["arm64"])
                if tier == "device" and "bundle" in arm:
                    arm_lines += arm64_bundle.markdown(arm["bundle"])
            write_json(folder / "metrics.json", tier_metrics)
            (folder / "README.md").write_text(runcard.render(tier, tier_results, spec,
                                                             folder / "labels.json" if description.labels else None)
                                              + runcard.render_verification(tier_results, tier_failed)
                                              + "\n".join(["", *arm_lines]))
        write_json(staging / "deploy.json", summary)
        publish_dir(staging, out, force)
        state.set_progress(1.0, "done")
        return summary
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _build_and_evaluate(target: Target, description: ModelDescription, files: dict, staging: Path,
                        spec: PreprocessSpec, data: str | None, evaluation: representative.Samples, seed: int,
                        reference: dict, calibration: str | None, samples: int, method: str, state: JobState,
                        accept_mismatch: bool = False) -> dict:
    """Build one target and evaluate it. A quantized target with representative data is judged by the task
    (task_check: its figure on held-out data within the tolerance); the raw-tensor verification stays beside
    it. Without representative data (or at FP32, which must match to the arithmetic) the raw verdict decides."""
    x_val, y_val = evaluation.x, evaluation.labels
    by_task = target.precision != "fp32" and bool(data)
    folder = staging / target.tier
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / target.file
    started = time.perf_counter()
    verification = None
    if target.runtime == "mindspore":
        shutil.copy(files["mindir"], path)
    else:
        quant = None
        if target.calibration:  # through the model's own preprocessing, from the training part of its data
            try:
                source = representative.calibration_inputs(description, calibration or data, samples, seed)
            except (DescriptionError, DatasetError) as exc:
                raise DeployError(f"calibration: {exc}") from None
            quant = QuantConfig(source, method=method, max_samples=samples)
        options = target.convert_options | {"input_format": INPUT_LAYOUT.get(description.format)}
        converted = convert(files["source"], path, quant=quant, state=state,
                            accept_mismatch=accept_mismatch or by_task,
                            value_range=spec.value_range(), samples=[[x_val[i:i + 1]] for i in range(min(3, len(x_val)))],
                            input_shapes=description.input_shapes(), **options)
        verification = converted.verification
    build_seconds = time.perf_counter() - started
    result = evaluate(path, x_val, y_val, threads=target.threads, reference_outputs=reference["outputs"],
                      data=data or "")
    if by_task and verification is not None:
        task = task_check.check(description, files["source"], reference["outputs"], result["outputs"], y_val,
                                evaluation.origin)
        result["task"] = task.model_dump(mode="json")
        if task.verdict == "WRONG" and not accept_mismatch:
            cause = f". Likely cause: {converted.warnings[0]}" if converted.warnings else ""  # the data, not a layer
            path.unlink(missing_ok=True)  # not shipped: the package never holds a file that fails its task
            raise TaskMismatch(f"{target.name}: {task.summary()}{cause}", task, verification)
        result["verification"] = {"verdict": task.verdict, "summary": f"{task.summary()} · raw tensors: "
                                                                      f"{verification.summary()}",
                                  "raw_verdict": verification.verdict}
    elif verification is not None:
        result["verification"] = {"verdict": verification.verdict, "summary": verification.summary()}
    return {**_public(result), "model": f"{target.tier}/{target.file}", "tier": target.tier,
            "precision": target.precision, "threads": target.threads, "build_seconds": round(build_seconds, 3),
            "size_vs_fp32_onnx": round(result["size_bytes"] / reference["size_bytes"], 4),
            "top1_delta_vs_fp32": (round(result["top1"] - reference["top1"], 6)
                                   if result["top1"] is not None and reference["top1"] is not None else None)}


def _arm64_parity(results: dict, staging: Path, x_val: np.ndarray, reference: dict, state: JobState,
                  name: str, description: ModelDescription) -> dict:
    """The Lite .ms targets on the ARM64 runtime (bounded inputs, one runner process), and the
    device tier's board bundle from the same run. A machine without the ARM tools gets
    'available': False with the reason, never a failed deploy."""
    models = {target: (staging / r["model"], r["precision"]) for target, r in results.items()
              if target != "reference" and r.get("runtime") == "lite" and r["model"].endswith(".ms")}
    if not models:
        return {"available": False, "reason": "no Lite .ms file in this package", "models": {}}
    kind = description.kind  # judged by the kind's figure (boxes after decoding, not argmax over anchors)
    n = device_parity.DEFAULT_SAMPLES["classification" if kind == "classification" else "detection"]
    # results in input pixels: a mask at the normalized 1×1 'frame' would make its IoU a coin toss
    decode = device_parity.input_pixel_decoder(description, staging / "model.ms") if kind != "classification" else None
    samples: dict = {}
    state.set_progress(0.95, "ARM64 parity (emulated: correctness only)")
    arm = device_parity.parity(models, x_val[:n], task=kind, decode=decode,
                               reference=[o[:n] for o in reference["outputs"]], state=state, samples_out=samples,
                               roles={o.name: o.role for o in description.outputs})
    if arm.get("available") and samples and (staging / "device").is_dir():
        try:
            arm["bundle"] = arm64_bundle.write_bundle(staging / "device", {k: models[k] for k in samples}, samples,
                                                      name=name)
        except arm64_bundle.BundleError as exc:
            arm["bundle_error"] = str(exc)
    return arm


def _public(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "outputs"}


def deploy_job(params: dict, state: JobState) -> dict:
    """Inside a child: deploy with progress as events; SIGTERM from the parent cancels cleanly."""
    return deploy(params.pop("model"), params.pop("out"), state=state, tiers=tuple(params.pop("tiers")), **params)


def deploy_in_child(model: str | Path, out: str | Path, *, state: JobState | None = None,
                    timeout: float = 3600, **options) -> dict:
    """deploy() in its own process, so a GUI thread never waits on the evaluation's GIL-holding calls."""
    params = {"model": str(Path(model).resolve()), "out": str(Path(out).resolve()),
              "tiers": list(options.pop("tiers", TIERS)), **options}
    try:
        answer = run_child("app.core.models.deploy:deploy_job", params, state, timeout=timeout, grace=10)
    except ChildError as exc:
        raise DeployError(str(exc), exc.log) from None
    try:
        return DeployResult.model_validate(answer).model_dump(mode="json")
    except ValidationError as exc:
        raise DeployError(f"deploy answered with an unexpected result: {exc.errors()[0]['msg']}") from None

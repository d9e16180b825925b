"""ARM64 parity: does a .ms give the same answers on Lite's aarch64 runtime as on x86 Lite?

Each model runs on the same (bounded) evaluation inputs twice: on x86 Lite (a child process, as
every Lite evaluation) and on the aarch64 runtime (our runner, under qemu here: one process per
model for all inputs). Reported per model: max |Δ| and cosine per output, top-1 agreement
(classification) or box agreement (detection: boxes matched at IoU ≥ 0.5), against x86 Lite and
against the FP32 reference. Emulation checks correctness only, never speed.

Measured (2026-12): FP32 and FP16-weight outputs match x86 within ~1e-5; digits INT8 is
bit-identical; BlazeFace INT8 differs (cosine 0.994–0.998; the best anchor moves on some inputs),
so INT8 gets a looser, stated tolerance.
"""
from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from app.core.files import read_json
from app.core.models.evaluate import cosine
from converters.lite.arm64 import emulate
from converters.lite.arm64.paths import unavailable_reason
from jobs.state import JobState

# What "ARM64 ✓" means, per precision, against x86 Lite running the same file: per-output mean
# cosine, and top-1 / box agreement. INT8 kernels differ between x86 and ARM (rounding in the
# generic NEON path), so INT8 is held to a looser bar than the float variants.
# INT8 is judged by its task figure (agreement ≥ 90 %); its cosine bar only catches gross failures: on real
# photos a BlazeFace INT8's regressors differ x86 vs ARM at cosine 0.9886 while every box agrees.
TOLERANCE = {"fp32": {"cosine": 0.9999, "agreement": 0.99},
             "fp16": {"cosine": 0.9999, "agreement": 0.99},
             "int8": {"cosine": 0.95, "agreement": 0.9}}
MATCH_IOU = 0.5
RAW = "raw outputs"  # the task of a model nothing describes: judged by its tensors, said so
DEFAULT_SAMPLES = {"classification": 100, "detection": 32}  # emulated BlazeFace INT8 is the slow one


class ParityError(RuntimeError):
    """Parity cannot be measured for this input; the message is one line."""


# -- comparing outputs -----------------------------------------------------------------------------
def _per_sample(outputs: list[np.ndarray], n: int) -> list[list[np.ndarray]]:
    return [[o[i * (len(o) // n):(i + 1) * (len(o) // n)] for o in outputs] for i in range(n)]


def _boxes(decode, outputs: list[np.ndarray]) -> np.ndarray:
    from app.core.live.postprocess import Geometry

    found = decode(outputs, Geometry(1.0, 1.0)).detections  # normalized input coordinates (or input pixels)
    return np.array([d.box for d in found], np.float64).reshape(-1, 4)


def box_agreement(got: list[np.ndarray], want: list[np.ndarray], n: int, decode) -> dict:
    """Detections after decoding and NMS, matched one-to-one at IoU ≥ 0.5, summed over samples:
    agreement = matched / (boxes in the larger of the two sets); 1.0 when neither finds any."""
    from app.core.live.postprocess import iou

    matched = total = want_boxes = got_boxes = 0
    for g, w in zip(_per_sample(got, n), _per_sample(want, n)):
        gb, wb = _boxes(decode, g), _boxes(decode, w)
        got_boxes, want_boxes = got_boxes + len(gb), want_boxes + len(wb)
        total += max(len(gb), len(wb))
        free = np.ones(len(gb), bool)
        for box in wb:
            if not free.any():
                break
            overlaps = np.where(free, iou(box, gb), 0.0)
            best = int(np.argmax(overlaps))
            if overlaps[best] >= MATCH_IOU:
                free[best] = False
                matched += 1
    return {"box_agreement": round(matched / total, 4) if total else 1.0, "matched_boxes": matched,
            "boxes": want_boxes, "boxes_arm": got_boxes}


def compare(got: list[np.ndarray], want: list[np.ndarray], n: int, task: str, decode=None) -> dict:
    """ARM outputs `got` against `want` (x86 Lite or the FP32 reference), n samples each."""
    if len(got) != len(want):
        raise ParityError(f"the ARM run gave {len(got)} output(s), the reference {len(want)}")
    out = {"max_abs_diff": [], "cosine": [], "cosine_min": []}
    for g, w in zip(got, want):
        g64, w64 = g.astype(np.float64).reshape(n, -1), w.astype(np.float64).reshape(n, -1)
        if g64.shape != w64.shape:
            raise ParityError(f"output shapes differ: ARM {g.shape}, reference {w.shape}")
        out["max_abs_diff"].append(float(np.abs(g64 - w64).max()))
        out["cosine"].append(round(cosine(g64, w64), 6))
        out["cosine_min"].append(round(min(cosine(g64[i:i + 1], w64[i:i + 1]) for i in range(n)), 6))
    if task == "classification":
        out["top1_agreement"] = float((got[0].reshape(n, -1).argmax(1) == want[0].reshape(n, -1).argmax(1)).mean())
    elif task in ("detection", "ssd", "yolov5", "yolov8"):
        out.update(box_agreement(got, want, n, decode))
    elif task == RAW:
        pass  # nothing says what the outputs mean: the raw figures alone
    else:  # segmentation, keypoints: the kind's own figure (mask IoU, PCK) on the decoded results
        out.update(task_agreement(got, want, n, task, decode))
    return out


def _found(result) -> bool:
    """Whether a decoded result holds anything to judge (a foreground, landmarks)."""
    return bool(result.landmarks) or (result.mask is not None and bool(result.mask.any()))


def task_agreement(got: list[np.ndarray], want: list[np.ndarray], n: int, kind: str, decode) -> dict:
    """The kind's own figure (mask IoU, PCK) per sample, averaged; with how many samples each side decoded
    something on (an agreement of two empty results says little: the count tells)."""
    from app.core.live import metrics
    from app.core.live.postprocess import Geometry

    geometry = Geometry(1.0, 1.0, width=1, height=1)  # input_pixel_decoder overrides it for described models
    pairs = [(decode(g, geometry), decode(w, geometry)) for g, w in zip(_per_sample(got, n), _per_sample(want, n))]
    rates = [f.rate for f in (metrics.compare(kind, g, w) for g, w in pairs) if f is not None]
    return {"task_agreement": round(float(np.mean(rates)), 4) if rates else 1.0,
            "found": sum(_found(w) for _, w in pairs), "found_arm": sum(_found(g) for g, _ in pairs)}


def input_pixel_decoder(description, model: Path):
    """The description's decoder, reading every result in the model input's pixels whatever geometry it is
    handed: a segmentation mask decoded into the 1×1 'frame' of normalized coordinates would make its mask
    IoU a coin toss (boxes and PCK do not mind the scale)."""
    from app.core.live.postprocess import Geometry
    from app.core.models import task_check

    spec, decode = task_check.decoder(description, model)
    width, height = spec.preprocess.width, spec.preprocess.height
    pixels = Geometry(width, height, width=width, height=height)
    return lambda outputs, _normalized: decode(outputs, pixels)


AGREEMENT_KEYS = ("top1_agreement", "box_agreement", "task_agreement")


def agreement_of(figures: dict) -> tuple[str, float | None]:
    """(its key, the agreement figure) of a compare() result, whatever the kind; None: raw outputs only."""
    key = next((k for k in AGREEMENT_KEYS if k in figures), "top1_agreement")
    return key, figures.get(key)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def verdict(vs_x86: dict, precision: str, main: list[bool] | None = None) -> bool:
    """Within the precision's tolerance; `main` marks the outputs whose cosine judges (an auxiliary output of
    the description is reported, not judged)."""
    bar = TOLERANCE.get(precision, TOLERANCE["int8"])
    judged = any(k in vs_x86 for k in AGREEMENT_KEYS)
    cosines = [c for c, m in zip(vs_x86["cosine"], main or [True] * len(vs_x86["cosine"])) if m] or vs_x86["cosine"]
    return min(cosines) >= bar["cosine"] and (not judged or agreement_of(vs_x86)[1] >= bar["agreement"])


def metric_of(task: str) -> str:
    """The task metric's name (TASKS, the description's table) for a parity task."""
    from app.core.description import TASKS

    return TASKS["ssd" if task == "detection" else task].metric if task != RAW else RAW


def task_figure(entry: dict) -> dict | None:
    """The kind's task metric of one parity entry: ARM64 against x86 Lite (and FP32 when measured), in %, with
    a verdict in the words of every other check (matches / close / WRONG); None for raw outputs."""
    key, value = agreement_of(entry["vs_x86"])
    if value is None:
        return None
    exact = value == 1.0 and min(entry["vs_x86"]["cosine"]) >= TOLERANCE["fp32"]["cosine"]
    figure = {"metric": metric_of(entry["task"]), "against": "x86 Lite", "value": round(100 * value, 2),
              "needs": round(100 * entry["tolerance"]["agreement"], 2),
              "verdict": "WRONG" if not entry["ok"] else "matches" if exact else "close"}
    if key in entry.get("vs_fp32", {}):
        figure["vs_fp32"] = round(100 * entry["vs_fp32"][key], 2)
    return figure


def output_figures(vs_x86: dict, names: list[str], roles: dict[str, str]) -> list[dict]:
    """Per output, named as Lite names it: its role (the description's; main when it says nothing), max |Δ|
    and cosine against x86 Lite."""
    names = names if len(names) == len(vs_x86["cosine"]) else [f"output {k}" for k in range(len(vs_x86["cosine"]))]
    return [{"name": name, "role": roles.get(name, "main"), "max_abs_diff": d, "cosine": c, "cosine_min": m}
            for name, d, c, m in zip(names, vs_x86["max_abs_diff"], vs_x86["cosine"], vs_x86["cosine_min"])]


# -- running -----------------------------------------------------------------------------------
def x86_outputs_in_child(params: dict, _state) -> dict:
    """Inside a child: x86 Lite on every sample, one at a time, for each model of params["jobs"]
    ({model, folder} with folder/x.npy); outputs to folder/x86_<k>.npy. A model Lite refuses gets
    its error; the others still run."""
    from app.core.runtimes import LiteRuntime, match_layout

    answers = []
    for job in params["jobs"]:
        folder = Path(job["folder"])
        try:
            runtime = LiteRuntime(job["model"], threads=1)
        except Exception as exc:  # noqa: BLE001 - LiteError and friends: reported per model
            answers.append({"error": str(exc).splitlines()[0]})
            continue
        try:
            x = np.ascontiguousarray(match_layout(np.load(folder / "x.npy"), runtime.input_shape))
            per_sample = [runtime.predict(x[i:i + 1]) for i in range(len(x))]
        finally:
            runtime.close()
        names = []
        for k in range(len(per_sample[0])):
            names.append(f"x86_{k}.npy")
            np.save(folder / names[-1], np.concatenate([np.reshape(s[k], (1,)) if s[k].ndim == 0 else s[k]
                                                       for s in per_sample]))
        answers.append({"outputs": names, "names": [spec.name for spec in runtime.model.outputs]})
    return {"answers": answers}


def _child_groups(models: list[tuple[str, Path, str]]) -> list[list[tuple[str, Path, str]]]:
    """Lite 2.0 on x86 cannot load an FP16-weight .ms in a process that closed one: FP16 models go
    last, at most one per child process."""
    groups: list[list] = [[]]
    for item in sorted(models, key=lambda m: m[2] == "fp16"):
        if any(p == "fp16" for _, _, p in groups[-1]):
            groups.append([])
        groups[-1].append(item)
    return groups


def _x86_runs(models: list[tuple[str, Path, str]], x: np.ndarray, tmp: Path, timeout: float,
              output_names: dict | None = None) -> dict:
    """name → list of outputs, or the ParityError for that model; output_names, if given, receives
    name → Lite's names of its outputs."""
    from jobs.child import ChildError, run_child

    results: dict = {}
    for group in _child_groups(models):
        jobs = []
        for name, path, _ in group:
            folder = tmp / f"x86-{len(results) + len(jobs)}"
            folder.mkdir()
            np.save(folder / "x.npy", x)
            jobs.append({"model": str(path.resolve()), "folder": str(folder)})
        try:
            answers = run_child("app.core.models.device_parity:x86_outputs_in_child", {"jobs": jobs},
                                timeout=timeout)["answers"]
        except ChildError as exc:
            answers = [{"error": str(exc).splitlines()[0]}] * len(jobs)
        for (name, path, _), job, answer in zip(group, jobs, answers):
            if output_names is not None:
                output_names[name] = answer.get("names", [])
            results[name] = (ParityError(f"x86 Lite could not run {path.name}: {answer['error']}")
                             if "error" in answer else [np.load(Path(job["folder"]) / n) for n in answer["outputs"]])
    return results


def _arm_runs(models: list[tuple[str, Path, str]], x: np.ndarray, timeout: float) -> dict:
    """name → ArmRun or ParityError: all models in one runner process, inputs laid out as each
    model takes them (the runner reports its input shapes; a layout it did not expect is rerun)."""
    from app.core.runtimes import match_layout

    def run(items, inputs):
        try:
            return dict(zip([n for n, _, _ in items], emulate.run_many([(p, i) for (_, p, _), i in zip(items, inputs)],
                                                                     threads=1, timeout=timeout)))
        except emulate.Arm64Error as exc:  # the whole process failed (crash, timeout)
            return {n: exc for n, _, _ in items}

    results = run(models, [x] * len(models))
    relayout = [(m, match_layout(x, results[m[0]].input_shapes[0])) for m in models
                if isinstance(results[m[0]], emulate.ArmRun) and results[m[0]].input_shapes[0][1:] != x.shape[1:]]
    if relayout:
        results.update(run([m for m, _ in relayout], [i for _, i in relayout]))
    return {name: (ParityError(f"the ARM64 Lite runtime could not run {path.name}: {results[name]}")
                   if isinstance(results[name], Exception) else results[name]) for name, path, _ in models}


def parity(models: dict[str, tuple[Path, str]], x: np.ndarray, *, task: str = "classification",
           reference: list[np.ndarray] | None = None, decode=None, state: JobState | None = None,
           timeout: float = 900, samples_out: dict | None = None, reference_name: str | None = None,
           roles: dict[str, str] | None = None) -> dict:
    """Every model of `models` (name → (path, precision)) on the same inputs x (the preprocess
    spec's layout), against x86 Lite and the FP32 `reference` outputs for x (or, with
    reference_name, the x86 outputs of that model of `models`, e.g. the FP32 .ms). x86 (one child) and
    ARM64 (one runner process) run at the same time. Never raises for a machine without the ARM
    tools: the result says 'available': False and why. samples_out, if given, receives
    name → (first input in the model's layout, its ARM outputs) for bundle.write_bundle. roles: output
    name → "main" or "auxiliary" (the description's); an auxiliary output is reported, not judged."""
    started = time.perf_counter()
    n = len(x)
    result = {"runtime": emulate.label(), "samples": int(n), "task": task, "models": {}}
    if reason := unavailable_reason():
        return {**result, "available": False, "reason": reason, "ok": None}
    items = [(name, Path(path), precision) for name, (path, precision) in models.items()]
    if state is not None:
        state.check()
        state.set_progress(0.0, f"ARM64 parity: {len(items)} model(s) on {n} inputs, x86 and emulated ARM64")
    with tempfile.TemporaryDirectory(prefix="edge-studio-parity-") as tmp, ThreadPoolExecutor(1) as pool:
        arm_future = pool.submit(_arm_runs, items, x, timeout)
        output_names: dict = {}
        x86 = _x86_runs(items, x, Path(tmp), timeout, output_names)
        arm = arm_future.result()
    if reference_name is not None and not isinstance(x86.get(reference_name), ParityError):
        reference = x86.get(reference_name)
    for name, path, precision in items:
        failure = next((r for r in (arm[name], x86[name]) if isinstance(r, ParityError)), None)
        if failure is not None:  # a file one runtime rejects is a ✗ with its reason, not a crash
            result["models"][name] = {"model": path.name, "precision": precision, "ok": False, "error": str(failure)}
            continue
        run = arm[name]
        vs_x86 = compare(run.outputs, x86[name], n, task, decode)
        outputs = output_figures(vs_x86, output_names.get(name, []), roles or {})
        entry = {"model": path.name, "precision": precision, "task": task, "samples": n, "vs_x86": vs_x86,
                 "tolerance": TOLERANCE.get(precision, TOLERANCE["int8"]),
                 "ok": verdict(vs_x86, precision, [o["role"] == "main" for o in outputs]),
                 "emulated": run.emulated, "outputs": outputs}
        if reference is not None:
            entry["vs_fp32"] = compare(run.outputs, reference, n, task, decode)
        if (figure := task_figure(entry)) is not None:
            entry["task_metric"] = figure
        result["models"][name] = entry
        if samples_out is not None:
            from app.core.runtimes import match_layout

            samples_out[name] = (match_layout(x[:1], run.input_shapes[0]), [o[:len(o) // n] for o in run.outputs])
    result["available"] = True
    result["ok"] = all(m["ok"] for m in result["models"].values())
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


# -- what to feed: packages, the face sample, a classifier .ms ----------------------------------------
def is_face_model(path: Path) -> bool:
    from sample_models.face_detection import manifest

    return path.stem.split("_int8")[0].split("_fp16")[0] == Path(manifest()["file"]).stem


def face_inputs(samples: int) -> np.ndarray:
    """Synthetic frames with the cartoon face at different places (what the face sample is shown)."""
    from app.core.live.postprocess import face_spec
    from app.core.live.sources import SyntheticSource

    spec, source = face_spec("face"), SyntheticSource(scene="face")
    return np.concatenate([spec.prepare(source.render(i * 5)[0])[0] for i in range(samples)])


def face_decoder():
    from app.core.live.postprocess import face_spec

    return face_spec("face").postprocess()


def precision_of(path: Path) -> str:
    stem = path.stem.lower()
    return "int8" if "int8" in stem or stem.endswith("_wq") else "fp16" if "fp16" in stem else "fp32"


def package_parity(package: str | Path, samples: int | None = None, state: JobState | None = None) -> dict:
    """Parity of a deploy package's Lite .ms targets (edge FP32, device INT8/FP16) on the first
    `samples` validation inputs; the FP32 reference is the ONNX model deploy started from."""
    from app.core.models.evaluate import validation_inputs
    from app.core.preprocess import PreprocessSpec
    from app.core.runtimes import run_batch

    package = Path(package)
    summary = read_json(package / "deploy.json")
    models = {name: (package / t["model"], t.get("precision", "fp32")) for name, t in summary["targets"].items()
              if name != "reference" and str(t.get("model", "")).endswith(".ms")}
    if not models:
        raise ParityError(f"{package}: the package has no Lite .ms files")
    missing = [str(p) for p, _ in models.values() if not p.is_file()]
    if missing:
        raise ParityError(f"{package}: missing {', '.join(missing)}")
    first = next(iter(models.values()))[0]
    described = described_inputs(first, samples, summary.get("data") or None)
    source = Path(summary.get("model", ""))
    if described is not None:
        task, decode, x, origin, roles = described
        reference = run_batch(source, x, threads=1) if source.suffix in (".onnx", ".tflite") and source.is_file() else None
        return parity(models, x, task=task, reference=reference, decode=decode, state=state,
                      roles=roles) | {"inputs": origin}
    spec_file = next((package / t / "preprocess.json" for t in ("device", "edge") if (package / t / "preprocess.json").is_file()), None)
    if spec_file is None:
        raise ParityError(f"{package}: no preprocess.json in device/ or edge/")
    x, _ = validation_inputs(summary["data"], PreprocessSpec.load(spec_file), seed=summary.get("seed", 0))
    x = x[:samples or DEFAULT_SAMPLES["classification"]]
    reference = run_batch(source, x, threads=1) if source.suffix == ".onnx" and source.is_file() else None
    return parity(models, x, reference=reference, state=state)


def file_parity(model: str | Path, samples: int | None = None, data: str | None = None,
                reference_model: str | Path | None = None, state: JobState | None = None) -> dict:
    """Parity of one .ms: the face sample on synthetic face frames (detection), any other model on
    its evaluation data (classification; preprocess.json next to it, data from metrics.json or `data`)."""
    from app.core.models.evaluate import find_preprocess, validation_inputs
    from app.core.runtimes import run_batch

    model = Path(model)
    if model.suffix.lower() != ".ms":
        raise ParityError(f"{model.name}: ARM64 parity runs Lite .ms files (or a deploy package folder)")
    if not model.is_file():
        raise ParityError(f"{model}: no such file")
    described = described_inputs(model, samples, data)
    if described is not None:  # its model description: its task, its decoder, its data (or labelled random)
        task, decode, x, origin, roles = described
        models = {model.stem: (model, precision_of(model))}
        reference = run_batch(reference_model, x, threads=1) if reference_model else None
        return parity(models, x, task=task, reference=reference, decode=decode, state=state,
                      roles=roles) | {"inputs": origin}
    if is_face_model(model):
        task, decode = "detection", face_decoder()
        x = face_inputs(samples or DEFAULT_SAMPLES["detection"])
    elif find_preprocess(model) is None:  # a bare .ms from elsewhere: seeded inputs, labelled, raw figures
        return _raw_parity(model, samples, state)
    else:
        task, decode = "classification", None
        spec = find_preprocess(model)
        metrics = next((read_json(p) for p in (model.parent / "metrics.json", model.parent.parent / "deploy.json")
                        if p.is_file()), {})
        data = data or metrics.get("data") or metrics.get("dataset_source") or metrics.get("dataset")
        if not data:
            raise ParityError(f"{model.name}: name its evaluation data ('--data digits' or a folder)")
        x = validation_inputs(data, spec)[0][:samples or DEFAULT_SAMPLES["classification"]]
    models = {model.stem: (model, precision_of(model))}
    reference, reference_name = None, None
    if reference_model and Path(reference_model).suffix.lower() == ".ms":  # checked on ARM too, same process
        reference_name = f"reference: {Path(reference_model).stem}"
        models[reference_name] = (Path(reference_model), precision_of(Path(reference_model)))
    elif reference_model:
        reference = run_batch(reference_model, x, threads=1)
    return parity(models, x, task=task, reference=reference, decode=decode, state=state,
                  reference_name=reference_name)


def _raw_parity(model: Path, samples: int | None, state: JobState | None) -> dict:
    """A .ms that nothing describes: its own input shape (Lite's probe, in a child), seeded random inputs in
    [0, 1], judged by the outputs' cosine and max |Δ| alone — and the result says so."""
    from converters.lite import LiteError, probe

    try:
        seen = probe(model)
    except LiteError as exc:
        raise ParityError(f"{model.name}: Lite cannot load it: {str(exc).splitlines()[0]}") from None
    if len(seen.inputs) != 1 or any(d <= 0 for d in seen.inputs[0]["shape"]):
        raise ParityError(f"{model.name}: one input of fixed shape is fed here, not {seen.inputs}")
    n = min(samples or 8, 16)
    x = np.random.default_rng(0).random((n, *seen.inputs[0]["shape"][1:]), dtype=np.float32)
    origin = (f"{n} seeded random inputs in [0, 1] (nothing describes the model: raw outputs compared; import it "
              "with a description for its task figure)")
    return parity({model.stem: (model, precision_of(model))}, x, task=RAW, state=state) | {"inputs": origin}


def described_inputs(model: Path, samples: int | None, data: str | None):
    """(task, decoder, inputs, where they came from, output roles) for a .ms with a model description beside it
    (or in its package), None without one. Without representative data: seeded random inputs, labelled as such."""
    from app.core.description import DescriptionError, find_description, load_description_for
    from app.core.models.representative import samples as representative_samples

    if find_description(model) is None:
        return None
    try:
        description = load_description_for(model)
        description.require_fixed("ARM64 parity")
        spec = description.preprocess_spec("ARM64 parity")
        n = samples or DEFAULT_SAMPLES["classification" if description.kind == "classification" else "detection"]
        if data or description.data:
            held_out = representative_samples(description, "held-out", data, limit=n)
            x, origin = held_out.x, held_out.origin
        else:
            low, high = spec.value_range()
            x = np.random.default_rng(0).uniform(low, high, (min(n, 16), *spec.input_shape[1:])).astype(np.float32)
            origin = f"{len(x)} seeded random inputs (no representative data: raw figures, not the task's)"
    except (DescriptionError, ValueError) as exc:
        raise ParityError(str(exc)) from None
    decode = input_pixel_decoder(description, model) if description.kind != "classification" else None
    roles = {o.name: o.role for o in description.outputs}
    return description.kind, decode, x, origin, roles


def verify_device(path: str | Path, samples: int | None = None, data: str | None = None,
                  state: JobState | None = None) -> dict:
    """`edge-studio verify-device`: a deploy package folder or one .ms."""
    path = Path(path)
    if reason := unavailable_reason():  # before loading any data: say what to install
        return {"runtime": emulate.label(), "available": False, "reason": reason, "ok": None, "models": {}}
    if path.is_dir():
        if not (path / "deploy.json").is_file():
            raise ParityError(f"{path}: not a deploy package (no deploy.json)")
        return package_parity(path, samples, state)
    return file_parity(path, samples, data, state=state)


# -- run card --------------------------------------------------------------------------------------
def markdown(result: dict) -> list[str]:
    """Run-card lines: the ARM64 parity table (or why it was not measured)."""
    lines = ["## ARM64 parity (Lite 2.0 aarch64 runtime)", ""]
    if not result.get("available", False):
        return lines + [f"Not measured: {result.get('reason', 'the ARM64 runtime is not set up')}.", ""]
    lines += [f"{result['runtime']}. {result['samples']} evaluation inputs, all models in one runner process; "
              "✓ = same answers as x86 Lite within the tolerance (float: cosine ≥ 0.9999, agreement ≥ 99 %; "
              "INT8: cosine ≥ 0.99, agreement ≥ 90 %, since ARM and x86 INT8 kernels round differently).", "",
              "| file | precision | ARM64 | max abs diff vs x86 | cosine vs x86 | agreement vs x86 | cosine vs FP32 "
              "| agreement vs FP32 |", "|---|---|---|---|---|---|---|---|"]
    for m in result["models"].values():
        if "error" in m:
            lines.append(f"| `{m['model']}` | {m['precision']} | ✗ | {m['error']} | | | | |")
            continue
        agree = agreement_of(m["vs_x86"])[0]
        fp32 = m.get("vs_fp32", {})
        lines.append(f"| `{m['model']}` | {m['precision']} | {'✓' if m['ok'] else '✗'} | "
                     f"{', '.join(f'{d:.2g}' for d in m['vs_x86']['max_abs_diff'])} | "
                     f"{', '.join(f'{c:.5f}' for c in m['vs_x86']['cosine'])} | {_percent(m['vs_x86'].get(agree))} | "
                     f"{', '.join(f'{c:.5f}' for c in fp32.get('cosine', []))} | "
                     f"{f'{fp32[agree]:.1%}' if agree in fp32 else ''} |")
    return lines + [""]


def for_models(result: dict, names) -> dict:
    """The same result, restricted to some models (one tier's metrics.json)."""
    return {**result, "models": {k: v for k, v in result.get("models", {}).items() if k in names}}


# -- GUI cells (Qt-free): the Convert and Profile pages' "ARM64" column -------------------------
COLUMN = "ARM64"
COLUMN_TIP = emulate.EMULATED_LABEL


def cell(result: dict | None, target: str) -> tuple[str, str]:
    """(text, tooltip) of one target's ARM64 cell: ✓ / ✗, 'n/a' with the reason, or empty."""
    if not result:
        return "", "ARM64 parity was not measured for this package"
    if not result.get("available"):
        return "n/a", f"ARM64 not available: {result.get('reason', '')}"
    m = result.get("models", {}).get(target)
    if m is None:
        return "", "only Lite .ms files run on the ARM64 runtime"
    if "error" in m:
        return "✗", m["error"]
    agree = agreement_of(m["vs_x86"])[0]
    tip = (f"{result['runtime']}. vs x86 Lite on {m['samples']} inputs: cosine "
           f"{', '.join(f'{c:.5f}' for c in m['vs_x86']['cosine'])}, max |Δ| "
           f"{', '.join(f'{d:.2g}' for d in m['vs_x86']['max_abs_diff'])}, {agree.replace('_', ' ')} "
           f"{_percent(m['vs_x86'].get(agree))} (needs cosine ≥ {m['tolerance']['cosine']}, agreement ≥ "
           f"{m['tolerance']['agreement']:.0%})")
    return ("✓" if m["ok"] else "✗"), tip


def package_result(package: str | Path) -> dict | None:
    """The ARM64 parity deploy recorded for a package (deploy.json), if any."""
    summary = Path(package) / "deploy.json"
    return read_json(summary).get("arm64") if summary.is_file() else None

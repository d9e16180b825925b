"""Training with full MindSpore 2.10 — runs only inside the trainer child process.

Streams progress as events, then writes the hand-off set into the staging folder it is given:
model.onnx (for Lite), model.mindir + model.ckpt (for the cloud tier), labels.json,
preprocess.json and metrics.json. The network comes from the architectures table; its ONNX export
goes through onnx_export (rewrites for what 2.10 cannot export, checked against MindSpore).

Why it is fast (profiled: docs/pipeline.md "Training speed"): the whole train step is one compiled
graph (GRAPH_MODE + TrainOneStepCell), the data sit in memory as float32 arrays and are augmented a
batch at a time in NumPy, every step has the same shapes (no recompiles: the last partial batch of
an epoch is dropped, evaluation batches are padded), and mindspore_cpu sets the oneDNN ISA and the
thread counts that suit the machine.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from app.core.files import enter_mindspore_scratch, write_json
from app.core.models import augment as aug
from app.core.models.architectures import get_architecture
from app.core.models.class_report import balance_warnings, confusion, per_class
from app.core.models.datasets import NAMED, load_dataset
from app.core.models.early_stopping import EarlyStopping, TimeBudget, chance_level, outcome_warnings
from app.core.models.mindspore_cpu import configure_threads, prepare_environment
from jobs.state import JobState

EVAL_BATCH = 256


def _augmentation(params: dict) -> aug.Augmentation:
    """params["augment"]: a preset name, True (the dataset's preset) or False."""
    choice = params.get("augment", True)
    if isinstance(choice, str):
        return aug.PRESETS[choice]
    if not choice:
        return aug.NONE
    return aug.DIGITS if params["data"] in NAMED else aug.CAPTURE  # the named sets are digits


def _predict(net, x: np.ndarray, batch: int = EVAL_BATCH) -> np.ndarray:
    """Logits for x, in equal-sized batches (the last one padded) so the eval graph compiles once."""
    from mindspore import Tensor

    net.set_train(False)
    if not len(x):
        return np.zeros((0, 0), np.float32)
    batch = min(batch, len(x))
    chunks = []
    for i in range(0, len(x), batch):
        part = x[i:i + batch]
        if len(part) < batch:
            part = np.concatenate([part, np.zeros((batch - len(part),) + x.shape[1:], x.dtype)])
        chunks.append(net(Tensor(part)).asnumpy())
    net.set_train(True)
    return np.concatenate(chunks)[:len(x)]


def train_in_child(params: dict, state: JobState) -> dict:
    started = time.perf_counter()
    import os

    # the parent gives a scratch folder it removes itself, even after a killed child
    scratch = enter_mindspore_scratch(params.get("scratch"))
    # Graph compilation takes only "user" code, and MindSpore takes anything under the Python library
    # folder for a library; frozen, that folder is the bundle, so name our package as user code.
    os.environ["MS_JIT_MODULES"] = ",".join(filter(None, [os.environ.get("MS_JIT_MODULES"), "app"]))
    prepare_environment()
    import mindspore as ms
    from mindspore import Tensor, nn

    threads = configure_threads(params.get("threads"))
    ms.set_seed(params["seed"])
    ms.set_context(mode=ms.GRAPH_MODE)
    arch = get_architecture(params.get("arch", "small_cnn"))
    out = Path(params["staging"])
    options = dict(params.get("folder_options") or {})
    if params["data"] in NAMED:
        options = {"size": options.get("size") or arch.digits_size}
    else:  # unset size and colour: read from the folder (its images' side within the arch's range)
        options.update(size=options.get("size"), color=options.get("color"),
                       max_size=arch.input_size, min_size=arch.min_size)
    if options["size"] is not None and options["size"] < arch.min_size:
        raise ValueError(f"{arch.name} needs inputs of at least {arch.min_size}×{arch.min_size} pixels, "
                         f"got {options['size']}")
    data = load_dataset(params["data"], **options)
    train_idx, val_idx = data.split(params["val_fraction"], params["seed"])
    x_train, y_train = data.inputs(train_idx), data.labels[train_idx].astype(np.int32)
    x_val, y_val = data.inputs(val_idx), data.labels[val_idx].astype(np.int32)
    counts = {name: int(n) for name, n in zip(data.class_names, np.bincount(data.labels, minlength=len(data.class_names)))}
    spec = data.preprocess
    summary = {"classes": counts, "color": spec.color, "input_size": spec.height, "image_sizes": data.image_sizes,
               "train_samples": len(train_idx), "val_samples": len(val_idx), "skipped_files": len(data.skipped)}
    state.emit({"type": "data", **summary})  # what was read, before the first step
    warnings = balance_warnings(counts)
    for line in warnings:
        state.emit({"type": "warning", "message": line})
    net = arch.build(spec.channels, len(data.class_names), spec.height)
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    # A tiny capture dataset still gets ≥ 8 steps an epoch (smaller batches), so BatchNorm's running
    # statistics and the weights see enough updates within the first epochs.
    batch = max(1, min(params["batch_size"], max(4, len(x_train) // 8), len(x_train)))
    steps = len(x_train) // batch  # the partial last batch is dropped: one shape, one compiled graph
    # Cosine decay: a high rate early for speed, a low one at the end so the last epoch is stable.
    rate = params.get("learning_rate") or arch.learning_rate
    schedule = nn.cosine_decay_lr(min_lr=rate / 30, max_lr=rate,
                                  total_step=steps * params["epochs"], step_per_epoch=steps,
                                  decay_epoch=params["epochs"])
    optimizer = nn.Adam(net.trainable_params(), learning_rate=schedule)
    train_step = nn.TrainOneStepCell(nn.WithLossCell(net, loss_fn), optimizer)
    train_step.set_train(True)
    augmentation = _augmentation(params)
    # chance: a uniform guess, or naming the held-out split's largest class every time
    chance = chance_level(len(data.class_names), float(np.bincount(y_val).max() / len(y_val)) if len(y_val) else 0.0)
    stopper = EarlyStopping(patience=params.get("patience", 5) or 0, warmup=arch.warmup_epochs, chance=chance)
    budget = TimeBudget(params.get("time_budget_s"), chance)

    rng = np.random.default_rng(params["seed"])
    train_started = time.perf_counter()
    # CPU seconds of the whole process (all threads): on a shared machine the wall clock says how busy
    # the neighbours were; the CPU time bounds what the run takes on a quiet one.
    cpu_started = time.process_time()
    history = []
    stop_reason = "epochs"  # one of early_stopping.STOP_REASONS
    for epoch in range(1, params["epochs"] + 1):
        order = rng.permutation(len(x_train))
        losses = []
        epoch_started = time.perf_counter()
        for step in range(steps):
            state.check()  # SIGTERM from the parent: stop between steps
            idx = order[step * batch:(step + 1) * batch]
            xb = aug.augment(x_train[idx], augmentation, rng)
            loss = float(train_step(Tensor(xb), Tensor(y_train[idx])).asnumpy())
            losses.append(loss)
            if step % 5 == 0 or step == steps - 1:
                state.emit({"type": "step", "epoch": epoch, "step": step + 1, "steps": steps, "loss": loss,
                            "seconds": time.perf_counter() - train_started})
        step_ms = 1000 * (time.perf_counter() - epoch_started) / max(1, steps)
        logits = _predict(net, x_val)
        acc = float((logits.argmax(1) == y_val).mean()) if len(y_val) else 0.0
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "val_accuracy": acc,
                        "seconds": time.perf_counter() - train_started, "step_ms": round(step_ms, 2),
                        "epoch_seconds": round(time.perf_counter() - epoch_started, 2),
                        "cpu_seconds": round(time.process_time() - cpu_started, 2)})
        state.emit({"type": "epoch", "epochs": params["epochs"], **history[-1]})
        patience_over = stopper.update(epoch, acc)
        if epoch == params["epochs"]:
            break
        accuracies = [h["val_accuracy"] for h in history]
        if budget.exhausted(time.perf_counter() - train_started, time.perf_counter() - epoch_started, accuracies):
            stop_reason = "budget"
            break
        if patience_over:
            stop_reason = "patience"
            break
    train_seconds = time.perf_counter() - train_started
    limit = budget.describe()["seconds"]
    stop_detail = {"epochs": f"all {len(history)} ran",
                   "budget": f"{train_seconds:.0f} s of "
                             + (f"{limit:.0f} s, extended while still improving" if budget.extended
                                else f"{limit:.0f} s"),
                   "patience": f"no gain in {stopper.waited} epochs "
                               f"(best {stopper.best:.4f} at epoch {stopper.best_epoch})"}[stop_reason]
    outcome = outcome_warnings([h["val_accuracy"] for h in history], [h["epoch_seconds"] for h in history],
                               stop_reason, params["epochs"], chance, len(data.class_names), budget)
    for line in outcome:
        state.emit({"type": "warning", "message": line})
    warnings = warnings + outcome
    train_cpu_seconds = time.process_time() - cpu_started

    val_pred = _predict(net, x_val).argmax(1) if len(y_val) else np.zeros(0, np.int64)
    train_top1 = float((_predict(net, x_train).argmax(1) == y_train).mean())
    matrix = confusion(y_val, val_pred, len(data.class_names))

    from app.core.models.onnx_export import export_onnx

    example = np.asarray(x_val[:1] if len(x_val) else np.zeros(spec.input_shape, np.float32))
    report = export_onnx(net, example, out / "model.onnx")  # checked against MindSpore's own outputs
    ms.export(net, Tensor(np.zeros(spec.input_shape, np.float32)), file_name=str(out / "model"), file_format="MINDIR")
    ms.save_checkpoint(net, str(out / "model.ckpt"))
    for name in ("model.onnx", "model.mindir", "model.ckpt"):
        (out / name).chmod(0o644)  # MindSpore writes them owner-read-only
    onnx_top1 = _onnx_top1(out / "model.onnx", x_val, y_val)
    spec.model_copy(update={"input_name": "x"}).save(out / "preprocess.json")
    write_json(out / "labels.json", data.class_names)
    per_step = [h["step_ms"] for h in history[1:]] or [h["step_ms"] for h in history]
    metrics = {"dataset": data.name, "dataset_source": params["data"], "arch": arch.name,
               "input_size": spec.height, "classes": len(data.class_names), "class_names": data.class_names,
               "class_counts": counts, "train_samples": len(train_idx), "val_samples": len(val_idx),
               "epochs": len(history), "stopped": stop_detail, "stop_reason": stop_reason,
               "chance": round(chance, 4), "time_budget": budget.describe(), "color": spec.color,
               "image_sizes": data.image_sizes, "val_top1": history[-1]["val_accuracy"],
               "train_top1": train_top1, "onnx_val_top1": onnx_top1, "learning_rate": rate,
               "onnx_export": {"max_abs_diff": report.max_abs_diff, "rewrites": report.rewrites},
               "confusion": matrix, "per_class": per_class(matrix, data.class_names), "warnings": warnings,
               "augmentation": {k: v for k, v in asdict(augmentation).items() if v},
               "train_seconds": round(train_seconds, 2),
               "train_cpu_seconds": round(train_cpu_seconds, 2), "step_ms": round(float(np.median(per_step)), 2),
               "samples_per_s": round(batch * 1000 / float(np.median(per_step)), 1), "batch_size": batch,
               "threads": threads, "total_seconds": round(time.perf_counter() - started, 2),
               "parameters": int(sum(p.size for p in net.trainable_params())), "seed": params["seed"],
               "history": history, "skipped_files": data.skipped, "mindspore": ms.__version__}
    write_json(out / "metrics.json", metrics)
    shutil.rmtree(scratch, ignore_errors=True)
    return metrics


def _onnx_top1(path: Path, x: np.ndarray, y: np.ndarray) -> float:
    """Check the hand-off: the exported ONNX must classify like the trained network."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    logits = np.concatenate([session.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])
    return float((logits.argmax(1) == y).mean()) if len(y) else 0.0

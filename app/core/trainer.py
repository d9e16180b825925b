"""Training with full MindSpore 2.10 — runs only inside the trainer child process.

Streams progress as events, then writes the hand-off set into the staging folder it is given:
model.onnx (for Lite), model.mindir + model.ckpt (for the cloud tier), labels.json,
preprocess.json and metrics.json. The network uses only ONNX-exportable ops
(no AdaptiveAvgPool2D: it has no ONNX export in 2.10).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from app.core.child import emit_event
from app.core.datasets import load_dataset
from app.core.files import write_json


def _build_net(nn, channels: int, height: int, width: int, classes: int):
    class SmallCNN(nn.Cell):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.SequentialCell(
                nn.Conv2d(channels, 16, 3, pad_mode="pad", padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
                nn.Conv2d(16, 32, 3, pad_mode="pad", padding=1), nn.ReLU(), nn.MaxPool2d(2, 2))
            self.flatten = nn.Flatten()
            self.head = nn.SequentialCell(nn.Dense(32 * (height // 4) * (width // 4), 64), nn.ReLU(),
                                          nn.Dense(64, classes))

        def construct(self, x):
            return self.head(self.flatten(self.features(x)))

    return SmallCNN()


def _shifted(batch: np.ndarray, rng: np.random.Generator, pad: int = 2) -> np.ndarray:
    """Augmentation: each image shifted by up to `pad` pixels (edge-padded)."""
    n, _, h, w = batch.shape
    padded = np.pad(batch, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="edge")
    dy, dx = rng.integers(0, 2 * pad + 1, size=(2, n))
    return np.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


def run_in_child(params: dict) -> dict:
    started = time.perf_counter()
    import os
    import tempfile

    # the parent gives a scratch folder it removes itself, even after a killed child
    scratch = params.get("scratch") or tempfile.mkdtemp(prefix="edge-studio-ms-")
    os.chdir(scratch)  # MindSpore drops IR dumps into the cwd
    # @jit compiles only "user" code, and MindSpore takes anything under the Python library folder
    # for a library; frozen, that folder is the bundle, so name our package as user code.
    os.environ["MS_JIT_MODULES"] = ",".join(filter(None, [os.environ.get("MS_JIT_MODULES"), "app"]))
    import mindspore as ms
    from mindspore import Tensor, nn

    ms.set_seed(params["seed"])
    ms.set_context(mode=ms.PYNATIVE_MODE)
    out = Path(params["staging"])
    data = load_dataset(params["data"], **params.get("folder_options", {}))
    train_idx, val_idx = data.split(params["val_fraction"], params["seed"])
    x_train, y_train = data.inputs(train_idx), data.labels[train_idx].astype(np.int32)
    x_val, y_val = data.inputs(val_idx), data.labels[val_idx].astype(np.int32)
    spec = data.preprocess
    net = _build_net(nn, spec.channels, spec.height, spec.width, len(data.class_names))
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    steps = (len(x_train) + params["batch_size"] - 1) // params["batch_size"]
    # Cosine decay: a high rate early for speed, a low one at the end so the last epoch is stable.
    schedule = nn.cosine_decay_lr(min_lr=params["learning_rate"] / 30, max_lr=params["learning_rate"],
                                  total_step=steps * params["epochs"], step_per_epoch=steps,
                                  decay_epoch=params["epochs"])
    optimizer = nn.Adam(net.trainable_params(), learning_rate=schedule)

    def forward(x, y):
        return loss_fn(net(x), y)

    grad_fn = ms.value_and_grad(forward, None, optimizer.parameters)

    @ms.jit
    def train_step(x, y):
        loss, grads = grad_fn(x, y)
        optimizer(grads)
        return loss

    def val_accuracy() -> float:
        net.set_train(False)
        logits = np.concatenate([net(Tensor(x_val[i:i + 256])).asnumpy() for i in range(0, len(x_val), 256)])
        net.set_train(True)
        return float((logits.argmax(1) == y_val).mean()) if len(y_val) else 0.0

    rng = np.random.default_rng(params["seed"])
    batch = params["batch_size"]
    train_started = time.perf_counter()
    history = []
    net.set_train(True)
    for epoch in range(1, params["epochs"] + 1):
        order = rng.permutation(len(x_train))
        losses, correct = [], 0
        for step in range(steps):
            idx = order[step * batch:(step + 1) * batch]
            xb = _shifted(x_train[idx], rng) if params["augment"] else x_train[idx]
            loss = float(train_step(Tensor(np.ascontiguousarray(xb)), Tensor(y_train[idx])).asnumpy())
            losses.append(loss)
            if step % 5 == 0 or step == steps - 1:
                emit_event({"type": "step", "epoch": epoch, "step": step + 1, "steps": steps, "loss": loss,
                            "seconds": time.perf_counter() - train_started})
        acc = val_accuracy()
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "val_accuracy": acc,
                        "seconds": time.perf_counter() - train_started})
        emit_event({"type": "epoch", "epochs": params["epochs"], **history[-1]})
        if time.perf_counter() - train_started > params["time_budget_s"]:
            break
    train_seconds = time.perf_counter() - train_started

    net.set_train(False)
    example = Tensor(np.zeros(spec.input_shape, np.float32))
    ms.export(net, example, file_name=str(out / "model"), file_format="ONNX")
    ms.export(net, example, file_name=str(out / "model"), file_format="MINDIR")
    ms.save_checkpoint(net, str(out / "model.ckpt"))
    for name in ("model.onnx", "model.mindir", "model.ckpt"):
        (out / name).chmod(0o644)  # MindSpore writes them owner-read-only
    onnx_top1 = _onnx_top1(out / "model.onnx", x_val, y_val)
    spec.model_copy(update={"input_name": "x"}).save(out / "preprocess.json")
    write_json(out / "labels.json", data.class_names)
    metrics = {"dataset": data.name, "dataset_source": params["data"], "classes": len(data.class_names), "train_samples": len(train_idx),
               "val_samples": len(val_idx), "epochs": len(history), "val_top1": history[-1]["val_accuracy"],
               "onnx_val_top1": onnx_top1, "train_seconds": round(train_seconds, 2),
               "total_seconds": round(time.perf_counter() - started, 2),
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

"""Train with real MindSpore, export, convert to every tier, evaluate — end to end."""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from app.core.models.datasets import DatasetError, load_folder
from app.core.models.deploy import DeployError, deploy
from app.core.models.training import ARTIFACTS, TrainConfig, train
from converters.targets import TARGETS, available_targets
from jobs.state import Cancelled, JobState


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "digits"
    events = []
    metrics = train(TrainConfig(epochs=3, time_budget_s=120), out, JobState(on_event=events.append))
    return out, metrics, events


def test_training_reaches_well_above_chance(trained):
    out, metrics, events = trained
    assert metrics["val_top1"] >= 0.85  # chance is 0.10; a full run reaches ≥ 0.97
    assert metrics["onnx_val_top1"] == pytest.approx(metrics["val_top1"], abs=0.003)  # faithful hand-off
    assert all((out / name).is_file() for name in ARTIFACTS)
    assert json.loads((out / "labels.json").read_text()) == [str(d) for d in range(10)]
    epochs = [e for e in events if e["type"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert any(e["type"] == "step" and e["loss"] > 0 for e in events)
    assert not list(out.parent.glob(".*train-*")), "staging folder left behind"


def test_deploy_all_tiers(trained, tmp_path):
    out, metrics, _ = trained
    stages = []
    summary = deploy(out / "model.onnx", tmp_path / "pkg", state=JobState(on_progress=lambda f, m: stages.append((f, m))))
    results = summary["targets"]
    assert set(results) == {"reference"} | {t.name for t in available_targets()}
    reference = results["reference"]
    # FP32 Lite and MindSpore agree with onnxruntime on every validation sample's top-1.
    for name in ("edge-fp32", "edge-fp32-mindir", "cloud-fp32", "device-fp16"):
        assert results[name]["top1"] == reference["top1"], name
        assert results[name]["cosine_vs_fp32"][0] > 0.9999, name
    int8 = results["device-int8"]
    assert int8["top1"] >= reference["top1"] - 0.03 and int8["cosine_vs_fp32"][0] > 0.99
    assert int8["size_vs_fp32_ms"] <= 0.30
    for tier in ("cloud", "edge", "device"):
        folder = tmp_path / "pkg" / tier
        for name in ("preprocess.json", "labels.json", "metrics.json", "README.md"):
            assert (folder / name).is_file(), (tier, name)
    readme = (tmp_path / "pkg" / "device" / "README.md").read_text()
    assert "./benchmark --modelFile=model_int8.ms" in readme and "--numThreads=1" in readme
    assert stages[-1] == (1.0, "done")


def test_eval_cli_agrees_with_deploy(trained, tmp_path):
    out, _, _ = trained
    summary = deploy(out / "model.onnx", tmp_path / "pkg", tiers=("edge",), arm64=False)
    done = subprocess.run([sys.executable, "-m", "app", "eval", str(tmp_path / "pkg" / "edge" / "model.ms"),
                           "--data", "digits", "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["top1"] == summary["targets"]["edge-fp32"]["top1"]


def test_cancel_mid_training_leaves_nothing(tmp_path):
    def cancel_at_first_step(event):
        if event["type"] == "step":
            state.cancel()

    state = JobState(on_event=cancel_at_first_step)
    with pytest.raises(Cancelled, match="cancelled"):
        train(TrainConfig(epochs=50), tmp_path / "run", state)
    assert list(tmp_path.iterdir()) == []


def _shapes_dataset(folder, per_class=30, size=48):
    rng = np.random.default_rng(0)
    draw = {
        "circle": lambda im, c, r: cv2.circle(im, c, r, (255, 255, 255), -1),
        "square": lambda im, c, r: cv2.rectangle(im, (c[0] - r, c[1] - r), (c[0] + r, c[1] + r), (255, 255, 255), -1),
        "bar": lambda im, c, r: cv2.rectangle(im, (c[0] - r, c[1] - 3), (c[0] + r, c[1] + 3), (255, 255, 255), -1),
    }
    for name, fn in draw.items():
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            image = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
            center = tuple(int(v) for v in rng.integers(18, size - 18, 2))
            fn(image, center, int(rng.integers(8, 14)))
            cv2.imwrite(str(folder / name / f"{i}.png"), image)
    return folder


@pytest.mark.long  # 10 s; folder training: test_real_data (faces), the GUI journey; deploy: test_deploy_all_tiers
def test_folder_dataset_trains_and_deploys(tmp_path):
    data = _shapes_dataset(tmp_path / "shapes")
    (data / "circle" / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "model"
    metrics = train(TrainConfig(data=str(data), epochs=6, time_budget_s=120,
                                folder_options={"size": 32, "color": "RGB"}), out)
    assert metrics["classes"] == 3 and metrics["val_top1"] >= 0.6  # chance is 0.33
    assert any("broken.png" in f for f in metrics["skipped_files"])
    summary = deploy(out / "model.onnx", tmp_path / "pkg", tiers=("edge", "device"), arm64=False)
    assert summary["targets"]["edge-fp32"]["top1"] == summary["targets"]["reference"]["top1"]


def test_folder_dataset_errors(tmp_path):
    with pytest.raises(DatasetError, match="two class folders"):
        load_folder(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.png").write_bytes(b"junk")
    with pytest.raises(DatasetError, match="fewer than 2 readable images"):
        load_folder(tmp_path)


def test_deploy_refuses_bad_models(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(DeployError, match="preprocess.json"):
        deploy(bad, tmp_path / "pkg")
    with pytest.raises(DeployError, match="no such file"):
        deploy(tmp_path / "model.tflite", tmp_path / "pkg")
    frozen = tmp_path / "frozen"
    frozen.mkdir()
    (frozen / "model.pb").write_bytes(b"\x00" * 64)
    (frozen / "description.json").write_text(json.dumps({"model_file": "model.pb", "format": "tf",
                                                         "inputs": [{"name": "x", "shape": [1, 3, 8, 8]}]}))
    with pytest.raises(DeployError, match="deploy starts from onnx or tflite"):
        deploy(frozen, tmp_path / "pkg")
    assert not (tmp_path / "pkg").exists()


def test_target_table_states_why_a_target_is_off():
    off = [t for t in TARGETS if not t.available]
    assert off and all(t.reason for t in off)
    assert {t.tier for t in available_targets()} == {"cloud", "edge", "device"}

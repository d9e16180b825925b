"""The parts of fast training that need no full run: the architectures table (checked against real
MindSpore/mindcv builds in a child), batch augmentation, early stopping, the class report, the CLI."""
from __future__ import annotations

import numpy as np
import pytest

from app.core.models import augment as aug
from app.core.models.architectures import ARCHITECTURES, DEFAULT_ARCH, get_architecture
from app.core.models.class_report import balance_warnings, confusion, per_class
from app.core.models.early_stopping import EarlyStopping
from app.core.models.training import TrainConfig, TrainingError, train


def test_every_architecture_builds_and_classifies():
    from jobs.child import run_child

    found = run_child("app.core.models.architectures:describe_in_child",
                      {"channels": 3, "classes": 4}, timeout=300)
    assert set(found) == set(ARCHITECTURES)
    for name, info in found.items():
        assert "error" not in info, (name, info)
        assert info["output_shape"] == [2, 4], name
    assert found[DEFAULT_ARCH]["parameters"] < 200_000 < found["mobilenet_v3_small"]["parameters"]
    assert sum(a.source == "mindcv" for a in ARCHITECTURES.values()) >= 2


def test_architecture_table_is_consistent():
    assert DEFAULT_ARCH in ARCHITECTURES
    for name, arch in ARCHITECTURES.items():
        assert arch.name == name and arch.notes and arch.title
        assert arch.min_size <= min(arch.input_size, arch.digits_size)
    with pytest.raises(ValueError, match="unknown architecture 'vgg99'.*small_cnn"):
        get_architecture("vgg99")


def test_bad_settings_fail_before_any_child(tmp_path):
    for config, message in [(TrainConfig(arch="nope"), "unknown architecture"),
                            (TrainConfig(augment="wild"), "unknown augmentation"),
                            (TrainConfig(epochs=0), "at least 1"),
                            (TrainConfig(val_fraction=1.0), "between 0 and 1"),
                            (TrainConfig(arch="resnet18", folder_options={"size": 16}), "at least 32×32")]:
        with pytest.raises(ValueError, match=message):
            train(config, tmp_path / "out")
    assert not any(tmp_path.iterdir())
    assert not issubclass(TrainingError, ValueError)  # a bad setting is not a failed run


def _marked_batch(n=64, c=3, size=32):
    """Each image: zeros with one bright pixel in the middle, so moves can be traced."""
    batch = np.zeros((n, c, size, size), np.float32)
    batch[:, :, size // 2, size // 2 - 5] = 1.0
    return batch


def test_shift_moves_content_within_the_limit(rng):
    batch = _marked_batch()
    before = batch.copy()
    out = aug.augment(batch, aug.Augmentation(shift=0.125), rng)
    assert out.shape == batch.shape and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(batch, before)  # the input is not touched
    positions = np.array([np.unravel_index(np.argmax(im[0]), im[0].shape) for im in out])
    moved = np.abs(positions - [16, 11])
    assert moved.max() <= 4 and moved.any(axis=1).mean() > 0.5  # pad = 0.125 × 32 = 4 pixels
    assert np.allclose(out[:, 0], out[:, 1])  # channels move together


def test_flip_and_colour_jitter(rng):
    batch = _marked_batch()
    flipped = aug.augment(batch, aug.Augmentation(flip=True), rng)
    columns = {int(np.argmax(im[0].max(axis=0))) for im in flipped}
    assert columns == {11, 32 - 1 - 11}  # some flipped, some not
    noisy = rng.standard_normal((64, 3, 8, 8)).astype(np.float32)
    jittered = aug.augment(noisy, aug.Augmentation(brightness=0.2, contrast=0.3, saturation=0.3), rng)
    shift = (jittered - noisy).mean(axis=(1, 2, 3))
    assert np.abs(shift).max() > 0.05 and not np.allclose(jittered.std(axis=(1, 2, 3)), noisy.std(axis=(1, 2, 3)))
    gray = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)
    assert aug.augment(gray, aug.Augmentation(saturation=0.5), rng).shape == gray.shape  # 1 channel: no-op
    assert aug.augment(gray, aug.NONE, rng) is gray
    assert not aug.DIGITS.flip and aug.CAPTURE.flip  # a mirrored 2 is not a 2


def test_early_stopping_waits_for_patience():
    stopper = EarlyStopping(patience=2, min_delta=0.01)
    decisions = [stopper.update(e, acc) for e, acc in enumerate([0.5, 0.8, 0.805, 0.79, 0.9, 0.9, 0.9], 1)]
    assert decisions == [False, False, False, True, False, False, True]
    assert (stopper.best, stopper.best_epoch) == (0.9, 5)
    never = EarlyStopping(patience=0)
    assert not any(never.update(e, 0.5) for e in range(1, 20))


def test_class_report():
    assert balance_warnings({"a": 100, "b": 90}) == []
    warnings = balance_warnings({"cat": 120, "dog": 30, "fox": 5})
    assert any("few images in fox (5)" in w for w in warnings)
    assert any("unbalanced" in w and "cat has 120" in w for w in warnings)
    matrix = confusion(np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 1, 2, 0]), 3)
    assert matrix == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    rows = per_class(matrix, ["a", "b", "c"])
    assert rows[0] == {"class": "a", "support": 2, "recall": 0.5, "precision": 0.5, "most_confused_with": "b"}
    assert rows[1]["recall"] == 1.0 and rows[1]["most_confused_with"] is None


def test_cli_offers_every_architecture():
    import argparse

    from app.commands.models import add_cli

    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers())
    args = parser.parse_args(["train", "--out", "x", "--arch", "shufflenet_v2", "--augment", "capture"])
    assert (args.arch, args.augment, args.image_size, args.patience) == ("shufflenet_v2", "capture", None, 5)
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--out", "x", "--arch", "vgg99"])

"""The parts of fast training that need no full run: the architectures table (checked against real
MindSpore/mindcv builds in a child), batch augmentation, early stopping, the class report, the CLI."""
from __future__ import annotations

import numpy as np
import pytest

from app.core.models import augment as aug
from app.core.models.architectures import ARCHITECTURES, DEFAULT_ARCH, get_architecture
from app.core.models.class_report import balance_warnings, confusion, per_class
from app.core.models.early_stopping import (
    ADAPTIVE_LIMIT_S,
    DEFAULT_BUDGET_S,
    EarlyStopping,
    TimeBudget,
    chance_level,
    near_chance,
    outcome_warnings,
)
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


def test_early_stopping_never_stops_at_chance():
    """mindcv's BatchNorm backbones on lfw_subset sat at 50 % (all one class) for 4 epochs while the
    training loss fell: patience ran out at chance and a useless model came back (issue 26)."""
    assert chance_level(2) == 0.5 and chance_level(10, majority_share=0.3) == 0.3
    assert near_chance(0.55, 0.5) and not near_chance(0.7, 0.5) and near_chance(0.2, 0.1)
    stopper = EarlyStopping(patience=2, chance=0.5)
    assert not any(stopper.update(e, 0.5) for e in range(1, 12))  # at chance: never out of patience
    decisions = [stopper.update(e, acc) for e, acc in enumerate([0.9, 0.9, 0.9], 12)]
    assert decisions == [False, False, True]  # above chance: patience counts again
    warm = EarlyStopping(patience=1, warmup=3)
    assert [warm.update(e, acc) for e, acc in enumerate([0.8, 0.7, 0.7, 0.7], 1)] == [False, False, False, True]


def test_time_budget_fixed_and_adaptive():
    fixed = TimeBudget(30.0)
    assert not fixed.exhausted(29, 10, [0.5, 0.9]) and fixed.exhausted(31, 10, [0.5, 0.9])
    assert fixed.describe() == {"seconds": 30.0, "adaptive": False, "limit": 30.0, "extended": False}
    adaptive = TimeBudget(None, chance=0.1)
    assert not adaptive.exhausted(DEFAULT_BUDGET_S - 1, 10, [0.5, 0.6])
    assert adaptive.exhausted(DEFAULT_BUDGET_S + 1, 10, [0.8, 0.8]) and not adaptive.extended  # flat: stop
    assert not adaptive.exhausted(DEFAULT_BUDGET_S + 1, 10, [0.8, 0.9]) and adaptive.extended  # rising
    assert not adaptive.exhausted(DEFAULT_BUDGET_S + 1, 10, [0.5, 0.875, 0.95, 0.9])  # one dip after a best
    assert adaptive.exhausted(DEFAULT_BUDGET_S + 1, 10, [0.5, 0.875, 0.95, 0.9, 0.95])  # a plateau
    assert not TimeBudget(None, chance=0.5).exhausted(DEFAULT_BUDGET_S + 1, 10, [0.5, 0.5])  # still at chance
    assert adaptive.exhausted(ADAPTIVE_LIMIT_S - 5, 10, [0.5, 0.9])  # the next epoch would pass the limit


def test_outcome_warnings_name_the_setting_that_helps():
    budget = TimeBudget(50.0)
    at_chance = outcome_warnings([0.5, 0.5], [20, 20], "budget", 10, 0.5, 2, budget)
    assert len(at_chance) == 1 and "chance level" in at_chance[0] and "--time-budget 240" in at_chance[0]
    rising = outcome_warnings([0.6, 0.8, 0.883], [25, 25, 25], "budget", 10, 0.1, 10, budget)
    assert len(rising) == 1 and "still rising (60.0 → 88.3 %)" in rising[0] and "--time-budget 300" in rising[0]
    epochs = outcome_warnings([0.5, 0.7, 0.9], [5, 5, 5], "epochs", 3, 0.5, 2, budget)
    assert "--epochs 13" in epochs[0]
    assert outcome_warnings([0.9, 0.95, 0.95], [5, 5, 5], "patience", 10, 0.1, 10, budget) == []
    cut = outcome_warnings([0.5, 0.825, 0.8, 0.85, 0.825, 0.825], [64, 2, 3, 3, 3, 3], "budget", 10, 0.5, 2, budget)
    assert cut == ["held-out top-1 82.5 % (best 85.0 %) when the time budget stopped training after 78 s, "
                   "6 of 10 epochs: --time-budget 110 lets all 10 run"]  # a ShuffleNetV2 run on lfw_subset
    assert outcome_warnings([0.985, 0.98, 0.985], [5, 5, 5], "budget", 10, 0.1, 10, budget) == []  # good, flat
    assert outcome_warnings([0.9, 0.97], [5, 5], "epochs", 2, 0.1, 10, budget) == ["held-out top-1 was still rising "
        "(90.0 → 97.0 %) when training ended after 2 epochs (epochs): --epochs 12 would give a better model"]


def test_folders_are_read_as_they_are(tmp_path):
    """Grayscale stays GRAY (also when stored as three equal channels), the images' own size is kept
    within the architecture's range, and what was read is summarised in one line."""
    import cv2

    from app.core.models.datasets import describe_data, load_folder

    rng = np.random.default_rng(0)
    gray, colour = tmp_path / "gray", tmp_path / "colour"
    for name in ("a", "b"):
        for folder in (gray, colour):
            (folder / name).mkdir(parents=True)
        for i in range(3):
            plane = rng.integers(0, 255, (28, 28), dtype=np.uint8)
            cv2.imwrite(str(gray / name / f"{i}.png"), plane if i else cv2.merge([plane] * 3))
            cv2.imwrite(str(colour / name / f"{i}.jpg"), rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    data = load_folder(gray, size=None, color=None, max_size=48)
    assert (data.preprocess.color, data.preprocess.channels, data.images.shape) == ("GRAY", 1, (6, 28, 28))
    assert data.image_sizes == {"most_common": "28×28", "share": 1.0, "min": "28×28", "max": "28×28"}
    assert load_folder(gray, size=None, color=None, min_size=32).images.shape == (6, 32, 32)
    assert load_folder(gray, color="RGB").preprocess.channels == 3  # told otherwise
    data = load_folder(colour, size=None, color=None, max_size=48)
    assert (data.preprocess.color, data.images.shape) == ("RGB", (6, 48, 48, 3))
    line = describe_data({"classes": {"a": 3, "b": 3}, "color": "RGB", "input_size": 48,
                          "image_sizes": data.image_sizes, "train_samples": 4, "val_samples": 2})
    assert line == "a 3, b 3; images 160×120, RGB, trained at 48×48; 4 to train, 2 held out"


def test_training_report_states_why_and_warns():
    from app.gui.pages.training_report import report_html

    metrics = {"class_names": ["face", "other"], "val_top1": 0.5, "val_samples": 40, "train_top1": 0.9,
               "train_samples": 160, "arch": "mobilenet_v3_small", "epochs": 3, "stop_reason": "budget",
               "stopped": "52 s of 50 s", "train_seconds": 52.0, "step_ms": 300.0,
               "warnings": ["held-out top-1 50.0 % is at chance level: Train longer: --time-budget 240"],
               "class_counts": {"face": 100, "other": 100}, "color": "GRAY", "input_size": 32,
               "image_sizes": {"most_common": "25×25", "share": 1.0, "min": "25×25", "max": "25×25"}}
    html = report_html(metrics)
    assert "stopped by budget: 52 s of 50 s" in html and "--time-budget 240" in html
    assert html.index("--time-budget 240") < html.index("Data: ")  # what to change comes first
    assert "images 25×25, GRAY, trained at 32×32" in html


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
    assert (args.color, args.time_budget) == ("auto", None)  # detected colour, adaptive budget
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--out", "x", "--arch", "vgg99"])


def test_camera_look_draws_digits_both_ways(rng):
    """The digits sample's augmentation: white-on-black MNIST strokes become dark ink on light paper
    or light ink on dark, moved, blurred and noisy; the input batch is not touched."""
    from app.core.models.datasets import load_digits

    batch = load_digits().inputs(np.arange(256))  # white on black, like MNIST
    before = batch.copy()
    out = aug.augment(batch, aug.PRESETS["camera"], rng)
    np.testing.assert_array_equal(batch, before)
    assert out.shape == batch.shape and out.dtype == np.float32 and out.min() >= -1 and out.max() <= 1
    border = np.concatenate([out[:, 0, :2].reshape(256, -1), out[:, 0, -2:].reshape(256, -1)], axis=1).mean(1)
    paper, chalkboard = (border > 0).mean(), (border < 0).mean()
    assert 0.3 < paper < 0.7 and 0.3 < chalkboard < 0.7  # both polarities, about half each
    assert not np.allclose(out[:, 0] > 0, batch[:, 0] > 0)  # moved, not only recoloured
    colour = aug.augment(np.repeat(batch[:8], 3, axis=1), aug.PRESETS["camera"], rng)
    assert colour.shape == (8, 3, 28, 28) and np.allclose(colour[:, 0], colour[:, 2])


def test_mnist_5k_is_read_from_the_wheel():
    from app.core.models.datasets import load_dataset

    data = load_dataset("mnist-5k")
    assert data.images.shape == (5000, 28, 28) and np.bincount(data.labels).tolist() == [500] * 10
    assert data.preprocess.color == "GRAY" and data.images.max() == 255 and data.images[:, 0, 0].max() == 0

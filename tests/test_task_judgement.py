"""Judged by the task: verdicts on representative data through the model's decoder, the outputs that matter,
kind checks, picks that honour accuracy, quant-debug's ranking and ARM64 parity of a described or bare .ms."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from app.core.description import DescriptionError, ModelDescription
from app.core.models import task_check
from app.core.models.importing import choose, propose
from app.core.models.quantize import HARMLESS_DB, rank_nodes


def classifier(**update) -> ModelDescription:
    return ModelDescription(**{"name": "net", "inputs": [{"name": "x", "shape": [1, 1, 28, 28]}],
                               "outputs": [{"name": "scores", "shape": [1, 10]}], **update})


def test_a_quantized_classifier_is_wrong_only_beyond_the_task_tolerance():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 400)
    reference = rng.normal(0, 1, (400, 10)).astype(np.float32)
    reference[np.arange(400), labels] += 3.0  # FP32 right on most inputs
    # near-tied logits flip on a few inputs: raw top-1 agreement drops, accuracy barely moves
    close = reference + rng.normal(0, 0.05, reference.shape).astype(np.float32)
    judged = task_check.check(classifier(), "net.onnx", [reference], [close], labels, "held-out digits")
    assert judged.against == "labels" and judged.verdict in ("matches", "close")
    assert abs(judged.loss) <= 1.0 and judged.outputs[0].cosine > 0.99
    # a variant that lost its way on 5 % of the inputs: beyond the 1-point tolerance of top-1
    broken = reference.copy()
    lost = np.flatnonzero(reference.argmax(1) == labels)[:20]
    broken[lost, labels[lost]] -= 10
    judged = task_check.check(classifier(), "net.onnx", [reference], [broken], labels, "held-out digits")
    assert judged.verdict == "WRONG" and judged.loss == pytest.approx(5.0)
    assert "top-1" in judged.summary() and "tolerance 1" in judged.summary()
    # the user's tolerance decides
    lenient = classifier(tolerance=6.0)
    assert task_check.check(lenient, "net.onnx", [reference], [broken], labels, "d").verdict == "close"


def test_auxiliary_outputs_are_reported_not_judged():
    described = classifier(outputs=[{"name": "scores", "shape": [1, 10]},
                                    {"name": "world", "shape": [1, 63], "role": "auxiliary"}])
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 50)
    scores = rng.normal(0, 1, (50, 10)).astype(np.float32)
    scores[np.arange(50), labels] += 4
    world = rng.normal(0, 0.05, (50, 63)).astype(np.float32)
    judged = task_check.check(described, "net.onnx", [scores, world], [scores, -world], labels, "d")
    assert judged.verdict == "matches" and judged.loss == 0
    assert [(o.name, o.role) for o in judged.outputs] == [("scores", "main"), ("world", "auxiliary")]
    assert judged.outputs[1].cosine == pytest.approx(-1.0) and "auxiliary, not judged" in judged.summary()
    assert described.main_outputs() == [0]


def test_ranking_never_puts_a_harmless_node_first():
    """A node already at ≥ 35 dB is no place to fix INT8, however many dB it 'adds' over a perfect input."""
    nodes = [{"name": "input", "type": "input", "inputs": [], "outputs": [{"snr_db": 60.0, "cosine": 1.0}]},
             {"name": "quiet", "type": "Conv2DFusion", "inputs": ["input"], "outputs": [{"snr_db": 38.7, "cosine": 0.99993}]},
             {"name": "loud", "type": "Conv2DFusion", "inputs": ["quiet"], "outputs": [{"snr_db": 20.0, "cosine": 0.99}]}]
    ranked = {n["name"]: n for n in rank_nodes(nodes)}
    assert ranked["quiet"]["added_db"] > ranked["loud"]["added_db"]  # it "adds" more …
    assert ranked["loud"]["rank"] < ranked["quiet"]["rank"]  # … but it is harmless, so it is not first
    assert ranked["quiet"]["snr_db"] >= HARMLESS_DB


def test_a_declared_kind_that_cannot_read_the_outputs_is_refused(tmp_path):
    from sample_models.fetch import ensure

    palm = propose(ensure("palm_detection"))
    with pytest.raises(DescriptionError, match=r"kind yolov5 reads .* its outputs are .*1×2016×18.*they fit ssd"):
        choose(palm, kind="yolov5")
    assert choose(palm, kind="ssd", decoder={"preset": "palm_detection"}).kind == "ssd"
    done = subprocess.run([sys.executable, "-m", "app", "import", str(ensure("hand_landmark")), "--kind", "segmentation"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "kind segmentation reads" in done.stderr and "keypoints" in done.stderr
    assert "Traceback" not in done.stderr


def test_picks_honour_accuracy_without_limits():
    from app.core.models.quantize import Variant, pick_variants

    variants = [Variant("fp32", "", 400 * 1024, metric=94.8), Variant("int8", "", 110 * 1024, metric=74.0),
                Variant("int8+float[a]", "", 130 * 1024, metric=94.1)]
    picks = pick_variants(variants)
    assert picks["device"]["variant"] == "int8+float[a]"  # not the 74-score INT8 for being the smallest file


@pytest.mark.long
def test_verify_device_on_a_bare_ms_says_its_inputs_are_random(tmp_path):
    from converters.lite import convert
    from converters.lite.arm64.paths import unavailable_reason
    from sample_models import DIGITS

    if reason := unavailable_reason():
        pytest.fail(f"the ARM64 runtime is part of the set-up: {reason}")
    bare = tmp_path / "elsewhere" / "net.ms"
    convert(DIGITS / "model.onnx", bare, input_format="NCHW")
    done = subprocess.run([sys.executable, "-m", "app", "verify-device", str(bare), "--json"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    import json

    result = json.loads(done.stdout)
    assert "seeded random inputs" in result["inputs"] and result["task"] == "raw outputs"
    assert result["models"]["net"]["ok"] is True

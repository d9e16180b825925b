"""INT8 (FULL_QUANT) for a model with two inputs: calibration per input, real Lite, checked by verify."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from conftest import ort_run
from onnx import TensorProto, helper, numpy_helper

from converters.lite import LiteError, LiteModel, QuantConfig, convert


def _two_input_net(path, rng):
    """image 1×3×8×8 → Conv; side 1×4 → Gemm; added and pooled: two inputs of different shapes."""
    inits = [numpy_helper.from_array((rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32), "w"),
             numpy_helper.from_array((rng.standard_normal((4, 4)) * 0.5).astype(np.float32), "fc")]
    nodes = [helper.make_node("Conv", ["image", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                              strides=[1, 1], dilations=[1, 1]),
             helper.make_node("GlobalAveragePool", ["c"], ["p"]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["side", "fc"], ["g"]),
             helper.make_node("Add", ["f", "g"], ["y"])]
    graph = helper.make_graph(nodes, "two_inputs",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8]),
                               helper.make_tensor_value_info("side", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_int8_with_a_calibration_folder_per_input(tmp_path, rng):
    src = _two_input_net(tmp_path / "two.onnx", rng)
    for name, shape in (("image", (3, 8, 8)), ("side", (4,))):
        (tmp_path / "calib" / name).mkdir(parents=True)
        for k in range(6):
            np.save(tmp_path / "calib" / name / f"{k}.npy", rng.uniform(0, 1, shape).astype(np.float32))
    result = convert(src, tmp_path / "two.ms", input_format="NCHW",
                     quant=QuantConfig(calibration=tmp_path / "calib"), accept_mismatch=True)
    assert result.precision == "int8"
    assert result.verification is not None and result.verification.verdict in ("matches", "close")
    image = rng.uniform(0, 1, (1, 3, 8, 8)).astype(np.float32)
    side = rng.uniform(0, 1, (1, 4)).astype(np.float32)
    with LiteModel(result.path) as lite:
        got = lite.predict({"image": image, "side": side})[0]
    want = ort_run(src, image, side)[0]
    cosine = float(got.ravel() @ want.ravel() / np.linalg.norm(got) / np.linalg.norm(want))
    assert cosine > 0.99


def test_int8_with_arrays_per_input(tmp_path, rng):
    src = _two_input_net(tmp_path / "two.onnx", rng)
    calib = {"image": rng.uniform(0, 1, (5, 3, 8, 8)).astype(np.float32),
             "side": rng.uniform(0, 1, (5, 4)).astype(np.float32)}
    result = convert(src, tmp_path / "two.ms", quant=QuantConfig(calibration=calib), verify=False)
    assert result.size_bytes > 0


def test_a_missing_input_folder_is_named(tmp_path, rng):
    src = _two_input_net(tmp_path / "two.onnx", rng)
    (tmp_path / "calib" / "image").mkdir(parents=True)
    np.save(tmp_path / "calib" / "image" / "0.npy", np.zeros((3, 8, 8), np.float32))
    with pytest.raises(LiteError, match=r"one subfolder per input \(image/, side/\); missing: side/"):
        convert(src, tmp_path / "two.ms", quant=QuantConfig(calibration=tmp_path / "calib"))
    with pytest.raises(LiteError, match="give {input name: samples}, not one array"):
        convert(src, tmp_path / "two.ms", quant=QuantConfig(calibration=np.zeros((2, 3, 8, 8), np.float32)))
    assert not (tmp_path / "two.ms").exists()

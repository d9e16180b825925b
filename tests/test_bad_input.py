"""Bad files give one exception type (LiteError) with a readable message; the process survives
and no output file is left behind."""
from __future__ import annotations

import os

import numpy as np
import onnx_models
import pytest

from converters.lite import LiteError, LiteModel, convert, probe


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    src = onnx_models.gap_net(folder / "good.onnx")
    return {"onnx": src, "ms": convert(src, folder / "good.ms").path,
            "mindir": convert(src, folder / "good.mindir").path}


def _bad_files(folder, good):
    rng = np.random.default_rng(7)
    files = {}
    for suffix in (".onnx", ".tflite", ".ms", ".mindir", ".pb"):
        files[f"zero{suffix}"] = b""
        files[f"random{suffix}"] = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    for kind in ("onnx", "ms", "mindir"):
        data = good[kind].read_bytes()
        files[f"truncated.{kind}"] = data[: len(data) // 2]
    files["text.onnx"] = "not a model at all — ünïcødé\n".encode()
    paths = {}
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths[name] = path
    return paths


def test_bad_files_convert_cleanly(tmp_path, good):
    bad = _bad_files(tmp_path / "in", good) if (tmp_path / "in").mkdir() is None else None
    out = tmp_path / "out"
    out.mkdir()
    for name, path in bad.items():
        if path.suffix in (".ms",):
            continue  # .ms is not a converter input
        with pytest.raises(LiteError) as info:
            convert(path, out / "x.ms", timeout=120)
        assert path.name in str(info.value), str(info.value)
    assert os.listdir(out) == [], "a failed conversion left files behind"


@pytest.mark.parametrize("suffix", [".ms", ".mindir"])
def test_bad_files_load_cleanly_in_process(tmp_path, good, suffix):
    (tmp_path / "in").mkdir()
    for name, path in _bad_files(tmp_path / "in", good).items():
        if path.suffix != suffix:
            continue
        with pytest.raises(LiteError) as info:
            LiteModel(path, threads=1)
        assert path.name in str(info.value)


def test_bad_files_probe_cleanly(tmp_path, good):
    (tmp_path / "in").mkdir()
    bad = _bad_files(tmp_path / "in", good)
    for name in ("random.ms", "truncated.ms", "truncated.mindir", "zero.tflite"):
        with pytest.raises(LiteError) as info:
            probe(bad[name], timeout=120)
        assert bad[name].name in str(info.value)


def test_lite_text_is_in_the_message(tmp_path, good):
    path = tmp_path / "garbage.mindir"
    path.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(LiteError, match="Lite: .*(MindIR|model)"):
        LiteModel(path)


def test_unsupported_op_carries_lite_text(tmp_path):
    src = onnx_models.unsupported_op(tmp_path / "strings.onnx")
    with pytest.raises(LiteError, match="strings.onnx") as info:
        convert(src, tmp_path / "s.ms")
    assert "Lite:" in str(info.value)
    assert not (tmp_path / "s.ms").exists()


@pytest.mark.parametrize("make", [
    lambda d: d / "missing.onnx",
    lambda d: d,  # a directory
    lambda d: (d / "model.txt").write_text("x") and d / "model.txt",  # unknown suffix
    lambda d: (d / "net.prototxt").write_text("name: 'n'") and d / "net.prototxt",  # no .caffemodel
])
def test_request_errors(tmp_path, make):
    src = make(tmp_path)
    with pytest.raises(LiteError):
        convert(src, tmp_path / "out" / "x.ms")
    with pytest.raises(LiteError):
        LiteModel(src if src.suffix in (".ms", ".mindir") else tmp_path / "nope.ms")
    assert not (tmp_path / "out" / "x.ms").exists()


def test_wrong_output_suffix(good, tmp_path):
    with pytest.raises(LiteError, match=".ms or .mindir"):
        convert(good["onnx"], tmp_path / "x.tflite")

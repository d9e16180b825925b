"""The `edge-studio` command as a user runs it (real subprocesses, real Lite)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx_models


def edge_studio(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def test_doctor_json_reports_bridge_ok():
    done = edge_studio("doctor", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["lite_bridge"]["ok"] is True
    assert report["lite_bridge"]["runtime"] and report["lite_bridge"]["converter"]
    assert report["lite_bridge"]["version"] == "2.0.0"
    assert report["python"].startswith("3.11")
    for key in ("mindspore", "pyside6", "opencv", "onnxruntime"):
        assert report[key], key
    assert isinstance(report["cameras"], list)


def test_doctor_fails_when_bridge_missing(tmp_path):
    import os

    env = dict(os.environ, EDGE_STUDIO_LITE_HOME=str(tmp_path / "nothing"))
    done = subprocess.run([sys.executable, "-m", "app", "doctor", "--json"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 1
    assert "not built" in json.loads(done.stdout)["lite_bridge"]["error"]


def test_convert_to_ms_json(tmp_path):
    src = onnx_models.gap_net(tmp_path / "m.onnx")
    done = edge_studio("convert", src, "--to", "ms", "--out", tmp_path / "x.ms", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["size_bytes"] == (tmp_path / "x.ms").stat().st_size > 0
    assert result["precision"] == "fp32" and result["save_format"] == "ms"


def test_convert_int8_with_calibration(tmp_path):
    src = onnx_models.gap_net(tmp_path / "m.onnx")
    calib = tmp_path / "calib"
    calib.mkdir()
    rng = np.random.default_rng(0)
    for i in range(20):
        np.save(calib / f"{i}.npy", rng.random((1, 28, 28), dtype=np.float32))  # batch axis optional
    done = edge_studio("convert", src, "--to", "ms", "--out", tmp_path / "q.ms", "--int8", "--calib", calib, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["precision"] == "int8" and result["size_bytes"] > 0


def test_refused_conversion_exits_nonzero_with_lite_text(tmp_path):
    src = onnx_models.unsupported_op(tmp_path / "strings.onnx")
    done = edge_studio("convert", src, "--out", tmp_path / "s.ms", "--json")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "Lite could not convert strings.onnx" in done.stderr and "Lite:" in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "s.ms").exists()


def test_cli_usage_errors_are_one_line(tmp_path):
    done = edge_studio("convert", tmp_path / "missing.onnx", "--out", tmp_path / "x.ms")
    assert done.returncode == 1 and "no such file" in done.stderr and "Traceback" not in done.stderr
    done = edge_studio("convert", tmp_path / "missing.onnx", "--int8")
    assert done.returncode == 1 and "--calib" in done.stderr


def test_probe_cli(tmp_path):
    src = onnx_models.gap_net(tmp_path / "m.onnx")
    done = edge_studio("probe", src)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"][0]["shape"] == [1, 10]

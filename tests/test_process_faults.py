"""Process faults: the converter child, the trainer child and the cloud server killed with SIGKILL
mid-run, and model files that crash Lite itself (SIGSEGV in the converter, SIGFPE in the loader).

Every fault is real: a real child of this process gets a real `kill -9`, a real Lite crashes on a
real file. Each test asserts what the caller sees (one clear error, no hang, no traceback), what is
left on disk (nothing: the output folder as it was, no staging or temp files), and that the same
operation run again succeeds. No timing assertions; timeouts are generous.
"""
from __future__ import annotations

import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import onnx
import psutil
import pytest
from busy import scaled
from onnx import TensorProto, helper

from app.core.cloud.client import CloudError, CloudRuntime
from app.core.cloud.server import start_server_process
from app.core.files import MANIFEST
from app.core.models.card import make_card
from app.core.models.evaluate import validation_inputs
from app.core.models.training import ARTIFACTS, TrainConfig, TrainingError, train
from app.core.preprocess import PreprocessSpec
from converters.lite import LiteError, QuantConfig, convert, probe
from jobs.state import JobState

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "sample_models" / "digits"
FACE_TFLITE = ROOT / ".cache" / "models" / "face_detection_short_range.tflite"


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """A TMPDIR of this test's own, for this process and its children: afterwards it must be empty
    (other jobs on the machine use /tmp at the same time, so /tmp itself cannot be compared)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def listing(folder: Path) -> list[str]:
    """Everything under a folder, hidden files and folders included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


ORT_SESSION_FILE = ".ses"  # onnxruntime keeps one session-id file in TMPDIR (reused, never per run)


def leftovers(private_tmp: Path) -> list[str]:
    return [name for name in listing(private_tmp) if name != ORT_SESSION_FILE]


def find_child(job_args: list[str], timeout: float = 120.0) -> psutil.Process:
    """The child of this process whose command line ends with `job_args` (e.g. ["_child", "convert"])."""
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        for proc in psutil.Process().children(recursive=True):
            try:
                if proc.cmdline()[-len(job_args):] == job_args:
                    return proc
            except psutil.Error:
                continue
        time.sleep(0.005)
    raise AssertionError(f"no child process {' '.join(job_args)} appeared")


def session_alive(sid: int) -> list[int]:
    """Processes still alive in a child's session (children run with start_new_session)."""
    alive = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getsid(proc.pid) == sid and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc.pid)
        except (OSError, psutil.Error):
            continue
    return alive


def assert_clean_message(text: str, *needles: str) -> None:
    for needle in needles:
        assert needle in text, text
    assert "Traceback" not in text and 'File "' not in text, text


# -- the converter child ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def calibration() -> np.ndarray:
    x, _ = validation_inputs("digits", PreprocessSpec.load(DIGITS / "preprocess.json"))
    return x[:100]


def _convert_int8(dst: Path, calibration: np.ndarray):
    # INT8 (100 calibration samples) keeps Lite busy for about a second: a wide window to kill it in
    return convert(DIGITS / "model.onnx", dst, input_format="NCHW", quant=QuantConfig(calibration), timeout=300)


def test_converter_killed_mid_run(tmp_path, private_tmp, calibration):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("the user's own file")
    before = listing(out)
    killed: dict = {}

    def killer() -> None:
        child = find_child(["_child", "converters.lite.convert:convert_in_child"])
        maps = Path(f"/proc/{child.pid}/maps")
        while "libes_lite_converter" not in maps.read_text():  # Lite's converter is loaded: it is converting
            time.sleep(0.005)
        time.sleep(0.2)
        killed["pid"] = child.pid
        os.kill(child.pid, signal.SIGKILL)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    with pytest.raises(LiteError) as info:
        _convert_int8(out / "model_int8.ms", calibration)
    thread.join(30)
    assert killed, "the converter child was not killed"
    assert_clean_message(str(info.value), "model.onnx", "killed", "SIGKILL")
    assert "damaged" not in str(info.value)  # a kill from outside says nothing about the model file
    assert listing(out) == before, "a killed conversion left files in the output folder"
    assert leftovers(private_tmp) == []
    assert session_alive(killed["pid"]) == []

    done = _convert_int8(out / "model_int8.ms", calibration)  # the same conversion again
    assert done.path.is_file() and done.precision == "int8" and done.size_bytes > 0
    assert listing(out) == sorted(before + ["model_int8.ms"])
    assert leftovers(private_tmp) == []


# -- files that crash Lite -------------------------------------------------------------------------
def reshape_allowzero_reordered(path: Path) -> Path:
    """onnx's backend node test `test_reshape_allowzero_reordered` (a (0,3,4) tensor reshaped to
    (3,4,0) with allowzero=1), built here as the onnx package's generator builds it: Lite 2.0's
    converter dies on it with SIGSEGV (docs/onnx-conformance.md)."""
    node = helper.make_node("Reshape", ["data", "shape"], ["reshaped"], allowzero=1)
    graph = helper.make_graph([node], "reshape_allowzero_reordered",
                              [helper.make_tensor_value_info("data", TensorProto.FLOAT, [0, 3, 4]),
                               helper.make_tensor_value_info("shape", TensorProto.INT64, [3])],
                              [helper.make_tensor_value_info("reshaped", TensorProto.FLOAT, [3, 4, 0])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), str(path))
    return path


def tflite_named_onnx(path: Path) -> Path:
    """A TFLite model (the face detector) saved as .onnx: Lite's ONNX parser dies on it with SIGSEGV,
    so convert() now tells the formats apart by their first bytes and never hands it to Lite."""
    if not FACE_TFLITE.is_file():
        from sample_models.face_detection import ensure_face_detector

        ensure_face_detector()
    path.write_bytes(FACE_TFLITE.read_bytes())
    return path


@pytest.mark.parametrize("make, verdict", [(reshape_allowzero_reordered, r"crashed \(SIGSEGV\)"),
                                           (tflite_named_onnx, r"it is a tflite model, not an? onnx")],
                         ids=["reshape_allowzero_reordered", "tflite_named_onnx"])
def test_converter_segfault_is_contained(tmp_path, private_tmp, make, verdict):
    src = make(tmp_path / f"{make.__name__}.onnx")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(LiteError) as info:
        convert(src, out / "x.ms", timeout=300)
    assert_clean_message(str(info.value), src.name)
    assert re.search(verdict, str(info.value), re.IGNORECASE), str(info.value)
    assert listing(out) == [] and leftovers(private_tmp) == []
    # the caller is still here and Lite still works: a good model converts right after
    assert convert(DIGITS / "model.onnx", out / "good.ms", input_format="NCHW").path.is_file()
    # the import path (model card) reports the same crash as Lite's verdict, not as an exception
    card = make_card(src)
    assert not card.lite_converts and re.search(verdict, card.lite_error, re.IGNORECASE), card.lite_error
    assert leftovers(private_tmp) == []


def ms_with_zero_batch(good_ms: Path, path: Path) -> Path:
    """A valid .ms whose input tensor claims shape (0, 1, 28, 28) instead of (1, 1, 28, 28): one int
    changed in the flatbuffer. Lite 2.0's loader (Model::Build) divides by it and dies with SIGFPE."""
    data = bytearray(good_ms.read_bytes())
    dims = struct.pack("<5I", 4, 1, 1, 28, 28)  # flatbuffer vector: length 4, then the dims
    assert data.count(dims) == 1, "the digits .ms no longer has one (1, 1, 28, 28) tensor"
    at = data.find(dims) + 4
    data[at:at + 4] = struct.pack("<I", 0)
    path.write_bytes(bytes(data))
    return path


def test_probe_contains_a_model_that_crashes_the_loader(tmp_path, private_tmp):
    good = convert(DIGITS / "model.onnx", tmp_path / "digits.ms", input_format="NCHW").path
    bad = ms_with_zero_batch(good, tmp_path / "zero_batch.ms")
    # the file really kills a process that loads it with Lite (so the probe is what saves us)
    loads = subprocess.run([sys.executable, "-c", "import sys; from converters.lite import LiteModel; "
                            "LiteModel(sys.argv[1], threads=1)", str(bad)],
                           cwd=ROOT, capture_output=True, timeout=300)
    assert loads.returncode == -signal.SIGFPE, (loads.returncode, loads.stderr[-2000:])

    with pytest.raises(LiteError) as info:
        probe(bad, timeout=300)
    assert_clean_message(str(info.value), "Lite could not load zero_batch.ms", "crashed (SIGFPE)")
    assert probe(good, timeout=300).inputs[0]["shape"] == [1, 1, 28, 28]  # the caller carries on
    assert leftovers(private_tmp) == []


# -- the trainer child -----------------------------------------------------------------------------
def test_trainer_killed_mid_run(tmp_path, private_tmp):
    parent = tmp_path / "models"
    parent.mkdir()
    (parent / "earlier").mkdir()
    (parent / "earlier" / "model.onnx").write_bytes(b"an earlier run's model")
    before = listing(parent)
    killed: dict = {}

    def kill_on_first_step(event: dict) -> None:  # called by run_child's reader while the child trains
        if event.get("type") == "step" and not killed:
            child = find_child(["_child", "app.core.models.training_child:train_in_child"], timeout=10)
            killed["pid"], killed["event"] = child.pid, event
            os.kill(child.pid, signal.SIGKILL)

    with pytest.raises(TrainingError) as info:
        train(TrainConfig(epochs=1), parent / "digits", JobState(on_event=kill_on_first_step), timeout=600)
    assert killed["event"]["epoch"] == 1
    assert_clean_message(str(info.value), "training failed", "killed", "SIGKILL")
    assert listing(parent) == before, "a killed training left files behind"
    assert leftovers(private_tmp) == []  # MindSpore's scratch folder went with the staging folder
    assert session_alive(killed["pid"]) == []

    steps = []
    metrics = train(TrainConfig(epochs=1), parent / "digits", JobState(on_event=steps.append), timeout=600)
    assert metrics["epochs"] == 1 and metrics["val_top1"] > 0.5 and any(e["type"] == "epoch" for e in steps)
    written = [*ARTIFACTS, MANIFEST]  # the manifest lists the files training wrote there (nothing else)
    assert sorted(p.name for p in (parent / "digits").iterdir()) == sorted(written)
    assert listing(parent) == sorted(before + ["digits"] + [f"digits/{a}" for a in written])
    assert leftovers(private_tmp) == []


# -- the cloud server ------------------------------------------------------------------------------
def test_cloud_server_killed_while_a_client_is_connected(private_tmp):
    handle = start_server_process(DIGITS, token=None)
    runtime = CloudRuntime(handle.url)
    x = np.zeros((1, 1, 28, 28), np.float32)
    answered, failures = [], []
    busy = threading.Event()

    def client() -> None:  # a live view's cloud worker: predict, predict, … until it fails
        try:
            for _ in range(100_000):
                answered.append(runtime.predict(x)[0].argmax())
                busy.set()
        except CloudError as exc:
            failures.append(str(exc))
        except Exception as exc:  # anything else is a defect: record it for the assert below
            failures.append(f"UNEXPECTED {type(exc).__name__}: {exc}")

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    try:
        assert busy.wait(120), "the client never got an answer"
        os.kill(handle.pid, signal.SIGKILL)
        thread.join(60)
        assert not thread.is_alive(), "the client hangs on a dead server"
        assert handle.process.wait(30) == -signal.SIGKILL
        (message,) = failures
        assert_clean_message(message, f"the cloud server at {handle.url} is not reachable")
        with pytest.raises(CloudError, match="not reachable"):  # and so is every later request
            runtime.predict(x)
        assert len(answered) > 0
    finally:
        runtime.close()
        handle.stop()
    assert leftovers(private_tmp) == []  # its log file is removed by stop(), dead or alive

    with start_server_process(DIGITS, token=None) as again, CloudRuntime(again.url) as fresh:
        assert fresh.predict(x)[0].shape == (1, 10)
    assert leftovers(private_tmp) == []


def test_live_cli_probes_a_model_file_before_loading_it(tmp_path):
    """`edge-studio live --model FILE` loads a file from elsewhere in a child first: the crash becomes a message."""
    good = convert(DIGITS / "model.onnx", tmp_path / "digits.ms", input_format="NCHW").path
    bad = ms_with_zero_batch(good, tmp_path / "zero_batch.ms")
    done = subprocess.run([sys.executable, "-m", "app", "live", "--source", "synthetic", "--model", str(bad),
                           "--frames", "5", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert "zero_batch.ms" in done.stderr and "crashed (SIGFPE)" in done.stderr
    assert "Traceback" not in done.stderr

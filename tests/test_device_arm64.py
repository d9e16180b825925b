"""The device tier on Lite 2.0's real aarch64 runtime: our runner under qemu-user (parity with x86
Lite and FP32), the board bundle, and `bench --remote` against a real OpenSSH server on 127.0.0.1
whose 'board' runs the bundle through qemu. Emulated processes cost ~4 s each: inputs are batched
into one process per model, and the sample sizes are small."""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import loopback_sshd
import numpy as np
import pytest

from converters.lite.arm64.paths import unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "sample_models" / "digits"
QEMU_PREFIX = "qemu-aarch64-static -L /usr/aarch64-linux-gnu"

pytestmark = pytest.mark.skipif(bool(unavailable_reason()), reason=f"ARM64: {unavailable_reason()}")


@pytest.fixture(scope="module")
def digits_models(tmp_path_factory) -> dict:
    from app.core.models.datasets import load_digits
    from converters.lite import QuantConfig, convert

    folder = tmp_path_factory.mktemp("digits-arm")
    for name in ("preprocess.json", "labels.json"):
        (folder / name).write_bytes((DIGITS / name).read_bytes())
    onnx = DIGITS / "model.onnx"
    calibration = load_digits().inputs()[::18]
    return {"edge-fp32": (convert(onnx, folder / "model.ms", input_format="NCHW").path, "fp32"),
            "device-fp16": (convert(onnx, folder / "model_fp16.ms", input_format="NCHW", fp16_weights=True).path,
                            "fp16"),
            "device-int8": (convert(onnx, folder / "model_int8.ms", input_format="NCHW",
                                    quant=QuantConfig(calibration)).path, "int8")}


@pytest.fixture(scope="module")
def digits_parity(digits_models) -> tuple[dict, dict]:
    from app.core.models.device_parity import parity
    from app.core.models.evaluate import validation_inputs
    from app.core.preprocess import PreprocessSpec
    from app.core.runtimes import run_batch

    x, _ = validation_inputs("digits", PreprocessSpec.load(DIGITS / "preprocess.json"))
    x = x[:40]
    samples: dict = {}
    result = parity(digits_models, x, reference=run_batch(DIGITS / "model.onnx", x), samples_out=samples)
    return result, samples


def test_digits_parity_fp32_fp16_int8(digits_parity):
    result, _ = digits_parity
    assert result["available"] and result["samples"] == 40 and "emulated" in result["runtime"]
    models = result["models"]
    for name in ("edge-fp32", "device-fp16"):  # float variants: ARM = x86 within 1e-4
        assert max(models[name]["vs_x86"]["max_abs_diff"]) < 1e-4, models[name]
        assert models[name]["vs_x86"]["top1_agreement"] == 1.0
    int8 = models["device-int8"]
    assert int8["vs_x86"]["max_abs_diff"] == [0.0]  # measured: bit-identical on digits
    assert int8["vs_fp32"]["top1_agreement"] >= 0.95 and int8["vs_fp32"]["cosine"][0] > 0.99
    assert all(m["ok"] for m in models.values()) and result["ok"]


@pytest.mark.long  # a second full parity sweep (65 s at load 16); digits parity stays in the default run
def test_face_parity_fp32_int8_boxes(tmp_path):
    """BlazeFace INT8 is not bit-identical between ARM and x86: stated tolerance (cosine ≥ 0.99 per
    output, ≥ 90 % of boxes matched at IoU ≥ 0.5), and both agree with FP32 on the boxes."""
    from app.core.live.samples import BUILDERS
    from app.core.models.device_parity import (
        TOLERANCE,
        face_decoder,
        face_inputs,
        parity,
    )

    fp32, int8 = BUILDERS["face"](tmp_path), BUILDERS["face-int8"](tmp_path)
    result = parity({"face-fp32": (fp32, "fp32"), "face-int8": (int8, "int8")}, face_inputs(8), task="detection",
                    decode=face_decoder(), reference_name="face-fp32")
    exact, quant = result["models"]["face-fp32"], result["models"]["face-int8"]
    assert exact["task"] == "detection" and exact["ok"]
    assert exact["vs_x86"]["box_agreement"] == 1.0 and exact["vs_x86"]["boxes"] == 8  # one face per frame
    assert min(exact["vs_x86"]["cosine"]) >= TOLERANCE["fp32"]["cosine"]
    assert quant["ok"], quant
    assert min(quant["vs_x86"]["cosine"]) >= TOLERANCE["int8"]["cosine"]
    assert quant["vs_x86"]["box_agreement"] >= TOLERANCE["int8"]["agreement"]
    assert quant["vs_fp32"]["box_agreement"] >= 0.75 and quant["vs_fp32"]["boxes"] == 8


def test_bundle_contents_and_size(digits_models, digits_parity, tmp_path):
    from converters.lite.arm64.bundle import write_bundle

    info = write_bundle(tmp_path / "pkg" / "device", digits_models, digits_parity[1], name="digits")
    bundle = tmp_path / "pkg" / "device" / "arm64"
    assert (bundle / "es_arm_runner").is_file() and os.access(bundle / "run.sh", os.X_OK)
    assert sorted(p.name for p in (bundle / "models").iterdir()) == ["model.ms", "model_fp16.ms", "model_int8.ms"]
    assert json.loads((bundle / "bundle.json").read_text())["needs"]["glibc"] == info["needs"]["glibc"]
    assert info["needs"]["glibc"] >= "2.17"
    assert 20 * 2**20 < info["compressed_bytes"] < 60 * 2**20  # the Lite libraries dominate (~40 MB)
    assert not list((tmp_path / "pkg" / "device").glob(".arm64-*"))  # no staging left


def test_bundle_refuses_without_samples_and_leaves_nothing(digits_models, tmp_path):
    from converters.lite.arm64.bundle import BundleError, write_bundle

    with pytest.raises(BundleError, match="no sample input/output for"):
        write_bundle(tmp_path / "device", digits_models, {})
    assert not (tmp_path / "device" / "arm64").exists() and not list((tmp_path / "device").glob(".arm64-*"))


def test_rejected_ms_is_one_line(tmp_path):
    from converters.lite.arm64.emulate import Arm64Error, run_ms

    bad = tmp_path / "broken.ms"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(Arm64Error) as err:
        run_ms(bad, np.zeros((1, 1, 28, 28), np.float32))
    assert "Lite could not load" in str(err.value) and "\n" not in str(err.value)


def test_missing_qemu_is_one_line(tmp_path, digits_models):
    """No qemu on PATH: verify-device says what to install, one line, no traceback."""
    env = {**os.environ, "PATH": str(tmp_path)}  # an empty folder: no qemu-aarch64-static
    done = subprocess.run([sys.executable, "-m", "app", "verify-device", str(digits_models["device-int8"][0]),
                           "--data", "digits"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "qemu-aarch64-static is not installed" in lines[0], done.stderr


# -- bench --remote over a real sshd on 127.0.0.1 ---------------------------------------------------
@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    if reason := loopback_sshd.unavailable():
        pytest.skip(reason)
    server = loopback_sshd.start(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def int8_bundle(digits_models, digits_parity, tmp_path_factory) -> Path:
    from converters.lite.arm64.bundle import write_bundle

    package = tmp_path_factory.mktemp("remote-pkg")
    write_bundle(package / "device", {"device-int8": digits_models["device-int8"]}, digits_parity[1], name="digits")
    return package


def _leftovers() -> set[str]:
    return set(glob.glob("/tmp/edge-studio-bench.*"))


@pytest.fixture(scope="module")
def remote_result(sshd, int8_bundle) -> dict:
    """`edge-studio bench --remote` end to end: the board (this machine's sshd) runs the bundle
    through qemu, as EDGE_STUDIO_REMOTE_PREFIX says."""
    before = _leftovers()
    done = subprocess.run([sys.executable, "-m", "app", "bench", "--remote", sshd.remote, str(int8_bundle),
                           "--identity", str(sshd.key), "--known-hosts", str(sshd.known_hosts), "--threads", "1",
                           "--runs", "5", "--warmup", "1", "--json"], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "EDGE_STUDIO_REMOTE_PREFIX": QEMU_PREFIX}, timeout=600)
    assert done.returncode == 0, done.stderr
    assert _leftovers() == before  # the board's copy is removed
    return json.loads(done.stdout)


def test_remote_bench_over_loopback_sshd(remote_result):
    from app.core.measure.remote_bench import profile_rows

    result = remote_result
    assert result["checks_ok"] and result["system"]["machine"] == "aarch64"
    assert result["emulated"] and "emulated by qemu" in result["label"] and "measured on 127.0.0.1" in result["label"]
    (row,) = profile_rows(result)
    assert row["model"] == "model_int8.ms" and row["check_ok"] and 0 < row["p50_ms"] <= row["p99_ms"]
    assert result["runs"] == 5 and result["uploaded_bytes"] > 20 * 2**20


def test_profile_page_adds_board_rows_and_arm64_cells(qtbot, remote_result, digits_parity):
    from app.core.models.device_parity import cell
    from app.gui.pages.profile_page import ARM64_COLUMN, ProfilePage
    from app.gui.state import AppState
    from app.gui.workers import JobRunner

    runner = JobRunner()
    try:
        page = ProfilePage(AppState(), runner)
        qtbot.addWidget(page)
        page.add_board_rows(remote_result)
        assert page.table.rowCount() == 1
        assert page.table.item(0, 0).text() == "model_int8.ms @ 127.0.0.1"
        assert page.table.item(0, ARM64_COLUMN).text() == "✓"
        assert "emulated by qemu" in page.table.item(0, 4).toolTip()
        assert "emulated: correctness only" in page.table.horizontalHeaderItem(ARM64_COLUMN).toolTip()
    finally:
        runner.stop_all()
    text, tip = cell(digits_parity[0], "device-int8")
    assert text == "✓" and "cosine" in tip and "emulated" in tip
    assert cell({"available": False, "reason": "qemu missing"}, "device-int8") == ("n/a", "ARM64 not available: qemu missing")


def test_remote_non_arm_host_is_one_line(sshd, int8_bundle):
    from app.core.measure.remote_bench import RemoteBenchError, remote_bench

    if Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        pytest.skip("binfmt_misc runs aarch64 binaries on this host: it is not a non-ARM board")
    with pytest.raises(RemoteBenchError, match=r"is a x86_64 machine, not aarch64"):
        remote_bench(sshd.remote, int8_bundle, key=sshd.key, known_hosts=sshd.known_hosts, prefix="")


def test_remote_wrong_key_unknown_host_unreachable(sshd, int8_bundle, tmp_path):
    from app.core.measure.remote_bench import RemoteBenchError, remote_bench

    (tmp_path / "empty_known_hosts").write_text("")
    with loopback_sshd.refusing_port() as closed:
        cases = [
            (dict(key=sshd.other_key, known_hosts=sshd.known_hosts), sshd.remote, "the board refused the key"),
            (dict(key=sshd.key, known_hosts=tmp_path / "empty_known_hosts"), sshd.remote, "is not in known_hosts"),
            (dict(key=sshd.key, known_hosts=sshd.known_hosts), f"{sshd.user}@127.0.0.1:{closed}",
             "cannot connect to 127.0.0.1"),
        ]
        for options, remote, message in cases:
            with pytest.raises(RemoteBenchError) as err:
                remote_bench(remote, int8_bundle, prefix=QEMU_PREFIX, timeout=5, **options)
            assert message in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_remote_bad_target_text(int8_bundle, tmp_path):
    from app.core.measure.remote_bench import (
        RemoteBenchError,
        find_bundle,
        parse_remote,
    )

    with pytest.raises(RemoteBenchError, match="USER@HOST"):
        parse_remote("no-user-here")
    with pytest.raises(RemoteBenchError, match="no ARM64 bundle"):
        find_bundle(tmp_path)
    assert find_bundle(int8_bundle).name == "arm64"

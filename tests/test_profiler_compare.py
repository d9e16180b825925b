"""profiler.bench and the cloud → edge → device comparison, on real runtimes (shapes and behaviour, never speed)."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from app.core.cloud.client import CloudRuntime
from app.core.cloud.server import start_server_process
from app.core.measure import report
from app.core.measure.compare import CompareError, compare, variants
from app.core.measure.profiler import BenchResult, bench, measure_overhead
from app.core.models.deploy import deploy
from app.core.runtimes import OnnxRuntime
from converters.targets import TIERS
from jobs.process import child_env, entry_command

DIGITS = Path(__file__).resolve().parents[1] / "sample_models" / "digits"
FAST = dict(min_seconds=0.05, min_runs=5, warmup=1)


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg") / "digits"
    deploy(DIGITS / "model.onnx", out, arm64=False)  # ARM parity is tested in test_device_arm64
    return out


@pytest.fixture(scope="module")
def compared(package):
    return compare(package, wan_delay_ms=2.0, per_op_runs=5, **FAST)


def _check_stats(result: BenchResult, runs: int) -> None:
    assert result.runs >= runs and len(result.samples_ms) == result.runs
    assert 0 < result.min_ms <= result.p50_ms <= result.p90_ms <= result.p99_ms <= result.max_ms
    assert result.std_ms >= 0 and result.throughput_per_s > 0


def test_bench_lite_with_per_op(package):
    model = package / "edge" / "model.ms"
    result = bench(model, threads=1, per_op=True, per_op_runs=3, **FAST)
    _check_stats(result, 5)
    assert result.runtime == "lite" and result.threads == 1
    assert result.size_bytes == model.stat().st_size and result.load_ms > 0
    assert result.peak_rss_mb > 0
    assert result.per_op and {"name", "type", "avg_ms", "calls", "percent"} <= set(result.per_op[0])
    assert "Conv2DFusion" in result.per_op_type
    data = result.to_json()
    assert "samples_ms" not in data and json.dumps(data)


def test_bench_onnxruntime_and_a_given_input():
    x = np.zeros((1, 1, 28, 28), np.float32)
    result = bench(DIGITS / "model.onnx", threads=1, x=x, runtime="ort", **FAST)
    _check_stats(result, 5)
    assert result.runtime == "onnxruntime" and result.per_op is None


def test_bench_refuses_a_mindspore_file_in_process():
    with pytest.raises(ValueError, match="cloud"):
        bench(DIGITS / "model.mindir", **FAST)


def test_bench_cloud_reports_server_time_and_emulated_delay():
    with start_server_process(DIGITS) as server, CloudRuntime(server.url, server.token, wan_delay_ms=3.0) as cloud:
        result = bench(cloud, **FAST)
    _check_stats(result, 5)
    assert result.runtime == "cloud" and result.min_ms >= 3.0
    assert result.extra["emulated_wan_delay_ms"] == 3.0 and result.extra["server_p50_ms"] > 0
    assert result.size_bytes == (DIGITS / "model.mindir").stat().st_size and result.peak_rss_mb > 0


def test_measure_overhead_shape():
    runtime = OnnxRuntime(DIGITS / "model.onnx", threads=1)
    result = measure_overhead(runtime, rounds=2, calls=50)
    assert {"added_ns_per_call", "bare_us_per_call", "overhead_pct", "direct_pct"} <= set(result)
    assert result["bare_us_per_call"] > 0


def test_variants_follow_the_targets_table(package):
    grid, missing = variants(package, cores=4)
    ids = {v.id for v in grid}
    assert ids == {"cloud-fp32", "edge-fp32@1t", "edge-fp32@4t", "edge-fp32-mindir@1t", "edge-fp32-mindir@4t",
                   "device-int8@1t", "device-fp16@1t"}
    assert not missing


def test_compare_measures_every_tier_and_picks_one_each(compared):
    rows = compared["variants"]
    assert {r["tier"] for r in rows} == set(TIERS)
    for row in rows:
        assert row["runs"] >= 5 and row["p50_ms"] > 0 and row["size_bytes"] > 0 and row["peak_rss_mb"] > 0
        assert row["top1"] > 0.9  # deploy's evaluation, read from metrics.json
        assert len(row["quantiles_ms"]) == 101
    assert set(compared["picks"]) == set(TIERS)
    for tier, pick in compared["picks"].items():
        fastest = min((r for r in rows if r["tier"] == tier), key=lambda r: r["p50_ms"])
        assert pick["id"] == fastest["id"] and "fastest" in pick["why"]
    device = compared["picks"]["device"]
    if not device["id"].startswith("device-int8"):
        assert "INT8 is not picked" in device["why"] and "ARM" in device["why"]
    cloud = next(r for r in rows if r["tier"] == "cloud")
    assert cloud["extra"]["emulated_wan_delay_ms"] == 2.0 and cloud["min_ms"] >= 2.0
    assert any("EMULATED" in note for note in compared["notes"])


def test_compare_profiles_the_picked_lite_variants(compared):
    for tier in ("edge", "device"):
        entry = compared["per_op"][compared["picks"][tier]["id"]]
        assert entry["ops"] and entry["by_type"] and all(op["avg_ms"] >= 0 for op in entry["ops"])


def test_reports_html_json_csv(compared, tmp_path):
    written = report.write_all(compared, html_path=str(tmp_path / "out.html"))
    assert sorted(p.name for p in written) == ["out.csv", "out.html", "out.json"]
    page = (tmp_path / "out.html").read_text()
    assert page.count("<svg") >= 5  # latency distributions, tier bars, trade-off, per-op bars of two picks
    assert "Accuracy against speed" in page and all(row["id"] in page for row in compared["variants"])
    assert "EMULATED" in page
    assert not re.search(r"<script|<link|<img|src=|url\((?!#)", page)  # self-contained: nothing to fetch
    for pick in compared["picks"].values():
        assert pick["label"] in page
    assert json.loads((tmp_path / "out.json").read_text())["picks"] == compared["picks"]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    assert len(rows) == len(compared["variants"])
    assert sum(r["picked"] == "True" for r in rows) == 3
    assert {r["emulated_wan_delay_ms"] for r in rows if r["tier"] == "cloud"} == {"2.0"}


def test_compare_refuses_a_folder_without_models(tmp_path):
    with pytest.raises(CompareError, match="no model files"):
        compare(tmp_path, **FAST)


def test_bench_cli_json(package):
    done = subprocess.run(entry_command() + ["bench", str(package / "device" / "model_int8.ms"), "--threads", "1",
                                             "--seconds", "0.05", "--runs", "3", "--per-op", "--json"],
                          capture_output=True, text=True, timeout=120, env=child_env(), stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout[done.stdout.index("{"):])
    assert data["runtime"] == "lite" and data["runs"] >= 3 and data["per_op"]

"""quant-debug on a minimal graph with one known bad layer, and mixed precision checked in the .ms itself.

The bad layer: a Gemm whose weight matrix holds, in every output column, one entry 300× the others, on
an input channel the layer before always zeroes (a zero weight column). In FP32 that channel adds
nothing; in INT8 the outliers set every column's weight scale (per channel), so the ordinary weights
round to 0 or ±2.4 and the layer's output is wrong. The ranking must put that layer first, and keeping
it in float (skip_quant_node) must close the gap.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from app.core.models.quant_trace import ErrorStats
from app.core.models.quantize import QuantData, quant_debug, range_warning
from converters.lite import QuantConfig, convert
from converters.lite.replay import replay

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 16


def outlier_net(path: Path) -> Path:
    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.5, (WIDTH, WIDTH)).astype(np.float32)
    w1[:, 0] = 0.0  # channel 0 is always 0
    b1 = np.zeros(WIDTH, np.float32)
    w2 = rng.normal(0, 1.0, (WIDTH, WIDTH)).astype(np.float32)
    w2[0, :] = 300.0  # the outliers, on the channel that is always 0
    w3 = rng.normal(0, 0.5, (WIDTH, 8)).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"),
                                                         (np.zeros(WIDTH, np.float32), "b2"), (w3, "w3"),
                                                         (np.zeros(8, np.float32), "b3"))]
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], name="good1"),
             helper.make_node("Relu", ["h1"], ["r1"], name="relu1"),
             helper.make_node("Gemm", ["r1", "w2", "b2"], ["h2"], name="bad"),
             helper.make_node("Relu", ["h2"], ["r2"], name="relu2"),
             helper.make_node("Gemm", ["r2", "w3", "b3"], ["y"], name="good2")]
    model = helper.make_model(
        helper.make_graph(nodes, "outlier", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, WIDTH])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])], inits),
        opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _data() -> QuantData:
    x = np.random.default_rng(1).uniform(-1, 1, (60, WIDTH)).astype(np.float32)
    return QuantData(x[:40], x[40:], None, "uniform [-1, 1]", (-1.0, 1.0))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    src = outlier_net(tmp_path_factory.mktemp("quant") / "outlier.onnx")
    return src, quant_debug(src, _data(), top_k=2, target=0.5, max_float=2)


def test_ranking_names_the_bad_layer_and_float_closes_the_gap(report):
    _, result = report
    assert result.worst(1) == ["bad"], [(n["name"], n["added_db"]) for n in result.nodes]
    assert [v.name for v in result.variants[:3]] == ["fp32", "int8", "fp16"]
    int8 = result.variants[1]
    assert int8.cosine < 0.95  # the outliers really hurt
    gains = {s["node"]: s for s in result.sensitivity}
    assert gains["bad"]["cosine"] > 0.99 and gains["bad"]["gain"] > 5, gains
    assert gains["bad"]["gain"] == max(s["gain"] for s in result.sensitivity)
    assert result.search["reached"] and result.search["float_nodes"] == ["bad"], result.search


def test_skip_quant_node_leaves_the_node_in_float_in_the_ms(report, tmp_path):
    """Read from the converted model at run time (its kernels' output types), not from the config."""
    src, _ = report
    data = _data()

    def output_types(skip: tuple[str, ...]) -> dict[str, str]:
        out = convert(src, tmp_path / f"skip{len(skip)}.ms", quant=QuantConfig(data.calibration, skip_nodes=skip),
                      verify=False)
        trace = replay(out.path, [[data.evaluation[:1]]], trace=True).trace
        return {n.name: str(n.outputs[0].data.dtype) for n in trace if n.outputs[0].data is not None}

    assert output_types(())["bad"] == "int8"
    mixed = output_types(("bad",))
    assert mixed["bad"] == "float32"
    assert mixed["good1"] == "int8" and mixed["good2"] == "int8"  # the others stay quantized


def test_bad_skip_node_name_is_refused_in_one_line(tmp_path):
    src = outlier_net(tmp_path / "outlier.onnx")
    with pytest.raises(Exception, match="cannot keep 'a,b' in float"):
        convert(src, tmp_path / "x.ms", quant=QuantConfig(_data().calibration, skip_nodes=("a,b",)), verify=False)


def test_range_warning():
    noise01 = np.random.default_rng(0).uniform(0, 1, (10, 1, 28, 28))
    assert "input range is [-1, 1]" in range_warning(noise01, (-1.0, 1.0))
    assert range_warning(noise01 * 2 - 1, (-1.0, 1.0)) == ""
    assert "spans" in range_warning(noise01 * 255, (0.0, 1.0))  # raw pixels for a [0, 1] model


def test_error_stats_on_known_values():
    s = ErrorStats()
    ref = np.array([3.0, 4.0])
    s.add(ref, ref * 1.1)  # same direction, 10 % off
    out = s.to_json()
    assert out["cosine"] == pytest.approx(1.0) and out["rel_mse"] == pytest.approx(0.01)
    assert out["snr_db"] == pytest.approx(20.0)


def test_cli_refuses_a_converted_model_in_one_line(tmp_path):
    ms = tmp_path / "m.ms"
    ms.write_bytes(b"\0" * 16)
    run = subprocess.run([sys.executable, "-m", "app", "quant-debug", str(ms), "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode != 0
    assert "needs the source model" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_cli_json_on_the_outlier_net(tmp_path):
    src = outlier_net(tmp_path / "outlier.onnx")
    calib = tmp_path / "calib"
    calib.mkdir()
    for i, row in enumerate(_data().calibration):
        np.save(calib / f"{i:03d}.npy", row)
    run = subprocess.run([sys.executable, "-m", "app", "quant-debug", str(src), "--calib", str(calib), "--top-k", "1",
                          "--no-search", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout[run.stdout.index("{"):])
    assert result["worst_nodes"][0] == "bad"
    assert result["sensitivity"][0]["node"] == "bad" and result["sensitivity"][0]["gain"] > 5


def test_convert_warns_when_calibration_misses_the_input_range(tmp_path):
    src = outlier_net(tmp_path / "outlier.onnx")
    noise01 = np.random.default_rng(2).uniform(0, 1, (20, WIDTH)).astype(np.float32)
    result = convert(src, tmp_path / "w.ms", quant=QuantConfig(noise01), value_range=(-1.0, 1.0), verify=False)
    assert result.warnings and "input range is [-1, 1]" in result.warnings[0]
    fitting = convert(src, tmp_path / "ok.ms", quant=QuantConfig(noise01 * 2 - 1), value_range=(-1.0, 1.0),
                      verify=False)
    assert fitting.warnings == []


def test_quantize_page_shows_the_report_and_a_clicked_node(qtbot, report):
    """The page on a real report: worst node first in the table, the variants with the Pareto column,
    and a node's numbers when its bar is picked."""
    from app.gui.pages.quantize_page import QuantizePage
    from app.gui.state import AppState
    from app.gui.workers import JobRunner

    runner = JobRunner()
    page = QuantizePage(AppState(), runner)
    qtbot.addWidget(page)
    _, result = report
    page.show_report(result)
    assert page.nodes.item(0, 1).text() == "bad"
    assert page.variants.rowCount() == len(result.variants)
    assert page.variants.item(0, 5).text() == "yes"  # FP32: the most accurate is always on the front
    assert page.variants.item(0, 6).text() == "edge" and "device" in page.picks_label.text()
    assert "Worst nodes: bad" in page.summary.text()
    page.show_node(next(i for i, n in enumerate(result.nodes) if n["name"] == "bad"))
    assert "<b>bad</b>" in page.node_info.text() and "rank 1" in page.node_info.text()
    assert "µs INT8" in page.node_info.text()  # its kernel times, from Lite's profile of both models
    page.colour_by.setCurrentText("INT8 latency (ms)")  # the graph redrawn with another colouring
    assert "INT8 latency" in page.graph.plotItem.titleLabel.text


def test_pareto_and_the_picks_follow_the_limits():
    from app.core.models.quantize import Variant, pareto, pick_variants

    variants = [Variant("fp32", "", 400 * 1024, metric=98.0, latency_ms=0.3),
                Variant("int8", "", 110 * 1024, metric=96.0, latency_ms=3.0),
                Variant("fp16", "", 210 * 1024, metric=98.0, latency_ms=0.5),
                Variant("int8+float[a]", "", 120 * 1024, metric=97.9, latency_ms=2.0)]
    assert pareto([(v.latency_ms, v.metric) for v in variants]) == [0]  # FP32 is fastest and most accurate
    assert pareto([(1, 90), (2, 95), (3, 94), (0.5, 80)]) == [3, 0, 1]
    free = pick_variants(variants)
    # no limits: the smallest file within the task tolerance (1 point) of FP32, not the smallest file (INT8: −2)
    assert free["edge"]["variant"] == "fp32" and free["device"]["variant"] == "int8+float[a]"
    assert pick_variants(variants, tolerance=5)["device"]["variant"] == "int8"  # the user allows 5 points
    assert pick_variants(variants, min_metric=97.5)["device"]["variant"] == "int8+float[a]"
    assert pick_variants(variants, min_metric=97.5, max_latency_ms=1)["device"]["variant"] == "fp16"
    none = pick_variants(variants, max_size_kib=100)
    assert none["device"]["variant"] is None and "size 110 > 100 KiB" in none["device"]["why"]


def test_html_report_holds_the_tradeoff_chart_and_the_sweep(report):
    from app.core.measure.quant_report import to_html

    _, result = report
    rows = [{"method": m, "samples": n, "metric": 90.0 + n / 100, "cosine": 0.99, "fp32_metric": 100.0}
            for m in ("MAX_MIN", "KL") for n in (10, 50)]
    page = to_html(result.to_json(), {"model": "m", "data": "d", "sweep": rows})
    assert page.count("<svg") == 2 and "★ pick" in page and "<td>bad</td>" in page

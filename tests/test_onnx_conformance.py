"""The onnx node tests through Lite's converter and runtime must not do worse than the recorded run.

The baseline (tests/data/onnx_conformance.json) and docs/onnx-conformance.md come from
`python bench/onnx_conformance.py`; rerun it when the bridge gets better, so gains are kept.
"""
from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from bench.conformance import run_conformance
from converters.lite import paths

BASELINE = Path(__file__).parent / "data" / "onnx_conformance.json"


@pytest.fixture(scope="module")
def conformance(tmp_path_factory):
    if not (paths.lite_home() / paths.CONVERTER_SHIM).exists():
        pytest.skip("the Lite bridge is not built (make setup)")
    return run_conformance(tmp_path_factory.mktemp("onnx-conformance"))


@pytest.mark.slow
@pytest.mark.long  # 18 s building the corpus; make test-long (the conversions themselves are checked by test_verify)
def test_conformance_does_not_regress(conformance):
    recorded = json.loads(BASELINE.read_text())
    now = {name: r["outcome"] for name, r in conformance["cases"].items()}
    names = set(now)
    if recorded["onnx_version"] != onnx.__version__:  # other cases exist: compare the shared ones
        names &= set(recorded["case_names"])
    was_passing = set(recorded["passed_names"]) & names
    regressions = sorted(f"{n} ({now[n]}: {conformance['cases'][n]['reason']})"
                         for n in was_passing if now[n] != "pass")
    assert not regressions, f"{len(regressions)} case(s) passed before and fail now:\n" + "\n".join(regressions)

    passed = sum(now[n] == "pass" for n in names)
    rate = passed / len(names)
    recorded_rate = (recorded["rate"] if recorded["onnx_version"] == onnx.__version__
                     else len(was_passing) / len(names))
    assert rate >= recorded_rate - 1e-9, f"pass rate {rate:.4f} is below the recorded {recorded_rate:.4f}"

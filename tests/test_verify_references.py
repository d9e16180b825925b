"""A source only Lite reads (Caffe, TF) is judged against Lite's own FP32 conversion, which convert()
hands down to the references (they sit below the converter and never import it)."""
from __future__ import annotations

from converters.lite import convert
from converters.verify import verify
from test_model_card import caffe_pair


def test_a_caffe_fp16_artifact_is_judged_against_lite_fp32(tmp_path):
    proto = caffe_pair(tmp_path)
    result = convert(proto, tmp_path / "net_fp16.ms", fp16_weights=True).verification
    assert result.verdict == "matches" and result.reference.startswith("Lite 2.0 FP32"), result.summary()
    alone = verify(proto, tmp_path / "net_fp16.ms", precision="fp16")  # no converter handed down: says so
    assert alone.verdict == "unverified" and "Lite's own FP32 conversion" in alone.note

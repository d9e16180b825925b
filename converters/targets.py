"""The deployment targets: one table drives conversion, loading, evaluation, the CLI and the GUI.

cloud  — full MindSpore FP32 (.mindir exported by training), served over HTTP, all cores
edge   — Lite FP32 (.ms and .mindir), all cores
device — Lite .ms INT8 (FULL_QUANT with calibration) and FP16 weights, one core
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Target:
    name: str
    tier: str  # cloud | edge | device
    runtime: str  # mindspore | lite
    precision: str  # fp32 | fp16 | int8
    file: str  # file name inside the tier's package folder
    threads: int  # 0: all cores
    convert_options: dict = field(default_factory=dict)  # keyword arguments of converters.lite.convert
    calibration: bool = False  # needs calibration data (INT8)
    available: bool = True
    reason: str = ""  # why it is not available
    summary: str = ""


TARGETS = (
    Target("cloud-fp32", "cloud", "mindspore", "fp32", "model.mindir", 0,
           summary="full MindSpore behind an HTTP endpoint; the .mindir comes from training"),
    Target("edge-fp32", "edge", "lite", "fp32", "model.ms", 0, {"input_format": "NCHW"},
           summary="MindSpore Lite FP32 .ms, all cores"),
    Target("edge-fp32-mindir", "edge", "lite", "fp32", "model.mindir", 0, {"input_format": "NCHW"},
           summary="MindSpore Lite FP32 MindIR, all cores"),
    Target("device-int8", "device", "lite", "int8", "model_int8.ms", 1, {"input_format": "NCHW"},
           calibration=True, summary="Lite .ms, INT8 post-training quantization (FULL_QUANT), one core"),
    Target("device-fp16", "device", "lite", "fp16", "model_fp16.ms", 1,
           {"input_format": "NCHW", "fp16_weights": True}, summary="Lite .ms with FP16 weights, one core"),
    Target("device-int8-weight", "device", "lite", "int8", "model_wq.ms", 1, available=False,
           reason="Lite 2.0.0 converts WEIGHT_QUANT, but its runtime cannot load the result "
                  "(Model::Build: 'can not find tensor data in origin tensor data')"),
)
TIERS = ("cloud", "edge", "device")


def get_target(name: str) -> Target:
    for target in TARGETS:
        if target.name == name:
            return target
    raise KeyError(f"unknown target {name!r}: choose from {', '.join(t.name for t in TARGETS)}")


def available_targets(tiers: tuple[str, ...] = TIERS) -> list[Target]:
    return [t for t in TARGETS if t.available and t.tier in tiers]

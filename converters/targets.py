"""The deployment targets: one table drives conversion, loading, evaluation, the CLI and the GUI.

cloud  — full MindSpore FP32 (.mindir exported by training), served over HTTP, all cores
edge   — Lite FP32 (.ms and .mindir), all cores
device — Lite .ms INT8 (FULL_QUANT with calibration) and FP16 weights, one core
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

WITH_MINDSPORE = "the full package (`make package FLAVOUR=full`) or a source checkout (`make run`)"
MINDSPORE_MISSING = f"MindSpore is not in this build (the lean package): training and the cloud tier need {WITH_MINDSPORE}"


class MindSporeMissing(RuntimeError):
    """Raised before a MindSpore job starts in a build without MindSpore."""


def mindspore_available() -> bool:
    """Whether full MindSpore can be imported here (looked up, not imported: it must not share the
    GUI's process with Lite)."""
    return importlib.util.find_spec("mindspore") is not None


def require_mindspore(what: str) -> None:
    if not mindspore_available():
        raise MindSporeMissing(f"{what} needs MindSpore, which this build leaves out (the lean package): "
                               f"use {WITH_MINDSPORE}")


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

    def why_unavailable(self) -> str:
        """Empty when this target can be built and run here; otherwise the reason, for the user."""
        if not self.available:
            return self.reason
        if self.runtime == "mindspore" and not mindspore_available():
            return MINDSPORE_MISSING
        return ""


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


@dataclass(frozen=True)
class Tier:
    name: str
    label: str
    colour: str  # the one colour of this tier in the GUI's charts and the HTML report
    text: str


TIER_INFO = {t.name: t for t in (
    Tier("cloud", "Cloud", "#4e79a7", "full MindSpore FP32 behind HTTP, all cores of a server"),
    Tier("edge", "Edge", "#59a14f", "MindSpore Lite FP32, all cores of an edge box"),
    Tier("device", "Device", "#e15759", "MindSpore Lite .ms, INT8 or FP16 weights, one core"),
)}
TIERS = tuple(TIER_INFO)
TIER_COLOURS = {name: tier.colour for name, tier in TIER_INFO.items()}


def available_targets(tiers: tuple[str, ...] = TIERS) -> list[Target]:
    return [t for t in TARGETS if not t.why_unavailable() and t.tier in tiers]


def unavailable_targets(tiers: tuple[str, ...] = TIERS) -> dict[str, str]:
    """target name → why it is not offered here."""
    return {t.name: t.why_unavailable() for t in TARGETS if t.why_unavailable() and t.tier in tiers}

"""The run card: README.md of a tier's package — what the model takes, how it scored, and how
to run it with Lite's own `benchmark` tool on a device."""
from __future__ import annotations

import json
from pathlib import Path

from app.core.preprocess import PreprocessSpec

TIER_TEXT = {
    "cloud": "Full MindSpore FP32, served over HTTP (`edge-studio serve --model DIR`).",
    "edge": "MindSpore Lite FP32, all cores.",
    "device": "MindSpore Lite `.ms` for phones and boards (INT8 / FP16), one core. "
              "Lite 2.0's x86 INT8 kernels are slow; the INT8 file is meant for ARM devices.",
}


def render(tier: str, results: dict, spec: PreprocessSpec, labels_path: Path | None) -> str:
    labels = json.loads(labels_path.read_text()) if labels_path else []
    shape = "×".join(map(str, spec.input_shape))
    lines = [f"# {tier.capitalize()} package", "", TIER_TEXT[tier], "", "## Input",
             f"- tensor `{spec.input_name}`, float32, {spec.layout} {shape}",
             f"- from an image: resize to {spec.width}×{spec.height}, {spec.color}, × {spec.scale:.6g}, "
             f"− mean {list(spec.mean)}, ÷ std {list(spec.std)}",
             f"- labels ({len(labels)}): {', '.join(labels)}" if labels else "- labels: none", "",
             "## Files and scores", "", "| file | precision | size | top-1 | cosine vs FP32 |",
             "|---|---|---|---|---|"]
    for result in results.values():
        cos = ", ".join(f"{c:.5f}" for c in result.get("cosine_vs_fp32", []))
        lines.append(f"| `{Path(result['model']).name}` | {result['precision']} | "
                     f"{result['size_bytes'] / 1024:.1f} KiB | {_percent(result.get('top1'))} | {cos} |")
    lite_files = [r for r in results.values() if r["runtime"] == "lite"]
    if lite_files:
        lines += ["", "## Run on a device with Lite's benchmark tool", "",
                  "Input data: one raw float32 file shaped like the input, e.g. `np.save`d then `.tofile('input.bin')`.", ""]
        for result in lite_files:
            threads = result["threads"] or 4
            lines += ["```sh", f"./benchmark --modelFile={Path(result['model']).name} --device=CPU "
                      f"--numThreads={threads} --inDataFile=input.bin --loopCount=100 --warmUpLoopCount=10 "
                      "--timeProfiling=true", "```"]
    return "\n".join(lines) + "\n"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f} %"


def render_verification(results: dict, failed: dict) -> str:
    """How each Lite file compared with the ONNX model (converters.verify), and the files not shipped
    because they answer differently — a warning for one shipped anyway (--accept-mismatch)."""
    checked = {name: r["verification"] for name, r in results.items() if "verification" in r}
    if not checked and not failed:
        return ""
    lines = ["", "## Verified against the source model", ""]
    for name, check in checked.items():
        mark = "**WARNING — shipped although it differs (--accept-mismatch):** " if check["verdict"] == "WRONG" else ""
        lines.append(f"- `{name}`: {mark}{check['summary']}")
    for name, failure in failed.items():
        lines.append(f"- `{name}`: **not shipped — {failure['verification']['verdict']}**: {failure['error']}")
    return "\n".join(lines) + "\n"

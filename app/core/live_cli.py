"""`edge-studio live`: run the live pipeline headless on a source and print its stats.

    edge-studio live --source synthetic --model digits --model digits-int8 --frames 300 --json

--model takes a sample name (digits, digits-int8, face, face-int8; converted to .ms with Lite in a
temp folder), a model file (.ms or a Lite .mindir → Lite; .onnx → onnxruntime; .tflite → converted to
.ms first), or the URL of a cloud server (`edge-studio serve`). Files find preprocess.json and
labels.json next to them (or one folder up, as in deployment packages).
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from app.core.postprocess import ModelSpec, model_spec
from app.core.preprocess import PreprocessSpec

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "sample_models" / "digits"


def _with_sidecars(model: Path, folder: Path) -> Path:
    """preprocess.json and labels.json of `folder` copied next to `model` (a converted file in a temp dir)."""
    for name in ("preprocess.json", "labels.json"):
        for where in (folder, folder.parent):
            if (where / name).is_file():
                shutil.copy(where / name, model.parent / name)
                break
    return model


def _digits(tmp: Path) -> Path:
    from converters.lite import convert

    out = tmp / "digits" / "digits.ms"
    convert(DIGITS / "model.onnx", out, input_format="NCHW")
    return _with_sidecars(out, DIGITS)


def _digits_int8(tmp: Path) -> Path:
    from app.core.datasets import load_digits
    from converters.lite import QuantConfig, convert

    calibration = load_digits().inputs()[::18]  # 100 samples across all classes
    out = tmp / "digits_int8" / "digits_int8.ms"
    convert(DIGITS / "model.onnx", out, input_format="NCHW", quant=QuantConfig(calibration))
    return _with_sidecars(out, DIGITS)


def _face(tmp: Path) -> Path:
    from sample_models.face_detection import ensure_face_detector

    return _tflite(ensure_face_detector(), tmp)


def _face_int8(tmp: Path) -> Path:
    """FULL_QUANT INT8 calibrated on synthetic face frames: very slow on x86 in Lite 2.0 (~50-80 ms)."""
    import numpy as np

    from app.core.postprocess import face_spec
    from app.core.sources import SyntheticSource
    from converters.lite import QuantConfig, convert
    from sample_models.face_detection import ensure_face_detector

    spec, source = face_spec("face"), SyntheticSource(scene="face")
    calibration = np.concatenate([spec.prepare(source.render(i * 7)[0])[0] for i in range(20)])
    out = tmp / "face_int8" / "face_detection_short_range_int8.ms"
    convert(ensure_face_detector(), out, quant=QuantConfig(calibration))
    return out


def _tflite(path: Path, tmp: Path) -> Path:
    from converters.lite import convert

    out = tmp / path.stem / f"{path.stem}.ms"  # the stem names the face sample's spec
    convert(path, out)
    return _with_sidecars(out, path.parent)


SAMPLES: dict[str, Callable[[Path], Path]] = {"digits": _digits, "digits-int8": _digits_int8, "face": _face,
                                               "face-int8": _face_int8}


def resolve_model(text: str, tmp: Path, threads: int = 1, token: str | None = None,
                  preprocess: str | None = None) -> tuple[ModelSpec, Any]:
    """(spec, open runtime) for a sample name, a model file or a cloud URL."""
    from app.core.runtimes import open_runtime, runtime_name
    from converters.lite import probe

    given = PreprocessSpec.load(preprocess) if preprocess else None
    if text.startswith(("http://", "https://")):
        return _cloud(text, token, given)
    if text in SAMPLES:
        path = SAMPLES[text](tmp)
    else:
        path = Path(text)
        if not path.is_file():
            raise ValueError(f"{text}: not a file" if path.exists() else
                             f"{text}: no such model file (or sample: {', '.join(SAMPLES)})")
        if path.suffix.lower() == ".tflite":
            path = _tflite(path, tmp)
        elif runtime_name(path) == "lite":
            probe(path)  # a file from elsewhere is loaded in a child first: a crash there is an error here
    spec = model_spec(path, given)
    return spec, open_runtime(spec.path, threads)


def _cloud(url: str, token: str | None, given: PreprocessSpec | None) -> tuple[ModelSpec, Any]:
    from app.core.cloud_client import CloudRuntime

    runtime = CloudRuntime(url, token=token)
    digits = PreprocessSpec.load(DIGITS / "preprocess.json")
    takes_digits = tuple(runtime.input_shape) in (digits.input_shape, digits.with_layout("NHWC").input_shape)
    spec = given or (digits if takes_digits else None)
    if spec is None:
        runtime.close()
        raise ValueError(f"{url} takes {tuple(runtime.input_shape)}: pass --preprocess preprocess.json for it")
    return ModelSpec(url, spec, "classification", runtime.server.get("labels")), runtime


def cmd_live(args) -> int:
    from app.core.pipeline import LiveModel, LivePipeline
    from app.core.sources import open_source

    source = open_source(args.source, fps=args.source_fps, fallback=args.fallback)
    models: list[LiveModel] = []
    with tempfile.TemporaryDirectory(prefix="edge-studio-live-") as tmp:
        try:
            for text in args.model or ["digits"]:
                if not args.json:
                    print(f"Loading {text} …", file=sys.stderr)
                spec, runtime = resolve_model(text, Path(tmp), args.threads, args.token, args.preprocess)
                models.append(LiveModel(spec, runtime))
            pipeline = LivePipeline(source, models, draw=not args.no_overlay)
            if not args.json:
                print(f"Running {args.frames} frames from {source.name} …", file=sys.stderr)
            stats = pipeline.run(frames=args.frames, timeout=args.timeout).to_json()
            if args.snapshot and pipeline.latest(0) is not None and pipeline.latest(0).image is not None:
                import cv2

                from app.core.files import write_atomic

                suffix = Path(args.snapshot).suffix or ".png"
                ok, encoded = cv2.imencode(suffix, pipeline.latest(0).image)  # imwrite crashes on non-UTF-8 names
                if not ok:
                    raise ValueError(f"--snapshot {args.snapshot}: OpenCV cannot write {suffix} images")
                write_atomic(args.snapshot, encoded.tobytes())
        finally:
            for model in models:
                model.close()
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        _print_table(stats)
    ok = stats["source"]["state"] != "failed" and all(m["processed"] and not m["error"] for m in stats["models"])
    return 0 if ok else 1


def _print_table(stats: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    def ms(entry: dict, stage: str, p: str) -> str:
        value = entry["ms"][stage][p]
        return "–" if value is None else f"{value:.2f}"

    table = Table(title=f"live: {stats['source']['name']}, {stats['wall_s']:.1f} s (times in ms)")
    for column in ("model", "runtime", "frames", "dropped", "FPS", "capacity", "infer p50", "latency p50",
                   "latency p99", "vs truth"):
        table.add_column(column, overflow="fold")
    for m in stats["models"]:
        truth = f"{m['vs_truth']['rate'] * 100:.1f} %" if "vs_truth" in m else "–"
        table.add_row(m["name"], m["runtime"], str(m["processed"]), str(m["dropped"]), f"{m['fps']:.1f}",
                      f"{m['capacity_fps'] or 0:.1f}", ms(m, "inference", "p50"), ms(m, "latency", "p50"),
                      ms(m, "latency", "p99"), truth)
    console = Console(width=max(Console().width, 110))  # a pipe gets 80 columns: too narrow for the table
    console.print(table)
    for m in stats["models"]:
        if "vs_truth" in m:
            console.print(f"{m['name']} vs the synthetic truth: {m['vs_truth']['metric']} on "
                          f"{m['vs_truth']['rate'] * 100:.1f} % of {m['vs_truth']['frames']} frames")
    for pair in stats["agreement"]:
        console.print(f"top-1 agreement {' vs '.join(pair['models'])}: {pair['top1_agreement'] * 100:.1f} % "
                      f"of {pair['shared_frames']} shared frames")
    for event in stats["source"]["events"]:
        console.print(f"[yellow]{event['kind']}[/]: {event['message']}")
    for m in stats["models"]:
        if m["error"]:
            console.print(f"[red]{m['name']} failed[/]: {m['error']}")
    if stats["source"]["error"]:
        console.print(f"[red]source failed[/]: {stats['source']['error']}")


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("live", help="run models live on a camera, video, image folder or synthetic source")
    p.add_argument("--source", default="synthetic",
                   help="synthetic, synthetic:face, a camera index (0) or /dev/videoN, a video file, or a folder")
    p.add_argument("--model", action="append",
                   help=f"{', '.join(SAMPLES)}, a .ms/.mindir/.onnx/.tflite file, or a cloud URL; "
                        "repeat to run two side by side (default: digits)")
    p.add_argument("--threads", type=int, default=1, help="threads per model runtime (default 1)")
    p.add_argument("--frames", type=int, default=300, help="frames every model processes (default 300)")
    p.add_argument("--timeout", type=float, default=None, help="stop after this many seconds at most")
    p.add_argument("--source-fps", type=float, default=None,
                   help="pace synthetic/file/folder sources (0: as fast as the models take frames)")
    p.add_argument("--fallback", action="store_true", help="if the camera fails, show the synthetic source instead")
    p.add_argument("--preprocess", help="preprocess.json for a model that has none next to it (or a cloud URL)")
    p.add_argument("--token", help="bearer token for a cloud URL")
    p.add_argument("--no-overlay", action="store_true", help="skip drawing results onto frames")
    p.add_argument("--snapshot", help="write the first model's last overlaid frame to this image file")
    p.add_argument("--json", action="store_true", help="print the stats as JSON")
    p.set_defaults(func=cmd_live)

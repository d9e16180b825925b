"""The `edge-studio` command line. Errors print one line on stderr and exit non-zero."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _print_json(data) -> None:
    print(json.dumps(data, indent=2, default=str))


def cmd_doctor(args) -> int:
    from app.core.doctor import run_doctor

    report = run_doctor()
    if args.json:
        _print_json(report)
    else:
        from rich.console import Console
        from rich.table import Table

        bridge = report["lite_bridge"]
        table = Table(title="Edge Studio doctor", show_header=False)
        table.add_row("Python", report["python"] + f" ({report['platform']})")
        state = f"[green]OK[/] {bridge['version']}" if bridge["ok"] else f"[red]BROKEN[/] {bridge['error']}"
        table.add_row("MindSpore Lite bridge", state)
        for key, label in (("mindspore", "MindSpore"), ("pyside6", "PySide6"), ("opencv", "OpenCV"),
                           ("onnxruntime", "onnxruntime"), ("onnx", "onnx"), ("numpy", "NumPy")):
            table.add_row(label, report[key] or "[yellow]not installed[/]")
        cams = ", ".join(f"{c['device']} ({c['width']}×{c['height']})" for c in report["cameras"])
        table.add_row("Cameras", cams or "none found (the synthetic source will be used)")
        Console().print(table)
    return 0 if report["lite_bridge"]["ok"] else 1


def _parse_shapes(items: list[str]) -> dict[str, list[int]]:
    shapes = {}
    for item in items or []:
        name, _, dims = item.rpartition(":")
        if not name or not dims:
            raise ValueError(f"--input-shape wants NAME:D0,D1,…, got {item!r}")
        shapes[name] = [int(d) for d in dims.split(",")]
    return shapes


def cmd_convert(args) -> int:
    from converters.formats import LITE_FORMATS
    from converters.lite import QuantConfig, convert

    suffixes = {f.name: f.suffix for f in LITE_FORMATS}
    src = Path(args.model)
    out = Path(args.out) if args.out else src.with_suffix(suffixes[args.to or "ms"])
    if args.to and out.suffix != suffixes[args.to]:
        raise ValueError(f"--to {args.to} writes a {suffixes[args.to]} file, but --out is {out.name}")
    if args.int8 and not args.calib:
        raise ValueError("--int8 needs --calib DIR (.npy arrays shaped like the input, or images)")
    quant = QuantConfig(args.calib, method=args.calib_method, max_samples=args.calib_samples) if args.int8 else None
    if not args.json:
        print(f"Converting {src.name} → {out} …", file=sys.stderr)
    result = convert(src, out, fmk=args.fmk, input_format=args.input_format,
                     input_shapes=_parse_shapes(args.input_shape), fp16_weights=args.fp16, quant=quant,
                     timeout=args.timeout)
    if args.json:
        _print_json(result.to_json())
    else:
        print(f"{result.path}  {result.size_bytes / 1024:.1f} KiB  {result.precision}  {result.seconds:.2f} s")
    return 0


def cmd_probe(args) -> int:
    from converters.lite import probe

    result = probe(args.model, timeout=args.timeout)
    _print_json(result.to_json())
    return 0


def cmd_gui(args) -> int:
    from app.gui.main import run_gui

    return run_gui()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-studio", description="Cloud → edge → device with MindSpore Lite")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("doctor", help="versions, Lite bridge health, cameras")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("convert", help="convert a model with MindSpore Lite (FP32, FP16, INT8)")
    p.add_argument("model", help=".onnx, .tflite, .prototxt (+.caffemodel), .pb or .mindir")
    p.add_argument("--to", choices=["ms", "mindir"], help="output format (default: from --out, else ms)")
    p.add_argument("--out", help="output file (.ms or .mindir)")
    p.add_argument("--fmk", choices=["onnx", "tflite", "caffe", "tf", "mindir"], help="source format")
    p.add_argument("--input-format", choices=["NCHW", "NHWC"], help="layout of the converted model's input")
    p.add_argument("--input-shape", action="append", metavar="NAME:D0,D1,…", help="fix an input's shape")
    p.add_argument("--fp16", action="store_true", help="store weights as FP16")
    p.add_argument("--int8", action="store_true", help="INT8 post-training quantization (FULL_QUANT)")
    p.add_argument("--calib", help="calibration folder: .npy arrays shaped like the input, or images")
    p.add_argument("--calib-method", default="MAX_MIN", choices=["MAX_MIN", "KL", "REMOVAL_OUTLIER"])
    p.add_argument("--calib-samples", type=int, default=100)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("probe", help="load a model in a child process and describe it")
    p.add_argument("model")
    p.add_argument("--timeout", type=float, default=120)
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser("gui", help="open the desktop app (the default)")
    p.set_defaults(func=cmd_gui)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        return cmd_gui(args)
    from app.core.child import ChildError
    from converters.lite import LiteError

    try:
        return args.func(args)
    except (LiteError, ChildError, ValueError, OSError) as exc:
        print(f"edge-studio {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def gui_main() -> int:
    return cmd_gui(None)

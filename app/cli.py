"""The `edge-studio` command line. Errors print one line on stderr and exit non-zero."""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
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


def _progress_bar(total: float, description: str):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                        TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
    return progress, progress.add_task(description, total=total)


def cmd_train(args) -> int:
    from app.core.training import TrainConfig, train

    config = TrainConfig(data=args.data, epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.lr, seed=args.seed, time_budget_s=args.time_budget,
                         folder_options={"size": args.image_size, "color": args.color} if args.data != "digits" else {})
    if args.json:
        metrics = train(config, args.out)
        _print_json(metrics | {"out": str(Path(args.out).resolve())})
        return 0
    progress, task = _progress_bar(args.epochs, "training")

    def on_event(event: dict) -> None:
        if event["type"] == "step":
            done = event["epoch"] - 1 + event["step"] / event["steps"]
            progress.update(task, completed=done, description=f"epoch {event['epoch']} loss {event['loss']:.3f}")
        elif event["type"] == "epoch":
            progress.console.print(f"epoch {event['epoch']}: loss {event['loss']:.4f}  "
                                   f"val top-1 {event['val_accuracy'] * 100:.2f} %  ({event['seconds']:.1f} s)")

    with progress:
        metrics = train(config, args.out, on_event=on_event)
    print(f"val top-1 {metrics['val_top1'] * 100:.2f} % (ONNX {metrics['onnx_val_top1'] * 100:.2f} %) in "
          f"{metrics['train_seconds']:.1f} s → {args.out}")
    return 0


def cmd_deploy(args) -> int:
    from app.core.deploy import deploy

    kwargs = dict(data=args.data, calibration=args.calib, calibration_samples=args.calib_samples,
                  calibration_method=args.calib_method, tiers=tuple(args.tiers.split(",")))
    if args.json:
        _print_json(deploy(args.model, args.out, **kwargs))
        return 0
    progress, task = _progress_bar(1.0, "deploying")
    with progress:
        summary = deploy(args.model, args.out, progress=lambda f, m: progress.update(task, completed=f, description=m),
                         **kwargs)
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Deployment package {args.out}")
    for column in ("target", "runtime", "precision", "size", "× FP32 .ms", "top-1", "cosine vs FP32"):
        table.add_column(column)
    for name, r in summary["targets"].items():
        table.add_row(name, r["runtime"], r.get("precision", "fp32"), f"{r['size_bytes'] / 1024:.1f} KiB",
                      f"{r['size_vs_fp32_ms']:.2f}" if "size_vs_fp32_ms" in r else "",
                      f"{r['top1'] * 100:.2f} %", ", ".join(f"{c:.5f}" for c in r.get("cosine_vs_fp32", [])))
    Console().print(table)
    return 0


def cmd_eval(args) -> int:
    from app.core.evaluate import evaluate, find_preprocess, validation_inputs

    model = Path(args.model)
    if not model.is_file():
        raise ValueError(f"{model}: no such model file" if not model.exists() else f"{model}: not a file")
    spec = find_preprocess(model)
    x, y = validation_inputs(args.data, spec)
    reference = None
    if args.reference:
        reference = evaluate(args.reference, x, y, data=args.data)["outputs"]
    result = evaluate(model, x, y, threads=args.threads, reference_outputs=reference, data=args.data)
    result.pop("outputs")
    if args.json:
        _print_json(result)
    else:
        cos = f", cosine vs reference {result['cosine_vs_fp32']}" if reference is not None else ""
        print(f"{model.name} on {result['runtime']}: top-1 {result['top1'] * 100:.2f} % over {result['samples']} "
              f"samples, {result['size_bytes'] / 1024:.1f} KiB{cos}")
    return 0


def cmd_gui(args, booth: bool = False) -> int:
    from app.gui.main import run_gui

    return run_gui(booth=booth, first_frame_exit=getattr(args, "first_frame_exit", False),
                   screenshot=getattr(args, "screenshot", None))


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

    p = sub.add_parser("train", help="train the small CNN with MindSpore (in its own process)")
    p.add_argument("--data", default="digits", help='"digits" (bundled) or a folder DIR/<class>/*.png')
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--time-budget", type=float, default=50.0, help="stop after the epoch that passes it (s)")
    p.add_argument("--image-size", type=int, default=64, help="folder datasets: square input size")
    p.add_argument("--color", choices=["RGB", "GRAY"], default="RGB", help="folder datasets: colour")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("deploy", help="convert to every tier, evaluate, write a deployment package")
    p.add_argument("model", help="model.onnx (from train, or imported with preprocess.json beside it)")
    p.add_argument("--out", required=True, help="package folder")
    p.add_argument("--data", help='evaluation data: "digits" or a folder (default: what training used)')
    p.add_argument("--tiers", default="cloud,edge,device")
    p.add_argument("--calib", help="INT8 calibration folder (default: samples of the training split)")
    p.add_argument("--calib-samples", type=int, default=100)
    p.add_argument("--calib-method", default="MAX_MIN", choices=["MAX_MIN", "KL", "REMOVAL_OUTLIER"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("eval", help="top-1 of any artifact (.onnx, .ms, .mindir) on a dataset")
    p.add_argument("model")
    p.add_argument("--data", default="digits", help='"digits" or a folder DIR/<class>/*.png')
    p.add_argument("--reference", help="FP32 model whose outputs the cosine similarity is taken against")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    # Feature modules register their own commands (import, live, serve, bench, compare).
    from app.core import cloud_server, compare, live_cli, model_card, profiler, self_test

    for module in (model_card, live_cli, cloud_server, profiler, compare, self_test):
        module.add_cli(sub)

    p = sub.add_parser("booth", help="the desktop app in booth mode (fullscreen; Ctrl+Shift+Q leaves)")
    p.set_defaults(func=lambda args: cmd_gui(args, booth=True))

    p = sub.add_parser("gui", help="open the desktop app (the default)")
    p.add_argument("--first-frame-exit", action="store_true",
                   help="quit at the live view's first frame; print seconds since process start (start-up check)")
    p.add_argument("--screenshot", help="with --first-frame-exit: save the window as this PNG first")
    p.set_defaults(func=cmd_gui)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv == ["--self-test"]:  # the installer's spelling of `edge-studio self-test`
        argv = ["self-test"]
    args = build_parser().parse_args(argv)
    if getattr(sys.stdout, "errors", "") == "strict" and hasattr(sys.stdout, "reconfigure"):
        # A file name that is not valid UTF-8 (Python keeps its bytes as surrogates) would make a
        # finished command fail while printing its result: write those bytes back as they are, like ls.
        sys.stdout.reconfigure(errors="surrogateescape")
    if args.command is None:
        return cmd_gui(args)
    from app.core.child import ChildError
    from app.core.deploy import DeployError
    from app.core.training import TrainingError
    from converters.lite import LiteError

    try:
        return args.func(args)
    except (LiteError, ChildError, TrainingError, DeployError, ValueError, OSError, RuntimeError) as exc:
        print(f"edge-studio {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a library's own type (onnxruntime's Fail, …): still one line, never a traceback
        print(f"edge-studio {args.command}: error: {_unexpected(exc, args)}", file=sys.stderr)
        if os.environ.get("EDGE_STUDIO_DEBUG"):
            traceback.print_exc()
        return 1


def _unexpected(exc: Exception, args) -> str:
    """An exception no layer turned into a message: its type and first line, and the command's model
    file(s) when the text does not name them (onnxruntime's errors often do not)."""
    text = str(exc).strip()
    line = f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
    models = getattr(args, "model", None) or []
    names = [Path(m).name for m in ([models] if isinstance(models, str) else models)]
    if names and not any(name in line for name in names):
        line = f"{', '.join(names)}: {line}"
    return line + " (EDGE_STUDIO_DEBUG=1 shows the traceback)"


def gui_main() -> int:
    return cmd_gui(None)

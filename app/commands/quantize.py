"""`edge-studio quant-debug`: per-layer INT8 error, the layers worth keeping in float, mixed precision."""
from __future__ import annotations

from pathlib import Path

from app.commands.output import print_json
from converters.lite.convert import QUANT_METHODS

SWEEP_SIZES = (10, 50, 100, 300)


def cmd_quant_debug(args) -> int:
    from app.core.models.quantize import (
        calibration_sweep,
        data_for,
        quant_debug,
        resolve_source,
    )

    src, data = resolve_source(args.model)
    if data is None or args.calib or args.data:
        data = data_for(src, args.calib, args.data, max(SWEEP_SIZES) if args.sweep else args.calib_samples)
    if args.sweep:
        rows = calibration_sweep(src, data, tuple(QUANT_METHODS[:2]), SWEEP_SIZES)
        _write_html(args.html, sweep={"model": str(src), "data": data.source, "sweep": rows})
        if args.json:
            print_json({"model": str(src), "data": data.source, "sweep": rows})
        else:
            for row in rows:
                print(f"{row['method']:8s} {row['samples']:4d} samples  metric {row['metric']:.2f} "
                      f"(FP32 {row['fp32_metric']:.2f})  cosine {row['cosine']:.5f}")
        return 0
    report = quant_debug(src, data, top_k=args.top_k, target=None if args.no_search else args.target,
                         max_float=args.max_float, method=args.calib_method,
                         keep=Path(args.keep) if args.keep else None)
    report.constraints = {k: v for k, v in (("max_latency_ms", args.max_latency), ("max_size_kib", args.max_size_kib),
                                            ("min_metric", args.min_metric)) if v is not None}
    _write_html(args.html, result=report.to_json())
    if args.json:
        print_json(report.to_json())
        return 0
    _print(report)
    return 0


def _write_html(path: str | None, **parts) -> None:
    if not path:
        return
    from app.core.files import write_atomic
    from app.core.measure.quant_report import to_html

    write_atomic(path, to_html(**parts))


def _print(report) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if report.calibration["warning"]:
        console.print(f"[yellow]warning:[/] {report.calibration['warning']}")
    nodes = Table(title=f"INT8 error per node — {Path(report.model).name} — {report.data}")
    for column in ("rank", "node", "type", "cosine", "SNR dB", "adds dB"):
        nodes.add_column(column, justify="right" if column not in ("node", "type") else "left")
    for n in sorted(report.nodes, key=lambda n: n["rank"])[:15]:
        nodes.add_row(str(n["rank"]), n["name"], n["type"], f"{n['cosine']:.5f}", f"{n['snr_db']:.1f}",
                      f"{n['added_db']:.1f}")
    console.print(nodes)
    variants = Table(title=f"variants ({report.metric_name})")
    task_keys = list(report.variants[0].task)  # the sample's own task numbers (the face detector: faces found)
    for column in ("variant", "size KiB", report.metric_name, "cosine", "ms", *task_keys):
        variants.add_column(column, justify="left" if column == "variant" else "right")
    for v in report.variants:
        variants.add_row(v.name, f"{v.size_bytes / 1024:.1f}", f"{v.metric:.2f}", f"{v.cosine:.5f}",
                         f"{v.latency_ms:.2f}", *(str(v.task.get(k, "")) for k in task_keys))
    console.print(variants)
    int8 = next((v for v in report.variants if v.name == "int8"), None)
    if int8 is not None and len(int8.outputs) > 1:  # which output the error lives in; auxiliary ones do not judge
        console.print("INT8 per output: " + ", ".join(f"{o['name']} cosine {o['cosine']:.4f}"
                                                      + (" (auxiliary, not judged)" if o["role"] == "auxiliary" else "")
                                                      for o in int8.outputs))
    if report.search:
        s = report.search
        nodes_text = ", ".join(s["float_nodes"]) or "none"
        verdict = "reached" if s["reached"] else f"not reached (closest: {s['gap']:.2f} pt from FP32)"
        console.print(f"search for ≥ {s['target']:.2f}: {verdict} with float nodes: {nodes_text} → {s['metric']:.2f}")
        if "held_out" in s:
            h = s["held_out"]
            console.print(f"on held-out inputs the search never saw: FP32 {h['fp32']:.2f}, INT8 {h['int8']:.2f}, "
                          f"recommended {h['recommended']:.2f}" + ("" if h["confirmed"] else f" — {s['note']}"))
    for tier, chosen in report.picks(**report.constraints).items():
        console.print(f"{tier} pick: {chosen['variant'] or 'none'} — {chosen['why']}")


def add_cli(sub) -> None:
    p = sub.add_parser("quant-debug", help="per-layer INT8 error, sensitivity, and mixed precision (float layers)")
    p.add_argument("model", help="a model folder (import/train made it: its description names its data), a source "
                                 "model (.onnx, .tflite, …) or a sample name: digits, face")
    p.add_argument("--calib", help="calibration folder (.npy arrays or images); default: the model's own "
                                   "training data (metrics.json's dataset) or the sample's frames")
    p.add_argument("--data", help="dataset for the task metric (top-1): 'digits' or a class-folder path")
    p.add_argument("--calib-samples", type=int, default=100)
    p.add_argument("--calib-method", default=QUANT_METHODS[0], choices=QUANT_METHODS)
    p.add_argument("--top-k", type=int, default=3, help="candidates re-quantized with that one node in float")
    p.add_argument("--target", type=float, default=0.5,
                   help="search: fewest float nodes bringing the metric within this many points of FP32")
    p.add_argument("--max-float", type=int, default=5, help="search: give up beyond this many float nodes")
    p.add_argument("--no-search", action="store_true", help="only the per-node table and the top-K sensitivity")
    p.add_argument("--sweep", action="store_true",
                   help="instead: INT8 metric for MAX_MIN and KL × 10/50/100/300 calibration samples")
    p.add_argument("--max-latency", type=float, metavar="MS", help="pick: limit on latency (1 thread)")
    p.add_argument("--max-size-kib", type=float, metavar="KIB", help="pick: limit on file size")
    p.add_argument("--min-metric", type=float, help="pick: lowest acceptable task metric (top-1 %% or cosine × 100)")
    p.add_argument("--html", metavar="FILE", help="also write the report (trade-off chart, tables) as HTML")
    p.add_argument("--keep", metavar="DIR", help="copy every variant's .ms into DIR")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_quant_debug)

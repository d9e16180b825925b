"""`edge-studio bench` (one model, one runtime) and `edge-studio compare` (a whole package, every tier)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from app.core.files import check_new_file, write_json
from app.core.measure import report as reports
from app.core.measure.compare import compare
from app.core.measure.profiler import RUNTIME_ALIASES, BenchResult, bench
from app.core.measure.report import COLUMNS, cell
from app.core.runtimes import runtime_name
from converters.targets import TIERS
from jobs.state import JobState


def _print_table(result: BenchResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{result.runtime}: {Path(result.model).name} (threads: {result.threads or 'all'})",
                  show_header=False)
    table.add_row("runs", f"{result.runs} (+{result.warmup} warm-up)")
    table.add_row("latency ms", f"min {result.min_ms:.3f}  p50 {result.p50_ms:.3f}  p90 {result.p90_ms:.3f}  "
                                f"p99 {result.p99_ms:.3f}  mean {result.mean_ms:.3f} ± {result.std_ms:.3f}")
    table.add_row("throughput", f"{result.throughput_per_s:.1f} /s (one stream)")
    for label, value, unit in (("load", result.load_ms, "ms"), ("peak RSS", result.peak_rss_mb, "MiB"),
                               ("size", result.size_bytes and result.size_bytes / 1024, "KiB")):
        if value is not None:
            table.add_row(label, f"{value:.1f} {unit}")
    if result.extra.get("emulated_wan_delay_ms"):
        table.add_row("WAN delay", f"{result.extra['emulated_wan_delay_ms']:.1f} ms EMULATED (slept client-side)")
    console.print(table)
    if result.per_op:
        ops = Table(title="per operator (avg ms per run)")
        for column in ("op", "type", "ms", "%"):
            ops.add_column(column)
        for op in sorted(result.per_op, key=lambda o: -o["avg_ms"])[:25]:
            ops.add_row(op["name"], op["type"], f"{op['avg_ms']:.4f}", f"{op['percent']:.1f}")
        console.print(ops)


def cmd_bench(args) -> int:
    if getattr(args, "remote", None):  # a package's ARM64 bundle on a board over SSH (app/commands/device.py)
        from app.commands.device import cmd_bench_remote

        return cmd_bench_remote(args)
    if args.out:
        check_new_file(args.out, args.force)  # before the timing, not after it
    runtime = RUNTIME_ALIASES[args.runtime] if args.runtime else None
    options = dict(threads=args.threads, min_seconds=args.seconds, min_runs=args.runs, warmup=args.warmup,
                   per_op=args.per_op, per_op_runs=args.per_op_runs,
                   per_op_seconds=args.per_op_seconds)
    if runtime == "cloud":
        result = _bench_cloud(args, options)
    else:
        if args.per_op and (runtime or runtime_name(args.model)) != "lite":
            raise ValueError("--per-op needs a Lite model (.ms or a Lite .mindir)")
        result = bench(args.model, runtime=runtime, **options)
    if args.out:
        write_json(check_new_file(args.out, args.force), result.to_json(samples=args.samples))
    if args.json:
        print(json.dumps(result.to_json(samples=args.samples), indent=2, default=str))
    else:
        _print_table(result)
    return 0


def _bench_cloud(args, options: dict) -> BenchResult:
    from app.core.cloud.client import CloudRuntime
    from app.core.cloud.server import start_server_process

    if args.per_op:
        raise ValueError("--per-op is for Lite models; the cloud tier reports round trip and server time")
    server = None
    url, token = args.url, args.token or os.environ.get("EDGE_STUDIO_SERVE_TOKEN")
    if not url:  # serve MODEL (a folder with model.mindir) for the length of the run
        server = start_server_process(args.model)
        url, token = server.url, server.token
    try:
        with CloudRuntime(url, token, wan_delay_ms=args.wan_delay_ms) as cloud:
            return bench(cloud, **options)
    finally:
        if server is not None:
            server.stop()


def _add_bench(subparsers) -> None:
    p = subparsers.add_parser("bench", help="latency percentiles, throughput, memory of one model on one runtime")
    p.add_argument("model", help=".ms/.mindir/.onnx file; for --runtime cloud a folder with model.mindir "
                                 "(a server is started on it) unless --url is given")
    p.add_argument("--runtime", choices=sorted(RUNTIME_ALIASES), help="default: from the file")
    p.add_argument("--url", help="cloud: an already running server (edge-studio serve)")
    p.add_argument("--token", help="cloud: the server's token (or EDGE_STUDIO_SERVE_TOKEN)")
    p.add_argument("--wan-delay-ms", type=float, default=0.0, help="cloud: EMULATED extra delay per request")
    p.add_argument("--threads", type=int, default=0, help="0: all cores")
    p.add_argument("--seconds", type=float, default=2.0, help="minimum timed seconds")
    p.add_argument("--runs", type=int, default=20, help="minimum timed runs")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--per-op", action="store_true", help="Lite: per-operator times (LiteModel.profile)")
    p.add_argument("--per-op-runs", type=int, default=20, help="runs of the per-op profile (at most)")
    p.add_argument("--per-op-seconds", type=float, default=2.0, help="time limit of the per-op profile")
    p.add_argument("--samples", action="store_true", help="--json/--out: include every sample")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", help="also write the result as JSON to this file")
    p.add_argument("--force", action="store_true", help="--out: replace the file if it exists")
    from app.commands.device import add_remote_arguments

    add_remote_arguments(p)
    p.set_defaults(func=cmd_bench)


def cmd_compare(args) -> int:
    # before minutes of timing: a report would not replace a file that is there already
    reports.check_report_paths(*reports.report_paths(args.report, args.csv, args.out_json), force=args.force)
    result = compare(args.package, min_seconds=args.seconds, min_runs=args.runs, wan_delay_ms=args.wan_delay_ms,
                     per_op_runs=args.per_op_runs, tiers=tuple(args.tiers.split(",")),
                     cloud_scale=_replica_counts(args.cloud_ray), state=JobState() if args.json else _printer())
    written = reports.write_all(result, html_path=args.report, csv_path=args.csv, json_path=args.out_json,
                                force=args.force)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        _print_summary(result, written)
    return 0


def _replica_counts(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        counts = tuple(int(n) for n in text.split(","))
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        raise ValueError(f"--cloud-ray wants replica counts like 1,2, got {text!r}")
    return counts


def _printer() -> JobState:
    return JobState(on_progress=lambda fraction, message: print(f"[{fraction:4.0%}] {message}", file=sys.stderr,
                                                                flush=True))


def _add_compare(subparsers) -> None:
    p = subparsers.add_parser("compare", help="cloud → edge → device: latency, throughput, size, memory, top-1")
    p.add_argument("package", help="a deployment package folder (edge-studio deploy)")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p.add_argument("--report", help="write a self-contained HTML report (and .json/.csv beside it)")
    p.add_argument("--csv", help="write one CSV row per variant here")
    p.add_argument("--out-json", help="write the JSON result here")
    p.add_argument("--force", action="store_true", help="replace report files that already exist")
    p.add_argument("--wan-delay-ms", type=float, default=0.0, help="cloud: EMULATED extra delay per request")
    p.add_argument("--seconds", type=float, default=1.0, help="minimum timed seconds per variant")
    p.add_argument("--runs", type=int, default=10, help="minimum timed runs per variant")
    p.add_argument("--per-op-runs", type=int, default=20)
    p.add_argument("--tiers", default=",".join(TIERS))
    p.add_argument("--cloud-ray", metavar="N,M", help="also serve the cloud tier on Ray Serve with N, M replicas "
                                                      "(a private loopback Ray): throughput, p50/p99 at 1-8 clients")
    p.set_defaults(func=cmd_compare)


def _print_summary(result: dict, written: list[Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="cloud → edge → device")
    shown = [("id", "variant", "{}")] + [c for c in COLUMNS if c[0] in ("precision", "p50_ms", "p90_ms",
                                                                      "throughput_per_s", "size_bytes", "top1")]
    for key, header, _ in shown:
        table.add_column(header, no_wrap=key == "id")
    picked = {p["id"] for p in result["picks"].values()}
    for row in result["variants"]:
        table.add_row(*(cell(row, k, f) for k, _, f in shown), style="bold" if row["id"] in picked else None)
    console.print(table)
    for tier, p in result["picks"].items():
        console.print(f"[bold]{tier}[/]: {p['why']}")
    if "cloud_scale" in result:
        scale = Table(title=f"cloud on Ray Serve — {result['cloud_scale']['where']}")
        for header in ("replicas", "clients", "requests/s", "p50 ms", "p99 ms", "errors", "per replica"):
            scale.add_column(header)
        for r in result["cloud_scale"]["rows"]:
            scale.add_row(str(r["replicas"]), str(r["concurrency"]), f"{r['throughput_per_s']:.1f}",
                          f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", str(r["errors"]),
                          ", ".join(str(n) for n in r["per_replica"].values()))
        console.print(scale)
    for note in result["notes"] + result["skipped"]:
        console.print(f"[dim]{note}[/]")
    for path in written:
        console.print(f"wrote {path}")



def add_cli(subparsers) -> None:
    _add_bench(subparsers)
    _add_compare(subparsers)

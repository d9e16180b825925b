"""`edge-studio verify-device` (ARM64 parity of a package or a .ms, under emulation) and the
`bench --remote USER@HOST[:PORT] PKG` hook (time the package's ARM64 bundle on a board over SSH)."""
from __future__ import annotations

import json
import sys

from jobs.state import JobState


def _progress(quiet: bool) -> JobState:
    if quiet:
        return JobState()
    return JobState(on_progress=lambda f, m: print(f"[{f:4.0%}] {m}", file=sys.stderr, flush=True))


def cmd_verify_device(args) -> int:
    from app.core.models.device_parity import verify_device

    result = verify_device(args.target, samples=args.samples, data=args.data, state=_progress(args.json))
    if not result.get("available", True):
        raise RuntimeError(f"ARM64 runtime not available: {result['reason']}")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_parity(result)
    return 0 if result["ok"] else 1


def _print_parity(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from app.core.models.device_parity import agreement_of

    table = Table(title=f"{result['runtime']} · {result['samples']} inputs · {result['task']}")
    with_fp32 = any("vs_fp32" in m for m in result["models"].values())  # a reference was measured
    columns = ["model", "precision", "ARM64", "task metric vs x86", "max |Δ| vs x86", "cosine vs x86"]
    for column in columns + (["cosine vs FP32", "agreement vs FP32"] if with_fp32 else []):
        table.add_column(column)
    for name, m in result["models"].items():
        if "error" in m:
            table.add_row(name, m["precision"], "✗", "(see below)", *[""] * (len(table.columns) - 4))
            continue
        agree = agreement_of(m["vs_x86"])[0]  # top-1, box or the kind's own agreement; none for raw outputs
        figure = m.get("task_metric")
        fp32 = m.get("vs_fp32", {})
        row = [name, m["precision"], "✓" if m["ok"] else "✗",
               f"{figure['metric']} {figure['value']:.1f} % ({figure['verdict']})" if figure else "raw outputs only",
               ", ".join(f"{d:.2g}" for d in m["vs_x86"]["max_abs_diff"]),
               ", ".join(f"{c:.5f}" for c in m["vs_x86"]["cosine"])]
        if with_fp32:
            row += [", ".join(f"{c:.5f}" for c in fp32.get("cosine", [])),
                    f"{fp32[agree]:.1%}" if agree in fp32 else ""]
        table.add_row(*row)
    console = Console()
    console.print(table)
    if result.get("inputs"):
        console.print(f"inputs: {result['inputs']}", markup=False, highlight=False)
    for name, m in result["models"].items():
        if "error" in m:
            console.print(f"{name}: {m['error']}", markup=False, highlight=False)
        for o in m.get("outputs", []):
            console.print(f"{name} · {o['name']} ({o['role']}): cosine {o['cosine']:.5f}, "
                          f"max |Δ| {o['max_abs_diff']:.2g}", markup=False, highlight=False)


def add_remote_arguments(parser) -> None:
    """The options `bench` gains for --remote (its positional model is then the package)."""
    parser.add_argument("--remote", metavar="USER@HOST[:PORT]",
                        help="time the package's ARM64 bundle (device/arm64/) on this board over SSH; "
                             "key-based login, host key from known_hosts")
    parser.add_argument("--identity", "-i", help="--remote: the private key (default: ~/.ssh keys and the agent)")
    parser.add_argument("--known-hosts", help="--remote: known_hosts file (default: ~/.ssh/known_hosts)")
    parser.add_argument("--ssh-timeout", type=float, default=20.0, help="--remote: seconds for each SSH step")


def cmd_bench_remote(args) -> int:
    """`bench --remote`: args.model is the package; --threads 0 means all the board's cores."""
    from app.core.measure.remote_bench import remote_bench

    result = remote_bench(args.remote, args.model, key=args.identity, known_hosts=args.known_hosts,
                          threads=args.threads, warmup=args.warmup, runs=args.runs, timeout=args.ssh_timeout,
                          state=_progress(args.json))
    if getattr(args, "out", None):
        from app.core.files import write_json

        write_json(args.out, result)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_remote(result)
    return 0 if result["checks_ok"] else 1


def _print_remote(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from app.core.measure.remote_bench import profile_rows

    table = Table(title=result["label"])
    for column in ("model", "precision", "threads", "p50 ms", "p90 ms", "p99 ms", "sample output"):
        table.add_column(column)
    for row in profile_rows(result):
        if row["error"]:
            table.add_row(row["model"], row["precision"], "", "", "", "", f"✗ {row['error']}")
            continue
        table.add_row(row["model"], row["precision"], str(row["threads"]), f"{row['p50_ms']:.3f}",
                      f"{row['p90_ms']:.3f}", f"{row['p99_ms']:.3f}", "✓" if row["check_ok"] else "✗ differs")
    Console().print(table)


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("verify-device",
                              help="ARM64 parity: run a package's .ms files (or one .ms) on Lite's aarch64 runtime "
                                   "under emulation and compare with x86 Lite and FP32 (correctness only, not speed)")
    p.add_argument("target", help="a deploy package folder, or one .ms file")
    p.add_argument("--samples", type=int, help="evaluation inputs (default: 100; 32 for the face detector)")
    p.add_argument("--data", help="a single .ms: its evaluation data ('digits' or a folder), if no metrics say it")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_verify_device)

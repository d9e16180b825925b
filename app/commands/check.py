"""`edge-studio doctor` and `edge-studio self-test`: is this installation healthy?"""
from __future__ import annotations

import json
import sys

from app.commands.output import print_json
from app.core.self_test import run_self_test


def cmd_self_test(args) -> int:
    summary = run_self_test(progress=lambda message: print(message, file=sys.stderr, flush=True))
    print(json.dumps(summary, indent=2, default=str))
    return 0 if summary["ok"] else 1


def cmd_doctor(args) -> int:
    from app.core.doctor import run_doctor

    report = run_doctor()
    if args.json:
        print_json(report)
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


def add_cli(sub) -> None:
    p = sub.add_parser("doctor", help="versions, Lite bridge health, cameras")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("self-test", help="check this installation end to end; JSON summary on stdout")
    p.set_defaults(func=cmd_self_test)

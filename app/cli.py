"""The `edge-studio` command line: the parser and the error mapping. The commands themselves live in
app/commands/; errors print one line on stderr and exit non-zero, never a traceback."""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from jobs.state import Cancelled

GUI_COMMANDS = ("gui", "booth")


def cmd_gui(args, booth: bool = False) -> int:
    from app.gui import display_check

    if (line := display_check.problem()) is not None:  # before Qt prints its own screenful about plugins
        print(line, file=sys.stderr)
        return 2
    from app.gui.main import run_gui

    return run_gui(booth=booth, first_frame_exit=getattr(args, "first_frame_exit", False),
                   screenshot=getattr(args, "screenshot", None))


def build_parser(gui_only: bool = False) -> argparse.ArgumentParser:
    """The whole command line; gui_only: just `gui` and `booth`, so opening the app does not import every
    command's modules (about a second of start-up)."""
    parser = argparse.ArgumentParser(prog="edge-studio", description="Cloud → edge → device with MindSpore Lite")
    sub = parser.add_subparsers(dest="command")
    if not gui_only:
        from app.commands import COMMAND_MODULES

        for module in COMMAND_MODULES:
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
    args = build_parser(gui_only=not argv or argv[0] in GUI_COMMANDS).parse_args(argv)
    if getattr(sys.stdout, "errors", "") == "strict" and hasattr(sys.stdout, "reconfigure"):
        # A file name that is not valid UTF-8 (Python keeps its bytes as surrogates) would make a
        # finished command fail while printing its result: write those bytes back as they are, like ls.
        sys.stdout.reconfigure(errors="surrogateescape")
    if args.command is None:
        return cmd_gui(args)
    try:
        return args.func(args)
    except Cancelled as exc:
        print(f"edge-studio {args.command}: {exc}", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as exc:  # LiteError, ChildError, TrainingError, DeployError too
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

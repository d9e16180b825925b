"""Run one function in a child process that re-enters the app's own entry point.

MindSpore and Lite cannot share a process, and Lite's converter must not share one with its runtime,
so conversion, probing, training and the rest run as `<entry> _child package.module:function`
(X-AnyLabeling's way: works frozen too). The function is named, not looked up in a table, so a new
job needs no registration. Parameters go in as JSON on stdin; the child answers with one marked JSON
line on stdout (Lite writes its own chatter to stdout and stderr, so the marker tells ours apart) and
streams the JobState's progress and events as marked lines before it.
"""
from __future__ import annotations

import importlib
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from typing import Any

from jobs import process
from jobs.state import Cancelled, JobState

RESULT_MARK = "@@edge-studio-result@@ "
EVENT_MARK = "@@edge-studio-event@@ "
# Only our own packages may be named: the entry point is no general "run any module" door.
PACKAGES = ("app.", "converters.", "jobs.", "sample_models.", "bench.")


class ChildError(RuntimeError):
    """The child failed: its own error text, or how it died. `log` holds its stderr.
    kind: the job's exception type, or timeout, killed (SIGKILL from outside), crash."""

    def __init__(self, message: str, log: str = "", kind: str = "") -> None:
        super().__init__(message)
        self.log = log
        self.kind = kind


def short_name(target: str) -> str:
    """"converters.lite.convert:convert_in_child" → "convert_in_child", for messages."""
    return target.rpartition(":")[2]


def run_child(target: str, params: dict[str, Any], state: JobState | None = None, *, timeout: float = 600.0,
              grace: float = 3.0, log_sink: list[str] | None = None) -> dict[str, Any]:
    """Run `target` ("package.module:function", called as function(params, state)) in a child and return
    its result dict. Raises Cancelled when `state` was cancelled, ChildError on any other failure.

    Cancel or timeout: SIGTERM first (the job may clean up and stop its own children), SIGKILL after
    `grace` seconds. log_sink, if given, receives the child's log (stdout chatter + stderr)."""
    if not target.startswith(PACKAGES) or ":" not in target:
        raise ValueError(f"not a job function of this app: {target!r}")
    state = state or JobState()
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as err:
        proc = process.start(process.entry_command() + ["_child", target], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=err, text=True, encoding="utf-8", errors="replace")
        answer: dict[str, Any] = {}
        chatter: list[str] = []

        def read_stdout() -> None:
            for line in proc.stdout:
                if line.startswith(RESULT_MARK):
                    answer.update(json.loads(line[len(RESULT_MARK):]))
                elif line.startswith(EVENT_MARK):
                    _replay(json.loads(line[len(EVENT_MARK):]), state)
                else:
                    chatter.append(line)

        reader = threading.Thread(target=read_stdout, daemon=True, name="child-reader")
        reader.start()
        try:
            proc.stdin.write(json.dumps(params))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        deadline = time.monotonic() + timeout
        stopped = ""
        while proc.poll() is None:
            if state.cancelled:
                stopped = "cancelled"
            elif time.monotonic() > deadline:
                stopped = f"timed out after {timeout:.0f} s"
            if stopped:
                process.stop(proc, grace)
                break
            time.sleep(0.02)
        proc.wait()
        reader.join(timeout=5)
        err.seek(0)
        log = "".join(chatter[-200:]) + err.read()[-200_000:]
    if log_sink is not None:
        log_sink.append(log)
    name = short_name(target)
    if stopped == "cancelled" or answer.get("kind") == "Cancelled":
        raise Cancelled(f"{name} cancelled")
    if stopped:
        raise ChildError(f"{name} {stopped}", log, kind="timeout")
    if answer.get("ok"):
        return answer["result"]
    if answer:
        raise ChildError(answer.get("error", "failed"), log, kind=answer.get("kind", ""))
    # "killed": SIGKILL came from outside (OOM killer, kill -9), so it says nothing about the input;
    # "crash": the job itself died (e.g. SIGSEGV in Lite on a bad file)
    killed = proc.returncode == -signal.SIGKILL
    raise ChildError(f"{name} process {process.describe_exit(proc.returncode)}", log,
                     kind="killed" if killed else "crash")


def _replay(event: dict, state: JobState) -> None:
    """A marked line from the child's JobState, replayed on the parent's."""
    kind = event.get("type")
    if kind == "progress":
        state.set_progress(event["fraction"], event.get("status"))
    elif kind == "partial":
        state.set_partial_result(event["value"])
    else:
        state.emit(event)


class _ChildState(JobState):
    """Inside the child: every call becomes a marked line for the parent; SIGTERM sets `cancelled`."""

    def set_progress(self, fraction: float, status: str | None = None) -> None:
        super().set_progress(fraction, status)
        _write({"type": "progress", "fraction": self.progress, "status": self.status})

    def set_partial_result(self, value: Any) -> None:
        super().set_partial_result(value)
        _write({"type": "partial", "value": value})

    def emit(self, event: dict) -> None:
        _write(event)


def _write(event: dict) -> None:
    sys.stdout.write(EVENT_MARK + json.dumps(event) + "\n")
    sys.stdout.flush()


def child_main(target: str) -> int:
    """Entry inside the child: run the function, print one marked answer line."""
    state = _ChildState()
    signal.signal(signal.SIGTERM, lambda *_: state.cancel())
    process.lower_priority()
    try:
        if not target.startswith(PACKAGES) or ":" not in target:
            raise ValueError(f"not a job function of this app: {target!r}")
        module_name, _, qualname = target.partition(":")
        func: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            func = getattr(func, part)
        answer = {"ok": True, "result": func(json.loads(sys.stdin.read() or "{}"), state)}
    except Exception as exc:  # every failure becomes an answer the parent can show
        answer = {"ok": False, "error": str(exc) or type(exc).__name__, "kind": type(exc).__name__,
                  "trace": traceback.format_exc()}
    sys.stdout.write("\n" + RESULT_MARK + json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0 if answer["ok"] else 1

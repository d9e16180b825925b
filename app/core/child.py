"""Run one job in a child process that re-enters the app's own entry point.

MindSpore and Lite cannot share a process, and Lite's converter must not share one with its
runtime, so conversion, probing and training each run as `<entry> _child <job>`. Parameters go
in as JSON on stdin; the child answers with one marked JSON line on stdout (Lite writes its own
chatter to stdout and stderr, so the marker tells ours apart). Works frozen too.
"""
from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from typing import Any, Callable

RESULT_MARK = "@@edge-studio-result@@ "
EVENT_MARK = "@@edge-studio-event@@ "

# job name -> "module:function"; the function takes the params dict and returns a JSON-able dict.
JOBS = {
    "convert": "converters.lite.convert:run_in_child",
    "probe": "converters.lite.probe:run_in_child",
    "bridge_check": "app.core.doctor:check_converter_in_child",
    "train": "app.core.trainer:run_in_child",
    "batch": "app.core.runtimes:batch_in_child",
    "mindspore_bench": "app.core.bench_mindspore:run_in_child",
    "deploy": "app.core.deploy:run_in_child",
    "compare": "app.core.compare_job:run_in_child",
    "live_prepare": "app.core.live_prepare:run_in_child",
    "conformance_convert": "converters.lite.conformance:convert_batch_in_child",
    "conformance_run": "converters.lite.conformance:run_batch_in_child",
}


_cancel_requested = threading.Event()  # set inside a child when the parent asks it to stop


def cancel_requested() -> threading.Event:
    """Inside a child: the event a job polls to stop cleanly (the parent sends SIGTERM)."""
    return _cancel_requested


class ChildError(RuntimeError):
    """The child failed: its own error text, or how it died. `log` holds its stderr.
    kind: the job's exception type, or cancelled, timeout, killed (SIGKILL from outside), crash."""

    def __init__(self, message: str, log: str = "", kind: str = "") -> None:
        super().__init__(message)
        self.log = log
        self.kind = kind


def entry_command() -> list[str]:
    """The command that re-enters this app (the frozen executable, or `python -m app`)."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "app"]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GLOG_v", "3")  # Lite: errors only
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_child(job: str, params: dict[str, Any], timeout: float = 600.0,
              on_event: Callable[[dict], None] | None = None,
              cancel: threading.Event | None = None, grace: float = 3.0,
              log_sink: list[str] | None = None) -> dict[str, Any]:
    """Run `job` in a child and return its result dict, or raise ChildError.

    Cancel or timeout: SIGTERM first (a job may clean up and stop its own children), SIGKILL
    after `grace` seconds. log_sink, if given, receives the child's log (stdout chatter + stderr)."""
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as err:
        proc = subprocess.Popen(entry_command() + ["_child", job], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=err, env=child_env(),
                                text=True, encoding="utf-8", errors="replace", start_new_session=True)
        answer: dict[str, Any] = {}
        chatter: list[str] = []

        def read_stdout() -> None:
            for line in proc.stdout:
                if line.startswith(RESULT_MARK):
                    answer.update(json.loads(line[len(RESULT_MARK):]))
                elif line.startswith(EVENT_MARK):
                    if on_event is not None:
                        on_event(json.loads(line[len(EVENT_MARK):]))
                else:
                    chatter.append(line)

        reader = threading.Thread(target=read_stdout, daemon=True)
        reader.start()
        try:
            proc.stdin.write(json.dumps(params))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        deadline = time.monotonic() + timeout
        stopped = ""
        while proc.poll() is None:
            if cancel is not None and cancel.is_set():
                stopped = "cancelled"
            elif time.monotonic() > deadline:
                stopped = f"timed out after {timeout:.0f} s"
            if stopped:
                _stop_group(proc, grace)
                break
            time.sleep(0.02)
        proc.wait()
        reader.join(timeout=5)
        err.seek(0)
        log = "".join(chatter[-200:]) + err.read()[-200_000:]
    if log_sink is not None:
        log_sink.append(log)
    if stopped:
        raise ChildError(f"{job} {stopped}", log, kind="cancelled" if stopped == "cancelled" else "timeout")
    if answer.get("ok"):
        return answer["result"]
    if answer:
        raise ChildError(answer.get("error", "failed"), log, kind=answer.get("kind", ""))
    # "killed": SIGKILL came from outside (OOM killer, kill -9), so it says nothing about the input;
    # "crash": the job itself died (e.g. SIGSEGV in Lite on a bad file)
    killed = proc.returncode == -signal.SIGKILL
    raise ChildError(f"{job} process {_describe_exit(proc.returncode)}", log, kind="killed" if killed else "crash")


def _stop_group(proc: subprocess.Popen, grace: float) -> None:
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _describe_exit(code: int) -> str:
    if code == -signal.SIGKILL:  # nothing inside the child sends SIGKILL: it was killed from outside
        return "was killed (SIGKILL, signal 9: the system ran out of memory, or it was stopped from outside)"
    if code < 0:
        try:
            return f"crashed ({signal.Signals(-code).name})"
        except ValueError:
            return f"crashed (signal {-code})"
    return f"exited with code {code} without an answer"


BACKGROUND_NICE = 10  # children yield the CPU to the GUI: spinning Lite/MindSpore threads starve it otherwise


def lower_priority(thread_only: bool = False) -> None:
    """Run at a lower CPU priority. Threads created afterwards (Lite's and MindSpore's pools) inherit it.

    thread_only: just the calling thread (in the GUI process, before it creates the live pipeline)."""
    nice = int(os.environ.get("EDGE_STUDIO_CHILD_NICE", BACKGROUND_NICE))
    try:
        if thread_only:
            current = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), max(current, min(nice, 19)))
        else:
            os.nice(max(0, nice))
    except (OSError, AttributeError):
        pass  # not permitted or not POSIX: run at normal priority


def emit_event(event: dict[str, Any]) -> None:
    """Called inside a child: stream a progress event to the parent."""
    sys.stdout.write(EVENT_MARK + json.dumps(event) + "\n")
    sys.stdout.flush()


def child_main(job: str) -> int:
    """Entry inside the child: run the job, print one marked answer line."""
    signal.signal(signal.SIGTERM, lambda *_: _cancel_requested.set())
    lower_priority()
    try:
        module_name, func_name = JOBS[job].split(":")
        func = getattr(importlib.import_module(module_name), func_name)
        answer = {"ok": True, "result": func(json.loads(sys.stdin.read() or "{}"))}
    except Exception as exc:  # every failure becomes an answer the parent can show
        answer = {"ok": False, "error": str(exc) or type(exc).__name__, "kind": type(exc).__name__,
                  "trace": traceback.format_exc()}
    sys.stdout.write("\n" + RESULT_MARK + json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0 if answer["ok"] else 1

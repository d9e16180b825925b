"""Start and stop a child process group: one way, used by job children, the cloud server and the benches."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

BACKGROUND_NICE = 10  # children yield the CPU to the GUI: spinning Lite/MindSpore threads starve it otherwise


def entry_command() -> list[str]:
    """The command that re-enters this app (the frozen executable, or `python -m app`)."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "app"]


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GLOG_v", "3")  # Lite: errors only
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(extra or {})
    return env


def start(cmd: list[str], **popen_kwargs) -> subprocess.Popen:
    """A child in its own session (process group), so stop() reaches the children it starts too."""
    popen_kwargs.setdefault("env", child_env())
    return subprocess.Popen(cmd, start_new_session=True, **popen_kwargs)


def stop(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """SIGTERM to the group (a job may clean up and stop its own children), SIGKILL after `grace` s."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def describe_exit(code: int) -> str:
    if code == -signal.SIGKILL:  # nothing inside our children sends SIGKILL: it was killed from outside
        return "was killed (SIGKILL, signal 9: the system ran out of memory, or it was stopped from outside)"
    if code < 0:
        try:
            return f"crashed ({signal.Signals(-code).name})"
        except ValueError:
            return f"crashed (signal {-code})"
    return f"exited with code {code} without an answer"


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

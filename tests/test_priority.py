"""The app's background work yields the CPU: lower_priority() raises the nice value of a child process, or
of one thread (the live pipeline's loader), to EDGE_STUDIO_CHILD_NICE (10 unless set). The suite itself runs
with it set to 0 (tests/conftest.py); these tests set it back explicitly."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from jobs import process

ROOT = Path(__file__).resolve().parents[1]


def _nice_of(thread_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_id)


def test_a_child_runs_at_the_background_nice_value():
    code = "import os; from jobs.process import lower_priority; lower_priority(); print(os.getpriority(os.PRIO_PROCESS, 0))"
    env = {k: v for k, v in os.environ.items() if k != "EDGE_STUDIO_CHILD_NICE"}  # the app's default
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == min(19, _nice_of(0) + process.BACKGROUND_NICE)


def test_thread_only_lowers_the_calling_thread_and_what_it_starts(monkeypatch):
    monkeypatch.setenv("EDGE_STUDIO_CHILD_NICE", "10")
    main_before = _nice_of(threading.get_native_id())
    seen = {}

    def loader() -> None:
        process.lower_priority(thread_only=True)
        seen["loader"] = _nice_of(threading.get_native_id())
        child = threading.Thread(target=lambda: seen.__setitem__("started", _nice_of(threading.get_native_id())))
        child.start()
        child.join()

    thread = threading.Thread(target=loader)
    thread.start()
    thread.join()
    assert seen["loader"] == seen["started"] == max(main_before, 10)
    assert _nice_of(threading.get_native_id()) == main_before  # the caller's own thread is untouched


def test_the_suite_runs_background_work_at_normal_priority():
    assert os.environ["EDGE_STUDIO_CHILD_NICE"] == "0"

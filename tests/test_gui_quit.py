"""Quitting never ends in a crash: a job that ignores Cancel keeps its QThread running past the window's
wait, and Qt aborts the process (SIGABRT, "QThread: Destroyed while thread is still running") when that
thread object is destroyed at exit. Found by quitting 50 ms after entering booth mode."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = textwrap.dedent("""
    import sys, time
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from app.gui.main import leave_if_jobs_hang
    from app.gui.workers import JobRunner, threads_still_running

    def stubborn(state):  # a job that never looks at its cancel flag
        time.sleep(30)

    runner = JobRunner()
    runner.start(stubborn)
    time.sleep(0.2)
    runner.stop_all(wait_ms=200)  # what closing the window does, with a short wait
    print("still running:", threads_still_running(), flush=True)
    if sys.argv[1] == "leave":
        leave_if_jobs_hang(0)
    del runner
""")


def _quit(mode: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROGRAM, mode], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


@pytest.mark.skipif(sys.platform != "linux", reason="SIGABRT exit status as on Linux")
def test_a_job_that_ignores_cancel_does_not_crash_the_quit():
    aborted = _quit("plain")  # what happened before: the process died of SIGABRT at exit
    assert "still running: 1" in aborted.stdout and aborted.returncode == -6, (aborted.returncode, aborted.stderr)
    left = _quit("leave")
    assert left.returncode == 0, (left.returncode, left.stderr)
    assert "1 job(s) did not stop when asked" in left.stderr and "QThread: Destroyed" not in left.stderr


def test_a_kept_error_keeps_nothing_of_its_job_alive(qtbot):
    """An error that is kept (a log record does: pytest's log capture keeps every one, and the booth logs
    its cloud failure with the exception) used to carry its traceback, whose frames held the job's closure:
    every booth round of the 30-minute soak kept its whole BoothWindow, a slow climb. The dialog still gets
    the traceback as text."""
    import gc
    import weakref

    from app.gui.workers import JobRunner, error_details

    class Owner:  # stands in for the window whose method the job closes over
        pass

    owner, kept = Owner(), []
    gone = weakref.ref(owner)

    def job(state, owner=owner):
        raise RuntimeError(f"no server for {type(owner).__name__}")

    runner = JobRunner()
    runner.start(job, on_error=kept.append)
    qtbot.waitUntil(lambda: bool(kept) and not runner.busy(), timeout=10_000)
    assert "RuntimeError: no server for Owner" in error_details(kept[0])
    del owner, job
    qtbot.wait(200)
    gc.collect()
    assert gone() is None, "a kept exception still holds the job's frames"

"""JobRunner's clean-up when nothing else holds the runner.

A page that owns a runner made without a Qt parent (as tests make them) gets its job's result through a
callback that holds the page. When the job's objects were Qt children of the runner, their deferred
delete dropped the last reference to the page, so to the runner, whose deletion then deleted the same
child again: "QObject: shared QObject was deleted directly", then a segfault or a corrupted heap in the
next processEvents — the crash test_refcount met at load 10, where the job's thread ended only after the
test had returned. Run in a child process: a crash must fail this test, not end the suite.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import gc, sys, time
    from functools import partial

    import shiboken6
    from PySide6.QtWidgets import QApplication, QWidget

    from app.gui.workers import JobRunner, threads_still_running

    app = QApplication([])

    class Page(QWidget):
        def __init__(self, runner):
            super().__init__()
            self.runner, self.result = runner, None

        def started(self, result, generation):
            self.result = result

    def job(state):
        return "pipeline"

    jobs = []

    def one_page(wait_s):
        runner = JobRunner()  # no parent: only the page holds it
        page = Page(runner)
        jobs.append(runner.start(job, on_done=partial(page.started, generation=1)))
        while page.result is None:
            app.processEvents()
            time.sleep(0.001)
        time.sleep(wait_s)  # the job's thread ends after the caller has let go of page and runner
        # returning drops the last references from this side

    for cycle in range(int(sys.argv[1])):
        one_page(wait_s=0.05 if cycle % 2 else 0.0)
        for _ in range(20):
            app.processEvents()
            time.sleep(0.005)
        gc.collect()
    for _ in range(50):
        app.processEvents()
        time.sleep(0.01)
    deleted = sum(not shiboken6.isValid(j) for j in jobs)
    print(f"cycles {sys.argv[1]} jobs {len(jobs)} deleted {deleted} threads running {threads_still_running()}")
""")


def test_a_parentless_runner_is_cleaned_up_without_a_double_delete(tmp_path):
    script = tmp_path / "scenario.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-X", "faulthandler", str(script), "40"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert "deleted directly" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    # every job object was deleted by Qt (nothing leaks), and no thread is left running
    assert done.stdout.strip().endswith("cycles 40 jobs 40 deleted 40 threads running 0"), done.stdout

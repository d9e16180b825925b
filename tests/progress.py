"""A progress line a person can read, every 30 s: tests done / total, elapsed time, failures so far and
the load (`-q` prints only dots, and a suite of ~15 minutes gives no sense of where it is).

    [progress] 212/736 tests · 4:31 elapsed · 0 failed · load 3.1 on 2 cores

EDGE_STUDIO_PROGRESS_S sets the interval (0: off).
"""
from __future__ import annotations

import os
import time

import pytest


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}" if minutes >= 60 else f"{minutes}:{seconds:02d}"


class Progress:
    def __init__(self, config: pytest.Config, every_s: float) -> None:
        self.config, self.every_s = config, every_s
        self.total = self.done = self.failed = 0
        self.started = self.last = time.monotonic()

    def line(self) -> str:
        return (f"[progress] {self.done}/{self.total} tests · {_clock(time.monotonic() - self.started)} elapsed · "
                f"{self.failed} failed · load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items)  # after -m/-k deselection (0 in pytest-xdist's controller: see below)
        self.started = self.last = time.monotonic()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids: list[str]) -> None:
        self.total = max(self.total, len(ids))  # under -n each worker collects the whole (deselected) suite

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.failed += 1
        if report.when not in ("teardown", "???"):  # "???": pytest-xdist's report of a test whose worker crashed
            return
        self.done += 1
        now = time.monotonic()
        if now - self.last >= self.every_s and self.done < self.total:
            self.last = now
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:  # on a line of its own (after -q's dots); the dots go on below it
                if getattr(reporter._tw, "width_of_current_line", 1):
                    reporter.write("\n")
                reporter.write_line(self.line())


def register(config: pytest.Config) -> None:
    every_s = float(os.environ.get("EDGE_STUDIO_PROGRESS_S", "30"))
    is_xdist_worker = hasattr(config, "workerinput")  # its reports reach the controller, which prints
    if every_s > 0 and not config.option.collectonly and not is_xdist_worker:
        config.pluginmanager.register(Progress(config, every_s), "edge-studio-progress")

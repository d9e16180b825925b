"""The progress line of `make test` (tests/progress.py): tests done / total, with the suite in one process
and split over pytest-xdist workers (there the controller collects nothing itself and hears each worker's
count)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
LINE = re.compile(r"^\[progress\] (\d+)/(\d+) tests · (\d+:\d\d) elapsed · (\d+) failed · load [\d.]+ on \d+ cores$")


def _progress_lines(tmp_path: Path, *args: str) -> list[re.Match]:
    (tmp_path / "conftest.py").write_text(f"import sys\nsys.path.insert(0, {str(TESTS)!r})\nimport progress\n\n"
                                          "def pytest_configure(config):\n    progress.register(config)\n")
    (tmp_path / "test_few.py").write_text("import time\nimport pytest\n\n\n@pytest.mark.parametrize('i', range(8))\n"
                                          "def test_wait(i):\n    time.sleep(0.05)\n    assert i != 5\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "EDGE_STUDIO_PROGRESS_S": "0.01"})
    assert "1 failed, 7 passed" in run.stdout, run.stdout + run.stderr
    return [m for line in run.stdout.splitlines() if (m := LINE.match(line.strip()))]


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "two workers"])
def test_progress_counts_done_of_total(tmp_path, workers):
    lines = _progress_lines(tmp_path, *workers)
    assert lines, "no progress line"
    done = [int(m[1]) for m in lines]
    assert all(int(m[2]) == 8 for m in lines)  # the total of the suite, not 0
    assert done == sorted(done) and 0 < done[0] and done[-1] < 8  # the last test ends in pytest's summary
    failed = [int(m[4]) for m in lines]  # test_wait[5] fails: counted once, when its report arrives
    assert failed == sorted(failed) and set(failed) <= {0, 1}
    if not workers:  # in order: the line after test_wait[5] is the first to count it
        assert failed == [int(n > 5) for n in done]

"""`make test`'s first step (tests/system_tools.py): without Xvfb and openbox, and without apt-get to
install them, it says in one line what to install and lets the suite go on."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_without_the_x_programs_it_names_the_packages_in_one_line(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # no Xvfb, openbox, apt-get or ldd on this PATH
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "system_tools.py")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "install openbox xvfb" in lines[0] and "apt-get install openbox xvfb" in lines[0], lines

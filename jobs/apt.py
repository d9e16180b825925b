"""Debian packages the set-up needs (the cross compiler, qemu, sshd, Xvfb, X11 libraries): installed with
apt-get when we are root, else named in the one line a user reads. One copy of the apt-get steps for
`make setup` (converters/lite/arm64/build.py), `make run` (app/gui/display_check.py) and `make test`
(tests/system_tools.py)."""
from __future__ import annotations

import os
import shutil
import subprocess


def can_install() -> bool:
    """Root with apt-get: set-up may install what is missing itself."""
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def install(packages: list[str], timeout_s: float = 900) -> str:
    """apt-get install `packages` (after apt-get update); "" on success, else apt-get's last line.
    The caller still checks for what it needs: an install can succeed and leave a tool missing."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        # `apt-get update` may fail on one unsigned list while the others update: judge the install.
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=timeout_s)
        done = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
                              capture_output=True, text=True, env=env, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return f"apt-get took over {timeout_s:.0f} s"
    if done.returncode == 0:
        return ""
    return ((done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit code {done.returncode}"])[0]


def hint(packages: list[str]) -> str:
    """How a user installs them: "(Debian/Ubuntu: sudo apt-get install a b)"."""
    return f"(Debian/Ubuntu: sudo apt-get install {' '.join(packages)})"

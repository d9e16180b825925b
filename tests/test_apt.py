"""jobs/apt.py, the one copy of set-up's apt-get steps: a failed install comes back as apt-get's own last
line (set-up turns it into one line for the user), and the hint names the packages."""
from __future__ import annotations

import pytest

from jobs import apt


def test_hint_names_the_packages():
    assert apt.hint(["xvfb", "openbox"]) == "(Debian/Ubuntu: sudo apt-get install xvfb openbox)"


@pytest.mark.skipif(not apt.can_install(), reason="installing needs root and apt-get")
def test_a_failed_install_is_apt_gets_last_line():
    # the real apt-get, asked for a package no archive has: nothing is installed
    reason = apt.install(["edge-studio-no-such-package"])
    assert "edge-studio-no-such-package" in reason and "\n" not in reason, reason

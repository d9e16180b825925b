"""`edge-studio gui` (and `booth`) check the X11 libraries Qt's xcb plugin needs before any window: a
missing one is one line naming the Debian package, exit 2, and Qt is never started."""
from __future__ import annotations

import sys

import pytest

from app import cli
from app.gui import display_check


@pytest.mark.parametrize("command", ["gui", "booth"])
def test_gui_names_the_missing_x11_package_and_exits_2(monkeypatch, capsys, command):
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    # what ldd reports on a minimal Debian (the libraries themselves cannot be taken away from this machine)
    monkeypatch.setattr(display_check, "missing_libraries", lambda: ["libxcb-cursor.so.0", "libxcb-icccm.so.4"])
    started = []
    monkeypatch.setitem(sys.modules, "app.gui.main", type(sys)("app.gui.main"))
    sys.modules["app.gui.main"].run_gui = lambda **kwargs: started.append(kwargs) or 0
    assert cli.main([command]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["edge-studio: Qt's X11 plugin lacks libxcb-cursor.so.0, libxcb-icccm.so.4: install them "
                   "(Debian/Ubuntu: sudo apt-get install libxcb-cursor0 libxcb-icccm4)"]
    assert not started  # the window was never attempted


def test_offscreen_and_no_display_need_no_x11_libraries(monkeypatch):
    monkeypatch.setattr(display_check, "missing_libraries", lambda: ["libxcb-cursor.so.0"])
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("DISPLAY", ":99")
    assert display_check.problem() is None
    monkeypatch.setenv("QT_QPA_PLATFORM", "")
    monkeypatch.delenv("DISPLAY")
    assert display_check.problem() is None

"""A newcomer follows only what the window says: the banner's "Next:" link, then the one button the page
offers for that step — train → convert → live → profile → deploy — until the banner says all is done.
The real MainWindow (offscreen here; `xvfb-run pytest -m long tests/test_newcomer.py` runs it on a real
X server too)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.gui.main import PAGES

LEFT = Qt.MouseButton.LeftButton
LONG = 600_000  # ms: training, conversion and timing run in children on 2 busy cores


def _next_step(window) -> str | None:
    """What the banner says to do next, read from its link (or, on that step's own page, from its
    "This step (n of 5)"): the newcomer's only guide."""
    from app.gui.main import PAGES

    match = re.search(r"<a href='(\w+)'", window.banner.text())
    here = re.search(r"This step \((\d) of", window.banner.text())
    return match.group(1) if match else PAGES[int(here.group(1)) - 1] if here else None


def _follow_the_banner(qtbot, window) -> str:
    step = _next_step(window)
    if window.current_page() is not window.pages[step]:
        window.banner.linkActivated.emit(step)  # a click on the link
    qtbot.waitUntil(lambda: window.current_page() is window.pages[step], timeout=10_000)
    return step


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    import app.gui.pages.convert_page as convert_page
    import app.gui.pages.model_page as model_page
    import app.gui.state as state
    from app.gui.main import MainWindow
    from app.gui.settings import Settings

    for module in (state, model_page, convert_page):
        monkeypatch.setattr(module, "workspace", lambda: tmp_path / "workspace")
    window = MainWindow(Settings(tmp_path / "settings.json"), start_live=False)
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    yield window
    window.close()


def test_a_newcomer_goes_through_all_five_steps_by_the_hints(qtbot, window, tmp_path):
    assert _next_step(window) == "Model" and "Active model" in window.banner.text()

    # 1 Model: the page's Train button, on the defaults (digits), one epoch to keep the test short
    assert _follow_the_banner(qtbot, window) == "Model"
    model = window.pages["Model"]
    model.epochs.setValue(1)
    with qtbot.waitSignal(window.state.model_changed, timeout=LONG):
        qtbot.mouseClick(model.train_button, LEFT)
    assert "trained-" in window.banner.text() and _next_step(window) == "Convert"

    # 2 Convert: Build all (the cloud tier too when MindSpore is here)
    assert _follow_the_banner(qtbot, window) == "Convert"
    with qtbot.waitSignal(window.state.package_changed, timeout=LONG):
        qtbot.mouseClick(window.pages["Convert"].build_button, LEFT)
    assert _next_step(window) == "Live"

    # 3 Live: Start, and frames arrive
    assert _follow_the_banner(qtbot, window) == "Live"
    live = window.pages["Live"]
    qtbot.mouseClick(live.start_button, LEFT)
    qtbot.waitUntil(lambda: live.views[0].frames_shown >= 3, timeout=LONG)
    assert _next_step(window) == "Profile"

    # 4 Profile: Compare tiers
    assert _follow_the_banner(qtbot, window) == "Profile"
    profile = window.pages["Profile"]
    qtbot.waitUntil(profile.run_button.isEnabled, timeout=10_000)
    qtbot.mouseClick(profile.run_button, LEFT)
    qtbot.waitUntil(lambda: profile.result is not None, timeout=LONG)
    assert _next_step(window) == "Deploy"

    # 5 Deploy: Write package, into the destination it proposes (a new folder)
    assert _follow_the_banner(qtbot, window) == "Deploy"
    deploy = window.pages["Deploy"]
    deploy.destination.setText(str(tmp_path / "my-package"))
    qtbot.mouseClick(deploy.write_button, LEFT)
    assert (Path(deploy.destination.text()) / "deploy.json").is_file()
    assert _next_step(window) is None and "All five steps done" in window.banner.text()
    assert [window.nav.item(i).text().endswith("✓") for i in range(len(PAGES))] == [True] * len(PAGES)

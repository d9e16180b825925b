"""The window opens offscreen and shows the Lite bridge's health, computed off the GUI thread."""
from app.gui.main import MainWindow


def test_main_window_shows_bridge_health(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: "OK" in window.headline.text() or "BROKEN" in window.headline.text(), timeout=60000)
    assert window.headline.text().startswith("MindSpore Lite bridge: OK")
    assert window.details.topLevelItemCount() >= 6
    window.close()

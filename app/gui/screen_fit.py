"""Windows sized to the screen they are on: the main window never larger than the screen's free area
(its banner and status bar stay visible on a 1024×768 projector), the booth exactly the screen."""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

PREFERRED = QSize(1200, 800)  # the main window on a screen with room for it
FRAME_ALLOWANCE = QSize(16, 48)  # a window manager's title bar and borders, known only once it is shown


def available(window: QWidget) -> QRect:
    screen = window.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def fit_main_window(window: QWidget, restored: bool) -> bool:
    """Size `window` (before it is shown) for its screen. restored: a saved geometry was applied; kept
    when it fits. Returns True when the screen is too small for the preferred size: the window should
    then be shown maximized, which a window manager turns into exactly the free area (the geometry set
    here is the same area, for a session without one)."""
    room = available(window)
    wanted = window.size() if restored else PREFERRED
    if wanted.width() + FRAME_ALLOWANCE.width() <= room.width() and \
            wanted.height() + FRAME_ALLOWANCE.height() <= room.height():
        if not restored:
            window.resize(wanted)
        if not room.contains(window.frameGeometry()):  # saved on a larger or another screen
            window.move(room.topLeft())
        return False
    window.setGeometry(room)
    return True


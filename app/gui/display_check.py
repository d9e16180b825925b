"""Before the window opens (`edge-studio gui`/`booth`, and `make run`): the Qt xcb platform plugin needs a
few X11 system libraries that a minimal Debian/Ubuntu may lack. Report them in one line naming the Debian
packages (Qt's own message is a screenful about plugins) — or, under `make run` as root with apt-get,
install them."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from jobs import apt

# soname → Debian package
PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0", "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0", "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0", "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1", "libdbus-1.so.3": "libdbus-1-3", "libX11-xcb.so.1": "libx11-xcb1",
}


def missing_libraries() -> list[str]:
    import PySide6

    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.exists() or shutil.which("ldd") is None:
        return []
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
    return sorted({line.split()[0] for line in out.splitlines() if "not found" in line})


def problem() -> str | None:
    """The one line saying which X11 libraries are missing and the packages that hold them; None when the
    xcb plugin is not used (offscreen, Wayland, no X display) or has everything."""
    if os.environ.get("QT_QPA_PLATFORM", "") not in ("", "xcb") or not os.environ.get("DISPLAY"):
        return None
    missing = missing_libraries()
    if not missing:
        return None
    packages = sorted({PACKAGES.get(name, name) for name in missing})
    return f"edge-studio: Qt's X11 plugin lacks {', '.join(missing)}: install them {apt.hint(packages)}"


def main() -> int:
    """`make run`: as root with apt-get, install what is missing; otherwise say what to install (exit 2)."""
    line = problem()
    if line is None:
        return 0
    packages = sorted({PACKAGES.get(name, name) for name in missing_libraries()})
    if apt.can_install():
        print(f"Installing the X11 libraries Qt needs: {' '.join(packages)}", flush=True)
        failed = apt.install(packages)
        if not missing_libraries():
            return 0
        line += f" (apt-get: {failed})" if failed else ""
    print(line, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

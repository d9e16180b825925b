"""`make test` runs this first: the system programs the default suite's real-window run needs (the
screenshot matrix starts the app on Xvfb under openbox, on Qt's xcb plugin). As root with apt-get it
installs what is missing, once (a second run finds everything and does nothing); otherwise it prints one
line naming the packages, and those tests are skipped with the same reason. Exit 0 either way: a
missing X server must not stop the rest of the suite."""
from __future__ import annotations

import shutil
import sys

from app.gui.display_check import PACKAGES, missing_libraries
from jobs import apt

PROGRAMS = {"Xvfb": "xvfb", "openbox": "openbox"}  # program → Debian package


def missing_packages() -> list[str]:
    programs = [package for program, package in PROGRAMS.items() if shutil.which(program) is None]
    libraries = [PACKAGES.get(name, name) for name in missing_libraries()]
    return sorted(set(programs) | set(libraries))


def main() -> int:
    missing = missing_packages()
    if not missing:
        return 0
    failed = ""  # apt-get's reason, when it tried and failed
    if apt.can_install():
        print(f"Installing what the real-window tests need: {' '.join(missing)}", flush=True)
        failed = apt.install(missing)
        missing = missing_packages()
        if not missing:
            return 0
    print(f"edge-studio test: the real-window tests will be skipped: install {' '.join(missing)} "
          f"{apt.hint(missing)}" + (f" (apt-get: {failed})" if failed else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The mindspore-lite wheel from PyPI: download it with pip and keep the headers and the libraries a
set-up step needs. Used by the x86_64 bridge (converters.lite.build) and the ARM64 tier
(converters.lite.arm64.build) alike.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from converters.lite import paths


class SetupError(Exception):
    """A set-up step failed; the message says what to do."""


def fetch_wheel_libraries(home: Path, platform: str, libs, what: str, size: str) -> None:
    """Download a mindspore-lite wheel for `platform` (cp37, or the none-any aarch64 one: pip fetches
    either from any Python) and keep its headers and the libraries `libs` in home/include, home/lib."""
    home.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home.parent, prefix=f".{home.name}-setup-") as tmp:
        tmp_path = Path(tmp)
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--python-version", "3.7", "--platform", platform,
               f"mindspore-lite=={paths.LITE_VERSION}", "-d", str(tmp_path / "wheel")]
        print(f"Downloading mindspore-lite {paths.LITE_VERSION}{what} from PyPI ({size}, once)…", flush=True)
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list((tmp_path / "wheel").glob("mindspore_lite-*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel downloaded"]
            raise SetupError(f"could not download mindspore-lite=={paths.LITE_VERSION}{what} from PyPI "
                             f"({last[0]}); check that pypi.org is reachable and retry")
        staged = tmp_path / "home"
        with zipfile.ZipFile(wheels[0]) as wheel:
            for info in wheel.infolist():
                name = info.filename
                if name.startswith("mindspore_lite/include/") and not info.is_dir():
                    target = staged / name[len("mindspore_lite/"):]
                elif name.startswith("mindspore_lite/lib/") and Path(name).name in libs:
                    target = staged / "lib" / Path(name).name
                else:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with wheel.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        missing = [lib for lib in libs if not (staged / "lib" / lib).exists()]
        if missing:
            raise SetupError(f"the mindspore-lite wheel{what} lacks {', '.join(missing)}")
        for lib in (staged / "lib").iterdir():
            lib.chmod(0o755)
        if home.exists():
            shutil.rmtree(home)
        staged.rename(home)
        (home / ".libs-ok").write_text(paths.LITE_VERSION)

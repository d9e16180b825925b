"""`make package`: the PyInstaller one-folder build plus desktop file, icon and installer script,
packed as dist/edge-studio-<version>-linux-<arch>-<flavour>.tar.gz with a JSON of its sizes.

    python -m installer.make_package [--flavour full|lean] [--skip-build]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from importlib import metadata
from pathlib import Path

from installer import build_log
from installer.layout import BUILD_INFO, FLAVOURS, ICON, ROOT

EXTRAS = (ROOT / "installer" / "edge-studio.desktop", ROOT / "installer" / "install.sh", ICON)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def ensure_face_sample() -> None:
    """Bundle the face detector so the booth needs no network; without it the build still works."""
    from sample_models.face_detection import SampleModelError, ensure_face_detector

    try:
        ensure_face_detector()
    except SampleModelError as exc:
        print(f"make_package: the face sample is left out ({exc}); it will be fetched on first use",
              file=sys.stderr)


def check_build_folder(folder: Path) -> None:
    """PyInstaller --noconfirm empties its output folder: refuse when that folder holds anything but an
    earlier build of ours (its build-info file says so), so a user's files there are never lost."""
    if not folder.exists() or not any(folder.iterdir()):
        return
    if not any((folder / where / BUILD_INFO).is_file() for where in (".", "_internal")):
        raise SystemExit(f"make_package: {folder} holds files that are not an Edge Studio build; "
                         "move them away (nothing was written)")


def build(flavour: str, dist: Path) -> Path:
    env = dict(os.environ, EDGE_STUDIO_FLAVOUR=flavour)
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
               "--distpath", str(dist), "--workpath", str(ROOT / "build" / f"pyinstaller-{flavour}"),
               str(ROOT / "build.spec")]
    log = ROOT / "build" / f"pyinstaller-{flavour}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace")
    log.write_text(done.stdout, encoding="utf-8")
    shown, left_out = build_log.split(done.stdout.splitlines(keepends=True))
    sys.stdout.writelines(shown)  # what no HARMLESS row explains: shown as PyInstaller printed it
    if line := build_log.summary(left_out, str(log.relative_to(ROOT))):
        print(f"make_package: {line}")
    if done.returncode != 0:
        raise SystemExit(f"make_package: PyInstaller failed (exit {done.returncode}); its log: {log}")
    return dist / "edge-studio"


def add_desktop_files(folder: Path) -> None:
    for path in EXTRAS:
        shutil.copy2(path, folder / path.name)


def pack(folder: Path, archive: Path) -> Path:
    """folder → archive.tar.gz, written next to it under a temporary name, then renamed."""
    partial = archive.with_name(archive.name + ".partial")
    with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
        tar.add(folder, arcname="edge-studio")
    partial.replace(archive)
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavour", choices=FLAVOURS, default="full")
    parser.add_argument("--skip-build", action="store_true", help="pack the existing build folder again")
    args = parser.parse_args(argv)
    dist = ROOT / "dist" / args.flavour
    version = metadata.version("edge-studio")
    stem = f"edge-studio-{version}-linux-{platform.machine()}-{args.flavour}"
    started = time.perf_counter()
    if not args.skip_build:
        check_build_folder(dist / "edge-studio")
        ensure_face_sample()
        build(args.flavour, dist)
    folder = dist / "edge-studio"
    add_desktop_files(folder)
    built = time.perf_counter()
    archive = pack(folder, ROOT / "dist" / f"{stem}.tar.gz")
    summary = {"flavour": args.flavour, "version": version, "folder": str(folder), "archive": str(archive),
               "folder_mb": round(folder_bytes(folder) / 2**20, 1),
               "archive_mb": round(archive.stat().st_size / 2**20, 1),
               "build_s": round(built - started, 1), "pack_s": round(time.perf_counter() - built, 1)}
    (ROOT / "dist" / f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))
    print(f"Unpack {archive.name} anywhere, then run edge-studio/install.sh (menu entry) "
          f"and edge-studio/edge-studio --self-test.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Set up the ARM64 device tier (idempotent): fetch Lite 2.0.0's aarch64 wheel from PyPI, keep
the runtime libraries and headers, install the cross compiler and qemu-user with apt-get when
root, cross-compile runner.cpp.

Without root and without the tools, set-up prints one line saying what to install and records
it, so ARM features report "not available" with that reason instead of failing.

    python -m converters.lite.arm64.build [--force]
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from converters.lite.arm64.paths import (
    LIB_ARCHIVE,
    RUNNER,
    RUNTIME_LIBS,
    TOOLS,
    arm_home,
    native_arm64,
)
from converters.lite.wheel import SetupError, fetch_wheel_libraries
from jobs import apt

SOURCE = Path(__file__).with_name("runner.cpp")
# The loopback-sshd test of `bench --remote` needs an OpenSSH server; CI (root) gets one too.
TEST_TOOLS = {"sshd": "openssh-server"}


def fetch_libraries(home: Path) -> None:
    """The none-any wheel that carries the aarch64 libraries (~56 MB) → home/lib + home/include."""
    fetch_wheel_libraries(home, "manylinux2014_aarch64", RUNTIME_LIBS, " for aarch64", "~56 MB")


def _missing(tools: dict[str, str]) -> dict[str, str]:
    return {tool: package for tool, package in tools.items() if shutil.which(tool) is None}


def ensure_tools() -> str:
    """Install what is missing when we are root; else return the one-line reason ARM is unavailable."""
    needed = {"g++": "g++"} if native_arm64() else dict(TOOLS)  # an aarch64 host builds and runs natively
    missing = _missing(needed)
    if apt.can_install():
        packages = sorted(set(missing.values()) | set(_missing(TEST_TOOLS).values()))
        if packages:
            print(f"Installing {' '.join(packages)} with apt-get…", flush=True)
            if failed := apt.install(packages):
                raise SetupError(f"apt-get install {' '.join(packages)} failed: {failed}")
        missing = _missing(needed)
    if missing:
        return (f"install {' and '.join(missing.values())} {apt.hint(list(missing.values()))}, "
                "then run make setup again")
    return ""


def _sources_hash(compiler: str) -> str:
    return hashlib.sha256(SOURCE.read_bytes() + compiler.encode()).hexdigest()


def build_runner(home: Path, force: bool = False) -> Path:
    compiler = "g++" if native_arm64() else "aarch64-linux-gnu-g++"
    out, stamp = home / RUNNER, home / ".runner-hash"
    wanted = _sources_hash(compiler)
    if not force and out.exists() and stamp.exists() and stamp.read_text() == wanted:
        return out
    tmp = home / f".{RUNNER}.tmp"
    cmd = [shutil.which(compiler) or compiler, "-std=c++17", "-O2", "-s",
           "-D_GLIBCXX_USE_CXX11_ABI=0",  # the Lite libraries use the old std::string ABI
           f"-I{home}", str(SOURCE), "-o", str(tmp),
           f"-L{home / 'lib'}", "-l:libmindspore-extendrt_python.so",
           f"-Wl,-rpath-link,{home / 'lib'}",  # resolve the libraries' own NEEDED entries at link time
           "-Wl,--disable-new-dtags,-rpath,$ORIGIN/lib"]  # the board needs no LD_LIBRARY_PATH
    print(f"Cross-compiling {RUNNER} for aarch64…", flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise SetupError(f"{compiler} failed to build {RUNNER}:\n{done.stderr[-2000:]}")
    tmp.replace(out)
    stamp.write_text(wanted)
    return out


def pack_libraries(home: Path) -> Path:
    """lib.tar.gz: the libraries as a deployment bundle carries them (~40 MB instead of ~123 MB);
    made once here so a deploy only links it into its package."""
    out = home / LIB_ARCHIVE
    if out.is_file():
        return out
    print("Packing the aarch64 Lite libraries for device bundles…", flush=True)
    part = home / f".{LIB_ARCHIVE}.part"
    with tarfile.open(part, "w:gz", compresslevel=6) as tar:
        for lib in RUNTIME_LIBS:
            tar.add(home / "lib" / lib, arcname=f"lib/{lib}")
    part.replace(out)
    return out


def ensure_arm64(force: bool = False) -> tuple[Path, str]:
    """(home, reason): reason is empty when the runner is built and can run here."""
    home = arm_home()
    reason = ensure_tools()  # first: without the tools, the 56 MB download would be of no use yet
    marker = home / ".unavailable"
    if reason:
        home.mkdir(parents=True, exist_ok=True)
        marker.write_text(reason + "\n")
        return home, reason
    marker.unlink(missing_ok=True)
    if force or not (home / ".libs-ok").exists():
        fetch_libraries(home)
    pack_libraries(home)
    build_runner(home, force=force)
    return home, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="download and rebuild even if present")
    args = parser.parse_args(argv)
    try:
        home, reason = ensure_arm64(force=args.force)
    except SetupError as exc:
        print(f"edge-studio setup: {exc}", file=sys.stderr)
        return 2
    print(f"ARM64 device tier not available: {reason}" if reason else f"ARM64 runner ready in {home}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

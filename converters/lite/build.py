"""Set up the Lite bridge: fetch the Lite 2.0.0 wheel from PyPI, extract the libraries it
needs, compile the two shims with g++; then the ARM64 runtime and runner (converters.lite.arm64.build).
Idempotent: work already done is skipped.

    python -m converters.lite.build [--force]
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from converters.lite import paths
from converters.lite.arm64.build import ensure_arm64
from converters.lite.wheel import SetupError, fetch_wheel_libraries

SHIM_DIR = Path(__file__).resolve().parent
# shim -> (source, the Lite library it links against)
SHIMS = {
    paths.RUNTIME_SHIM: ("runtime_shim.cpp", "libmindspore-extendrt_python.so"),
    paths.CONVERTER_SHIM: ("converter_shim.cpp", "libmindspore_converter.so"),
}


def _libs_ready(home: Path) -> bool:
    return (home / ".libs-ok").exists()


def fetch_libraries(home: Path) -> None:
    """The cp37 x86_64 wheel (~170 MB): the libraries the runtime and converter shims need."""
    fetch_wheel_libraries(home, "manylinux1_x86_64", paths.NEEDED_LIBS, "", "~170 MB")


def _sources_hash() -> str:
    digest = hashlib.sha256()
    for name in sorted(["shim_common.h"] + [src for src, _ in SHIMS.values()]):
        digest.update((SHIM_DIR / name).read_bytes())
    return digest.hexdigest()


def build_shims(home: Path, force: bool = False) -> None:
    stamp = home / ".shims-hash"
    wanted = _sources_hash()
    if not force and stamp.exists() and stamp.read_text() == wanted and all(
            (home / shim).exists() for shim in SHIMS):
        return
    compiler = shutil.which("g++")
    if compiler is None:
        raise SetupError("g++ is not installed: install it (Debian/Ubuntu: apt-get install g++) and retry")
    compiling = []  # both at once: on a busy machine two compilers get two shares of the cores
    for shim, (source, library) in SHIMS.items():
        tmp = home / f".{shim}.tmp"
        cmd = [compiler, "-std=c++17", "-O2", "-fPIC", "-shared", "-fvisibility=hidden",
               "-D_GLIBCXX_USE_CXX11_ABI=0",  # the Lite libraries use the old std::string ABI
               f"-I{home}", f"-I{home / 'include'}", str(SHIM_DIR / source), "-o", str(tmp),
               f"-L{home / 'lib'}", f"-l:{library}",
               "-Wl,--disable-new-dtags,-rpath,$ORIGIN/lib"]  # no LD_LIBRARY_PATH needed
        print(f"Compiling {shim}…", flush=True)
        compiling.append((shim, tmp, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                      text=True)))
    finished = [(shim, tmp, process, process.communicate()[1]) for shim, tmp, process in compiling]
    for shim, tmp, process, errors in finished:
        if process.returncode != 0:
            raise SetupError(f"g++ failed to build {shim}:\n{errors[-2000:]}")
        tmp.replace(home / shim)
    stamp.write_text(wanted)


def ensure_bridge(force: bool = False) -> Path:
    home = paths.lite_home()
    if force or not _libs_ready(home):
        fetch_libraries(home)
    build_shims(home, force=force)
    return home


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="download and rebuild even if present")
    args = parser.parse_args(argv)
    try:
        # The x86 bridge and the device tier's ARM64 runtime share nothing: set up side by side (without
        # root and tools the ARM64 part only says what to install).
        with ThreadPoolExecutor(2) as pool:
            bridge, arm64 = pool.submit(ensure_bridge, args.force), pool.submit(ensure_arm64, args.force)
            home, (arm_home, arm_reason) = bridge.result(), arm64.result()
    except SetupError as exc:
        print(f"edge-studio setup: {exc}", file=sys.stderr)
        return 2
    print(f"Lite bridge ready in {home}")
    print(f"ARM64 device tier not available: {arm_reason}" if arm_reason else f"ARM64 runner ready in {arm_home}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the aarch64 Lite libraries and the cross-compiled runner live, and whether they can run here."""
from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

from converters.lite import paths

RUNNER = "es_arm_runner"
LIB_ARCHIVE = "lib.tar.gz"  # the runtime libraries as a bundle ships them
# What Lite's aarch64 runtime loads for a CPU model (NEEDED entries plus the dlopen'ed
# ge-litert plugin); the converter library is a NEEDED entry of the runtime, so it stays.
RUNTIME_LIBS = (
    "libmindspore-extendrt_python.so",
    "libmindspore_converter.so",
    "libmslite_converter_plugin.so",
    "libmindspore_core.so",
    "libmindspore_glog.so.0",
    "libopencv_core.so.4.5",
    "libopencv_imgcodecs.so.4.5",
    "libopencv_imgproc.so.4.5",
    "libmsplugin-ge-litert_python.so",
)
# Debian/Ubuntu packages that give this PC an aarch64 compiler and an aarch64 user-mode emulator.
TOOLS = {"aarch64-linux-gnu-g++": "g++-aarch64-linux-gnu", "qemu-aarch64-static": "qemu-user-static"}
SYSROOT = Path("/usr/aarch64-linux-gnu")  # aarch64 glibc/libstdc++ from the cross packages, for qemu -L
INSTALL_HINT = "apt-get install " + " ".join(TOOLS.values())


def arm_home() -> Path:
    """lib/ (aarch64 Lite), include/, the runner; EDGE_STUDIO_ARM64_HOME overrides it."""
    if env := os.environ.get("EDGE_STUDIO_ARM64_HOME"):
        return Path(env)
    return paths.lite_home().parent / f"lite-{paths.LITE_VERSION}-aarch64"


def runner_path() -> Path:
    return arm_home() / RUNNER


def native_arm64() -> bool:
    return platform.machine().lower() in ("aarch64", "arm64")


def unavailable_reason() -> str:
    """Empty when the ARM64 runner can run on this machine; else one line saying why not."""
    home = arm_home()
    if (home / ".unavailable").is_file():
        return (home / ".unavailable").read_text().strip()
    if not native_arm64():
        if platform.machine().lower() not in ("x86_64", "amd64"):
            return f"this {platform.machine()} machine can neither run nor emulate the aarch64 runner"
        if shutil.which("qemu-aarch64-static") is None:
            return f"qemu-aarch64-static is not installed ({INSTALL_HINT}, then make setup)"
        if not (SYSROOT / "lib").is_dir():
            return f"the aarch64 C library is missing from {SYSROOT} ({INSTALL_HINT})"
    if not runner_path().is_file():
        return f"the ARM64 runner is not built ({runner_path()} is missing): run make setup"
    return ""

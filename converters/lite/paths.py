"""Where the Lite 2.0.0 libraries, headers and our shims live (a git-ignored cache)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

LITE_VERSION = "2.0.0"
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Ten libraries are enough on CPU (see shared notes); the runtime dlopens the ge-litert plugin.
NEEDED_LIBS = (
    "libmindspore_converter.so",
    "libmindspore-extendrt_python.so",
    "libmindspore_core.so",
    "libmslite_converter_plugin.so",
    "libdnnl.so.2",
    "libmindspore_glog.so.0",
    "libopencv_core.so.4.5",
    "libopencv_imgcodecs.so.4.5",
    "libopencv_imgproc.so.4.5",
    "libmsplugin-ge-litert_python.so",
)
RUNTIME_SHIM = "libes_lite_runtime.so"
CONVERTER_SHIM = "libes_lite_converter.so"


def lite_home() -> Path:
    """The folder with lib/, include/ and the two shims.

    EDGE_STUDIO_LITE_HOME overrides it; a frozen build carries it next to the executable.
    """
    if env := os.environ.get("EDGE_STUDIO_LITE_HOME"):
        return Path(env)
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "lite"
    return PROJECT_ROOT / ".cache" / f"lite-{LITE_VERSION}"

"""What this installation has: versions, the Lite bridge's health, the cameras OpenCV opens."""
from __future__ import annotations

import glob
import platform
import sys
from importlib import metadata


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def lite_bridge_status() -> dict:
    """Loads the runtime shim here and the converter shim in a child (they must not share a process)."""
    from converters.lite import LiteError, bridge_version, paths
    from jobs.child import ChildError, run_child

    status = {"ok": False, "version": None, "home": str(paths.lite_home()), "runtime": False, "converter": False,
              "error": None}
    try:
        status["version"] = bridge_version()
        status["runtime"] = True
        status["converter"] = run_child("app.core.doctor:check_converter_in_child", {}, timeout=60)["converter"]
    except (LiteError, ChildError) as exc:
        status["error"] = str(exc)
    status["ok"] = status["runtime"] and status["converter"]
    return status


def check_converter_in_child(_params: dict, _state) -> dict:
    from converters.lite import native

    native.converter()
    return {"converter": True}


def list_cameras(max_index: int = 4) -> list[dict]:
    """Cameras OpenCV can open and read a frame from."""
    import cv2

    if sys.platform.startswith("linux"):
        devices = sorted(glob.glob("/dev/video*"), key=lambda p: int(p[len("/dev/video"):] or 0))
        candidates = [(int(p[len("/dev/video"):]), p) for p in devices if p[len("/dev/video"):].isdigit()]
    else:
        candidates = [(i, str(i)) for i in range(max_index)]
    found = []
    for index, name in candidates:
        cap = cv2.VideoCapture(index)
        try:
            if cap.isOpened():
                ok, frame = cap.read()
                if ok and frame is not None:
                    found.append({"index": index, "device": name, "width": frame.shape[1],
                                  "height": frame.shape[0]})
        finally:
            cap.release()
    return found


def run_doctor() -> dict:
    report = {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "lite_bridge": lite_bridge_status(),
        # MindSpore is never imported here: it cannot share a process with Lite.
        "mindspore": _version("mindspore"),
        "pyside6": _version("PySide6") or _version("PySide6-Essentials"),
        "opencv": _version("opencv-python") or _version("opencv-python-headless"),
        "onnxruntime": _version("onnxruntime"),
        "onnx": _version("onnx"),
        "numpy": _version("numpy"),
    }
    try:
        report["cameras"] = list_cameras()
    except Exception as exc:  # a broken camera stack is a finding, not a crash
        report["cameras"] = []
        report["camera_error"] = str(exc)
    return report

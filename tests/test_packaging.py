"""The PyInstaller package, built and run as booth staff would (opt-in: `pytest -m packaging`).

Builds with `python -m installer.make_package` (what `make package` runs), unpacks the .tar.gz
into a temporary folder and runs the frozen executable from there: --self-test, the GUI offscreen
up to its first live frame, a child-process job, the lean build's MindSpore message and the
desktop-menu installer. EDGE_STUDIO_PACKAGE_FLAVOUR=lean tests the flavour without MindSpore;
EDGE_STUDIO_PACKAGE=path.tar.gz tests an existing archive (of that flavour) instead of building.
"""
from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.packaging
ROOT = Path(__file__).resolve().parents[1]
FLAVOUR = os.environ.get("EDGE_STUDIO_PACKAGE_FLAVOUR", "full")  # what `make package` builds
MINDSPORE_CHECKS = {"train one epoch (MindSpore)", "cloud tier over HTTP (MindSpore)"}


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> dict:
    archive = os.environ.get("EDGE_STUDIO_PACKAGE")
    if not archive:
        subprocess.run([sys.executable, "-m", "installer.make_package", "--flavour", FLAVOUR], cwd=ROOT,
                       check=True, timeout=3000)
        archive = max((ROOT / "dist").glob(f"edge-studio-*-{FLAVOUR}.tar.gz"), key=lambda p: p.stat().st_mtime)
    unpacked = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="tar")
    folder = unpacked / "edge-studio"
    return {"archive": Path(archive), "folder": folder, "exe": folder / "edge-studio"}


def frozen(package: dict, *args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    """Run the unpacked executable with a clean environment: no venv, no project on the path."""
    environment = {"PATH": "/usr/bin:/bin", "HOME": env.pop("HOME", os.environ.get("HOME", "/tmp")),
                   "QT_QPA_PLATFORM": "offscreen", **env}
    return subprocess.run([str(package["exe"]), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=package["folder"].parent, env=environment)


def test_archive_has_the_app_desktop_file_and_icon(package):
    with tarfile.open(package["archive"]) as tar:
        names = set(tar.getnames())
    for name in ("edge-studio/edge-studio", "edge-studio/edge-studio.desktop", "edge-studio/edge-studio.svg",
                 "edge-studio/install.sh", "edge-studio/_internal/lite/libes_lite_runtime.so",
                 "edge-studio/_internal/app/gui/resources/edge-studio.svg"):
        assert name in names, name
    carries_mindspore = "edge-studio/_internal/mindspore/__init__.py" in names
    assert carries_mindspore == (FLAVOUR == "full")


def test_frozen_self_test_passes(package):
    done = frozen(package, "--self-test", timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    summary = json.loads(done.stdout)
    assert summary["ok"] and summary["build"]["frozen"] and summary["build"]["flavour"] == FLAVOUR
    statuses = {check["name"]: check["status"] for check in summary["checks"]}
    assert statuses["deploy every tier"] == "pass"
    assert statuses["live pipeline, synthetic frames"] == "pass"
    absent = {name for name, status in statuses.items() if status == "absent"}
    assert absent == (MINDSPORE_CHECKS if FLAVOUR == "lean" else set())
    targets = summary["checks"][0]["detail"]["targets"]
    assert {"edge-fp32", "device-int8", "device-fp16"} <= set(targets)
    assert ("cloud-fp32" in targets) == (FLAVOUR == "full")


def test_frozen_gui_shows_the_live_view(package, tmp_path):
    shot = tmp_path / "window.png"
    done = frozen(package, "gui", "--first-frame-exit", "--screenshot", str(shot), timeout=300,
                  HOME=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["first_frame_s"] > 0 and report["source"] == "synthetic"
    import cv2

    image = cv2.imread(str(shot))
    assert image is not None and image.shape[0] > 400 and image.shape[1] > 600
    assert float(np.std(image)) > 10, "the screenshot is blank"


def test_frozen_children_report_bad_input_cleanly(package, tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x00not a model")
    done = frozen(package, "convert", str(bad), "--out", str(tmp_path / "out.ms"))
    assert done.returncode == 1
    assert "broken.onnx" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out.ms").exists()


def test_training_works_or_says_what_to_do(package, tmp_path):
    """lean: one line naming the full package, nothing written; full: MindSpore trains in a child."""
    out = tmp_path / "trained"
    done = frozen(package, "train", "--out", str(out), "--epochs", "1", "--json", timeout=900)
    if FLAVOUR == "lean":
        assert done.returncode == 1
        assert "MindSpore" in done.stderr and "full package" in done.stderr and "Traceback" not in done.stderr
        assert not out.exists()
    else:
        assert done.returncode == 0, done.stderr[-3000:]
        assert {"model.onnx", "model.mindir", "metrics.json"} <= {p.name for p in out.iterdir()}


def test_install_sh_adds_a_valid_menu_entry(package, tmp_path):
    done = subprocess.run(["sh", str(package["folder"] / "install.sh")], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, timeout=60)
    assert done.returncode == 0, done.stderr
    entry = tmp_path / ".local/share/applications/edge-studio.desktop"
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(entry)
    desktop = parser["Desktop Entry"]
    assert desktop["Exec"] == f'"{package["exe"]}" gui' and desktop["Icon"] == "edge-studio"
    assert (tmp_path / ".local/share/icons/hicolor/scalable/apps/edge-studio.svg").is_file()

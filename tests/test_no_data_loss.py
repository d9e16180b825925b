"""Nothing lost: every writer, given a folder or file that is already there, refuses or asks — and even
when told to go ahead replaces only what Edge Studio wrote there itself. Settings are written when they
change; a crashed run's temp folders are removed at the next start."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from app.core.files import (
    MANIFEST,
    FolderInUse,
    publish_dir,
    remove_stale_scratch,
    scratch_dir,
)
from app.core.live.capture import write_new
from app.core.measure.report import write_all
from app.core.models.deploy import deploy
from app.core.models.training import TrainConfig, train
from jobs.process import child_env, entry_command
from sample_models import DIGITS_ONNX

ROOT = Path(__file__).resolve().parents[1]
NOTES = "my notes: do not lose me\n"


def _prefilled(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text(NOTES)
    return folder


def _untouched(folder: Path, extra: set[str] = frozenset()) -> None:
    assert (folder / "notes.txt").read_text() == NOTES
    assert {p.name for p in folder.iterdir()} <= {"notes.txt", *extra}


# -- the core rule ---------------------------------------------------------------------------------
def _staged(tmp_path: Path, files: dict[str, str]) -> Path:
    staged = tmp_path / f"staged-{len(list(tmp_path.iterdir()))}"
    for rel, text in files.items():
        (staged / rel).parent.mkdir(parents=True, exist_ok=True)
        (staged / rel).write_text(text)
    return staged


def test_publish_refuses_a_folder_in_use_and_replaces_only_its_own_files(tmp_path):
    target = _prefilled(tmp_path / "out")
    with pytest.raises(FolderInUse, match="not empty"):
        publish_dir(_staged(tmp_path, {"a/model.ms": "v1"}), target)
    _untouched(target)
    publish_dir(_staged(tmp_path, {"a/model.ms": "v1"}), target, force=True)  # told to: adds beside notes
    assert (target / "a" / "model.ms").read_text() == "v1"
    assert json.loads((target / MANIFEST).read_text())["files"] == ["a/model.ms"]
    publish_dir(_staged(tmp_path, {"a/model.ms": "v2"}), target, force=True)  # its own file: replaced
    assert (target / "a" / "model.ms").read_text() == "v2"
    (target / "a" / "mine.ms").write_text("the user's")
    with pytest.raises(FolderInUse, match="mine.ms is there and was not written by Edge Studio"):
        publish_dir(_staged(tmp_path, {"a/model.ms": "v3", "a/mine.ms": "ours"}), target, force=True)
    assert (target / "a" / "mine.ms").read_text() == "the user's"
    assert (target / "a" / "model.ms").read_text() == "v2"  # nothing at all was written
    assert (target / "notes.txt").read_text() == NOTES


# -- every writer ----------------------------------------------------------------------------------
def test_cli_deploy_into_a_folder_in_use_refuses_at_once(tmp_path):
    target = _prefilled(tmp_path / "pkg")
    done = subprocess.run(entry_command() + ["deploy", str(DIGITS_ONNX), "--out", str(target), "--tiers", "edge"],
                          capture_output=True, text=True, timeout=300, env=child_env(), cwd=ROOT,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "not empty" in done.stderr and "--force" in done.stderr
    _untouched(target)


def test_deploy_with_force_writes_beside_the_users_files(tmp_path):
    target = _prefilled(tmp_path / "pkg")
    summary = deploy(DIGITS_ONNX, target, data="digits", tiers=("edge",), force=True, arm64=False)
    assert "edge-fp32" in summary["targets"]
    assert (target / "edge" / "model.ms").is_file() and (target / "notes.txt").read_text() == NOTES
    (target / "edge" / "model.ms").write_bytes(b"")  # now pretend the user made edge/ theirs…
    manifest = json.loads((target / MANIFEST).read_text())
    (target / MANIFEST).write_text(json.dumps({"files": [f for f in manifest["files"] if f != "edge/model.ms"]}))
    with pytest.raises(FolderInUse, match="edge/model.ms is there and was not written by Edge Studio"):
        deploy(DIGITS_ONNX, target, data="digits", tiers=("edge",), force=True, arm64=False)
    assert (target / "edge" / "model.ms").read_bytes() == b""


def test_training_into_a_folder_in_use_refuses_before_it_trains(tmp_path):
    target = _prefilled(tmp_path / "run")
    with pytest.raises(FolderInUse, match="not empty"):
        train(TrainConfig(epochs=1), target)
    _untouched(target)


def test_report_export_never_replaces_a_file_unasked(tmp_path):
    report = tmp_path / "report.html"
    report.write_text("the user's own page")
    beside = tmp_path / "report.csv"
    beside.write_text("the user's own table")
    with pytest.raises(FolderInUse, match="already exists"):
        write_all({}, html_path=str(report))  # refused before the (here empty) result is looked at
    assert report.read_text() == "the user's own page" and beside.read_text() == "the user's own table"
    assert not (tmp_path / "report.json").exists()  # nothing half-written


def test_capture_never_writes_over_an_image(tmp_path):
    folder = tmp_path / "dataset" / "cat"
    folder.mkdir(parents=True)
    for name in ("0000.png", "0002.png", "holiday.png"):  # a gap (0001 deleted) and a user's own file
        (folder / name).write_bytes(name.encode())
    written = [write_new(folder, b"frame") for _ in range(3)]
    assert [p.name for p in written] == ["0003.png", "0004.png", "0005.png"]
    for name in ("0000.png", "0002.png", "holiday.png"):
        assert (folder / name).read_bytes() == name.encode()
    assert not list(folder.glob(".capture-*"))  # no temp files left


def test_package_build_refuses_a_folder_that_is_not_a_build(tmp_path):
    from installer.make_package import check_build_folder

    folder = _prefilled(tmp_path / "dist" / "edge-studio")
    with pytest.raises(SystemExit, match="not an Edge Studio build"):
        check_build_folder(folder)
    _untouched(folder)
    (folder / "_internal").mkdir()
    (folder / "_internal" / "edge_studio_build.json").write_text("{}")
    check_build_folder(folder)  # an earlier build of ours may be replaced


def test_gui_deploy_asks_before_using_a_folder_in_use(qtbot, tmp_path):
    from app.gui.pages.deploy_page import DeployPage
    from app.gui.state import AppState

    package = tmp_path / "built"
    (package / "edge").mkdir(parents=True)
    (package / "edge" / "model.ms").write_bytes(b"ms")
    state = AppState()
    page = DeployPage(state)
    qtbot.addWidget(page)
    state.set_package(package)
    assert not Path(page.destination.text()).exists()  # the default never points at existing files
    target = _prefilled(tmp_path / "dest")
    page.destination.setText(str(target))
    asked = []
    assert page.write(confirm=lambda folder: asked.append(folder) or False) is False  # the user says no
    assert asked == [target]
    _untouched(target)
    assert page.write(confirm=lambda folder: True) is True  # yes: written beside the user's file
    assert (target / "edge" / "model.ms").read_bytes() == b"ms" and (target / "notes.txt").read_text() == NOTES


# -- nothing forgotten -------------------------------------------------------------------------------
def test_settings_are_written_when_they_change(tmp_path):
    from app.gui.settings import Settings

    path = tmp_path / "settings.json"
    Settings(path).set("model_dir", "/somewhere/model")  # no save() call: as if the app crashed now
    assert json.loads(path.read_text())["model_dir"] == "/somewhere/model"
    assert Settings(path).get("model_dir") == "/somewhere/model"


def test_a_remembered_video_file_reopens_without_a_dialog(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from app.gui.pages.live_page import LivePage
    from app.gui.settings import Settings
    from app.gui.state import AppState
    from app.gui.workers import JobRunner

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: pytest.fail("a dialog at start-up"))
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not really a video")
    settings = Settings(tmp_path / "settings.json")
    settings.set("camera", str(video))
    runner = JobRunner()
    page = LivePage(AppState(), runner, settings)
    qtbot.addWidget(page)
    assert page.source.currentData() == str(video) and "clip.mp4" in page.source.currentText()
    video.unlink()
    old = Settings(tmp_path / "old.json")
    old.set("camera", "file")  # what earlier versions remembered: it opened a dialog at every start
    page2 = LivePage(AppState(), runner, old)
    qtbot.addWidget(page2)
    assert old.get("camera") == "synthetic"
    runner.stop_all()


def test_a_crashed_runs_temp_folders_are_removed_at_the_next_start(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"edge-studio-run-{dead.pid}-live-abc"
    stale.mkdir()
    (stale / "model.ms").write_bytes(b"x")
    mine = scratch_dir("live")  # this process is alive: its folder stays
    other = tmp_path / "edge-studio-live-user"  # not named by scratch_dir: never touched
    other.mkdir()
    try:
        assert remove_stale_scratch(tmp_path) == [stale]
        assert not stale.exists() and other.exists()
        assert mine.exists() and remove_stale_scratch(mine.parent).count(mine) == 0
    finally:
        os.rmdir(mine)



def test_a_killed_mindspore_processs_scratch_is_swept_too(tmp_path):
    """A process that imports MindSpore works in a scratch folder it removes at exit; killed (or ended by
    os._exit) it cannot, and that folder is named for remove_stale_scratch like the others."""
    import sys

    code = ("import os\nfrom app.core.files import enter_mindspore_scratch\n"
            "print(enter_mindspore_scratch(), flush=True)\nos._exit(0)  # as if killed: no atexit\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**child_env(), "TMPDIR": str(tmp_path)}, cwd=tmp_path)
    left = Path(done.stdout.strip())
    assert done.returncode == 0 and left.is_dir() and left.parent == tmp_path, done.stderr
    assert remove_stale_scratch(tmp_path) == [left] and not left.exists()

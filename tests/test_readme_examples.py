"""Every `edge-studio …` line of the README's `sh` blocks runs as printed, on the bundled sample.

Each line is one test, run in README order in one work folder of this session (a folder holding a link to
sample_models/, so the README's relative paths work and every output lands in the work folder). A line
that reads what an earlier line wrote runs the earlier lines of its block first (once per session), so
`-m long` alone still works. The slow lines are marked long; the quick ones (doctor, import, probe,
convert, eval, live, bench) run by default.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from busy import scaled

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# Lines that need hardware this machine may not have, never run here (each says why):
NEEDS_HARDWARE = {
    "bench --remote",  # a real ARM64 board reachable over SSH (tests/test_device_arm64.py runs it on loopback sshd)
}
# Lines that run until stopped: a line passes when the program is still up after STAYS_UP_S (scaled by the
# load) with no error, and then stops cleanly on SIGTERM (what Ctrl+C or closing the window does).
RUN_UNTIL_STOPPED = {"serve": 20.0, "booth": 30.0}
# Slow lines (> ~20 s on a busy 2-core machine): `-m long`.
LONG = {"train", "deploy", "verify-device", "compare", "quant-debug", "serve", "self-test", "gui", "booth",
        "--calib-method KL", "digits_int8_kl.ms"}
TIMEOUT_S = 900.0


def readme_lines(text: str) -> list[tuple[int, str]]:
    """(block number, command line) for each `edge-studio` line of each ```sh block, comments cut off."""
    found = []
    for block, body in enumerate(re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)):
        for line in body.splitlines():
            command = line.split(" #", 1)[0].strip()
            if command.startswith("edge-studio "):
                found.append((block, command))
    return found


def _matches(command: str, keys) -> bool:
    """A key is a sub-command (one word: "deploy") or a phrase found anywhere in the line ("--calib-method KL")."""
    sub = command.split()[1]
    return any(k in command if (" " in k or k.startswith("-") or "." in k) else k == sub for k in keys)


LINES = readme_lines(README.read_text(encoding="utf-8"))


def _param(index: int, block: int, command: str):
    marks = [pytest.mark.long] if _matches(command, LONG) else []
    if _matches(command, NEEDS_HARDWARE):
        marks.append(pytest.mark.skip(reason="needs hardware (see NEEDS_HARDWARE)"))
    return pytest.param(index, id=f"{index:02d}-{' '.join(command.split()[1:3])}", marks=marks)


class Workspace:
    """The session's work folder and which README lines ran there (and how)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "sample_models").symlink_to(ROOT / "sample_models")
        self.results: dict[int, subprocess.CompletedProcess | str] = {}

    def env(self) -> dict:
        bin_dir = str(Path(sys.executable).parent)  # the edge-studio command of this environment
        return {**os.environ, "PYTHONPATH": str(ROOT), "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
                "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}

    def run(self, index: int):
        if index in self.results:
            return self.results[index]
        block, command = LINES[index]
        for earlier, (other_block, other) in enumerate(LINES[:index]):  # what this line may read
            if other_block == block and not _matches(other, NEEDS_HARDWARE):
                self.run(earlier)
        args = shlex.split(command)
        stays = RUN_UNTIL_STOPPED.get(args[1])
        self.results[index] = self._until_stopped(args, stays) if stays else subprocess.run(
            args, cwd=self.folder, env=self.env(), capture_output=True, text=True, timeout=scaled(TIMEOUT_S))
        return self.results[index]

    def _until_stopped(self, args: list[str], stays_s: float) -> subprocess.CompletedProcess:
        proc = subprocess.Popen(args, cwd=self.folder, env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=scaled(stays_s))
            return subprocess.CompletedProcess(args, proc.returncode, out, f"ended on its own: {err}")
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            try:
                out, err = proc.communicate(timeout=scaled(60))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
                return subprocess.CompletedProcess(args, -9, out, f"did not stop on SIGTERM: {err}")
            # up until stopped, then a clean stop (0, or the SIGTERM exit a server reports)
            return subprocess.CompletedProcess(args, 0 if proc.returncode in (0, -signal.SIGTERM, 143) else
                                               proc.returncode, out, err)


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("readme"))


def test_the_readme_has_runnable_examples_of_every_basic_command():
    commands = {command.split()[1] for _, command in LINES}
    assert {"doctor", "import", "probe", "convert", "eval", "live", "train", "deploy"} <= commands, commands
    assert any("--calib mnist-5k" in command for _, command in LINES)  # the sample's own data: real handwriting
    assert not [c for _, c in LINES if re.search(r"\b(m\.onnx|DIR|PKG|FILE|MODEL)\b|[\[\]|]", c)], \
        "README sh lines must run as printed: no placeholders or option synopses (those go in a text block)"


@pytest.mark.parametrize("index", [_param(i, b, c) for i, (b, c) in enumerate(LINES)])
def test_readme_line_runs(workspace, index):
    done = workspace.run(index)
    command = LINES[index][1]
    assert done.returncode == 0, f"{command}\nexit {done.returncode}\n{done.stderr[-3000:]}\n{done.stdout[-2000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert not (ROOT / "sample_models" / "digits" / "model.ms").exists()  # nothing written into the sample

"""The bad-input corpus (tests/corpus/make_corpus.py) through every stage that applies to each case:
import (model card), convert, eval, live, deploy, and the GUI's import action.

Every bad case must end in a clear error that names the file (no Python traceback, a non-zero exit
code from the CLI), the calling process must survive, and no partial output may be left behind: the
output folder, the input's own folder and a private TMPDIR look the same before and after. Cases that
are awkward but valid (`ok_in`) must simply work there.

By default: the Python API (make_card, convert) and the command line (`app.cli.main`, in this
process) for every case and stage, the real `edge-studio` process and the GUI for a representative
subset. `-m long` adds the real process and the GUI for every case.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from corpus.make_corpus import DIGITS, EVAL_DATA, Case, make_corpus, specs

SPECS = {s.name: s for s in specs()}
# One of each kind of damage: these also go through the GUI by default.
REPRESENTATIVE = {"zero.onnx", "truncated.onnx", "tflite-named.onnx", "string-op.onnx", "random.ms",
                  "folder.onnx", "onnx-named.tflite", "model.txt", "det-op.onnx", "lite-crasher.onnx"}
# What only a real process shows (a crash, stdout's encoding, the default output next to the input),
# once per stage by default; -m long runs every case and stage as a process.
PROCESS = {("lite-crasher.onnx", "convert"), ("nonutf8-valid.onnx", "convert"), ("name-255-valid.onnx", "convert"),
           ("nonutf8-garbage.onnx", "import"), ("truncated.onnx", "live"), ("random.ms", "live"),
           ("string-op.onnx", "eval"), ("data-nonutf8-name", "eval"), ("calib-nan-npy", "deploy"),
           ("det-op.onnx", "deploy")}
CLI_STAGES = ("import", "convert", "eval", "live", "deploy")


# Defects the corpus found in files this suite's fixes could not touch: (case, stage) → the fix needed.
KNOWN_GAPS: dict[tuple[str, str], str] = {}  # (case, stage) → why it still fails: strict xfail


def _params(stages: tuple[str, ...], default=lambda name, stage: True):
    """(case, stage) pairs; those `default` leaves out are marked long, known gaps xfail (strict)."""
    out = []
    for spec in SPECS.values():
        for stage in spec.stages:
            if stage in stages:
                marks = [] if default(spec.name, stage) else [pytest.mark.long]
                if (spec.name, stage) in KNOWN_GAPS:
                    marks.append(pytest.mark.xfail(reason=KNOWN_GAPS[spec.name, stage], strict=True))
                out.append(pytest.param(spec.name, stage, id=f"{spec.name}-{stage}", marks=marks))
    return out


class Corpus(dict):
    """name → Case, and the folder the corpus was generated in."""

    def __init__(self, root: Path) -> None:
        super().__init__((case.name, case) for case in make_corpus(root))
        self.root = root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return Corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """A TMPDIR of this test's own (children inherit it), to see that nothing is left in it."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# onnxruntime keeps a session id in $TMPDIR/.ses (a timestamp and a UUID), made on its first session.
NOT_OURS = {".ses"}


def _listing(*folders: Path) -> dict[str, list[str]]:
    """What is in each folder (recursively below the test's own folders, one level for inputs)."""
    seen = {}
    for folder in folders:
        if folder.is_dir():
            found = folder.rglob("*") if folder.name in ("out", "tmpdir") else folder.iterdir()
            seen[str(folder)] = sorted(str(p.relative_to(folder)) for p in found if p.name not in NOT_OURS)
    return seen


def _watched(case: Case, out: Path, tmpdir: Path) -> tuple[Path, ...]:
    return out, tmpdir, case.path.parent


def _assert_names_the_problem(case: Case, text: str) -> None:
    """The text names the input (file or folder) and says more than its name, with no traceback."""
    assert "Traceback" not in text, text
    for name in case.names:
        assert name in text, f"the message does not name {name!r}:\n{text}"
    rest = text.replace(str(case.path), " ")
    for name in case.names:
        rest = rest.replace(name, " ")
    assert len(re.findall(r"[A-Za-z]{2,}", rest)) >= 2, f"the message does not say what is wrong:\n{text}"


# -- the Python API (what the GUI calls) --------------------------------------------------------
@pytest.mark.parametrize("name, stage", _params(("import", "convert")))
def test_api(corpus, name, stage, tmp_path, private_tmp):
    from app.core.models.card import ModelCardError, make_card
    from converters.lite import LiteError, QuantConfig, convert

    case, out = corpus[name], tmp_path / "out"
    out.mkdir()
    before = _listing(*_watched(case, out, private_tmp))
    error, card = None, None
    try:
        if stage == "import":
            card = make_card(case.path, timeout=120)
        elif case.kind == "calibration":
            convert(DIGITS / "model.onnx", out / "model_int8.ms", input_format="NCHW",
                    quant=QuantConfig(case.path), timeout=120)
        else:
            convert(case.path, out / "model.ms", timeout=120)
    except (LiteError, ModelCardError) as exc:  # the two documented error types; anything else fails here
        error = str(exc)
    if case.accepted_in(stage):
        assert error is None and (card is None or card.lite_converts), error or card.lite_error
        if stage == "convert":
            produced = next(out.iterdir())
            assert produced.suffix == ".ms" and produced.stat().st_size > 0
        return
    if card is not None:  # a file with a known suffix gets a card however broken it is: it says no, and why
        assert not card.lite_converts
        error = card.to_markdown()
        assert card.lite_error or card.reader_error
    assert error is not None, f"{name} was accepted by {stage}"
    _assert_names_the_problem(case, error)
    assert _listing(*_watched(case, out, private_tmp)) == before, "partial output left behind"


# -- the command line, in this process -----------------------------------------------------------
def _argv(corpus: Corpus, case: Case, stage: str, out: Path) -> list[str]:
    """The command a user would type for this case and stage: a bad model with good data, or the
    digits sample with bad data or bad calibration."""
    data = str(case.path) if case.kind == "dataset" else str(corpus.root / EVAL_DATA)
    model = str(case.path) if case.kind == "model" else str(DIGITS / "model.onnx")
    calib = ["--calib", str(case.path)] if case.kind == "calibration" else []
    return {
        "import": ["import", model, "--json"],
        "convert": ["convert", model, "--out", str(out / "model.ms"), "--input-format", "NCHW",
                    *(["--int8", *calib] if calib else [])],
        "eval": ["eval", model, "--data", data],
        "live": ["live", "--model", model, "--source", "synthetic", "--frames", "3", "--source-fps", "0",
                 "--json", "--snapshot", str(out / "snapshot.png")],
        "deploy": ["deploy", model, "--out", str(out / "pkg"), "--data", data, "--json",
                   "--tiers", "device" if calib else "edge", *calib],
    }[stage]


def _check_cli(case: Case, stage: str, rc: int, out: str, err: str) -> None:
    text = out + err
    if case.accepted_in(stage):
        assert rc == 0 and "Traceback" not in text, text
        return
    assert rc != 0, f"edge-studio {stage} accepted {case.name}:\n{text[-2000:]}"
    _assert_names_the_problem(case, text)
    if stage == "import" and out.lstrip().startswith("{"):  # a card of a file Lite does not take: why not
        card = json.loads(out)
        assert card["lite_converts"] is False and (card["lite_error"] or card["reader_error"])


@pytest.mark.parametrize("name, stage", _params(CLI_STAGES))
def test_cli(corpus, name, stage, tmp_path, private_tmp, capfd):
    from app.cli import main

    case, out = corpus[name], tmp_path / "out"
    out.mkdir()
    before = _listing(*_watched(case, out, private_tmp))
    try:
        rc = main(_argv(corpus, case, stage, out))
    except BaseException as exc:  # a CLI user would see a traceback (or an argparse exit)
        pytest.fail(f"edge-studio {stage} let {type(exc).__name__} escape on {name}: {exc}")
    captured = capfd.readouterr()
    _check_cli(case, stage, rc, captured.out, captured.err)
    if not case.accepted_in(stage):
        assert _listing(*_watched(case, out, private_tmp)) == before, "partial output left behind"


# -- the real `edge-studio` process ----------------------------------------------------------------
@pytest.mark.parametrize("name, stage", _params(CLI_STAGES, default=lambda name, stage: (name, stage) in PROCESS))
def test_process(corpus, name, stage, tmp_path, private_tmp):
    """As a user runs it, with a strict UTF-8 stdout (an en_US.UTF-8 desktop); convert writes next to
    its input (the default), so the input's folder must be unchanged after a failure."""
    case, out = corpus[name], tmp_path / "out"
    out.mkdir()
    argv = _argv(corpus, case, stage, out)
    if stage == "convert" and case.kind == "model":
        argv = ["convert", str(case.path), "--input-format", "NCHW"]
    before = _listing(*_watched(case, out, private_tmp))
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", TMPDIR=str(private_tmp))
    done = subprocess.run([sys.executable, "-m", "app", *argv], capture_output=True, env=env, timeout=300,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode >= 0, f"edge-studio {stage} died of signal {-done.returncode} on {name}"
    _check_cli(case, stage, done.returncode, done.stdout.decode("utf-8", "surrogateescape"),
               done.stderr.decode("utf-8", "surrogateescape"))
    if case.accepted_in(stage) and stage == "convert" and case.kind == "model":
        made = case.path.with_suffix(".ms")
        assert made.stat().st_size > 0
        made.unlink()
    if not case.accepted_in(stage):
        assert _listing(*_watched(case, out, private_tmp)) == before, "partial output left behind"


# -- the GUI: the Model page's import action -------------------------------------------------------
@pytest.fixture
def runner(qtbot):
    """The page's job runner, alive until Qt has delivered its last events (as in the app)."""
    from app.gui.workers import JobRunner

    runner = JobRunner()
    yield runner
    runner.stop_all()


def answer_import_dialogs():
    """A person at the import: the description dialog is accepted as proposed (Cancel when OK is not
    possible), "Make it active?" answered No. Polls for modal dialogs (exec() blocks the click) until stopped."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel, QMessageBox

    def answer() -> None:
        for dialog in QApplication.topLevelWidgets():
            if not dialog.isVisible() or not dialog.isModal():
                continue
            if isinstance(dialog, QMessageBox):
                if (no := dialog.button(QMessageBox.StandardButton.No)) is not None:
                    no.click()
            elif (box := dialog.findChild(QDialogButtonBox)) is not None:
                ok = box.button(QDialogButtonBox.StandardButton.Ok)
                if ok is not None and ok.isEnabled() and id(dialog) not in timer.tried:
                    timer.tried.add(id(dialog))  # still open next time: OK was refused, its reason shown
                    ok.click()
                else:  # what the dialog says stops it (a shape to fill, a refused kind): the message the person read
                    timer.said.append("\n".join(label.text() for label in dialog.findChildren(QLabel) if label.text()))
                    box.button(QDialogButtonBox.StandardButton.Cancel).click()

    timer = QTimer()
    timer.said, timer.tried = [], set()
    timer.timeout.connect(answer)
    timer.start(50)
    return timer


@pytest.mark.parametrize("name, stage", _params(("gui",), default=lambda name, stage: name in REPRESENTATIVE))
def test_gui_import(corpus, name, stage, qtbot, runner, tmp_path, private_tmp, monkeypatch):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from app.gui.pages.model_page import ModelPage
    from app.gui.state import AppState

    case = corpus[name]
    page = ModelPage(AppState(), runner)
    qtbot.addWidget(page)
    page.show()
    chosen = [str(case.path)]
    # The file dialog is modal: answer it; everything after the choice is the page's own logic.
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (chosen[0], "")))

    def import_and_wait() -> str:
        answered = answer_import_dialogs()
        qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
        answered.stop()
        qtbot.waitUntil(lambda: not runner.busy() and not page.card_view.toPlainText().startswith("Reading"),
                        timeout=120_000)
        dialogs = [d for d in page.findChildren(QMessageBox) if d.objectName() == "errorDialog" and d.isVisible()]
        shown = "\n".join([f"{d.text()}\n{d.informativeText()}" for d in dialogs] + answered.said)
        for d in dialogs:
            d.close()
        return shown

    dialog = import_and_wait()
    card = page.card_view.toPlainText()
    if case.accepted_in(stage):
        assert not dialog and re.search(r"Lite converts\s*\|?\s*yes", card), card
    else:
        shown = dialog or card  # a dialog (not a model file at all) or a card that says no and why
        _assert_names_the_problem(case, shown)
        if not dialog:
            assert re.search(r"Lite converts\s*\|?\s*no", card) and re.search(r"Lite error|Could not read", card)
    # Still alive and usable: the same button imports again and reports again.
    chosen[0] = str(tmp_path / "absent.onnx")
    assert page.import_button.isEnabled() and page.isVisible()
    again = import_and_wait()
    assert "absent.onnx" in again and "no such file" in again
    assert not [p for p in private_tmp.iterdir() if p.name not in NOT_OURS], "the import left temporary files behind"

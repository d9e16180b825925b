import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GLOG_v", "3")
# The app runs its background work (children, the live pipeline's threads) at nice 10 so that its own GUI
# stays smooth. In the suite that work *is* the test, and at nice 10 beside a machine's other work at nice 0
# it got a ninth of their CPU share: at load 10 the suite crawled. The suite runs it at normal priority (clean
# clones, 7 December: quiet 897 s against 999 s at nice 10; in the Lite pool it reuses, 1.5 ms a predict
# against 43 ms beside a hog, docs/lite-2.0-notes.md). tests/test_priority.py checks lower_priority itself.
os.environ.setdefault("EDGE_STUDIO_CHILD_NICE", "0")
sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config):
    import progress

    progress.register(config)  # "[progress] 212/736 tests · 4:31 elapsed · …" every 30 s


@pytest.fixture(scope="session", autouse=True)
def private_user_folders(tmp_path_factory):
    """The app's settings and data (model library, trained models, packages) go to a folder of this run,
    never to the developer's own: a test that trains or imports must not add to the user's model list."""
    home = tmp_path_factory.mktemp("user")
    saved = {name: os.environ.get(name) for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME")}
    os.environ["XDG_DATA_HOME"], os.environ["XDG_CONFIG_HOME"] = str(home / "data"), str(home / "config")
    yield home
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def qt_waits_scale_with_load(monkeypatch):
    """Every qtbot.waitUntil(…, timeout=ms) waits up to ms × the load per core (tests/busy.py): a timeout
    sized on a quiet machine, kept on a busy one. It still fails when the condition never comes."""
    try:
        from pytestqt.qtbot import QtBot
    except ImportError:
        return
    import busy

    wait_until = QtBot.waitUntil

    def scaled_wait_until(self, callback, *, timeout: int = 5000):
        return wait_until(self, callback, timeout=busy.scaled_ms(timeout))

    monkeypatch.setattr(QtBot, "waitUntil", scaled_wait_until)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def ort_run(onnx_path, *inputs):
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, inputs)))


@pytest.fixture(scope="module")
def digits_ms(tmp_path_factory) -> Path:
    """The digits sample as a Lite FP32 .ms (NCHW), with its preprocess.json and labels.json."""
    from converters.lite import convert

    digits = Path(__file__).resolve().parents[1] / "sample_models" / "digits"
    folder = tmp_path_factory.mktemp("digits")
    out = convert(digits / "model.onnx", folder / "model.ms", input_format="NCHW").path
    for name in ("preprocess.json", "labels.json"):
        (folder / name).write_bytes((digits / name).read_bytes())
    return out


def pytest_collection_finish(session):
    """MindSpore and Lite cannot share a process, and this one runs Lite: a test module that imports
    MindSpore (or mindcv, which does) at collection would break every later in-process Lite test."""
    if "mindspore" in sys.modules:
        raise pytest.UsageError("a test module imported mindspore while being collected: import it in a "
                                "child process (jobs.child.run_child) instead")

"""The cloud tier: a real `edge-studio serve` (full MindSpore) on 127.0.0.1, real HTTP, bounded requests."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from loopback_sshd import refusing_port

from app.core.cloud.client import CloudError, CloudRuntime
from app.core.cloud.server import ServeError, start_server_process
from app.core.models.evaluate import validation_inputs
from app.core.preprocess import PreprocessSpec
from app.core.runtimes import OnnxRuntime
from jobs.process import child_env, entry_command

DIGITS = Path(__file__).resolve().parents[1] / "sample_models" / "digits"


@pytest.fixture(scope="module")
def server():
    handle = start_server_process(DIGITS, max_body_mb=1.0)  # a random token by default
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def cloud(server):
    with CloudRuntime(server.url, server.token) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def samples():
    x, y = validation_inputs("digits", PreprocessSpec.load(DIGITS / "preprocess.json"))
    return x[:8], y[:8]


def _post(server, path: str, content: bytes, content_type: str, **headers) -> httpx.Response:
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {server.token}", **headers}
    return httpx.post(server.url + path, content=content, headers=headers, timeout=30, trust_env=False)


def _assert_clean_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"} and response.json()["error"]
    assert "Traceback" not in response.text and "File \"" not in response.text


def test_binds_loopback_and_reports_health(server, cloud):
    assert server.url.startswith("http://127.0.0.1:")
    health = cloud.health()
    assert health["model"] == "digits/model.mindir" and health["runtime"] == "mindspore"
    assert health["input_shape"] == [1, 1, 28, 28] and health["mindspore"].startswith("2.")
    assert health["max_body_bytes"] == 2**20 and health["peak_rss_mb"] > 0
    assert cloud.input_shape == (1, 1, 28, 28)


def test_predict_matches_onnxruntime(cloud, samples):
    x, y = samples
    reference = OnnxRuntime(DIGITS / "model.onnx", threads=1)
    for i in range(len(x)):
        out = cloud.predict(x[i:i + 1])
        assert len(out) == 1 and out[0].shape == (1, 10) and out[0].dtype == np.float32
        expected = reference.predict(x[i:i + 1])[0]
        assert out[0].argmax() == expected.argmax()
        np.testing.assert_allclose(out[0], expected, atol=1e-4)
        assert cloud.last_round_trip_ms > 0 and 0 < cloud.last_server_ms
    assert cloud.describe()["emulated_wan_delay_ms"] == 0.0


def test_json_and_image_payloads_agree_with_raw(server, cloud, samples):
    x = samples[0][:1]
    raw = cloud.predict(x)[0]
    payload = {"shape": list(x.shape), "data": base64.b64encode(x.tobytes()).decode()}
    answer = _post(server, "/predict", json.dumps(payload).encode(), "application/json").json()
    via_json = np.frombuffer(base64.b64decode(answer["outputs"][0]["data"]), np.float32).reshape(1, 10)
    np.testing.assert_array_equal(via_json, raw)
    assert answer["server_ms"] > 0
    image = np.random.default_rng(0).integers(0, 256, (40, 36), dtype=np.uint8)  # resized by preprocess.json
    png = cv2.imencode(".png", image)[1].tobytes()
    expected = cloud.predict(PreprocessSpec.load(DIGITS / "preprocess.json").apply(image))[0]
    np.testing.assert_allclose(cloud.predict_image(png)[0], expected, atol=1e-5)


@pytest.mark.parametrize("path, content, content_type, headers, status", [
    ("/predict", b"{not json", "application/json", {}, 400),
    ("/predict", b'{"shape": [1, 1, 28, 28]}', "application/json", {}, 422),
    ("/predict", b'{"shape": [1, 1, 28, 28], "data": "***"}', "application/json", {}, 422),
    ("/predict", b'{"shape": "big", "data": ""}', "application/json", {}, 422),
    ("/predict", b"[1, 2, 3]", "application/json", {}, 422),
    ("/predict", np.zeros((1, 1, 28, 27), np.float32).tobytes(), "application/octet-stream", {}, 422),
    ("/predict", np.zeros((1, 1, 28, 27), np.float32).tobytes(), "application/octet-stream",
     {"X-Shape": "1,1,28,27"}, 422),
    ("/predict", b"", "application/octet-stream", {"X-Shape": "one,two"}, 400),
    ("/predict", np.full((1, 1, 28, 28), np.nan, np.float32).tobytes(), "application/octet-stream", {}, 422),
    ("/predict", b"x=1", "application/x-www-form-urlencoded", {}, 415),
    ("/predict/image", b"\x89PNG\r\n\x1a\n but not really", "image/png", {}, 400),
    ("/predict/image", b"", "image/jpeg", {}, 400),
    ("/predict/image", b"abc", "text/plain", {}, 415),
])
def test_bad_payloads_get_a_short_4xx(server, path, content, content_type, headers, status):
    _assert_clean_error(_post(server, path, content, content_type, **headers), status)


def test_json_error_for_unknown_paths_and_methods(server):
    auth = {"Authorization": f"Bearer {server.token}"}
    _assert_clean_error(httpx.get(server.url + "/nope", headers=auth, trust_env=False), 404)
    _assert_clean_error(httpx.get(server.url + "/predict", headers=auth, trust_env=False), 405)


def test_oversize_bodies_get_413(server):
    too_big = b"\0" * (2**20 + 4)
    _assert_clean_error(_post(server, "/predict", too_big, "application/octet-stream"), 413)

    def chunks():  # no Content-Length: counted while it streams in
        for _ in range(5):
            yield b"\0" * 300_000

    _assert_clean_error(_post(server, "/predict", chunks(), "application/octet-stream"), 413)


def test_token_is_enforced(server, samples):
    assert server.token
    body = samples[0][:1].tobytes()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": server.token}):
        response = httpx.post(server.url + "/predict", content=body, trust_env=False,
                              headers={"Content-Type": "application/octet-stream", **headers})
        _assert_clean_error(response, 401)
    with pytest.raises(CloudError, match="401"):
        CloudRuntime(server.url, token="wrong")


def test_non_loopback_bind_without_token_is_refused(tmp_path):
    with pytest.raises(ServeError, match="refusing to bind 0.0.0.0 without a token"):
        start_server_process(DIGITS, host="0.0.0.0", token=None)
    done = subprocess.run(entry_command() + ["serve", "--model", str(DIGITS), "--host", "0.0.0.0", "--port", "0"],
                          capture_output=True, text=True, timeout=120, env=child_env(), stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    assert "refusing to bind 0.0.0.0 without a token" in done.stderr and "Traceback" not in done.stderr


def test_bad_model_folder_is_refused(tmp_path):
    with pytest.raises(ServeError, match="no model.mindir"):
        start_server_process(tmp_path)


def test_server_down_gives_a_clear_error():
    with refusing_port() as port:  # held (bound, not listening) so that no other test's server takes it
        with pytest.raises(CloudError, match="not reachable.*edge-studio serve"):
            CloudRuntime(f"http://127.0.0.1:{port}")


def test_stopped_server_and_emulated_delay():
    handle = start_server_process(DIGITS, token=None)
    runtime = CloudRuntime(handle.url, wan_delay_ms=30.0)
    x = np.zeros((1, 1, 28, 28), np.float32)
    runtime.predict(x)
    assert runtime.last_round_trip_ms >= 30.0  # the emulated delay is part of every round trip
    assert runtime.describe()["emulated_wan_delay_ms"] == 30.0
    handle.stop()
    assert handle.process.poll() is not None
    with pytest.raises(CloudError, match="not reachable"):
        runtime.predict(x)
    runtime.close()


def test_this_process_never_imported_mindspore():
    assert "mindspore" not in sys.modules

"""The cloud tier on Ray Serve: a real private Ray node on 127.0.0.1, 2 MindSpore replicas, the digits
cloud package built by `edge-studio deploy --tiers cloud`, compared bit for bit with the single-process
server on the same package. A replica is SIGKILLed mid-load and no request may be lost.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest

from app.core.cloud.client import CloudRuntime
from app.core.cloud.server import start_server_process
from app.core.measure.scale import autoscale_ramp, load, scale_curve
from app.core.models.evaluate import validation_inputs
from app.core.preprocess import PreprocessSpec
from jobs import process
from jobs.process import child_env, entry_command

DIGITS = Path(__file__).resolve().parents[1] / "sample_models" / "digits"
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}


@pytest.fixture(scope="module")
def cloud_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ray") / "pkg"
    done = subprocess.run(entry_command() + ["deploy", str(DIGITS / "model.onnx"), "--out", str(out), "--tiers", "cloud"],
                          capture_output=True, text=True, timeout=600, env=child_env(), stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "cloud" / "model.mindir").is_file()
    return out / "cloud"


@pytest.fixture(scope="module")
def samples() -> np.ndarray:
    x, _ = validation_inputs("digits", PreprocessSpec.load(DIGITS / "preprocess.json"))
    return np.ascontiguousarray(x[:16])


@pytest.fixture(scope="module")
def single(cloud_dir):
    with start_server_process(cloud_dir, max_body_mb=1.0) as handle:
        yield handle


@pytest.fixture(scope="module")
def expected(single, samples) -> list[np.ndarray]:
    """The single-process server's answers: the Ray engine must give the very same bits."""
    with CloudRuntime(single.url, single.token) as runtime:
        return [runtime.predict(samples[i:i + 1])[0] for i in range(len(samples))]


@pytest.fixture(scope="module")
def ray_server(cloud_dir):
    handle = start_server_process(cloud_dir, max_body_mb=1.0, engine="ray", engine_args=("--replicas", "2"))
    yield handle
    handle.stop()


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _health(server) -> dict:
    with CloudRuntime(server.url, server.token) as runtime:
        return runtime.health()


def test_health_says_where_it_runs(ray_server):
    health = _health(ray_server)
    assert health["engine"] == "ray" and health["runtime"] == "mindspore"
    assert health["model"] == "cloud/model.mindir" and health["input_shape"] == [1, 1, 28, 28]
    ray = health["ray"]
    assert "local single-node Ray on 127.0.0.1" in ray["where"] and ray["address"] == "local"
    assert ray["scaling"] == {"mode": "fixed", "replicas": 2} and ray["replicas_running"] == 2
    assert [n["ip"] for n in ray["nodes"]] == ["127.0.0.1"]
    # the replicas share this machine's cores instead of each starting a pool as large as the machine
    from app.core.models.mindspore_cpu import usable_cores

    assert ray["threads_per_replica"] == health["threads"] == max(1, usable_cores() // 2)
    assert ray["batching"]["max_batch"] >= 1 and ray["startup_s"]["ray_init"] > 0


def test_every_ray_port_listens_on_loopback(ray_server):
    listening = {}
    for proc in _tree(ray_server.pid):
        try:
            for conn in proc.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    listening[f"{proc.name()}:{conn.laddr.port}"] = conn.laddr.ip
        except psutil.NoSuchProcess:
            continue
    assert len(listening) >= 5  # the front, GCS, raylet, agents, replicas: all of them checked
    assert set(listening.values()) <= LOOPBACK, {k: v for k, v in listening.items() if v not in LOOPBACK}
    names = " ".join(p.name() for p in _tree(ray_server.pid))
    assert names.count("ServeReplica") == 2 and "ProxyActor" not in names  # no Serve HTTP proxy beside ours


@pytest.mark.parametrize("method, path", [("GET", "/health"), ("POST", "/predict"), ("POST", "/predict/image")])
def test_token_holds_on_every_route(ray_server, method, path):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": ray_server.token}):
        response = httpx.request(method, ray_server.url + path, headers=headers, trust_env=False, timeout=30)
        assert response.status_code == 401 and set(response.json()) == {"error"}


@pytest.mark.parametrize("path", ["/-/routes", "/-/healthz", "/api/serve/applications/"])
def test_no_ray_serve_route_answers(ray_server, path):
    """Serve's proxy routes (which take no token) do not exist: our app is the only door."""
    response = httpx.get(ray_server.url + path, trust_env=False, timeout=30)
    assert response.status_code == 404 and set(response.json()) == {"error"}


# (method, path, content type, body, extra headers): each must get the single-process server's answer
BAD = [
    ("POST", "/predict", "application/json", b"{not json", {}),
    ("POST", "/predict", "application/json", b'{"shape": [1, 1, 28, 28]}', {}),
    ("POST", "/predict", "application/json", b'{"shape": [true, 1, 28, 28], "data": ""}', {}),
    ("POST", "/predict", "application/octet-stream", np.zeros(783, np.float32).tobytes(), {}),
    ("POST", "/predict", "application/octet-stream", np.full(784, np.nan, np.float32).tobytes(), {}),
    ("POST", "/predict", "application/octet-stream", b"", {"X-Shape": "one,two"}),
    ("POST", "/predict", "application/octet-stream", b"\0" * (2**20 + 4), {}),
    ("POST", "/predict", "text/plain", b"x", {}),
    ("POST", "/predict/image", "image/png", b"\x89PNG\r\n\x1a\n but not really", {}),
    ("GET", "/predict", "", b"", {}),
]


def test_same_wire_rules_as_the_single_process_server(ray_server, single):
    for method, path, kind, body, extra in BAD:
        answers = []
        for server in (single, ray_server):
            headers = {"Authorization": f"Bearer {server.token}", **extra} | ({"Content-Type": kind} if kind else {})
            response = httpx.request(method, server.url + path, content=body, headers=headers, trust_env=False,
                                     timeout=30)
            answers.append((response.status_code, response.json()))
        assert answers[0] == answers[1] and 400 <= answers[0][0] < 500, (path, kind, answers)


def _kill_one_replica(server, after: int, killed: list[int]) -> callable:
    """A `during` hook for load(): SIGKILL one replica that has already answered, once `after` requests are done."""
    def during(done: int) -> None:
        if killed or done < after:
            return
        replicas = _health(server)["ray"]["replicas"]
        busy = [info["pid"] for info in replicas.values() if info["requests"] > 0 and psutil.pid_exists(info["pid"])]
        os.kill(busy[0], signal.SIGKILL)
        killed.append(busy[0])
    return during


def _load_with_a_kill(server, samples, expected, requests: int, tmp_path: Path) -> dict:
    killed: list[int] = []
    report = load(server.url, server.token, samples, requests, 8, expected=expected,
                  during=_kill_one_replica(server, requests // 4, killed))
    health = _health(server)
    report |= {"killed_replica_pid": killed, "retries": health["ray"]["retries"],
               "engine_errors": health["ray"]["errors"], "replicas_seen": health["ray"]["replicas"]}
    (tmp_path / "ray_load.json").write_text(json.dumps(report, indent=2))
    print(f"\nray load, 2 replicas, one killed: {json.dumps(report)}")
    assert len(killed) == 1
    assert report["errors"] == 0 and report["mismatches"] == 0 and report["answered"] == requests, report
    assert sum(report["per_replica"].values()) == requests and len(report["per_replica"]) >= 2
    return report


def test_load_8_clients_survives_a_killed_replica(ray_server, samples, expected, tmp_path):
    report = _load_with_a_kill(ray_server, samples, expected, 200, tmp_path)
    deadline = time.monotonic() + 300  # Serve starts a replacement for the dead replica (slow on busy cores)
    while time.monotonic() < deadline and _health(ray_server)["ray"]["replicas_running"] != 2:
        time.sleep(1)
    assert _health(ray_server)["ray"]["replicas_running"] == 2
    assert report["killed_replica_pid"][0] not in [p.pid for p in _tree(ray_server.pid)]
    ray = _health(ray_server)["ray"]  # the dead replica is no longer listed as one that serves
    assert report["killed_replica_pid"][0] not in [r["pid"] for r in ray["replicas"].values()]
    assert len(ray["replicas_gone"]) == 1 and all(psutil.pid_exists(r["pid"]) for r in ray["replicas"].values())


@pytest.mark.long
def test_load_1000_requests_8_clients_with_a_killed_replica_long(ray_server, samples, expected, tmp_path):
    _load_with_a_kill(ray_server, samples, expected, 1000, tmp_path)


@pytest.mark.long
def test_scale_curve_long(cloud_dir, samples, tmp_path):
    curve = scale_curve(cloud_dir, samples, replicas=(1, 2), requests=200)
    (tmp_path / "ray_scale.json").write_text(json.dumps(curve, indent=2))
    print(f"\nray scale curve: {json.dumps(curve)}")
    assert {(r["replicas"], r["concurrency"]) for r in curve["rows"]} == {(n, c) for n in (1, 2) for c in (1, 2, 4, 8)}
    assert all(r["errors"] == 0 and r["throughput_per_s"] > 0 for r in curve["rows"])
    assert "127.0.0.1" in curve["where"]


@pytest.mark.long
def test_autoscale_follows_a_load_ramp_long(cloud_dir, samples, tmp_path):
    ramp = autoscale_ramp(cloud_dir, samples, autoscale="1:3", ramp=((1, 15.0), (8, 60.0), (1, 60.0)))
    (tmp_path / "ray_autoscale.json").write_text(json.dumps(ramp, indent=2))
    print(f"\nray autoscale ramp: {json.dumps({k: v for k, v in ramp.items() if k != 'timeline'})}")
    high = [s["replicas_running"] for s in ramp["timeline"] if 15 + 20 < s["t_s"] <= 75]
    assert max(high) >= 2  # scaled up under 8 clients
    assert ramp["timeline"][-1]["replicas_running"] == 1  # and back down once the load fell
    assert all(step["errors"] == 0 for step in ramp["steps"])


def _start_head(temp: Path, port: int) -> subprocess.Popen:
    """`ray start --head` on loopback, as a user would start their cluster's head node."""
    env = child_env({"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"})
    ray_cli = Path(entry_command()[0]).with_name("ray")
    return process.start([str(ray_cli), "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
                          "--port", str(port), "--temp-dir", str(temp), "--include-dashboard", "false",
                          "--num-cpus", "2"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)


def _end_tree(root: subprocess.Popen) -> None:
    tree = _tree(root.pid)
    for proc in tree:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(tree, timeout=20)
    root.wait(timeout=20)


@pytest.mark.long
def test_join_an_existing_cluster_long(cloud_dir, samples, expected):
    temp = Path(tempfile.mkdtemp(prefix="esh-", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    head = _start_head(temp, port)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not any("raylet" in p.name() for p in _tree(head.pid)):
            time.sleep(1)
        time.sleep(5)
        with start_server_process(cloud_dir, engine="ray",
                                  engine_args=("--replicas", "1", "--address", f"127.0.0.1:{port}")) as server:
            health = _health(server)
            assert health["ray"]["where"] == f"Ray cluster at 127.0.0.1:{port} (joined)"
            report = load(server.url, server.token, samples, 64, 4, expected=expected)
            assert report["errors"] == 0 and report["mismatches"] == 0
            replica_pids = [r["pid"] for r in _health(server)["ray"]["replicas"].values()]
        # the driver deleted its application: its replica is gone, the cluster is still up
        _, alive = psutil.wait_procs([psutil.Process(p) for p in replica_pids if psutil.pid_exists(p)], timeout=30)
        assert not alive and head.poll() is None
    finally:
        _end_tree(head)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.long
def test_compare_and_profile_page_show_ray_serve_long(cloud_dir, tmp_path, qtbot):
    out_json, report = tmp_path / "compare.json", tmp_path / "compare.html"
    done = subprocess.run(entry_command() + ["compare", str(cloud_dir.parent), "--tiers", "cloud", "--cloud-ray", "1,2",
                                             "--out-json", str(out_json), "--report", str(report)],
                          capture_output=True, text=True, timeout=1500, env=child_env(), stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "cloud on Ray Serve" in done.stdout
    result = json.loads(out_json.read_text())
    scale = result["cloud_scale"]
    assert "local single-node Ray on 127.0.0.1" in scale["where"]
    assert {(r["replicas"], r["concurrency"]) for r in scale["rows"]} == {(n, c) for n in (1, 2) for c in (1, 2, 4, 8)}
    assert all(r["errors"] == 0 and sum(r["per_replica"].values()) == r["answered"] for r in scale["rows"])
    assert "Cloud on Ray Serve" in report.read_text()

    from app.gui.pages.profile_page import ProfilePage
    from app.gui.state import AppState
    from app.gui.workers import JobRunner

    runner = JobRunner()
    page = ProfilePage(AppState(), runner)
    qtbot.addWidget(page)
    page.show_result(result)
    shown = page.picks.toPlainText()
    assert "cloud on Ray Serve" in shown and scale["where"] in shown
    runner.stop_all()


@pytest.mark.long
def test_onnx_variant_replicas_run_onnxruntime_long(samples):
    from app.core.runtimes import OnnxRuntime

    reference = OnnxRuntime(DIGITS / "model.onnx", threads=1)
    with start_server_process(DIGITS, engine="ray", engine_args=("--replicas", "2", "--runtime", "onnxruntime")) as server:
        health = _health(server)
        assert health["runtime"] == "onnxruntime" and health["model"] == "digits/model.onnx"
        report = load(server.url, server.token, samples, 64, 4,
                      expected=[reference.predict(samples[i:i + 1])[0] for i in range(len(samples))])
    assert report["errors"] == 0 and report["mismatches"] == 0 and len(report["per_replica"]) == 2


def test_stop_ends_every_ray_process(ray_server):
    tree = _tree(ray_server.pid)
    temp_dirs = {arg.split("=", 1)[1].split("/session_")[0] for p in tree for arg in p.cmdline()
                 if arg.startswith("--log_dir=")}
    assert len(tree) >= 6 and len(temp_dirs) == 1  # the driver, GCS, raylet, agents, controller, replicas
    ray_server.stop()
    _, alive = psutil.wait_procs(tree, timeout=30)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], [p.cmdline()[:2] for p in alive]
    assert not Path(temp_dirs.pop()).exists()  # Ray's session files went with it


def test_bad_scaling_options_are_one_line_errors(cloud_dir):
    for args, message in ((["--autoscale", "3:1"], "--autoscale wants MIN:MAX"),
                          (["--replicas", "0"], "--replicas must be at least 1"),
                          (["--engine", "uvicorn", "--replicas", "2"], "need --engine ray")):
        argv = entry_command() + ["serve", "--model", str(cloud_dir), "--port", "0", *args]
        if "--engine" not in args:
            argv += ["--engine", "ray"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=child_env(),
                              stdin=subprocess.DEVNULL)
        assert done.returncode != 0 and message in done.stderr and "Traceback" not in done.stderr, done.stderr

"""The cloud tier on Ray Serve: the same HTTP API, answered by replicas that each hold the model.

`edge-studio serve --engine ray` runs this module's `serve_ray` in its own process (the Ray *driver*).
That process serves the very FastAPI app of the single-process server (create_app: one wire format,
the same payload limits, the token on every route) and hands each decoded tensor to a Ray Serve
deployment through a DeploymentHandle. Serve's own HTTP proxy is not started: it would add routes
(/-/routes, /-/healthz) that answer without our token, and another port to guard.

Replicas load MindSpore (or onnxruntime) in Ray's worker processes; the driver never imports either,
nor Lite. Without `address` the driver starts a private single-node Ray whose ports all listen on
127.0.0.1, with its files in a temp folder and no dashboard, and shuts it down on exit. With `address`
it joins the user's cluster (ray://HOST:10001 through Ray Client, or HOST:6379 / auto on a node) and
on exit deletes only its own application.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.core.cloud.engines import EngineError, require_ray
from app.core.cloud.server import (
    MODEL_FILES,
    check_bind,
    check_model_dir,
    create_app,
    is_loopback,
    listen,
    run_app,
)
from app.core.cloud.wire import PayloadError
from jobs import process

DEPLOYMENT = "CloudModel"
MAX_ATTEMPTS = 4  # a request whose replica died is sent again, at most this many times in all
RETRY_PAUSE_S = 0.2  # doubled after each failed attempt: gives Serve time to route around a dead replica
REPLICA_QUEUE = 4  # requests a replica holds at once: one runs, the rest wait there instead of in the driver
TARGET_ONGOING = 2.0  # autoscaling: add replicas when each holds more than this on average
SHIPPED = ("preprocess.json", "labels.json")  # sent to each replica along with the model file
# Requests that arrive together go to a replica in one call (docs/scale.md: the Ray hop, not the model,
# costs several CPU ms per call on one box). The first request of a batch waits at most this long.
MAX_BATCH = 8
BATCH_WAIT_MS = 2.0


@dataclass(frozen=True)
class Scaling:
    replicas: int = 1
    autoscale: tuple[int, int] | None = None  # (min, max) replicas

    @classmethod
    def parse(cls, replicas: int | None, autoscale: str | None) -> Scaling:
        if replicas is not None and autoscale:
            raise EngineError("pass --replicas N or --autoscale MIN:MAX, not both")
        if autoscale:
            lo, sep, hi = autoscale.partition(":")
            if not (sep and lo.strip().isdigit() and hi.strip().isdigit()) or not 1 <= int(lo) <= int(hi):
                raise EngineError(f"--autoscale wants MIN:MAX with 1 <= MIN <= MAX, got {autoscale!r}")
            return cls(int(lo), (int(lo), int(hi)))
        if replicas is not None and replicas < 1:
            raise EngineError(f"--replicas must be at least 1, got {replicas}")
        return cls(replicas or 1)

    @property
    def most(self) -> int:
        return self.autoscale[1] if self.autoscale else self.replicas

    def options(self) -> dict:
        if not self.autoscale:
            return {"num_replicas": self.replicas}
        lo, hi = self.autoscale
        return {"autoscaling_config": {"min_replicas": lo, "initial_replicas": lo, "max_replicas": hi,
                                       "target_ongoing_requests": TARGET_ONGOING, "metrics_interval_s": 1.0,
                                       "look_back_period_s": 5.0, "upscale_delay_s": 3.0,
                                       "downscale_delay_s": 15.0}}

    def describe(self) -> dict:
        if self.autoscale:
            return {"mode": "autoscale", "min": self.autoscale[0], "max": self.autoscale[1],
                    "target_ongoing_requests": TARGET_ONGOING}
        return {"mode": "fixed", "replicas": self.replicas}


@dataclass(frozen=True)
class Batching:
    max_batch: int = MAX_BATCH  # 1: one Ray call per request
    wait_ms: float = BATCH_WAIT_MS

    def __post_init__(self) -> None:
        if self.max_batch < 1 or not 0 <= self.wait_ms <= 1000:
            raise EngineError(f"--max-batch must be ≥ 1 and --batch-wait-ms within 0-1000, "
                              f"got {self.max_batch} and {self.wait_ms}")

    def describe(self) -> dict:
        return {"max_batch": self.max_batch, "wait_ms": self.wait_ms}


class ReplicaError(RuntimeError):
    """The model failed on one request inside its replica (the others of its batch are answered)."""


def replica_threads(address: str | None, scaling: Scaling, cpus_per_replica: float) -> int:
    """MindSpore's kernel threads in each replica. On a private node the replicas share this machine:
    usable cores ÷ most replicas (at least 1), so that replicas × threads never exceeds the cores. On a
    cluster a replica's share is the CPUs Ray reserves for it."""
    from app.core.models.mindspore_cpu import usable_cores

    if address is None:
        return max(1, usable_cores() // scaling.most)
    return max(1, int(cpus_per_replica))


# -- inside each replica (a Ray worker process) ---------------------------------------------------
class OnnxModel:
    """The ONNX variant of a replica's model: model.onnx + preprocess.json through onnxruntime."""
    runtime = "onnxruntime"

    def __init__(self, folder: Path, threads: int = 1) -> None:
        import onnxruntime

        from app.core.preprocess import PreprocessSpec
        from app.core.runtimes import OnnxRuntime

        started = time.perf_counter()
        self.version = onnxruntime.__version__
        self.spec = PreprocessSpec.load(folder / "preprocess.json")
        self.threads = threads
        self._session = OnnxRuntime(folder / MODEL_FILES["onnxruntime"], threads=threads)
        self.predict(np.zeros(tuple(self.spec.input_shape), np.float32))
        self.load_ms = (time.perf_counter() - started) * 1000

    def predict(self, x: np.ndarray) -> list[np.ndarray]:
        return self._session.predict(x)


LOOPBACK_ENV = "EDGE_STUDIO_RAY_LOOPBACK"  # set by the driver of a private node; its workers inherit it


def _replica_grpc_on_loopback() -> None:
    """Serve's replica opens its inter-deployment gRPC port on [::] whatever Ray's node address is (Ray
    2.60; Ray's token auth guards it). On a private loopback node it must listen on 127.0.0.1 like every
    other port. The replica opens it after our constructor returns, so the address is rewritten here."""
    from ray.serve._private import replica

    original = getattr(replica, "add_port_to_grpc_server", None)
    if original is None or getattr(original, "loopback", False):
        return  # another Ray version: tests/test_cloud_ray.py checks every listening address

    def loopback(server, address: str):
        return original(server, address.replace("[::]", "127.0.0.1", 1))

    loopback.loopback = True
    replica.add_port_to_grpc_server = loopback


class ModelReplica:
    """One Serve replica: writes the shipped files to its own temp folder and loads the model there,
    so a replica on another machine needs no copy of the package."""

    def __init__(self, files: dict[str, bytes], runtime: str, threads: int = 1) -> None:
        import ray
        from ray import serve

        if os.environ.get(LOOPBACK_ENV) == "1":
            _replica_grpc_on_loopback()

        from app.core.files import scratch_dir

        # named by pid: a replica that was SIGKILLed leaves a folder the app's next start removes
        self._folder = scratch_dir("ray-replica")
        for name, data in files.items():
            (self._folder / name).write_bytes(data)
        if runtime == "onnxruntime":
            self._model = OnnxModel(self._folder, threads)
        else:
            from app.core.cloud.server import MindSporeModel

            # MindSpore's dumps land in the folder too
            self._model = MindSporeModel(self._folder, scratch=self._folder, threads=threads)
        self._lock = threading.Lock()  # Serve may call a sync method from several threads; the graph runs one at a time
        self._where = {"replica": serve.get_replica_context().replica_id.unique_id, "pid": os.getpid(),
                       "node": ray.util.get_node_ip_address()}

    def describe(self) -> dict:
        return {"version": self._model.version, "load_ms": self._model.load_ms, "threads": self._model.threads,
                **self._where}

    def predict(self, x: np.ndarray) -> tuple[list[np.ndarray], float, dict]:
        with self._lock:
            started = time.perf_counter()
            outputs = self._model.predict(x)
            server_ms = (time.perf_counter() - started) * 1000
        return outputs, server_ms, self._where

    async def predict_batch(self, xs: list[np.ndarray]) -> tuple[list, dict]:
        """Several requests in one Ray call, run one by one: each answer is bit for bit what the single
        process gives (a stacked batch changes the last bits with its neighbours), and a request that
        fails fails alone. Per item: (outputs, server_ms) or the error's text."""
        answers = []
        with self._lock:
            for x in xs:
                started = time.perf_counter()
                try:
                    outputs = self._model.predict(x)
                except Exception as exc:  # noqa: BLE001  (this request's error, returned to its own caller)
                    answers.append(f"{type(exc).__name__}: {str(exc)[:200]}")
                    continue
                answers.append((outputs, (time.perf_counter() - started) * 1000))
        return answers, self._where

    def __del__(self) -> None:
        shutil.rmtree(getattr(self, "_folder", ""), ignore_errors=True)


# -- in the driver ----------------------------------------------------------------------------------
@dataclass
class Cluster:
    """Where the replicas run, said plainly in /health and in every report."""
    address: str | None  # None: a private single-node Ray started here
    temp_dir: Path | None = None
    app_name: str = field(default_factory=lambda: f"edge-studio-{os.getpid()}")

    @property
    def where(self) -> str:
        if self.address is None:
            return "local single-node Ray on 127.0.0.1 (started for this server, stopped with it)"
        return f"Ray cluster at {self.address} (joined)"


def _retryable() -> tuple[type[BaseException], ...]:
    """What a dead or restarting replica raises; a model that fails on good input raises anything else."""
    from ray import exceptions as ray_errors
    from ray.serve import exceptions as serve_errors

    return (ray_errors.RayActorError, ray_errors.ObjectLostError, serve_errors.ReplicaUnavailableError,
            serve_errors.BackPressureError)


class RayServedModel:
    """What create_app serves: the model's description plus `infer`, which awaits a replica."""

    def __init__(self, handle, folder: Path, runtime: str, cluster: Cluster, scaling: Scaling,
                 batching: Batching | None = None, startup: dict | None = None) -> None:
        from app.core.preprocess import PreprocessSpec

        self._handle = handle
        self._retryable = _retryable()
        self.folder, self.runtime, self.cluster, self.scaling = folder, runtime, cluster, scaling
        self.file_name = MODEL_FILES[runtime]
        self.spec = PreprocessSpec.load(folder / "preprocess.json")
        self.input_shape = tuple(self.spec.input_shape)
        labels = folder / "labels.json"
        self.labels = json.loads(labels.read_text()) if labels.is_file() else None
        first = handle.describe.remote().result(timeout_s=600)
        self.version, self.load_ms, self.threads = first["version"], first["load_ms"], first.get("threads")
        self.batching = batching or Batching()
        self.startup = startup or {}
        self._pending: list[tuple[np.ndarray, asyncio.Future]] = []
        self._sending: set[asyncio.Future] = set()
        self._timer: asyncio.TimerHandle | None = None
        self.batches = Counter()  # calls sent to replicas, by batch size
        self.served: Counter[str] = Counter()  # requests answered, per replica
        self.replicas: dict[str, dict] = {first["replica"]: first}
        self.retries = 0  # attempts sent again after a replica failed
        self.errors = 0  # requests that failed after MAX_ATTEMPTS (answered 503) or for another reason (500)

    async def infer(self, x: np.ndarray) -> tuple[list[np.ndarray], float, str]:
        if self.batching.max_batch <= 1:
            return await self._infer_one(x)
        future = asyncio.get_running_loop().create_future()
        self._pending.append((x, future))
        if len(self._pending) >= self.batching.max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.batching.wait_ms / 1000, self._flush)
        return await future

    def _flush(self) -> None:
        """Send what waits (at most max_batch) to a replica; what is left starts the next wait."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending[:self.batching.max_batch], self._pending[self.batching.max_batch:]
        if self._pending:
            self._timer = asyncio.get_running_loop().call_later(self.batching.wait_ms / 1000, self._flush)
        if batch:
            task = asyncio.ensure_future(self._send(batch))
            self._sending.add(task)  # held until done: the loop keeps only weak references to tasks
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[np.ndarray, asyncio.Future]]) -> None:
        pause = RETRY_PAUSE_S
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                answers, where = await self._handle.predict_batch.remote([x for x, _ in batch])
                break
            except self._retryable as exc:
                if attempt == MAX_ATTEMPTS:
                    self.errors += len(batch)
                    failure = PayloadError(503, f"no replica answered after {MAX_ATTEMPTS} attempts "
                                                f"({type(exc).__name__}); try again")
                    return self._fail(batch, failure)
                self.retries += len(batch)
                await asyncio.sleep(pause)
                pause *= 2
            except Exception as exc:  # noqa: BLE001  (each waiting request gets it: create_app answers 500)
                self.errors += len(batch)
                return self._fail(batch, exc)
        self.batches[len(batch)] += 1
        self.replicas.setdefault(where["replica"], where)
        for (_, future), answer in zip(batch, answers):
            if future.done():  # its client went away
                continue
            if isinstance(answer, str):
                self.errors += 1
                future.set_exception(ReplicaError(answer))
            else:
                self.served[where["replica"]] += 1
                future.set_result((answer[0], answer[1], where["replica"]))

    @staticmethod
    def _fail(batch, exc: BaseException) -> None:
        for _, future in batch:
            if not future.done():
                future.set_exception(exc)

    async def _infer_one(self, x: np.ndarray) -> tuple[list[np.ndarray], float, str]:
        pause = RETRY_PAUSE_S
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                outputs, server_ms, where = await self._handle.predict.remote(x)
            except self._retryable as exc:
                if attempt == MAX_ATTEMPTS:
                    self.errors += 1
                    raise PayloadError(503, f"no replica answered after {MAX_ATTEMPTS} attempts "
                                            f"({type(exc).__name__}); try again") from None
                self.retries += 1
                await asyncio.sleep(pause)
                pause *= 2
                continue
            except Exception:
                self.errors += 1
                raise
            self.served[where["replica"]] += 1
            self.replicas.setdefault(where["replica"], where)
            return outputs, server_ms, where["replica"]
        raise AssertionError("unreachable")

    def engine_health(self) -> dict:
        import ray
        from ray import serve

        running = None
        try:
            status = serve.status().applications[self.cluster.app_name].deployments[DEPLOYMENT]
            running = int(status.replica_states.get("RUNNING", 0))
        except (KeyError, AttributeError):
            pass
        nodes = [{"ip": n["NodeManagerAddress"], "cpus": n["Resources"].get("CPU", 0)}
                 for n in ray.nodes() if n.get("Alive")]
        alive = self._alive_replicas()
        if running is not None and alive is not None:
            # Serve counts a killed replica as running until its next health check (up to ~10 s, longer on busy
            # cores), while Ray releases its actor's name at once: no more are running than Ray still lists
            running = min(running, len(alive))
        replicas = {rid: {"pid": info["pid"], "node": info["node"], "requests": self.served.get(rid, 0)}
                    for rid, info in self.replicas.items() if alive is None or rid in alive}
        gone = {rid: self.served.get(rid, 0) for rid in self.replicas if alive is not None and rid not in alive}
        return {"engine": "ray", "ray": {"where": self.cluster.where, "address": self.cluster.address or "local",
                                         "version": ray.__version__, "nodes": nodes,
                                         "scaling": self.scaling.describe(), "replicas_running": running,
                                         "threads_per_replica": self.threads,
                                         "batching": self.batching.describe() | {
                                             "calls_by_size": {str(k): v for k, v in sorted(self.batches.items())}},
                                         "startup_s": self.startup,
                                         "replicas": replicas, "replicas_gone": gone,
                                         "retries": self.retries, "errors": self.errors}}

    def _alive_replicas(self) -> set[str] | None:
        """The ids of this application's replicas that Ray still lists: a dead replica's actor name is
        released by the GCS. None when Ray cannot say (then every replica seen is listed)."""
        import ray

        try:
            names = ray.util.list_named_actors(all_namespaces=True)
        except Exception:  # noqa: BLE001  (the cluster went away: health still answers)
            return None
        prefix = f"SERVE_REPLICA::{self.cluster.app_name}#{DEPLOYMENT}#"
        return {a["name"][len(prefix):] for a in names if a["name"].startswith(prefix)}


def _ray_environment(local: bool, address: str | None = None) -> None:
    """Before `import ray` (it reads these once, at import)."""
    if "ray" in sys.modules:
        raise EngineError("Ray was imported before the engine set it up (a bug: import it only in serve_ray)")
    if local:
        # Ray's node address becomes 127.0.0.1, so the GCS, raylet, agents and workers listen on loopback
        # only; otherwise they listen on every interface.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        os.environ[LOOPBACK_ENV] = "1"
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report from a private node
        # Ray starts its workers at nice 15 by default: the replicas then lose every contest for the cores
        # to this very front and its clients. They run at the server's own priority instead (a background
        # server is already niced as a whole).
        os.environ.setdefault("RAY_worker_niceness", "0")
        # Ray's token auth with a token of this server's own, held in the environment its processes
        # inherit: nothing written to ~/.ray/auth_token, and no other Ray on this machine shares it.
        os.environ["RAY_AUTH_MODE"] = "token"
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
        os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
    else:
        if is_loopback(address.removeprefix("ray://").rsplit(":", 1)[0]):
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # else Ray dials this node's LAN address
        has_token = (os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
                     or (Path.home() / ".ray" / "auth_token").is_file())
        if "RAY_AUTH_MODE" not in os.environ and has_token:
            os.environ["RAY_AUTH_MODE"] = "token"  # a cluster made by `ray start` (Ray >= 2.5x) requires it
    # On a busy machine a replica's queue-length probe misses Serve's 0.1 s deadline and logs a warning
    # per request; a second is still quick next to a replica that is gone.
    os.environ.setdefault("RAY_SERVE_QUEUE_LENGTH_RESPONSE_DEADLINE_S", "1.0")


def _adopt_orphans() -> None:
    """Linux: become the subreaper of everything Ray starts here. Ray's workers run in their own process
    groups, and when a signal to our group kills the raylet first, they are re-parented to us instead of
    to init, so _stop_local_ray still finds (and ends) them."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass  # not Linux: Ray's own fate-sharing still ends its processes with the node


def _code_root() -> Path:
    return Path(__file__).resolve().parents[3]  # holds app/, jobs/, converters/


def _connect(address: str | None, scaling: Scaling, model_bytes: int) -> Cluster:
    import logging

    if address is None:
        _ray_environment(local=True)
        _adopt_orphans()
        # Ray workers import app.* from our checkout: they inherit the driver's environment
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(_code_root()), os.environ.get("PYTHONPATH")) if p)
        # A short temp folder: Ray's unix sockets live under it and their paths must fit 107 bytes.
        temp = Path(tempfile.mkdtemp(prefix="esray-", dir="/tmp" if os.path.isdir("/tmp") else None))
        # ... and every temp file of Ray's workers (replica folders, MindSpore's scratch) goes there too,
        # removed with it: a replica ended by SIGKILL cleans nothing up itself.
        os.environ["TMPDIR"] = str(temp)
        import ray

        try:
            ray.init(num_cpus=max(os.cpu_count() or 1, scaling.most), include_dashboard=False,
                     _temp_dir=str(temp), object_store_memory=max(256 * 2**20, 4 * model_bytes),
                     namespace="edge-studio", logging_level=logging.WARNING, log_to_driver=False)
        except Exception as exc:  # noqa: BLE001  (whatever Ray raises becomes one line for the CLI)
            shutil.rmtree(temp, ignore_errors=True)
            raise EngineError(f"could not start a local Ray node ({type(exc).__name__}: {exc})") from None
        return Cluster(None, temp)
    _ray_environment(local=False, address=address)
    import ray

    import app
    import converters
    import jobs

    try:  # our packages are shipped to the cluster: its nodes need Ray and the runtimes, not edge-studio
        ray.init(address=address, namespace="edge-studio", logging_level=logging.WARNING, log_to_driver=False,
                 runtime_env={"py_modules": [app, jobs, converters], "excludes": ["__pycache__", "*.so"]})
    except Exception as exc:  # noqa: BLE001  (whatever Ray raises becomes one line for the CLI)
        raise EngineError(f"could not join the Ray cluster at {address} ({type(exc).__name__}: {exc})") from None
    return Cluster(address)


def _deploy(folder: Path, runtime: str, scaling: Scaling, cluster: Cluster, cpus_per_replica: float,
            threads: int = 1):
    import logging

    from ray import serve

    files = {name: (folder / name).read_bytes() for name in (MODEL_FILES[runtime], *SHIPPED)
             if (folder / name).is_file()}
    # No HTTP proxy: this driver's own uvicorn app is the only door (token, limits, one port).
    logging.getLogger("ray.serve").setLevel(logging.WARNING)  # no INFO lines for every start and scale step
    serve.start(proxy_location="Disabled", logging_config={"log_level": "WARNING"})
    deployment = serve.deployment(
        name=DEPLOYMENT, ray_actor_options={"num_cpus": cpus_per_replica}, max_ongoing_requests=REPLICA_QUEUE,
        health_check_period_s=2.0, health_check_timeout_s=30.0, graceful_shutdown_timeout_s=5.0,
        max_constructor_retry_count=3,  # a model that cannot load fails the start in minutes, not for ever
        **scaling.options())(ModelReplica)
    try:
        return serve.run(deployment.bind(files, runtime, threads), name=cluster.app_name, route_prefix=None)
    except Exception as exc:  # noqa: BLE001  (e.g. MindSpore missing on a node: Serve says why in its message)
        raise EngineError(f"the Ray Serve deployment failed: {_cause(str(exc) + chr(10) + _why(cluster))}") from None


def _why(cluster: Cluster) -> str:
    """Serve's own account of a failed deployment: it holds the replica constructor's error."""
    from ray import serve

    try:
        return serve.status().applications[cluster.app_name].deployments[DEPLOYMENT].message
    except Exception:  # noqa: BLE001  (no status to add: the summary alone is reported)
        return ""


def _cause(text: str) -> str:
    """The replica's own error out of Serve's long message (which holds the constructor's traceback)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    causes = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)]
    summary = lines[-1] if lines else "no message"
    return (summary if not causes or causes[-1] == summary else f"{summary} {causes[-1]}")[:400]


def _disconnect(cluster: Cluster) -> None:
    import ray
    from ray import serve

    if cluster.address is not None:
        try:
            serve.delete(cluster.app_name)  # the user's cluster and its other applications stay up
        except Exception:  # noqa: BLE001  (the cluster went away first: nothing of ours is left to delete)
            pass
        ray.shutdown()
        return
    # The private node goes whole, without Serve's graceful shutdown: a SIGTERM or Ctrl+C to our process
    # group has usually reached the raylet already, and a graceful shutdown would then wait for ever.
    stopper = threading.Thread(target=ray.shutdown, daemon=True)
    stopper.start()
    stopper.join(timeout=20)
    _end_descendants()
    shutil.rmtree(cluster.temp_dir, ignore_errors=True)


def _end_descendants() -> None:
    """Whatever Ray left running under this process (workers re-parented here by _adopt_orphans)."""
    import psutil

    left = psutil.Process().children(recursive=True)
    for proc in left:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(left, timeout=5)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)


def serve_ray(model_dir: str | Path, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
              max_body: int = 16 * 2**20, announce: bool = False, scaling: Scaling = Scaling(),
              address: str | None = None, runtime: str = "mindspore", cpus_per_replica: float = 1.0,
              batching: Batching = Batching()) -> None:
    """Serve the package's model through Ray Serve replicas until SIGTERM/Ctrl+C (this process only)."""
    require_ray()
    if runtime not in MODEL_FILES:
        raise EngineError(f"--runtime must be one of {', '.join(MODEL_FILES)}, got {runtime!r}")
    check_bind(host, token)
    if os.environ.get("EDGE_STUDIO_BACKGROUND"):  # started by the app: Ray and its replicas yield the CPU
        process.lower_priority()
    folder = check_model_dir(model_dir, MODEL_FILES[runtime]).resolve()
    sock = listen(host, port)
    # A SIGTERM while Ray starts must still run the cleanup below (uvicorn has its own handler later on).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    cluster = None
    try:
        started = time.perf_counter()
        cluster = _connect(address, scaling, (folder / MODEL_FILES[runtime]).stat().st_size)
        connected = time.perf_counter()
        handle = _deploy(folder, runtime, scaling, cluster, cpus_per_replica,
                         replica_threads(address, scaling, cpus_per_replica))
        deployed = time.perf_counter()
        # where the start-up time goes (docs/scale.md): Ray's own processes, then the replicas' start
        startup = {"ray_init": round(connected - started, 2), "serve_deploy": round(deployed - connected, 2)}
        model = RayServedModel(handle, folder, runtime, cluster, scaling, batching, startup)
        replicas = (f"{scaling.autoscale[0]}-{scaling.autoscale[1]} replicas (autoscaling)" if scaling.autoscale
                    else f"{scaling.replicas} replica{'s' * (scaling.replicas > 1)}")
        run_app(create_app(model, token, max_body), sock, host, announce,
                f"{folder / model.file_name} ({runtime} {model.version}, Ray Serve, {replicas}, {cluster.where})"
                f"{' (token required)' if token else ''}")
    finally:
        sock.close()
        if cluster is not None:
            _disconnect(cluster)

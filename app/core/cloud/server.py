"""The cloud tier: full MindSpore FP32 behind an HTTP endpoint (FastAPI + uvicorn).

`edge-studio serve --model DIR` runs in its own process: MindSpore is imported only inside
`serve()`, never by the GUI/CLI processes that hold Lite (the two cannot share a process).
`start_server_process()` starts that command as a child and waits until it answers.

Endpoints (a token, when set, goes in `Authorization: Bearer T` on every request):
  GET  /health          model, input shape, MindSpore version, memory of the server process
  POST /predict         float32 tensor, either
                          application/octet-stream: raw little-endian float32 bytes, shape in the
                            `X-Shape: 1,1,28,28` header (default: the model's input shape) — fastest
                          application/json: {"shape": [1,1,28,28], "data": "<base64 of the raw bytes>"}
  POST /predict/image   PNG/JPEG/BMP bytes → preprocess.json → the model
Answers: {"outputs": [{"shape", "dtype", "data" (base64)}], "server_ms"}. Bad payloads get 4xx with
{"error": "..."}; nothing ever answers with a traceback.

No `from __future__ import annotations` here: FastAPI reads the endpoints' annotations at run time.
"""
import hmac
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from app.core.cloud.engines import require_ray
from app.core.cloud.wire import (  # noqa: F401  (re-exported: the server's wire format lives in wire.py)
    MAX_IMAGE_PIXELS,
    PayloadError,
    answer_json,
    decode_outputs,
    encode_outputs,
    image_from_bytes,
    tensor_from_json,
    tensor_from_raw,
)
from jobs import process

DEFAULT_PORT = 8765
DEFAULT_MAX_BODY_MB = 16.0
TOKEN_ENV = "EDGE_STUDIO_SERVE_TOKEN"  # keeps the token out of `ps` when started as a child
READY_MARK = "@@edge-studio-serving@@ "
SCRATCH_ENV = "EDGE_STUDIO_SERVE_SCRATCH"
MODEL_FILE = "model.mindir"
MODEL_FILES = {"mindspore": MODEL_FILE, "onnxruntime": "model.onnx"}  # what each runtime serves


class ServeError(ValueError):
    """The server cannot start as asked (bad model folder, unsafe bind, port in use)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name that may resolve anywhere


def check_bind(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise ServeError(f"refusing to bind {host} without a token: anyone who can reach it could use the "
                         f"server. Pass --token (or set {TOKEN_ENV}), or bind 127.0.0.1")


def check_model_dir(model_dir: str | Path, model_file: str = MODEL_FILE) -> Path:
    folder = Path(model_dir)
    if folder.is_file() and folder.suffix == Path(model_file).suffix:
        folder = folder.parent
    if not (folder / model_file).is_file():
        raise ServeError(f"{folder}: no {model_file} (serve a folder with {model_file} + preprocess.json, "
                         "e.g. a deployment package's cloud/ folder)")
    if not (folder / "preprocess.json").is_file():
        raise ServeError(f"{folder}: no preprocess.json next to {model_file}")
    return folder


# -- the model (MindSpore, server process only) -------------------------------------------------
class MindSporeModel:
    """nn.GraphCell over the exported MindIR; one call at a time."""
    runtime = "mindspore"
    file_name = MODEL_FILE

    def __init__(self, folder: Path, scratch: Path | None = None, threads: int | None = None) -> None:
        """threads: MindSpore's kernel threads (default: the usable cores). Replicas sharing a machine pass
        cores ÷ replicas: each MindSpore would otherwise start a pool as large as the machine."""
        os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))
        from app.core.files import enter_mindspore_scratch

        folder = folder.resolve()  # before the working directory changes
        # started by the app: the parent owns (and removes) the scratch folder, even if this process is killed;
        # a Ray replica passes a folder of its own
        enter_mindspore_scratch(scratch or os.environ.get(SCRATCH_ENV) or None)
        from app.core.models.mindspore_cpu import configure_threads, prepare_environment

        prepare_environment()  # oneDNN's fast kernels on AVX-512 CPUs (see mindspore_cpu)
        import mindspore as ms
        from mindspore import Tensor, nn

        self.threads = configure_threads(threads)

        from app.core.preprocess import PreprocessSpec

        self._tensor = Tensor
        self.version = ms.__version__
        self.folder = folder
        self.spec = PreprocessSpec.load(folder / "preprocess.json")
        self.input_shape = tuple(self.spec.input_shape)
        labels = folder / "labels.json"
        self.labels = json.loads(labels.read_text()) if labels.is_file() else None
        started = time.perf_counter()
        self._net = nn.GraphCell(ms.load(str(folder / MODEL_FILE)))
        self.predict(np.zeros(self.input_shape, np.float32))  # the first call compiles the graph
        self.load_ms = (time.perf_counter() - started) * 1000

    def predict(self, x: np.ndarray) -> list[np.ndarray]:
        out = self._net(self._tensor(x))
        return [o.asnumpy() for o in (out if isinstance(out, (tuple, list)) else [out])]


# -- the app ------------------------------------------------------------------------------------
def _memory() -> dict:
    import resource

    import psutil

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"rss_mb": round(psutil.Process().memory_info().rss / 2**20, 2), "peak_rss_mb": round(peak_kib / 1024, 2)}


def create_app(model: Any, token: str | None = None, max_body: int = int(DEFAULT_MAX_BODY_MB * 2**20)):
    """The FastAPI app around a loaded model: anything with .predict (in process) or an awaitable
    .infer(x) -> (outputs, server_ms, replica) (an engine with replicas), and .input_shape, .spec,
    .folder, .file_name, .runtime, .version, .labels, .load_ms for /health."""
    from fastapi import Depends, FastAPI, Request
    from fastapi.responses import JSONResponse, Response

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    def check_token(request: Request) -> None:
        sent = request.headers.get("authorization", "")
        if token and not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            raise PayloadError(401, "missing or wrong token (send 'Authorization: Bearer <token>')")

    # redirect_slashes=False: "/predict/" gets the JSON 404 below, not a bare 307 redirect
    app = FastAPI(title="Edge Studio cloud tier", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(check_token)], redirect_slashes=False)
    @app.exception_handler(PayloadError)
    async def refused(request: Request, exc: PayloadError) -> JSONResponse:
        return error(exc.status, str(exc))

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> JSONResponse:  # a short line, never a traceback
        return error(500, f"inference failed ({type(exc).__name__})")

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_body):
            raise PayloadError(413, f"the body is larger than the server's limit of {max_body} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():  # a chunked body has no length to check up front
            size += len(chunk)
            if size > max_body:
                raise PayloadError(413, f"the body is larger than the server's limit of {max_body} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    infer = getattr(model, "infer", None)  # an engine with replicas: awaited, so many requests are in flight

    async def run(x: np.ndarray) -> Response:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if infer is not None:
            outputs, server_ms, replica = await infer(x)
        else:  # in-process MindSpore: on the event loop, one inference at a time, no thread hops
            started = time.perf_counter()
            outputs, replica = model.predict(x), None
            server_ms = (time.perf_counter() - started) * 1000
        return Response(answer_json(outputs, server_ms, replica), media_type="application/json")

    def content_type(request: Request) -> str:
        return request.headers.get("content-type", "").split(";")[0].strip().lower()

    @app.get("/health")
    def health() -> dict:  # a plain def: FastAPI runs it in a thread, so an engine may block to ask its cluster
        answer = {"status": "ok", "model": f"{model.folder.name}/{model.file_name}", "runtime": model.runtime,
                  model.runtime: model.version, "input_shape": list(model.input_shape),  # "mindspore": "2.10.0"
                  "input_name": model.spec.input_name, "labels": model.labels, "load_ms": round(model.load_ms, 2),
                  "size_bytes": (model.folder / model.file_name).stat().st_size,
                  "max_body_bytes": max_body, "pid": os.getpid(), "threads": getattr(model, "threads", None),
                  **_memory()}
        return answer | (model.engine_health() if hasattr(model, "engine_health") else {"engine": "uvicorn"})

    readers: dict[str, Callable[[bytes, Request], np.ndarray]] = {
        "application/octet-stream": lambda b, r: tensor_from_raw(b, r.headers.get("x-shape"), model.input_shape),
        "application/json": lambda b, r: tensor_from_json(b, model.input_shape),
    }

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        kind = content_type(request)
        if kind not in readers:
            raise PayloadError(415, f"send application/octet-stream (raw float32, X-Shape header) or "
                                    f"application/json, not {kind or 'no content type'}")
        return await run(readers[kind](await read_body(request), request))

    @app.post("/predict/image")
    async def predict_image(request: Request) -> Response:
        kind = content_type(request)
        if not (kind.startswith("image/") or kind == "application/octet-stream"):
            raise PayloadError(415, f"send the image file's bytes (image/png, image/jpeg), not {kind or 'nothing'}")
        image = image_from_bytes(await read_body(request), gray=model.spec.channels == 1)
        return await run(model.spec.apply(image))

    @app.exception_handler(404)
    async def not_found(request: Request, exc) -> JSONResponse:
        return error(404, f"no endpoint {request.url.path} (use /health, /predict, /predict/image)")

    @app.exception_handler(405)
    async def wrong_method(request: Request, exc) -> JSONResponse:
        return error(405, f"{request.method} is not allowed on {request.url.path}")

    return app


def listen(host: str, port: int) -> socket.socket:
    """Bind before loading anything: a port in use fails in a second, not after a model load."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say so; without it every
    # response waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot bind {host}:{port} ({exc.strerror or exc})") from None
    sock.listen(128)
    return sock


def run_app(app, sock: socket.socket, host: str, announce: bool, banner: str) -> None:
    """Serve `app` on the bound socket until SIGTERM/SIGINT; announce the URL to start_server_process."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, server_header=False))
    where = f"http://{'[' + host + ']' if ':' in host else host}:{sock.getsockname()[1]}"
    if announce:  # started by start_server_process, which reads this line
        print(READY_MARK + json.dumps({"url": where, "pid": os.getpid()}), flush=True)
        threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    else:
        print(f"Serving {banner} on {where}; Ctrl+C stops", file=sys.stderr, flush=True)
    server.run(sockets=[sock])


def serve(model_dir: str | Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT, token: str | None = None,
          max_body: int = int(DEFAULT_MAX_BODY_MB * 2**20), announce: bool = False) -> None:
    """Load the MindIR with full MindSpore and serve it until interrupted (this process only)."""
    check_bind(host, token)
    if os.environ.get("EDGE_STUDIO_BACKGROUND"):  # started by the app: yield the CPU to its GUI
        process.lower_priority()
    folder = check_model_dir(model_dir)
    sock = listen(host, port)
    model = MindSporeModel(folder)
    run_app(create_app(model, token, max_body), sock, host, announce,
            f"{folder / MODEL_FILE} (MindSpore {model.version}){' (token required)' if token else ''}")


def _exit_with_parent(parent: int) -> None:
    """A parent killed outright (SIGKILL, a cancelled job) cannot stop its server: stop when orphaned."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's clean shutdown


# -- starting it from another process ------------------------------------------------------------
@dataclass
class ServerHandle:
    url: str
    token: str | None
    process: subprocess.Popen
    log_path: Path
    _finalizer: Any = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _terminate(proc: subprocess.Popen, log_path: Path, grace: float, scratch: str) -> None:
    process.stop(proc, grace=grace)  # uvicorn shuts down cleanly on SIGTERM (and the Ray engine its cluster)
    if proc.stdout:
        proc.stdout.close()
    log_path.unlink(missing_ok=True)
    shutil.rmtree(scratch, ignore_errors=True)


AUTO = "auto"


def start_server_process(model_dir: str | Path, port: int = 0, host: str = "127.0.0.1",
                         token: str | None = AUTO, max_body_mb: float = DEFAULT_MAX_BODY_MB,
                         timeout: float | None = None, engine: str = "uvicorn",
                         engine_args: tuple[str, ...] = ()) -> ServerHandle:
    """Run `edge-studio serve` as a child and return once it answers /health.

    port=0 picks a free port; token="auto" makes a random one (None: no token, loopback only).
    engine="ray" serves through Ray Serve replicas; engine_args are its options as on the command line
    (e.g. ("--replicas", "2")). The child, never this process, imports MindSpore or Ray."""
    from converters.targets import require_mindspore

    if engine == "ray":
        require_ray()
    else:
        require_mindspore("The cloud tier")
    check_bind(host, None if token == AUTO else token)
    runtime = engine_args[list(engine_args).index("--runtime") + 1] if "--runtime" in engine_args else "mindspore"
    folder = check_model_dir(model_dir, MODEL_FILES.get(runtime, MODEL_FILE)).resolve()
    token = secrets.token_urlsafe(18) if token == AUTO else token
    env = process.child_env({"EDGE_STUDIO_BACKGROUND": "1"})
    env.pop(TOKEN_ENV, None)
    if token:
        env[TOKEN_ENV] = token
    env.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))
    env[SCRATCH_ENV] = scratch = tempfile.mkdtemp(prefix="edge-studio-serve-scratch-")  # removed by _terminate
    fd, log_name = tempfile.mkstemp(prefix="edge-studio-serve-", suffix=".log")
    log_path = Path(log_name)
    with os.fdopen(fd, "wb") as log:
        proc = process.start(process.entry_command() + ["serve", "--model", str(folder), "--host", host,
                                                        "--port", str(port), "--max-body-mb", str(max_body_mb),
                                                        "--announce", "--engine", engine, *engine_args],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, env=env,
                             text=True, encoding="utf-8", errors="replace")
    found: dict = {}

    def read_stdout() -> None:  # keep draining so a chatty child never blocks on a full pipe
        for line in proc.stdout:
            if line.startswith(READY_MARK) and not found:
                found.update(json.loads(line[len(READY_MARK):]))

    threading.Thread(target=read_stdout, daemon=True).start()
    handle = ServerHandle("", token, proc, log_path)
    # Ray's shutdown (replicas, raylet, GCS) takes longer than uvicorn's
    handle._finalizer = weakref.finalize(handle, _terminate, proc, log_path, 30.0 if engine == "ray" else 5.0,
                                          scratch)
    deadline = time.monotonic() + (timeout or (300.0 if engine == "ray" else 90.0))
    while not found and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if not found:
        message = handle.log().strip().splitlines()
        handle.stop()
        why = "timed out" if proc.returncode is None or proc.returncode < 0 else "failed"
        raise ServeError(f"the cloud server {why} while starting: {message[-1] if message else 'no output'}")
    handle.url = found["url"]
    return handle

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
import argparse
import base64
import binascii
import hmac
import ipaddress
import json
import math
import os
import secrets
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

DEFAULT_PORT = 8765
DEFAULT_MAX_BODY_MB = 16.0
TOKEN_ENV = "EDGE_STUDIO_SERVE_TOKEN"  # keeps the token out of `ps` when started as a child
READY_MARK = "@@edge-studio-serving@@ "
MAX_IMAGE_PIXELS = 64 * 1024 * 1024  # decoded-image limit: a small PNG can expand to gigabytes
MODEL_FILE = "model.mindir"


class ServeError(ValueError):
    """The server cannot start as asked (bad model folder, unsafe bind, port in use)."""


class PayloadError(Exception):
    """A request the server refuses; becomes a short JSON error with this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


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


def check_model_dir(model_dir: str | Path) -> Path:
    folder = Path(model_dir)
    if folder.is_file() and folder.name.endswith(".mindir"):
        folder = folder.parent
    if not (folder / MODEL_FILE).is_file():
        raise ServeError(f"{folder}: no {MODEL_FILE} (serve a folder with model.mindir + preprocess.json, "
                         "e.g. a deployment package's cloud/ folder)")
    if not (folder / "preprocess.json").is_file():
        raise ServeError(f"{folder}: no preprocess.json next to {MODEL_FILE}")
    return folder


# -- the model (MindSpore, server process only) -------------------------------------------------
class MindSporeModel:
    """nn.GraphCell over the exported MindIR; one call at a time."""

    def __init__(self, folder: Path) -> None:
        os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))
        import mindspore as ms
        from mindspore import Tensor, nn

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


# -- request parsing ----------------------------------------------------------------------------
def _shape_from_text(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise PayloadError(400, f"X-Shape must be comma-separated integers, got {text[:40]!r}") from None
    return shape


def _tensor(raw: bytes, shape: tuple[int, ...], expected: tuple[int, ...]) -> np.ndarray:
    if shape != expected:
        raise PayloadError(422, f"the model takes shape {list(expected)}, got {list(shape)}")
    need = math.prod(shape) * 4
    if len(raw) != need:
        raise PayloadError(422, f"shape {list(shape)} needs {need} bytes of float32, got {len(raw)}")
    x = np.frombuffer(raw, dtype="<f4").reshape(shape)
    if not np.isfinite(x).all():
        raise PayloadError(422, "the tensor holds NaN or infinity")
    return x


def tensor_from_json(body: bytes, expected: tuple[int, ...]) -> np.ndarray:
    try:
        payload = json.loads(body)
    except RecursionError:  # "[[[[…" a few thousand deep: Python's parser recurses per level
        raise PayloadError(400, "malformed JSON (nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of over 4300 digits
        raise PayloadError(400, f"malformed JSON ({exc.__class__.__name__}: {str(exc)[:80]})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), str):
        raise PayloadError(422, 'JSON must be {"shape": [..], "data": "<base64 float32 bytes>"}')
    shape = payload.get("shape", list(expected))
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise PayloadError(422, '"shape" must be a list of integers')
    try:
        raw = base64.b64decode(payload["data"], validate=True)
    except (binascii.Error, ValueError):
        raise PayloadError(422, '"data" is not valid base64') from None
    return _tensor(raw, tuple(shape), expected)


def tensor_from_raw(body: bytes, shape_header: str | None, expected: tuple[int, ...]) -> np.ndarray:
    shape = _shape_from_text(shape_header) if shape_header else expected
    return _tensor(body, shape, expected)


def image_from_bytes(body: bytes, gray: bool) -> np.ndarray:
    """PNG/JPEG/BMP bytes → 8-bit gray or BGR (OpenCV converts alpha, 16-bit and palettes)."""
    import cv2

    flag = cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR
    try:
        image = cv2.imdecode(np.frombuffer(body, np.uint8), flag) if body else None
    except cv2.error as exc:  # OpenCV raises (not returns None) when the header claims too many pixels
        if "CV_IO_MAX_IMAGE" in str(exc):  # _PIXELS, _WIDTH or _HEIGHT
            raise PayloadError(413, f"the image is larger than the server's limit of {MAX_IMAGE_PIXELS} "
                                    "pixels (or 2^20 pixels a side)") from None
        raise PayloadError(400, "the body is not an image OpenCV can decode (PNG, JPEG, BMP)") from None
    if image is None:
        raise PayloadError(400, "the body is not an image OpenCV can decode (PNG, JPEG, BMP)")
    return image


def encode_outputs(outputs: list[np.ndarray]) -> list[dict]:
    return [{"shape": list(o.shape), "dtype": o.dtype.name,
             "data": base64.b64encode(np.ascontiguousarray(o).tobytes()).decode()} for o in outputs]


def decode_outputs(items: list[dict]) -> list[np.ndarray]:
    return [np.frombuffer(base64.b64decode(o["data"]), dtype=np.dtype(o["dtype"]).newbyteorder("<"))
            .reshape(o["shape"]) for o in items]


# -- the app ------------------------------------------------------------------------------------
def _memory() -> dict:
    import resource

    import psutil

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"rss_mb": round(psutil.Process().memory_info().rss / 2**20, 2), "peak_rss_mb": round(peak_kib / 1024, 2)}


def create_app(model: Any, token: str | None = None, max_body: int = int(DEFAULT_MAX_BODY_MB * 2**20)):
    """The FastAPI app around a loaded model (anything with .predict, .input_shape, .spec)."""
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

    def run(x: np.ndarray) -> Response:  # on the event loop: one inference at a time, no thread hops
        started = time.perf_counter()
        outputs = model.predict(np.ascontiguousarray(x, dtype=np.float32))
        server_ms = (time.perf_counter() - started) * 1000
        body = json.dumps({"outputs": encode_outputs(outputs), "server_ms": server_ms})
        return Response(body, media_type="application/json")

    def content_type(request: Request) -> str:
        return request.headers.get("content-type", "").split(";")[0].strip().lower()

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "model": f"{model.folder.name}/{MODEL_FILE}", "runtime": "mindspore",
                "mindspore": model.version, "input_shape": list(model.input_shape),
                "input_name": model.spec.input_name, "labels": model.labels, "load_ms": round(model.load_ms, 2),
                "size_bytes": (model.folder / MODEL_FILE).stat().st_size,
                "max_body_bytes": max_body, "pid": os.getpid(), **_memory()}

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
        return run(readers[kind](await read_body(request), request))

    @app.post("/predict/image")
    async def predict_image(request: Request) -> Response:
        kind = content_type(request)
        if not (kind.startswith("image/") or kind == "application/octet-stream"):
            raise PayloadError(415, f"send the image file's bytes (image/png, image/jpeg), not {kind or 'nothing'}")
        image = image_from_bytes(await read_body(request), gray=model.spec.channels == 1)
        return run(model.spec.apply(image))

    @app.exception_handler(404)
    async def not_found(request: Request, exc) -> JSONResponse:
        return error(404, f"no endpoint {request.url.path} (use /health, /predict, /predict/image)")

    @app.exception_handler(405)
    async def wrong_method(request: Request, exc) -> JSONResponse:
        return error(405, f"{request.method} is not allowed on {request.url.path}")

    return app


def serve(model_dir: str | Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT, token: str | None = None,
          max_body: int = int(DEFAULT_MAX_BODY_MB * 2**20), announce: bool = False) -> None:
    """Load the MindIR with full MindSpore and serve it until interrupted (this process only)."""
    check_bind(host, token)
    if os.environ.get("EDGE_STUDIO_BACKGROUND"):  # started by the app: yield the CPU to its GUI
        from app.core.child import lower_priority

        lower_priority()
    folder = check_model_dir(model_dir)
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
    model = MindSporeModel(folder)
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(model, token, max_body), log_level="warning",
                                           access_log=False, server_header=False))
    bound_port = sock.getsockname()[1]
    where = f"http://{'[' + host + ']' if ':' in host else host}:{bound_port}"
    if announce:  # started by start_server_process, which reads this line
        print(READY_MARK + json.dumps({"url": where, "pid": os.getpid()}), flush=True)
        threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    else:
        print(f"Serving {folder / MODEL_FILE} (MindSpore {model.version}) on {where}"
              f"{' (token required)' if token else ''}; Ctrl+C stops", file=sys.stderr, flush=True)
    server.run(sockets=[sock])


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


def _terminate(process: subprocess.Popen, log_path: Path) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)  # uvicorn shuts down cleanly on SIGTERM
            process.wait(timeout=5)
        except (ProcessLookupError, PermissionError):
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process.stdout:
        process.stdout.close()
    log_path.unlink(missing_ok=True)


AUTO = "auto"


def start_server_process(model_dir: str | Path, port: int = 0, host: str = "127.0.0.1",
                         token: str | None = AUTO, max_body_mb: float = DEFAULT_MAX_BODY_MB,
                         timeout: float = 90.0) -> ServerHandle:
    """Run `edge-studio serve` as a child and return once it answers /health.

    port=0 picks a free port; token="auto" makes a random one (None: no token, loopback only)."""
    from app.core.child import child_env, entry_command
    from converters.targets import require_mindspore

    require_mindspore("The cloud tier")
    check_bind(host, None if token == AUTO else token)
    folder = check_model_dir(model_dir).resolve()
    token = secrets.token_urlsafe(18) if token == AUTO else token
    env = child_env()
    env["EDGE_STUDIO_BACKGROUND"] = "1"
    env.pop(TOKEN_ENV, None)
    if token:
        env[TOKEN_ENV] = token
    env.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))
    fd, log_name = tempfile.mkstemp(prefix="edge-studio-serve-", suffix=".log")
    log_path = Path(log_name)
    with os.fdopen(fd, "wb") as log:
        process = subprocess.Popen(entry_command() + ["serve", "--model", str(folder), "--host", host,
                                                      "--port", str(port), "--max-body-mb", str(max_body_mb),
                                                      "--announce"],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, env=env,
                                   text=True, encoding="utf-8", errors="replace", start_new_session=True)
    found: dict = {}

    def read_stdout() -> None:  # keep draining so a chatty child never blocks on a full pipe
        for line in process.stdout:
            if line.startswith(READY_MARK) and not found:
                found.update(json.loads(line[len(READY_MARK):]))

    threading.Thread(target=read_stdout, daemon=True).start()
    handle = ServerHandle("", token, process, log_path)
    handle._finalizer = weakref.finalize(handle, _terminate, process, log_path)
    deadline = time.monotonic() + timeout
    while not found and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if not found:
        message = handle.log().strip().splitlines()
        handle.stop()
        why = "timed out" if process.returncode is None or process.returncode < 0 else "failed"
        raise ServeError(f"the cloud server {why} while starting: {message[-1] if message else 'no output'}")
    handle.url = found["url"]
    return handle


# -- command line --------------------------------------------------------------------------------
def cmd_serve(args) -> int:
    from converters.targets import require_mindspore

    require_mindspore("The cloud tier")
    token = args.token or os.environ.get(TOKEN_ENV) or None
    try:
        serve(args.model, host=args.host, port=args.port, token=token,
              max_body=int(args.max_body_mb * 2**20), announce=args.announce)
    except KeyboardInterrupt:
        pass
    return 0


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("serve", help="the cloud tier: serve a MindIR with full MindSpore over HTTP")
    p.add_argument("--model", required=True, help="folder with model.mindir + preprocess.json (e.g. PKG/cloud)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (not loopback: --token is required)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    p.add_argument("--token", help=f"require 'Authorization: Bearer TOKEN' (or set {TOKEN_ENV})")
    p.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_MB, help="request size limit (413 above)")
    p.add_argument("--announce", action="store_true", help=argparse.SUPPRESS)  # for start_server_process
    p.set_defaults(func=cmd_serve)

"""CloudRuntime: the cloud tier behind the same interface as the in-process runtimes.

Each predict sends the tensor as raw float32 bytes over a keep-alive connection and records the
round trip and the server's own inference time. An optional WAN delay is *emulated*: slept here,
client-side, added to every round trip, and named `emulated_wan_delay_ms` in everything reported.
"""
from __future__ import annotations

import socket
import time
from collections import Counter, deque

import numpy as np

from app.core.cloud.server import is_loopback
from app.core.cloud.wire import decode_outputs


class CloudError(RuntimeError):
    """The cloud server is unreachable or refused a request; the message says which and why."""


class CloudRuntime:
    name = "cloud"

    def __init__(self, url: str, token: str | None = None, wan_delay_ms: float = 0.0, timeout: float = 30.0) -> None:
        import httpx

        if wan_delay_ms < 0:
            raise ValueError("wan_delay_ms must be ≥ 0")
        self.url = url.rstrip("/")
        self.emulated_wan_delay_ms = float(wan_delay_ms)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # A loopback server is never reached through an HTTP(S)_PROXY from the environment.
        local = is_loopback(httpx.URL(self.url).host)
        # TCP_NODELAY: headers and body go out as two writes; with Nagle's algorithm the second waits
        # for the server's delayed ACK (~40 ms per request on Linux).
        transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, trust_env=not local,
                                  transport=transport)
        self._httpx = httpx
        self.last_round_trip_ms = 0.0  # measured network + server time, plus the emulated delay
        self.last_server_ms = 0.0  # inference inside the server
        self.server_ms_log: deque[float] = deque(maxlen=100_000)  # per predict, for reports
        self.last_replica: str | None = None  # the Ray Serve replica that answered (None: one-process server)
        self.replica_counts: Counter[str] = Counter()  # answers per replica, for the scale reports
        self.server = self.health()
        self.input_shape = tuple(self.server["input_shape"])
        self._shape_header = ",".join(str(d) for d in self.input_shape)

    def _request(self, method: str, path: str, **kwargs):
        try:
            response = self._http.request(method, path, **kwargs)
        except self._httpx.TransportError as exc:
            raise CloudError(f"the cloud server at {self.url} is not reachable ({type(exc).__name__}: {exc}); "
                             "start it with `edge-studio serve --model DIR`") from None
        if response.status_code >= 400:
            try:
                why = response.json().get("error", response.text)
            except ValueError:
                why = response.text[:200]
            raise CloudError(f"the cloud server refused {path} (HTTP {response.status_code}): {why}")
        return response.json()

    def health(self) -> dict:
        return self._request("GET", "/health")

    def predict(self, x: np.ndarray) -> list[np.ndarray]:
        x = np.ascontiguousarray(x, dtype="<f4")
        shape = self._shape_header if x.shape == self.input_shape else ",".join(str(d) for d in x.shape)
        started = time.perf_counter()
        if self.emulated_wan_delay_ms:
            time.sleep(self.emulated_wan_delay_ms / 1000)
        answer = self._request("POST", "/predict", content=x.tobytes(),
                               headers={"Content-Type": "application/octet-stream", "X-Shape": shape})
        self.last_round_trip_ms = (time.perf_counter() - started) * 1000
        self.last_server_ms = answer["server_ms"]
        self.server_ms_log.append(self.last_server_ms)
        self.last_replica = answer.get("replica")
        if self.last_replica:
            self.replica_counts[self.last_replica] += 1
        return decode_outputs(answer["outputs"])

    def predict_image(self, data: bytes, content_type: str = "image/png") -> list[np.ndarray]:
        started = time.perf_counter()
        if self.emulated_wan_delay_ms:
            time.sleep(self.emulated_wan_delay_ms / 1000)
        answer = self._request("POST", "/predict/image", content=data, headers={"Content-Type": content_type})
        self.last_round_trip_ms = (time.perf_counter() - started) * 1000
        self.last_server_ms = answer["server_ms"]
        return decode_outputs(answer["outputs"])

    def describe(self) -> dict:
        """What a report must say about this runtime (the WAN delay is flagged as emulated)."""
        return {"runtime": "cloud", "url": self.url, "server_runtime": self.server.get("runtime"),
                "engine": self.server.get("engine", "uvicorn"), "where": self.server.get("ray", {}).get("where"),
                "mindspore": self.server.get("mindspore"), "model": self.server.get("model"),
                "emulated_wan_delay_ms": self.emulated_wan_delay_ms,
                "last_round_trip_ms": self.last_round_trip_ms, "last_server_ms": self.last_server_ms}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "CloudRuntime":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

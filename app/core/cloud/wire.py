"""The cloud tier's wire format, shared by both engines (uvicorn + MindSpore, Ray Serve) and the client.

Requests: raw little-endian float32 bytes (shape in `X-Shape`), a JSON `TensorPayload`, or image bytes.
Answers: a `PredictAnswer` (outputs as base64 `WireTensor`s, the inference time, and which replica
answered when an engine has several); refusals: an `ErrorAnswer` with the HTTP status in PayloadError.
The decoders turn every malformed payload into a PayloadError with a short message, never a traceback.
"""
from __future__ import annotations

import base64
import binascii
import json
import math

import numpy as np
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError

MAX_IMAGE_PIXELS = 64 * 1024 * 1024  # decoded-image limit: a small PNG can expand to gigabytes


class PayloadError(Exception):
    """A request the server refuses; becomes a short JSON error with this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class TensorPayload(BaseModel):
    """The JSON request body: {"shape": [1, 1, 28, 28], "data": "<base64 of float32 bytes>"}."""
    model_config = ConfigDict(extra="ignore")
    shape: list[StrictInt] | None = None  # strict: true, 28.0 and "28" are not dimensions
    data: StrictStr


class WireTensor(BaseModel):
    shape: list[int]
    dtype: str
    data: str  # base64 of the array's little-endian bytes

    @classmethod
    def of(cls, array: np.ndarray) -> WireTensor:
        return cls(shape=list(array.shape), dtype=array.dtype.name,
                   data=base64.b64encode(np.ascontiguousarray(array).tobytes()).decode())

    def array(self) -> np.ndarray:
        return (np.frombuffer(base64.b64decode(self.data), dtype=np.dtype(self.dtype).newbyteorder("<"))
                .reshape(self.shape))


class PredictAnswer(BaseModel):
    outputs: list[WireTensor]
    server_ms: float  # inference inside the server (the replica's own time on Ray)
    replica: str | None = None  # the Ray Serve replica that answered; None for the single-process server


class ErrorAnswer(BaseModel):
    error: str


# -- requests -------------------------------------------------------------------------------------
def shape_from_text(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise PayloadError(400, f"X-Shape must be comma-separated integers, got {text[:40]!r}") from None


def tensor(raw: bytes, shape: tuple[int, ...], expected: tuple[int, ...]) -> np.ndarray:
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
    try:  # the standard parser first: its failures are malformed JSON (400), the model's are wrong fields (422)
        parsed = json.loads(body)
    except RecursionError:  # "[[[[…" a few thousand deep: Python's parser recurses per level
        raise PayloadError(400, "malformed JSON (nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of over 4300 digits
        raise PayloadError(400, f"malformed JSON ({exc.__class__.__name__}: {str(exc)[:80]})") from None
    if not isinstance(parsed, dict):
        raise PayloadError(422, 'JSON must be {"shape": [..], "data": "<base64 float32 bytes>"}')
    try:
        payload = TensorPayload.model_validate(parsed)
    except ValidationError as exc:
        field = exc.errors()[0]["loc"][0] if exc.errors()[0]["loc"] else ""
        if field == "shape":
            raise PayloadError(422, '"shape" must be a list of integers') from None
        raise PayloadError(422, 'JSON must be {"shape": [..], "data": "<base64 float32 bytes>"}') from None
    if "shape" in payload.model_fields_set and payload.shape is None:  # "shape": null is not "no shape"
        raise PayloadError(422, '"shape" must be a list of integers')
    try:
        raw = base64.b64decode(payload.data, validate=True)
    except (binascii.Error, ValueError):
        raise PayloadError(422, '"data" is not valid base64') from None
    return tensor(raw, tuple(payload.shape if payload.shape is not None else expected), expected)


def tensor_from_raw(body: bytes, shape_header: str | None, expected: tuple[int, ...]) -> np.ndarray:
    shape = shape_from_text(shape_header) if shape_header else expected
    return tensor(body, shape, expected)


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


# -- answers --------------------------------------------------------------------------------------
def answer_json(outputs: list[np.ndarray], server_ms: float, replica: str | None = None) -> str:
    return PredictAnswer(outputs=[WireTensor.of(o) for o in outputs], server_ms=server_ms,
                         replica=replica).model_dump_json(exclude_none=True)


def encode_outputs(outputs: list[np.ndarray]) -> list[dict]:
    return [WireTensor.of(o).model_dump() for o in outputs]


def decode_outputs(items: list[dict]) -> list[np.ndarray]:
    return [WireTensor.model_validate(o).array() for o in items]


def read_answer(body: dict) -> PredictAnswer:
    return PredictAnswer.model_validate(body)

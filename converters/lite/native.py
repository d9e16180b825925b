"""ctypes bindings to our two shims. Only the converter child loads the converter shim."""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import tempfile
import threading
from ctypes import POINTER, c_char_p, c_double, c_int, c_size_t, c_void_p
from pathlib import Path
from typing import Iterator

from converters.lite import paths
from converters.lite.errors import LiteError

_loaded: dict[str, ctypes.CDLL] = {}
_load_lock = threading.Lock()
_stderr_lock = threading.Lock()

_SIGNATURES = {
    paths.RUNTIME_SHIM: {
        "es_last_error": (c_char_p, []),
        "es_version": (c_char_p, []),
        "es_model_load": (c_void_p, [c_char_p, c_int, c_int, c_int, c_char_p]),
        "es_model_free": (None, [c_void_p]),
        "es_model_info": (c_char_p, [c_void_p]),
        "es_model_resize": (c_int, [c_void_p, c_char_p]),
        "es_model_predict": (c_int, [c_void_p, POINTER(c_void_p), POINTER(c_size_t),
                                     POINTER(c_void_p), POINTER(c_size_t)]),
        "es_model_time_predict": (c_int, [c_void_p, c_int, POINTER(c_double)]),
        "es_model_time_call": (c_int, [c_void_p, c_int, POINTER(c_void_p), POINTER(c_size_t),
                                       POINTER(c_void_p), POINTER(c_size_t), POINTER(c_double)]),
        "es_model_profile": (c_char_p, [c_void_p, c_int]),
        "es_model_trace": (c_char_p, [c_void_p]),
        "es_model_trace_data": (c_void_p, [c_void_p, POINTER(c_size_t)]),
    },
    paths.CONVERTER_SHIM: {
        "es_last_error": (c_char_p, []),
        "es_convert": (c_int, [c_int, c_char_p, c_char_p, c_char_p, c_int, c_int, c_char_p, c_int,
                               c_char_p, c_int]),
    },
}


@contextlib.contextmanager
def _caller_float_mode():
    """Lite's libraries switch the loading thread to flush-denormals-to-zero in their static
    initialisers; put the caller's floating-point mode back (the shim guards its own calls)."""
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    saved = ctypes.create_string_buffer(64)  # fenv_t is 32 bytes on x86-64 glibc
    libm.fegetenv(saved)
    try:
        yield
    finally:
        libm.fesetenv(saved)


def _load(shim: str) -> ctypes.CDLL:
    with _load_lock:
        if shim in _loaded:
            return _loaded[shim]
        path = paths.lite_home() / shim
        if not path.exists():
            raise LiteError(f"the Lite bridge is not built ({path} is missing): "
                            "run `python -m converters.lite.build` (make setup)")
        os.environ.setdefault("GLOG_v", "3")  # read by Lite's logger when it loads
        try:
            with _caller_float_mode():
                lib = ctypes.CDLL(str(path))
        except OSError as exc:
            raise LiteError(f"cannot load the Lite bridge {path.name}: {exc}") from exc
        for name, (restype, argtypes) in _SIGNATURES[shim].items():
            func = getattr(lib, name)
            func.restype, func.argtypes = restype, argtypes
        _loaded[shim] = lib
        return lib


def runtime() -> ctypes.CDLL:
    return _load(paths.RUNTIME_SHIM)


def converter() -> ctypes.CDLL:
    return _load(paths.CONVERTER_SHIM)


def last_error(lib: ctypes.CDLL) -> str:
    return (lib.es_last_error() or b"").decode("utf-8", "replace")


@contextlib.contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """Capture what native code writes to fd 2 (Lite's log) during the block.

    Used around loads and resizes only, never per frame. Yields a list that receives the text.
    """
    out: list[str] = []
    with _stderr_lock, tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            yield out
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read()[-100_000:].decode("utf-8", "replace"))


def encode_path(path: str | Path) -> bytes:
    return os.fsencode(str(path))

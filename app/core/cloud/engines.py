"""What each cloud engine needs installed, checked without importing it.

The launcher (server.start_server_process) checks before it starts a child, and the Ray engine
(ray_engine) raises the same EngineError once running: both import this module, neither the other.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


class EngineError(ValueError):
    """The Ray engine cannot start as asked (Ray missing, bad --autoscale, cluster unreachable)."""


def require_ray() -> None:
    """Without importing Ray: its settings are read at import, and _ray_environment() must come first."""
    if getattr(sys, "frozen", False):  # Ray starts Python workers: it needs a real interpreter beside it
        raise EngineError("the Ray engine runs from a Python install (pip install edge-studio), "
                          "not from the packaged app")
    spec = importlib.util.find_spec("ray")
    if spec is None or not any((Path(p) / "serve").is_dir() for p in spec.submodule_search_locations or ()):
        raise EngineError("the Ray engine needs Ray Serve: pip install 'ray[serve]'")
    if importlib.util.find_spec("starlette") is None or importlib.util.find_spec("aiohttp") is None:
        raise EngineError("Ray is installed without Serve's extras: pip install 'ray[serve]'")

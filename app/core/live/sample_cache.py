"""Built live samples, kept by content hash: the app converts a sample once, not at every start.

A sample's Lite file (and its sidecars) is a pure function of the code that builds it, the sample
files it starts from and the converter; the key hashes all of them, so a change to any of them
builds a fresh copy and an old copy is never used by mistake. Entries are written into a temp
folder and renamed into place, so a killed build leaves no half entry behind.
"""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable

import converters
import sample_models

# the builders of the live samples (samples.py, which imports this module): their code is part of the key
BUILDERS_CODE = Path(__file__).with_name("samples.py")

CACHE_FORMAT = "1"  # bump when the layout of an entry changes


def cache_root() -> Path:
    from sample_models.face_detection import cache_dir

    return cache_dir().parent / "live-samples"


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """What decides a built sample besides its name: our builders, the sample files, the converter."""
    digest = hashlib.sha256(CACHE_FORMAT.encode())
    roots = [BUILDERS_CODE, Path(sample_models.__file__).parent, Path(converters.__file__).parent]
    files = sorted(p for root in roots for p in ([root] if root.is_file() else root.rglob("*"))
                   if p.is_file() and p.suffix in (".py", ".json", ".onnx", ".cpp", ".h"))
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    if getattr(sys, "frozen", False):  # no source files to read: the build itself names the code
        digest.update(str(os.stat(sys.executable).st_mtime_ns).encode())
    return digest.hexdigest()[:16]


def entry_folder(name: str) -> Path:
    return cache_root() / f"{name}-{_code_digest()}"


def cached(name: str) -> Path | None:
    """The built file of sample `name`, if it is in the cache."""
    folder = entry_folder(name)
    marker = folder / ".model"
    if not marker.is_file():
        return None
    path = folder / marker.read_text(encoding="utf-8").strip()
    return path if path.is_file() else None


def build(name: str, builders: dict[str, Callable[[Path], Path]]) -> Path:
    """The built file of sample `name`: from the cache, or built now (in this process) by
    `builders[name]` (samples.BUILDERS) and kept."""
    if (found := cached(name)) is not None:
        return found
    folder = entry_folder(name)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{name}-"))
    try:
        built = builders[name](staging)
        relative = built.relative_to(staging)
        (staging / ".model").write_text(str(relative), encoding="utf-8")
        try:
            os.rename(staging, folder)  # atomic; fails if another process finished first
        except OSError:
            if cached(name) is None:
                raise
        return cached(name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def prune(keep_digest: str | None = None) -> list[Path]:
    """Remove entries built by other versions of the code (they can never be used again)."""
    keep = keep_digest or _code_digest()
    removed = []
    for folder in cache_root().glob("*-*"):
        if folder.is_dir() and not folder.name.startswith(".") and not folder.name.endswith(f"-{keep}"):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed

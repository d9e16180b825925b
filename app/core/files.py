"""Atomic file writes: a reader sees the old file or the new one, never half of one."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | Path, data: Any) -> Path:
    return write_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def publish_dir(staged: Path, target: Path) -> Path:
    """Move every file of a finished staging folder into `target`, each by an atomic rename."""
    target.mkdir(parents=True, exist_ok=True)
    for item in sorted(staged.rglob("*")):
        if item.is_file():
            dest = target / item.relative_to(staged)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(item, dest)
    shutil.rmtree(staged, ignore_errors=True)
    return target

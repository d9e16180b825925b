"""What goes into the frozen folder besides the Python modules PyInstaller finds itself.

Used by build.spec; every function returns PyInstaller `datas` tuples (source file, folder in
the bundle). Kept out of the spec so the choices can be read (and tested) as plain Python.
"""
from __future__ import annotations

import ast
import functools
import importlib.util
import json
import sys
from pathlib import Path

from app.core.self_test import (
    BUILD_INFO,  # in the bundle's root: flavour and versions, read by --self-test
)
from converters.lite import paths

ROOT = Path(__file__).resolve().parents[1]
FLAVOURS = ("lean", "full")
ICON = ROOT / "app" / "gui" / "resources" / "edge-studio.svg"  # the window's icon and the menu entry's

# MindSpore parts a CPU-only build never loads (about 1.8 GB of its 2.5 GB).
MINDSPORE_SKIP = ("lib/plugin/gpu", "lib/plugin/ascend", "lib/plugin/libmindspore_gpu",
                  "lib/plugin/libmindspore_ascend", "lib/plugin/libmindspore_ops_ascend", "include/", "__pycache__")
# What MindSpore imports (its Requires-Dist, minus what the lean build already freezes).
MINDSPORE_DEPENDENCIES = ("scipy", "asttokens", "astunparse", "six", "dill", "safetensors", "PIL")


def lite_datas() -> list[tuple[str, str]]:
    """The Lite 2.0 libraries and our two shims, laid out as paths.lite_home() expects when frozen.

    They go in as data, not binaries: the shims find the libraries through their rpath
    ($ORIGIN/lib), and PyInstaller's binary handling would relocate them."""
    home = paths.lite_home()
    missing = [name for name in (paths.RUNTIME_SHIM, paths.CONVERTER_SHIM) if not (home / name).is_file()]
    missing += [name for name in paths.NEEDED_LIBS if not (home / "lib" / name).is_file()]
    if missing:
        raise SystemExit(f"{home} lacks {', '.join(missing)}: run `make setup` first")
    return ([(str(home / name), "lite") for name in (paths.RUNTIME_SHIM, paths.CONVERTER_SHIM)]
            + [(str(home / "lib" / name), "lite/lib") for name in paths.NEEDED_LIBS])


def is_rpath_duplicate(entry: tuple[str, str, str]) -> bool:
    """A TOC entry that copies a Lite or MindSpore library to the bundle's top level.

    PyInstaller follows the links of the shims and of MindSpore's extension modules and copies
    what they need next to the executable. Those copies are never loaded (each library finds
    its neighbours through its own rpath) and some share a name across the two stacks
    (libmindspore_core.so), so they go (see build.spec)."""
    dest, source = entry[0], Path(entry[1]).resolve()
    return any(home in source.parents and not dest.startswith(prefix) for prefix, home in _rpath_homes().items())


@functools.cache
def _rpath_homes() -> dict[str, Path]:
    """bundle folder → source folder of the libraries that load their neighbours through their rpath."""
    homes = {"lite/": paths.lite_home().resolve()}
    if importlib.util.find_spec("mindspore") is not None:
        homes["mindspore/"] = _package_dir("mindspore").resolve()
    return homes


def sample_datas() -> list[tuple[str, str]]:
    """The digits sample, the face sample's manifest and, when cached, the face detector itself
    (so the booth needs no network on first run)."""
    from sample_models.face_detection import cache_dir, manifest

    datas = [(str(p), "sample_models/digits") for p in sorted((ROOT / "sample_models" / "digits").iterdir())
             if p.is_file()]
    datas += [(str(p), "sample_models") for p in sorted((ROOT / "sample_models").glob("*.json"))]
    datas.append((str(ICON), "app/gui/resources"))
    face = cache_dir() / manifest()["file"]
    if face.is_file():
        datas.append((str(face), "models"))
    return datas


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"the full flavour needs {name} installed in the build environment")
    return Path(next(iter(spec.submodule_search_locations)))


def mindspore_datas() -> list[tuple[str, str]]:
    """MindSpore's package tree (CPU parts) and dist-info, copied as files."""
    package = _package_dir("mindspore")
    site = package.parent
    datas = []
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(site).as_posix()
        inner = path.relative_to(package).as_posix()
        if path.is_file() and not any(inner.startswith(s) or s in relative for s in MINDSPORE_SKIP):
            datas.append((str(path), str(Path(relative).parent)))
    for info in site.glob("mindspore-*.dist-info"):
        datas += [(str(p), info.name) for p in info.iterdir() if p.is_file()]
    return datas


def mindspore_dependencies() -> list[str]:
    """Hidden imports for what the copied MindSpore tree imports: its own dependencies and every
    standard-library module its source names (PyInstaller cannot see into a data tree)."""
    from PyInstaller.utils.hooks import collect_submodules

    hidden = []
    for name in MINDSPORE_DEPENDENCIES:
        hidden += collect_submodules(name, filter=lambda m: ".tests" not in m and "._test" not in m)
    return hidden + sorted(_stdlib_imports(_package_dir("mindspore")))


def _stdlib_imports(package: Path) -> set[str]:
    names = set()
    for path in package.rglob("*.py"):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
    return {name for name in names if name.split(".")[0] in sys.stdlib_module_names}


def write_build_info(folder: Path, flavour: str) -> Path:
    """edge_studio_build.json (written to `folder`, then bundled): what --self-test reports."""
    from importlib import metadata

    info = {"flavour": flavour, "version": metadata.version("edge-studio"),
            "mindspore": metadata.version("mindspore") if flavour == "full" else None,
            "lite": paths.LITE_VERSION}
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / BUILD_INFO
    target.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return target

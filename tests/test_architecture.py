"""The layering contract, no import circles, and Qt staying in app/gui.

Layers, lowest first: jobs → converters → sample_models → app.core → app.commands → app.gui → app.cli.
A module may import its own layer and the ones below, never one above (lazy imports inside
functions count too). No two project modules import each other, directly or round a longer loop
(lazy and TYPE_CHECKING imports count here too). Only app.gui imports PySide6."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT_FREE = [ROOT / "app" / "core", ROOT / "app" / "commands", ROOT / "converters", ROOT / "jobs", ROOT / "sample_models"]
LAYERS = ("jobs", "converters", "sample_models", "app.core", "app.commands", "app.gui", "app.cli")


def _imports(path: Path, names: bool = False):
    """Every module an import statement anywhere in the file names. names=True: `from a import b` gives
    "a.b" (a module when b is one; else the caller falls back to a)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield from ((f"{node.module}.{alias.name}" for alias in node.names) if names else [node.module])


def test_no_qt_imports_in_core_or_converters():
    offenders = [f"{path.relative_to(ROOT)} imports {name}"
                 for folder in QT_FREE for path in folder.rglob("*.py")
                 for name in _imports(path) if name.split(".")[0] in {"PySide6", "shiboken6", "PyQt5", "PyQt6"}]
    assert not offenders, "\n".join(offenders)


def test_importing_core_loads_no_qt():
    modules = sorted({".".join(p.relative_to(ROOT).with_suffix("").parts)
                      for folder in QT_FREE for p in folder.rglob("*.py") if p.name != "__main__.py"})
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_mindspore_never_imported_with_lite():
    """The GUI/Lite process must not import mindspore (the two cannot share a process)."""
    offenders = [str(p.relative_to(ROOT)) for folder in [ROOT / "converters", ROOT / "app" / "gui"]
                 for p in folder.rglob("*.py") if "mindspore" in {n.split(".")[0] for n in _imports(p)}]
    assert not offenders, offenders


def test_display_check_is_quiet_offscreen(monkeypatch):
    from app.gui import display_check

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert display_check.main() == 0  # offscreen needs no X11 libraries
    assert isinstance(display_check.missing_libraries(), list)


def _layer(module: str) -> int | None:
    """The index of the layer a dotted module name belongs to (None: third-party or stdlib)."""
    for index in range(len(LAYERS) - 1, -1, -1):
        name = LAYERS[index]
        if module == name or module.startswith(name + "."):
            return index
    return None


def layering_violations(root: Path = ROOT) -> list[str]:
    found = []
    for top in ("jobs", "converters", "sample_models", "app"):
        for path in (root / top).rglob("*.py"):
            own = _layer(".".join(path.relative_to(root).with_suffix("").parts))
            if own is None:
                continue  # app/__main__.py, app/__init__.py: the entry point sits above every layer
            for name in _imports(path):
                target = _layer(name)
                if target is not None and target > own:
                    found.append(f"{path.relative_to(root)} ({LAYERS[own]}) imports {name} ({LAYERS[target]})")
    return found


def test_layering_contract():
    assert not layering_violations(), "\n".join(layering_violations())


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Project module → the project modules its import statements name (a package is its __init__). The
    parent package Python runs on the way to a submodule is not an edge: that loop is how packages work."""
    files = {}
    for top in ("jobs", "converters", "sample_models", "app"):
        for path in (root / top).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def module_of(name: str) -> str | None:  # "a.b.func" → "a.b": the longest prefix that is a module
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    return {module: {module_of(name) for name in _imports(path, names=True)} - {None, module}
            for module, path in files.items()}


def import_cycles(root: Path = ROOT) -> list[str]:
    """Each set of modules that import each other (a strongly connected component), as one loop through it."""
    graph = import_graph(root)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:  # Tarjan's algorithm; the graph is ~200 modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(_loop(graph, set(component)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def _loop(graph: dict[str, set[str]], component: set[str]) -> str:
    """The shortest loop from the component's first module back to itself (breadth first), as a → b → a."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & component):
            if w == start:
                return " → ".join(paths[v] + [start])
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    raise AssertionError(f"no loop through {sorted(component)}")


def test_no_import_cycles():
    assert not import_cycles(), "import circles (move what both sides need to the module that owns it):\n" + \
        "\n".join(import_cycles())


def test_cycle_check_catches_a_two_file_circle(tmp_path):
    """The check itself: two modules importing each other (one lazily, one for types only) are reported;
    a package's __init__ re-exporting its submodule is not a circle."""
    for package in ("jobs", "converters/lite", "sample_models", "app/core"):
        (tmp_path / package).mkdir(parents=True)
    (tmp_path / "app" / "core" / "a.py").write_text("from app.core.b import helper\n")
    (tmp_path / "app" / "core" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.core import a\n"
        "def helper():\n    from app.core.a import x\n")
    (tmp_path / "converters" / "lite" / "__init__.py").write_text("from converters.lite.convert import convert\n")
    (tmp_path / "converters" / "lite" / "convert.py").write_text("from converters.lite.errors import E\n")
    (tmp_path / "converters" / "lite" / "errors.py").write_text("class E(Exception): pass\n")
    assert import_cycles(tmp_path) == ["app.core.a → app.core.b → app.core.a"]
    (tmp_path / "converters" / "lite" / "errors.py").write_text("from converters.lite import convert\n")
    assert import_cycles(tmp_path)[1] == "converters.lite.convert → converters.lite.errors → converters.lite.convert"


def test_layering_contract_catches_an_arrow_back_up(tmp_path):
    """The check itself: a converters module importing app.core is reported."""
    for package in ("jobs", "converters", "sample_models", "app/core"):
        (tmp_path / package).mkdir(parents=True)
    (tmp_path / "converters" / "bad.py").write_text("def f():\n    from app.core.files import write_json\n")
    (tmp_path / "jobs" / "fine.py").write_text("import json\n")
    assert layering_violations(tmp_path) == ["converters/bad.py (converters) imports app.core.files (app.core)"]


def test_dev_only_code_is_not_in_the_product():
    """conformance and the MindSpore bench child live under bench/, which the frozen build leaves out."""
    assert not (ROOT / "converters" / "lite" / "conformance.py").exists()
    assert "bench" not in (ROOT / "build.spec").read_text().replace("benchmark", "")


def test_core_is_plain_functions_and_data():
    """The CLI lives in app/commands: nothing under app/core parses arguments or prints with rich."""
    offenders = [f"{path.relative_to(ROOT)} imports {name}" for path in (ROOT / "app" / "core").rglob("*.py")
                 for name in _imports(path) if name.split(".")[0] in {"argparse", "rich"}]
    assert not offenders, "\n".join(offenders)

"""The layering contract, and Qt staying in app/gui.

Layers, lowest first: jobs → converters → sample_models → app.core → app.commands → app.gui → app.cli.
A module may import its own layer and the ones below, never one above (lazy imports inside
functions count too). Only app.gui imports PySide6."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT_FREE = [ROOT / "app" / "core", ROOT / "app" / "commands", ROOT / "converters", ROOT / "jobs", ROOT / "sample_models"]
LAYERS = ("jobs", "converters", "sample_models", "app.core", "app.commands", "app.gui", "app.cli")


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


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

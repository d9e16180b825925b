"""Qt stays in app/gui: nothing under app/core or converters imports PySide6 (statically or at run time)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT_FREE = [ROOT / "app" / "core", ROOT / "converters"]


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

"""The Export-report bug's class: Qt's clicked(bool) and triggered(bool) pass `checked` to a slot that takes a
parameter, so `button.clicked.connect(self.export)` called export(False) and did nothing. Every such
connection in app/gui is found here from the source (AST) and must go to a slot without parameters, or
through a lambda/partial that says what it passes."""
from __future__ import annotations

import ast
from pathlib import Path

GUI = Path(__file__).resolve().parents[1] / "app" / "gui"
SIGNALS = {"clicked", "triggered"}  # toggled(bool) is meant to pass its bool


def _positional(fn: ast.FunctionDef) -> list[str]:
    """The parameters a signal's arguments would fill (self excluded)."""
    names = [a.arg for a in fn.args.posonlyargs + fn.args.args]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    return names + ([f"*{fn.args.vararg.arg}"] if fn.args.vararg else [])


def bad_connections(source: str, where: str = "<source>") -> list[str]:
    """`x.clicked.connect(slot)` / `x.triggered.connect(slot)` whose slot, a method of this module's
    classes (or a function of the module), takes a positional parameter."""
    tree = ast.parse(source)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    methods: dict[str, list[ast.FunctionDef]] = {}
    found = []
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        own = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}
        for name, fn in own.items():
            methods.setdefault(name, []).append(fn)
        for call in (n for n in ast.walk(cls) if isinstance(n, ast.Call)):
            func = call.func
            if not (isinstance(func, ast.Attribute) and func.attr == "connect" and isinstance(func.value, ast.Attribute)
                    and func.value.attr in SIGNALS and call.args):
                continue
            slot = call.args[0]
            if isinstance(slot, ast.Attribute) and isinstance(slot.value, ast.Name) and slot.value.id == "self":
                target = own.get(slot.attr)  # None: a Qt slot such as self.close (C++ slots take no bool)
            elif isinstance(slot, ast.Name):
                target = functions.get(slot.id)
            else:
                continue  # a lambda, a partial, another object's method: checked where they are written
            if target is not None and _positional(target):
                found.append(f"{where}:{call.lineno}: {func.value.attr} → {ast.unparse(slot)}"
                             f"({', '.join(_positional(target))})")
    return found


def test_the_checker_finds_the_export_bug():
    buggy = ("class Page:\n    def __init__(self):\n        self.export_button.clicked.connect(self.export)\n"
             "        self.quit.triggered.connect(self.close)\n        self.ok.clicked.connect(lambda: self.export())\n"
             "    def export(self, path=None):\n        pass\n")
    assert bad_connections(buggy) == ["<source>:3: clicked → self.export(path)"]


def test_no_clicked_or_triggered_slot_takes_a_parameter():
    files = sorted(GUI.rglob("*.py"))
    assert len(files) > 20  # the whole GUI package is read
    found = [bad for path in files for bad in bad_connections(path.read_text(), str(path.relative_to(GUI)))]
    assert not found, "clicked/triggered pass a bool into these slots' first parameter:\n" + "\n".join(found)

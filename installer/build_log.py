"""Build output a person can trust: known-harmless PyInstaller and setuptools messages are counted, not shown.

PyInstaller prints dozens of WARNING/ERROR lines about things this app never uses (Windows DLLs, Ascend NPU
libraries MindSpore links optionally, a `typing.io` alias Python removed); pip's editable install prints a
framed setuptools notice. Each kind is a row of HARMLESS with the reason it is harmless; whatever matches no
row is printed as it came. One summary line says what was left out and where the whole log is.

Also a filter for a pipe: `… 2>&1 | python -m installer.build_log` (the Makefile's pip installs).
"""
from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Harmless:
    pattern: str  # a line (or, with `until`, the first line of a block) to leave out
    why: str
    until: str | None = None  # a block: every line up to and including the first that matches this

    def starts(self, line: str) -> bool:
        return re.search(self.pattern, line) is not None


HARMLESS = (
    Harmless(r"BuildBackendWarning: Editable installation", "setuptools' editable-install notice",
             until=r"with strategy, WheelFile"),
    Harmless(r"^WARNING: Location '.*' is ignored", "pip: an extra index folder this machine lacks"),
    Harmless(r"Hidden import '(typing\.io|typing\.re)' not found",
             "typing.io/typing.re: aliases Python 3.11 removed; PyInstaller's stdlib hook still names them"),
    Harmless(r"could not resolve '[^']+', dependency of '[^']*mindspore/lib/(plugin/ascend/|libmindspore_ge|"
             r"libmindspore_ascend)", "Ascend NPU libraries MindSpore loads only on Ascend hardware"),
    Harmless(r"could not resolve 'libmpi\.so[.0-9]*', dependency of '[^']*mindspore/lib/libmpi_collective",
             "MPI for MindSpore's multi-machine training (not used)"),
    Harmless(r"could not resolve '[^']+', dependency of '[^']*ai_edge_litert/vendors/",
             "LiteRT's vendor delegates (OpenVINO, Qualcomm QNN; not used)"),
    Harmless(r"Library (shell32|ole32|user32|msvcrt|kernel32|advapi32|gdi32|oleaut32|ws2_32) required via "
             r"ctypes not found", "Windows libraries named in ctypes code (a Linux build)"),
    Harmless(r'Hidden import "pycparser\.(lextab|yacctab)" not found',
             "pycparser's parser tables (built when needed)"),
    Harmless(r'Hidden import "scipy\.special\._cdflib" not found', "a module this SciPy no longer has"),
    Harmless(r"Failed to collect submodules for '(scipy\._lib\.array_api_compat\.(torch|cupy|dask|jax)|"
             r"pyqtgraph\.opengl)'", "optional backends not installed (torch, OpenGL)"),
)


def split(lines: Iterable[str], rules: tuple[Harmless, ...] = HARMLESS) -> tuple[list[str], Counter]:
    """(the lines to show, how many lines of each harmless kind were left out)."""
    shown: list[str] = []
    left_out: Counter = Counter()
    block: Harmless | None = None
    for line in lines:
        if block is not None:
            left_out[block.why] += 0  # counted once, at its first line
            if re.search(block.until or "", line):
                block = None
            continue
        rule = next((r for r in rules if r.starts(line)), None)
        if rule is None:
            shown.append(line)
            continue
        left_out[rule.why] += 1
        if rule.until and not re.search(rule.until, line):
            block = rule
    return shown, left_out


def summary(left_out: Counter, log: str | None = None) -> str | None:
    """One line: what was filtered and why; None when nothing was."""
    if not left_out:
        return None
    kinds = "; ".join(f"{why}: {n}" for why, n in left_out.most_common())
    where = f" (all of it in {log})" if log else ""
    return f"{sum(left_out.values())} known-harmless messages left out — {kinds}{where}"


def main() -> int:
    shown, left_out = split(sys.stdin)
    sys.stdout.writelines(shown)
    if line := summary(left_out):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The one exception type of the Lite bridge."""
from __future__ import annotations

import re

# "[ERROR] LITE(123,7f..,python):2026-.. [path/file.cc:130] Func] message" -> "Func: message"
_LOG_LINE = re.compile(r"^\[(ERROR|CRITICAL|EXCEPTION)\][^\[]*\[[^\]]*\]\s*(\w+)\]\s*(.*)$")


class LiteError(RuntimeError):
    """Raised for any failure of MindSpore Lite; the message carries Lite's own text."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


def lite_errors(log: str, limit: int = 6) -> list[str]:
    """Lite's distinct error messages from a log, in order, at most `limit` (the last ones)."""
    seen: dict[str, None] = {}
    for line in log.splitlines():
        m = _LOG_LINE.match(line.strip())
        if m:
            seen.setdefault(f"{m.group(2)}: {m.group(3).strip()}", None)
    return list(seen)[-limit:]


def with_lite_text(summary: str, log: str) -> LiteError:
    errors = lite_errors(log)
    text = summary if not errors else summary + "\n" + "\n".join(f"  Lite: {e}" for e in errors)
    return LiteError(text, log)


class MismatchError(LiteError):
    """Lite converted the model, but the artifact answers differently from the source model
    (verification's verdict WRONG). `verification` holds the numbers and the diverging node."""

    def __init__(self, message: str, verification) -> None:
        super().__init__(message)
        self.verification = verification

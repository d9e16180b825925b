"""Qt-free core of Edge Studio (importable and testable without a display)."""

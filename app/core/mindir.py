"""Tell a MindSpore-exported MindIR from a Lite-converted one without loading either.

Both are protobuf ModelProto files; field 5 (model_version) names the producing version:
MindSpore 2.10 writes "2.10.0" (Lite 2.0 rejects it: "mind ir version 3"); Lite writes "2.0.0".
"""
from __future__ import annotations

from pathlib import Path


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def header_strings(path: str | Path, limit: int = 4096) -> dict[int, str]:
    """The leading length-delimited string fields of the file, by field number."""
    data = Path(path).read_bytes()[:limit]
    fields, pos = {}, 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire != 2:
            break
        length, pos = _varint(data, pos)
        if length > 256:  # the graph itself: the header is over
            break
        fields[number] = data[pos:pos + length].decode("utf-8", "replace")
        pos += length
    return fields


def producer_version(path: str | Path) -> str:
    try:
        return header_strings(path).get(5, "")
    except (ValueError, OSError):
        return ""


def is_lite_mindir(path: str | Path) -> bool:
    return producer_version(path).startswith("2.0.")

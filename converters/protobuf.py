"""A minimal protobuf wire-format reader: enough to read a file's header fields and walk Caffe/TF
messages by field number without their packages. One varint reader for the whole project."""
from __future__ import annotations

from pathlib import Path


def varint(buf, i: int) -> tuple[int, int]:
    """(value, next position) of the varint at buf[i]."""
    result = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated or corrupt protobuf")
        b = buf[i]
        result |= (b & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if b < 0x80:
            return result, i


def fields(buf):
    """(field number, wire type, value) of one protobuf message; bytes fields as memoryviews."""
    i, n = 0, len(buf)
    while i < n:
        key, i = varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 2:
            size, i = varint(buf, i)
            value, i = buf[i:i + size], i + size
        elif wire in (1, 5):
            value, i = buf[i:i + (8 if wire == 1 else 4)], i + (8 if wire == 1 else 4)
        else:
            raise ValueError(f"corrupt protobuf (wire type {wire})")
        if i > n or num == 0:
            raise ValueError("truncated or corrupt protobuf")
        yield num, wire, value


# -- MindIR: tell a MindSpore-exported file from a Lite-converted one without loading either --------
# Both are protobuf ModelProto files; field 5 (model_version) names the producing version:
# MindSpore 2.10 writes "2.10.0" (Lite 2.0 rejects it: "mind ir version 3"); Lite writes "2.0.0".
def header_strings(path: str | Path, limit: int = 4096) -> dict[int, str]:
    """The leading length-delimited string fields of the file, by field number."""
    data = Path(path).read_bytes()[:limit]
    found, pos = {}, 0
    while pos < len(data):
        key, pos = varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire != 2:
            break
        length, pos = varint(data, pos)
        if length > 256:  # the graph itself: the header is over
            break
        found[number] = data[pos:pos + length].decode("utf-8", "replace")
        pos += length
    return found


def mindir_producer_version(path: str | Path) -> str:
    try:
        return header_strings(path).get(5, "")
    except (ValueError, OSError):
        return ""


def is_lite_mindir(path: str | Path) -> bool:
    return mindir_producer_version(path).startswith("2.0.")

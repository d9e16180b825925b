"""Lite's tensor against the reference's: put it in the reference's layout, and their cosine. Used by the
verification of whole outputs (verify.py) and by the node-by-node divergence search (lite/divergence.py)."""
from __future__ import annotations

import numpy as np


def align(got: np.ndarray, want: np.ndarray, layout: str = "", reference_layout: str = "NCHW") -> np.ndarray | None:
    """Lite's tensor in the reference's shape: NHWC → NCHW, or a reshape of the same values; None if neither.
    layout: what Lite says the tensor is — "NHWC" against an NCHW reference settles a shape like 1×8×8×8,
    which fits either way."""
    nhwc_of_want = got.ndim == 4 and want.ndim == 4 and \
        got.shape == (want.shape[0], want.shape[2], want.shape[3], want.shape[1])
    if nhwc_of_want and ((layout == "NHWC" and reference_layout == "NCHW") or got.shape != want.shape):
        return got.transpose(0, 3, 1, 2)
    if got.shape == want.shape:
        return got
    if got.size == want.size:
        return got.reshape(want.shape)
    return None


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 and nb == 0:
        return 1.0
    if na == 0 or nb == 0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))

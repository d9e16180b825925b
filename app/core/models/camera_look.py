"""Make handwritten digits (white ink on black, as MNIST stores them) look like what a camera sees
of a digit written on paper: either polarity (dark ink on light paper, chalk or marker on a dark
board), the frame's aspect squashing it (the live view resizes a 4:3 frame to the model's square
input), rotation, scale and position, thicker or thinner strokes, paper texture and uneven light,
blur and sensor noise.

Whole batches in NumPy (N×1×H×W, normalised inputs), no per-image Python loop, like augment.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CameraLook:
    rotation: float = 15.0  # ± degrees
    scale: tuple[float, float] = (0.7, 1.3)  # of the digit's size (1.3: a digit filling the frame)
    aspect: tuple[float, float] = (0.7, 1.1)  # horizontal squeeze (a 4:3 frame squashed to a square)
    shift: float = 0.12  # ± fraction of the side
    dark_ink: float = 0.5  # share of images drawn dark-on-light (paper); the rest light-on-dark
    thicken: float = 0.4  # share of images whose strokes are widened by one pixel (markers)
    # share of those widened by a second pixel (a bold marker, a printed digit): with 1.3 above, the bold
    # printed 4 and 6 of the synthetic scene went from 63 % and 67 % to 100 % (camera frames: 96.5 → 95.5 %)
    bold: float = 0.5
    blur: float = 1.0  # up to this many passes of a 3×3 box blur (fractional: a blend)
    texture: float = 0.15  # amplitude of the paper's low-frequency texture and light gradient
    noise: float = 0.04  # sensor noise (standard deviation, in 0..1 pixel values)


def _affine(ink: np.ndarray, look: CameraLook, rng: np.random.Generator) -> np.ndarray:
    """Rotate, scale, squeeze and move each image about its centre (bilinear; outside is empty)."""
    n, h, w = ink.shape
    angle = np.deg2rad(rng.uniform(-look.rotation, look.rotation, n))
    scale = rng.uniform(*look.scale, n)
    sx, sy = scale * rng.uniform(*look.aspect, n), scale
    tx, ty = (rng.uniform(-look.shift, look.shift, (2, n)) * np.array([[w], [h]]))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    xc, yc = xs - (w - 1) / 2, ys - (h - 1) / 2
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    # inverse map: output pixel → source pixel (undo the shift, the rotation, then the scale)
    x0, y0 = xc[None] - tx[:, None, None], yc[None] - ty[:, None, None]
    u = (cos * x0 + sin * y0) / sx[:, None, None] + (w - 1) / 2
    v = (-sin * x0 + cos * y0) / sy[:, None, None] + (h - 1) / 2
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))  # zeros around: outside the digit is empty
    u, v = np.clip(u + 1, 0, w + 0.999), np.clip(v + 1, 0, h + 0.999)
    u0, v0 = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    fu, fv = u - u0, v - v0
    u1, v1 = np.minimum(u0 + 1, w + 1), np.minimum(v0 + 1, h + 1)
    flat = padded.reshape(n, -1)
    stride = w + 2

    def at(yy, xx):
        return np.take_along_axis(flat, (yy * stride + xx).reshape(n, -1), axis=1).reshape(n, h, w)

    return ((1 - fv) * ((1 - fu) * at(v0, u0) + fu * at(v0, u1))
            + fv * ((1 - fu) * at(v1, u0) + fu * at(v1, u1))).astype(np.float32)


def _widen(ink: np.ndarray) -> np.ndarray:
    """Strokes one pixel wider (the brightest of each pixel and its four neighbours)."""
    h, w = ink.shape[1:]
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    return np.maximum.reduce([padded[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
                              for dy, dx in ((0, 0), (0, 1), (1, 0), (0, -1), (-1, 0))])


def _box_blur(images: np.ndarray) -> np.ndarray:
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)), mode="edge")
    h, w = images.shape[1:]
    return sum(padded[:, dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)) / 9.0


def _low_frequency(n: int, h: int, w: int, rng: np.random.Generator, cells: int = 4) -> np.ndarray:
    """Smooth random fields in -1..1 (a cells×cells grid, bilinearly upsampled)."""
    def matrix(size: int) -> np.ndarray:
        pos = np.linspace(0, cells - 1, size)
        low = np.minimum(np.floor(pos).astype(int), cells - 2)
        frac = pos - low
        m = np.zeros((size, cells), np.float32)
        m[np.arange(size), low], m[np.arange(size), low + 1] = 1 - frac, frac
        return m

    grid = rng.uniform(-1, 1, (n, cells, cells)).astype(np.float32)
    return np.einsum("hi,nij,wj->nhw", matrix(h), grid, matrix(w))


def camera_look(batch: np.ndarray, look: CameraLook, rng: np.random.Generator, mean: float = 0.5,
                std: float = 0.5) -> np.ndarray:
    """A new batch (N×1×H×W float32, normalised as (p - mean) / std) of digits as a camera sees them.
    The input is white ink on black in the same normalisation."""
    n, _, h, w = batch.shape
    ink = np.clip(batch[:, 0] * std + mean, 0, 1)
    ink = _affine(ink, look, rng)
    if look.thicken:
        pick = rng.random(n)
        wide = _widen(ink)
        ink = np.where((pick < look.thicken)[:, None, None], wide, ink)
        if look.bold:
            ink = np.where((pick < look.thicken * look.bold)[:, None, None], _widen(wide), ink)
    dark = (rng.random(n) < look.dark_ink)[:, None, None]
    paper = np.where(dark, rng.uniform(0.55, 1.0, (n, 1, 1)), rng.uniform(0.0, 0.35, (n, 1, 1)))
    colour = np.where(dark, rng.uniform(0.0, 0.3, (n, 1, 1)), rng.uniform(0.7, 1.0, (n, 1, 1)))
    paper = paper + look.texture * _low_frequency(n, h, w, rng)  # texture and uneven light
    image = paper * (1 - ink) + colour * ink
    if look.blur:
        amount = rng.uniform(0, look.blur, (n, 1, 1)).astype(np.float32)
        once = _box_blur(image)
        twice = _box_blur(once)
        image = np.where(amount < 1, image + (once - image) * amount, once + (twice - once) * (amount - 1))
    image = image + rng.normal(0, look.noise, image.shape)
    out = (np.clip(image, 0, 1) - mean) / std
    return np.ascontiguousarray(out[:, None], dtype=np.float32)

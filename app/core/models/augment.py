"""Training-time augmentation on whole batches of preprocessed NCHW float32 images, in NumPy.

Vectorised (no per-image Python loop) so it costs well under a millisecond per batch of 32: the
train step, not the data, should set the pace. Works on normalised inputs: shifts and flips move
pixels, and brightness/contrast/saturation are affine in pixel values, so they stay affine after
the per-channel (x/255 - mean)/std of the preprocess spec.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.core.models.camera_look import CameraLook, camera_look


@dataclass(frozen=True)
class Augmentation:
    shift: float = 0.0  # random translation, as a fraction of the side (edge-padded crop)
    flip: bool = False  # random horizontal flip (wrong for digits and text)
    brightness: float = 0.0  # ± fraction of the value range (2.0 after (x-0.5)/0.5 normalisation)
    contrast: float = 0.0  # scale around each image's mean by 1 ± contrast
    saturation: float = 0.0  # blend with the image's gray by 1 ± saturation (3-channel only)
    camera: CameraLook | None = None  # white-on-black digits drawn as a camera sees them (camera_look.py)

    @property
    def active(self) -> bool:
        return bool(self.shift or self.flip or self.brightness or self.contrast or self.saturation or self.camera)


NONE = Augmentation()
DIGITS = Augmentation(shift=2 / 28)  # small moves only: a flipped or recoloured digit is another thing
# Teachable-Machine-style capture datasets: a few dozen webcam frames per class, so the net must not
# learn where the object sat, which way it faced or how bright the room was.
CAPTURE = Augmentation(shift=0.125, flip=True, brightness=0.25, contrast=0.3, saturation=0.3)

# Handwritten digits (MNIST: white on black, centred) toward what a camera shows of a digit on paper:
# both polarities, rotation, scale, squeeze, strokes, paper texture, blur, noise. The digits sample.
CAMERA = Augmentation(camera=CameraLook())

PRESETS = {"none": NONE, "digits": DIGITS, "capture": CAPTURE, "camera": CAMERA}


def augment(batch: np.ndarray, aug: Augmentation, rng: np.random.Generator, value_range: float = 2.0) -> np.ndarray:
    """A new augmented copy of `batch` (N×C×H×W float32); `batch` is left untouched."""
    if not aug.active:
        return batch
    n, c, h, w = batch.shape
    if aug.camera:  # its own moves and light; the other fields still apply after it
        batch = camera_look(batch.mean(axis=1, keepdims=True), aug.camera, rng)
        batch = np.repeat(batch, c, axis=1) if c > 1 else batch
    out = batch
    if aug.shift:
        pad = max(1, round(aug.shift * max(h, w)))
        padded = np.pad(batch, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))  # N,C,2p+1,2p+1,H,W
        dy, dx = rng.integers(0, 2 * pad + 1, size=(2, n))
        out = windows[np.arange(n), :, dy, dx]  # one copy: N,C,H,W
    else:
        out = batch.copy()
    if aug.flip:
        flip = rng.random(n) < 0.5
        out[flip] = out[flip, :, :, ::-1]
    if aug.saturation and c == 3:
        gray = out.mean(axis=1, keepdims=True)
        factor = rng.uniform(1 - aug.saturation, 1 + aug.saturation, (n, 1, 1, 1)).astype(np.float32)
        out = gray + (out - gray) * factor
    if aug.contrast:
        mean = out.mean(axis=(1, 2, 3), keepdims=True)
        factor = rng.uniform(1 - aug.contrast, 1 + aug.contrast, (n, 1, 1, 1)).astype(np.float32)
        out = mean + (out - mean) * factor
    if aug.brightness:
        out = out + rng.uniform(-aug.brightness, aug.brightness, (n, 1, 1, 1)).astype(np.float32) * value_range
    return np.ascontiguousarray(out, dtype=np.float32)

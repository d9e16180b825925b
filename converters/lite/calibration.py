"""Calibration data for INT8 post-training quantization (FULL_QUANT), written as Lite BIN files.

A source is a folder of `.npy` arrays shaped like the input (with or without the batch axis, or a
stack of samples), a folder of images (resized and laid out like the input, scaled to [0, 1]
unless a preprocess function is given), or an array of stacked samples.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}


class CalibrationError(ValueError):
    pass


def _samples_from_array(arr: np.ndarray, shape: Sequence[int], origin: str) -> Iterator[np.ndarray]:
    shape = tuple(shape)
    if arr.shape == shape:
        yield arr
    elif arr.shape == shape[1:]:
        yield arr.reshape(shape)
    elif arr.ndim == len(shape) and arr.shape[1:] == shape[1:]:
        for row in arr:
            yield row.reshape(shape)
    else:
        raise CalibrationError(f"{origin}: shape {arr.shape} does not fit the model input {shape}")


def image_to_input(path: Path, shape: Sequence[int]) -> np.ndarray:
    """Read an image and lay it out like a 4-D NCHW or NHWC input with 1 or 3 channels, in [0, 1]."""
    import cv2  # only needed for image folders

    if len(shape) != 4:
        raise CalibrationError(f"images can calibrate only a 4-D input, this one is {tuple(shape)}")
    nchw = shape[1] in (1, 3) and shape[3] not in (1, 3)
    channels, height, width = (shape[1], shape[2], shape[3]) if nchw else (shape[3], shape[1], shape[2])
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR)
    if image is None:
        raise CalibrationError(f"{path.name}: not a readable image")
    image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    if channels == 3:
        image = image[:, :, ::-1]  # OpenCV reads BGR; models here take RGB
    image = image.reshape(height, width, channels)
    return np.ascontiguousarray(image.transpose(2, 0, 1) if nchw else image)[None]


def collect(source: str | Path | np.ndarray, shape: Sequence[int], dtype=np.float32, limit: int = 100,
            preprocess: Callable[[Path], np.ndarray] | None = None) -> list[np.ndarray]:
    """Up to `limit` samples shaped exactly like the input."""
    if isinstance(source, np.ndarray):
        samples = list(_samples_from_array(source, shape, "calibration array"))
    else:
        folder = Path(source)
        if not folder.is_dir():
            raise CalibrationError(f"calibration folder {folder} does not exist")
        files = sorted(p for p in folder.iterdir() if p.is_file())
        samples = []
        for path in files:
            suffix = path.suffix.lower()
            if suffix == ".npy":
                try:
                    arr = np.load(path, allow_pickle=False)
                except ValueError as exc:
                    raise CalibrationError(f"{path.name}: not a readable .npy file ({exc})") from None
                samples.extend(_samples_from_array(arr, shape, path.name))
            elif suffix in IMAGE_SUFFIXES:
                samples.append(preprocess(path) if preprocess else image_to_input(path, shape))
            if len(samples) >= limit:
                break
        if not samples:
            raise CalibrationError(f"calibration folder {folder} holds no .npy arrays or images")
    return [np.ascontiguousarray(s, dtype=dtype) for s in samples[:limit]]


def write_bins(samples: list[np.ndarray], folder: Path) -> int:
    """One raw BIN file per sample, the layout Lite's `input_type=BIN` reads."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, sample in enumerate(samples):
        sample.tofile(folder / f"{i:05d}.bin")
    return len(samples)

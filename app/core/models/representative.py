"""Representative data: what a model sees in use, fed exactly as Live feeds frames.

A model description names its data (`data`: "digits", "mnist-5k", a class-folder dataset DIR/<class>/*, or a flat
folder of images). INT8 calibration takes the training part, evaluation the held-out part: the same
seeded split training used for the datasets it trained on, and a seeded split of the files otherwise.
Images go through the description's preprocessing (colour, range, letterbox or stretch), so calibration
images look to the model like live frames — never a default [0, 1] stretch that the model was not made for.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.description import DescriptionError, ModelDescription
from app.core.models.datasets import NAMED, load_dataset_for
from converters.formats import IMAGE_SUFFIXES
from converters.lite.calibration import read_image

VAL_FRACTION = 0.2


@dataclass
class Samples:
    x: np.ndarray  # N × the model's input (NCHW or NHWC as its input 0)
    labels: np.ndarray | None  # class indices, when the data is a labelled dataset the model classifies
    origin: str  # where they came from, in words (every report says what the figures rest on)


def _is_dataset(description: ModelDescription, data: str) -> bool:
    """Training's own datasets: read through training's loader, so the held-out split is training's."""
    # One class folder is still a labelled dataset (refused by the loader: it cannot measure a classifier).
    return data in NAMED or (description.kind == "classification" and _class_folders(Path(data)) >= 1)


def _class_folders(folder: Path) -> int:
    return sum(1 for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")) if folder.is_dir() else 0


def image_files(folder: Path) -> list[Path]:
    """Every image below `folder`, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def samples(description: ModelDescription, part: str, data: str | None = None, limit: int | None = None,
            seed: int = 0) -> Samples:
    """`part` "train" (calibration), "held-out" (evaluation) or "all" of the representative data."""
    data = data or description.data
    if not data:
        raise DescriptionError(f"{description.label}: no representative data: name a folder of images it is "
                               "meant for (`edge-studio import … --data DIR`, or the import dialog)")
    spec = description.preprocess_spec("reading representative data")
    if _is_dataset(description, data):
        dataset = load_dataset_for(data, spec)
        train, val = dataset.split(VAL_FRACTION, seed)
        picked = {"train": train, "held-out": val}.get(part, np.arange(len(dataset.labels)))
        if part == "train":
            picked = np.random.default_rng(seed).permutation(picked)
        picked = picked[:limit] if limit else picked
        return Samples(dataset.inputs(picked), dataset.labels[picked] if part == "held-out" else None,
                       f"{Path(data).name} ({part}, {len(picked)} images)")
    folder = Path(data)
    files = image_files(folder) if folder.is_dir() else []
    if len(files) < 2:
        raise DescriptionError(f"representative data {data}: needs at least 2 images (found {len(files)})")
    order = np.random.default_rng(seed).permutation(len(files))
    n_val = max(1, int(round(len(files) * VAL_FRACTION)))
    picked = {"train": order[n_val:], "held-out": order[:n_val]}.get(part, order)
    picked = picked[:limit] if limit else picked
    x = []
    for k in picked:
        image = read_image(files[k], 0 if spec.color == "GRAY" else 1)  # cv2's IMREAD_GRAYSCALE / IMREAD_COLOR
        if image is None:
            continue  # an unreadable file is not a sample; the count below says how many were read
        x.append(description.image_input(image, spec))
    if not x:
        raise DescriptionError(f"representative data {data}: none of its images could be read")
    return Samples(np.concatenate(x), None, f"{folder.name} ({part}, {len(x)} images)")


def calibration_inputs(description: ModelDescription, source: str | None = None, limit: int = 100,
                       seed: int = 0) -> np.ndarray | str:
    """INT8 calibration: `source` (a folder: its images through the model's preprocessing; .npy arrays are
    taken as they are) or the description's representative data (its training part)."""
    if source and source not in NAMED:
        folder = Path(source)
        if folder.is_dir() and not image_files(folder):
            return str(folder)  # .npy arrays (or subfolders per input): the converter reads them as given
        return samples(description, "all", data=str(folder), limit=limit, seed=seed).x
    return samples(description, "train", data=source, limit=limit, seed=seed).x

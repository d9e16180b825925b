"""What a user should know about the classes: imbalance before training, confusion after it."""
from __future__ import annotations

import numpy as np

FEW_IMAGES = 20  # below this a class is learnt from too little to trust its held-out number
IMBALANCE_RATIO = 3.0  # the largest class this many times the smallest: the net leans to the large one


def balance_warnings(counts: dict[str, int]) -> list[str]:
    """One line per problem with the class sizes (empty when they look fine)."""
    warnings = []
    few = [f"{name} ({n})" for name, n in counts.items() if n < FEW_IMAGES]
    if few:
        warnings.append(f"few images in {', '.join(few)}: capture at least {FEW_IMAGES} per class")
    if counts and min(counts.values()) > 0:
        largest = max(counts, key=counts.get)
        smallest = min(counts, key=counts.get)
        if counts[largest] >= IMBALANCE_RATIO * counts[smallest]:
            warnings.append(f"classes are unbalanced: {largest} has {counts[largest]} images, "
                            f"{smallest} {counts[smallest]}; the model will favour {largest}")
    return warnings


def confusion(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> list[list[int]]:
    """confusion[true][predicted] counts."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return matrix.tolist()


def per_class(matrix: list[list[int]], names: list[str]) -> list[dict]:
    """Recall (of the images of a class, how many were recognised) and precision per class."""
    m = np.asarray(matrix, dtype=np.float64)
    rows = []
    for i, name in enumerate(names):
        support, predicted = m[i].sum(), m[:, i].sum()
        rows.append({"class": name, "support": int(support),
                     "recall": float(m[i, i] / support) if support else None,
                     "precision": float(m[i, i] / predicted) if predicted else None,
                     "most_confused_with": names[int(np.argmax(np.where(np.arange(len(names)) == i, -1, m[i])))]
                     if support > m[i, i] else None})
    return rows

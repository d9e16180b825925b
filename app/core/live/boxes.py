"""Box overlap and non-maximum suppression, shared by the SSD and YOLO decoders and the metrics."""
from __future__ import annotations

import numpy as np


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0, y0 = np.maximum(box[0], boxes[:, 0]), np.maximum(box[1], boxes[:, 1])
    x1, y1 = np.minimum(box[2], boxes[:, 2]), np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda b: np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)  # noqa: E731
    union = area(box) + area(boxes) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray, threshold: float,
        weighted: bool = True) -> list[tuple[np.ndarray, float, np.ndarray]]:
    """Greedy NMS, best score first. Weighted (MediaPipe's face default): each kept box is the
    score-weighted mean of the boxes it suppresses (steadier boxes from frame to frame)."""
    order = np.argsort(-scores)
    boxes, scores, keypoints = boxes[order], scores[order], keypoints[order]
    kept = []
    alive = np.ones(len(boxes), bool)
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        group = alive & (iou(boxes[i], boxes) > threshold)
        group[i] = True
        alive &= ~group
        if weighted:
            w = scores[group][:, None]
            kept.append(((boxes[group] * w).sum(0) / w.sum(),
                         float(scores[i]), (keypoints[group] * w[:, :, None]).sum(0) / w.sum()))
        else:
            kept.append((boxes[i], float(scores[i]), keypoints[i]))
    return kept

"""Decoders for detectors (YOLO v5/v8 layouts), segmenters and keypoint models.

Each `factory(spec)` reads its settings once (spec.options: the sidecar's thresholds, topology …)
and returns `decode(outputs, geometry) -> Result`; pure numpy (OpenCV only resizes masks).
"""
from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from app.core.live.boxes import nms
from app.core.live.results import Detection, Geometry, Result
from app.core.live.topologies import TOPOLOGIES, layout_for, topology_for
from app.core.preprocess import PreprocessSpec

Decoder = Callable[[list[np.ndarray], Geometry], Result]


class ModelSpec(Protocol):
    """What a decoder reads of postprocess.ModelSpec (which imports this module, so it is not imported here)."""

    preprocess: PreprocessSpec
    postprocessor: str
    labels: list[str] | None
    options: dict


def _sigmoid_if_logits(x: np.ndarray) -> np.ndarray:
    """Scores as probabilities: a model that ends without its sigmoid gives values outside [0, 1]."""
    return x if x.size == 0 or (x.min() >= 0 and x.max() <= 1) else 1 / (1 + np.exp(-np.clip(x, -60, 60)))


def _input_size(spec: "ModelSpec") -> np.ndarray:
    return np.array([spec.preprocess.width, spec.preprocess.height], np.float64)


# -- YOLO --------------------------------------------------------------------------------------
def yolo_rows(output: np.ndarray, layout: str, classes: int | None) -> np.ndarray:
    """(N, 4+C) rows cx, cy, w, h, scores… from a v8 [1, 4+C, N] or v5 [1, N, 5+C] output; v5's
    objectness is folded into the class scores (score = objectness · class)."""
    rows = np.asarray(output, np.float32).reshape(output.shape[-2:]) if output.ndim >= 2 else None
    if rows is None:
        raise ValueError(f"a YOLO output has 2 or 3 axes, not {output.shape}")
    per_row = 4 + classes + (layout == "yolov5") if classes else None
    if layout == "yolov8":  # channels first unless the labels say the other axis is 4+C
        if (per_row and rows.shape[0] != per_row and rows.shape[1] == per_row) or \
                (not per_row and rows.shape[0] > rows.shape[1]):
            rows = rows.T
        return rows.T
    if (per_row and rows.shape[1] != per_row and rows.shape[0] == per_row) or \
            (not per_row and rows.shape[1] > rows.shape[0]):
        rows = rows.T
    return np.concatenate([rows[:, :4], rows[:, 5:] * rows[:, 4:5]], 1)


def yolo(spec: "ModelSpec") -> Decoder:
    layout = spec.postprocessor
    score_min = float(spec.options.get("score_threshold", 0.5))
    iou_max = float(spec.options.get("iou_threshold", 0.45))
    limit = int(spec.options.get("max_detections", 100))
    size = np.ones(2) if spec.options.get("normalized") else _input_size(spec)
    labels = spec.labels or []

    def decode(outputs: list[np.ndarray], geometry: Geometry) -> Result:
        output = max(outputs, key=lambda o: o.size)  # the detections (some exports add small extras)
        rows = yolo_rows(output, layout, len(labels) or None)
        scores = _sigmoid_if_logits(rows[:, 4:])
        best, conf = scores.argmax(1), scores.max(1)
        keep = conf >= score_min
        if not keep.any():
            return Result()
        rows, best, conf = rows[keep], best[keep], conf[keep]
        centre, half = rows[:, :2] / size, rows[:, 2:4] / size / 2
        boxes = np.concatenate([centre - half, centre + half], 1)
        found = []
        for cls in np.unique(best):  # NMS within each class: a red box does not hide a blue one
            mine = best == cls
            kept = nms(boxes[mine], conf[mine], np.zeros((int(mine.sum()), 0, 2)), iou_max, weighted=False)
            found += [(box, score, int(cls)) for box, score, _ in kept]
        found.sort(key=lambda f: -f[1])
        detections = []
        for box, score, cls in found[:limit]:
            corners = geometry.to_frame(np.asarray(box, np.float64).reshape(2, 2)).reshape(-1)
            detections.append(Detection(tuple(float(v) for v in corners), float(score), (),
                                        labels[cls] if cls < len(labels) else str(cls), cls))
        return Result(detections=detections)

    return decode


# -- segmentation ------------------------------------------------------------------------------
def mask_planes(output: np.ndarray) -> np.ndarray:
    """(C, H, W) from [1, C, H, W], [1, H, W, C], [1, H, W] or [H, W]: the class axis is the short one."""
    a = np.asarray(output, np.float32)
    a = a.reshape(a.shape[-3:]) if a.ndim >= 3 else a[None]
    if a.ndim == 3 and a.shape[-1] < min(a.shape[0], a.shape[1]):  # NHWC-style: channels last
        a = a.transpose(2, 0, 1)
    return a


def segmentation(spec: "ModelSpec") -> Decoder:
    threshold = float(spec.options.get("mask_threshold", 0.5))
    labels = spec.labels or []

    def decode(outputs: list[np.ndarray], geometry: Geometry) -> Result:
        planes = mask_planes(max(outputs, key=lambda o: o.size))
        if len(planes) == 1:  # one channel: the foreground's probability (or logit)
            prob = geometry.map_to_frame(_sigmoid_if_logits(planes[0]))
            mask = (prob > threshold).astype(np.uint8)
            names = labels if len(labels) == 2 else ["background", labels[0] if labels else "foreground"]
        elif len(planes) <= 8:  # one channel per class, class 0 the background: scores scaled up, then argmax
            mask = np.stack([geometry.map_to_frame(p) for p in planes]).argmax(0).astype(np.uint8)
        else:  # many classes: the argmax scaled up (cheaper, blockier)
            mask = geometry.map_to_frame(planes.argmax(0).astype(np.uint8), nearest=True)
        if len(planes) > 1:
            names = labels or ["background"] + [str(i) for i in range(1, len(planes))]
        return Result(mask=np.ascontiguousarray(mask), mask_labels=list(names))

    return decode


# -- keypoints / landmarks ---------------------------------------------------------------------
def keypoint_layout(outputs: list[np.ndarray], options: dict) -> tuple[int, int, int, int | None]:
    """(output index, points, values per point, presence output index) for these outputs. A known layout
    (topologies.py: BlazePose's 39 × 5, …) is recognised by its size; otherwise the topology's points
    divide the output, or 3 or 2 values a point."""
    topology = TOPOLOGIES.get(options.get("topology") or "")
    index = options.get("keypoint_output")
    per = options.get("values_per_keypoint")
    if index is None:
        # the topology's layouts in their order of preference (BlazePose: the 39×5 image landmarks before
        # the 39×3 world ones), whatever order the runtime gives the outputs in
        layouts = topology.layouts if topology else [lay for t in TOPOLOGIES.values() for lay in t.layouts]
        known = [i for lay in layouts for i, o in enumerate(outputs) if o.size == lay.size]
        candidates = known or [i for i, o in enumerate(outputs) if o.size > 1 and (
            o.size % per == 0 if per else o.size % topology.points == 0 if topology else
            o.size % 3 == 0 or o.size % 2 == 0)]
        if not candidates:
            wanted = f"{topology.points} keypoints" if topology else "K×2 or K×3 keypoint values"
            if topology and topology.layouts:
                wanted += " (or " + ", ".join(f"{lay.points}×{len(lay.values)}" for lay in topology.layouts) + ")"
            raise ValueError(f"no output has {wanted} (outputs {[tuple(o.shape) for o in outputs]})")
        index = candidates[0]
    if index >= len(outputs):
        raise ValueError(f"keypoint_output {index}: the model has {len(outputs)} outputs")
    size = outputs[index].size
    if per is None:
        found = layout_for(size, topology)
        per = len(found[1].values) if found else (size // topology.points if topology and size % topology.points == 0
                                                  else 3 if size % 3 == 0 else 2)
    if size % per:
        raise ValueError(f"output {index} has {size} values: not a whole number of {per}-value keypoints")
    presence = options.get("presence_output")
    if presence is None:
        presence = next((i for i, o in enumerate(outputs) if o.size == 1 and i != index), None)
    return index, size // per, per, presence


def keypoints(spec: "ModelSpec") -> Decoder:
    threshold = float(spec.options.get("score_threshold", 0.5))
    size = np.ones(2) if spec.options.get("normalized") else _input_size(spec)

    def decode(outputs: list[np.ndarray], geometry: Geometry) -> Result:
        index, count, per, presence_at = keypoint_layout(outputs, spec.options)
        presence = None
        if presence_at is not None:
            presence = float(_sigmoid_if_logits(np.asarray(outputs[presence_at], np.float64).reshape(-1))[0])
        known = layout_for(outputs[index].size, TOPOLOGIES.get(spec.options.get("topology") or ""))
        drawn = TOPOLOGIES.get(spec.options.get("topology") or "") or (known[0] if known else topology_for(count))
        topology = getattr(drawn, "name", "")
        if presence is not None and presence < threshold:
            return Result(topology=topology, presence=presence)
        # the skeleton's points come first; extras (BlazePose's 6 region-of-interest points) are not drawn
        count_drawn = min(count, drawn.points) if drawn else count
        xy = np.asarray(outputs[index], np.float64).reshape(count, per)[:count_drawn, :2] / size
        points = geometry.to_frame(xy)
        return Result(landmarks=[(float(x), float(y)) for x, y in points], topology=topology, presence=presence)

    return decode

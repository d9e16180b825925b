"""From model outputs to something to show: a plug-in table of postprocessors, and the overlay.

A `ModelSpec` says how a model is fed (PreprocessSpec, optional letterbox) and which postprocessor
reads its outputs. Postprocessors are factories in POSTPROCESSORS: `factory(spec)` does the
per-model work once (anchors, labels) and returns `decode(outputs, geometry) -> Result`.
Decoding is pure numpy; only `overlay` draws (OpenCV).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from app.core.preprocess import PreprocessSpec


# -- results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Classification:
    index: int
    label: str
    score: float


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels
    score: float
    keypoints: tuple[tuple[float, float], ...] = ()  # frame pixels
    label: str = ""


@dataclass
class Result:
    classes: list[Classification] = field(default_factory=list)  # best first
    detections: list[Detection] = field(default_factory=list)

    @property
    def top1(self) -> int | None:
        return self.classes[0].index if self.classes else None

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Geometry:
    """Maps the model input's normalized coordinates (0..1) back to frame pixels."""

    scale_x: float  # frame pixels per normalized unit
    scale_y: float
    offset_x: float = 0.0  # letterbox padding, in frame pixels
    offset_y: float = 0.0

    def to_frame(self, xy: np.ndarray) -> np.ndarray:
        """(..., 2) normalized x, y → frame pixels."""
        return xy * np.array([self.scale_x, self.scale_y]) - np.array([self.offset_x, self.offset_y])


# -- model spec --------------------------------------------------------------------------------
@dataclass
class ModelSpec:
    path: str  # model file (or URL of a cloud server)
    preprocess: PreprocessSpec
    postprocessor: str = "classification"  # a key of POSTPROCESSORS
    labels: list[str] | None = None
    letterbox: bool = False  # pad the frame to the input's aspect ratio (black) instead of stretching it
    options: dict = field(default_factory=dict)  # postprocessor settings (top_k, anchors, NMS …)

    @property
    def name(self) -> str:
        return Path(self.path).name if "://" not in self.path else self.path

    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, Geometry]:
        """Frame → input tensor, and how to map the input's coordinates back onto the frame."""
        import cv2

        h, w = image.shape[:2]
        if not self.letterbox:
            return self.preprocess.apply(image), Geometry(w, h)
        target = self.preprocess.width / self.preprocess.height
        pw, ph = max(w, round(h * target)), max(h, round(w / target))
        left, top = (pw - w) // 2, (ph - h) // 2
        padded = cv2.copyMakeBorder(image, top, ph - h - top, left, pw - w - left, cv2.BORDER_CONSTANT, value=0)
        return self.preprocess.apply(padded), Geometry(pw, ph, left, top)

    def fit_layout(self, input_shape: tuple[int, ...]) -> "ModelSpec":
        """The same spec with the layout the runtime's input actually has (Lite .ms inputs are often NHWC)."""
        for layout in ("NCHW", "NHWC"):
            if tuple(self.preprocess.with_layout(layout).input_shape) == tuple(input_shape):
                return ModelSpec(self.path, self.preprocess.with_layout(layout), self.postprocessor, self.labels,
                                 self.letterbox, self.options)
        raise ValueError(f"{self.name}: preprocess makes {self.preprocess.input_shape}, but the model takes "
                         f"{tuple(input_shape)}")

    def postprocess(self) -> Callable[[list[np.ndarray], Geometry], Result]:
        if self.postprocessor not in POSTPROCESSORS:
            raise ValueError(f"unknown postprocessor {self.postprocessor!r} "
                             f"(known: {', '.join(POSTPROCESSORS)})")
        return POSTPROCESSORS[self.postprocessor](self)


def face_spec(path: str | Path, manifest: dict | None = None) -> ModelSpec:
    """The BlazeFace sample: 128×128 RGB NHWC in [-1, 1] (x·2/255 − 1), letterboxed, SSD decoding."""
    if manifest is None:
        from sample_models.face_detection import manifest as load_manifest

        manifest = load_manifest()
        
    shape = manifest["input"]["shape"]  # NHWC
    preprocess = PreprocessSpec(input_name=manifest["input"]["name"], width=shape[2], height=shape[1], channels=3,
                                color="RGB", layout="NHWC", scale=2 / 255, mean=(1.0,), std=(1.0,))
    return ModelSpec(str(path), preprocess, "blazeface", ["face"], letterbox=True,
                     options={k: manifest[k] for k in ("anchors", "decoder", "nms")})


def model_spec(path: str | Path, preprocess: PreprocessSpec | None = None) -> ModelSpec:
    """How to feed and read a model file: the face sample by its name, else preprocess.json and
    labels.json next to the model (or in its parent, as in deployment packages) → classification."""
    from app.core.evaluate import find_preprocess
    from sample_models.face_detection import manifest

    path = Path(path)
    face = manifest()
    if preprocess is None and path.stem.split("_int8")[0] == Path(face["file"]).stem:
        return face_spec(path, face)
    preprocess = preprocess or find_preprocess(path)
    if preprocess is None:
        raise ValueError(f"{path.name}: no preprocess.json next to the model or in its parent folder")
    labels = next((json.loads(p.read_text()) for p in (path.parent / "labels.json", path.parent.parent / "labels.json")
                   if p.is_file()), None)
    return ModelSpec(str(path), preprocess, "classification", labels)


# -- classification ----------------------------------------------------------------------------
def classification(spec: ModelSpec) -> Callable[[list[np.ndarray], Geometry], Result]:
    top_k = int(spec.options.get("top_k", 3))

    def decode(outputs: list[np.ndarray], geometry: Geometry) -> Result:
        scores = np.asarray(outputs[0], np.float64).reshape(-1)
        if not (scores.min() >= 0 and abs(scores.sum() - 1) < 1e-3):  # logits, not probabilities
            scores = np.exp(scores - scores.max())
            scores /= scores.sum()
        best = np.argsort(-scores)[:top_k]
        names = spec.labels or []
        return Result(classes=[Classification(int(i), names[i] if i < len(names) else str(int(i)), float(scores[i]))
                               for i in best])

    return decode


# -- BlazeFace-style SSD -----------------------------------------------------------------------
def ssd_anchors(opts: dict) -> np.ndarray:
    """(N, 4) anchors x_center, y_center, w, h (normalized), as MediaPipe's SsdAnchorsCalculator makes them."""
    strides, n_layers = opts["strides"], opts["num_layers"]

    def scale(i: int) -> float:
        return opts["min_scale"] + (opts["max_scale"] - opts["min_scale"]) * i / (n_layers - 1) if n_layers > 1 \
            else (opts["min_scale"] + opts["max_scale"]) / 2

    anchors, layer = [], 0
    while layer < n_layers:
        sizes = []  # (w, h) of each anchor per cell; layers that share a stride share the grid
        last = layer
        while last < n_layers and strides[last] == strides[layer]:
            s = scale(last)
            if last == 0 and opts.get("reduce_boxes_in_lowest_layer", False):
                sizes += [(0.1, 0.1), (s * math.sqrt(2), s / math.sqrt(2)), (s / math.sqrt(2), s * math.sqrt(2))]
            else:
                sizes += [(s * math.sqrt(r), s / math.sqrt(r)) for r in opts["aspect_ratios"]]
                if opts.get("interpolated_scale_aspect_ratio", 0) > 0:
                    s_next = 1.0 if last == n_layers - 1 else scale(last + 1)
                    r = opts["interpolated_scale_aspect_ratio"]
                    sizes.append((math.sqrt(s * s_next) * math.sqrt(r), math.sqrt(s * s_next) / math.sqrt(r)))
            last += 1
        rows = math.ceil(opts["input_size_height"] / strides[layer])
        cols = math.ceil(opts["input_size_width"] / strides[layer])
        ys, xs = np.meshgrid((np.arange(rows) + opts["anchor_offset_y"]) / rows,
                             (np.arange(cols) + opts["anchor_offset_x"]) / cols, indexing="ij")
        wh = np.ones((len(sizes), 2)) if opts.get("fixed_anchor_size", False) else np.array(sizes)
        grid = np.stack([xs, ys], -1).reshape(-1, 1, 2).repeat(len(sizes), 1)  # cell-major, anchors within
        anchors.append(np.concatenate([grid, np.broadcast_to(wh, grid.shape)], -1).reshape(-1, 4))
        layer = last
    return np.concatenate(anchors).astype(np.float32)


def decode_boxes(raw: np.ndarray, anchors: np.ndarray, opts: dict) -> tuple[np.ndarray, np.ndarray]:
    """Regressor rows (N, num_coords) → boxes (N, 4) x0, y0, x1, y1 and keypoints (N, K, 2), normalized."""
    raw = raw.reshape(len(anchors), -1).astype(np.float32)
    scale = np.array([opts["x_scale"], opts["y_scale"], opts["w_scale"], opts["h_scale"]], np.float32)
    box = raw[:, opts["box_coord_offset"]:opts["box_coord_offset"] + 4]
    if not opts.get("reverse_output_order", False):  # y, x, h, w → x, y, w, h
        box = box[:, [1, 0, 3, 2]]
    box = box / scale
    centre = box[:, :2] * anchors[:, 2:] + anchors[:, :2]
    size = box[:, 2:] * anchors[:, 2:]
    boxes = np.concatenate([centre - size / 2, centre + size / 2], 1)
    k, per = opts.get("num_keypoints", 0), opts.get("num_values_per_keypoint", 2)
    start = opts.get("keypoint_coord_offset", 4)
    kp = raw[:, start:start + k * per].reshape(-1, k, per)[:, :, :2]
    if not opts.get("reverse_output_order", False):
        kp = kp[:, :, ::-1]
    kp = kp / scale[:2] * anchors[:, None, 2:] + anchors[:, None, :2]
    return boxes, kp


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


def blazeface(spec: ModelSpec) -> Callable[[list[np.ndarray], Geometry], Result]:
    anchors = ssd_anchors(spec.options["anchors"])
    dec, nms_opts = spec.options["decoder"], spec.options["nms"]
    label = (spec.labels or ["face"])[0]

    def decode(outputs: list[np.ndarray], geometry: Geometry) -> Result:
        # regressors (1, N, num_coords) and scores (1, N, 1), told apart by their last axis
        by_width = {o.shape[-1]: o for o in outputs}
        raw_boxes, raw_scores = by_width[dec["num_coords"]], by_width[dec["num_classes"]]
        logits = raw_scores.reshape(-1).astype(np.float64)
        if "score_clipping_thresh" in dec:
            logits = np.clip(logits, -dec["score_clipping_thresh"], dec["score_clipping_thresh"])
        scores = 1 / (1 + np.exp(-logits)) if dec.get("sigmoid_score", True) else logits
        keep = scores >= dec.get("min_score_thresh", 0.5)
        if not keep.any():
            return Result()
        boxes, kps = decode_boxes(raw_boxes.reshape(len(anchors), -1)[keep], anchors[keep], dec)
        found = nms(boxes, scores[keep], kps, nms_opts["min_suppression_threshold"],
                    nms_opts.get("algorithm", "weighted") == "weighted")
        detections = []
        for box, score, kp in found:
            corners = geometry.to_frame(box.reshape(2, 2)).reshape(-1)
            points = geometry.to_frame(kp)
            detections.append(Detection(tuple(float(v) for v in corners), score,
                                        tuple((float(x), float(y)) for x, y in points), label))
        return Result(detections=detections)

    return decode


POSTPROCESSORS: dict[str, Callable[[ModelSpec], Callable[[list[np.ndarray], Geometry], Result]]] = {
    "classification": classification,
    "blazeface": blazeface,
}


# -- overlay -----------------------------------------------------------------------------------
def overlay(image: np.ndarray, result: Result, fps: float | None = None, timings: dict | None = None,
            title: str | None = None) -> np.ndarray:
    """Draw the result, FPS and per-stage milliseconds onto `image` (in place); returns it."""
    import cv2

    green, white = (60, 220, 60), (255, 255, 255)
    for det in result.detections:
        x0, y0, x1, y1 = (int(round(v)) for v in det.box)
        cv2.rectangle(image, (x0, y0), (x1, y1), green, 2)
        cv2.putText(image, f"{det.label} {det.score:.2f}", (x0, max(12, y0 - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    green, 1, cv2.LINE_AA)
        for x, y in det.keypoints:
            cv2.circle(image, (int(round(x)), int(round(y))), 3, green, -1)
    lines = [title] if title else []
    lines += [f"{c.label}  {c.score * 100:.1f}%" for c in result.classes]
    if fps is not None:
        lines.append(f"{fps:.1f} FPS")
    if timings:
        lines.append("  ".join(f"{k} {v:.1f}" for k, v in timings.items()) + " ms")
    for i, text in enumerate(lines):
        (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.55, 1)
        y = 22 + 22 * i
        cv2.rectangle(image, (6, y - h - 4), (14 + w, y + base), (0, 0, 0), -1)  # legible on any frame
        cv2.putText(image, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.55, white if i else green, 1, cv2.LINE_AA)
    return image

"""From model outputs to something to show: the table of postprocessors (one row per model kind).

A `ModelSpec` says how a model is fed (PreprocessSpec, optional letterbox) and which postprocessor
reads its outputs. Each row of POSTPROCESSORS names a kind (classification, ssd, yolov5, yolov8,
segmentation, keypoints), says which output shapes it reads (so the app can suggest one from a
model's outputs) and holds a factory: `factory(spec)` does the per-model work once (anchors,
labels, thresholds) and returns `decode(outputs, geometry) -> Result`. The kind is declared in the
model's sidecar (sidecar.py), never guessed from the file name. Decoding is pure numpy; overlay.py draws.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from app.core.live import anchors, decoders
from app.core.live.anchors import ssd_anchors  # noqa: F401  (re-exported: quantize and tests read it here)
from app.core.live.boxes import iou, nms  # noqa: F401  (re-exported: the metrics and tests use them here)
from app.core.live.overlay import overlay  # noqa: F401  (re-exported)
from app.core.live.results import Classification, Detection, Geometry, Result  # noqa: F401  (re-exported)
from app.core.description import variant_label
from app.core.live.sidecar import (
    KINDS,
    MODEL_SIDECAR,  # noqa: F401  (re-exported: samples and tests read it here)
    InputOptions,
    ModelDescription,
    load_description,
    read_labels,
    save_description,
)
from app.core.preprocess import PreprocessError, PreprocessSpec, find_sidecar, letterbox

Decoder = Callable[[list[np.ndarray], Geometry], Result]


# -- model spec --------------------------------------------------------------------------------
@dataclass
class ModelSpec:
    path: str  # model file (or URL of a cloud server)
    preprocess: PreprocessSpec
    postprocessor: str = "classification"  # a key of POSTPROCESSORS
    labels: list[str] | None = None
    letterbox: bool = False  # pad the frame to the input's aspect ratio (black) instead of stretching it
    options: dict = field(default_factory=dict)  # postprocessor settings (thresholds, anchors, topology …)
    description: ModelDescription | None = None  # the sidecar (with the caller's choices) it was read from
    title: str | None = None  # "<model name> · INT8" from its model description; None: the file's name

    @property
    def name(self) -> str:
        return self.title or (Path(self.path).name if "://" not in self.path else self.path)

    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, Geometry]:
        """Frame → input tensor, and how to map the input's coordinates back onto the frame."""
        h, w = image.shape[:2]
        if not self.letterbox:
            return self.preprocess.apply(image), Geometry(w, h, width=w, height=h)
        padded, (pw, ph, left, top) = letterbox(image, self.preprocess.width, self.preprocess.height)
        return self.preprocess.apply(padded), Geometry(pw, ph, left, top, w, h)

    def fit_layout(self, input_shape: tuple[int, ...]) -> "ModelSpec":
        """The same spec with the layout the runtime's input actually has (Lite .ms inputs are often NHWC)."""
        for layout in ("NCHW", "NHWC"):
            if tuple(self.preprocess.with_layout(layout).input_shape) == tuple(input_shape):
                return ModelSpec(self.path, self.preprocess.with_layout(layout), self.postprocessor, self.labels,
                                 self.letterbox, self.options, self.description, self.title)
        raise ValueError(f"{self.name}: preprocess makes {self.preprocess.input_shape}, but the model takes "
                         f"{tuple(input_shape)}")

    def postprocess(self) -> Decoder:
        if self.postprocessor not in POSTPROCESSORS:
            raise ValueError(f"unknown postprocessor {self.postprocessor!r} "
                             f"(known: {', '.join(POSTPROCESSORS)})")
        return POSTPROCESSORS[self.postprocessor].factory(self)


def ssd_preset(name: str) -> dict:
    """The anchors, decoder, NMS, input and labels of a MediaPipe detector (a row of anchors.SSD_PRESETS)."""
    return anchors.preset(name).options()


def ssd_input(preset: dict) -> tuple[PreprocessSpec, bool]:
    """A preset's input: (PreprocessSpec, letterbox). MediaPipe's detectors take RGB NHWC."""
    given = preset["input"]
    shape = given["shape"]  # NHWC
    low, high = given.get("range", [0.0, 1.0])
    scale = (high - low) / 255  # x·scale − mean: 0..255 → low..high
    spec = PreprocessSpec(input_name=given["name"], width=shape[2], height=shape[1], channels=3, color="RGB",
                          layout="NHWC", scale=scale, mean=(-low,), std=(1.0,))
    return spec, given.get("letterbox", True)


def face_spec(path: str | Path, manifest: dict | None = None) -> ModelSpec:
    """The BlazeFace sample: 128×128 RGB NHWC in [-1, 1] (x·2/255 − 1), letterboxed, SSD decoding."""
    manifest = manifest or ssd_preset("face_detection")
    preprocess, letterbox = ssd_input(manifest)
    return ModelSpec(str(path), preprocess, "ssd", ["face"], letterbox=letterbox,
                     options={k: manifest[k] for k in ("anchors", "decoder", "nms")})


def declare_kind(model: str | Path, kind: str, **options) -> Path:
    """Write the folder's model.json sidecar next to `model`: which postprocessor reads it."""
    return save_description(model, ModelDescription(kind=kind, **options), folder_wide=True)


def declared_kind(model: str | Path) -> dict:
    description, _ = load_description(model)
    return description.model_dump(exclude_none=True) if description else {"kind": "classification"}


def describe(base: ModelDescription | None, overrides: dict) -> ModelDescription | None:
    """The sidecar's description with the caller's choices on top (CLI flags, the GUI dialog), validated."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return base
    merged = (base.model_dump(exclude_unset=True) if base else {}) | given
    if base is not None and base.preprocess is not None and isinstance(given.get("preprocess"), dict):
        merged["preprocess"] = base.preprocess.model_dump(exclude_unset=True) | given["preprocess"]
    if "kind" not in merged:
        return None  # nothing declares a kind: a classifier by its preprocess.json, or an error that says so
    try:
        return ModelDescription.model_validate(merged)
    except Exception as exc:  # pydantic's ValidationError: one line per bad field
        errors = getattr(exc, "errors", None)
        if not callable(errors):
            raise
        raise PreprocessError("model description", [(".".join(str(p) for p in e["loc"]),
                                                    e["msg"].removeprefix("Value error, "))
                                                   for e in errors(include_url=False, include_input=False)]) from None


def model_spec(path: str | Path, preprocess: PreprocessSpec | None = None, input_shape: tuple[int, ...] | None = None,
               overrides: dict | None = None, input_name: str = "x") -> ModelSpec:
    """How to feed and read a model file. The sidecar (sidecar.py; `overrides` on top) says which
    postprocessor, labels, thresholds and preprocessing; a model without one is a classifier if a
    preprocess.json lies next to it (or in its parent folder). `input_shape`: the runtime's input,
    for preprocessing declared without sizes."""
    from app.core.models.evaluate import find_preprocess

    path = Path(path)
    base, found = load_description(path)
    description = describe(base, overrides or {})
    if description is None:
        legacy = preprocess or find_preprocess(path)
        if legacy is None:
            raise ValueError(f"{path.name}: nothing says what kind of model it is (no {path.stem}.model.json or "
                             f"model.json, no preprocess.json): declare its kind ({', '.join(KINDS)})")
        labels_file = find_sidecar(path, "labels.json")
        labels = (overrides or {}).get("labels") or (read_labels(labels_file) if labels_file else None)
        return ModelSpec(str(path), legacy, "classification", labels)
    options = description.model_dump(exclude={"kind", "labels", "labels_file", "preprocess"}, exclude_none=True)
    labels = description.label_list(found if description is base else None)
    if labels is None and (labels_file := find_sidecar(path, "labels.json")) is not None:
        labels = read_labels(labels_file)
    letterbox = False
    if description.kind == "ssd":  # a preset's options, or the description's own (anchors + decoder)
        preset = ssd_preset(description.preset) if description.preset else {}
        options.update({k: options.get(k) or preset[k] for k in ("anchors", "decoder") if k in options or preset})
        options["nms"] = preset.get("nms") or anchors.SsdNmsOptions().model_dump()
        for key in ("score_threshold", "iou_threshold"):
            if key not in description.model_fields_set:
                options.pop(key, None)  # the preset's own threshold holds
        if preprocess is None and description.preprocess is None and preset:
            preprocess, letterbox = ssd_input(preset)
        labels = labels or preset.get("labels")
    if preprocess is None:
        row = POSTPROCESSORS[description.kind]
        given = description.preprocess
        if description.kind == "classification" and (given is None or input_shape is None):
            # a classifier's preprocess.json still serves, and carries the size the description leaves out
            preprocess = find_preprocess(path)
        if preprocess is None:
            given = given or row.default_input
            if input_shape is None:
                raise ValueError(f"{path.name}: its input size is needed to build the preprocessing "
                                 "(open the model first)")
            preprocess = given.spec(input_shape, input_name)
        letterbox = given.letterbox if given is not None else letterbox
    elif description.preprocess is not None:
        letterbox = description.preprocess.letterbox
    return ModelSpec(str(path), preprocess, description.kind, labels, letterbox, options, description,
                     variant_label(path))


# -- classification ----------------------------------------------------------------------------
def classification(spec: ModelSpec) -> Decoder:
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


def ssd(spec: ModelSpec) -> Decoder:
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
        keep = scores >= spec.options.get("score_threshold", dec.get("min_score_thresh", 0.5))
        if not keep.any():
            return Result()
        boxes, kps = decode_boxes(raw_boxes.reshape(len(anchors), -1)[keep], anchors[keep], dec)
        found = nms(boxes, scores[keep], kps, spec.options.get("iou_threshold", nms_opts["min_suppression_threshold"]),
                    nms_opts.get("algorithm", "weighted") == "weighted")
        detections = []
        for box, score, kp in found:
            corners = geometry.to_frame(box.reshape(2, 2)).reshape(-1)
            points = geometry.to_frame(kp)
            detections.append(Detection(tuple(float(v) for v in corners), score,
                                        tuple((float(x), float(y)) for x, y in points), label))
        return Result(detections=detections)

    return decode


blazeface = ssd  # the face sample's decoder under its old name


@dataclass(frozen=True)
class Postprocessor:
    """One kind of model: how the app names it, which outputs it reads, how it decodes them."""

    kind: str
    label: str
    shapes: str  # the outputs it reads, in words (help text, the GUI's import dialog)
    accepts: Callable[[list[tuple[int, ...]]], bool]  # output shapes → can this kind read them?
    factory: Callable[[ModelSpec], Decoder]
    default_input: InputOptions = InputOptions()
    metric: str = ""  # what the vs-truth and agreement figures measure (metrics.py)


def _dims(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1)


def _largest(shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    return max(shapes, key=lambda s: math.prod(s)) if shapes else ()


def _accepts_classes(shapes) -> bool:
    return bool(shapes) and len(_dims(shapes[0])) == 1


def _accepts_ssd(shapes) -> bool:
    three = [s for s in shapes if len(s) == 3]
    return len(three) == 2 and three[0][1] == three[1][1] and max(three[0][2], three[1][2]) >= 4


def _channels_first(shapes) -> bool | None:
    """[1, 4+C, N] (True) or [1, N, 4+C] (False) for a detector's rows; None: not rows at all."""
    dims = _dims(_largest(shapes))
    if len(dims) != 2 or min(dims) < 5 or max(dims) < 4 * min(dims):  # rows outnumber values: not a square map
        return None
    return dims[0] < dims[1]


def _accepts_v8(shapes) -> bool:
    # Ultralytics exports [1, 4+C, N]; MindYOLO's head gives [1, N, 4+C]: the decoder reads both. An SSD's
    # pair (rows of box values beside a separate score tensor of the same N) is no YOLO head, whatever its widths
    return _channels_first(shapes) is not None and not _accepts_ssd(shapes)


def _accepts_v5(shapes) -> bool:
    return _channels_first(shapes) is False and _dims(_largest(shapes))[1] >= 6 and not _accepts_ssd(shapes)


def _accepts_mask(shapes) -> bool:
    dims = _dims(_largest(shapes))
    spatial = sorted(dims, reverse=True)[:2]
    return len(dims) in (2, 3) and min(spatial) >= 16 and (len(dims) == 2 or min(dims) <= 64)


def _accepts_points(shapes) -> bool:
    from app.core.live.topologies import TOPOLOGIES, layout_for

    return any(layout_for(math.prod(s)) or any(math.prod(s) % t.points == 0 and 2 <= math.prod(s) // t.points <= 5
                                              for t in TOPOLOGIES.values()) for s in shapes)


POSTPROCESSORS: dict[str, Postprocessor] = {p.kind: p for p in (
    Postprocessor("classification", "Classifier (top-k labels)", "one score vector [1, C]", _accepts_classes,
                  classification, metric="top-1"),
    Postprocessor("ssd", "SSD-anchor detector (MediaPipe face / palm / pose)",
                  "regressors [1, N, 4+2K] and scores [1, N, 1]; anchors from a preset or MediaPipe's anchor options",
                  _accepts_ssd, ssd, InputOptions(letterbox=True), "box agreement"),
    Postprocessor("yolov5", "YOLOv5 detector (anchors in the head)", "[1, N, 5+C]: cx, cy, w, h, objectness, classes",
                  _accepts_v5, decoders.yolo, InputOptions(letterbox=True), "box agreement"),
    Postprocessor("yolov8", "YOLOv8 / v11 detector (anchor-free)", "[1, 4+C, N]: cx, cy, w, h, classes",
                  _accepts_v8, decoders.yolo, InputOptions(letterbox=True), "box agreement"),
    Postprocessor("segmentation", "Segmentation mask", "[1, C, H, W] or [1, H, W, C] (C = 1: a probability)",
                  _accepts_mask, decoders.segmentation, metric="mask IoU"),
    Postprocessor("keypoints", "Keypoints / landmarks (hand 21, pose 33, face 468)",
                  "[1, K·D] or [1, K, D] (D = 2..5), optional presence score [1, 1]", _accepts_points,
                  decoders.keypoints, InputOptions(letterbox=True), "keypoint distance"),
)}
# the most specific first: a [1, 63] output is more likely 21 landmarks than 63 classes
SUGGESTION_ORDER = ("ssd", "yolov8", "yolov5", "segmentation", "keypoints", "classification")


def suggest_kinds(output_shapes: list[tuple[int, ...]]) -> list[str]:
    """The kinds whose postprocessor reads outputs of these shapes, most likely first."""
    shapes = [tuple(int(d) for d in s) for s in output_shapes]
    found = [k for k in SUGGESTION_ORDER if POSTPROCESSORS[k].accepts(shapes)]
    if _channels_first(shapes) is False and "yolov5" in found:  # [1, N, 5+C] reads as v5 first, v8 second
        found.remove("yolov5")
        found.insert(found.index("yolov8") if "yolov8" in found else 0, "yolov5")
    return found

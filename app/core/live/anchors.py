"""SSD anchors from parameters: MediaPipe's SsdAnchorsCalculator, its options by their documented names.

Any SSD detector is described by three option sets with MediaPipe's own field names
(mediapipe/calculators/tflite/ssd_anchors_calculator.proto, tensors_to_detections_calculator.proto,
non_max_suppression_calculator.proto), so a model card's graph options can be copied over as they are:

    {"kind": "ssd", "anchors": {"num_layers": 5, "min_scale": 0.1484375, "max_scale": 0.75,
     "input_size_width": 224, "input_size_height": 224, "strides": [8, 16, 32, 32, 32],
     "fixed_anchor_size": true}, "decoder": {"num_boxes": 2254, "num_coords": 12, "num_keypoints": 4, …}}

SSD_PRESETS holds the detectors MediaPipe ships (one row each; a sidecar names one with "preset").
"""
from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class SsdAnchorOptions(BaseModel):
    """SsdAnchorsCalculatorOptions: where the anchors sit and how big they are (normalized to the input)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    input_size_width: int = Field(ge=1, le=8192)
    input_size_height: int = Field(ge=1, le=8192)
    num_layers: int = Field(ge=1, le=16)
    min_scale: float = Field(gt=0, le=10)
    max_scale: float = Field(gt=0, le=10)
    strides: list[int] = Field(min_length=1, max_length=16)
    aspect_ratios: list[float] = Field([1.0], min_length=1, max_length=16)
    anchor_offset_x: float = 0.5
    anchor_offset_y: float = 0.5
    # a grid per layer of its own instead of input size / stride (MediaPipe: feature_map_width/height)
    feature_map_width: list[int] = Field(default_factory=list, max_length=16)
    feature_map_height: list[int] = Field(default_factory=list, max_length=16)
    reduce_boxes_in_lowest_layer: bool = False  # 3 anchors in layer 0: 0.1 box and two of aspect 2 and 1/2
    interpolated_scale_aspect_ratio: float = 1.0  # > 0: one more anchor of scale sqrt(s·s_next) per cell
    fixed_anchor_size: bool = False  # every anchor 1×1 (BlazeFace/BlazePalm/BlazePose regress w, h themselves)
    num_anchors: int | None = Field(None, ge=1)  # a check only: what the generated table must count

    @model_validator(mode="after")
    def _layers(self) -> "SsdAnchorOptions":
        if len(self.strides) != self.num_layers:
            raise ValueError(f"strides has {len(self.strides)} values for num_layers {self.num_layers}")
        for name in ("feature_map_width", "feature_map_height"):
            given = getattr(self, name)
            if given and len(given) != self.num_layers:
                raise ValueError(f"{name} has {len(given)} values for num_layers {self.num_layers}")
        return self


class SsdDecoderOptions(BaseModel):
    """TensorsToDetectionsCalculatorOptions: how a regressor row becomes a box and keypoints."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    num_classes: int = Field(1, ge=1, le=10000)
    num_boxes: int = Field(ge=1)
    num_coords: int = Field(ge=4)
    box_coord_offset: int = Field(0, ge=0)
    keypoint_coord_offset: int = Field(4, ge=0)
    num_keypoints: int = Field(0, ge=0, le=1000)
    num_values_per_keypoint: int = Field(2, ge=2, le=8)
    reverse_output_order: bool = True  # True: x, y, w, h (MediaPipe's models); False: y, x, h, w
    x_scale: float = Field(gt=0)
    y_scale: float = Field(gt=0)
    w_scale: float = Field(gt=0)
    h_scale: float = Field(gt=0)
    sigmoid_score: bool = True
    score_clipping_thresh: float | None = Field(None, gt=0)
    min_score_thresh: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _fits(self) -> "SsdDecoderOptions":
        end = self.keypoint_coord_offset + self.num_keypoints * self.num_values_per_keypoint
        if self.box_coord_offset + 4 > self.num_coords or (self.num_keypoints and end > self.num_coords):
            raise ValueError(f"box and keypoints need {max(self.box_coord_offset + 4, end)} coordinates, "
                             f"num_coords is {self.num_coords}")
        return self


class SsdNmsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    min_suppression_threshold: float = Field(0.3, ge=0, le=1)
    overlap_type: str = "intersection_over_union"
    algorithm: str = "weighted"  # weighted (MediaPipe's BlazeFace/Palm/Pose) or default (keep the best)


class SsdPreset(BaseModel):
    """One MediaPipe detector: its anchors, decoder, NMS and input (RGB NHWC, letterboxed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    anchors: SsdAnchorOptions
    decoder: SsdDecoderOptions
    nms: SsdNmsOptions = SsdNmsOptions()
    input: dict  # name, shape [1, H, W, 3], range [low, high], letterbox
    labels: list[str]
    source: str  # where the options are documented

    def options(self) -> dict:
        """The dict form the SSD decoder and the registry manifests use."""
        return {"anchors": self.anchors.model_dump(exclude_none=True), "decoder": self.decoder.model_dump(exclude_none=True),
                "nms": self.nms.model_dump(), "input": self.input, "labels": self.labels}


def _blaze(size: int, strides: list[int], boxes: int, coords: int, keypoints: int, label: str, input_name: str,
           value_range: list[float], source: str, interpolated: float = 1.0, min_scale: float = 0.1484375) -> SsdPreset:
    return SsdPreset(
        anchors=SsdAnchorOptions(input_size_width=size, input_size_height=size, num_layers=len(strides),
                                 min_scale=min_scale, max_scale=0.75, strides=strides,
                                 interpolated_scale_aspect_ratio=interpolated, fixed_anchor_size=True,
                                 num_anchors=boxes),
        decoder=SsdDecoderOptions(num_boxes=boxes, num_coords=coords, num_keypoints=keypoints, x_scale=size,
                                  y_scale=size, w_scale=size, h_scale=size, score_clipping_thresh=100.0),
        input={"name": input_name, "shape": [1, size, size, 3], "range": value_range, "letterbox": True},
        labels=[label], source=source)


# preset name -> the options of MediaPipe's graph for that model (mediapipe/modules/<module>/*.pbtxt)
SSD_PRESETS: dict[str, SsdPreset] = {
    "face_detection": _blaze(128, [8, 16, 16, 16], 896, 16, 6, "face", "input", [-1.0, 1.0],
                             "face_detection_short_range.pbtxt"),
    "face_detection_full_range": _blaze(192, [4], 2304, 16, 6, "face", "input_1", [-1.0, 1.0],
                                        "face_detection_full_range.pbtxt", interpolated=0.0),
    "palm_detection": _blaze(192, [8, 16, 16, 16], 2016, 18, 7, "palm", "input_1", [0.0, 1.0],
                             "palm_detection_cpu.pbtxt (lite and full)"),
    "pose_detection": _blaze(224, [8, 16, 32, 32, 32], 2254, 12, 4, "person", "input_1", [-1.0, 1.0],
                             "pose_detection_cpu.pbtxt"),
}


def ssd_anchors(options: SsdAnchorOptions | dict) -> np.ndarray:
    """(N, 4) anchors x_center, y_center, w, h (normalized), in the order SsdAnchorsCalculator makes them:
    layers that share a stride share one grid, cell by cell, each cell's anchors together."""
    o = options if isinstance(options, SsdAnchorOptions) else SsdAnchorOptions.model_validate(options)
    n = o.num_layers

    def scale(i: int) -> float:
        return o.min_scale + (o.max_scale - o.min_scale) * i / (n - 1) if n > 1 else (o.min_scale + o.max_scale) / 2

    anchors, layer = [], 0
    while layer < n:
        sizes = []  # (w, h) of each anchor of a cell
        last = layer
        while last < n and o.strides[last] == o.strides[layer]:
            s = scale(last)
            if last == 0 and o.reduce_boxes_in_lowest_layer:
                sizes += [(0.1, 0.1), (s * math.sqrt(2), s / math.sqrt(2)), (s / math.sqrt(2), s * math.sqrt(2))]
            else:
                sizes += [(s * math.sqrt(r), s / math.sqrt(r)) for r in o.aspect_ratios]
                if o.interpolated_scale_aspect_ratio > 0:
                    s_next = 1.0 if last == n - 1 else scale(last + 1)
                    r = o.interpolated_scale_aspect_ratio
                    sizes.append((math.sqrt(s * s_next) * math.sqrt(r), math.sqrt(s * s_next) / math.sqrt(r)))
            last += 1
        rows = o.feature_map_height[layer] if o.feature_map_height else math.ceil(o.input_size_height / o.strides[layer])
        cols = o.feature_map_width[layer] if o.feature_map_width else math.ceil(o.input_size_width / o.strides[layer])
        ys, xs = np.meshgrid((np.arange(rows) + o.anchor_offset_y) / rows,
                             (np.arange(cols) + o.anchor_offset_x) / cols, indexing="ij")
        wh = np.ones((len(sizes), 2)) if o.fixed_anchor_size else np.array(sizes)
        grid = np.stack([xs, ys], -1).reshape(-1, 1, 2).repeat(len(sizes), 1)
        anchors.append(np.concatenate([grid, np.broadcast_to(wh, grid.shape)], -1).reshape(-1, 4))
        layer = last
    table = np.concatenate(anchors).astype(np.float32)
    if o.num_anchors is not None and len(table) != o.num_anchors:
        raise ValueError(f"these anchor options make {len(table)} anchors, num_anchors says {o.num_anchors}")
    return table


def preset(name: str) -> SsdPreset:
    if name not in SSD_PRESETS:
        raise ValueError(f"ssd preset {name!r}: known presets are {', '.join(SSD_PRESETS)} "
                         "(or give the anchors and decoder options themselves)")
    return SSD_PRESETS[name]

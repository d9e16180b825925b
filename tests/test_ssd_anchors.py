"""SSD anchors from MediaPipe's documented options, any SSD model described without a preset, and
keypoint layouts with N values per point (BlazePose's 39 × 5)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from app.core.live.anchors import SSD_PRESETS, SsdAnchorOptions, ssd_anchors
from app.core.live.decoders import keypoint_layout
from app.core.live.postprocess import ModelSpec, model_spec
from app.core.live.results import Geometry
from app.core.live.sidecar import InputOptions, ModelDescription
from app.core.live.topologies import TOPOLOGIES, layout_for
from app.core.preprocess import PreprocessError
from sample_models.fetch import manifest


def test_every_preset_makes_the_anchor_count_its_model_regresses():
    for name, preset in SSD_PRESETS.items():
        assert len(ssd_anchors(preset.anchors)) == preset.decoder.num_boxes, name
    # the two presets that were registry entries are now rows of the table: the same anchors and decoder
    for name in ("face_detection", "palm_detection"):
        old = manifest(name)
        assert np.array_equal(ssd_anchors(old["anchors"]), ssd_anchors(SSD_PRESETS[name].anchors))
        new = SSD_PRESETS[name].decoder.model_dump(exclude_none=True)
        assert all(old["decoder"][k] == v for k, v in new.items() if k in old["decoder"]), name
        assert old["nms"] == SSD_PRESETS[name].nms.model_dump() and old["input"]["name"] == SSD_PRESETS[name].input["name"]


def test_pose_detection_grid():
    anchors = ssd_anchors(SSD_PRESETS["pose_detection"].anchors)
    # stride 8: 28×28 cells × 2 anchors; stride 16: 14×14 × 2; stride 32 (three layers): 7×7 × 6
    assert np.allclose(anchors[0], [0.5 / 28, 0.5 / 28, 1, 1]) and np.allclose(anchors[1], anchors[0])
    assert np.allclose(anchors[1568], [0.5 / 14, 0.5 / 14, 1, 1])
    assert np.allclose(anchors[1568 + 392], [0.5 / 7, 0.5 / 7, 1, 1])
    assert np.allclose(anchors[1568 + 392 + 5], anchors[1568 + 392]) and np.allclose(anchors[-1], [6.5 / 7, 6.5 / 7, 1, 1])


def test_ssd_mobilenet_anchors_from_the_same_options():
    """MediaPipe's SSD MobileNet v2 (object_detection_mobile_cpu.pbtxt): six layers, five aspect ratios,
    three boxes in the lowest layer, sizes not fixed: the 1917 anchors the model regresses."""
    options = SsdAnchorOptions(input_size_width=300, input_size_height=300, num_layers=6, min_scale=0.2,
                               max_scale=0.95, strides=[16, 32, 64, 128, 256, 512],
                               aspect_ratios=[1.0, 2.0, 0.5, 3.0, 0.3333], reduce_boxes_in_lowest_layer=True,
                               num_anchors=1917)
    anchors = ssd_anchors(options)
    assert anchors.shape == (1917, 4)
    # the lowest layer: 19×19 cells, a 0.1 box then aspect 2 and 1/2 at scale 0.2
    cell = 0.5 / 19
    assert np.allclose(anchors[0], [cell, cell, 0.1, 0.1])
    assert np.allclose(anchors[1], [cell, cell, 0.2 * math.sqrt(2), 0.2 / math.sqrt(2)], atol=1e-6)
    assert np.allclose(anchors[2], [cell, cell, 0.2 / math.sqrt(2), 0.2 * math.sqrt(2)], atol=1e-6)
    # the next layer (10×10): scale 0.35 at aspect 1, …, then the interpolated sqrt(0.35·0.5)
    s, s_next = 0.2 + 0.75 / 5, 0.2 + 2 * 0.75 / 5
    assert np.allclose(anchors[1083], [0.5 / 10, 0.5 / 10, s, s], atol=1e-6)
    assert np.allclose(anchors[1083 + 5, 2:], [math.sqrt(s * s_next)] * 2, atol=1e-6)
    with pytest.raises(ValueError, match="make 1917 anchors, num_anchors says 1900"):
        ssd_anchors(options.model_copy(update={"num_anchors": 1900}))


def test_an_ssd_model_described_by_its_options_alone(tmp_path):
    """pose_detection's options written into a sidecar (no preset): the decoder finds a person placed by hand."""
    preset = SSD_PRESETS["pose_detection"]
    model = tmp_path / "detector.ms"
    model.write_bytes(b"")
    (tmp_path / "detector.model.json").write_text(json.dumps({
        "kind": "ssd", "labels": ["person"], "anchors": preset.anchors.model_dump(exclude_none=True),
        "decoder": preset.decoder.model_dump(exclude_none=True),
        "preprocess": {"range": "-1-1", "letterbox": True}}))
    spec = model_spec(model, input_shape=(1, 224, 224, 3))
    assert spec.postprocessor == "ssd" and spec.letterbox and spec.preprocess.width == 224
    anchors = ssd_anchors(spec.options["anchors"])
    regressors = np.zeros((1, 2254, 12), np.float32)
    logits = np.full((1, 2254, 1), -20.0, np.float32)
    k = 1568 + 392 + 6 * 24  # a stride-32 cell near the middle
    ax, ay = anchors[k, :2]
    regressors[0, k, :4] = [(0.45 - ax) * 224, (0.5 - ay) * 224, 0.2 * 224, 0.6 * 224]
    regressors[0, k, 4:6] = [(0.45 - ax) * 224, (0.7 - ay) * 224]  # hip centre
    logits[0, k, 0] = 3.0
    found = spec.postprocess()([regressors, logits], Geometry(224, 224)).detections
    assert len(found) == 1 and found[0].label == "person"
    assert np.allclose(found[0].box, [0.35 * 224, 0.2 * 224, 0.55 * 224, 0.8 * 224], atol=1e-3)
    assert np.allclose(found[0].keypoints[0], [0.45 * 224, 0.7 * 224], atol=1e-3)


def test_ssd_descriptions_say_what_is_missing():
    with pytest.raises(ValueError, match="preset .*face_detection.*pose_detection.* or its anchors and decoder"):
        ModelDescription(kind="ssd")
    with pytest.raises(ValueError, match="unknown ssd preset 'blazeface'"):
        ModelDescription(kind="ssd", preset="blazeface")
    bad = SSD_PRESETS["pose_detection"].anchors.model_dump() | {"strides": [8, 16]}
    with pytest.raises(ValueError, match="strides has 2 values for num_layers 5"):
        ModelDescription(kind="ssd", anchors=bad, decoder=SSD_PRESETS["pose_detection"].decoder)


# -- keypoints: N values per point ----------------------------------------------------------------
POSE_OUTPUTS = [(1, 117), (1, 1), (1, 256, 256, 1), (1, 64, 64, 39), (1, 195)]  # outputs in a runtime's order


def test_blazepose_39_by_5_is_understood_as_pose33():
    outputs = [np.zeros(s, np.float32) for s in POSE_OUTPUTS]
    assert keypoint_layout(outputs, {"topology": "pose33"}) == (4, 39, 5, 1)
    assert layout_for(195) == (TOPOLOGIES["pose33"], TOPOLOGIES["pose33"].layouts[0])
    assert TOPOLOGIES["pose33"].layouts[0].values == ("x", "y", "z", "visibility", "presence")
    # 33 × 5 and hand 21 × 3, face 468 × 3 still read
    assert keypoint_layout([np.zeros((1, 165)), np.zeros((1, 1))], {"topology": "pose33"})[1:3] == (33, 5)
    assert keypoint_layout([np.zeros((1, 63))], {"topology": "hand21"})[1:3] == (21, 3)
    assert keypoint_layout([np.zeros((1, 1, 1, 1404))], {})[1:3] == (468, 3)


def test_pose_decoder_draws_the_33_body_points(rng):
    points = rng.uniform(10, 246, (39, 5)).astype(np.float32)
    outputs = [np.zeros(s, np.float32) for s in POSE_OUTPUTS]
    outputs[4] = points.reshape(1, 195)
    outputs[1] = np.full((1, 1), 4.0, np.float32)  # presence logit: 0.98
    from app.core.preprocess import PreprocessSpec

    spec = ModelSpec("pose.ms", InputOptions(letterbox=True).spec((1, 256, 256, 3)), "keypoints",
                     options={"topology": "pose33"})
    assert isinstance(spec.preprocess, PreprocessSpec)
    result = spec.postprocess()(outputs, Geometry(512, 512))
    assert result.topology == "pose33" and len(result.landmarks) == 33
    assert np.allclose(result.landmarks, points[:33, :2] * 2, atol=1e-4)  # 256 input pixels → 512 frame
    assert result.presence == pytest.approx(1 / (1 + math.exp(-4.0)))


def test_the_cli_reads_pose_landmarks_with_the_pose33_topology_through_a_sidecar(tmp_path):
    """The issue's failure: `--topology pose33` on outputs (1, 195) … said "no output has 33 keypoint values"."""
    model = tmp_path / "pose_landmark_full.ms"
    model.write_bytes(b"")
    (tmp_path / "pose_landmark_full.model.json").write_text(json.dumps({"kind": "keypoints", "topology": "pose33"}))
    spec = model_spec(model, input_shape=(1, 256, 256, 3))
    outputs = [np.zeros(s, np.float32) for s in POSE_OUTPUTS]
    outputs[1] = np.full((1, 1), 4.0, np.float32)
    assert len(spec.postprocess()(outputs, Geometry(256, 256)).landmarks) == 33
    with pytest.raises(PreprocessError):
        (tmp_path / "pose_landmark_full.model.json").write_text(json.dumps({"kind": "keypoints", "topology": "pose39"}))
        model_spec(model, input_shape=(1, 256, 256, 3))

"""Model kinds beyond classifiers: the sidecar, the postprocessor table and its suggestions, the
YOLO / segmentation / keypoint decoders, the synthetic scenes' truth, and real runs — onnxruntime and
Lite FP32 vs INT8 — of test models whose outputs are a known function of the input."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.core.live.metrics import box_agreement, compare, keypoint_distance, mask_iou
from app.core.live.pipeline import LiveModel, LivePipeline
from app.core.live.postprocess import (
    ModelSpec,
    declared_kind,
    suggest_kinds,
)
from app.core.live.results import Detection, Geometry, Result
from app.core.live.samples import BUILDERS, resolve_model
from app.core.live.scenes import BoxesTruth, KeypointsTruth, MaskTruth
from app.core.live.sidecar import (
    InputOptions,
    ModelDescription,
    load_description,
    save_description,
)
from app.core.live.sources import SyntheticSource
from app.core.preprocess import PreprocessError, PreprocessSpec
from sample_models import synthetic

ROOT = Path(__file__).resolve().parents[1]


def edge_studio(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


# -- the sidecar ---------------------------------------------------------------------------------
def test_sidecar_is_validated_and_found_beside_the_model(tmp_path):
    model = tmp_path / "det.onnx"
    model.write_bytes(b"")
    assert load_description(model) == (None, None)
    save_description(model, ModelDescription(kind="yolov8", labels=["a", "b"], score_threshold=0.3,
                                             preprocess=InputOptions(letterbox=True, range="0-255")))
    description, found = load_description(model)
    assert found == tmp_path / "det.model.json" and description.kind == "yolov8"
    assert description.score_threshold == 0.3 and description.preprocess.letterbox
    # the folder's model.json (older packages) still serves a model without its own
    (tmp_path / "model.json").write_text(json.dumps({"kind": "ssd", "preset": "face_detection"}))
    assert declared_kind(tmp_path / "other.ms")["preset"] == "face_detection"
    for bad, field in (({"kind": "yolo"}, "kind"), ({"kind": "yolov8", "score_threshold": 2}, "score_threshold"),
                       ({"kind": "ssd"}, "preset"), ({"kind": "keypoints", "colour": "RGB"}, "colour"),
                       ({"kind": "segmentation", "preprocess": {"range": "0-2"}}, "preprocess.range")):
        (tmp_path / "det.model.json").write_text(json.dumps(bad))
        with pytest.raises(PreprocessError) as caught:
            load_description(model)
        assert field in str(caught.value) and "det.model.json" in str(caught.value)


def test_input_options_build_the_preprocessing():
    nchw = InputOptions(range="-1-1").spec((1, 3, 64, 96))
    assert (nchw.layout, nchw.width, nchw.height, nchw.color) == ("NCHW", 96, 64, "RGB")
    assert nchw.value_range() == pytest.approx((-1.0, 1.0))
    nhwc = InputOptions(range="mean-std", color="BGR").spec((1, 224, 224, 3))
    assert nhwc.layout == "NHWC" and nhwc.color == "BGR" and nhwc.mean == (0.485, 0.456, 0.406)
    x = nhwc.apply(np.full((10, 10, 3), 255, np.uint8))
    assert x.shape == (1, 224, 224, 3) and x[0, 0, 0, 0] == pytest.approx((1 - 0.485) / 0.229, rel=1e-5)
    assert InputOptions(range="0-255").spec((1, 1, 28, 28)).color == "GRAY"
    with pytest.raises(ValueError, match="channels"):
        InputOptions().spec((1, 5, 32, 32))


def test_kind_is_declared_not_guessed(tmp_path):
    model = synthetic.boxes_yolo(tmp_path / "yolov8n.onnx")  # a telling name: still not a declaration
    with pytest.raises(ValueError, match="declare its kind.*suggest yolov8"):
        resolve_model(str(model), tmp_path)
    spec, runtime = resolve_model(str(model), tmp_path, overrides={"kind": "yolov8", "normalized": True})
    runtime.close()
    assert spec.postprocessor == "yolov8" and spec.letterbox  # YOLO's default input: letterboxed
    assert spec.preprocess.input_shape == (1, 3, 320, 320)


# -- the table's suggestions ---------------------------------------------------------------------
@pytest.mark.parametrize("shapes, first", [
    ([(1, 84, 8400)], "yolov8"), ([(1, 7, 400)], "yolov8"), ([(1, 25200, 85)], "yolov5"),
    ([(1, 896, 16), (1, 896, 1)], "ssd"), ([(1, 2016, 18), (1, 2016, 1)], "ssd"),
    ([(1, 2, 128, 128)], "segmentation"), ([(1, 256, 256, 1)], "segmentation"),
    ([(1, 63), (1, 1), (1, 1), (1, 63)], "keypoints"), ([(1, 1, 1, 1404), (1, 1, 1, 1)], "keypoints"),
    ([(1, 10)], "classification"), ([(1, 1000)], "classification"),
])
def test_suggestions_from_output_shapes(shapes, first):
    assert suggest_kinds(shapes)[0] == first
    if first == "yolov5":  # rows last could be MindYOLO's v8 head too: offered second
        assert suggest_kinds(shapes)[:2] == ["yolov5", "yolov8"]


# -- decoders --------------------------------------------------------------------------------
def _spec(kind: str, size=(320, 320), labels=None, **options) -> ModelSpec:
    pre = PreprocessSpec(width=size[0], height=size[1], channels=3, color="RGB")
    return ModelSpec("m.onnx", pre, kind, labels, options={"score_threshold": 0.5, "iou_threshold": 0.45, **options})


def test_yolo_layouts_decode_the_same_boxes_with_class_wise_nms():
    # three candidates: two overlapping "b" boxes (one survives NMS), one "a" box overlapping them (kept)
    rows = np.array([[100, 100, 40, 40, 0.1, 0.9], [102, 101, 40, 40, 0.2, 0.8], [104, 100, 40, 40, 0.7, 0.1],
                     [200, 200, 20, 20, 0.2, 0.3]], np.float32)
    v8 = rows.T[None]  # [1, 4+C, N]
    v5 = np.concatenate([rows[:, :4], np.ones((4, 1), np.float32), rows[:, 4:]], 1)[None]  # [1, N, 5+C]
    for kind, output in (("yolov8", v8), ("yolov5", v5)):
        found = _spec(kind, labels=["a", "b"]).postprocess()([output], Geometry(640, 640, 0, 80, 640, 480))
        assert [(d.label, round(d.score, 2)) for d in found.detections] == [("b", 0.9), ("a", 0.7)]
        assert np.allclose(found.detections[0].box, [160, 80, 240, 160])  # input 80..120 of 320 → ×2, less the 80 rows of padding
    # v5's score is objectness × class
    v5[0, :, 4] = 0.5
    assert _spec("yolov5", labels=["a", "b"], score_threshold=0.3).postprocess()([v5], Geometry(320, 320)).detections[0].score == \
        pytest.approx(0.45)


def test_segmentation_one_channel_nhwc_and_letterbox():
    prob = np.zeros((1, 64, 64, 1), np.float32)
    prob[0, 16:48, 8:24, 0] = 0.9
    spec = _spec("segmentation", (64, 64), ["background", "person"])
    result = spec.postprocess()([prob], Geometry(640, 640, 0, 80, 640, 480))
    assert result.mask.shape == (480, 640) and result.mask_labels == ["background", "person"]
    ys, xs = np.nonzero(result.mask)
    # ×10 to the padded 640×640 frame, less its 80 rows of padding: rows 16..48 → 80..400, columns 8..24 → 80..240
    assert abs(ys.min() - 80) <= 6 and abs(ys.max() - 399) <= 6 and abs(xs.min() - 80) <= 6 and abs(xs.max() - 239) <= 6


def test_keypoints_presence_and_topology():
    points = np.arange(63, dtype=np.float32).reshape(1, 63)
    spec = _spec("keypoints", (224, 224), topology="hand21")
    decode = spec.postprocess()
    found = decode([points, np.array([[0.9]], np.float32)], Geometry(224, 224))
    assert len(found.landmarks) == 21 and found.topology == "hand21" and found.landmarks[1] == (3.0, 4.0)
    absent = decode([points, np.array([[0.1]], np.float32)], Geometry(224, 224))
    assert absent.landmarks == [] and absent.presence == pytest.approx(0.1)
    logit = decode([points, np.array([[-5.0]], np.float32)], Geometry(224, 224))  # a logit: sigmoid first
    assert logit.presence == pytest.approx(1 / (1 + np.exp(5)))


# -- metrics ---------------------------------------------------------------------------------
def test_metrics_per_kind():
    a = [("x", np.array([0, 0, 10, 10])), ("y", np.array([20, 20, 30, 30]))]
    assert box_agreement(a, a).rate == 1.0 and box_agreement([], []).rate == 1.0
    assert box_agreement(a, a[:1]).rate == 0.5
    assert box_agreement(a, [("y", np.array([0, 0, 10, 10]))]).rate == 0.0  # the right place, the wrong class
    m = np.zeros((10, 10), np.uint8)
    m[:5] = 1
    n = np.zeros_like(m)
    n[:, :5] = 1
    assert mask_iou(m, m).rate == 1.0 and mask_iou(m, n).rate == pytest.approx(25 / 75)
    want = np.array([[0, 0], [100, 0], [100, 100]], float)
    fig = keypoint_distance(want + [3, 4], want)
    assert fig.value == pytest.approx(5.0) and fig.rate == 1.0  # 5 px ≤ 10 % of the 141 px extent
    assert compare("yolov8", Result(detections=[Detection((0, 0, 10, 10), 0.9, label="x")]),
                   BoxesTruth((("x", (0, 0, 10, 10)),))).rate == 1.0
    assert compare("keypoints", Result(), KeypointsTruth(want)).rate == 0.0
    assert compare("segmentation", Result(mask=m), MaskTruth(m > 0)).rate == 1.0
    assert compare("segmentation", Result(mask=m), 3) is None  # a digit says nothing about a mask


# -- scenes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("scene, kind", [("objects", BoxesTruth), ("person", MaskTruth), ("hand", KeypointsTruth)])
def test_scenes_are_deterministic_and_know_their_truth(scene, kind):
    a, b = SyntheticSource(fps=0, scene=scene), SyntheticSource(fps=0, scene=scene)
    image, truth = a.render(11)
    again, _ = b.render(11)
    assert np.array_equal(image, again) and isinstance(truth, kind)
    assert not np.array_equal(image, a.render(12)[0])  # things move
    if scene == "objects":
        for label, (x0, y0, x1, y1) in truth.boxes:
            inside = image[int(y0):int(y1), int(x0):int(x1)]
            assert (inside == synthetic.OBJECT_BGR[label]).all(axis=-1).mean() == 1.0
    if scene == "person":
        assert (image[truth.mask] == synthetic.PERSON_BGR).all() and 0.05 < truth.mask.mean() < 0.4
    if scene == "hand":
        x, y = np.round(truth.points[8]).astype(int)
        assert tuple(image[y, x]) == synthetic.marker_bgr(8)


# -- real runs -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def test_models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("kinds")
    synthetic.boxes_yolo(folder / "boxes.onnx")
    synthetic.person_segmenter(folder / "person.onnx")
    synthetic.hand_markers(folder / "hand.onnx")
    (folder / "labels.txt").write_text("red\ngreen\nblue\n")
    return folder


@pytest.mark.parametrize("model, flags, scene, check", [
    ("boxes.onnx", ["--kind", "yolov8", "--labels", "labels.txt", "--normalized", "--letterbox"], "objects",
     lambda t: t["metric"].startswith("box agreement") and t["rate"] >= 0.95),
    ("person.onnx", ["--kind", "segmentation"], "person", lambda t: t["metric"] == "mask IoU" and t["rate"] > 0.9),
    ("hand.onnx", ["--kind", "keypoints", "--topology", "hand21", "--letterbox"], "hand",
     lambda t: t["metric"] == "keypoint distance" and t["mean_px"] < 3 and t["rate"] == 1.0),
])
def test_cli_runs_each_kind_against_the_synthetic_truth(test_models, model, flags, scene, check):
    flags = [str(test_models / f) if f.endswith(".txt") else f for f in flags]
    done = edge_studio("live", "--model", test_models / model, *flags, "--source", f"synthetic:{scene}",
                       "--source-fps", "0", "--frames", "12", "--json")
    assert done.returncode == 0, done.stderr
    (entry,) = json.loads(done.stdout)["models"]
    assert entry["processed"] == 12 and entry["vs_truth"]["frames"] == 12
    assert check(entry["vs_truth"]), entry["vs_truth"]


def test_cli_says_what_to_declare(test_models):
    done = edge_studio("live", "--model", test_models / "person.onnx", "--frames", "2")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "declare its kind" in done.stderr and "suggest segmentation" in done.stderr
    done = edge_studio("live", "--model", test_models / "person.onnx", "--kind", "ssd", "--frames", "2")
    assert done.returncode != 0 and "preset" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("sample, scene, bar", [
    ("boxes", "objects", 0.9), ("person", "person", 0.85),
    pytest.param("hand", "hand", 0.9, marks=pytest.mark.long),  # ~100 ms a frame each: opt-in (-m long)
])
def test_lite_fp32_and_int8_side_by_side(tmp_path, sample, scene, bar):
    """Both Lite conversions: in the pipeline against the truth, and frame by frame against each other
    with the figure the Live page shows (the pipeline pairs only the frames both workers happened to take)."""
    models = []
    for name in (sample, f"{sample}-int8"):
        spec, runtime = resolve_model(str(BUILDERS[name](tmp_path)), tmp_path)
        models.append(LiveModel(spec, runtime, name=name))
    try:
        source = SyntheticSource(fps=0, scene=scene)
        for index in range(0, 60, 10):
            image, truth = source.render(index)
            fp32, int8 = (m.decode(m.runtime.predict(m.spec.prepare(image)[0]), m.spec.prepare(image)[1])
                          for m in models)
            assert compare(models[0].spec.postprocessor, int8, fp32).rate >= bar
            assert compare(models[0].spec.postprocessor, fp32, truth).rate >= bar
        pipeline = LivePipeline(SyntheticSource(fps=0, scene=scene), models, draw=False)
        stats = pipeline.run(frames=12, timeout=300).to_json()
    finally:
        for model in models:
            model.close()
    for entry in stats["models"]:
        assert entry["error"] is None and entry["vs_truth"]["frames"] == 12 and entry["vs_truth"]["rate"] >= bar, entry
    for pair in stats["agreement"]:  # the frames both took, if any: the same figure
        assert pair["models"] == [sample, f"{sample}-int8"] and pair["agreement"] >= bar


def test_mediapipe_hand_landmarks_find_the_synthetic_hand(tmp_path):
    """A real landmark model (MediaPipe's, from its PyPI wheel, converted by Lite) on the cartoon hand."""
    spec, runtime = resolve_model("hand-landmarks", tmp_path)
    assert spec.postprocessor == "keypoints" and spec.options["topology"] == "hand21" and spec.letterbox
    with LivePipeline(SyntheticSource(fps=0, scene="hand"), [LiveModel(spec, runtime)], draw=False) as pipeline:
        stats = pipeline.run(frames=8, timeout=120).to_json()
    truth = stats["models"][0]["vs_truth"]
    # a 240-pixel cartoon hand: MediaPipe puts its joints within ~15-35 px (measured 16.6 px over 40 frames)
    assert truth["frames"] == 8 and truth["mean_px"] < 40 and truth["rate"] > 0.3, truth


def test_live_help_lists_the_kinds():
    done = edge_studio("live", "--help")
    assert done.returncode == 0
    for kind in ("classification", "ssd", "yolov5", "yolov8", "segmentation", "keypoints"):
        assert f"\n  {kind} " in done.stdout, kind

"""Live engine: real sources (synthetic, a generated video, an image folder), real Lite and
onnxruntime inference, the BlazeFace decoder and the real face detector. No timing assertions."""
from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from faulty_sources import FlakySource

from app.commands.live import add_cli
from app.core.live.pipeline import LiveModel, LivePipeline
from app.core.live.postprocess import (
    POSTPROCESSORS,
    Geometry,
    ModelSpec,
    declare_kind,
    face_spec,
    iou,
    model_spec,
    overlay,
    ssd_anchors,
)
from app.core.live.sources import (
    CameraSource,
    EndOfStream,
    FallbackSource,
    ImageFolderSource,
    ReopeningSource,
    SourceError,
    SyntheticSource,
    VideoFileSource,
    draw_face,
    open_source,
)
from app.core.preprocess import PreprocessSpec
from app.core.runtimes import LiteRuntime, OnnxRuntime
from converters.lite import convert
from sample_models.face_detection import ensure_face_detector, manifest

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "sample_models" / "digits"


@pytest.fixture(scope="module")
def face_ms(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("face")
    path = convert(ensure_face_detector(), folder / "face_detection_short_range.ms").path
    declare_kind(path, "ssd", preset="face_detection")  # what the app's face sample declares
    return path


def live_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("live-")]


# -- sources -----------------------------------------------------------------------------------
def test_synthetic_source_is_deterministic():
    a, b = SyntheticSource(fps=0, seed=3), SyntheticSource(fps=0, seed=3)
    with a, b:
        frames_a = [a.read() for _ in range(40)]
        frames_b = [b.read() for _ in range(40)]
    assert all(f.image.shape == (480, 640, 3) and f.image.dtype == np.uint8 for f in frames_a)
    assert all(np.array_equal(x.image, y.image) and x.truth == y.truth for x, y in zip(frames_a, frames_b))
    assert [f.index for f in frames_a] == list(range(40))
    assert [f.truth for f in frames_a] == [a.label_at(i) for i in range(40)]
    assert len({f.truth for f in frames_a}) >= 3  # the digit changes every 15 frames
    assert not np.array_equal(frames_a[0].image, frames_a[1].image)  # and moves in between
    assert np.array_equal(a.render(17)[0], frames_a[17].image)  # frame i is a function of i
    other = SyntheticSource(fps=0, seed=4)
    assert [other.label_at(i) for i in range(0, 150, 15)] != [a.label_at(i) for i in range(0, 150, 15)]


def test_synthetic_face_scene_and_bad_scene():
    with SyntheticSource(fps=0, scene="face") as source:
        frame = source.read()
    x0, y0, x1, y1 = frame.truth
    assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480
    with pytest.raises(SourceError, match="scene"):
        SyntheticSource(scene="cats")


def _write_video(path: Path, frames: int, fourcc: str) -> list[np.ndarray]:
    source = SyntheticSource(fps=0)
    source.open()
    images = [source.read().image for _ in range(frames)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 30, (640, 480))
    assert writer.isOpened()
    for image in images:
        writer.write(image)
    writer.release()
    return images


@pytest.mark.parametrize("name, fourcc", [("clip.mp4", "mp4v"), ("clip.avi", "MJPG")])
def test_video_file_is_read_and_looped(tmp_path, name, fourcc):
    written = _write_video(tmp_path / name, 12, fourcc)
    source = open_source(str(tmp_path / name), fps=0)
    assert isinstance(source, VideoFileSource)
    with source:
        frames = [source.read() for _ in range(30)]
    assert all(f is not None and f.image.shape == (480, 640, 3) for f in frames)
    # lossy codecs: close to what was written, and frame 12 is frame 0 again
    assert np.abs(frames[5].image.astype(int) - written[5]).mean() < 8
    assert np.array_equal(frames[12].image, frames[0].image)
    once = VideoFileSource(tmp_path / name, loop=False, realtime=False)
    with once:
        for _ in range(12):
            assert once.read() is not None
        with pytest.raises(EndOfStream):
            once.read()


def test_video_file_errors(tmp_path):
    with pytest.raises(SourceError, match="no such video file"):
        open_source(str(tmp_path / "missing.mp4")).open()
    (tmp_path / "junk.mp4").write_bytes(b"not a video" * 100)
    with pytest.raises(SourceError, match="cannot decode|no frames"):
        source = open_source(str(tmp_path / "junk.mp4"))
        source.open()
        source.read()


def test_image_folder_cycles_and_skips_broken_files(tmp_path):
    synthetic = SyntheticSource(fps=0)
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), synthetic.render(i * 15)[0])
    (tmp_path / "9_broken.png").write_bytes(b"nope")
    source = open_source(str(tmp_path), fps=0)
    assert isinstance(source, ImageFolderSource)
    with source:
        frames = [source.read() for _ in range(8)]
    assert [f is None for f in frames] == [False, False, False, True] * 2
    assert np.array_equal(frames[4].image, frames[0].image)
    assert [e.kind for e in source.events] == ["skipped"] and "9_broken.png" in source.events[0].message
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="no images"):
        ImageFolderSource(empty).open()


def test_missing_camera_is_a_clear_error():
    with pytest.raises(SourceError, match=r"camera /dev/video99: no such device.*doctor"):
        open_source("/dev/video99").open()
    with pytest.raises(SourceError, match=r"camera 99 could not be opened: .*missing, busy"):
        CameraSource(99).open()


def test_open_source_table():
    assert isinstance(open_source("synthetic"), SyntheticSource)
    assert open_source("synthetic:face").scene == "face"
    assert open_source("synthetic", fps=0).fps == 0
    assert isinstance(open_source("0"), ReopeningSource)
    assert isinstance(open_source("/dev/video0", fallback=True), FallbackSource)
    with pytest.raises(SourceError, match="not a source: use synthetic"):
        open_source("no-such-thing")


def test_stalled_source_is_reopened_and_reported():
    flaky = FlakySource(SyntheticSource(fps=0), fail_after=5)
    source = ReopeningSource(flaky, max_failed_reads=3, retry_s=0)
    seen = []
    source.on_event = seen.append
    with source:
        frames = [source.read() for _ in range(20)]
    assert [f is None for f in frames[:9]] == [False] * 5 + [True] * 3 + [False]
    assert all(f is not None for f in frames[8:])
    assert [e.kind for e in seen] == ["stalled", "reopened"] and "3 failed reads" in seen[0].message
    assert flaky.opens == 2 and source.reopened == 1


def test_dead_camera_falls_back_to_synthetic():
    primary = ReopeningSource(FlakySource(SyntheticSource(fps=0), fail_after=4, dead_reopens=99),
                              max_failed_reads=2, reopen_attempts=2, retry_s=0)
    source = FallbackSource(primary, SyntheticSource(fps=0, scene="face"))
    with source:
        frames = [source.read() for _ in range(12)]
    assert source.active is source.fallback and source.name == "synthetic:face"
    assert [e.kind for e in source.events] == ["stalled", "fallback"]
    assert "could not be reopened" in source.events[-1].message
    assert frames[-1] is not None and isinstance(frames[-1].truth, tuple)  # a face box: the fallback's frames


def test_missing_camera_can_fall_back_at_open():
    source = open_source("/dev/video99", fps=0, fallback=True)
    with source:
        assert source.read() is not None
    assert source.name == "synthetic" and source.events[-1].kind == "fallback"
    assert "no such device" in source.events[-1].message


# -- postprocessing ----------------------------------------------------------------------------
def test_classification_top_k_with_labels():
    spec = ModelSpec("m.ms", PreprocessSpec.load(DIGITS / "preprocess.json"), labels=list("abcdefghij"))
    decode = spec.postprocess()
    logits = np.array([[0.0, 3.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0]], np.float32)
    result = decode([logits], Geometry(640, 480))
    assert [c.index for c in result.classes] == [1, 5, 2] and result.classes[0].label == "b"
    assert result.top1 == 1 and 0.5 < result.classes[0].score < 1
    probs = np.eye(10, dtype=np.float32)[[7]] * 0.9 + 0.01
    assert decode([probs], Geometry(640, 480)).classes[0].score == pytest.approx(0.91)
    with pytest.raises(ValueError, match="unknown postprocessor"):
        ModelSpec("m.ms", spec.preprocess, "yolo").postprocess()
    assert set(POSTPROCESSORS) == {"classification", "ssd", "yolov5", "yolov8", "segmentation", "keypoints"}


def test_ssd_anchors_match_mediapipe_layout():
    anchors = ssd_anchors(manifest()["anchors"])
    assert anchors.shape == (896, 4)
    # 16×16 cells × 2 anchors at stride 8, then 8×8 × 6 at stride 16; fixed size 1
    assert np.allclose(anchors[0], [0.5 / 16, 0.5 / 16, 1, 1]) and np.allclose(anchors[1], anchors[0])
    assert np.allclose(anchors[2], [1.5 / 16, 0.5 / 16, 1, 1])
    assert np.allclose(anchors[512], [0.5 / 8, 0.5 / 8, 1, 1]) and np.allclose(anchors[517], anchors[512])
    assert np.allclose(anchors[-1], [7.5 / 8, 7.5 / 8, 1, 1])


def test_blazeface_decoder_on_outputs_built_from_anchors():
    spec = face_spec("face.ms")
    anchors = ssd_anchors(spec.options["anchors"])
    regressors = np.zeros((1, 896, 16), np.float32)
    logits = np.full((1, 896, 1), -20.0, np.float32)
    # a face centred at (0.40, 0.55) of the input, 0.30 × 0.30; three neighbouring anchors see it
    for k, jitter in ((600, 0.0), (601, 0.01), (608, -0.01)):
        ax, ay = anchors[k, :2]
        regressors[0, k, :4] = [(0.40 + jitter - ax) * 128, (0.55 - ay) * 128, 0.30 * 128, 0.30 * 128]
        regressors[0, k, 4:6] = [(0.35 - ax) * 128, (0.50 - ay) * 128]  # right eye
        logits[0, k, 0] = 4.0 if jitter == 0 else 2.0
    logits[0, 100, 0] = -0.2  # 0.45 after the sigmoid: below the 0.5 score threshold
    decode = spec.postprocess()
    # outputs in either order: told apart by their last axis
    result = decode([logits, regressors], Geometry(128, 128))
    assert len(result.detections) == 1
    det = result.detections[0]
    assert det.score == pytest.approx(1 / (1 + np.exp(-4.0)), abs=1e-6)
    assert np.allclose(det.box, [(0.40 - 0.15) * 128, (0.55 - 0.15) * 128, (0.40 + 0.15) * 128, (0.55 + 0.15) * 128],
                       atol=0.5)  # weighted NMS averages the three: jitters cancel out
    assert np.allclose(det.keypoints[0], [0.35 * 128, 0.50 * 128], atol=1e-3) and len(det.keypoints) == 6
    # letterboxed 640×480 frame: the input square covers 640×640 with 80 rows of padding on top
    framed = decode([regressors, logits], Geometry(640, 640, 0, 80)).detections[0]
    assert np.allclose(framed.box, [0.25 * 640, 0.40 * 640 - 80, 0.55 * 640, 0.70 * 640 - 80], atol=2)
    # two separate faces stay two; plain NMS keeps the best box as it is
    logits[0, 200, 0] = 3.0
    regressors[0, 200, :4] = [0, 0, 0.2 * 128, 0.2 * 128]
    plain = ModelSpec("face.ms", spec.preprocess, "ssd", ["face"], True,
                      {**spec.options, "nms": {"min_suppression_threshold": 0.3, "algorithm": "default"}})
    found = plain.postprocess()([regressors, logits], Geometry(128, 128)).detections
    assert len(found) == 2 and found[0].score > found[1].score
    assert np.allclose(found[0].box, [0.25 * 128, 0.40 * 128, 0.55 * 128, 0.70 * 128], atol=1e-3)


def test_face_preprocess_is_expressed_by_preprocess_spec():
    spec = face_spec("face.ms")
    pre = spec.preprocess
    assert (pre.width, pre.height, pre.color, pre.layout, pre.input_name) == (128, 128, "RGB", "NHWC", "input")
    x, geometry = spec.prepare(np.full((480, 640, 3), 255, np.uint8))
    assert x.shape == (1, 128, 128, 3) and x.max() == pytest.approx(1.0) and x.min() == pytest.approx(-1.0)
    assert geometry == Geometry(640, 640, 0, 80, 640, 480)  # letterbox: black bars above and below (−1)


def test_real_face_detector_finds_a_drawn_face(face_ms):
    spec = model_spec(face_ms)
    assert spec.postprocessor == "ssd"
    runtime = LiteRuntime(face_ms, threads=1)
    try:
        model = LiveModel(spec, runtime)
        image = np.full((480, 640, 3), 120, np.uint8)
        truth = draw_face(image, 420, 210, 100)
        x, geometry = model.spec.prepare(image)
        result = model.decode(runtime.predict(x), geometry)
        assert len(result.detections) == 1
        det = result.detections[0]
        assert det.score > 0.7 and iou(np.array(det.box), np.array([truth], float))[0] > 0.5
        assert len(det.keypoints) == 6
        blank = np.full((480, 640, 3), 120, np.uint8)
        assert model.decode(runtime.predict(model.spec.prepare(blank)[0]), geometry).detections == []
        drawn = overlay(image.copy(), result, fps=30.0, timings={"inference": 1.0}, title="face")
        assert drawn.shape == image.shape and not np.array_equal(drawn, image)
    finally:
        runtime.close()


# -- pipeline ----------------------------------------------------------------------------------
def test_pipeline_finds_the_synthetic_face(face_ms):
    model = LiveModel(model_spec(face_ms), LiteRuntime(face_ms, 1))
    results = []
    with LivePipeline(SyntheticSource(fps=0, scene="face"), [model], on_result=results.append) as pipeline:
        stats = pipeline.run(frames=40, timeout=120).to_json()
    entry = stats["models"][0]
    assert entry["postprocessor"] == "ssd" and entry["processed"] == 40
    assert entry["vs_truth"]["metric"] == "box agreement (IoU ≥ 0.5)" and entry["vs_truth"]["rate"] > 0.9
    for r in results:  # boxes in frame pixels, keypoints inside the frame
        for det in r.result.detections:
            assert 0 <= det.box[0] < det.box[2] <= 640 and 0 <= det.box[1] < det.box[3] <= 480
            assert all(0 <= x <= 640 and 0 <= y <= 480 for x, y in det.keypoints)


def _digits_model(path: Path, runtime_cls=LiteRuntime) -> LiveModel:
    return LiveModel(model_spec(path), runtime_cls(path, 1))


def test_pipeline_runs_digits_on_synthetic_frames(digits_ms):
    results = []
    with LivePipeline(SyntheticSource(fps=0), [_digits_model(digits_ms)], on_result=results.append) as pipeline:
        stats = pipeline.run(frames=150, timeout=120)
        last = pipeline.latest(0)
    report = json.loads(json.dumps(stats.to_json()))  # JSON all the way down
    model = report["models"][0]
    assert model["processed"] == 150 and model["error"] is None and model["runtime"] == "lite"
    assert set(model["ms"]) == {"capture_wait", "queue", "preprocess", "inference", "postprocess", "overlay",
                                "latency"}
    assert all(set(v) == {"p50", "p90", "p99", "mean"} and v["p50"] <= v["p99"] for v in model["ms"].values())
    assert model["fps"] > 0 and model["capacity_fps"] > 0
    assert model["vs_truth"]["metric"] == "top-1" and model["vs_truth"]["frames"] == 150
    assert model["vs_truth"]["rate"] > 0.6  # chance is 0.1; the printed digits are not the training digits
    assert report["source"]["name"] == "synthetic" and report["source"]["captured"] >= 150
    assert len(results) == 150 and [r.seq for r in results] == sorted(r.seq for r in results)
    assert last.image.shape == (480, 640, 3) and len(last.result.classes) == 3
    truth = [r.frame.truth for r in results]
    rate = np.mean([r.result.top1 == t for r, t in zip(results, truth)])
    assert rate == pytest.approx(model["vs_truth"]["rate"], abs=1e-4)  # the report rounds to 4 places
    assert live_threads() == []


def test_two_runtimes_side_by_side_on_the_same_frames(digits_ms):
    models = [_digits_model(digits_ms), _digits_model(DIGITS / "model.onnx", OnnxRuntime)]
    seen: dict[str, dict[int, int]] = {m.name: {} for m in models}
    with LivePipeline(SyntheticSource(fps=0), models, draw=False,
                      on_result=lambda r: seen[r.model].__setitem__(r.seq, r.result.top1)) as pipeline:
        stats = pipeline.run(frames=100, timeout=120).to_json()
    assert [m["runtime"] for m in stats["models"]] == ["lite", "onnxruntime"]
    assert all(m["processed"] == 100 and m["error"] is None for m in stats["models"])
    lite, ort = (seen[m.name] for m in models)  # named by their files or descriptions: two distinct names
    shared = set(lite) & set(ort)
    assert len(seen) == 2 and shared and all(lite[s] == ort[s] for s in shared)
    (pair,) = stats["agreement"]
    assert pair["shared_frames"] == len(shared) and pair["top1_agreement"] == 1.0


class DelayedRuntime(LiteRuntime):
    """A real Lite runtime made slow on purpose, like Lite 2.0's x86 INT8 kernels on a big model."""

    def predict(self, x):
        time.sleep(0.1)
        return super().predict(x)


def test_a_slow_runtime_only_drops_its_own_frames(digits_ms):
    fast, slow = _digits_model(digits_ms), LiveModel(model_spec(digits_ms), DelayedRuntime(digits_ms, 1), "slow")
    with LivePipeline(SyntheticSource(fps=60), [fast, slow]) as pipeline:
        stats = pipeline.run(frames=20, timeout=120).to_json()
    by_name = {m["name"]: m for m in stats["models"]}
    assert by_name["model.ms"]["processed"] == by_name["slow"]["processed"] == 20
    assert by_name["slow"]["dropped"] > by_name["model.ms"]["dropped"]  # latest frame wins, per model
    assert by_name["slow"]["ms"]["inference"]["p50"] >= 100


def test_pipeline_survives_a_stalling_source(digits_ms):
    source = ReopeningSource(FlakySource(SyntheticSource(fps=0), fail_after=30), max_failed_reads=3, retry_s=0)
    events = []
    with LivePipeline(source, [_digits_model(digits_ms)], on_event=events.append) as pipeline:
        stats = pipeline.run(frames=80, timeout=120).to_json()
    assert stats["models"][0]["processed"] == 80
    assert stats["source"]["failed_reads"] == 3 and stats["source"]["state"] == "stopped"
    assert [e["kind"] for e in stats["source"]["events"]] == ["stalled", "reopened"] == [e.kind for e in events]


def test_pipeline_ends_with_a_finite_source(digits_ms, tmp_path):
    _write_video(tmp_path / "clip.avi", 10, "MJPG")
    source = VideoFileSource(tmp_path / "clip.avi", loop=False, realtime=False)
    with LivePipeline(source, [_digits_model(digits_ms)]) as pipeline:
        stats = pipeline.run(frames=1000, timeout=60).to_json()
    assert stats["source"]["state"] == "ended" and stats["source"]["captured"] == 10
    assert stats["models"][0]["processed"] == 10  # read on demand: no frame of the file is skipped


def test_start_stop_leaves_no_threads(digits_ms):
    got = threading.Event()
    pipeline = LivePipeline(SyntheticSource(fps=30), [_digits_model(digits_ms)], on_result=lambda r: got.set())
    for _ in range(2):  # a GUI starts and stops the same pipeline
        pipeline.start()
        assert got.wait(30) and pipeline.running
        pipeline.stop()
        assert not pipeline.running and live_threads() == []
        got.clear()
    pipeline.close()
    with pytest.raises(SourceError):
        LivePipeline(CameraSource("/dev/video99"), [_digits_model(digits_ms)]).start()
    assert live_threads() == []


# -- command line ------------------------------------------------------------------------------
def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_live_cli_json(capsys, digits_ms, tmp_path):
    snapshot = tmp_path / "snap.png"
    assert _cli(["live", "--source", "synthetic", "--model", str(digits_ms), "--frames", "30", "--source-fps", "0",
                 "--snapshot", str(snapshot), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["models"][0]["processed"] == 30 and report["models"][0]["name"] == "model.ms"
    assert cv2.imread(str(snapshot)).shape == (480, 640, 3)


def test_live_cli_errors():
    with pytest.raises(SourceError, match="no such device"):
        _cli(["live", "--source", "/dev/video99", "--frames", "5"])
    with pytest.raises(ValueError, match="no such model file"):
        _cli(["live", "--model", "nope.ms", "--frames", "5"])

"""What the model saw: `live --json` carries each frame's decoded results, `--snapshot DIR` keeps one overlay
every K frames (app/core/live/frame_log.py), with the real Lite runtime on the synthetic sources."""
from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import pytest

from app.commands.live import DEFAULT_RESULTS, add_cli
from app.core.live.frame_log import FrameLog
from app.core.live.pipeline import FrameResult
from app.core.live.postprocess import declare_kind
from app.core.live.results import Detection, Result
from app.core.live.sources import Frame
from converters.lite import convert
from sample_models.face_detection import ensure_face_detector


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def face_ms(tmp_path_factory):
    folder = tmp_path_factory.mktemp("face")
    out = convert(ensure_face_detector(), folder / "face.ms").path
    declare_kind(out, "ssd", preset="face_detection")
    return out


def test_json_carries_each_frames_detections_and_a_folder_gets_every_kth_overlay(capsys, face_ms, tmp_path):
    snaps = tmp_path / "overlays"
    assert _cli(["live", "--source", "synthetic:face", "--model", str(face_ms), "--frames", "12", "--source-fps", "0",
                 "--json", "--results", "5", "--snapshot", str(snaps), "--snapshot-every", "4"]) == 0
    report = json.loads(capsys.readouterr().out)
    frames = report["frames"]["face.ms"]
    assert len(frames) == 5 and [f["frame"] for f in frames] == sorted(f["frame"] for f in frames)
    for f in frames:  # the synthetic face is found on every frame, with its six keypoints, in frame pixels
        (found,) = f["result"]["detections"]
        assert found["label"] == "face" and found["score"] > 0.5 and len(found["keypoints"]) == 6
        x0, y0, x1, y1 = found["box"]
        assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480
        assert f["ms"]["inference"] > 0
    # the same frames' figure against the scene's truth: the results are the ones the stats judged
    assert report["models"][0]["vs_truth"]["rate"] > 0.9
    names = sorted(p.name for p in snaps.iterdir())
    assert names == ["face.ms-000000.png", "face.ms-000004.png", "face.ms-000008.png"]
    assert report["snapshots"] == [str(snaps / n) for n in names]
    image = cv2.imread(str(snaps / names[1]))
    assert image.shape == (480, 640, 3)
    green = (image[:, :, 1] > 180) & (image[:, :, 0] < 120) & (image[:, :, 2] < 120)  # the box and its label
    assert green.sum() > 500


def test_defaults_and_bad_requests(capsys, digits_ms, tmp_path):
    assert _cli(["live", "--source", "synthetic", "--model", str(digits_ms), "--frames", "15", "--source-fps", "0",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["frames"]["model.ms"]
    assert len(rows) == DEFAULT_RESULTS and all(len(r["result"]["classes"]) == 3 for r in rows)
    assert "snapshots" not in report
    assert _cli(["live", "--source", "synthetic", "--model", str(digits_ms), "--frames", "3", "--source-fps", "0",
                 "--json", "--results", "0"]) == 0
    assert "frames" not in json.loads(capsys.readouterr().out)
    with pytest.raises(ValueError, match="drop --no-overlay"):
        _cli(["live", "--model", str(digits_ms), "--snapshot", str(tmp_path / "d"), "--no-overlay"])
    with pytest.raises(ValueError, match="snapshot-every 0"):
        _cli(["live", "--model", str(digits_ms), "--snapshot", str(tmp_path / "d"), "--snapshot-every", "0"])
    (tmp_path / "notes").write_text("mine")
    with pytest.raises(ValueError, match="a file is there"):
        _cli(["live", "--model", str(digits_ms), "--snapshot", str(tmp_path / "notes")])
    assert (tmp_path / "notes").read_text() == "mine"


def test_mask_area_and_landmarks_per_frame():
    log = FrameLog(results=2)
    mask = np.zeros((4, 5), np.uint8)
    mask[:2] = 1
    frame = Frame(np.zeros((4, 5, 3), np.uint8), 0)
    log(FrameResult("seg", 0, frame, Result(mask=mask, mask_labels=["background", "person"]), None, {"inference": 1.0}))
    log(FrameResult("pose", 0, frame, Result(landmarks=[(1.23456, 2.0)], topology="pose33", presence=0.987654), None,
                    {"inference": 1.0}))
    log(FrameResult("pose", 1, frame, Result(detections=[Detection((0.0, 0.0, 1.0, 1.0), 0.5)]), None, {}))
    log(FrameResult("pose", 2, frame, Result(), None, {}))  # past N: not kept
    seen = log.to_json()["results"]
    assert seen["seg"][0]["result"]["mask"] == {"shape": [4, 5], "labels": ["background", "person"], "foreground": 0.5}
    assert seen["pose"][0]["result"]["landmarks"] == [[1.23, 2.0]] and seen["pose"][0]["result"]["presence"] == 0.9877
    assert [r["seq"] for r in seen["pose"]] == [0, 1]

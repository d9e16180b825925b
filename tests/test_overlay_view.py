"""Overlays sized to the pane that shows them (issue 29): the same text, lines and markers on screen
whatever the frame size, and the stats in a band above the picture, never over the subject."""
from __future__ import annotations

import cv2
import numpy as np

from app.core.live.overlay import LINE_PX, overlay, stats_lines
from app.core.live.results import Classification, Detection, Result

TIMINGS = {"preprocess": 0.3, "inference": 1.2, "postprocess": 0.1}
RESULT = Result(classes=[Classification(7, "7", 0.93), Classification(1, "1", 0.04)])


def _digit(width: int, height: int) -> np.ndarray:
    image = np.full((height, width, 3), 90, np.uint8)
    cv2.circle(image, (width // 2, height // 2), min(width, height) // 3, (255, 255, 255), -1)
    return image


def test_text_is_in_pane_pixels_whatever_the_frame_size():
    view = (480, 520)
    small = overlay(_digit(320, 240), RESULT, 30.0, TIMINGS, "digits (lite)", view=view)
    large = overlay(_digit(1280, 960), RESULT, 30.0, TIMINGS, "digits (lite)", view=view)
    band = LINE_PX * len(stats_lines(RESULT, 30.0, TIMINGS, "digits (lite)")) + 8
    assert small.shape == large.shape and small.shape[1] <= view[0] and small.shape[0] <= view[1]
    assert np.array_equal(small[:band], large[:band])  # the very same text pixels for both frames
    assert small[:band].any()  # and there is text


def test_stats_band_never_covers_the_subject():
    frame = _digit(320, 240)
    drawn = overlay(frame.copy(), RESULT, 30.0, TIMINGS, "digits (lite)", view=(480, 520))
    band = LINE_PX * len(stats_lines(RESULT, 30.0, TIMINGS, "digits (lite)")) + 8
    picture = drawn[band:]
    expected = cv2.resize(frame, (picture.shape[1], picture.shape[0]), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(picture, expected)  # the picture is exactly the scaled frame: no text on it


def test_a_narrow_pane_shrinks_the_line_instead_of_cutting_it():
    drawn = overlay(_digit(320, 240), RESULT, 30.0, TIMINGS, "digits (lite)", view=(220, 300))
    last_line = drawn[LINE_PX * 4 - 4:LINE_PX * 5 + 4]  # preprocess … ms, the longest line
    columns = np.flatnonzero(last_line.max(axis=(0, 2)) > 200)
    assert columns.size and columns.max() < drawn.shape[1] - 4  # its end is inside the pane


def test_boxes_scale_with_the_frame_and_keep_their_line_width():
    det = Result(detections=[Detection((80, 60, 240, 180), 0.9, ((160, 120),), "face", 0)])
    drawn = overlay(np.zeros((240, 320, 3), np.uint8), det, view=(640, 488))
    band = drawn.shape[0] - 480
    picture = drawn[band:]
    row = picture[240, :, 1]  # the box's left and right edges at the frame's middle row, in pane pixels
    edges = np.flatnonzero(row > 100)
    assert abs(edges.min() - 160) <= 2 and abs(edges.max() - 480) <= 2
    assert (row[150:170] > 100).sum() <= 3  # a 2-px line, not a 4-px one scaled up

"""Synthetic scenes: what the synthetic source draws, so tests and the booth know the truth of every
frame (a digit, a face's box, coloured objects' boxes, a person's mask, a hand's 21 joints)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.core.live.topologies import TOPOLOGIES
from sample_models.synthetic import (
    MARKER_CODES,
    OBJECT_BGR,
    OBJECT_CLASSES,
    PERSON_BGR,
    marker_bgr,
)


# -- what a frame's truth can be (besides a digit, an int) --------------------------------------------
@dataclass(frozen=True)
class BoxesTruth:
    boxes: tuple[tuple[str, tuple[float, float, float, float]], ...]  # (label, x0 y0 x1 y1 in frame pixels)


@dataclass(frozen=True)
class MaskTruth:
    mask: np.ndarray  # H×W bool, the frame's foreground (e.g. the person)
    label: str = "person"


@dataclass(frozen=True)
class KeypointsTruth:
    points: np.ndarray  # (K, 2) frame pixels
    topology: str = "hand21"


def draw_face(image: np.ndarray, cx: int, cy: int, r: int) -> tuple[int, int, int, int]:
    """A cartoon face the BlazeFace sample detects (hair, skin, eyes, brows, nose, mouth, ears).
    Returns its box x0, y0, x1, y1 (the skin oval)."""
    import cv2

    skin, dark = (140, 180, 230), (30, 40, 60)
    cv2.ellipse(image, (cx, cy - int(r * 0.15)), (int(r * 0.95), int(r * 1.05)), 0, 180, 360, dark, -1)
    cv2.ellipse(image, (cx, cy), (int(r * 0.8), r), 0, 0, 360, skin, -1)
    for side in (-1, 1):
        ex, ey = cx + side * int(r * 0.33), cy - int(r * 0.15)
        cv2.ellipse(image, (ex, ey), (int(r * 0.16), int(r * 0.08)), 0, 0, 360, (255, 255, 255), -1)
        cv2.circle(image, (ex, ey), int(r * 0.07), (40, 30, 20), -1)
        cv2.line(image, (ex - int(r * 0.18), ey - int(r * 0.18)), (ex + int(r * 0.18), ey - int(r * 0.2)), dark,
                 max(2, r // 25))
        cv2.ellipse(image, (cx + side * int(r * 0.8), cy), (int(r * 0.1), int(r * 0.2)), 0, 0, 360, skin, -1)
    cv2.line(image, (cx, cy - int(r * 0.05)), (cx - int(r * 0.06), cy + int(r * 0.22)), (100, 130, 190),
             max(2, r // 20))
    cv2.ellipse(image, (cx, cy + int(r * 0.45)), (int(r * 0.28), int(r * 0.1)), 0, 0, 360, (60, 60, 170), -1)
    return cx - int(r * 0.8), cy - r, cx + int(r * 0.8), cy + r


def glyph(digit: int, height: int, width_factor: float) -> np.ndarray:
    """A white digit on black, cropped to its ink and scaled to `height` pixels."""
    import cv2

    if digit == 1:  # a handwritten 1 (stem and flag): the printed 1's base serif reads as a 2 to the sample model
        stroke, width = round(height * 0.16), round(height * 0.5)
        ink = np.zeros((height, width), np.uint8)
        cv2.line(ink, (width // 2, stroke // 2), (width // 2, height - stroke // 2), 255, stroke, cv2.LINE_AA)
        cv2.line(ink, (width // 2, stroke // 2), (width // 2 - height // 4, height // 5), 255, stroke, cv2.LINE_AA)
        return ink
    canvas = np.zeros((700, 700), np.uint8)
    cv2.putText(canvas, str(digit), (100, 550), cv2.FONT_HERSHEY_SIMPLEX, 15, 255, 40, cv2.LINE_AA)
    ys, xs = np.nonzero(canvas)
    ink = canvas[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    width = round(ink.shape[1] * height / ink.shape[0] * width_factor)
    return cv2.resize(ink, (width, height), interpolation=cv2.INTER_AREA)


def paste_glyph(canvas: np.ndarray, glyph: np.ndarray, x0: int, y0: int) -> None:
    """Copy a glyph into a black gray canvas at (x0, y0), clipped to the canvas."""
    h, w = canvas.shape[:2]
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + glyph.shape[1], w), min(y0 + glyph.shape[0], h)
    if xa < xb and ya < yb:
        canvas[ya:yb, xa:xb] = glyph[ya - y0:yb - y0, xa - x0:xb - x0]


# -- objects: boxes of known classes at known places ----------------------------------------------------
def background(height: int, width: int) -> np.ndarray:
    """A gray gradient with a few gray bars: texture, but no colour any test model reads."""
    import cv2

    ramp = np.linspace(80, 170, width, dtype=np.float32)[None, :] + np.linspace(-20, 20, height)[:, None]
    frame = np.repeat(ramp.astype(np.uint8)[:, :, None], 3, axis=2)
    for i in range(4):
        x = width * (i + 1) // 5
        cv2.rectangle(frame, (x - 3, 0), (x + 3, height - 1), (60, 60, 60), -1)
    return frame


def draw_objects(image: np.ndarray, index: int) -> BoxesTruth:
    """Three solid boxes (red, green, blue) drifting around three homes: sizes ≤ 80 px, ≥ 96 px apart
    in 640×480 (what the test detector's window assumes; other sizes scale)."""
    import cv2

    h, w = image.shape[:2]
    sx, sy = w / 640, h / 480
    homes = {"red": (140, 130), "green": (500, 130), "blue": (320, 360)}
    boxes = []
    for k, label in enumerate(OBJECT_CLASSES):
        hx, hy = homes[label]
        cx = hx + 25 * math.sin(2 * math.pi * (index + 40 * k) / 90)
        cy = hy + 15 * math.sin(2 * math.pi * (index + 25 * k) / 70)
        bw = 60 + 20 * math.sin(2 * math.pi * (index + 30 * k) / 110) ** 2
        bh = 50 + 30 * math.cos(2 * math.pi * (index + 20 * k) / 130) ** 2
        x0, y0 = round((cx - bw / 2) * sx), round((cy - bh / 2) * sy)
        x1, y1 = round((cx + bw / 2) * sx), round((cy + bh / 2) * sy)
        cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), OBJECT_BGR[label], -1)  # x1, y1 exclusive
        boxes.append((label, (float(x0), float(y0), float(x1), float(y1))))
    return BoxesTruth(tuple(boxes))


# -- a person: head, torso, arms, legs; the truth is the mask ---------------------------------------------
def draw_person(image: np.ndarray, index: int) -> MaskTruth:
    """An orange person waving, in front of a blue wall and a gray floor."""
    import cv2

    h, w = image.shape[:2]
    image[: h * 2 // 3] = (190, 140, 90)  # wall
    image[h * 2 // 3:] = (110, 110, 110)  # floor
    s = h / 480
    cx = round(w / 2 + 120 * s * math.sin(2 * math.pi * index / 150))
    top = round(40 * s)
    mask = np.zeros((h, w), np.uint8)
    p = lambda x, y: (round(cx + x * s), round(top + y * s))  # noqa: E731
    thick = lambda t: max(2, round(t * s))  # noqa: E731
    wave = 60 * math.sin(2 * math.pi * index / 40)
    cv2.circle(mask, p(0, 45), round(42 * s), 255, -1)  # head
    cv2.rectangle(mask, p(-10, 80), p(10, 100), 255, -1)  # neck
    cv2.ellipse(mask, p(0, 190), (round(65 * s), round(95 * s)), 0, 0, 360, 255, -1)  # torso
    cv2.line(mask, p(-55, 120), p(-110, 230), 255, thick(30))  # left arm, down
    cv2.line(mask, p(55, 120), p(120, 60 - wave * 0.3), 255, thick(30))  # right arm, waving
    cv2.line(mask, p(120, 60 - wave * 0.3), p(150 + wave * 0.5, -10), 255, thick(26))
    cv2.line(mask, p(-30, 260), p(-45, 420), 255, thick(40))  # legs
    cv2.line(mask, p(30, 260), p(45, 420), 255, thick(40))
    image[mask > 0] = PERSON_BGR
    return MaskTruth(mask > 0)


# -- a hand: 21 joints (MediaPipe order), bones, and coded joint markers ----------------------------------
# the joints of an open right hand, wrist at the origin, pointing up (y down), in hand-height units
HAND_POINTS = np.array([
    (0, 0), (-.25, -.12), (-.45, -.28), (-.60, -.42), (-.72, -.55),  # wrist, thumb
    (-.20, -.55), (-.24, -.80), (-.26, -.97), (-.28, -1.12),  # index
    (0, -.58), (0, -.86), (0, -1.05), (0, -1.22),  # middle
    (.18, -.54), (.22, -.78), (.25, -.95), (.27, -1.08),  # ring
    (.33, -.46), (.42, -.64), (.48, -.76), (.53, -.88),  # pinky
], np.float64)
SKIN_BGR = (140, 180, 230)


def hand_points(width: int, height: int, index: int) -> np.ndarray:
    """Where the joints are in frame `index`: the hand sways, turns a little and breathes in size."""
    size = height * (0.5 + 0.04 * math.sin(2 * math.pi * index / 100))
    angle = 0.25 * math.sin(2 * math.pi * index / 120)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    wrist = np.array([width / 2 + width * 0.18 * math.sin(2 * math.pi * index / 160), height * 0.9])
    return HAND_POINTS @ rot.T * size + wrist


def draw_hand(image: np.ndarray, index: int) -> KeypointsTruth:
    """A skin-coloured cartoon hand (palm, fingers as thick bones) with a small coded marker on each
    joint: what the marker test model reads, and what MediaPipe's hand model sees as a hand."""
    import cv2

    h, w = image.shape[:2]
    points = hand_points(w, h, index)
    at = lambda i: tuple(int(round(v)) for v in points[i])  # noqa: E731
    unit = h * 0.5
    palm = np.array([at(i) for i in (0, 1, 5, 9, 13, 17)], np.int32)
    cv2.fillConvexPoly(image, palm, SKIN_BGR, cv2.LINE_AA)
    for a, b in TOPOLOGIES["hand21"].edges:
        cv2.line(image, at(a), at(b), SKIN_BGR, max(3, round(unit * 0.12)), cv2.LINE_AA)
    for a, b in TOPOLOGIES["hand21"].edges:
        cv2.line(image, at(a), at(b), (90, 120, 170), max(1, round(unit * 0.01)), cv2.LINE_AA)
    radius = max(3, round(h / 60))
    for i in range(len(MARKER_CODES)):
        cv2.circle(image, at(i), radius, marker_bgr(i), -1)  # no anti-aliasing: the codes stay pure
    return KeypointsTruth(points.copy(), "hand21")

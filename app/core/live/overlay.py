"""Drawing a Result onto a frame: class-coloured boxes, a translucent mask, landmarks with their
skeleton, the top classes, FPS and per-stage milliseconds."""
from __future__ import annotations

import numpy as np

from app.core.live.results import Result
from app.core.live.topologies import TOPOLOGIES

GREEN, WHITE = (60, 220, 60), (255, 255, 255)
# class colours (BGR), distinct on camera frames; class i uses PALETTE[i % len]
PALETTE = np.array([(60, 220, 60), (255, 160, 40), (60, 60, 240), (0, 215, 255), (220, 60, 220), (230, 230, 60),
                    (40, 140, 255), (160, 80, 255), (120, 255, 160), (255, 255, 255)], np.uint8)
MASK_ALPHA = 0.5


def class_colour(index: int) -> tuple[int, int, int]:
    return tuple(int(c) for c in PALETTE[index % len(PALETTE)])


def _ink(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white text, whichever reads on `colour`."""
    b, g, r = colour
    return (0, 0, 0) if 0.114 * b + 0.587 * g + 0.299 * r > 140 else (255, 255, 255)


def draw_mask(image: np.ndarray, mask: np.ndarray, labels: list[str]) -> None:
    """Blend each class's colour over its pixels (class 0, the background, stays as it is)."""
    import cv2

    if mask.shape[:2] != image.shape[:2]:
        mask = cv2.resize(mask, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    on = mask > 0
    if on.any():
        colours = PALETTE[(mask[on].astype(np.int64) - 1) % len(PALETTE)].astype(np.float32)
        image[on] = (image[on] * (1 - MASK_ALPHA) + colours * MASK_ALPHA).astype(np.uint8)
        outline = cv2.morphologyEx(on.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
        image[outline] = WHITE


def draw_landmarks(image: np.ndarray, points: list[tuple[float, float]], topology: str, scale: float = 1.0) -> None:
    import cv2

    at = [(int(round(x * scale)), int(round(y * scale))) for x, y in points]
    known = TOPOLOGIES.get(topology)
    if known is not None and known.points <= len(at):
        for a, b in known.edges:
            cv2.line(image, at[a], at[b], WHITE, 2, cv2.LINE_AA)
    radius = 2 if len(at) > 100 else 4
    for i, p in enumerate(at):
        cv2.circle(image, p, radius, class_colour(i // 4 if len(at) <= 33 else 0), -1, cv2.LINE_AA)


LINE_PX, TEXT_SCALE = 22, 0.55  # one stats line, in pixels of the image drawn on (a pane's pixels with a view)


def stats_lines(result: Result, fps: float | None, timings: dict | None, title: str | None) -> list[str]:
    lines = [title] if title else []
    lines += [f"{c.label}  {c.score * 100:.1f}%" for c in result.classes]
    if result.mask is not None:
        shown = [f"{name} {(result.mask == i).mean() * 100:.0f}%" for i, name in enumerate(result.mask_labels) if i]
        lines.append("mask: " + ", ".join(shown))
    if result.presence is not None:
        lines.append(f"{result.topology or 'landmarks'}: presence {result.presence:.2f}")
    if fps is not None:
        lines.append(f"{fps:.1f} FPS")
    if timings:
        lines.append("  ".join(f"{k} {v:.1f}" for k, v in timings.items()) + " ms")
    return lines


def fit_to_view(image: np.ndarray, view: tuple[int, int], band: int) -> tuple[np.ndarray, float]:
    """The frame scaled (aspect kept) to fit a view of `view` pixels less a band of `band` rows for the
    stats, and the scale applied."""
    import cv2

    h, w = image.shape[:2]
    scale = max(1e-3, min(view[0] / w, max(1, view[1] - band) / h))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return image, 1.0
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR), scale


def overlay(image: np.ndarray, result: Result, fps: float | None = None, timings: dict | None = None,
            title: str | None = None, view: tuple[int, int] | None = None) -> np.ndarray:
    """Draw the result, FPS and per-stage milliseconds onto `image`; returns the drawing.

    view: the size of the pane that shows it. Given, the frame is first scaled to the pane and the stats
    go into a band above it, so text, lines and markers have the same size on screen whatever the
    frame's (a 320×240 video gets no giant text) and never cover the subject; the result is a new image.
    Without one (headless, snapshots) the drawing is in place on the frame, at its own scale."""
    import cv2

    lines = stats_lines(result, fps, timings, title)
    scale = 1.0
    if view is not None:
        band = LINE_PX * len(lines) + 8
        image, scale = fit_to_view(image, view, band)
        image = np.vstack([np.zeros((band, image.shape[1], 3), np.uint8), image])
        frame = image[band:]  # a view on the same buffer: the drawing below lands in the canvas
    else:
        frame = image
    if result.mask is not None:
        draw_mask(frame, result.mask, result.mask_labels)
    for det in result.detections:
        colour = class_colour(det.index)
        x0, y0, x1, y1 = (int(round(v * scale)) for v in det.box)
        cv2.rectangle(frame, (x0, y0), (x1, y1), colour, 2)
        text = f"{det.label} {det.score:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        ty = max(th + 4, y0 - 4)
        cv2.rectangle(frame, (x0 - 1, ty - th - 4), (x0 + tw + 4, ty + base), colour, -1)  # a tag in the class colour
        cv2.putText(frame, text, (x0 + 2, ty), cv2.FONT_HERSHEY_SIMPLEX, 0.5, _ink(colour), 1, cv2.LINE_AA)
        for x, y in det.keypoints:
            cv2.circle(frame, (int(round(x * scale)), int(round(y * scale))), 3, colour, -1)
    if result.landmarks:
        draw_landmarks(frame, result.landmarks, result.topology, scale)
    width = image.shape[1]
    for i, text in enumerate(lines):
        text_scale = TEXT_SCALE
        (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, text_scale, 1)
        if view is not None and w > width - 20:  # a narrow pane: the line shrinks rather than being cut off
            text_scale = max(0.3, TEXT_SCALE * (width - 20) / w)
            (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, text_scale, 1)
        y = 22 + LINE_PX * i
        cv2.rectangle(image, (6, y - h - 4), (14 + w, y + base), (0, 0, 0), -1)  # legible on any frame
        cv2.putText(image, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, text_scale, WHITE if i else GREEN, 1,
                    cv2.LINE_AA)
    return image

"""Two-stage pipelines on whole frames (app/core/live/pipelines.py), each stage a Lite model, against a
synthetic truth built on scikit-image's astronaut photo (from its wheel: no download).

    python bench/pipelines.py [--json] [--frames 40] [--only hands face_mesh pose] [--int8]

- hands: a skin-textured hand (its 21 joints known: scenes.HAND_POINTS) drawn on the photo, moving,
  turning (±0.5 rad) and changing size over the frames; truth = those joints. The palm detector does not
  fire on the flat cartoon hand of the synthetic source, it does on this one.
- face_mesh, pose: the photo itself placed on a 640×480 frame turned, scaled and moved by a known
  similarity transform; truth = the pipeline's landmarks on the upright photo carried through the same
  transform. This measures what the pipeline adds (detector → turned crop → landmarks → back to the
  frame, tracking between frames), not the landmark model's own accuracy. Pose scores the face and
  shoulders only (SCORED): the rest of the body is outside the photo.

Per frame: mean pixel error over the drawn points (and as a share of the subject's size), whether the
detector ran or the region was tracked, and each stage's ms. `--int8`: the same with INT8 stages
(calibrated on frames of the scene) beside FP32, with the two pipelines' agreement in pixels.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FRAME = (480, 640)  # height, width
# the points scored: the photo shows the astronaut from the chest up, so BlazePose's hips, legs and
# arms below the frame are guesses; its face (0–10) and shoulders (11, 12) are in the picture
SCORED = {"pose": list(range(13))}


def astronaut_bgr() -> np.ndarray:
    import cv2
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


# -- scenes with a known truth ---------------------------------------------------------------------
def hand_pose(index: int, frames: int) -> tuple[tuple[float, float], float, float]:
    """(wrist, size, angle) of the drawn hand in frame `index`: it travels across the lower half, turns
    ±0.5 rad and breathes between 150 and 210 pixels."""
    t = index / max(1, frames - 1)
    wrist = (130 + 380 * t, 430 - 20 * math.sin(2 * math.pi * t))
    return wrist, 180 + 30 * math.sin(4 * math.pi * t), 0.5 * math.sin(2 * math.pi * t)


def draw_textured_hand(frame: np.ndarray, wrist, size: float, angle: float, skin: np.ndarray) -> np.ndarray:
    """A hand (palm polygon, fingers as thick bones) filled with skin texture and soft shading; returns its
    21 joints in frame pixels (MediaPipe's order)."""
    import cv2

    from app.core.live.scenes import HAND_POINTS
    from app.core.live.topologies import TOPOLOGIES

    h, w = frame.shape[:2]
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    points = HAND_POINTS @ turn.T * size + np.asarray(wrist, float)
    at = lambda i: tuple(int(round(v)) for v in points[i])  # noqa: E731
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, np.array([at(i) for i in (0, 1, 5, 9, 13, 17)], np.int32), 255, cv2.LINE_AA)
    for a, b in TOPOLOGIES["hand21"].edges:
        cv2.line(mask, at(a), at(b), 255, max(3, round(size * 0.13)), cv2.LINE_AA)
    shade = cv2.GaussianBlur(mask, (0, 0), max(1.0, size / 40)).astype(np.float32)[..., None] / 255
    cover = mask.astype(np.float32)[..., None] / 255
    texture = cv2.resize(skin, (w, h)).astype(np.float32) * (0.6 + 0.4 * shade)
    frame[:] = (frame.astype(np.float32) * (1 - cover) + texture * cover).astype(np.uint8)
    return points


def hands_scene(frames: int):
    import cv2

    photo = astronaut_bgr()
    background, skin = cv2.resize(photo, FRAME[::-1]), photo[120:160, 200:250]  # skin: her cheek
    for k in range(frames):
        frame = background.copy()
        truth = draw_textured_hand(frame, *hand_pose(k, frames), skin)
        yield frame, truth, float(np.linalg.norm(truth[9] - truth[0]))  # size: wrist → middle knuckle


def placement(index: int, frames: int) -> np.ndarray:
    """2×3 similarity transform of the 512×512 photo into the frame: turns ±0.4 rad, 0.75–0.95 scale."""
    t = index / max(1, frames - 1)
    angle, scale = 0.4 * math.sin(2 * math.pi * t), 0.85 + 0.1 * math.cos(2 * math.pi * t)
    centre = np.array([320 + 40 * math.sin(2 * math.pi * t), 240 + 10 * math.cos(2 * math.pi * t)])
    c, s = math.cos(angle) * scale, math.sin(angle) * scale
    a = np.array([[c, -s], [s, c]])
    return np.hstack([a, (centre - a @ [256, 256])[:, None]])


def photo_scene(frames: int, reference: np.ndarray):
    """The photo turned/scaled/moved; truth: `reference` (landmarks on the upright photo) moved with it."""
    import cv2

    photo = astronaut_bgr()
    size = float(np.ptp(reference[:, 0]))  # the subject's width on the upright photo
    for k in range(frames):
        m = placement(k, frames)
        frame = cv2.warpAffine(photo, m, FRAME[::-1], flags=cv2.INTER_LINEAR, borderValue=(90, 90, 90))
        yield frame, reference @ m[:, :2].T + m[:, 2], size * math.hypot(m[0, 0], m[1, 0])


# -- running -------------------------------------------------------------------------------------
def convert_stages(kind: str, folder: Path, int8: bool = False, calibration: list[np.ndarray] | None = None) -> dict:
    """The Lite .ms of each stage of PIPELINES[kind] (FP32, or INT8 calibrated on `calibration` frames)."""
    from app.core.live.pipelines import PIPELINES
    from converters.lite import QuantConfig, convert
    from sample_models.fetch import ensure

    row = PIPELINES[kind]
    out = {}
    for stage, entry in (("detector", row.detector_entry), ("landmarks", row.landmarks)):
        dst = folder / f"{entry}{'-int8' if int8 else ''}.ms"
        if not dst.is_file():
            quant = QuantConfig(calibration=calibration[stage], max_samples=len(calibration[stage])) if int8 else None
            convert(ensure(entry), dst, quant=quant, accept_mismatch=int8, timeout=900)
        out[stage] = dst
    return out


def stage_inputs(kind: str, stages: dict, frames: list[np.ndarray]) -> dict:
    """Calibration for INT8: what each stage's model is fed on these frames (the FP32 pipeline's crops)."""
    from app.core.live.pipelines import open_pipeline

    fed = {"detector": [], "landmarks": []}
    pipeline = open_pipeline(kind, stages["detector"], stages["landmarks"])
    for stage in ("detector", "landmarks"):
        runtime = getattr(pipeline, stage).runtime
        real = runtime.predict
        runtime.predict = lambda x, real=real, stage=stage: fed[stage].append(x[0].copy()) or real(x)
    try:
        for frame in frames:
            pipeline.reset()  # the detector on every frame: calibration for both stages
            pipeline.process(frame)
    finally:
        pipeline.close()
    return {k: np.stack(v) for k, v in fed.items()}


def save_overlay(path: Path, frame: np.ndarray, result, roi, truth: np.ndarray) -> None:
    """The frame with the pipeline's landmarks (overlay.py), its region (cyan) and the truth (magenta dots)."""
    import cv2

    from app.core.live.overlay import overlay

    image = overlay(frame.copy(), result, None, {}, path.stem)
    for x, y in truth:
        cv2.circle(image, (int(round(x)), int(round(y))), 2, (255, 0, 255), -1, cv2.LINE_AA)
    if roi is not None:
        cv2.polylines(image, [roi.corners().round().astype(np.int32)], True, (255, 255, 0), 2, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)


def run(kind: str, stages: dict, scene, from_truth: bool = False, overlay_at: tuple[int, Path] | None = None) -> dict:
    """from_truth: every frame's region made from the truth itself (the detector never runs): what the
    landmark model alone gets on an ideal crop, the floor under the whole pipeline's error."""
    from app.core.live.pipelines import PIPELINES, open_pipeline, roi_from_landmarks

    pipeline = open_pipeline(kind, stages["detector"], stages["landmarks"])
    rows, found = [], []
    try:
        for k, (frame, truth, size) in enumerate(scene):
            if from_truth:
                pipeline.roi = roi_from_landmarks(truth, PIPELINES[kind].from_landmarks)
            roi = pipeline.roi  # the region this frame is cropped from (None: the detector looks)
            result = pipeline.process(frame)
            if overlay_at is not None and k == overlay_at[0]:
                save_overlay(overlay_at[1], frame, result, roi or pipeline.roi, truth)
            row = {"frame": k, "detector_ran": pipeline.timings.get("detector", 0) > 0,
                   "ms": {s: round(v, 2) for s, v in pipeline.timings.items()}, "presence": result.presence}
            if result.landmarks:
                got = np.array(result.landmarks)
                scored = SCORED.get(kind, list(range(len(got))))
                error = np.linalg.norm(got[scored] - truth[scored], axis=1)
                row |= {"mean_px": round(float(error.mean()), 2), "of_size": round(float(error.mean() / size), 4)}
                found.append(got)
            else:
                found.append(None)
            rows.append(row)
    finally:
        pipeline.close()
    return {"rows": rows, "landmarks": found, **summary(rows)}


def summary(rows: list[dict]) -> dict:
    hit = [r for r in rows if "mean_px" in r]
    ms = lambda s, sel: [r["ms"][s] for r in sel if r["ms"].get(s)]  # noqa: E731
    p50 = lambda v: round(float(np.median(v)), 2) if v else None  # noqa: E731
    return {"frames": len(rows), "found": len(hit), "detector_runs": sum(r["detector_ran"] for r in rows),
            "mean_px": round(float(np.mean([r["mean_px"] for r in hit])), 2) if hit else None,
            "median_px": p50([r["mean_px"] for r in hit]),
            "mean_of_size": round(float(np.mean([r["of_size"] for r in hit])), 4) if hit else None,
            "detector_ms_p50": p50(ms("detector", rows)), "landmarks_ms_p50": p50(ms("landmarks", rows)),
            "crop_ms_p50": p50(ms("crop", rows))}


def reference_landmarks(kind: str, stages: dict) -> np.ndarray:
    """The pipeline's landmarks on the upright photo (twice: the second run starts from the tracked
    region, as every later frame does)."""
    from app.core.live.pipelines import open_pipeline

    pipeline = open_pipeline(kind, stages["detector"], stages["landmarks"])
    try:
        photo = astronaut_bgr()
        pipeline.process(photo)
        result = pipeline.process(photo)
    finally:
        pipeline.close()
    if not result.landmarks:
        raise RuntimeError(f"{kind}: nothing found on the upright photo")
    return np.array(result.landmarks)


def bench(kind: str, frames: int, folder: Path, int8: bool, overlays: Path | None = None) -> dict:
    fp32 = convert_stages(kind, folder)
    if kind == "hands":
        scene = lambda: hands_scene(frames)  # noqa: E731
    else:
        reference = reference_landmarks(kind, fp32)
        scene = lambda: photo_scene(frames, reference)  # noqa: E731
    at = (frames * 2 // 3, overlays / f"pipeline-{kind}.png") if overlays else None
    out = {"fp32": run(kind, fp32, scene(), overlay_at=at)}
    if kind == "hands":  # the truth has all 21 points (the others' truth is the pipeline's own output)
        out["fp32_truth_region"] = run(kind, fp32, scene(), from_truth=True)
    if int8:
        calibration = stage_inputs(kind, fp32, [f for f, _, _ in scene()][::max(1, frames // 8)])
        out["int8"] = run(kind, convert_stages(kind, folder, True, calibration), scene())
        pairs = [np.linalg.norm(a - b, axis=1).mean() for a, b in zip(out["fp32"]["landmarks"], out["int8"]["landmarks"])
                 if a is not None and b is not None]
        out["agreement_px"] = round(float(np.mean(pairs)), 2) if pairs else None
    for run_ in (v for v in out.values() if isinstance(v, dict)):
        run_.pop("landmarks")
    return out


def main(argv: list[str] | None = None) -> int:
    from app.core.live.pipelines import PIPELINES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--only", nargs="*", choices=list(PIPELINES), default=list(PIPELINES))
    parser.add_argument("--int8", action="store_true", help="also INT8 stages beside FP32")
    parser.add_argument("--keep", type=Path, help="keep the converted stages in this folder (reused next time)")
    parser.add_argument("--overlays", type=Path, help="write one FP32 frame's overlay per pipeline here "
                                                      "(pipeline-<kind>.png: landmarks, region cyan, truth magenta)")
    args = parser.parse_args(argv)
    import os

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-pipelines-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        results = {kind: bench(kind, args.frames, folder, args.int8, args.overlays) for kind in args.only}
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
              "seconds": round(time.perf_counter() - started, 1), "results": results}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        for kind, r in results.items():
            for precision in ("fp32", "fp32_truth_region", "int8"):
                if precision in r:
                    s = {k: v for k, v in r[precision].items() if k != "rows"}
                    print(f"{kind} {precision}: {s}")
            if "agreement_px" in r:
                print(f"{kind}: FP32 vs INT8 landmarks {r['agreement_px']} px apart on average")
    return 0


if __name__ == "__main__":
    sys.exit(main())

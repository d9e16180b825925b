"""Does deploy ship INT8 whenever its held-out top-1 is within the tolerance of FP32? Digits trained with the
defaults under several seeds, each deployed (edge + device tiers), the task verdicts recorded.

    python -m bench.int8_seeds --seeds 0 1 2 3 4 --json out.json
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def one_seed(seed: int, work: Path) -> dict:
    from app.core.models.deploy import deploy
    from app.core.models.training import TrainConfig, train

    started = time.perf_counter()
    model = work / f"digits-seed{seed}"
    metrics = train(TrainConfig(data="digits", seed=seed), model)
    trained_s = time.perf_counter() - started
    summary = deploy(model, work / f"pkg-seed{seed}", tiers=("edge", "device"), arm64=False)
    targets, failed = summary["targets"], summary["failed"]
    int8 = targets.get("device-int8") or {}
    task = int8.get("task") or (failed.get("device-int8") or {}).get("task") or {}
    return {"seed": seed, "train_s": round(trained_s, 1), "val_top1": metrics.get("val_top1"),
            "fp32_top1": targets["reference"]["top1"], "int8_top1": int8.get("top1"),
            "int8_shipped": "device-int8" in targets, "verdict": (int8.get("verification") or {}).get("verdict")
            or "not built", "raw_verdict": (int8.get("verification") or {}).get("raw_verdict"),
            "task": task, "evaluated_on": summary["evaluated_on"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--json", help="write the rows here too")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="int8-seeds-") as tmp:
        for seed in args.seeds:
            rows.append(one_seed(seed, Path(tmp)))
            row = rows[-1]
            print(f"seed {seed}: FP32 {row['fp32_top1']:.4f}  INT8 {row['int8_top1'] or 0:.4f}  "
                  f"shipped {row['int8_shipped']}  verdict {row['verdict']} (raw {row['raw_verdict']})", flush=True)
    # from the task figure, shipped or not: a WRONG INT8 has its figure in deploy's "failed"
    within = [r for r in rows if r["task"] and r["task"]["loss"] <= 1.0]
    result = {"rows": rows, "load_average": os.getloadavg(), "shipped_when_within_1_point":
              all(r["int8_shipped"] for r in within), "within_1_point": len(within), "runs": len(rows)}
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

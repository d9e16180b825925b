"""Time a newcomer's `make test`: clean clones of this repository's HEAD, one after another, each running
`CI=true .ci/run`, optionally with a CPU hog (`stress-ng --cpu N`) kept running across all of them.

    python bench/make_test_runs.py --runs 3 --hog-cpus 2 --json     # the issue-27 check
    python bench/make_test_runs.py --runs 1 --json                  # quiet

Per run: exit status, total seconds, set-up and pytest seconds (from pytest's own summary line), the
passed/failed/skipped counts, and the 1-minute load average sampled every 30 s. Logs stay in --logs.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = re.compile(r"^=*\s*(?P<counts>\d+ (?:passed|failed).*?) in (?P<seconds>[\d.]+)s", re.MULTILINE)


def load_sampler(samples: list[float], stop: threading.Event) -> None:
    while not stop.wait(30):
        samples.append(os.getloadavg()[0])


def one_run(number: int, logs: Path) -> dict:
    clone = Path(tempfile.mkdtemp(prefix="make-test-")) / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    commit = subprocess.run(["git", "-C", str(clone), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    samples: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=load_sampler, args=(samples, stop), daemon=True)
    sampler.start()
    log = logs / f"run{number}.log"
    start = time.monotonic()
    with log.open("w") as out:
        rc = subprocess.run(["bash", ".ci/run"], cwd=clone, env={**os.environ, "CI": "true"}, stdout=out,
                            stderr=subprocess.STDOUT, check=False).returncode
    total = time.monotonic() - start
    stop.set()
    shutil.rmtree(clone.parent, ignore_errors=True)
    found = SUMMARY.findall(log.read_text(errors="replace"))
    counts, pytest_s = (found[-1][0], float(found[-1][1])) if found else ("no pytest summary", None)
    return {"run": number, "commit": commit, "returncode": rc, "total_s": round(total),
            "setup_s": round(total - pytest_s) if pytest_s else None, "pytest_s": pytest_s, "counts": counts,
            "load_mean": round(sum(samples) / len(samples), 1) if samples else None,
            "load_max": round(max(samples), 1) if samples else None, "log": str(log)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--hog-cpus", type=int, default=0, help="stress-ng --cpu N across all runs (0: none)")
    parser.add_argument("--logs", type=Path, default=Path(tempfile.gettempdir()) / "make-test-runs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.hog_cpus and not shutil.which("stress-ng"):
        print("make_test_runs: stress-ng is not installed (apt-get install -y stress-ng)", file=sys.stderr)
        return 2
    args.logs.mkdir(parents=True, exist_ok=True)
    hog = subprocess.Popen(["stress-ng", "--cpu", str(args.hog_cpus), "--quiet"]) if args.hog_cpus else None
    try:
        runs = [one_run(i, args.logs) for i in range(1, args.runs + 1)]
    finally:
        if hog:
            hog.terminate()
            hog.wait()
    result = {"hog_cpus": args.hog_cpus, "cores": os.cpu_count(), "runs": runs,
              "all_green": all(r["returncode"] == 0 for r in runs)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for r in runs:
            print(f"run {r['run']} ({r['commit']}): rc {r['returncode']}, {r['total_s']} s "
                  f"(set-up {r['setup_s']} s, pytest {r['pytest_s']} s), {r['counts']}, load {r['load_mean']}")
    return 0 if result["all_green"] else 1


if __name__ == "__main__":
    sys.exit(main())

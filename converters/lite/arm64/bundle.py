"""device/arm64/ of a package: everything a 64-bit ARM board needs to run and time the .ms files
with Lite 2.0, copied over as one folder (scp, a USB stick, or `edge-studio bench --remote`).

    es_arm_runner     our runner (runner.cpp), cross-compiled; finds its libraries in ./lib
    lib.tar.gz        the Lite 2.0 aarch64 runtime libraries (run.sh unpacks them once)
    models/*.ms       the package's Lite files
    samples/          per model: one input in the model's layout and the ARM runtime's outputs for it
    run.sh            benchmarks each model (warm-up, N runs, p50/p90/p99) and checks the sample outputs
    bundle.json       what is inside, and what the board needs (aarch64, glibc)
"""
from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from converters.lite.arm64.paths import (
    LIB_ARCHIVE,
    RUNNER,
    arm_home,
    unavailable_reason,
)

# Board output vs the emulated runtime's for the sample input: float variants compute the same
# way everywhere; INT8 may take other kernels on a board with SDOT (stated, and checked).
CHECK_MIN_COSINE = {"fp32": 0.9999, "fp16": 0.9999, "int8": 0.99}

RUN_SH = r"""#!/bin/sh
# Benchmarks every model of this bundle with MindSpore Lite 2.0 (aarch64) and checks each model's
# output for the sample input. Prints one JSON document on stdout.
#   sh run.sh [--threads N] [--warmup N] [--runs N] [--json FILE]
# Needs: a 64-bit ARM Linux (aarch64) with glibc >= @GLIBC@ (Raspberry Pi OS Bookworm 64-bit,
# Ubuntu 22.04+, Debian 12+). EDGE_STUDIO_REMOTE_PREFIX runs the runner through a wrapper
# (e.g. 'qemu-aarch64-static -L /usr/aarch64-linux-gnu' on an x86 test machine).
set -eu
cd "$(dirname "$0")"
THREADS=1 WARMUP=10 RUNS=100 OUT=
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --json) OUT=$2; shift 2 ;;
    *) echo "run.sh: unknown option $1 (use --threads, --warmup, --runs, --json)" >&2; exit 2 ;;
  esac
done
[ "$THREADS" != 0 ] || THREADS=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)  # 0: all cores
PREFIX=${EDGE_STUDIO_REMOTE_PREFIX:-}
MACHINE=$(uname -m)
if [ -z "$PREFIX" ] && [ "$MACHINE" != aarch64 ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  echo "run.sh: this is a $MACHINE machine; the bundle needs 64-bit ARM (aarch64) Linux" >&2; exit 3
fi
if [ -z "$PREFIX" ] && command -v getconf >/dev/null 2>&1; then
  HAVE=$(getconf GNU_LIBC_VERSION 2>/dev/null | sed 's/[^0-9.]//g')
  if [ -n "$HAVE" ] && [ "$(printf '%s\n%s\n' "@GLIBC@" "$HAVE" | sort -t. -k1,1n -k2,2n | head -1)" != "@GLIBC@" ]; then
    echo "run.sh: glibc $HAVE is too old; the runner needs glibc >= @GLIBC@ (e.g. Raspberry Pi OS Bookworm)" >&2; exit 3
  fi
fi
if [ ! -f lib/.complete ]; then  # unpack once; a half-unpacked lib/ is replaced
  rm -rf lib lib.part && mkdir lib.part && tar xzf @LIB_ARCHIVE@ -C lib.part && mv lib.part/lib lib && rmdir lib.part
  touch lib/.complete
fi
export GLOG_v=3
run() { $PREFIX ./@RUNNER@ "$@"; }
SYSTEM=$(run system)
RESULTS= FAILED=0
# bench_one FILE PRECISION MIN_COSINE INPUT EXPECTED...: times the model and checks its sample output
bench_one() {
  model=models/$1 precision=$2 mincos=$3 input=$4; shift 4
  expect=$(echo "$@" | tr ' ' ',')
  bench=$(run bench "$model" --input "$input" --expect "$expect" --min-cosine "$mincos" --threads "$THREADS" \
    --warmup "$WARMUP" --runs "$RUNS") || FAILED=1
  [ -n "$bench" ] || bench="{\"model\":\"$model\",\"error\":\"the runner could not run it (see stderr)\"}"
  entry="{\"precision\":\"$precision\",\"bench\":$bench}"
  RESULTS="${RESULTS:+$RESULTS,}$entry"
}
@MODELS@
JSON="{\"bundle\":@BUNDLE_NAME@,\"system\":$SYSTEM,\"threads\":$THREADS,\"warmup\":$WARMUP,\"runs\":$RUNS,\"prefix\":\"$PREFIX\",\"results\":[$RESULTS]}"
[ -z "$OUT" ] || printf '%s\n' "$JSON" > "$OUT"
printf '%s\n' "$JSON"
exit $FAILED
"""


class BundleError(RuntimeError):
    """The bundle cannot be written; one line."""


def runner_needs(runner: Path) -> dict:
    """The newest glibc / libstdc++ symbol versions the runner binary asks for."""
    data = runner.read_bytes()

    def newest(prefix: bytes) -> str:
        found = {tuple(int(p) for p in m.group(1).split(b".")) for m in re.finditer(prefix + rb"_([0-9.]+[0-9])", data)}
        return ".".join(map(str, max(found))) if found else ""

    return {"glibc": newest(b"GLIBC"), "glibcxx": newest(b"GLIBCXX")}


def _safe(name: str) -> str:
    """A name that can sit inside run.sh's double-quoted JSON: no quotes, $, backslashes or backticks."""
    return re.sub(r"[^A-Za-z0-9._ +-]", "_", name)[:80]


def _place(src: Path, dst: Path) -> None:
    """Hard-link the big files from the cache when the file system allows it, else copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def compressed_size(folder: Path) -> int:
    """Bytes of the folder as a .tar.gz (lib.tar.gz is already compressed: counted as it is)."""
    total = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            total += path.stat().st_size if path.suffix == ".gz" else len(gzip.compress(path.read_bytes(), 6))
    return total + 1024  # tar headers and padding, roughly


def write_bundle(package_tier: Path, models: dict[str, tuple[Path, str]],
                 samples: dict[str, tuple[np.ndarray, list[np.ndarray]]], name: str = "") -> dict:
    """Write `package_tier`/arm64/ (atomically: a staging folder renamed into place).

    models: name → (.ms path, precision); samples: name → (one input in the model's own layout,
    the ARM runtime's outputs for it), as the parity run leaves them."""
    if reason := unavailable_reason():
        raise BundleError(f"no ARM64 bundle: {reason}")
    home = arm_home()
    if not (home / LIB_ARCHIVE).is_file():
        raise BundleError(f"{home / LIB_ARCHIVE} is missing: run make setup")
    missing = [n for n in models if n not in samples]
    if missing:
        raise BundleError(f"no sample input/output for {', '.join(missing)}")
    target = package_tier / "arm64"
    package_tier.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=package_tier, prefix=".arm64-"))
    staging.chmod(0o755)  # mkdtemp makes it private; the bundle is meant to be copied and read
    try:
        (staging / "models").mkdir()
        (staging / "samples").mkdir()
        shutil.copy2(home / RUNNER, staging / RUNNER)
        _place(home / LIB_ARCHIVE, staging / LIB_ARCHIVE)
        needs = runner_needs(home / RUNNER)
        lines, entries = [], []
        for key, (path, precision) in models.items():
            stem = path.stem
            shutil.copy2(path, staging / "models" / path.name)
            x, outs = samples[key]
            np.save(staging / "samples" / f"{stem}.in.npy", np.ascontiguousarray(x))
            expected = []
            for k, out in enumerate(outs):
                expected.append(f"samples/{stem}.out{k}.npy")
                np.save(staging / expected[-1], np.ascontiguousarray(out))
            mincos = CHECK_MIN_COSINE.get(precision, 0.99)
            lines.append(f"bench_one {path.name} {precision} {mincos} samples/{stem}.in.npy {' '.join(expected)}")
            entries.append({"name": key, "file": f"models/{path.name}", "precision": precision,
                            "size_bytes": path.stat().st_size, "check_min_cosine": mincos})
        script = (RUN_SH.replace("@GLIBC@", needs["glibc"] or "2.17").replace("@LIB_ARCHIVE@", LIB_ARCHIVE)
                  .replace("@RUNNER@", RUNNER).replace("@MODELS@", "\n".join(lines))
                  .replace("@BUNDLE_NAME@", '\\"' + _safe(name or package_tier.parent.name) + '\\"'))
        (staging / "run.sh").write_text(script)
        (staging / "run.sh").chmod(0o755)
        info = {"name": _safe(name or package_tier.parent.name), "arch": "aarch64", "lite_version": "2.0.0",
                "needs": needs, "models": entries, "runner": RUNNER, "libraries": LIB_ARCHIVE}
        (staging / "bundle.json").write_text(json.dumps(info, indent=2))
        info["size_bytes"] = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
        info["compressed_bytes"] = compressed_size(staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
        return info
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def markdown(info: dict) -> list[str]:
    """Run-card lines for the bundle."""
    mib = 1024 * 1024
    return ["## On a 64-bit ARM board (device/arm64/)", "",
            f"`arm64/` holds our runner, Lite 2.0's aarch64 runtime ({LIB_ARCHIVE}), the .ms files, a sample "
            f"input per model and `run.sh`: {info['compressed_bytes'] / mib:.1f} MiB compressed "
            f"({info['size_bytes'] / mib:.1f} MiB as files; the libraries unpack to ~123 MiB on the board).",
            f"The runner needs aarch64 Linux with glibc ≥ {info['needs']['glibc']} and libstdc++ "
            f"GLIBCXX_{info['needs']['glibcxx']} (Raspberry Pi OS Bookworm 64-bit, Ubuntu 22.04+, Debian 12+).", "",
            "```sh", "scp -r arm64 pi@raspberrypi.local:~/edge-arm64", "ssh pi@raspberrypi.local 'sh ~/edge-arm64/run.sh --threads 4 --runs 200'",
            "```", "", "or from this PC: `edge-studio bench --remote pi@raspberrypi.local PACKAGE --json`.", ""]

"""Run .ms files on the aarch64 Lite 2.0 runtime: under qemu-user on an x86 PC, natively on an
aarch64 host. One runner process per model takes all inputs at once (.npy files in a temporary
folder): an emulated process costs ~4 s and ~300 MB to start, so never one process per input.

Emulated runs check correctness only; their timings say nothing about a device's speed.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from converters.lite.arm64.paths import (
    SYSROOT,
    native_arm64,
    runner_path,
    unavailable_reason,
)
from converters.lite.errors import lite_errors

EMULATED_LABEL = "ARM64 Lite 2.0 runtime, emulated: correctness only, not speed"
NATIVE_LABEL = "ARM64 Lite 2.0 runtime, native"


class Arm64Unavailable(RuntimeError):
    """The ARM64 runner cannot run on this machine; the message says why and what to install."""


class Arm64Error(RuntimeError):
    """The ARM64 runtime refused or failed on a model; one line with Lite's reason."""


@dataclass
class ArmRun:
    outputs: list[np.ndarray]
    input_shapes: list[tuple[int, ...]]  # as the aarch64 runtime sees the model's inputs
    build_ms: float  # emulated: not device speed
    seconds: float  # wall time of the whole runner process, start-up included (shared by its models)
    emulated: bool


def label() -> str:
    return NATIVE_LABEL if native_arm64() else EMULATED_LABEL


def runner_command() -> list[str]:
    """The runner's argv prefix here: itself on aarch64, under qemu-aarch64-static elsewhere."""
    if reason := unavailable_reason():
        raise Arm64Unavailable(f"ARM64 runtime not available: {reason}")
    if native_arm64():
        return [str(runner_path())]
    return ["qemu-aarch64-static", "-L", str(SYSROOT), str(runner_path())]


def _run(args: list[str], timeout: float, cwd: str | None = None) -> tuple[str, str]:
    env = {**os.environ, "GLOG_v": "3"}
    proc = subprocess.Popen(runner_command() + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=cwd, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise Arm64Error(f"the ARM64 runner took longer than {timeout:.0f} s and was stopped") from None
    if proc.returncode != 0:
        raise Arm64Error(_failure(proc.returncode, err))
    return out, err


def _failure(code: int, stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    ours = [ln.split("error: ", 1)[1] for ln in lines if ln.startswith("es_arm_runner: error:")]
    if ours:
        first = lite_errors(stderr, limit=100)[:1]  # Lite's root cause; its status text is often generic
        return ours[-1] + (f" (Lite: {first[0]})" if first else "")
    if code < 0:
        return f"the ARM64 runner crashed ({signal.Signals(-code).name}){': ' + lines[-1] if lines else ''}"
    return f"the ARM64 runner failed (exit {code}){': ' + lines[-1] if lines else ''}"


def system_info(timeout: float = 120) -> dict:
    """What the runner sees: machine, cores, CPU model, glibc (under qemu: the host's CPU and cores)."""
    return json.loads(_run(["system"], timeout)[0])


def model_info(model: str | Path, timeout: float = 120) -> dict:
    return json.loads(_run(["info", str(Path(model).resolve())], timeout)[0])


def run_many(jobs: Sequence[tuple[str | Path, np.ndarray | Sequence[np.ndarray]]], threads: int = 1,
             timeout: float = 900) -> list[ArmRun | Arm64Error]:
    """Several models in ONE runner process (its start costs ~4 s under emulation). jobs: (model,
    inputs) with one batch per model input, shaped and typed as the model takes them, first axis =
    samples. Per job: an ArmRun, or the Arm64Error saying why that model failed."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edge-studio-arm64-") as tmp:
        lines, folders = [], []
        for i, (model, inputs) in enumerate(jobs):
            model = Path(model)
            if not model.is_file():
                raise Arm64Error(f"{model}: no such model file")
            folder = Path(tmp) / f"m{i}"
            folder.mkdir()
            batches = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
            files = []
            for k, batch in enumerate(batches):
                files.append(str(folder / f"in{k}.npy"))
                np.save(files[-1], np.ascontiguousarray(batch))
            lines.append("\t".join([str(model.resolve()), str(folder), *files]))
            folders.append(folder)
        (Path(tmp) / "jobs.txt").write_text("\n".join(lines) + "\n")
        out, err = _run(["predict-list", str(Path(tmp) / "jobs.txt"), "--threads", str(threads)], timeout, cwd=tmp)
        answers = [json.loads(ln) for ln in out.splitlines() if ln.startswith('{"model"')]
        if len(answers) != len(jobs):
            raise Arm64Error(f"the ARM64 runner answered for {len(answers)} of {len(jobs)} models")
        seconds = time.perf_counter() - started
        failed = sum("error" in a for a in answers)
        cause = lite_errors(err, limit=100)[:1] if failed == 1 else []  # attributable only to a single failure
        results: list[ArmRun | Arm64Error] = []
        for answer, folder in zip(answers, folders):
            if "error" in answer:
                results.append(Arm64Error(answer["error"] + (f" (Lite: {cause[0]})" if cause else "")))
                continue
            results.append(ArmRun([np.load(folder / name) for name in answer["outputs"]],
                                  [tuple(t["shape"]) for t in answer["inputs"]], float(answer["build_ms"]),
                                  seconds, not native_arm64()))
    return results


def run_ms(model: str | Path, inputs: np.ndarray | Sequence[np.ndarray], threads: int = 1,
           timeout: float = 900) -> ArmRun:
    """Every sample (first axis) of `inputs` through `model` in one runner process; outputs stacked on axis 0."""
    result = run_many([(model, inputs)], threads, timeout)[0]
    if isinstance(result, Arm64Error):
        raise result
    return result

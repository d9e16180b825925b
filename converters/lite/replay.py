"""replay(): run a Lite artifact on given inputs in a child process, optionally recording every
kernel's outputs for the first input (the trace divergence.py compares against the source model).

The child, not the caller, loads the runtime: the caller may be the process that ran Lite's converter,
and the two must not share a process (and a file that crashes Lite costs only the child).
Arrays cross as .npz files in a temporary folder. Most of a replay's cost is the child's start
(Python, numpy and Lite's ~300 MB of libraries, ~0.85 s), so a LiteRunner can be started before the
artifact exists — convert() starts one beside the converter child — and handed the work later.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from converters.lite.errors import LiteError, with_lite_text
from converters.lite.model import TracedNode, TracedTensor
from jobs.child import ChildError, run_child
from jobs.state import Cancelled, JobState

REQUEST = "request.json"  # written (atomically) when the work is ready; the child waits for it


@dataclass
class Replay:
    outputs: list[list[np.ndarray]]  # per input set, the model's outputs in Lite's order
    output_names: list[str]
    output_formats: list[str]  # "NCHW"/"NHWC"/"ND" as Lite describes each output
    trace: list[TracedNode] | None  # every kernel's outputs for the first input set, when asked


class LiteRunner:
    """One replay child, started now (it loads Lite's runtime and waits), given its work by run()."""

    def __init__(self, timeout: float = 300.0, state: JobState | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="edge-studio-replay-"))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lite-runner")
        self._child = self._pool.submit(run_child, "converters.lite.replay:replay_in_child",
                                        {"folder": str(self.folder), "wait": timeout}, state, timeout=timeout)
        self._asked = False

    def _ask(self, request: dict) -> None:
        self._asked = True
        part = self.folder / f".{REQUEST}"
        part.write_text(json.dumps(request))
        part.replace(self.folder / REQUEST)  # the child never reads half a request

    def run(self, artifact: str | Path, input_sets: Sequence[Sequence[np.ndarray]], trace: bool = False) -> Replay:
        """Run `artifact` (.ms/.mindir) once per input set (arrays in the source model's input order and
        layout; an NCHW array goes in transposed when the artifact takes NHWC). Raises LiteError."""
        if self._asked:
            raise LiteError("a LiteRunner runs one artifact")
        artifact = Path(artifact)
        np.savez(self.folder / "inputs.npz", **{f"{s}_{i}": a for s, arrays in enumerate(input_sets)
                                               for i, a in enumerate(arrays)})
        self._ask({"model": str(artifact.resolve()), "sets": len(input_sets), "inputs": len(input_sets[0]),
                   "trace": trace})
        try:
            answer = self._child.result()
        except ChildError as exc:
            raise with_lite_text(f"Lite could not run {artifact.name}: {exc}", exc.log) from None
        with np.load(self.folder / "outputs.npz") as saved:
            outputs = [[saved[f"{s}_{k}"] for k in range(answer["outputs"])] for s in range(len(input_sets))]
        nodes = None
        if trace:
            with np.load(self.folder / "trace.npz") as saved:
                nodes = [TracedNode(n["name"], n["type"], tuple(n["inputs"]), tuple(n["changed_inputs"]),
                                    tuple(TracedTensor(t["name"], saved[t["key"]] if t["key"] else None,
                                                       t["format"], t["scale"], t["zero_point"])
                                          for t in n["outputs"]))
                         for n in json.loads((self.folder / "trace.json").read_text())]
        return Replay(outputs, answer["names"], answer["formats"], nodes)

    def close(self) -> None:
        """Stop a child that got no work, wait for it, remove the folder."""
        if not self._asked:
            self._ask({"stop": True})
        try:
            self._child.result()
        except (ChildError, Cancelled):
            pass  # its failure was reported by run(), or nothing was asked of it
        finally:
            self._pool.shutdown()
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "LiteRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def replay(artifact: str | Path, input_sets: Sequence[Sequence[np.ndarray]], *, trace: bool = False,
           timeout: float = 300.0, state: JobState | None = None) -> Replay:
    """LiteRunner.run in a child started for it."""
    with LiteRunner(timeout, state) as runner:
        return runner.run(artifact, input_sets, trace)


def fit_input(arr: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A source-layout array for a Lite input: NCHW → NHWC when that is what the artifact takes,
    int64 → int32 where Lite narrowed the type."""
    if arr.ndim == 4 and arr.shape != shape and tuple(shape) == (arr.shape[0], arr.shape[2], arr.shape[3], arr.shape[1]):
        arr = arr.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(arr, dtype=dtype)


def _wait_for_request(folder: Path, limit: float, state: JobState) -> dict:
    from converters.lite import native

    caller = os.getppid()
    native.runtime()  # the slow part (Lite's libraries), done while the caller is still busy
    deadline = time.monotonic() + limit
    while not (folder / REQUEST).is_file():
        state.check()
        # a caller killed outside its own cleanup (SIGKILL after a cancel's grace) leaves this child
        # in its own session, unreached by the group kill: it notices and leaves
        if os.getppid() != caller or not folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)  # its folder: nobody else is left to remove it
            raise LiteError("the caller went away before handing over an artifact")
        if time.monotonic() > deadline:
            raise LiteError(f"no artifact to run within {limit:.0f} s")
        time.sleep(0.01)
    return json.loads((folder / REQUEST).read_text())


def replay_in_child(params: dict, state: JobState) -> dict:
    """Inside the child: wait for the request, load, run every input set, save the outputs (and the
    trace of the first set)."""
    from converters.lite.model import LiteModel

    folder = Path(params["folder"])
    params = {**params, **_wait_for_request(folder, float(params["wait"]), state)}
    if params.get("stop"):
        return {"stopped": True}
    with np.load(folder / "inputs.npz") as saved:
        sets = [[saved[f"{s}_{i}"] for i in range(params["inputs"])] for s in range(params["sets"])]
    model = LiteModel(params["model"], threads=1)
    if len(model.inputs) != params["inputs"]:
        raise LiteError(f"the artifact has {len(model.inputs)} input(s), the source model {params['inputs']}")
    if any(spec.dynamic for spec in model.inputs):  # open dimensions: run at the shapes given
        model.resize([a.shape for a in sets[0]])
    outputs: dict[str, np.ndarray] = {}
    for s, arrays in enumerate(sets):
        state.check()
        got = model.predict([fit_input(a, spec.shape, spec.dtype) for a, spec in zip(arrays, model.inputs)])
        outputs.update({f"{s}_{k}": out for k, out in enumerate(got)})
        if s == 0 and params["trace"]:
            _save_trace(model.trace(), folder)
    np.savez(folder / "outputs.npz", **outputs)
    return {"outputs": len(model.outputs), "names": [o.name for o in model.outputs],
            "formats": [o.format for o in model.outputs]}


def _save_trace(nodes: list[TracedNode], folder: Path) -> None:
    arrays, index = {}, []
    for n, node in enumerate(nodes):
        outs = []
        for k, t in enumerate(node.outputs):
            key = f"n{n}_{k}" if t.data is not None else ""
            if key:
                arrays[key] = t.data
            outs.append({"name": t.name, "key": key, "format": t.format, "scale": t.scale,
                         "zero_point": t.zero_point})
        index.append({"name": node.name, "type": node.type, "inputs": list(node.inputs),
                      "changed_inputs": list(node.changed_inputs), "outputs": outs})
    np.savez(folder / "trace.npz", **arrays)
    (folder / "trace.json").write_text(json.dumps(index))

"""ONNX conformance: the `onnx` package's own node tests, converted and run with MindSpore Lite 2.0.

The onnx wheel does not ship `backend/test/data/node/`, but it ships the generators of that data
(`onnx.backend.test.case.node.collect_testcases()`), which yield the same cases. Each case is
written to `workdir/cases/<name>/` as model.onnx plus input_<i>.npy / output_<i>.npy.

Converting and running happen in batched child processes, one converter child and then one
runtime child per shard (the two must not share a process, and a child per case would cost
~0.4 s each). The converter child forks once per case, because Lite's converter carries state
from one conversion to the next. A child that crashes or hangs costs only the case it was on:
that case is recorded as "crash" and a fresh child takes the rest of the batch.
"""
from __future__ import annotations

import json
import os
import re
import select
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

from jobs.state import Cancelled, JobState

# job name -> the child function that runs a batch of cases
JOBS = {"conformance_convert": "bench.conformance:convert_batch_in_child",
        "conformance_run": "bench.conformance:run_batch_in_child"}

OUTCOMES = ("pass", "convert_fail", "load_fail", "run_fail", "mismatch", "crash", "skipped")
RTOL, ATOL = 1e-3, 1e-5
CASE_TIMEOUT = 60.0  # s without a per-case event before a child is taken for hung
FORK_TIMEOUT = 30.0  # s for one conversion in its fork (under CASE_TIMEOUT, so it fires first)
BATCH_TIMEOUT = 3600.0  # s per child; the per-case watchdog is what normally fires

ProgressFn = Callable[[str, str, dict], None]  # (phase, case name, result)


# -- parent: generating the cases ----------------------------------------------------------------

def _unsupported(values) -> str:
    """Why a graph input/output cannot cross the Lite tensor API, or "" when it can."""
    from onnx import TensorProto as T

    # ONNX element types with a numpy type in the bridge (converters.lite.model.DTYPES).
    supported = {T.FLOAT, T.DOUBLE, T.FLOAT16, T.INT8, T.INT16, T.INT32, T.INT64, T.UINT8, T.UINT16, T.BOOL}
    for role, infos in values:
        for info in infos:
            kind = info.type.WhichOneof("value")
            if kind != "tensor_type":
                return f"{role} {info.name!r} is a {kind.replace('_type', '')}, not a tensor"
            elem = info.type.tensor_type.elem_type
            if elem not in supported:
                return f"{role} {info.name!r} has dtype {T.DataType.Name(elem)}"
    return ""


def generate_cases(workdir: Path, limit: int | None = None) -> list[dict]:
    """Write every node test case under workdir/cases; return one manifest entry per case."""
    import warnings

    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():  # the generators compute inf/nan on purpose
        warnings.simplefilter("ignore")
        cases = sorted(collect_testcases(), key=lambda c: c.name)
    if limit is not None:
        cases = cases[:limit]
    return [_write_case(workdir / "cases" / case.name, case) for case in cases]


def _write_case(folder: Path, case) -> dict:
    graph = case.model.graph
    entry = {"name": case.name, "model": str(folder / "model.onnx"), "out": str(folder / "model"),
             "ops": sorted(set(_op_types(graph))),
             "skip": _unsupported([("input", graph.input), ("output", graph.output)])}
    if entry["skip"]:
        return entry
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(case.model.SerializeToString())
    inputs, outputs = case.data_sets[0]  # test_data_set_0, as the stored data would have it
    entry["inputs"] = _save_arrays(folder, "input", [i.name for i in graph.input], inputs)
    entry["outputs"] = _save_arrays(folder, "output", [o.name for o in graph.output], outputs)
    return entry


def _op_types(graph):
    """Op types of a graph, subgraphs (If/Loop/Scan bodies) included."""
    for node in graph.node:
        yield node.op_type
        for attr in node.attribute:
            for sub in [attr.g] if attr.HasField("g") else attr.graphs:
                yield from _op_types(sub)


def _save_arrays(folder: Path, role: str, names: list[str], arrays) -> list[dict]:
    from onnx import TensorProto, numpy_helper

    saved = []
    for i, (name, arr) in enumerate(zip(names, arrays)):
        path = folder / f"{role}_{i}.npy"
        if isinstance(arr, TensorProto):  # some cases (e.g. float16 casts) give protos, not arrays
            arr = numpy_helper.to_array(arr)
        np.save(path, np.asarray(arr), allow_pickle=False)
        saved.append({"name": name, "path": str(path)})
    return saved


# -- children ------------------------------------------------------------------------------------

def convert_batch_in_child(params: dict, state) -> dict:
    """Inside a converter child: ONNX -> .ms for each case, one event per case.

    Lite's converter keeps process-wide state between conversions (its unsupported-op list
    grows; some models convert, fail or crash differently after others did). So the libraries
    are loaded once here and each conversion runs in a fork of this process: a fresh state per
    case for a few ms, and a crash or hang costs that case alone.
    """
    from converters.lite import native

    lib = native.converter()
    timeout = params.get("fork_timeout", FORK_TIMEOUT)
    converted = 0
    for case in params["cases"]:
        outcome, error = _in_fork(lambda: _convert_one(lib, case, params.get("input_format", 0)), timeout)
        if outcome == "crash":
            error = f"the converter {error}"
        converted += outcome == "converted"
        state.emit({"name": case["name"], "ok": outcome == "converted", "outcome": outcome, "error": error})
    return {"cases": len(params["cases"]), "converted": converted}


def _convert_one(lib, case: dict, input_format: int) -> tuple[str, str]:
    from converters.lite import native

    out = case["out"]
    Path(out + ".ms").unlink(missing_ok=True)
    with native.captured_stderr() as log:  # Lite's own reason lands on fd 2
        rc = lib.es_convert(2, native.encode_path(case["model"]), b"", native.encode_path(out), 4,
                            input_format, b"", 0, b"", 0)
    if rc != 0:
        return "convert_fail", _convert_reason(case.get("ops", []), log[0], native.last_error(lib), rc)
    if not Path(out + ".ms").is_file():
        return "convert_fail", "the converter reported success but wrote no model"
    return "converted", ""


def _in_fork(work: Callable[[], tuple[str, str]], timeout: float) -> tuple[str, str]:
    """Run `work` in a forked process; its (outcome, reason), or ("crash", how it died)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the fork: answer through the pipe, then leave without any cleanup
        os.close(read_fd)
        try:
            answer = list(work())
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the parent
            answer = ["convert_fail", f"{type(exc).__name__}: {exc}"[:300]]
        os.write(write_fd, json.dumps(answer).encode())
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        ready, _, _ = select.select([pipe], [], [], timeout)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        data = pipe.read() if ready else b""
    _, status = os.waitpid(pid, 0)
    if data:
        return tuple(json.loads(data))
    if not ready:
        return "crash", f"hung over {timeout:.0f} s"
    if not os.WIFSIGNALED(status):
        return "crash", f"exited with code {os.WEXITSTATUS(status)}"
    try:
        return "crash", f"died with {signal.Signals(os.WTERMSIG(status)).name}"
    except ValueError:
        return "crash", f"died with signal {os.WTERMSIG(status)}"


def _convert_reason(ops: list[str], log: str, last: str, rc: int) -> str:
    """The root cause: this model's ops on Lite's unsupported list, else Lite's first error."""
    from converters.lite.errors import lite_errors

    # Lite prints its whole process-wide unsupported-op list: name only this model's ops in it.
    listed = set(re.findall(r"OP TYPE: (\w+)", log))
    unsupported = [op for op in ops if op in listed]
    if unsupported:
        return f"unsupported op: {', '.join(unsupported)}"
    errors = lite_errors(log, limit=1000)
    return (errors[0] if errors else last or f"status {rc}")[:300]


def run_batch_in_child(params: dict, state) -> dict:
    """Inside a runtime child: load each .ms, feed test_data_set_0, compare, one event per case."""

    passed = 0
    for case in params["cases"]:
        outcome, error = _run_case(case)
        passed += outcome == "pass"
        state.emit({"name": case["name"], "ok": outcome == "pass", "outcome": outcome, "error": error})
    return {"cases": len(params["cases"]), "passed": passed}


def _run_case(case: dict) -> tuple[str, str]:
    from converters.lite import LiteModel

    # Any exception is this case's failure, not the batch's: the bridge itself can raise
    # plain Python errors (e.g. numpy on a dynamic -1 dimension).
    try:
        model = LiteModel(case["out"] + ".ms", threads=1)
    except Exception as exc:
        return "load_fail", _first_line(exc)
    with model:
        try:
            feeds = _feeds(model, case["inputs"])
            got = model.predict(feeds)
        except Exception as exc:
            return "run_fail", _first_line(exc)
        return _compare(model, got, case["outputs"])


def _feeds(model, inputs: list[dict]) -> list[np.ndarray]:
    """The case's arrays in the model's input order (by name when Lite kept the names)."""
    from converters.lite import LiteError

    arrays = {i["name"]: np.load(i["path"]) for i in inputs}
    if len(arrays) != len(model.inputs):
        raise LiteError(f"the model has {len(model.inputs)} input(s), the case {len(arrays)}")
    names = [s.name for s in model.inputs]
    feeds = [arrays[n] for n in names] if set(names) == set(arrays) else list(arrays.values())
    if any(spec.shape != arr.shape for spec, arr in zip(model.inputs, feeds)):
        model.resize([arr.shape for arr in feeds])
    # Lite narrows int64 to int32; cast here, shape-preserving (LiteModel's own cast goes
    # through np.ascontiguousarray, which turns a 0-d scalar input into shape (1,)).
    return [arr.astype(spec.dtype) for arr, spec in zip(feeds, model.inputs)]


def _compare(model, got: list[np.ndarray], outputs: list[dict]) -> tuple[str, str]:
    expected = {o["name"]: np.load(o["path"]) for o in outputs}
    if len(got) != len(expected):
        return "mismatch", f"{len(got)} output(s), expected {len(expected)}"
    names = [s.name for s in model.outputs]
    if set(names) == set(expected):
        pairs = [(n, got[i], expected[n]) for i, n in enumerate(names)]
    else:
        pairs = [(n, g, e) for g, (n, e) in zip(got, expected.items())]
    for name, g, e in pairs:
        problem = _differs(g, e)
        if problem:
            return "mismatch", f"{name}: {problem}"
    return "pass", ""


def _differs(got: np.ndarray, want: np.ndarray) -> str:
    """"" when equal within RTOL/ATOL; a dtype mismatch is forgiven when the cast values match."""
    if got.shape != want.shape:
        return f"shape {list(got.shape)}, expected {list(want.shape)}"
    try:
        cast = got.astype(want.dtype)
    except (TypeError, ValueError):
        return f"dtype {got.dtype}, expected {want.dtype}"
    if want.dtype.kind in "fc":
        ok = np.allclose(cast, want, rtol=RTOL, atol=ATOL, equal_nan=True)
    else:
        ok = np.array_equal(cast, want)
    if ok:
        return ""
    if got.dtype != want.dtype:
        return f"dtype {got.dtype}, expected {want.dtype}, values differ"
    if want.dtype.kind in "fc":
        err = np.nanmax(np.abs(cast.astype(np.float64) - want.astype(np.float64))) if want.size else 0.0
        return f"max abs diff {err:.3g}"
    return f"{int(np.count_nonzero(cast != want))} of {want.size} values differ"


def _first_line(exc: Exception) -> str:
    """The error's first line plus Lite's first logged error (usually the root cause)."""
    from converters.lite.errors import LiteError, lite_errors

    summary = (str(exc).splitlines() or [""])[0]
    if not isinstance(exc, LiteError):  # raised by our Python side of the bridge, not by Lite
        summary = f"bridge raised {type(exc).__name__}: {summary}"
    first = lite_errors(getattr(exc, "log", ""), limit=1000)[:1]
    return "; ".join([summary, *first])[:300]


# -- parent: batches that survive crashes ----------------------------------------------------

class _Watchdog:
    """Cancels a child when no per-case event arrived for `limit` seconds (a hung case)."""

    def __init__(self, limit: float, state: JobState) -> None:
        self.limit, self.last, self.state = limit, time.monotonic(), state
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self.last = time.monotonic()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            if time.monotonic() - self.last > self.limit:
                self.hung = True
                self.state.cancel()
                return

    def stop(self) -> None:
        self._stop.set()


def _run_batches(job: str, cases: list[dict], record: Callable[[dict, dict], None],
                 extra: dict | None = None, case_timeout: float = CASE_TIMEOUT) -> None:
    """Run `cases` through `job`; after a crash or hang, blame that case and restart after it."""
    from jobs.child import ChildError, run_child

    remaining = list(cases)
    while remaining:
        done: list[dict] = []
        state = JobState(on_event=lambda event: on_event(event))
        dog = _Watchdog(case_timeout, state)

        def on_event(event: dict) -> None:
            dog.poke()
            case = remaining[len(done)]
            if event.get("name") != case["name"]:
                return  # not ours in order: leave the case unanswered (it becomes a crash)
            done.append(case)
            record(case, event)

        params = {"cases": [_child_view(c) for c in remaining], **(extra or {})}
        try:
            run_child(JOBS[job], params, state, timeout=BATCH_TIMEOUT)
            failure = ""
        except Cancelled:
            failure = f"hung over {case_timeout:g} s"
        except ChildError as exc:
            failure = str(exc)
        finally:
            dog.stop()
        remaining = remaining[len(done):]
        if remaining:  # the child died on (or before answering for) this case
            record(remaining[0], {"ok": False, "outcome": "crash",
                                  "error": f"{job.split('_')[-1]} child: {failure or 'no answer'}"[:300]})
            remaining = remaining[1:]


def _child_view(case: dict) -> dict:
    return {k: case[k] for k in ("name", "model", "out", "ops", "inputs", "outputs") if k in case}


def _shards(cases: list[dict], workers: int) -> list[list[dict]]:
    return [s for s in (cases[i::workers] for i in range(workers)) if s]


def _parallel(job: str, cases: list[dict], record, workers: int, extra: dict | None = None) -> None:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(_run_batches, job, shard, record, extra) for shard in _shards(cases, workers)]:
            future.result()


def run_conformance(workdir: str | Path, limit: int | None = None, on_progress: ProgressFn | None = None,
                    workers: int | None = None) -> dict:
    """Generate the node cases, convert them all, run the converted ones; return the results.

    Result: {"onnx_version", "lite_version", "total", "passed", "rate", "counts", "seconds",
    "cases": {name: {"outcome", "reason"}}}. `workers` children run side by side (default: cores).
    """
    import onnx

    from converters.lite import paths

    started = time.perf_counter()
    workdir = Path(workdir)
    workers = max(1, workers or min(os.cpu_count() or 1, 4))
    entries = generate_cases(workdir, limit)
    results: dict[str, dict] = {}
    lock = threading.Lock()

    def record(phase: str, ok_outcome: str, bad_outcome: str) -> Callable[[dict, dict], None]:
        def _record(case: dict, event: dict) -> None:
            outcome = event.get("outcome") or (ok_outcome if event["ok"] else bad_outcome)
            result = {"outcome": outcome, "reason": event.get("error", "")}
            with lock:
                results[case["name"]] = result
            if on_progress is not None:
                on_progress(phase, case["name"], result)
        return _record

    for e in entries:
        if e["skip"]:
            record("generate", "", "skipped")(e, {"ok": False, "error": e["skip"]})
    todo = [e for e in entries if not e["skip"]]
    # NCHW keeps the tests' layouts (Lite's default would make 4-D inputs NHWC).
    _parallel("conformance_convert", todo, record("convert", "converted", "convert_fail"), workers,
              {"input_format": 0})
    converted = [e for e in todo if results[e["name"]]["outcome"] == "converted"]
    _parallel("conformance_run", converted, record("run", "pass", "run_fail"), workers)

    counts = {k: sum(r["outcome"] == k for r in results.values()) for k in OUTCOMES}
    total = len(results)
    return {"onnx_version": onnx.__version__, "lite_version": paths.LITE_VERSION, "total": total,
            "passed": counts["pass"], "rate": counts["pass"] / total if total else 0.0, "counts": counts,
            "seconds": round(time.perf_counter() - started, 1),
            "cases": dict(sorted(results.items()))}


def save_results(results: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps(results, indent=1) + "\n")

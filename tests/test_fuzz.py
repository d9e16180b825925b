"""Bounded, reproducible fuzzing (hypothesis, derandomized, no example database) of what reads files
users bring: the Lite probe (in a child process), the model-card readers (in this process) and the
preprocess.json parser.

Contracts checked:
- probe(): a ProbeResult, or LiteError with a message that names the file — never another exception,
  and this process survives whatever the file does to Lite in the child.
- make_card(): a card (the reader's complaint in `reader_error`) for any file with a known suffix —
  never an exception.
- PreprocessSpec.load()/from_json(): a spec that works, or PreprocessError naming each bad field.

The default run is small (a few seconds plus ~0.5 s per probe child); `-m long` runs many more.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import onnx_models
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.models import card as model_card
from app.core.models.card import ModelCard, make_card
from app.core.preprocess import PreprocessError, PreprocessSpec
from converters.lite import LiteError, LiteModel, convert, probe
from sample_models.face_detection import ensure_face_detector

DIGITS = Path(__file__).resolve().parents[1] / "sample_models" / "digits"


def _settings(examples: int):
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@st.composite
def mutated(draw, data: bytes, head: int = 4096) -> tuple[str, bytes]:
    """(kind, bytes): bit flips (biased to the first `head` bytes and the tail, where the structure is), a
    truncation, a splice of random bytes, a zeroed run or a duplicated run."""
    buf = bytearray(data)
    n = len(buf)

    def position() -> int:
        where = draw(st.sampled_from(["head", "tail", "anywhere"]))
        if where == "head":
            return draw(st.integers(0, min(head, n) - 1))
        if where == "tail":
            return draw(st.integers(max(0, n - head), n - 1))
        return draw(st.integers(0, n - 1))

    kind = draw(st.sampled_from(["flip", "flip", "truncate", "splice", "zero", "duplicate"]))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 16))):
            buf[position()] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        buf = buf[:draw(st.integers(0, n - 1))]
    elif kind == "splice":
        i = position()
        buf[i:i + draw(st.integers(0, 256))] = draw(st.binary(min_size=1, max_size=256))
    elif kind == "zero":
        i = position()
        k = draw(st.integers(1, 512))
        buf[i:i + k] = bytes(len(buf[i:i + k]))
    else:
        i, k = position(), draw(st.integers(1, 512))
        buf[i:i] = buf[i:i + k]
    return kind, bytes(buf)


# -- (a) the probe: Lite loads the file in a child -------------------------------------------------
@pytest.fixture(scope="module")
def valid_models(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("fuzz_models")
    onnx = onnx_models.gap_net(folder / "gap.onnx")
    return {".onnx": onnx.read_bytes(),
            ".ms": convert(DIGITS / "model.onnx", folder / "digits.ms", input_format="NCHW").path.read_bytes(),
            ".mindir": convert(DIGITS / "model.onnx", folder / "digits.mindir", input_format="NCHW").path.read_bytes()}


def _probe_outcomes(data: bytes, suffix: str, folder: Path, examples: int) -> Counter:
    outcomes: Counter = Counter()
    count = [0]

    @_settings(examples)
    @given(mutated(data))
    def check(case):
        how, fuzzed = case
        count[0] += 1
        path = folder / f"fuzzed_{count[0]}{suffix}"
        path.write_bytes(fuzzed)
        try:
            result = probe(path, timeout=60)
        except LiteError as exc:
            message = str(exc)
            assert path.name in message and "Traceback" not in message, message
            kind = "crashed" if "crashed" in message else "timed out" if "timed out" in message else "refused"
            outcomes[f"{suffix} {how}: LiteError ({kind})"] += 1
        else:
            assert result.inputs and result.outputs and all(isinstance(i["shape"], list) for i in result.inputs)
            outcomes[f"{suffix} {how}: loaded and ran"] += 1
        finally:
            path.unlink()

    check()
    return outcomes


def _report(tmp_path: Path, name: str, outcomes: Counter) -> None:
    (tmp_path / f"{name}.json").write_text(json.dumps(dict(sorted(outcomes.items())), indent=2))
    print(f"\n{name}: {dict(sorted(outcomes.items()))}")


@pytest.mark.parametrize("suffix", [".ms", ".mindir", ".onnx"])
def test_probe_survives_mutated_models(valid_models, tmp_path, suffix):
    outcomes = _probe_outcomes(valid_models[suffix], suffix, tmp_path, 15)
    _report(tmp_path, f"fuzz_probe{suffix}", outcomes)
    assert sum(outcomes.values()) == 15
    # this process never loaded any of them: Lite still works here
    after = tmp_path / "after.ms"
    after.write_bytes(valid_models[".ms"])
    with LiteModel(after, threads=1) as model:
        assert model.predict(np.zeros(model.inputs[0].shape, np.float32))[0].shape == (1, 10)


def test_model_with_invalid_utf8_tensor_names(tmp_path):
    path = tmp_path / "bad_names.onnx"
    path.write_bytes(onnx_models.conv_net(tmp_path / "conv.onnx").read_bytes().replace(b"\n\x01x", b"\n\x01\xff"))
    try:
        probe(path, timeout=120)
    except LiteError as exc:
        assert path.name in str(exc), str(exc)
    converted = convert(path, tmp_path / "bad_names.ms").path  # Lite converts it, names and all
    try:
        LiteModel(converted, threads=1).close()
    except LiteError:
        pass


@pytest.mark.long
@pytest.mark.parametrize("suffix", [".ms", ".mindir", ".onnx"])
def test_probe_survives_mutated_models_long(valid_models, tmp_path, suffix):
    outcomes = _probe_outcomes(valid_models[suffix], suffix, tmp_path, 150)
    _report(tmp_path, f"fuzz_probe_long{suffix}", outcomes)
    assert sum(outcomes.values()) == 150


# -- (a) the model-card readers, in this process ----------------------------------------------------
@pytest.fixture(scope="module")
def card_sources(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("fuzz_cards")
    return {".onnx": onnx_models.conv_net(folder / "conv.onnx").read_bytes(),
            ".tflite": ensure_face_detector().read_bytes()}


class _NoLite:
    """Stands in for the Lite check (convert + probe in two children, covered above and in
    test_model_card.py) so that hundreds of mutated files go through the readers in seconds."""

    calls = 0

    def __call__(self, path, timeout, state, *shapes):  # the same arguments as card._lite_check
        _NoLite.calls += 1
        return None, "Lite not run (reader fuzzing)"


def _card_outcomes(card_sources: dict[str, bytes], folder: Path, examples: int) -> Counter:
    outcomes: Counter = Counter()

    @_settings(examples)
    @given(st.sampled_from(sorted(card_sources)).flatmap(
        lambda suffix: st.tuples(st.just(suffix), mutated(card_sources[suffix], head=2048))))
    def check(case):
        suffix, (_, data) = case
        path = folder / f"fuzzed{suffix}"
        path.write_bytes(data)
        card = make_card(path)  # any exception here fails the test: make_card must not raise for these
        assert isinstance(card, ModelCard) and card.format == suffix[1:] and card.size_bytes == len(data)
        assert isinstance(card.inputs, list) and isinstance(card.op_histogram, dict)
        json.dumps(card.to_json())
        card.to_markdown()
        if card.reader_error:
            assert card.reader_error.startswith(("not a readable", "the file is empty")), card.reader_error
            outcomes[f"{suffix} reader_error"] += 1
        else:
            assert card.params is None or card.params >= 0
            outcomes[f"{suffix} read"] += 1

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model_card, "_lite_check", _NoLite())
        check()
    return outcomes


def test_card_readers_survive_mutated_files(card_sources, tmp_path):
    outcomes = _card_outcomes(card_sources, tmp_path, 300)
    _report(tmp_path, "fuzz_cards", outcomes)
    assert sum(outcomes.values()) == 300 and _NoLite.calls >= 300
    assert any("reader_error" in k for k in outcomes) and any(k.endswith(" read") for k in outcomes)


@pytest.mark.long
def test_card_readers_survive_mutated_files_long(card_sources, tmp_path):
    outcomes = _card_outcomes(card_sources, tmp_path, 5000)
    _report(tmp_path, "fuzz_cards_long", outcomes)
    assert sum(outcomes.values()) == 5000


@pytest.mark.parametrize("old, new", [(b"Relu", b"R\xfflu"),  # an op type (twice: ties with Conv ×2)
                                      (b"\n\x01x", b"\n\x01\xff")])  # the graph input's name, where it is used too
def test_card_of_onnx_with_invalid_utf8_strings(tmp_path, old, new):
    data = onnx_models.conv_net(tmp_path / "conv.onnx").read_bytes().replace(old, new)  # same length: still parses
    path = tmp_path / "bad_utf8.onnx"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model_card, "_lite_check", _NoLite())
        card = make_card(path)
    json.dumps(card.to_json())
    assert card.reader_error or all(isinstance(k, str) for k in card.op_histogram)


def test_card_with_real_lite_check_on_mutated_files(card_sources, tmp_path):
    """A few mutated files through the whole make_card, Lite's children included."""
    rng = np.random.default_rng(11)
    for suffix, data in sorted(card_sources.items()):
        for k in range(2):
            buf = bytearray(data)
            for i in rng.integers(0, min(len(buf), 2048), 8):
                buf[i] ^= 1 << int(rng.integers(0, 8))
            path = tmp_path / f"real_{k}{suffix}"
            path.write_bytes(bytes(buf))
            card = make_card(path, timeout=120)
            assert card.lite_converts or (card.lite_error and "Traceback" not in card.lite_error)
            json.dumps(card.to_json())


# -- (b) preprocess.json ---------------------------------------------------------------------------
FIELDS = set(PreprocessSpec.model_fields)
VALID = json.loads((DIGITS / "preprocess.json").read_text())
# allow_subnormal=False: once Lite is loaded, this process flushes subnormals to zero (see
# test_loading_lite_leaves_the_callers_float_mode_alone) and hypothesis refuses to draw them.
_FLOATS = st.floats(allow_subnormal=False)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _FLOATS | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25)
_VALUES = st.one_of(_JSON, st.integers(-10, 5000), st.sampled_from(["GRAY", "RGB", "BGR", "NCHW", "NHWC", "rgb"]),
                    st.lists(_FLOATS, max_size=4), st.floats(-2, 2, allow_subnormal=False))


@st.composite
def _spec_documents(draw) -> str | bytes:
    kind = draw(st.sampled_from(["json", "edited", "edited", "bytes", "variant", "variant"]))
    if kind == "variant":  # values from each field's own domain: mostly valid specs, some inconsistent
        channels = draw(st.sampled_from([1, 3]))

        def values(low: float, high: float) -> list[float]:  # 1 or `channels` values, now and then 2
            k = draw(st.sampled_from([1, channels, 2]))
            return draw(st.lists(st.floats(low, high, allow_subnormal=False), min_size=k, max_size=k))

        return json.dumps({"input_name": draw(st.text(min_size=1, max_size=10)), "width": draw(st.integers(1, 300)),
                           "height": draw(st.integers(1, 300)), "channels": channels,
                           "color": draw(st.sampled_from(["GRAY"] if channels == 1 else ["RGB", "BGR"])
                                         | st.sampled_from(["GRAY", "RGB", "BGR"])),
                           "layout": draw(st.sampled_from(["NCHW", "NHWC"])),
                           "scale": draw(st.floats(0.001, 1, allow_subnormal=False)),
                           "mean": values(-1, 1), "std": values(-0.1, 2)})
    if kind == "json":  # any JSON at all
        return json.dumps(draw(_JSON))
    if kind == "bytes":  # the valid file's bytes, mutated
        return draw(mutated(json.dumps(VALID, indent=2).encode(), head=256))[1]
    spec = dict(VALID)  # a valid spec with some fields removed, replaced or added
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["set", "set", "drop", "add"]))
        if action == "drop" and spec:
            spec.pop(draw(st.sampled_from(sorted(spec))))
        elif action == "add":
            spec[draw(st.text(max_size=10))] = draw(_VALUES)
        else:
            spec[draw(st.sampled_from(sorted(FIELDS)))] = draw(_VALUES)
    return json.dumps(spec)  # NaN and Infinity included: Python's json writes them


def _check_spec_document(document, outcomes: Counter) -> None:
    try:
        spec = PreprocessSpec.from_json(document)
    except PreprocessError as exc:
        message = str(exc)
        assert message.startswith("preprocess.json: ") and exc.problems
        for field, problem in exc.problems[:5]:  # the message names every field it complains about
            assert problem and (f"{field}: " in message if field else problem in message)
        outcomes["PreprocessError"] += 1
        for field, _ in exc.problems:
            top = field.split(".")[0]
            outcomes[f"problem: {top if top in FIELDS else 'unknown field' if field else 'document'}"] += 1
        return
    # accepted: the spec must work on a frame
    assert spec.input_shape[0] == 1 and all(d >= 1 for d in spec.input_shape)
    if spec.width * spec.height <= 512 * 512:
        x = spec.apply(np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8))
        assert x.shape == spec.input_shape and x.dtype == np.float32 and np.isfinite(x).all()
    assert PreprocessSpec.from_json(spec.model_dump_json()) == spec  # what it saves, it reads back
    outcomes["valid spec"] += 1


def test_preprocess_spec_fuzz(tmp_path):
    outcomes: Counter = Counter()

    @_settings(500)
    @given(_spec_documents())
    def check(document):
        _check_spec_document(document, outcomes)

    check()
    _report(tmp_path, "fuzz_preprocess", outcomes)
    assert outcomes["PreprocessError"] + outcomes["valid spec"] == 500
    assert outcomes["PreprocessError"] and outcomes["valid spec"]


@pytest.mark.long
def test_preprocess_spec_fuzz_long(tmp_path):
    outcomes: Counter = Counter()

    @_settings(30_000)
    @given(_spec_documents())
    def check(document):
        _check_spec_document(document, outcomes)

    check()
    _report(tmp_path, "fuzz_preprocess_long", outcomes)


@pytest.mark.parametrize("document, field", [
    (b"\xff\xfe{}", ""), ("[" * 100_000, ""), ("[]", ""), ("", ""),
    ({**VALID, "std": [float("nan")]}, "std.0"), ({**VALID, "mean": [float("inf")]}, "mean.0"),
    ({**VALID, "scale": float("nan")}, "scale"), ({**VALID, "width": 0}, "width"),
    ({**VALID, "height": 10**30}, "height"), ({**VALID, "channels": 3}, ""), ({**VALID, "mean": [0.1, 0.2]}, ""),
    ({**VALID, "std": [-1]}, "std.0"), ({**VALID, "std": [1e-50]}, "std.0"),
    ({**VALID, "mean": [1e30]}, "mean.0"),
    ({**VALID, "colour": "GRAY"}, "colour"), ({**VALID, "input_name": ""}, "input_name"),
])
def test_preprocess_errors_name_the_field(document, field, tmp_path):
    data = document if isinstance(document, (str, bytes)) else json.dumps(document)
    path = tmp_path / "preprocess.json"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    with pytest.raises(PreprocessError) as info:
        PreprocessSpec.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and len(message) < 600
    if field:
        assert f"{field}: " in message
    for name in ("channels", "mean", "std"):  # the whole-spec checks say which field is wrong
        if isinstance(document, dict) and document.get(name) != VALID.get(name):
            assert name in message
    assert isinstance(info.value, ValueError)  # the CLI prints ValueErrors as one line


def test_preprocess_load_keeps_valid_files_and_bom(tmp_path):
    path = tmp_path / "preprocess.json"
    path.write_bytes(b"\xef\xbb\xbf" + (DIGITS / "preprocess.json").read_bytes())
    assert PreprocessSpec.load(path) == PreprocessSpec.load(DIGITS / "preprocess.json")
    with pytest.raises(OSError):
        PreprocessSpec.load(tmp_path / "missing.json")


# -- found while fuzzing: Lite changes the caller's floating-point mode -----------------------------
_FLOAT_MODE = r"""
import numpy as np
from converters.lite import LiteModel, native

def subnormals() -> bool:  # False once flush-to-zero / denormals-are-zero is on in this thread
    return bool((np.array([2.2250738585072014e-308]) / 2)[0] != 0)

seen = [subnormals()]
native.runtime()  # dlopen of libmindspore-extendrt_python.so
seen.append(subnormals())
LiteModel(r"%s", threads=1).close()  # a 1-thread model build
seen.append(subnormals())
print(seen)
"""


def test_loading_lite_leaves_the_callers_float_mode_alone(valid_models, tmp_path):
    import subprocess
    import sys

    from jobs.process import child_env

    ms = tmp_path / "digits.ms"
    ms.write_bytes(valid_models[".ms"])
    done = subprocess.run([sys.executable, "-c", _FLOAT_MODE % ms], capture_output=True, text=True, timeout=120,
                          env=child_env(), cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[True, True, True]"

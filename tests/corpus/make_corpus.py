"""The bad-input corpus: broken, mislabelled and awkward models, calibration folders and datasets,
generated from valid ones (onnx.helper, the bundled digits sample, a tiny TFLite flatbuffer, Lite's own
.ms/.mindir) and then damaged. Nothing is downloaded.

    .venv/bin/python tests/corpus/make_corpus.py [OUT_DIR]   # default tests/corpus/out (git-ignored)

Each case names the stages of the app it goes through (STAGES) and the stages where it is accepted
(`ok_in`: an awkward but valid input that must just work); everywhere else it must fail with a clear
error that names it. tests/test_corpus.py generates it into pytest's tmp_path.
"""
from __future__ import annotations

import functools
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "sample_models" / "digits"
for _p in (ROOT, ROOT / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

# import: model card (Python API, CLI); convert: Lite's converter (API, CLI); eval: `edge-studio eval`;
# live: `edge-studio live --model`; deploy: `edge-studio deploy`; gui: the Model page's import action.
STAGES = ("import", "convert", "eval", "live", "deploy", "gui")
NAME_MAX, PATH_MAX = 255, 4096
EVAL_DATA = "good/digits-data"  # a small valid DIR/<class>/*.png set the model cases are evaluated on


@dataclass(frozen=True)
class Case:
    name: str  # ASCII id (the file name, or a readable stand-in for non-UTF-8 and 255-byte names)
    path: Path
    kind: str  # "model", "calibration" or "dataset"
    stages: tuple[str, ...]
    problem: str  # what is wrong with it, in a few words
    ok_in: tuple[str, ...] = ()  # stages that must accept it
    mentions: tuple[str, ...] = ()  # what an error must contain (default: the file name)

    def accepted_in(self, stage: str) -> bool:
        return stage in self.ok_in

    @property
    def names(self) -> tuple[str, ...]:
        return self.mentions or (self.path.name,)


@dataclass(frozen=True)
class Spec:
    """A case before it is written: where it goes under the corpus folder and how it is made."""

    name: str
    where: str | Callable[[Path], Path]  # path relative to the corpus folder, or out → path
    kind: str
    stages: tuple[str, ...]
    problem: str
    build: Callable[[Path, "Goods"], object] | None  # None: the path must not exist
    ok_in: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()

    def case(self, out: Path) -> Case:
        path = self.where(out) if callable(self.where) else out / self.where
        return Case(self.name, path, self.kind, self.stages, self.problem, self.ok_in, self.mentions)


class Goods:
    """The valid models the damage starts from, made once per corpus."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._cache: dict[str, bytes] = {}

    def __getitem__(self, kind: str) -> bytes:
        if kind not in self._cache:
            self._cache[kind] = self._make(kind).read_bytes()
        return self._cache[kind]

    def _make(self, kind: str) -> Path:
        from converters.lite import convert

        if kind == "onnx":
            return DIGITS / "model.onnx"
        if kind == "tflite":
            return tiny_tflite(self.folder / "tiny.tflite")
        return convert(DIGITS / "model.onnx", self.folder / f"digits.{kind}", input_format="NCHW").path


# -- valid models to damage ------------------------------------------------------------------------
def tiny_tflite(path: Path) -> Path:
    """A valid TFLite flatbuffer: FULLY_CONNECTED 16 → 4 with weights and bias, written with the
    `tflite` package's generated builder (no TensorFlow needed)."""
    import flatbuffers
    import tflite

    b = flatbuffers.Builder(1024)
    rng = np.random.default_rng(0)

    def vector(start, items, prepend):
        start(b, len(items))
        for item in reversed(items):
            prepend(item)
        return b.EndVector()

    def buffer(data: bytes):
        data_vec = b.CreateByteVector(data) if data else None
        tflite.BufferStart(b)
        if data_vec is not None:
            tflite.BufferAddData(b, data_vec)
        return tflite.BufferEnd(b)

    def tensor(name: str, shape: list[int], buf: int):
        name_off = b.CreateString(name)
        shape_vec = vector(tflite.TensorStartShapeVector, shape, b.PrependInt32)
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape_vec)
        tflite.TensorAddType(b, tflite.TensorType.FLOAT32)
        tflite.TensorAddBuffer(b, buf)
        tflite.TensorAddName(b, name_off)
        return tflite.TensorEnd(b)

    weights = rng.standard_normal((4, 16)).astype(np.float32).tobytes()
    bias = rng.standard_normal(4).astype(np.float32).tobytes()
    buffers = [buffer(b""), buffer(weights), buffer(bias), buffer(b""), buffer(b"")]  # buffer 0: empty by rule
    tensors = [tensor("x", [1, 16], 3), tensor("w", [4, 16], 1), tensor("b", [4], 2), tensor("y", [1, 4], 4)]
    op_inputs = vector(tflite.OperatorStartInputsVector, [0, 1, 2], b.PrependInt32)
    op_outputs = vector(tflite.OperatorStartOutputsVector, [3], b.PrependInt32)
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, 0)
    tflite.OperatorAddInputs(b, op_inputs)
    tflite.OperatorAddOutputs(b, op_outputs)
    op = tflite.OperatorEnd(b)
    tensors_vec = vector(tflite.SubGraphStartTensorsVector, tensors, b.PrependUOffsetTRelative)
    inputs_vec = vector(tflite.SubGraphStartInputsVector, [0], b.PrependInt32)
    outputs_vec = vector(tflite.SubGraphStartOutputsVector, [3], b.PrependInt32)
    ops_vec = vector(tflite.SubGraphStartOperatorsVector, [op], b.PrependUOffsetTRelative)
    sub_name = b.CreateString("main")
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors_vec)
    tflite.SubGraphAddInputs(b, inputs_vec)
    tflite.SubGraphAddOutputs(b, outputs_vec)
    tflite.SubGraphAddOperators(b, ops_vec)
    tflite.SubGraphAddName(b, sub_name)
    subgraph = tflite.SubGraphEnd(b)
    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddBuiltinCode(b, tflite.BuiltinOperator.FULLY_CONNECTED)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, tflite.BuiltinOperator.FULLY_CONNECTED)
    tflite.OperatorCodeAddVersion(b, 1)
    opcode = tflite.OperatorCodeEnd(b)
    opcodes_vec = vector(tflite.ModelStartOperatorCodesVector, [opcode], b.PrependUOffsetTRelative)
    subgraphs_vec = vector(tflite.ModelStartSubgraphsVector, [subgraph], b.PrependUOffsetTRelative)
    buffers_vec = vector(tflite.ModelStartBuffersVector, buffers, b.PrependUOffsetTRelative)
    description = b.CreateString("edge-studio corpus: tiny fully-connected")
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, opcodes_vec)
    tflite.ModelAddSubgraphs(b, subgraphs_vec)
    tflite.ModelAddDescription(b, description)
    tflite.ModelAddBuffers(b, buffers_vec)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    path.write_bytes(bytes(b.Output()))
    return path


def _one_node(path: Path, dims: list, *, domain: str = "", op: str = "Relu", opset: int = 13) -> Path:
    """x[dims] → op → y: a one-node ONNX model whose input shape, op or opset is the damage."""
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node(op, ["x"], ["y"], domain=domain)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)
    imports = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    model = helper.make_model(helper.make_graph([node], path.stem, [x], [y]), opset_imports=imports)
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _short_initializer(path: Path) -> Path:
    """An initializer that declares 12×1×5×5 floats (1,200 bytes) but carries 10 bytes."""
    import onnx
    import onnx_models

    onnx_models.gap_net(path)
    model = onnx.load(str(path))
    weight = next(t for t in model.graph.initializer if t.name == "w")
    weight.raw_data = b"\x00" * 10
    del weight.float_data[:]
    onnx.save(model, str(path))
    return path


def _missing_external_data(path: Path) -> Path:
    """Weights stored as ONNX external data in a file that is not there."""
    import onnx
    import onnx_models

    onnx_models.gap_net(path)
    model = onnx.load(str(path))
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
              location=f"{path.stem}.weights", size_threshold=0)
    (path.parent / f"{path.stem}.weights").unlink()
    return path


def _empty_graph(path: Path) -> Path:
    """No nodes: the declared output is never produced."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])
    model = helper.make_model(helper.make_graph([], path.stem, [x], [y]), opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _reshape_allowzero(path: Path) -> Path:
    """onnx's backend node test `test_reshape_allowzero_reordered` ((0,3,4) reshaped to (3,4,0),
    allowzero=1): valid ONNX on which Lite 2.0's converter dies of SIGSEGV (docs/onnx-conformance.md)."""
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Reshape", ["data", "shape"], ["reshaped"], allowzero=1)
    inputs = [helper.make_tensor_value_info("data", TensorProto.FLOAT, [0, 3, 4]),
              helper.make_tensor_value_info("shape", TensorProto.INT64, [3])]
    outputs = [helper.make_tensor_value_info("reshaped", TensorProto.FLOAT, [3, 4, 0])]
    graph = helper.make_graph([node], path.stem, inputs, outputs)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), str(path))
    return path


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _image(path: Path, height: int, width: int, channels: int = 1, seed: int = 0) -> Path:
    import cv2

    rng = np.random.default_rng(seed)
    shape = (height, width) if channels == 1 else (height, width, channels)
    ok, png = cv2.imencode(".png", rng.integers(0, 256, shape, dtype=np.uint8))
    assert ok
    return _write(path, png.tobytes())


@functools.lru_cache(maxsize=1)
def _sklearn_digits():
    from sklearn.datasets import load_digits

    return load_digits()


def digit_images(folder: Path, classes: list[str], per_class: int) -> Path:
    """DIR/<class>/*.png of real 28×28 digits (class "k" holds digit k mod 10)."""
    import cv2

    bunch = _sklearn_digits()
    for name in classes:
        for i, idx in enumerate(np.flatnonzero(bunch.target == int(name) % 10)[:per_class]):
            small = np.clip(bunch.images[idx] * 16, 0, 255).astype(np.uint8)
            ok, png = cv2.imencode(".png", cv2.resize(small, (28, 28), interpolation=cv2.INTER_LINEAR))
            assert ok
            _write(folder / name / f"{i:03d}.png", png.tobytes())
    return folder


def _random(n: int = 4096, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def _deep(out: Path) -> Path:
    """A folder chain whose full path, with a short file name, is a few bytes under PATH_MAX."""
    deep = out / "models" / "deep"
    while len(os.fsencode(str(deep))) + 201 + len("/deep-valid.onnx") < PATH_MAX - 64:
        deep = deep / ("d" * 200)
    return deep / "deep-valid.onnx"


# -- the cases ------------------------------------------------------------------------------------
_STAGES_BY_SUFFIX = {  # converter inputs are imported and converted; runnable files evaluated and run live
    ".onnx": ("import", "convert", "eval", "live", "deploy", "gui"),
    ".tflite": ("import", "convert", "live", "gui"),
    ".pb": ("import", "convert", "gui"),
    ".prototxt": ("import", "convert", "gui"),
    ".mindir": ("import", "convert", "eval", "live", "gui"),
    ".ms": ("import", "eval", "live", "gui"),  # the import dialog offers .ms; the card refuses it
}
_LONG_BAD = "x" * (NAME_MAX - len("-garbage.onnx")) + "-garbage.onnx"
_TOO_LONG = "t" * (NAME_MAX + 1 - len(".onnx")) + ".onnx"
_LONG_OK = "long-" + "n" * (NAME_MAX - len("long-") - len(".onnx")) + ".onnx"
_NONUTF8_BAD = os.fsdecode(b"nonutf8-\xff\xfe-garbage.onnx")
_NONUTF8_OK = os.fsdecode(b"nonutf8-\xe9t\xe9-valid.onnx")  # Latin-1 "été"


def _model(name: str, problem: str, build, *, file: str | None = None, stages=None, ok_in=(), mentions=(),
           where=None) -> Spec:
    file = file or name
    return Spec(name, where or f"models/{file}", "model", tuple(stages or _STAGES_BY_SUFFIX.get(
        Path(file).suffix.lower(), ("import", "convert", "eval", "live", "gui"))), problem, build, tuple(ok_in),
        tuple(mentions))


def _data(kind: str, name: str, problem: str, fill, stages, ok_in=(), mentions=(), folder: str | None = None) -> Spec:
    def build(path: Path, goods: Goods) -> None:
        path.mkdir(parents=True)
        fill(path)

    sub = {"calibration": "calibration", "dataset": "datasets"}[kind]
    return Spec(name, f"{sub}/{folder or name}", kind, stages, problem, build if fill else None, tuple(ok_in),
                tuple(mentions))


def specs() -> list[Spec]:
    """Every case, without touching the disk (test ids come from here)."""
    import onnx_models

    raw = lambda data: lambda p, g: _write(p, data(g) if callable(data) else data)  # noqa: E731
    truncated = lambda kind: raw(lambda g: g[kind][: len(g[kind]) // 2])  # noqa: E731
    cases = []
    for i, suffix in enumerate((".onnx", ".tflite", ".ms", ".mindir")):
        cases.append(_model(f"zero{suffix}", "zero-byte file", raw(b"")))
        cases.append(_model(f"random{suffix}", "4 KiB of random bytes", raw(_random(seed=i))))
    cases += [
        _model("random.pb", "random bytes named as a TensorFlow graph", raw(_random(seed=9))),
        *[_model(f"truncated.{k}", "a valid model cut at half its size", truncated(k))
          for k in ("onnx", "tflite", "ms", "mindir")],
        _model("download-page.onnx", "an HTML error page saved as a model",
               raw(b"<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>\n")),
        # valid ONNX that Lite's converter cannot take
        _model("custom-domain-op.onnx", "valid ONNX, one op from a custom domain (com.example.corpus)",
               lambda p, g: _one_node(p, [1, 1, 28, 28], domain="com.example.corpus", op="Frobnicate")),
        _model("string-op.onnx", "valid ONNX with string tensors (StringNormalizer): Lite has no strings",
               lambda p, g: onnx_models.unsupported_op(p)),
        _model("det-op.onnx", "onnxruntime runs it; Lite's converter lacks Det",
               lambda p, g: onnx_models.lite_rejects(p), ok_in=("eval", "live")),
        _model("huge-dims.onnx", "input of 1×1×(2³¹−1)×(2³¹−1): 2⁶² elements",
               lambda p, g: _one_node(p, [1, 1, 2**31 - 1, 2**31 - 1])),
        _model("negative-dims.onnx", "input with a negative dimension (1×1×−28×28)",
               lambda p, g: _one_node(p, [1, 1, -28, 28])),
        _model("future-opset.onnx", "opset 99: onnxruntime refuses it; Lite ignores opsets and converts its Relu",
               lambda p, g: _one_node(p, [1, 1, 28, 28], opset=99), ok_in=("import", "convert", "gui")),
        _model("short-initializer.onnx", "a weight tensor holding 10 of its 1,200 bytes",
               lambda p, g: _short_initializer(p)),
        _model("missing-external-data.onnx", "weights in an external data file that is missing",
               lambda p, g: _missing_external_data(p)),
        _model("empty-graph.onnx", "no nodes: the declared output is never produced", lambda p, g: _empty_graph(p)),
        _model("lite-crasher.onnx", "valid ONNX (Reshape of an empty tensor, allowzero) that kills Lite's "
               "converter with SIGSEGV", lambda p, g: _reshape_allowzero(p), stages=("import", "convert", "gui")),
        # the wrong suffix
        _model("onnx-named.tflite", "an ONNX model named .tflite", raw(lambda g: g["onnx"])),
        _model("tflite-named.onnx", "a TFLite model named .onnx (Lite's converter died of SIGSEGV on it)",
               raw(lambda g: g["tflite"])),
        _model("onnx-named.ms", "an ONNX model named .ms", raw(lambda g: g["onnx"])),
        _model("onnx-named.mindir", "an ONNX model named .mindir", raw(lambda g: g["onnx"])),
        _model("model.txt", "a valid ONNX model with an unknown suffix", raw(lambda g: g["onnx"])),
        _model("mindspore-export.mindir", "a MindSpore 2.10 MindIR (IR version 3): Lite 2.0 reads version 1",
               raw(lambda g: (DIGITS / "model.mindir").read_bytes()), stages=("import", "convert", "gui")),
        _model("net.prototxt", "a Caffe prototxt without its .caffemodel",
               raw(b'name: "net"\nlayer { name: "data" type: "Input" top: "data" }\n')),
        # not a regular file
        _model("folder.onnx", "a directory named like a model", lambda p, g: p.mkdir()),
        _model("fifo.onnx", "a named pipe (reading it would block)", lambda p, g: os.mkfifo(p)),
        _model("dangling-link.onnx", "a symbolic link to a missing file",
               lambda p, g: p.symlink_to(p.parent / "gone.onnx")),
        _model("missing.onnx", "no such file", None),
        # names and paths
        _model("nonutf8-garbage.onnx", "garbage under a non-UTF-8 file name (bytes ff fe)",
               raw(b"\x00\x01garbage" * 64), file=_NONUTF8_BAD, mentions=("nonutf8-", "-garbage.onnx"),
               stages=("import", "convert", "eval", "live", "deploy")),
        _model("nonutf8-valid.onnx", "a valid model under a non-UTF-8 (Latin-1) file name",
               raw(lambda g: g["onnx"]), file=_NONUTF8_OK, stages=("import", "convert", "eval"),
               ok_in=("import", "convert", "eval")),
        _model("name-255-valid.onnx", "a valid model under a 255-byte file name (NAME_MAX)",
               raw(lambda g: g["onnx"]), file=_LONG_OK, stages=("import", "convert", "eval"),
               ok_in=("import", "convert", "eval")),
        _model("name-255-garbage.onnx", "garbage under a 255-byte file name", raw(b"\x00garbage" * 32),
               file=_LONG_BAD, stages=("import", "convert", "eval", "live")),
        _model("name-256.onnx", "a file name one byte over NAME_MAX (cannot exist)", None, file=_TOO_LONG,
               stages=("import", "convert", "eval", "live")),
        _model("path-near-4096-valid.onnx", "a valid model under a path a few bytes short of PATH_MAX",
               lambda p, g: (_write(p, g["onnx"]), _sidecars(p.parent)), where=_deep, mentions=("deep-valid.onnx",),
               stages=("import", "convert", "eval"), ok_in=("import", "convert", "eval")),
    ]
    calib = ("convert", "deploy")
    cases += [
        _data("calibration", "calib-empty", "an empty folder", lambda f: None, calib),
        _data("calibration", "calib-missing", "no such folder", None, calib),
        Spec("calib-is-a-file", "calibration/calib-is-a-file", "calibration", calib, "a file instead of a folder",
             raw(b"1,2,3\n")),
        _data("calibration", "calib-non-images", "text and CSV files only",
              lambda f: (_write(f / "readme.txt", b"calibration\n"), _write(f / "x.csv", b"1,2\n")), calib),
        _data("calibration", "calib-corrupt-images", "files named .png/.jpg that hold garbage",
              lambda f: [_write(f / n, b"\x89PNG broken" * 3) for n in ("0.png", "1.png", "x.jpg")], calib),
        _data("calibration", "calib-wrong-shape-npy", ".npy arrays of 3×5 for a 1×1×28×28 input",
              lambda f: [np.save(f / f"{i}.npy", np.zeros((3, 5), np.float32)) for i in range(3)], calib),
        _data("calibration", "calib-pickled-npy", "a .npy holding a pickled object array",
              lambda f: np.save(f / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True), calib),
        _data("calibration", "calib-truncated-npy", "a .npy cut short (its header promises 784 floats)",
              lambda f: _write(f / "t.npy", _npy_bytes(np.zeros((1, 1, 28, 28), np.float32))[:200]), calib),
        _data("calibration", "calib-empty-npy", "a zero-byte .npy", lambda f: _write(f / "e.npy", b""), calib),
        _data("calibration", "calib-nan-npy", ".npy arrays full of NaN (Lite wrote a useless INT8 model)",
              lambda f: [np.save(f / f"{i}.npy", np.full((1, 1, 28, 28), np.nan, np.float32)) for i in range(4)],
              calib),
        _data("calibration", "calib-odd-size-images", "images of 7×3 gray and 300×40 colour: resized, accepted",
              lambda f: (_image(f / "a.png", 3, 7), _image(f / "b.png", 40, 300, 3, seed=1),
                         _image(f / "c.png", 28, 28, seed=2)), ("convert",), ok_in=("convert",)),
    ]
    data = ("eval", "deploy")
    cases += [
        _data("dataset", "data-empty", "an empty folder", lambda f: None, data),
        _data("dataset", "data-missing", "no such folder", None, data),
        Spec("data-is-a-file", "datasets/data-is-a-file", "dataset", data, "a file instead of a folder", raw(b"x")),
        _data("dataset", "data-one-class", "a single class folder", lambda f: digit_images(f, ["3"], 5), data),
        _data("dataset", "data-corrupt-images", "two classes whose .png files are garbage",
              lambda f: [_write(f / c / f"{i}.png", b"\x89PNG broken") for c in "01" for i in range(3)], data),
        _data("dataset", "data-no-images", "class folders holding text files only",
              lambda f: [_write(f / c / "notes.txt", b"hello\n") for c in "01"], data),
        _data("dataset", "data-one-image-per-class", "one image per class: no validation split",
              lambda f: digit_images(f, ["0", "1"], 1), data),
        _data("dataset", "data-extra-classes", "12 classes for a model with 10 outputs (top-1 was silently wrong)",
              lambda f: digit_images(f, [str(c) for c in range(12)], 3), data),
        _data("dataset", "data-some-corrupt", "one garbage image among good ones: skipped, accepted",
              lambda f: (digit_images(f, ["0", "1"], 6), _write(f / "1" / "broken.png", b"junk")),
              ("eval",), ok_in=("eval",)),
        _data("dataset", "data-nonutf8-name", "valid images under a non-UTF-8 folder name (OpenCV died of SIGSEGV)",
              lambda f: digit_images(f, ["0", "1"], 6), ("eval",), ok_in=("eval",),
              folder=os.fsdecode(b"data-nonutf8-\xff"), mentions=("data-nonutf8-",)),
    ]
    return cases


def _npy_bytes(arr: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _sidecars(folder: Path) -> None:
    """The digits sample's preprocess.json and labels.json, which eval, live and deploy read beside a model."""
    for side in ("preprocess.json", "labels.json"):
        shutil.copy(DIGITS / side, folder / side)


def make_corpus(out_dir: str | Path) -> list[Case]:
    """Write every case under out_dir and return them. Bad models sit beside the digits sample's
    preprocess.json and labels.json, so eval, live and deploy get as far as loading the model."""
    out = Path(out_dir)
    for sub in ("models", "calibration", "datasets", "good"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    _sidecars(out / "models")
    digit_images(out / EVAL_DATA, ["0", "1"], 3)
    goods = Goods(out / "good")
    cases = []
    for spec in specs():
        case = spec.case(out)
        if spec.build is not None:
            case.path.parent.mkdir(parents=True, exist_ok=True)
            spec.build(case.path, goods)
        cases.append(case)
    return cases


if __name__ == "__main__":
    made = make_corpus(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "out")  # git-ignored
    for c in made:
        accepted = f" (accepted in {','.join(c.ok_in)})" if c.ok_in else ""
        print(f"{c.kind:11} {c.name:28} {','.join(c.stages):38} {c.problem}{accepted}")
    print(f"{len(made)} cases")

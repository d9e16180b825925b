"""Model cards: what an imported model is and whether MindSpore Lite converts it.

The source file is read here by pure-Python readers (onnx, tflite, a small protobuf wire decoder
for Caffe and TF); Lite only touches it in child processes (convert to a temp .ms, then probe), so
a file that crashes Lite cannot take the app down.

Errors: a missing path, a directory or an unknown suffix raises ModelCardError (a ValueError):
there is nothing to describe. Any file with a known suffix gets a card however broken it is: the
reader's complaint goes in `reader_error`, Lite's own text in `lite_error`, `lite_converts` False.
"""
from __future__ import annotations

import hashlib
import math
import re
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from converters.formats import checked_format, source_format
from converters.protobuf import fields as message_fields
from jobs.state import JobState


class ModelCardError(ValueError):
    """The path is not a model file the importer knows (missing, a directory, unknown suffix)."""


# "Lite converts" row of the card, per converters.verify verdict
VERDICT_TEXT = {"matches": "yes, and matches", "close": "yes, and matches (close)",
                "WRONG": "**yes, but differs** (the .ms answers differently from the source model)",
                "unverified": "yes (not verified)"}

@dataclass
class ModelCard:
    path: str
    format: str  # a converters.formats source format name: onnx, tflite, caffe, tf, mindir
    size_bytes: int  # all files together (Caffe: prototxt + caffemodel)
    sha256: str  # of the model file itself
    files: list[dict]  # path, size_bytes, sha256 of each file read
    inputs: list[dict]  # name, shape, dtype, layout
    outputs: list[dict]
    io_source: str | None  # "onnx"/"tflite": read from the file; "lite": Lite's view after conversion
    params: int | None  # None: unknown for this format (see notes)
    flops: int | None  # estimate, 2 x multiply-accumulates (see notes)
    op_histogram: dict[str, int]
    lite_converts: bool  # converted to .ms, loaded and run once on zeros, all in child processes
    lite_error: str | None  # Lite's own text when it does not
    lite: dict | None  # convert_s, ms_size_bytes, load_ms, first_run_ms, inputs, outputs (the .ms view)
    probe_s: float  # wall time of the whole Lite check
    reader_error: str | None = None  # the source reader could not read the file
    notes: list[str] = field(default_factory=list)
    # converters.verify's verdict on the .ms against the source model's own runtime: matches, close,
    # WRONG (Lite converts it into a file that answers differently) or unverified; None when no .ms
    lite_verdict: str | None = None

    @property
    def lite_usable(self) -> bool:
        """Lite converts the model and the result does not answer differently from the source."""
        return self.lite_converts and self.lite_verdict != "WRONG"

    @property
    def ops_total(self) -> int:
        return sum(self.op_histogram.values())

    def to_json(self) -> dict:
        return asdict(self) | {"ops_total": self.ops_total}

    def to_markdown(self) -> str:
        def io_table(rows):
            lines = ["| name | shape | dtype | layout |", "|---|---|---|---|"]
            return lines + [f"| {r['name']} | {_shape(r['shape'])} | {r['dtype']} | {r['layout']} |"
                            for r in rows]

        lite = self.lite or {}
        if not self.lite_converts:
            verdict = "**no** (does not convert)"
        elif lite.get("load_ms") is None:  # dynamic input, no shape given: converted, not run
            verdict = (f"{VERDICT_TEXT.get(self.lite_verdict, 'yes')}: convert {lite['convert_s']:.2f} s, "
                       f".ms {lite['ms_size_bytes']:,} bytes; not run ({lite.get('not_run', 'dynamic input')})")
        else:
            verdict = (f"{VERDICT_TEXT.get(self.lite_verdict, 'yes')}: convert {lite['convert_s']:.2f} s, load "
                       f"{lite['load_ms']:.1f} ms, first run {lite['first_run_ms']:.2f} ms, "
                       f".ms {lite['ms_size_bytes']:,} bytes")
        name = Path(self.path).name
        out = [f"# Model card: {name}", "", f"| Model | {name} |", "|---|---|", f"| Format | {self.format} |",
               f"| Size | {self.size_bytes:,} bytes |", f"| SHA-256 | `{self.sha256}` |",
               f"| Parameters | {_count(self.params)} |", f"| FLOPs (estimate) | {_count(self.flops)} |",
               f"| Operators | {self.ops_total} |", f"| Lite converts | {verdict} |", ""]
        if self.reader_error:
            out += [f"Could not read the file: {self.reader_error}", ""]
        if lite.get("verification"):
            out += [f"Lite's .ms against the source model: {lite['verification']}", ""]
        if lite.get("repairs"):
            out += ["Rewritten before Lite read it (Lite 2.0 defects): "
                    + ", ".join(f"{k} ×{v}" for k, v in lite["repairs"].items()), ""]
        src = {"lite": " (as Lite sees them after conversion)"}.get(self.io_source or "", "")
        out += [f"## Inputs{src}", "", *io_table(self.inputs), "", f"## Outputs{src}", "", *io_table(self.outputs), ""]
        if self.lite and self.lite["inputs"] and self.io_source != "lite":
            out += ["## Inputs of the converted .ms", "", *io_table(self.lite["inputs"]), ""]
        if self.op_histogram:
            out += ["## Operator types", "", "| op | count |", "|---|---|",
                    *[f"| {op} | {n} |" for op, n in self.op_histogram.items()], ""]
        if self.lite_error:
            out += ["## Lite error", "", "```", self.lite_error, "```", ""]
        if self.notes:
            out += ["## Notes", "", *[f"- {n}" for n in self.notes], ""]
        return "\n".join(out)


def _is_dynamic(shape) -> bool:
    """A dimension that is a name or not positive: the model leaves it open."""
    return shape is not None and any(not isinstance(d, int) or d <= 0 for d in shape)


def _shape(shape) -> str:
    return "unknown" if shape is None else "×".join(str(d) for d in shape) or "scalar"


def _count(n: int | None) -> str:
    if n is None:
        return "unknown"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n:,} ({n / scale:.2f} {unit})"
    return f"{n:,}"


def _prod(dims) -> int:
    # Unknown or symbolic dims (batch "N", -1) count as 1: FLOPs are per single sample then.
    return math.prod(d if isinstance(d, int) and d > 0 else 1 for d in dims)


def _layout(shape, four_d: str) -> str:
    return four_d if shape is not None and len(shape) == 4 else "ND"


# -- ONNX --------------------------------------------------------------------------------------
def _check_names_are_text(graph) -> None:
    """protobuf hands over string fields that are not valid UTF-8 as bytes: a corrupt file."""
    names = [n.op_type for n in graph.node] + [n.domain for n in graph.node]
    names += [name for n in graph.node for name in (*n.input, *n.output)]
    names += [t.name for t in graph.initializer] + [v.name for v in (*graph.input, *graph.output, *graph.value_info)]
    names += [d.dim_param for v in (*graph.input, *graph.output) for d in v.type.tensor_type.shape.dim]
    if any(isinstance(name, bytes) for name in names):
        raise ValueError("a name or op type is not valid UTF-8: the file is corrupt")


def _read_onnx(path: Path, info: dict) -> None:
    import onnx
    from onnx import helper, shape_inference

    model = onnx.load(str(path), load_external_data=False)
    graph = model.graph
    _check_names_are_text(graph)
    inits = {t.name: list(t.dims) for t in graph.initializer}

    def tensor(vi) -> dict:
        t = vi.type.tensor_type
        shape = ([d.dim_value if d.HasField("dim_value") else (d.dim_param or -1) for d in t.shape.dim]
                 if t.HasField("shape") else None)  # None: the file does not say
        try:
            dtype = helper.tensor_dtype_to_np_dtype(t.elem_type).name
        except Exception:  # STRING, undefined, …: ONNX's own name
            dtype = onnx.TensorProto.DataType.Name(t.elem_type).lower()
        return {"name": vi.name, "shape": shape, "dtype": dtype, "layout": _layout(shape, "NCHW")}

    info["inputs"] = [tensor(i) for i in graph.input if i.name not in inits]
    info["outputs"] = [tensor(o) for o in graph.output]
    info["op_histogram"] = Counter(f"{n.domain}:{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type
                                   for n in graph.node)
    info["params"] = _onnx_params(graph)
    try:
        inferred = shape_inference.infer_shapes(model).graph
    except Exception as exc:
        info["notes"].append(f"ONNX shape inference failed ({exc}); FLOPs use declared shapes only")
        inferred = graph
    shapes = {vi.name: tensor(vi)["shape"] for vi in [*inferred.input, *inferred.value_info, *inferred.output]}
    shapes.update(inits)
    macs = 0
    for node in graph.node:
        s = [shapes.get(n) for n in (*node.input, *node.output)]
        x, w, y = (s[0], s[1], s[-1]) if len(s) >= 3 else (None, None, None)
        if node.op_type == "Conv" and w and y:
            macs += _prod(y) * _prod(w[1:])
        elif node.op_type == "ConvTranspose" and x and w:
            macs += _prod(x) * _prod(w[1:])
        elif node.op_type == "Gemm" and x and y:
            trans_a = any(a.name == "transA" and a.i for a in node.attribute)
            macs += _prod(y) * _prod(x[:1] if trans_a else x[1:2])
        elif node.op_type == "MatMul" and x and y:
            macs += _prod(y) * _prod(x[-1:])
    info["flops"] = 2 * macs
    info["notes"].append("FLOPs: 2 × multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul; "
                         "other ops are not counted, unknown dimensions count as 1")
    info["notes"].append("parameters: elements of the weights held in initializers, Constant nodes and "
                         "subgraphs (If/Loop bodies); int32/int64/bool shape, index and condition operands "
                         "excluded")
    info["io_source"] = "onnx"


_ONNX_INDEX_TYPES = {6, 7, 9}  # TensorProto INT32, INT64, BOOL: shapes, axes, indices, conditions


def _onnx_params(graph) -> int:
    """Weight elements of an ONNX graph: initializers and Constant nodes, here and in every subgraph
    (exporters put weights in Constant nodes, and control flow keeps its own in its bodies)."""
    from onnx import AttributeProto

    total = sum(math.prod(t.dims) for t in graph.initializer if t.data_type not in _ONNX_INDEX_TYPES)
    for node in graph.node:
        for attr in node.attribute:
            if node.op_type == "Constant" and attr.name == "value" and attr.t.data_type not in _ONNX_INDEX_TYPES:
                total += math.prod(attr.t.dims)
            elif node.op_type == "Constant" and attr.name == "value_floats":
                total += len(attr.floats)
            elif attr.type == AttributeProto.GRAPH:
                total += _onnx_params(attr.g)
            elif attr.type == AttributeProto.GRAPHS:
                total += sum(_onnx_params(g) for g in attr.graphs)
    return total


# -- TFLite ------------------------------------------------------------------------------------
_TFLITE_WEIGHT_MACS = {  # op -> MACs from (output shape, input shapes)
    "CONV_2D": lambda out, ins: _prod(out) * _prod(ins[1][1:]),  # filter O,H,W,I
    "DEPTHWISE_CONV_2D": lambda out, ins: _prod(out) * _prod(ins[1][1:3]),  # filter 1,H,W,O
    "FULLY_CONNECTED": lambda out, ins: _prod(out) * _prod(ins[1][1:]),  # weights units,K
    "TRANSPOSE_CONV": lambda out, ins: _prod(ins[2]) * _prod(ins[1][:3]),  # filter O,H,W,I; input 3rd
    "CONV_3D": lambda out, ins: _prod(out) * _prod(ins[1][:4]),  # filter D,H,W,I,O
    "BATCH_MATMUL": lambda out, ins: _prod(out) * _prod(ins[0][-1:]),  # adj_x not read: an estimate
}


def _read_tflite(path: Path, info: dict) -> None:
    import tflite

    buf = path.read_bytes()
    if len(buf) < 8 or not tflite.Model.ModelBufferHasIdentifier(buf, 0):
        raise ValueError("no TFL3 identifier: not a TFLite flatbuffer")
    model = tflite.Model.GetRootAs(buf, 0)
    types = {v: k.lower() for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
    ops: list[str] = []
    for j in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(j)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())  # the schema's own rule
        custom = code.CustomCode()
        ops.append(custom.decode(errors="replace") if custom
                   else tflite.BUILTIN_OPCODE2NAME.get(builtin, f"BUILTIN_{builtin}"))
    histogram, params, macs = Counter(), 0, 0
    for g in range(model.SubgraphsLength()):
        sub = model.Subgraphs(g)
        shapes = []
        for i in range(sub.TensorsLength()):
            t = sub.Tensors(i)
            sig = t.ShapeSignatureLength()  # -1 where the dim is dynamic
            shape = ([t.ShapeSignature(k) for k in range(sig)] if sig
                     else [t.Shape(k) for k in range(t.ShapeLength())])
            shapes.append(shape)
            b = model.Buffers(t.Buffer()) if 0 < t.Buffer() < model.BuffersLength() else None
            quantized = t.Quantization() is not None and t.Quantization().ScaleLength() > 0
            # Constant tensors are weights, except int shape/axis/padding operands.
            is_int = types.get(t.Type()) in ("int32", "int64")
            if b is not None and (b.DataLength() or b.Size()) and (quantized or not is_int):
                params += _prod(shape)
        for j in range(sub.OperatorsLength()):
            op = sub.Operators(j)
            name = ops[op.OpcodeIndex()] if op.OpcodeIndex() < len(ops) else "?"
            histogram[name] += 1
            # -1 marks an omitted optional input
            ins = [shapes[k] if 0 <= k < len(shapes) else [] for k in map(op.Inputs, range(op.InputsLength()))]
            outs = [shapes[k] for k in map(op.Outputs, range(op.OutputsLength())) if 0 <= k < len(shapes)]
            if name in _TFLITE_WEIGHT_MACS and outs and len(ins) >= 2:
                macs += _TFLITE_WEIGHT_MACS[name](outs[0], ins + [[]])
        if g == 0:
            def tensor(k: int) -> dict:
                t = sub.Tensors(k)
                return {"name": (t.Name() or b"").decode(errors="replace"), "shape": shapes[k],
                        "dtype": types.get(t.Type(), str(t.Type())), "layout": _layout(shapes[k], "NHWC")}

            info["inputs"] = [tensor(sub.Inputs(k)) for k in range(sub.InputsLength())]
            info["outputs"] = [tensor(sub.Outputs(k)) for k in range(sub.OutputsLength())]
    info.update(op_histogram=histogram, params=params, flops=2 * macs, io_source="tflite")
    info["notes"].append("parameters: elements of constant tensors (int32/int64 shape operands excluded); "
                         "FLOPs: 2 × multiply-accumulates of convolutions, fully-connected and batch matmul")


# -- Caffe and TensorFlow: protobuf read by field number (no caffe/tensorflow packages needed) ------
def _caffe_layer_types(text: str) -> Counter:
    """Layer types of a prototxt: `type:` directly inside a top-level layer/layers block."""
    text = re.sub(r"#[^\n]*", "", text)
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|[{}]|[^\s{}"]+', text)
    stack, types = [], Counter()
    for k, tok in enumerate(tokens):
        if tok == "{":
            stack.append(tokens[k - 1].rstrip(":") if k else "")
        elif tok == "}":
            if not stack:
                raise ValueError("unbalanced braces: not a Caffe prototxt")
            stack.pop()
        elif tok == "type:" and len(stack) == 1 and stack[0] in ("layer", "layers") and k + 1 < len(tokens):
            types[tokens[k + 1].strip('"')] += 1
    if stack:
        raise ValueError("unbalanced braces: not a Caffe prototxt")
    return types


def _read_caffe(path: Path, info: dict) -> None:
    info["op_histogram"] = _caffe_layer_types(path.read_text(encoding="utf-8", errors="replace"))
    if not info["op_histogram"]:
        raise ValueError("no layers with a type: not a Caffe prototxt")
    weights = path.with_suffix(".caffemodel")
    if not weights.is_file():
        info["notes"].append(f"no {weights.name} next to the prototxt: parameters unknown")
        return
    params = 0
    for num, _, layer in message_fields(memoryview(weights.read_bytes())):
        if num in (100, 2):  # NetParameter.layer (LayerParameter) / .layers (V1LayerParameter)
            for bnum, _, blob in message_fields(layer):
                if bnum == (7 if num == 100 else 6):  # blobs (BlobProto)
                    for fnum, wire, value in message_fields(blob):
                        if fnum in (5, 8):  # data (float) / double_data, packed or not
                            params += len(value) // (4 if fnum == 5 else 8) if wire == 2 else 1
    info["params"] = params
    info["notes"].append("parameters: elements of the blobs in the .caffemodel; FLOPs are not estimated "
                         "for Caffe; inputs and outputs are Lite's view after conversion")


_TF_FLOAT_TYPES = {1, 2, 14, 19}  # DT_FLOAT, DT_DOUBLE, DT_BFLOAT16, DT_HALF


def _tf_const_elements(node) -> int:
    """Element count of a float Const node's `value` tensor (0 for anything else)."""
    for num, _, entry in message_fields(node):
        if num != 5:  # NodeDef.attr map entries
            continue
        kv = {k: v for k, _, v in message_fields(entry)}
        if bytes(kv.get(1, b"")) != b"value":
            continue
        tensor = {k: v for k, _, v in message_fields(kv.get(2, b"")) if k == 8}.get(8)  # AttrValue.tensor
        if tensor is None:
            return 0
        tensor_fields = {k: v for k, _, v in message_fields(tensor)}
        if tensor_fields.get(1) not in _TF_FLOAT_TYPES:
            return 0
        shape = tensor_fields.get(2, b"")  # TensorShapeProto: dim (2) -> size (1)
        return math.prod(dict((k, v) for k, _, v in message_fields(d)).get(1, 0) for k, _, d in message_fields(shape) if k == 2)
    return 0


def _read_tf(path: Path, info: dict) -> None:
    histogram, params = Counter(), 0
    for num, wire, node in message_fields(memoryview(path.read_bytes())):
        if num == 1 and wire == 2:  # GraphDef.node
            op = next((bytes(v).decode() for k, _, v in message_fields(node) if k == 2), "")
            histogram[op] += 1
            params += _tf_const_elements(node) if op == "Const" else 0
    if not histogram or "" in histogram:
        raise ValueError("no operators found: not a TensorFlow GraphDef")
    info.update(op_histogram=histogram, params=params)
    info["notes"].append("parameters: elements of floating-point Const tensors; FLOPs are not estimated "
                         "for TF graphs; inputs and outputs are Lite's view after conversion")


READERS = {"onnx": _read_onnx, "tflite": _read_tflite, "caffe": _read_caffe, "tf": _read_tf}


# -- the card ------------------------------------------------------------------------------------
def _file_entry(path: Path) -> dict:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    return {"path": str(path), "size_bytes": path.stat().st_size, "sha256": digest}


def _lite_text(exc) -> str:
    """Lite's error text: the converter logs the root cause first and the fallout after it,
    so keep the first messages as well as the last."""
    from converters.lite.errors import lite_errors

    errors = lite_errors(getattr(exc, "log", ""), limit=1000)
    if not errors:
        return str(exc)
    if len(errors) > 6:
        errors = errors[:4] + ["…"] + errors[-2:]
    return "\n".join([str(exc).splitlines()[0], *(f"  Lite: {e}" if e != "…" else "  …" for e in errors)])


def _lite_check(path: Path, timeout: float, state: JobState | None, input_shapes: dict | None = None,
                open_inputs: list[str] = ()) -> tuple[dict | None, str | None]:
    """Convert to a temp .ms and probe it, each in a child process; (facts, None) or (None, Lite's text).
    open_inputs: inputs with a dimension still unknown after input_shapes — the .ms is then not run
    (there is no shape to run it at), and the facts say so."""
    from converters.lite import LiteError, convert, probe

    def io(items):
        return [{"name": t["name"], "shape": t["shape"], "dtype": t["dtype"], "layout": t["format"]} for t in items]

    with tempfile.TemporaryDirectory(prefix="edge-studio-card-") as tmp:
        try:  # a WRONG file is kept here: the card reports the verdict rather than failing
            # a dynamic input cannot run: nothing to verify (not "WRONG"), the card says it was not run
            done = convert(path, Path(tmp) / "card.ms", timeout=timeout, state=state, accept_mismatch=True,
                           input_shapes=input_shapes or None, verify=not open_inputs)
            seen = None if open_inputs else probe(done.path, timeout=timeout)
        except LiteError as exc:
            return None, _lite_text(exc)
    check = done.verification
    if seen is None:
        return {"convert_s": round(done.seconds, 3), "ms_size_bytes": done.size_bytes, "load_ms": None,
                "first_run_ms": None, "inputs": [], "outputs": [], "repairs": done.repairs,
                "not_run": f"dynamic input {', '.join(map(repr, open_inputs))}: give --input-shape NAME:D0,D1,… "
                           "to load and run it",
                "verdict": check.verdict if check else None, "verification": check.summary() if check else None}, None
    return {"convert_s": round(done.seconds, 3), "ms_size_bytes": done.size_bytes,
            "load_ms": round(seen.load_ms, 2), "first_run_ms": round(seen.first_run_ms, 3),
            "inputs": io(seen.inputs), "outputs": io(seen.outputs), "repairs": done.repairs,
            "verdict": check.verdict if check else None, "verification": check.summary() if check else None}, None


def make_card(path: str | Path, timeout: float = 300.0, state: JobState | None = None,
              input_shapes: dict[str, list[int]] | None = None) -> ModelCard:
    """Describe the model at `path` (.onnx, .tflite, .prototxt/.caffemodel, .pb, .mindir) and check
    that Lite converts it. input_shapes fixes dynamic input dimensions for the Lite check (the card
    still describes the inputs as the file declares them). Raises ModelCardError only when there is
    no model file to describe."""
    path = Path(path)
    if path.suffix.lower() == ".caffemodel":  # either half of a Caffe pair names the model
        if not path.with_suffix(".prototxt").is_file():
            raise ModelCardError(f"{path}: a Caffe model needs its {path.stem}.prototxt next to it")
        path = path.with_suffix(".prototxt")
    fmt = checked_format(path, source_format, ModelCardError)
    files = [_file_entry(p) for p in (path, path.with_suffix(fmt.weight_suffix) if fmt.weight_suffix else None)
             if p is not None and p.is_file()]
    info: dict = {"inputs": [], "outputs": [], "io_source": None, "params": None, "flops": None,
                  "op_histogram": Counter(), "notes": [], "reader_error": None}
    reader = READERS.get(fmt.name)
    if files[0]["size_bytes"] == 0:
        info["reader_error"] = "the file is empty"
    elif reader is None:
        info["notes"].append(f"{fmt.name} files are described by Lite only (no source reader)")
    else:
        try:
            found: dict = {"notes": []}  # merged only when the whole file was read
            reader(path, found)
            info.update(found)
        except ImportError as exc:  # e.g. tflite not installed: Lite's view stands in
            info["notes"].append(f"no {fmt.name} reader ({exc}): parameters, FLOPs and operators unknown")
        except Exception as exc:  # corrupt input makes readers fail in many ways: report, do not crash
            info["reader_error"] = f"not a readable {fmt.name} model ({exc or type(exc).__name__})"
    started = time.perf_counter()
    shapes = input_shapes or {}
    unknown = [n for n in shapes if info["inputs"] and n not in {i["name"] for i in info["inputs"]}]
    if unknown:
        raise ModelCardError(f"{path.name} has no input {', '.join(map(repr, unknown))} "
                             f"(its inputs: {', '.join(repr(i['name']) for i in info['inputs'])})")
    open_inputs = [i["name"] for i in info["inputs"] if i["name"] not in shapes and _is_dynamic(i["shape"])]
    if open_inputs:
        info["notes"].append(f"dynamic input {', '.join(map(repr, open_inputs))}: the card shows its dimensions "
                             "as the file declares them (a name or -1 is left open)")
    lite, error = _lite_check(path, timeout, state, shapes, open_inputs)
    probe_s = time.perf_counter() - started
    if lite and not info["inputs"]:  # no reader (or it failed): Lite's view is all we have
        info.update(inputs=lite["inputs"], outputs=lite["outputs"], io_source="lite")
    histogram = dict(sorted(info["op_histogram"].items(), key=lambda kv: (-kv[1], kv[0])))
    return ModelCard(str(path), fmt.name, sum(f["size_bytes"] for f in files), files[0]["sha256"], files,
                     info["inputs"], info["outputs"], info["io_source"], info["params"], info["flops"], histogram,
                     lite is not None, error, lite, round(probe_s, 3), info["reader_error"], info["notes"],
                     (lite or {}).get("verdict"))

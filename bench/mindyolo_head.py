"""A YOLO head from MindYOLO (PyPI), random weights, exported to ONNX: does the live yolov8 layout parse it?

    python bench/mindyolo_head.py

No pretrained YOLO weights can be fetched, so this shows the layout, not detections: MindYOLO's
real YOLOv8Head (DFL, anchors, strides 8/16/32, 3 classes) on a stand-in backbone of three strided
convs, exported by MindSpore to ONNX (this process: MindSpore only, no Lite), then run by
`edge-studio live --kind yolov8` on the synthetic objects scene in a child process. MindYOLO's head
gives rows last, [1, N, 4+C]; Ultralytics exports [1, 4+C, N]; the decoder reads both.
The mindyolo wheel (pure Python) is fetched with pip download --no-deps into .cache/model-zoo/.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / ".cache" / "model-zoo" / "mindyolo-0.5.0"


def mindyolo_on_path() -> None:
    if not (FOLDER / "mindyolo").is_dir():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                            "mindyolo==0.5.0", "-d", tmp], check=True)
            with zipfile.ZipFile(next(Path(tmp).glob("*.whl"))) as zf:
                zf.extractall(FOLDER)
    sys.path.insert(0, str(FOLDER))


def export(path: Path, classes: int = 3, size: int = 320) -> Path:
    import mindspore as ms
    import numpy as np
    from mindspore import nn
    from mindyolo.models.heads.yolov8_head import YOLOv8Head

    class StandIn(nn.Cell):
        def __init__(self) -> None:
            super().__init__()
            self.c8 = nn.Conv2d(3, 16, 3, 8, pad_mode="same")
            self.c16 = nn.Conv2d(16, 32, 3, 2, pad_mode="same")
            self.c32 = nn.Conv2d(32, 64, 3, 2, pad_mode="same")
            self.head = YOLOv8Head(nc=classes, reg_max=16, stride=(8, 16, 32), ch=(16, 32, 64))

        def construct(self, x):
            a = self.c8(x)
            b = self.c16(a)
            return self.head((a, b, self.c32(b)))[0]

    ms.set_context(mode=ms.GRAPH_MODE)
    net = StandIn()
    net.set_train(False)
    ms.export(net, ms.Tensor(np.zeros((1, 3, size, size), np.float32)), file_name=str(path.with_suffix("")),
              file_format="ONNX")
    return path


def main() -> int:
    mindyolo_on_path()
    with tempfile.TemporaryDirectory() as tmp:
        model = export(Path(tmp) / "mindyolo_v8_head.onnx")
        labels = Path(tmp) / "labels.txt"
        labels.write_text("red\ngreen\nblue\n")
        done = subprocess.run([sys.executable, "-m", "app", "live", "--model", str(model), "--kind", "yolov8",
                               "--labels", str(labels), "--letterbox", "--source", "synthetic:objects",
                               "--source-fps", "0", "--frames", "10", "--json"], capture_output=True, text=True,
                              cwd=ROOT, timeout=600)
    if done.returncode != 0:
        print(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
        return 1
    entry = json.loads(done.stdout)["models"][0]
    print(json.dumps({"processed": entry["processed"], "error": entry["error"], "runtime": entry["runtime"],
                      "vs_truth (random weights)": entry.get("vs_truth")}, indent=1))
    return 0 if entry["processed"] == 10 and entry["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())

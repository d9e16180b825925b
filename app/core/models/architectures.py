"""The networks `train` can build: one table, name → builder, input size, notes.

The table itself imports nothing heavy (the CLI and the GUI list it without MindSpore); each builder
imports MindSpore (or mindcv) when it is called, inside the training child. A builder takes
(channels, classes, size) and returns an untrained mindspore.nn.Cell for N×channels×size×size input.

Model-zoo backbones come from mindcv (PyPI), trained from scratch (no pretrained weights: nothing is
downloaded). At these small inputs they are far slower per step than the small CNN on a CPU (their
depthwise and 1×1 convolutions run through oneDNN's generic GEMM path on plain NCHW), so their notes
say so; bench/training.py measures each one.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_ARCH = "small_cnn"


@dataclass(frozen=True)
class Architecture:
    name: str
    title: str
    build: Callable[[int, int, int], object]  # (channels, classes, size) -> mindspore.nn.Cell
    input_size: int  # default square input for folder / capture datasets
    digits_size: int  # digits (8×8 originals) are resized to this
    min_size: int  # smaller inputs collapse the feature map to nothing
    notes: str
    source: str = "edge-studio"
    learning_rate: float = 3e-3  # Adam's peak rate (cosine decay)
    # Epochs not counted against early stopping's patience: BatchNorm backbones score at chance on the
    # held-out split for the first epochs, while their running statistics trail the moving weights.
    warmup_epochs: int = 0


def _small_cnn(channels: int, classes: int, size: int):
    """Four 3×3 conv+BatchNorm+ReLU blocks (two at stride 2), a global max over positions, one dense
    layer: ~66 k parameters, for any input size ≥ 8.

    Chosen by measurement (docs/pipeline.md "Training speed"): stride-2 convs instead of max-pooling,
    because MindSpore's CPU MaxPool (oneDNN's plain-NCHW pooling) cost more per step than the convs;
    BatchNorm, which halves the epochs to 97 % on digits; and the global max, which makes the net
    indifferent to where an object sits, so a capture dataset of 3 × 100 images reaches 95 % held-out
    where a flatten+dense head stayed near 60-80 %."""
    from mindspore import nn

    def block(cin: int, cout: int, stride: int) -> list:
        return [nn.Conv2d(cin, cout, 3, stride=stride, pad_mode="pad", padding=1, has_bias=False),
                nn.BatchNorm2d(cout, momentum=0.8), nn.ReLU()]  # 0.8: tiny datasets take few steps

    class SmallCNN(nn.Cell):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.SequentialCell(*block(channels, 32, 2), *block(32, 32, 1),
                                              *block(32, 64, 2), *block(64, 64, 1))
            self.head = nn.Dense(64, classes)

        def construct(self, x):
            return self.head(self.features(x).max(axis=(2, 3)))

    return SmallCNN()


def _mindcv(model_name: str, bn_momentum: float | None = None) -> Callable[[int, int, int], object]:
    def build(channels: int, classes: int, size: int):
        try:
            from mindcv.models import create_model
        except ImportError:
            raise RuntimeError(f"{model_name} comes from mindcv, which is not installed "
                               "(pip install mindcv==0.3.0)") from None

        from app.core.models.onnx_export import numpy2_safe_init

        numpy2_safe_init()  # some mindcv constructors trip over a NumPy-2 issue in MindSpore 2.10 otherwise
        net = create_model(model_name, num_classes=classes, in_channels=channels, pretrained=False)
        if bn_momentum is not None:
            _set_bn_momentum(net, bn_momentum)
        return net

    return build


def _set_bn_momentum(net, momentum: float) -> None:
    """Give every BatchNorm of a built net this momentum (MindSpore's sense: the share of the old
    running statistics kept at each step). mindcv's 0.9 suits ImageNet's thousands of steps an epoch;
    a capture folder gives 5-10, so the running statistics trailed the weights and the held-out split
    scored at chance for 6 epochs (lfw_subset, MobileNetV3: 50 % until epoch 7 at 0.9; 87.5 % at
    epoch 2 and 95 % at epoch 4 at 0.5; docs/pipeline.md)."""
    from mindspore import nn, ops

    for _, cell in net.cells_and_names():
        if isinstance(cell, nn.BatchNorm2d):
            cell.momentum = 1.0 - momentum
            cell.bn_train = ops.BatchNorm(is_training=True, epsilon=cell.eps, momentum=1.0 - momentum,
                                          data_format=cell.format)


BN_MOMENTUM = 0.5  # mindcv backbones' BatchNorm momentum for small datasets (_set_bn_momentum)
ZOO_WARMUP = 3  # their first epochs are not counted against early stopping's patience

ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in [
    Architecture("small_cnn", "Small CNN (66 k parameters)", _small_cnn, input_size=48, digits_size=28,
                 min_size=8, notes="fast: seconds per run on a 2-core CPU; the default"),
    Architecture("mobilenet_v3_small", "MobileNetV3-Small 0.75 (mindcv)",
                 _mindcv("mobilenet_v3_small_075", BN_MOMENTUM),
                 input_size=64, digits_size=32, min_size=32, source="mindcv", warmup_epochs=ZOO_WARMUP,
                 notes="0.9 M parameters; HSwish is rewritten for ONNX; depthwise convs are slow on CPU"),
    Architecture("shufflenet_v2", "ShuffleNetV2 0.5× (mindcv)",
                 _mindcv("shufflenet_v2_x0_5", BN_MOMENTUM),
                 input_size=64, digits_size=32, min_size=32, source="mindcv", warmup_epochs=ZOO_WARMUP,
                 notes="0.35 M parameters; channel shuffle and split; depthwise convs are slow on CPU"),
    Architecture("resnet18", "ResNet-18 (mindcv)", _mindcv("resnet18", BN_MOMENTUM),
                 input_size=64, digits_size=32, min_size=32, source="mindcv", warmup_epochs=ZOO_WARMUP,
                 notes="11 M parameters: minutes per epoch on a 2-core CPU, for comparison"),
]}


def get_architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHITECTURES)}") from None


def describe_in_child(params: dict, state) -> dict:
    """In a MindSpore child: build each named architecture (params["archs"], default all) for
    params["channels"] × params["size"] inputs and params["classes"] classes, run one forward pass.
    Returns {name: {"parameters", "output_shape"}} or {name: {"error"}}: the table is checked against
    what the builders really make."""
    import numpy as np

    from app.core.files import enter_mindspore_scratch
    from app.core.models.mindspore_cpu import configure_threads, prepare_environment

    enter_mindspore_scratch(params.get("scratch"))
    prepare_environment()
    import mindspore as ms

    from app.core.models.onnx_export import numpy2_safe_init

    configure_threads()
    ms.set_context(mode=ms.PYNATIVE_MODE)  # one forward: no graph to compile
    numpy2_safe_init()  # else the first reduction of the process fails once under NumPy 2
    channels, classes = params.get("channels", 3), params.get("classes", 3)
    found = {}
    for name in params.get("archs") or list(ARCHITECTURES):
        state.check()
        arch = get_architecture(name)
        size = params.get("size") or arch.min_size
        try:
            net = arch.build(channels, classes, size)
            net.set_train(False)
            out = net(ms.Tensor(np.zeros((2, channels, size, size), np.float32)))
            found[name] = {"parameters": int(sum(p.size for p in net.trainable_params())),
                           "output_shape": list(out.shape)}
        except Exception as exc:  # reported per architecture, so one broken builder names itself
            found[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    return found

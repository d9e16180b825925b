"""The MindSpore Lite 2.0 bridge: real converter and runtime from Python 3.11 via our C++ shim."""
from converters.lite.convert import ConvertResult, QuantConfig, convert, probe
from converters.lite.errors import LiteError
from converters.lite.model import LiteModel, OpTime, Profile, TensorSpec
from converters.lite.probe import ProbeResult


def bridge_version() -> str:
    """Lite's version (loads the runtime shim in this process). The 2.0.0 libraries report an
    empty string, so the version of the wheel they came from stands in."""
    from converters.lite import native, paths

    return native.runtime().es_version().decode() or paths.LITE_VERSION


__all__ = ["convert", "ConvertResult", "QuantConfig", "LiteError", "LiteModel", "OpTime", "Profile",
           "TensorSpec", "probe", "ProbeResult", "bridge_version"]

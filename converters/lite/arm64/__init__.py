"""The device tier on a real ARM64 MindSpore Lite 2.0 runtime: the aarch64 libraries from PyPI,
our own runner (runner.cpp) cross-compiled against them, run under qemu-user here or natively
on a board."""

"""CPU settings for a MindSpore process, found by profiling training on a 2-core AVX-512 machine.

1. oneDNN ISA. MindSpore 2.10 hands oneDNN 3.10 plain NCHW tensors with fixed OIHW weights. On an
   AVX-512 CPU oneDNN then picks `jit_uni_ncsp:conv+ref:any` for the forward and backward-data
   convolutions: its *reference* (scalar) kernel, ~90-200 ms for one 28×28 batch-32 conv layer.
   Capped at AVX2 it picks `x64:gemm:jit` for the same layers: ~1-2 ms (measured with
   ONEDNN_VERBOSE=1). The cap must be in the environment before oneDNN's first primitive.
2. Threads. MindSpore's CPU kernels default to 25 threads and its runtime to 5 dispatch threads;
   on a 2-core machine they fight over the cores. Use one kernel thread per usable core.

Call prepare_environment() before `import mindspore`, configure_threads() right after it.
"""
from __future__ import annotations

import os

ISA_CAP = "AVX2"


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def prepare_environment() -> None:
    """Before importing mindspore. A value the user set (ONEDNN_MAX_CPU_ISA) wins."""
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", ISA_CAP)


def configure_threads(threads: int | None = None) -> int:
    """Kernel threads = usable cores (or `threads`), one dispatch thread. Returns the kernel threads."""
    import mindspore as ms
    from mindspore._c_expression import RuntimeConf

    threads = threads or usable_cores()
    conf = RuntimeConf.get_instance()
    ms.set_device("CPU")
    if not conf.is_op_threads_num_configured():  # MindSpore refuses a second setting
        ms.device_context.cpu.op_tuning.threads_num(threads)
    if not conf.is_dispatch_threads_num_configured():
        ms.runtime.dispatch_threads_num(1)
    return threads

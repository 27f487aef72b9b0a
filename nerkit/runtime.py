"""Process-wide settings that change speed or memory, applied by both training scripts before any compute.

oneDNN (PyTorch's CPU kernels) keeps a compiled kernel for every input shape it meets, up to 1,024 of them.
Batches cut by a sub-word budget have a new length almost every step, so that cache grows the process by
hundreds of MB for no speed: :func:`limit_kernel_caches` keeps 8. The variable is read when oneDNN first runs,
so setting it at the start of ``main`` is early enough; a value the user set is kept.

On a CPU with native bf16 instructions (avx512_bf16, AMX), bf16 autocast trains and evaluates faster than fp32
at the same F1, so both scripts use it there unless the user chose a precision (``--fp16``/``--bf16``,
``--mixed_precision``, ``accelerate config``) or passed ``--no_cpu_bf16``. Without those instructions bf16 is
emulated and slower, so fp32 stays.

glibc's malloc gives freed memory back to the kernel (big blocks are mmapped and unmapped one by one; the top of
the heap is trimmed once twice the largest block lies free), and the next batch faults the same pages in again,
zeroed. :func:`keep_freed_memory` asks glibc to keep what it freed for the next batch (``mallopt``, the calls
behind the ``MALLOC_*_`` variables). It is skipped on other C libraries and when the user set any of those
variables or a ``glibc.malloc`` tunable; ``--no_keep_freed_memory`` turns it off.

What each of these was measured to save: benchmarks/README.md, "Measurements behind the defaults".
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform

logger = logging.getLogger(__name__)

ONEDNN_CACHE_VARIABLE = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"
ONEDNN_CACHE_CAPACITY = "8"


def limit_kernel_caches() -> None:
    """Keep oneDNN's per-shape kernel cache small (see the module docstring), unless the user chose a size."""
    os.environ.setdefault(ONEDNN_CACHE_VARIABLE, ONEDNN_CACHE_CAPACITY)


# mallopt(3) parameters (glibc's malloc.h) and the values used: blocks up to 32 MB (glibc's largest threshold)
# come from the heap, the heap is trimmed only past 1 GB free, and grows 256 MB at a time (reserved, not touched).
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
KEPT_MEMORY_SETTINGS = ((M_MMAP_THRESHOLD, 32 * 2**20), (M_TRIM_THRESHOLD, 2**30), (M_TOP_PAD, 256 * 2**20))
MALLOC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse (see the module docstring). Returns whether it did: not
    on other C libraries, nor when the user set any ``MALLOC_*_`` threshold variable or ``glibc.malloc`` tunable
    (theirs is kept)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ for name in MALLOC_VARIABLES) or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return all(mallopt(parameter, value) == 1 for parameter, value in KEPT_MEMORY_SETTINGS)


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (Linux ``/proc/cpuinfo`` flags avx512_bf16 or amx_bf16)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            flags = set(stream.read().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def runs_on_cpu(use_cpu: bool) -> bool:
    """Whether Accelerate will put the model on the CPU (asked for, or no GPU/accelerator present)."""
    import torch

    if use_cpu:
        return True
    xpu = getattr(torch, "xpu", None)
    return not (torch.cuda.is_available() or torch.backends.mps.is_available() or (xpu is not None and xpu.is_available()))


def use_cpu_bf16(wanted: bool, on_cpu: bool, precision_chosen: bool) -> bool:
    """Whether to turn bf16 autocast on by default (see the module docstring)."""
    if wanted and on_cpu and not precision_chosen and cpu_has_bf16():
        logger.info("bf16 autocast on: this CPU has bf16 instructions (--no_cpu_bf16 keeps fp32)")
        return True
    return False

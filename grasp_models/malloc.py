"""glibc malloc settings for CPU training.

Training at 300 px allocates and frees many tensors of a few MB each step. With glibc's
defaults those above the dynamic mmap threshold are mapped and unmapped every time, and
the heap top is trimmed back to the system after each free, so a large share of a CPU
training run is spent in the kernel (page faults). :func:`tune_malloc` keeps such blocks
on the heap and the heap from being trimmed: the same as starting the process with
``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=<2 GiB> MALLOC_TOP_PAD_=268435456``.
The cost is memory: freed memory stays with the process (it is reused by the next step).
Numbers: ``benchmarks/planar_train_speed.py --compare malloc`` (docs/BENCHMARKS.md). No arithmetic changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

#: mallopt parameter -> value; 32 MiB is glibc's largest mmap threshold on 64-bit.
SETTINGS = {M_MMAP_THRESHOLD: 32 << 20, M_TRIM_THRESHOLD: 2**31 - 1, M_TOP_PAD: 256 << 20}


def tune_malloc() -> bool:
    """Apply :data:`SETTINGS` with glibc's ``mallopt``; True if every call succeeded.
    Elsewhere (macOS, musl, Windows) it does nothing and returns False."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in SETTINGS.items())

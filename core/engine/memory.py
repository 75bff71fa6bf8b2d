"""The C library's allocator, told to keep the memory a training step frees for the next step.

Each training step allocates and frees the same activations (one of TinyVGG's 28x28 layers is 6 MB at a
batch of 128). By default glibc hands blocks that large back to the kernel as they are freed, and the
next step faults them in again page by page: about 2,500 page faults and 4 ms of kernel time per TinyVGG
step on 2 CPU cores, 3-4% of a run (docs/results.md). PyTorch's CPU tuning guide gives the same advice
(or an allocator such as jemalloc); this way needs nothing installed.
"""

from __future__ import annotations

import ctypes
import sys

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

# Blocks below this come from the heap, which keeps them once freed (32 MB: glibc's largest on 64 bits).
MMAP_THRESHOLD = 32 << 20
# Free memory at the top of the heap is returned to the kernel only beyond this.
TRIM_THRESHOLD = 1 << 30


def keep_freed_memory() -> bool:
    """Whether glibc now keeps freed blocks for reuse (False on a system without glibc's mallopt, where the
    run goes on as before). Process-wide and lasting: the memory a run frees stays with the process, up to
    about its peak use."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))

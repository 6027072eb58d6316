"""Keep NumPy's large temporaries on the heap, where their pages stay mapped between training steps.

A training step allocates and frees the same large arrays (activations, im2col windows, gradients) every step.
glibc serves each allocation above its mmap threshold (128 KB at start-up) with a fresh ``mmap`` and unmaps it on
``free``, so the next step touches brand-new pages and takes one page fault per 4 KB: measured on W2 (LeNet-5,
batch 64) that is 3,200 faults and 7 ms of a 17 ms step, and on W3 about 6,400 faults per step. glibc raises the
threshold by itself once a large mmapped block is freed, which is why a process that once freed a big array
(a benchmark that first measured matmul peak, say) runs in the fast mode and a fresh training script does not.

``tune()`` sets both thresholds up front: blocks up to 32 MB (glibc's ceiling) come from the heap, and the free
heap top is never trimmed. Any finite trim threshold is a step size above which the whole step is returned and
faulted back in: with glibc's own 64 MB (twice the mmap threshold), a ResNet-8 step at batch 64, which frees
~100 MB at the heap top, took 21,000 page faults and 117-128 ms against 1 fault and 79-83 ms untrimmed (2-core
Zen 4; whether the top was free to trim varied from process to process, so runs were bimodal). Peak memory is
unchanged (the same arrays are live at the peak); the process keeps its peak heap after it frees it, as a
training loop that reaches the peak every step needs anyway.

It only acts on Linux with glibc, does nothing when the user already set ``MALLOC_MMAP_THRESHOLD_`` or
``MALLOC_TRIM_THRESHOLD_`` themselves, and is switched off with ``NERVE_TUNE_MALLOC=0``.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1  # mallopt parameter numbers from glibc's <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20  # glibc's ceiling for its own dynamic threshold on 64-bit
TRIM_THRESHOLD = -1  # never trim (mallopt(3)); see the module docstring for why no finite value serves

_tuned: bool | None = None


def tune() -> bool:
    """Set glibc's mmap and trim thresholds once per process; return whether they are set by nerve."""
    global _tuned
    if _tuned is None:
        _tuned = _apply()
    return _tuned


def _apply() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("NERVE_TUNE_MALLOC", "1") == "0":
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False  # the user chose; glibc has already read their values
    try:
        mallopt = ctypes.CDLL(None).mallopt  # present in glibc only (not musl)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


tune()  # on import: nerve/__init__.py imports this module first

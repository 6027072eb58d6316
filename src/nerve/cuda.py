"""``nerve.cuda``: PyTorch's CUDA queries, answered for a CPU-only library (no GPU is ever available)."""

from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed: int) -> None:
    """Ignored, as ``torch.cuda.manual_seed`` is without a GPU (seed nerve with ``nerve.manual_seed``)."""


manual_seed_all = manual_seed

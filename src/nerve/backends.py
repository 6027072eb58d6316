"""``nerve.backends``: PyTorch's backend switches, so seeding and set-up code written for torch runs unchanged.

nerve's kernels are NumPy's, deterministic for a given input and thread count; the flags are accepted and
have no effect.
"""

from __future__ import annotations

from types import SimpleNamespace

cudnn = SimpleNamespace(enabled=False, benchmark=False, deterministic=True, is_available=lambda: False)
mps = SimpleNamespace(is_available=lambda: False, is_built=lambda: False)

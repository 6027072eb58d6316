"""Gradient clipping, a remedy for exploding gradients (e.g. in RNNs)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from nerve.tensor import Tensor, _wrap


def _with_grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so their joint ``norm_type``-norm is at most ``max_norm``.

    The scale is ``min(1, max_norm / (total_norm + 1e-6))``, as in PyTorch.

    Returns:
        The total norm of the gradients before clipping (a 0-d tensor).
    """
    params = _with_grads(parameters)
    if not params:
        return _wrap(np.zeros((), dtype=np.float32))
    dtype = params[0].grad.data.dtype
    norm_type = float(norm_type)
    if norm_type == float("inf"):
        total = max(float(np.abs(p.grad.data).max()) for p in params)
    else:
        total = float(sum(float((np.abs(p.grad.data.astype(np.float64)) ** norm_type).sum()) for p in params))
        total = total ** (1.0 / norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is non-finite ({total}); "
            "pass error_if_nonfinite=False to clip anyway"
        )
    coef = min(1.0, max_norm / (total + 1e-6))
    if coef < 1.0:
        for p in params:
            p.grad.data *= dtype.type(coef)
    return _wrap(np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    for p in _with_grads(parameters):
        np.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)

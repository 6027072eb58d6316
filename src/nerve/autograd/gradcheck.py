"""Finite-difference gradient checking in float64."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nerve.autograd.grad_mode import no_grad


class GradcheckError(AssertionError):
    """Raised when an analytical gradient disagrees with central differences."""


def _as_tuple(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, list | tuple) else (x,)


def gradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Compare ``backward`` with central differences of ``fn`` at ``inputs``.

    Every output is contracted with fixed random weights ``w`` to the scalar ``L = sum(out * w)`` (a plain
    ``sum`` would hide a backward that ignores its incoming gradient), then dL/dx from backward is compared
    with ``(L(x + eps) - L(x - eps)) / (2 eps)`` for every element of every input that requires grad.

    Args:
        fn: function of the inputs returning a tensor or a tuple of tensors.
        inputs: a tensor or tuple of tensors; those that require grad must be float64.
        eps: finite-difference step.
        atol, rtol: tolerance of ``|analytical - numerical| <= atol + rtol * |numerical|``.
        seed: seed of the contraction weights.
        raise_exception: raise :class:`GradcheckError` on mismatch (else return False).

    Returns:
        True when every gradient matches.
    """
    from nerve.tensor import Tensor, _wrap

    args = _as_tuple(inputs)
    checked = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for a in checked:
        if a.data.dtype != np.float64:
            raise TypeError(f"gradcheck: inputs that require grad must be float64, got {a.data.dtype}")

    rng = np.random.default_rng(seed)
    with no_grad():
        outs0 = [o for o in _as_tuple(fn(*args)) if isinstance(o, Tensor)]
    weights = [rng.uniform(0.5, 1.5, o.shape) * rng.choice([-1.0, 1.0], o.shape) for o in outs0]

    def scalar() -> float:
        with no_grad():
            outs = [o for o in _as_tuple(fn(*args)) if isinstance(o, Tensor)]
        return float(sum(float((o.data.astype(np.float64) * w).sum()) for o, w in zip(outs, weights)))

    for a in checked:
        a.grad = None
    outs = [o for o in _as_tuple(fn(*args)) if isinstance(o, Tensor)]
    loss = None
    for o, w in zip(outs, weights):
        if not o.requires_grad:
            continue
        term = (o * _wrap(w.astype(o.data.dtype))).sum()
        loss = term if loss is None else loss + term
    if loss is None:
        raise GradcheckError("gradcheck: no output depends on an input that requires grad")
    loss.backward()

    for k, a in enumerate(checked):
        analytical = np.zeros(a.shape) if a.grad is None else a.grad.data.astype(np.float64)
        numerical = np.zeros(a.shape)
        flat = a.data.reshape(-1)
        if not np.shares_memory(flat, a.data):
            raise ValueError("gradcheck: inputs must be contiguous arrays")
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            up = scalar()
            flat[i] = orig - eps
            down = scalar()
            flat[i] = orig
            numerical.reshape(-1)[i] = (up - down) / (2 * eps)
        # NOTE: written as "not close" so that a nan on either side counts as a mismatch (nan > tol is False)
        bad = ~(np.abs(analytical - numerical) <= atol + rtol * np.abs(numerical))
        if bad.any():
            if not raise_exception:
                return False
            where = np.argwhere(bad)[0]
            raise GradcheckError(
                f"gradcheck: gradient of input {k} (shape {a.shape}) disagrees at index {tuple(where)}: "
                f"analytical {analytical[tuple(where)]:.8g}, numerical {numerical[tuple(where)]:.8g}; "
                f"max abs difference {np.abs(analytical - numerical).max():.3g} over {int(bad.sum())} elements"
            )
        a.grad = None
    return True

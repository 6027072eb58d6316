"""Reverse-mode automatic differentiation: graph nodes, the backward engine, grad mode, gradcheck."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from nerve.autograd.gradcheck import GradcheckError, gradcheck

if TYPE_CHECKING:
    from nerve.tensor import Tensor

__all__ = [
    "Function",
    "GradcheckError",
    "backward",
    "enable_grad",
    "grad",
    "gradcheck",
    "inference_mode",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
]


def _seeds(outputs: Sequence[Tensor], grad_outputs: Sequence[Any] | Any | None) -> list[np.ndarray]:
    from nerve.tensor import Tensor

    if isinstance(grad_outputs, Tensor | np.ndarray):  # one gradient for one output, as torch accepts
        grad_outputs = [grad_outputs]
    if grad_outputs is not None and len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    seeds = []
    for i, out in enumerate(outputs):
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if out.data.size != 1:
                raise ValueError(
                    f"grad: output {i} has shape {out.shape}; pass grad_outputs for non-scalar outputs"
                )
            seeds.append(np.ones_like(out.data))
        else:
            arr = g.data if hasattr(g, "data") else np.asarray(g)
            if arr.shape != out.data.shape:
                raise ValueError(f"grad: grad_outputs[{i}] has shape {arr.shape}, output has {out.shape}")
            seeds.append(arr.astype(out.data.dtype, copy=False))
    return seeds


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: Sequence[Any] | None = None,
             retain_graph: bool = False) -> None:
    """Backpropagate from several outputs at once, accumulating into the leaves' ``.grad``."""
    from nerve.autograd.engine import run_backward

    outs = [tensors] if not isinstance(tensors, list | tuple) else list(tensors)
    run_backward(outs, _seeds(outs, grad_tensors), retain_graph=retain_graph)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Sequence[Any] | None = None, retain_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs), returned instead of accumulated into ``.grad`` (which stays untouched).

    Example:
        >>> (g,) = nerve.autograd.grad(loss, [x])   # e.g. the input gradient for an adversarial example
    """
    from nerve.autograd.engine import run_backward
    from nerve.tensor import _wrap

    outs = [outputs] if not isinstance(outputs, list | tuple) else list(outputs)
    ins = [inputs] if not isinstance(inputs, list | tuple) else list(inputs)
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise ValueError(f"grad: input {i} does not require grad")
    found = run_backward(outs, _seeds(outs, grad_outputs), retain_graph=retain_graph, inputs=ins)
    result: list[Tensor | None] = []
    for i, g in enumerate(found or []):
        if g is None and not allow_unused:
            raise ValueError(f"grad: input {i} was not used to compute the outputs; pass allow_unused=True")
        result.append(None if g is None else _wrap(np.array(g, copy=True)))
    return tuple(result)

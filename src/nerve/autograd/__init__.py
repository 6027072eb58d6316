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
    "higher_order_ops",
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
             retain_graph: bool = False, create_graph: bool = False) -> None:
    """Backpropagate from several outputs at once, accumulating into the leaves' ``.grad``."""
    from nerve.autograd.engine import run_backward
    from nerve.autograd.higher_order import run_backward_graph

    outs = [tensors] if not isinstance(tensors, list | tuple) else list(tensors)
    seeds = _seeds(outs, grad_tensors)
    if create_graph:
        run_backward_graph(outs, _seed_tensors(seeds, grad_tensors))
    else:
        run_backward(outs, seeds, retain_graph=retain_graph)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Sequence[Any] | None = None, retain_graph: bool = False, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs), returned instead of accumulated into ``.grad`` (which stays untouched).

    With ``create_graph=True`` the returned gradients carry a graph and can be differentiated again, e.g. a
    gradient penalty or a Hessian-vector product.

    Example:
        >>> (g,) = nerve.autograd.grad(loss, [x])   # e.g. the input gradient for an adversarial example
        >>> (g,) = nerve.autograd.grad(loss, [x], create_graph=True)
        >>> (g * v).sum().backward()                 # x.grad is now the Hessian-vector product H v
    """
    from nerve.autograd.engine import run_backward
    from nerve.autograd.higher_order import run_backward_graph
    from nerve.tensor import _wrap

    outs = [outputs] if not isinstance(outputs, list | tuple) else list(outputs)
    ins = [inputs] if not isinstance(inputs, list | tuple) else list(inputs)
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise ValueError(f"grad: input {i} does not require grad")
    seeds = _seeds(outs, grad_outputs)
    if create_graph:
        found = run_backward_graph(outs, _seed_tensors(seeds, grad_outputs), inputs=ins)
    else:
        found = run_backward(outs, seeds, retain_graph=retain_graph, inputs=ins)
    result: list[Tensor | None] = []
    for i, g in enumerate(found or []):
        if g is None and not allow_unused:
            raise ValueError(f"grad: input {i} was not used to compute the outputs; pass allow_unused=True")
        if g is None or create_graph:
            result.append(g)
        else:
            result.append(_wrap(np.array(g, copy=True)))
    return tuple(result)


def _seed_tensors(seeds: list[np.ndarray], given: Sequence[Any] | Any | None) -> list[Tensor]:
    """The seeds as tensors; a given seed tensor is kept, so a gradient can depend on it."""
    from nerve.tensor import Tensor, _wrap

    if isinstance(given, Tensor):
        given = [given]
    result = []
    for i, seed in enumerate(seeds):
        g = None if given is None else given[i]
        result.append(g if isinstance(g, Tensor) and g.data is seed else _wrap(seed))
    return result


def higher_order_ops() -> list[str]:
    """Names of the primitives whose backward is itself differentiable (``create_graph=True``)."""
    found, stack = set(), [Function]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        public = not cls.__name__.startswith("_")
        if public and cls.backward_graph is not Function.backward_graph and cls.forward is not Function.forward:
            found.add(cls.__name__)
    return sorted(found)

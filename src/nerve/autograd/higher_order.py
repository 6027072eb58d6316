"""Higher-order gradients: the backward walk of ``create_graph=True``, and VJPs from composites.

With ``create_graph=True`` every gradient is a tensor, computed by each node's ``backward_graph`` under grad
mode, so the backward pass is recorded as a graph of its own and can be differentiated again (a gradient
penalty, a Hessian-vector product, a third derivative). ``backward`` on raw arrays stays the fast path for
everything else.

An op writes ``backward_graph`` in one of two ways:

* directly, as its VJP formula in differentiable ops (``g * cos(x)`` for ``sin``);
* with :func:`backward_by_composite`, for fused ops (convolution, normalization, pooling) whose forward has a
  plain composite of differentiable primitives: the composite is recomputed on stand-ins for the op's inputs
  and differentiated with ``create_graph=True``. The composite is slower than the fused op, but the
  higher-order path is not the hot one, and the fused op's first-order backward is untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from nerve.autograd.engine import _FREED, _check, freed_graph_error, topological_order
from nerve.autograd.function import Function
from nerve.autograd.grad_mode import enable_grad

if TYPE_CHECKING:
    from nerve.tensor import Tensor


def run_backward_graph(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    inputs: Sequence[Tensor] | None = None,
    stop_at_inputs: bool = False,
) -> list[Tensor | None] | None:
    """``engine.run_backward`` with ``create_graph=True``.

    Leaves' ``.grad`` become (or accumulate into) tensors that carry the graph of their computation. The
    forward graph is kept (PyTorch's ``retain_graph`` defaults to ``create_graph``), since the second backward
    runs through it again. Tensor hooks see the gradient's value; a hook that returns a new one cuts the graph
    there. With ``inputs``, gradients are returned for them instead; ``stop_at_inputs`` (for
    :func:`backward_by_composite`) does not walk past them.
    """
    from nerve.tensor import _wrap

    capture: dict[int, Tensor | None] | None = None
    capture_at_node: dict[int, int] = {}
    if inputs is not None:
        capture = {id(t): None for t in inputs}
        capture_at_node = {id(t._node): id(t) for t in inputs if t._node is not None}
    stop = set(capture_at_node) if stop_at_inputs else None
    grads: dict[Function, Tensor] = {}
    leaves: dict[int, list] = {}  # id(leaf) -> [leaf, summed gradient]

    def add_leaf(t: Tensor, g: Tensor) -> None:
        if capture is not None and id(t) not in capture:
            return
        entry = leaves.get(id(t))
        if entry is None:
            leaves[id(t)] = [t, g]
        else:
            entry[1] = entry[1] + g

    def through_hooks(hooks: dict, g: Tensor) -> Tensor:
        for hook in hooks.values():
            out = hook(g.data)
            if out is not g.data:
                g = _wrap(out)
        return g

    with enable_grad():
        for root, g in zip(roots, root_grads):
            node = root._node
            if node is None:
                add_leaf(root, g)
            else:
                grads[node] = g if node not in grads else grads[node] + g
        for node in topological_order([r._node for r in roots if r._node is not None], stop):
            grad = grads.pop(node, None)
            if grad is None:
                continue
            if node.hooks:
                grad = through_hooks(node.hooks, grad)
            if capture_at_node and id(node) in capture_at_node:
                capture[capture_at_node[id(node)]] = grad  # type: ignore[index]
                if stop:
                    continue
            if node.saved is _FREED:
                raise freed_graph_error(node)
            for i, (t, g) in enumerate(zip(node.parents, node.backward_graph(grad))):
                if g is None or not t.requires_grad:
                    continue
                _check(node, i, g.data, t)
                if t._node is None:
                    add_leaf(t, g)
                else:
                    prev = grads.get(t._node)
                    grads[t._node] = g if prev is None else prev + g

        if capture is None:
            for t, g in leaves.values():
                if t._hooks:
                    g = through_hooks(t._hooks, g)
                t.grad = g if t.grad is None else t.grad + g
            return None
    for t, g in leaves.values():
        capture[id(t)] = g
    return [capture[id(t)] for t in inputs]  # type: ignore[union-attr]


class StandIn(Function):
    """``out = x`` (no copy): where :func:`backward_by_composite` stops its walk."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (g,)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g,)


def backward_by_composite(node: Function, g: Tensor, composite: Callable[..., Tensor]) -> tuple[Tensor | None, ...]:
    """``node``'s VJP of ``g`` as a graph: ``composite(*node.parents)``, an equivalent of the node's forward
    built from differentiable primitives, recomputed and differentiated with ``create_graph=True``."""
    needs = node.needs_input_grad
    stand_ins = [StandIn.apply(p) if need else p for p, need in zip(node.parents, needs)]
    wanted = [s for s, need in zip(stand_ins, needs) if need]
    with enable_grad():
        out = composite(*stand_ins)
    found = run_backward_graph([out], [g], inputs=wanted, stop_at_inputs=True) or []
    found_iter = iter(found)
    return tuple(next(found_iter) if need else None for need in needs)

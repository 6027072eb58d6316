"""Reverse-mode differentiation: walk the graph from the outputs back to the leaves.

The walk is iterative (a 10,000-step RNN unroll would overflow Python's recursion limit), visits each
node once in reverse topological order, accumulates gradients that fan in, and frees each node's saved
arrays as soon as it has propagated (unless ``retain_graph``). Every gradient is checked against its
input's shape and dtype, so a forgotten un-broadcast or a float64 leak fails loudly at its source.
A leaf's contributions are summed first and delivered once at the end, so its hooks see the total
gradient in a single call (as PyTorch's ``AccumulateGrad`` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from nerve.autograd.function import Function
    from nerve.tensor import Tensor

_FREED = object()


def topological_order(roots: Sequence[Function], stop: set[int] | None = None) -> list[Function]:
    """Nodes reachable from ``roots``, each after every node that consumes its output; the walk does not go
    past the nodes whose ids are in ``stop``."""
    order: list[Function] = []
    visited: set[int] = set()
    stack: list[tuple[Function, bool]] = [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if stop and id(node) in stop:
            continue
        for parent in node.parents:
            pnode = parent._node
            if pnode is not None and id(pnode) not in visited:
                stack.append((pnode, False))
    order.reverse()
    return order


def _check(node: Function, index: int, grad: np.ndarray, t: Tensor) -> None:
    if grad.shape != t.data.shape or grad.dtype != t.data.dtype:
        raise RuntimeError(
            f"{node.name} returned a gradient of shape {grad.shape} and dtype {grad.dtype} for input "
            f"{index}, which has shape {t.data.shape} and dtype {t.data.dtype} (a bug in that op's backward)"
        )


def freed_graph_error(node: Function) -> RuntimeError:
    """The error for walking a node whose saved arrays an earlier backward freed."""
    return RuntimeError(
        f"{node.name}: trying to backward through the graph a second time, but its saved arrays "
        "were freed after the first backward. Pass retain_graph=True to the first backward call."
    )


def _sum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a + b`` as a new ndarray, also for 0-d operands (where NumPy returns a scalar, which ``+=`` would
    then rebind instead of updating: the third gradient into a scalar node would be lost)."""
    total = a + b
    return total if type(total) is np.ndarray else np.asarray(total)


def run_backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[np.ndarray],
    retain_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> list[np.ndarray | None] | None:
    """Propagate ``root_grads`` from ``roots`` to the leaves.

    Without ``inputs``, gradients accumulate into each leaf's ``.grad`` (as ``Tensor.backward``). With
    ``inputs``, they are returned for those tensors instead and no ``.grad`` is touched (``autograd.grad``).
    """
    capture: dict[int, np.ndarray | None] | None = None
    capture_at_node: dict[int, int] = {}  # id(node) -> id(tensor) for non-leaf tensors in ``inputs``
    if inputs is not None:
        capture = {id(t): None for t in inputs}
        capture_at_node = {id(t._node): id(t) for t in inputs if t._node is not None}

    grads: dict[Function, np.ndarray] = {}
    owned: set[int] = set()  # ids of nodes whose accumulated gradient array we allocated ourselves
    leaves: dict[int, list] = {}  # id(leaf) -> [leaf, summed gradient, whether we own that array]

    def add_leaf(t: Tensor, g: np.ndarray, fresh: bool = False) -> None:
        if capture is not None and id(t) not in capture:
            return
        entry = leaves.get(id(t))
        if entry is None:
            leaves[id(t)] = [t, g, fresh]
        elif entry[2]:
            entry[1] += g
        else:
            entry[1] = entry[1] + g
            entry[2] = True

    for root, g in zip(roots, root_grads):
        node = root._node
        if node is None:
            add_leaf(root, g)
        elif node in grads:
            grads[node] = _sum(grads[node], g)
            owned.add(id(node))
        else:
            grads[node] = g

    nodes = [r._node for r in roots if r._node is not None]
    for node in topological_order(nodes):
        grad = grads.pop(node, None)
        if grad is None:
            continue
        if node.hooks:
            for hook in node.hooks.values():
                grad = hook(grad)
        if capture_at_node and id(node) in capture_at_node:
            capture[capture_at_node[id(node)]] = grad  # type: ignore[index]
        saved = node.saved
        if saved is _FREED:
            raise freed_graph_error(node)
        input_grads = node.backward(grad)
        if not retain_graph and saved:
            node.saved = _FREED
        handed: list[np.ndarray] = []  # fresh arrays already given to a leaf by this node
        for i, (t, g) in enumerate(zip(node.parents, input_grads)):
            if g is None or not t.requires_grad:
                continue
            if type(g) is not np.ndarray:
                g = np.asarray(g)
            _check(node, i, g, t)
            pnode = t._node
            if pnode is None:
                fresh = node.fresh_grads
                if fresh:
                    # one array returned for two inputs (e.g. two biases with equal gradients) must not become
                    # both leaves' .grad: accumulating into one would change the other
                    if any(g is h for h in handed):
                        g = g.copy()
                    handed.append(g)
                add_leaf(t, g, fresh)
                continue
            prev = grads.get(pnode)
            if prev is None:
                grads[pnode] = g
            elif id(pnode) in owned:
                prev += g  # in place: an array _sum allocated
            else:
                grads[pnode] = _sum(prev, g)
                owned.add(id(pnode))

    if capture is None:
        for t, g, owned in leaves.values():
            t._accumulate_grad(g, owned)
        return None
    for t, g, _ in leaves.values():
        capture[id(t)] = g
    return [capture[id(t)] for t in inputs]  # type: ignore[union-attr]


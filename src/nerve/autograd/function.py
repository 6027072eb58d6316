"""The node type of the autograd graph.

A primitive op subclasses :class:`Function` and writes two methods side by side:

* ``forward(*arrays, **options) -> ndarray`` computes on raw NumPy arrays and keeps in ``self.saved``
  only what ``backward`` needs (the output instead of the input where that is cheaper);
* ``backward(grad) -> tuple`` returns the vector-Jacobian product: one gradient per tensor input, or
  ``None`` for inputs that need none (``self.needs_input_grad`` says which do).

Ops that support higher-order gradients also write ``backward_graph(grad: Tensor)``: the same product built
from differentiable nerve ops on the node's input tensors (``self.parents``), so that ``create_graph=True``
records the backward pass as a graph of its own. ``backward`` stays the fast path on raw arrays.

``apply`` runs ``forward`` and, when grad mode is on and an input requires grad, links the output tensor
to the node. Under ``no_grad`` no node is kept, so inference builds no graph at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nerve.autograd.grad_mode import grad_mode

if TYPE_CHECKING:
    from nerve.tensor import Tensor


class Function:
    """Base class of differentiable primitives (one output each)."""

    # Arrays needed by backward live in ``saved`` only, so the engine can free them all by dropping one
    # reference. Other per-call facts (shapes, axes) go in the instance dict.
    __slots__ = ("__dict__", "hooks", "needs_input_grad", "parents", "saved")

    parents: tuple[Tensor, ...]
    saved: Any
    needs_input_grad: tuple[bool, ...]

    #: True when ``backward`` always returns newly allocated arrays that nothing else references (e.g. the
    #: outputs of a GEMM). The engine may then hand them to a leaf's ``.grad`` without a defensive copy.
    fresh_grads: bool = False

    def forward(self, *arrays: np.ndarray, **options: Any) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    def backward_graph(self, grad: Tensor) -> tuple[Tensor | None, ...]:
        """``backward`` as differentiable ops on ``self.parents`` (used by ``create_graph=True``)."""
        raise NotImplementedError(
            f"{self.name}: higher-order gradients (create_graph=True) are not implemented for this op; "
            "nerve.autograd.higher_order_ops() lists the ops that have them"
        )

    @classmethod
    def apply(cls, *inputs: Tensor, **options: Any) -> Tensor:
        node = cls.__new__(cls)
        node.saved = ()
        try:  # reading requires_grad doubles as the check that every input is a Tensor
            needs = tuple([t.requires_grad for t in inputs])
        except AttributeError:
            raise _not_a_tensor(cls, inputs) from None
        if grad_mode.enabled:
            track = True in needs
        else:
            needs = (False,) * len(inputs)
            track = False
        node.needs_input_grad = needs
        try:
            data = node.forward(*[t.data for t in inputs], **options)
        except ValueError as error:
            if "could not be broadcast" not in str(error):
                raise
            shapes = " and ".join(str(tuple(t.data.shape)) for t in inputs)
            raise ValueError(f"{cls.__name__}: shapes {shapes} do not broadcast (sizes must match or be 1 in "
                             "each dimension, counted from the last)") from error
        if type(data) is not np.ndarray:  # NumPy returns scalars for 0-d results
            data = np.asarray(data)
        out = _new_tensor(data)
        if track:
            node.parents = inputs
            node.hooks = None
            out.requires_grad = True
            out._node = node
        return out

    @property
    def name(self) -> str:
        return type(self).__name__ + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name}>"

    @property
    def next_functions(self) -> tuple[tuple[Function | None, int], ...]:
        """The nodes that produced this node's inputs (``None`` for leaves), as in PyTorch."""
        return tuple((t._node, 0) for t in self.parents)


def _not_a_tensor(cls: type, inputs: tuple[Any, ...]) -> TypeError:
    position, value = next((i, t) for i, t in enumerate(inputs) if not hasattr(t, "requires_grad"))
    kind = f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins.")
    return TypeError(f"{cls.__name__}: input {position} must be a nerve.Tensor, got {kind}; wrap arrays and "
                     "numbers with nerve.tensor(...)")


def _new_tensor(data: np.ndarray) -> Tensor:
    raise RuntimeError("nerve.tensor was not imported")  # replaced by nerve.tensor at import time


def _install_tensor_factory(factory: Any) -> None:
    global _new_tensor
    _new_tensor = factory

"""Matrix products: ``matmul`` (PyTorch's 1-D, 2-D and batched broadcasting cases) and fused ``linear``.

``linear`` is a primitive rather than ``x @ W.T + b`` because it is the hot path of every dense network:
fused, its forward is one GEMM plus an in-place bias add, and its backward is two GEMMs and a column sum
over a 2-D view of the batch, skipping the input gradient when the input needs none (the data batch).
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.ops._util import binary_operands, unbroadcast
from nerve.tensor import Tensor


class MatMul(Function):
    fresh_grads = True  # every gradient is a new GEMM output (or its column sum)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.saved = (a, b)
        if b.ndim == 2 and a.ndim > 2:
            # (..., n, k) @ (k, m): one GEMM over the flattened batch instead of a loop of small ones
            return (a.reshape(-1, a.shape[-1]) @ b).reshape(*a.shape[:-1], b.shape[-1])
        return np.matmul(a, b)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        # Promote 1-D operands to matrices (as the forward did implicitly) so one rule covers all cases.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if b.ndim == 1:  # first: for 1-D @ 1-D the 0-d gradient becomes (1,) and then (1, 1)
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        ga = gb = None
        if b2.ndim == 2 and a2.ndim > 2:
            g_flat = g2.reshape(-1, g2.shape[-1])
            if need_a:
                ga = (g_flat @ b2.T).reshape(a.shape)
            if need_b:
                gb = (a2.reshape(-1, a2.shape[-1]).T @ g_flat).reshape(b.shape)
            return (ga, gb)
        if need_a:
            ga = unbroadcast(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if need_b:
            gb = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b.shape)
        return (ga, gb)


class Linear(Function):
    """``y = x @ weight.T + bias`` for x of shape (*, in_features)."""
    fresh_grads = True  # every gradient is a new GEMM output (or its column sum)

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        out = x2 @ w.T
        if b is not None:
            out += b
        self.saved = (x2, w)
        self.x_shape = x.shape
        return out.reshape(*x.shape[:-1], w.shape[0]) if x.ndim != 2 else out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x2, w = self.saved
        needs = self.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        gx = (g2 @ w).reshape(self.x_shape) if needs[0] else None
        gw = g2.T @ x2 if needs[1] else None
        if len(needs) == 3:
            return (gx, gw, g2.sum(axis=0) if needs[2] else None)
        return (gx, gw)


def _describe(t: Tensor) -> str:
    return f"{tuple(t.shape)} ({t.data.dtype})"


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with PyTorch's semantics.

    1-D @ 1-D is a dot product, 2-D @ 1-D a matrix-vector product, 1-D @ 2-D a vector-matrix product,
    and N-D operands are stacks of matrices whose batch dims broadcast.

    Shape:
        a: (*, n, k) or (k,);  b: (*, k, m) or (k,);  out: (*, n, m) with 1-D dims dropped.
    """
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul: expected two tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"matmul: both operands need at least 1 dimension, got shapes {_describe(a)} and {_describe(b)}"
        )
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(
            f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied: the last dim of the "
            f"first ({k_a}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} dim of the second ({k_b})"
        )
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(
                f"matmul: batch dims {tuple(a.shape[:-2])} and {tuple(b.shape[:-2])} of shapes "
                f"{tuple(a.shape)} and {tuple(b.shape)} do not broadcast"
            ) from None
    a, b = binary_operands(a, b)
    if a.data.dtype.kind != "f":
        raise TypeError(f"matmul: expected floating-point tensors, got {_describe(a)} and {_describe(b)}")
    return MatMul.apply(a, b)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias``.

    Shape:
        x: (*, in_features);  weight: (out_features, in_features);  bias: (out_features,);
        out: (*, out_features).
    """
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {tuple(weight.shape)}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {tuple(x.shape)} has last dim {x.shape[-1] if x.ndim else None}, "
            f"expected in_features={weight.shape[1]} (weight shape {tuple(weight.shape)})"
        )
    if x.data.dtype != weight.data.dtype:
        raise TypeError(
            f"linear: input dtype {x.data.dtype} does not match weight dtype {weight.data.dtype}; "
            f"convert the input with .to({weight.data.dtype}) or the module with .to(dtype)"
        )
    if bias is None:
        return Linear.apply(x, weight)
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    if bias.data.dtype != weight.data.dtype:
        raise TypeError(f"linear: bias dtype {bias.data.dtype} does not match weight dtype {weight.data.dtype}")
    return Linear.apply(x, weight, bias)

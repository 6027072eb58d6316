"""Activation primitives: ReLU family, GELU, sigmoid, tanh, softplus, SiLU, softmax, log-softmax.

Where the derivative is cheaper from the output (sigmoid, tanh, softmax, ELU's negative side) the op saves
the output instead of the input. Softmax and log-softmax are fused primitives rather than compositions of
exp/sum/div: subtracting the row maximum keeps them finite at logits of +-1000, and their VJPs are one
line each where the composed graph would need five nodes.
"""

from __future__ import annotations

import math

import numpy as np

from nerve.autograd.function import Function
from nerve.ops._special import erf as _erf
from nerve.ops._special import normal_cdf32
from nerve.ops._util import normalize_dim, require_tensor
from nerve.ops.elementwise import Exp, Where, to_floating
from nerve.tensor import Tensor, _wrap

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class ReLU(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        out = _clamp_negative(x)
        self.saved = (out,)
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        # The output is 0 or positive or NaN; as PyTorch (zero where out <= 0), a NaN output passes g through.
        return (g * (self.saved[0] != 0),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g * _wrap((self.saved[0] != 0).astype(g.dtype)),)


_ZERO_ROW = 1024  # elements per row of zeros in _clamp_negative


def _clamp_negative(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)``, NaN kept, against a row of zeros rather than the scalar 0 where the size allows.

    NOTE: NumPy's maximum against a scalar takes a slow loop: on a (64, 16, 32, 32) float32 batch it ran
    0.39 ms, against 0.21 ms for the same data viewed as rows of 1024 next to a zero row.
    """
    if x.size < _ZERO_ROW or x.size % _ZERO_ROW or not x.flags.c_contiguous:
        return np.maximum(x, 0)
    zeros = np.zeros(_ZERO_ROW, dtype=x.dtype)
    return np.maximum(x.reshape(-1, _ZERO_ROW), zeros).reshape(x.shape)


class LeakyReLU(Function):
    def forward(self, x: np.ndarray, slope: float) -> np.ndarray:
        self.saved = (x > 0,)
        self.slope = slope
        return np.where(self.saved[0], x, x * slope)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (np.where(self.saved[0], g, g * self.slope),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g * _wrap(np.where(self.saved[0], 1, self.slope).astype(g.dtype)),)


class ELU(Function):
    def forward(self, x: np.ndarray, alpha: float) -> np.ndarray:
        positive = x > 0
        out = np.where(positive, x, np.expm1(np.minimum(x, 0)) * alpha)
        self.saved = (positive, out)
        self.alpha = alpha
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        positive, out = self.saved
        # for x <= 0: d/dx alpha*(e^x - 1) = alpha*e^x = out + alpha
        return (np.where(positive, g, g * (out + self.alpha)),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        positive, _ = self.saved
        slope = ELU.apply(self.parents[0], alpha=self.alpha) + self.alpha
        return (_select(positive, g, g * slope),)


class GELU(Function):
    """x * Phi(x) (``approximate='none'``) or its tanh approximation (``approximate='tanh'``)."""

    def forward(self, x: np.ndarray, approximate: str) -> np.ndarray:
        self.approximate = approximate
        if approximate == "tanh":
            inner = (x + (x * x * x) * 0.044715) * _SQRT_2_OVER_PI
            t = np.tanh(inner)
            self.saved = (x, t)
            return x * (t + 1) * 0.5
        if x.dtype == np.float32 and x.ndim:  # (0-d arrays would come back as scalars)
            cdf, gauss = normal_cdf32(x)  # in place, and exp(-x²/2) comes for free
        else:
            cdf, gauss = (_erf(x * _INV_SQRT_2) + 1) * 0.5, None
        self.saved = (x, cdf, gauss)
        return x * cdf

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        if self.approximate == "tanh":
            x, t = self.saved
            d_inner = (x * x * (3 * 0.044715) + 1) * _SQRT_2_OVER_PI
            # (1 - t)(1 + t) rather than 1 - t*t: no cancellation in the tails, where t -> -1 or 1
            return (g * ((t + 1) * 0.5 + x * 0.5 * ((1 - t) * (1 + t)) * d_inner),)
        x, cdf, gauss = self.saved
        # d/dx x·Φ(x) = Φ(x) + x·φ(x), φ(x) = exp(-x²/2)/√(2π)
        grad = x * (np.exp(x * x * -0.5) if gauss is None else gauss)
        grad *= grad.dtype.type(_INV_SQRT_2PI)
        grad += cdf
        grad *= g
        return (grad,)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        (x,) = self.parents
        if self.approximate == "tanh":
            t = Tanh.apply((x + x * x * x * 0.044715) * _SQRT_2_OVER_PI)
            d_inner = (x * x * (3 * 0.044715) + 1) * _SQRT_2_OVER_PI
            return (g * ((t + 1) * 0.5 + x * 0.5 * ((1 - t) * (1 + t)) * d_inner),)
        cdf = (Erf.apply(x * _INV_SQRT_2) + 1) * 0.5
        return (g * (cdf + x * Exp.apply(x * x * -0.5) * _INV_SQRT_2PI),)


class Erf(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.saved = (x,)
        return _erf(x)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (x,) = self.saved
        return (g * (np.exp(-(x * x)) * (2 / math.sqrt(math.pi))),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        (x,) = self.parents
        return (g * Exp.apply(-(x * x)) * (2 / math.sqrt(math.pi)),)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # exp(-|x|) never overflows; pick the algebraically equal form that avoids cancellation per sign.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


class Sigmoid(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        out = _sigmoid(x)
        self.saved = (out,)
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (s,) = self.saved
        return (g * s * (1 - s),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        s = Sigmoid.apply(*self.parents)
        return (g * s * (1 - s),)


class Tanh(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        out = np.tanh(x)
        self.saved = (out,)
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (t,) = self.saved
        return (g * (1 - t * t),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        t = Tanh.apply(*self.parents)
        return (g * (1 - t * t),)


class Softplus(Function):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold`` (PyTorch's definition)."""

    def forward(self, x: np.ndarray, beta: float, threshold: float) -> np.ndarray:
        bx = x * beta if beta != 1 else x
        linear = bx > threshold
        soft = (np.log1p(np.exp(-np.abs(bx))) + np.maximum(bx, 0)) / beta if beta != 1 else (
            np.log1p(np.exp(-np.abs(bx))) + np.maximum(bx, 0)
        )
        self.saved = (bx, linear)
        self.beta = beta
        return np.where(linear, x, soft)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        bx, linear = self.saved
        return (np.where(linear, g, g * _sigmoid(bx)),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        _, linear = self.saved
        return (_select(linear, g, g * Sigmoid.apply(self.parents[0] * self.beta)),)


class SiLU(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        s = _sigmoid(x)
        self.saved = (x, s)
        return x * s

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        x, s = self.saved
        return (g * (s * (1 + x * (1 - s))),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        (x,) = self.parents
        s = Sigmoid.apply(x)
        return (g * (s * (1 + x * (1 - s))),)


class Softmax(Function):
    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        e /= e.sum(axis=axis, keepdims=True)
        self.saved = (e,)
        self.axis = axis
        return e

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (y,) = self.saved
        gy = g * y
        return (gy - y * gy.sum(axis=self.axis, keepdims=True),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        y = Softmax.apply(self.parents[0], axis=self.axis)
        gy = g * y
        return (gy - y * gy.sum(dim=self.axis, keepdim=True),)


class LogSoftmax(Function):
    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        shifted = x - x.max(axis=axis, keepdims=True)
        shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        self.saved = (shifted,)
        self.axis = axis
        return shifted

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (logp,) = self.saved
        return (g - np.exp(logp) * g.sum(axis=self.axis, keepdims=True),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g - Softmax.apply(self.parents[0], axis=self.axis) * g.sum(dim=self.axis, keepdim=True),)


def _select(mask: np.ndarray, a: Tensor, b: Tensor) -> Tensor:
    """``where(mask, a, b)`` for a constant mask, differentiable in ``a`` and ``b``."""
    return Where.apply(a, b, cond=mask)


# ---------------------------------------------------------------------------------- public functions


def _float_input(x: Tensor, op: str) -> None:
    require_tensor(x, op)
    if x.data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got dtype {x.data.dtype}")


def relu(x: Tensor) -> Tensor:
    """max(x, 0)."""
    return ReLU.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    _float_input(x, "leaky_relu")
    return LeakyReLU.apply(x, slope=float(negative_slope))


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    _float_input(x, "elu")
    return ELU.apply(x, alpha=float(alpha))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit; ``approximate`` is ``'none'`` (exact, erf) or ``'tanh'``."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    _float_input(x, "gelu")
    return GELU.apply(x, approximate=approximate)


def erf(x: Tensor) -> Tensor:
    """The error function (integer tensors give the default float dtype, as in PyTorch)."""
    return Erf.apply(to_floating(x, "erf"))


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow."""
    return Sigmoid.apply(to_floating(x, "sigmoid"))


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(to_floating(x, "tanh"))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, reverting to x where beta x > threshold."""
    _float_input(x, "softplus")
    return Softplus.apply(x, beta=float(beta), threshold=float(threshold))


def silu(x: Tensor) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    _float_input(x, "silu")
    return SiLU.apply(x)


def softmax(x: Tensor, dim: int) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, stable for large logits."""
    _float_input(x, "softmax")
    return Softmax.apply(x, axis=normalize_dim(dim, x.ndim, "softmax"))


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """x - logsumexp(x) along ``dim``, stable for large logits."""
    _float_input(x, "log_softmax")
    return LogSoftmax.apply(x, axis=normalize_dim(dim, x.ndim, "log_softmax"))

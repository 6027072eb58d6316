"""Elementwise primitives (arithmetic, exp/log, comparisons, selection) with NumPy broadcasting.

Each class is one primitive: ``forward`` on arrays, ``backward`` the vector-Jacobian product. Binary ops
return gradients summed back to each input's shape with ``unbroadcast``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nerve._dtypes import as_dtype, get_default_dtype, result_type
from nerve.autograd.function import Function
from nerve.ops._util import binary_operands, require_tensor, sum_to, unbroadcast
from nerve.tensor import Tensor, _wrap

# ----------------------------------------------------------------------------------------- arithmetic


class Add(Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.shapes = (a.shape, b.shape)
        return a + b

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        sa, sb = self.shapes
        na, nb = self.needs_input_grad
        return (unbroadcast(g, sa) if na else None, unbroadcast(g, sb) if nb else None)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.parents
        na, nb = self.needs_input_grad
        return (sum_to(g, a.shape) if na else None, sum_to(g, b.shape) if nb else None)


class Sub(Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        sa, sb = self.shapes
        na, nb = self.needs_input_grad
        return (unbroadcast(g, sa) if na else None, unbroadcast(-g, sb) if nb else None)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.parents
        na, nb = self.needs_input_grad
        return (sum_to(g, a.shape) if na else None, sum_to(-g, b.shape) if nb else None)


class Mul(Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.saved = (a, b)
        return a * b

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        a, b = self.saved
        na, nb = self.needs_input_grad
        return (unbroadcast(g * b, a.shape) if na else None, unbroadcast(g * a, b.shape) if nb else None)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.parents
        na, nb = self.needs_input_grad
        return (sum_to(g * b, a.shape) if na else None, sum_to(g * a, b.shape) if nb else None)


class Div(Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):  # x/0 = +-inf, 0/0 = nan, as in PyTorch
            out = a / b
        self.saved = (b, out)
        self.shape_a = a.shape
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        b, out = self.saved
        na, nb = self.needs_input_grad
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = g / b
            # d(a/b)/db = -a/b^2 = -out/b
            gb = unbroadcast(-ga * out, b.shape) if nb else None
        return (unbroadcast(ga, self.shape_a) if na else None, gb)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.parents
        na, nb = self.needs_input_grad
        ga = g / b
        return (sum_to(ga, a.shape) if na else None, sum_to(-ga * a / b, b.shape) if nb else None)


class Remainder(Function):
    """``a - floor(a / b) * b`` (the sign of ``b``, as Python's ``%``): piecewise linear, so not gradient-free."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.saved = (a, b)
        return np.remainder(a, b)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        a, b = self.saved
        na, nb = self.needs_input_grad
        gb = unbroadcast(-g * np.floor_divide(a, b), b.shape) if nb else None
        return (unbroadcast(g, a.shape) if na else None, gb)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.parents
        na, nb = self.needs_input_grad
        quotient = _wrap(np.floor_divide(a.data, b.data))
        return (sum_to(g, a.shape) if na else None, sum_to(-g * quotient, b.shape) if nb else None)


class PiecewiseConstant(Function):
    """``fn(*inputs)`` for a map that is constant between jumps (sign, floor, ceil, round, trunc, rounded
    division): its derivative is zero wherever it exists, and PyTorch defines it as zero everywhere. The result
    stays in the graph, so ``x.round().sum().backward()`` gives ``x.grad == 0`` as in PyTorch."""

    def forward(self, *inputs: np.ndarray, fn: Any) -> np.ndarray:
        self.shapes = [a.shape for a in inputs]
        return fn(*inputs)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        return tuple(np.zeros(shape, g.dtype) if needs else None
                     for shape, needs in zip(self.shapes, self.needs_input_grad))

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return tuple(None if grad is None else _wrap(grad) for grad in self.backward(g.data))


class Neg(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return -x

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (-g,)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (-g,)


class PowScalar(Function):
    """``x ** p`` for a constant exponent ``p``."""

    def forward(self, x: np.ndarray, p: float) -> np.ndarray:
        self.saved = (x,)
        self.p = p
        if p == 2:
            return x * x
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # 0**-1 = inf, (-1)**0.5 = nan
            return np.power(x, x.dtype.type(p))

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (x,) = self.saved
        p = self.p
        if p == 2:
            return (g * (x + x),)
        if p == 0:
            return (np.zeros_like(g),)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return (g * (p * np.power(x, x.dtype.type(p - 1))),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        (x,) = self.parents
        if self.p == 0:
            return (g * 0,)
        return (g * PowScalar.apply(x, p=self.p - 1) * self.p,)


class Pow(Function):
    """``a ** b`` with both operands tensors."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = np.power(a, b)
        self.saved = (a, b, out)
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        a, b, out = self.saved
        na, nb = self.needs_input_grad
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if na:
                ga = unbroadcast(g * b * np.power(a, b - 1), a.shape)
            if nb:
                # NOTE: PyTorch defines the exponent's gradient as 0 where the base is 0 (log 0 = -inf).
                log_a = np.where(a > 0, np.log(np.where(a > 0, a, 1)), np.where(a == 0, 0, np.nan))
                gb = unbroadcast(g * out * log_a.astype(out.dtype, copy=False), b.shape)
        return (ga, gb)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.parents
        na, nb = self.needs_input_grad
        ga = sum_to(g * b * Pow.apply(a, b - 1), a.shape) if na else None
        gb = None
        if nb:  # log 0 taken as 0, as in backward; log of a negative base stays nan
            log_a = Log.apply(where(a == 0, _wrap(np.ones((), a.dtype)), a))
            gb = sum_to(g * Pow.apply(a, b) * log_a, b.shape)
        return (ga, gb)


class RPowScalar(Function):
    """``c ** x`` for a constant base ``c`` (the gradient at ``c = 0`` follows PyTorch)."""

    def forward(self, x: np.ndarray, c: float) -> np.ndarray:
        with np.errstate(divide="ignore", over="ignore"):  # 0**-1 = inf, 2**200 = inf
            out = np.power(x.dtype.type(c), x)
        self.c = c
        self.saved = (x, out) if c == 0 else (out,)
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        if self.c == 0:
            # NOTE: as in PyTorch, d(0**x)/dx is 0 where x >= 0 (and out * log 0 = -inf elsewhere).
            x, out = self.saved
            with np.errstate(invalid="ignore"):
                return (np.where(x >= 0, g.dtype.type(0), g * (out * -np.inf)).astype(g.dtype, copy=False),)
        (out,) = self.saved
        log_c = math.log(self.c) if self.c > 0 else math.nan
        with np.errstate(invalid="ignore", over="ignore"):
            return (g * out * log_c,)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        if self.c == 0:  # the derivative is 0 or -inf·0 pointwise: no further dependence on x
            return (g * _wrap(self.backward(np.ones_like(g.data))[0]),)
        return (g * RPowScalar.apply(self.parents[0], c=self.c) * (math.log(self.c) if self.c > 0 else math.nan),)


# ---------------------------------------------------------------------------------- unary functions


class Exp(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # exp(100) = inf in float32, as in PyTorch
            out = np.exp(x)
        self.saved = (out,)
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        with np.errstate(invalid="ignore", over="ignore"):
            return (g * self.saved[0],)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g * Exp.apply(*self.parents),)


class Log(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.saved = (x,)
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0) = -inf, log(<0) = nan, as in PyTorch
            return np.log(x)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g / self.saved[0],)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g / self.parents[0],)


class Log1p(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.saved = (x,)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(x)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g / (1 + self.saved[0]),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g / (self.parents[0] + 1),)


class Sqrt(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            out = np.sqrt(x)
        self.saved = (out,)
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore"):  # 1/(2 sqrt 0) = inf, as in PyTorch
            return (g / (self.saved[0] * 2),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g / (Sqrt.apply(*self.parents) * 2),)


class Abs(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.saved = (x,)
        return np.abs(x)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (g * np.sign(self.saved[0]),)  # sign(0) = 0: PyTorch's subgradient at the kink

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g * _wrap(np.sign(self.parents[0].data)),)


class Sin(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.saved = (x,)
        return np.sin(x)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (g * np.cos(self.saved[0]),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g * Cos.apply(*self.parents),)


class Cos(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.saved = (x,)
        return np.cos(x)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (-g * np.sin(self.saved[0]),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (-g * Sin.apply(*self.parents),)


class Expm1(Function):
    """``exp(x) - 1``, accurate near 0 where ``exp(x) - 1`` cancels."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            out = np.expm1(x)
        self.saved = (out,)
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        with np.errstate(invalid="ignore", over="ignore"):
            return (g * (self.saved[0] + 1),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g * Exp.apply(*self.parents),)


class Exp2(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            out = np.exp2(x)
        self.saved = (out,)
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        with np.errstate(invalid="ignore", over="ignore"):
            return (g * self.saved[0] * g.dtype.type(math.log(2)),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g * Exp2.apply(*self.parents) * math.log(2),)


class LogBase(Function):
    """``log2`` or ``log10`` (NumPy's own, exact at powers of the base); d/dx = 1 / (x ln base)."""

    def forward(self, x: np.ndarray, base: int) -> np.ndarray:
        self.saved = (x,)
        self.log_base = math.log(base)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log2(x) if base == 2 else np.log10(x)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g / (self.saved[0] * g.dtype.type(self.log_base)),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g / (self.parents[0] * self.log_base),)


class Atan(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.saved = (x,)
        return np.arctan(x)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (x,) = self.saved
        return (g / (x * x + 1),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        (x,) = self.parents
        return (g / (x * x + 1),)


class Asin(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.saved = (x,)
        with np.errstate(invalid="ignore"):  # |x| > 1 gives nan, as in PyTorch
            return np.arcsin(x)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (x,) = self.saved
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g / np.sqrt(1 - x * x),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        (x,) = self.parents
        return (g / Sqrt.apply(1 - x * x),)


class Acos(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.saved = (x,)
        with np.errstate(invalid="ignore"):
            return np.arccos(x)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (x,) = self.saved
        with np.errstate(divide="ignore", invalid="ignore"):
            return (-g / np.sqrt(1 - x * x),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        (x,) = self.parents
        return (-g / Sqrt.apply(1 - x * x),)


class Sinh(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.saved = (x,)
        with np.errstate(over="ignore"):
            return np.sinh(x)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore"):
            return (g * np.cosh(self.saved[0]),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g * Cosh.apply(*self.parents),)


class Cosh(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.saved = (x,)
        with np.errstate(over="ignore"):
            return np.cosh(x)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore"):
            return (g * np.sinh(self.saved[0]),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g * Sinh.apply(*self.parents),)


class Atan2(Function):
    """The angle of the point (b, a): ``atan2(a, b)``; d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2)."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.saved = (a, b)
        return np.arctan2(a, b)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        a, b = self.saved
        na, nb = self.needs_input_grad
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = g / (a * a + b * b)
        return (unbroadcast(scale * b, a.shape) if na else None, unbroadcast(-scale * a, b.shape) if nb else None)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.parents
        na, nb = self.needs_input_grad
        scale = g / (a * a + b * b)
        return (sum_to(scale * b, a.shape) if na else None, sum_to(-scale * a, b.shape) if nb else None)


class Hypot(Function):
    """``sqrt(a^2 + b^2)`` without overflow in the squares; d/da = a / out, d/db = b / out."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.hypot(a, b)
        self.saved = (a, b, out)
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        a, b, out = self.saved
        na, nb = self.needs_input_grad
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = g / out
        return (unbroadcast(scale * a, a.shape) if na else None, unbroadcast(scale * b, b.shape) if nb else None)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.parents
        na, nb = self.needs_input_grad
        scale = g / Hypot.apply(a, b)
        return (sum_to(scale * a, a.shape) if na else None, sum_to(scale * b, b.shape) if nb else None)


class NanToNum(Function):
    """NaN and +-inf replaced by finite values; the gradient passes where ``x`` was finite, as in PyTorch."""

    def forward(self, x: np.ndarray, nan: float, posinf: float | None, neginf: float | None) -> np.ndarray:
        self.saved = (np.isfinite(x),)
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (np.where(self.saved[0], g, g.dtype.type(0)),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g * _wrap(self.saved[0].astype(g.dtype)),)


class Cast(Function):
    def forward(self, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        self.src = x.dtype
        return x.astype(dtype)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (g.astype(self.src),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (Cast.apply(g, dtype=self.src),)


class Clone(Function):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.copy()

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (g,)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g,)


# -------------------------------------------------------------------------------- selection, clamping


class Maximum(Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.saved = (a, b)
        return np.maximum(a, b)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        return _minmax_backward(self, g, np.greater)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return _minmax_backward_graph(self, g, np.greater)


class Minimum(Function):
    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.saved = (a, b)
        return np.minimum(a, b)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        return _minmax_backward(self, g, np.less)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return _minmax_backward_graph(self, g, np.less)


def _share_of_a(a: np.ndarray, b: np.ndarray, wins: Any, dtype: np.dtype) -> np.ndarray:
    # NOTE: on ties PyTorch splits the gradient evenly between the two inputs.
    return np.where(wins(a, b), 1.0, np.where(a == b, 0.5, 0.0)).astype(dtype)


def _minmax_backward_graph(node: Function, g: Tensor, wins: Any) -> tuple[Tensor | None, ...]:
    a, b = node.parents
    share_a = _share_of_a(a.data, b.data, wins, g.dtype)
    na, nb = node.needs_input_grad
    return (sum_to(g * _wrap(share_a), a.shape) if na else None,
            sum_to(g * _wrap(1 - share_a), b.shape) if nb else None)


def _minmax_backward(node: Function, g: np.ndarray, wins: Any) -> tuple[np.ndarray | None, ...]:
    a, b = node.saved
    share_a = _share_of_a(a, b, wins, g.dtype)
    na, nb = node.needs_input_grad
    ga = unbroadcast(g * share_a, a.shape) if na else None
    gb = unbroadcast(g * (1 - share_a), b.shape) if nb else None
    return (ga, gb)


class Clamp(Function):
    def forward(self, x: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
        self.saved = (x,)
        self.bounds = (lo, hi)
        return np.clip(x, lo, hi)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (g * self._passes(self.saved[0]),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (g * _wrap(self._passes(self.parents[0].data)),)

    def _passes(self, x: np.ndarray) -> np.ndarray:
        # NOTE: the gradient passes where lo <= x <= hi (inclusive), as in PyTorch.
        lo, hi = self.bounds
        keep = np.ones(x.shape, dtype=bool)
        if lo is not None:
            keep &= x >= lo
        if hi is not None:
            keep &= x <= hi
        return keep


class Where(Function):
    def forward(self, a: np.ndarray, b: np.ndarray, cond: np.ndarray) -> np.ndarray:
        self.saved = (cond,)
        self.shapes = (a.shape, b.shape)
        return np.where(cond, a, b)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        (cond,) = self.saved
        sa, sb = self.shapes
        na, nb = self.needs_input_grad
        zero = g.dtype.type(0)
        ga = unbroadcast(np.where(cond, g, zero), sa) if na else None
        gb = unbroadcast(np.where(cond, zero, g), sb) if nb else None
        return (ga, gb)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        (cond,) = self.saved
        a, b = self.parents
        na, nb = self.needs_input_grad
        zero = _wrap(np.zeros((), g.dtype))
        ga = sum_to(Where.apply(g, zero, cond=cond), a.shape) if na else None
        gb = sum_to(Where.apply(zero, g, cond=cond), b.shape) if nb else None
        return (ga, gb)


# ---------------------------------------------------------------------------------- public functions


def add(a: Any, b: Any, *, alpha: float = 1) -> Tensor:
    """``a + alpha * b`` with broadcasting."""
    if alpha != 1:
        b = mul(b, alpha)
    return Add.apply(*binary_operands(a, b))


def sub(a: Any, b: Any, *, alpha: float = 1) -> Tensor:
    """``a - alpha * b`` with broadcasting."""
    if alpha != 1:
        b = mul(b, alpha)
    return Sub.apply(*binary_operands(a, b))


def mul(a: Any, b: Any) -> Tensor:
    """Elementwise product with broadcasting."""
    return Mul.apply(*binary_operands(a, b))


def div(a: Any, b: Any, *, rounding_mode: str | None = None) -> Tensor:
    """True division (integer inputs give the default float dtype, as in PyTorch)."""
    ta, tb = binary_operands(a, b)
    if rounding_mode is not None:
        return PiecewiseConstant.apply(ta, tb, fn=np.floor_divide if rounding_mode == "floor" else _trunc_div)
    if ta.data.dtype.kind != "f":
        ta, tb = ta.to(get_default_dtype()), tb.to(get_default_dtype())
    return Div.apply(ta, tb)


def _trunc_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.trunc(a / b).astype(np.result_type(a, b))


def neg(x: Tensor) -> Tensor:
    return Neg.apply(x)


def pow(x: Any, exponent: Any) -> Tensor:
    """``x ** exponent``; either may be a tensor or a number."""
    if isinstance(x, Tensor) and not isinstance(exponent, Tensor):
        if x.data.dtype.kind != "f" and isinstance(exponent, float):
            x = x.float()
        return PowScalar.apply(x, p=float(exponent) if x.data.dtype.kind == "f" else exponent)
    if not isinstance(x, Tensor):
        if exponent.data.dtype.kind != "f":
            if isinstance(x, int | np.integer):  # int ** int tensor stays integer, as in PyTorch
                return _wrap(np.power(np.asarray(x, dtype=exponent.data.dtype), exponent.data))
            exponent = exponent.float()
        return RPowScalar.apply(exponent, c=float(x))
    return Pow.apply(*binary_operands(x, exponent))


def to_floating(x: Tensor, where: str) -> Tensor:
    """``x`` itself if floating, else cast to the default float dtype (``exp`` of an int tensor is float32)."""
    require_tensor(x, where)
    return x if x.data.dtype.kind == "f" else cast(x, get_default_dtype())


def exp(x: Tensor) -> Tensor:
    return Exp.apply(to_floating(x, "exp"))


def log(x: Tensor) -> Tensor:
    return Log.apply(to_floating(x, "log"))


def log1p(x: Tensor) -> Tensor:
    return Log1p.apply(to_floating(x, "log1p"))


def sqrt(x: Tensor) -> Tensor:
    return Sqrt.apply(to_floating(x, "sqrt"))


def rsqrt(x: Tensor) -> Tensor:
    return PowScalar.apply(to_floating(x, "rsqrt"), p=-0.5)


def abs(x: Tensor) -> Tensor:
    return Abs.apply(x)


def sin(x: Tensor) -> Tensor:
    return Sin.apply(to_floating(x, "sin"))


def cos(x: Tensor) -> Tensor:
    return Cos.apply(to_floating(x, "cos"))


def expm1(x: Tensor) -> Tensor:
    """``exp(x) - 1``, accurate for small ``x``."""
    return Expm1.apply(to_floating(x, "expm1"))


def exp2(x: Tensor) -> Tensor:
    return Exp2.apply(to_floating(x, "exp2"))


def log2(x: Tensor) -> Tensor:
    return LogBase.apply(to_floating(x, "log2"), base=2)


def log10(x: Tensor) -> Tensor:
    return LogBase.apply(to_floating(x, "log10"), base=10)


def atan(x: Tensor) -> Tensor:
    return Atan.apply(to_floating(x, "atan"))


def asin(x: Tensor) -> Tensor:
    """Inverse sine; nan outside [-1, 1] and an infinite gradient at +-1, as in PyTorch."""
    return Asin.apply(to_floating(x, "asin"))


def acos(x: Tensor) -> Tensor:
    """Inverse cosine; nan outside [-1, 1] and an infinite gradient at +-1, as in PyTorch."""
    return Acos.apply(to_floating(x, "acos"))


def sinh(x: Tensor) -> Tensor:
    return Sinh.apply(to_floating(x, "sinh"))


def cosh(x: Tensor) -> Tensor:
    return Cosh.apply(to_floating(x, "cosh"))


arctan, arcsin, arccos = atan, asin, acos


def _floating_operands(a: Any, b: Any, where: str) -> tuple[Tensor, Tensor]:
    """Both operands in their promoted dtype, integers taken to the default float dtype (``atan2`` of ints)."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{where}: expected at least one nerve.Tensor, got {type(a).__name__} and {type(b).__name__}")
    ta, tb = binary_operands(a, b)
    if ta.data.dtype.kind != "f":
        ta, tb = cast(ta, get_default_dtype()), cast(tb, get_default_dtype())
    return ta, tb


def atan2(input: Any, other: Any) -> Tensor:
    """The angle of the point (other, input) in (-pi, pi], elementwise with broadcasting."""
    return Atan2.apply(*_floating_operands(input, other, "atan2"))


arctan2 = atan2


def hypot(input: Any, other: Any) -> Tensor:
    """``sqrt(input^2 + other^2)`` elementwise with broadcasting."""
    return Hypot.apply(*_floating_operands(input, other, "hypot"))


def logit(x: Tensor, eps: float | None = None) -> Tensor:
    """``log(x / (1 - x))``, the inverse of ``sigmoid``; with ``eps``, ``x`` is first clamped to [eps, 1 - eps]
    (so the gradient is zero outside that range, as in PyTorch)."""
    x = to_floating(x, "logit")
    if eps is not None:
        x = clamp(x, eps, 1 - eps)
    return sub(log(x), log1p(neg(x)))


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """``input + weight * (end - input)``: linear interpolation (``weight`` a number or a broadcasting tensor)."""
    return add(input, mul(weight, sub(end, input)))


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
    """``input + value * tensor1 * tensor2`` with broadcasting."""
    return add(input, mul(tensor1, tensor2), alpha=value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
    """``input + value * tensor1 / tensor2`` with broadcasting."""
    return add(input, div(tensor1, tensor2), alpha=value)


def nan_to_num(x: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """NaN to ``nan``, +inf to ``posinf`` and -inf to ``neginf`` (by default the dtype's largest and smallest
    finite values). Integer and bool tensors come back as a copy."""
    if x.data.dtype.kind != "f":
        return _wrap(x.data.copy())  # a new tensor, as PyTorch's
    return NanToNum.apply(x, nan=nan, posinf=posinf, neginf=neginf)


def square(x: Tensor) -> Tensor:
    return PowScalar.apply(x, p=2)


def reciprocal(x: Tensor) -> Tensor:
    return div(1.0, x)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum; on ties each input receives half of the gradient."""
    return Maximum.apply(*binary_operands(a, b))


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum; on ties each input receives half of the gradient."""
    return Minimum.apply(*binary_operands(a, b))


def clamp(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """Limit values to ``[min, max]``; the gradient passes where ``min <= x <= max``."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    bounds = [b.data if isinstance(b, Tensor) else b for b in (min, max) if b is not None]
    dtype = result_type(x.data, *bounds)  # e.g. an int tensor clamped at 0.5 is float32, as in PyTorch
    if x.data.dtype != dtype:
        x = cast(x, dtype)
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # NOTE: PyTorch gives x the whole gradient where min <= x <= max (ties included) and a bound only
        # where it strictly wins, so select with ``where``; maximum/minimum would split ties 50/50.
        out = x
        if min is not None:
            out = where(lt(out, min), min, out)
        if max is not None:
            out = where(gt(out, max), max, out)
        return out
    # Bounds in x's dtype, so that NumPy cannot promote (a np.float64 bound would make the result float64);
    # a bound beyond the dtype's range becomes +-inf, which clamps (and passes gradients) the same way.
    with np.errstate(over="ignore"):
        lo = None if min is None else dtype.type(min)
        hi = None if max is None else dtype.type(max)
    return Clamp.apply(x, lo=lo, hi=hi)


clip = clamp


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Pick ``a`` where ``condition`` holds and ``b`` elsewhere (all three broadcast)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    return Where.apply(*binary_operands(a, b), cond=cond)


def cast(x: Tensor, dtype: Any) -> Tensor:
    dtype = as_dtype(dtype)
    if x.data.dtype == dtype:
        return x
    if dtype.kind != "f":
        return _wrap(x.data.astype(dtype))  # integer and bool results carry no gradient
    return Cast.apply(x, dtype=dtype)


def clone(x: Tensor) -> Tensor:
    return Clone.apply(x)


# ---------------------------------------------------------------------- non-differentiable functions


def _compare(a: Any, b: Any, fn: Any) -> Tensor:
    ta, tb = binary_operands(a, b)
    return _wrap(np.asarray(fn(ta.data, tb.data)))


def eq(a: Any, b: Any) -> Tensor:
    return _compare(a, b, np.equal)


def ne(a: Any, b: Any) -> Tensor:
    return _compare(a, b, np.not_equal)


def lt(a: Any, b: Any) -> Tensor:
    return _compare(a, b, np.less)


def le(a: Any, b: Any) -> Tensor:
    return _compare(a, b, np.less_equal)


def gt(a: Any, b: Any) -> Tensor:
    return _compare(a, b, np.greater)


def ge(a: Any, b: Any) -> Tensor:
    return _compare(a, b, np.greater_equal)


def logical_and(a: Any, b: Any) -> Tensor:
    return _compare(a, b, np.logical_and)


def logical_or(a: Any, b: Any) -> Tensor:
    return _compare(a, b, np.logical_or)


def logical_xor(a: Any, b: Any) -> Tensor:
    return _compare(a, b, np.logical_xor)


def logical_not(x: Tensor) -> Tensor:
    return _wrap(np.logical_not(x.data))


def floor_divide(a: Any, b: Any) -> Tensor:
    return _compare(a, b, np.floor_divide)


def remainder(a: Any, b: Any) -> Tensor:
    """``a % b`` with the sign of ``b``; differentiable like PyTorch's (d/da = 1, d/db = -floor(a / b))."""
    return Remainder.apply(*binary_operands(a, b))


def sign(x: Tensor) -> Tensor:
    if x.data.dtype == np.bool_:  # NumPy has no bool sign; PyTorch's is the identity
        return _wrap(x.data.copy())
    return PiecewiseConstant.apply(x, fn=np.sign)


def floor(x: Tensor) -> Tensor:
    return PiecewiseConstant.apply(x, fn=np.floor)


def ceil(x: Tensor) -> Tensor:
    return PiecewiseConstant.apply(x, fn=np.ceil)


def round(x: Tensor, decimals: int = 0) -> Tensor:
    return PiecewiseConstant.apply(x, fn=lambda a: np.round(a, decimals))


def trunc(x: Tensor) -> Tensor:
    return PiecewiseConstant.apply(x, fn=np.trunc)


def frac(x: Tensor) -> Tensor:
    """``x - trunc(x)``, the fractional part with the sign of ``x``: gradient 1, as in PyTorch."""
    return sub(x, trunc(x))


def isnan(x: Tensor) -> Tensor:
    return _wrap(np.isnan(x.data))


def isinf(x: Tensor) -> Tensor:
    return _wrap(np.isinf(x.data))


def isfinite(x: Tensor) -> Tensor:
    return _wrap(np.isfinite(x.data))

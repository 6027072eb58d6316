"""Reductions and selection: sum, mean, prod, amax/amin, max/min with indices, var/std, logsumexp, cumsum,
cumprod, norm, arg-reductions, sort/argsort/topk, count_nonzero and the closeness tests.

Primitives: ``Sum``, ``Mean``, ``Prod``, ``Amax`` (ties share the gradient evenly, as in PyTorch), ``Gather``,
``CumSum``, ``CumProd``. ``max(dim)``, ``sort`` and ``topk`` are composed of an index computation and a gather
(the gradient goes to the selected positions); ``var``, ``std``, ``logsumexp`` and ``norm`` are composites.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from nerve._dtypes import int64
from nerve.autograd.function import Function
from nerve.autograd.higher_order import backward_by_composite
from nerve.ops._util import normalize_dim, normalize_dims
from nerve.ops.elementwise import Where, clone, where
from nerve.ops.shape import Expand, GetItem, PlaceAt, Reshape
from nerve.tensor import Tensor, _raw, _wrap

Dims = int | Sequence[int] | None


def _expand_grad(g: np.ndarray, shape: tuple[int, ...], axes: tuple[int, ...] | None, keepdim: bool) -> np.ndarray:
    """Broadcast a reduced gradient back over the reduced axes (a read-only view, no copy)."""
    if not keepdim and axes is not None and len(shape):
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


def _expand_grad_graph(g: Tensor, shape: tuple[int, ...], axes: tuple[int, ...] | None, keepdim: bool) -> Tensor:
    """:func:`_expand_grad` as differentiable ops."""
    if not keepdim and axes is not None and len(shape):
        g = Reshape.apply(g, shape=np.expand_dims(g.data, axes).shape)
    elif axes is None and len(shape):
        g = Reshape.apply(g, shape=(1,) * len(shape))
    return Expand.apply(g, shape=shape)


class Sum(Function):
    def forward(self, x: np.ndarray, axes: tuple[int, ...] | None, keepdim: bool) -> np.ndarray:
        self.shape, self.axes, self.keepdim = x.shape, axes, keepdim
        return x.sum(axis=axes, keepdims=keepdim)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (_expand_grad(g, self.shape, self.axes, self.keepdim),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (_expand_grad_graph(g, self.shape, self.axes, self.keepdim),)


class Mean(Function):
    def forward(self, x: np.ndarray, axes: tuple[int, ...] | None, keepdim: bool) -> np.ndarray:
        self.shape, self.axes, self.keepdim = x.shape, axes, keepdim
        self.count = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
        if self.count == 0:
            with np.errstate(invalid="ignore"):  # the mean of nothing is nan, as in PyTorch (NumPy also warns)
                return x.sum(axis=axes, keepdims=keepdim) / x.dtype.type(0)
        return x.mean(axis=axes, keepdims=keepdim)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (_expand_grad(g / g.dtype.type(self.count), self.shape, self.axes, self.keepdim),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (_expand_grad_graph(g / self.count, self.shape, self.axes, self.keepdim),)


class Amax(Function):
    """Maximum (or, with ``largest=False``, minimum) over ``axes``; tied elements share the gradient."""

    def forward(self, x: np.ndarray, axes: tuple[int, ...] | None, keepdim: bool, largest: bool) -> np.ndarray:
        out = x.max(axis=axes, keepdims=True) if largest else x.min(axis=axes, keepdims=True)
        self.saved = (x == out,)
        self.axes, self.keepdim = axes, keepdim
        if not keepdim:
            return out.reshape(_reduced_shape(x.shape, axes))
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (hit,) = self.saved
        count = hit.sum(axis=self.axes, keepdims=True)
        if not self.keepdim:
            g = g.reshape(count.shape)
        return ((hit * (g / count.astype(g.dtype))).astype(g.dtype, copy=False),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        (hit,) = self.saved
        share = hit / hit.sum(axis=self.axes, keepdims=True)  # ties split the gradient evenly
        return (_expand_grad_graph(g, hit.shape, self.axes, self.keepdim) * _wrap(share.astype(g.dtype)),)


def _reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    if axes is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axes)


class Gather(Function):
    """``out[i][j] = x[i][index[i][j]]`` along ``axis`` (``torch.gather``); backward scatters back.

    ``unique`` promises no index repeats within a slice (a sort permutation), so backward may assign.
    """

    def forward(self, x: np.ndarray, index: np.ndarray, axis: int, unique: bool = False) -> np.ndarray:
        self.saved = (index,)
        self.shape, self.axis, self.unique = x.shape, axis, unique
        # As in torch, the index may be smaller than the input along the other dims: gather from that corner.
        self.window = tuple(slice(None) if d == axis else slice(0, n) for d, n in enumerate(index.shape))
        return np.take_along_axis(x[self.window], index, axis=axis)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (index,) = self.saved
        gx = np.zeros(self.shape, dtype=g.dtype)
        corner = gx[self.window]  # a view: writing into it fills gx
        if self.unique or index.shape[self.axis] == 1:  # one index per slice (max/min along a dim): no duplicates
            np.put_along_axis(corner, index, g, axis=self.axis)
        else:
            _scatter_add_along_axis(corner, index, g, self.axis)
        return (gx,)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        (index,) = self.saved
        return (PlaceAt.apply(g, shape=self.shape, index=along_axis(index, self.axis), accumulate=not self.unique),)


def along_axis(index: np.ndarray, axis: int) -> tuple[np.ndarray, ...]:
    """The fancy index that ``take_along_axis(a, index, axis)`` reads: ``index`` on ``axis``, aranges elsewhere."""
    grids = list(np.indices(index.shape, sparse=True))
    grids[axis] = index
    return tuple(grids)


def _scatter_add_along_axis(out: np.ndarray, index: np.ndarray, src: np.ndarray, axis: int) -> None:
    np.add.at(out, along_axis(index, axis), src)


class CumSum(Function):
    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        self.axis = axis
        return np.cumsum(x, axis=axis).reshape(x.shape)  # reshape: NumPy turns a 0-d input into shape (1,)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        if g.ndim == 0:
            return (g,)
        # d/dx_j sum_{i >= j} g_i: a reversed cumulative sum of the incoming gradient
        flipped = np.flip(g, axis=self.axis)
        return (np.flip(np.cumsum(flipped, axis=self.axis), axis=self.axis),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        if g.ndim == 0:
            return (g,)
        flip = (slice(None),) * self.axis + (slice(None, None, -1),)
        reverse = functools.partial(GetItem.apply, index=flip, accumulate=False)
        return (reverse(CumSum.apply(reverse(g), axis=self.axis)),)


def _to_last(a: np.ndarray, axis: int | None) -> np.ndarray:
    """``a`` with ``axis`` moved last (flattened when None): the layout the scan-based backwards work on."""
    return a.reshape(-1) if axis is None else np.moveaxis(a, axis, -1)


def _exclusive_cumprod(a: np.ndarray) -> np.ndarray:
    """Products of the elements strictly before each position along the last axis."""
    ones = np.ones_like(a[..., :1])
    return np.cumprod(np.concatenate([ones, a[..., :-1]], axis=-1), axis=-1)


def _products_of_others(a: Tensor) -> Tensor:
    """``out[..., i] = prod_{j != i} a[..., j]`` as differentiable ops (exact with zeros): the product along the
    last axis of n copies of ``a``, copy i with a_i replaced by 1."""
    n = a.shape[-1]
    rows = Where.apply(_wrap(np.ones((), a.data.dtype)), a.unsqueeze(-2).expand(*a.shape[:-1], n, n),
                       cond=np.eye(n, dtype=bool))
    return Prod.apply(rows, axis=rows.ndim - 1, keepdim=False)


class Prod(Function):
    def forward(self, x: np.ndarray, axis: int | None, keepdim: bool) -> np.ndarray:
        self.saved = (x,)
        self.axis, self.keepdim = axis, keepdim
        return x.prod(axis=axis, keepdims=keepdim)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (x,) = self.saved
        a = _to_last(x, self.axis)
        # NOTE: the product of the *other* elements (before times after), not out / x: exact with one zero
        # (its position gets the product of the rest) or several (everything gets 0), as in torch.
        others = _exclusive_cumprod(a) * np.flip(_exclusive_cumprod(np.flip(a, -1)), -1)
        if self.axis is None:
            return ((others * g).reshape(x.shape),)
        if not self.keepdim:
            g = np.expand_dims(g, self.axis)
        return (np.moveaxis(others, -1, self.axis) * g,)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        (x,) = self.parents
        others = _products_of_others(x.reshape(-1) if self.axis is None else x.movedim(self.axis, -1))
        if self.axis is None:
            return ((others * g).reshape(x.shape),)
        return (others.movedim(-1, self.axis) * (g if self.keepdim else g.unsqueeze(self.axis)),)


class CumProd(Function):
    def forward(self, x: np.ndarray, axis: int) -> np.ndarray:
        self.axis = axis
        out = np.cumprod(x, axis=axis).reshape(x.shape)  # reshape: NumPy turns a 0-d input into shape (1,)
        self.saved = (x, out)
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        x, out = self.saved
        if g.ndim == 0 or g.size == 0:  # one element (d out / d x = 1) or none
            return (g,)
        a, o, gm = _to_last(x, self.axis), _to_last(out, self.axis), _to_last(g, self.axis)
        n = a.shape[-1]
        pos = np.arange(n)
        zero = a == 0
        # first zero of each slice (n when there is none): before it out_k / x_i is exact, after it every
        # derivative holds the factor x_z = 0, and at it the derivative is out_{z-1} * prod(x_{z+1..k}).
        z = np.where(zero.any(-1, keepdims=True), zero.argmax(-1, keepdims=True), n)
        tail_sum = np.flip(np.cumsum(np.flip(gm * o, -1), -1), -1)  # sum_{k >= i} g_k out_k
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = np.where(pos < z, tail_sum / np.where(zero, 1, a), 0)
        before = np.where(z > 0, np.take_along_axis(o, np.clip(z - 1, 0, n - 1), -1), 1)
        after = np.cumprod(np.where(pos <= z, 1, a), -1)
        at_zero = before * (gm * after * (pos >= z)).sum(-1, keepdims=True)
        grad = np.where(pos == z, at_zero, grad).astype(g.dtype, copy=False)
        return (np.moveaxis(grad, -1, self.axis),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        def composite(x: Tensor) -> Tensor:  # out_k = prod_i (x_i if i <= k else 1): rows of a lower triangle
            if x.ndim == 0:
                return x
            a = x.movedim(self.axis, -1)
            n = a.shape[-1]
            rows = Where.apply(a.unsqueeze(-2).expand(*a.shape[:-1], n, n), _wrap(np.ones((), a.data.dtype)),
                               cond=np.tri(n, dtype=bool))
            return Prod.apply(rows, axis=rows.ndim - 1, keepdim=False).movedim(-1, self.axis)

        return backward_by_composite(self, g, composite)


# ---------------------------------------------------------------------------------- public functions


class MaxResult(NamedTuple):
    """``(values, indices)`` as returned by ``max``/``min`` along a dim, ``sort`` and ``topk``."""

    values: Tensor
    indices: Tensor


def sum(x: Tensor, dim: Dims = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Sum over ``dim`` (all elements when None). Integer and bool tensors sum to int64, without grad."""
    axes = normalize_dims(dim, x.ndim, "sum")
    if dtype is not None:
        x = x.to(dtype)
    if x.data.dtype.kind in "biu":
        return _wrap(np.asarray(x.data.sum(axis=axes, keepdims=keepdim, dtype=int64)))
    return Sum.apply(x, axes=axes, keepdim=keepdim)


def mean(x: Tensor, dim: Dims = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Arithmetic mean over ``dim`` (all elements when None)."""
    if dtype is not None:
        x = x.to(dtype)
    if x.data.dtype.kind != "f":
        raise TypeError(f"mean: expected a floating-point tensor, got dtype {x.data.dtype}; pass dtype=")
    return Mean.apply(x, axes=normalize_dims(dim, x.ndim, "mean"), keepdim=keepdim)


def amax(x: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor:
    """Maximum over ``dim``; tied maxima share the gradient evenly."""
    _check_nonempty(x, "amax")
    return Amax.apply(x, axes=normalize_dims(dim, x.ndim, "amax"), keepdim=keepdim, largest=True)


def amin(x: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor:
    """Minimum over ``dim``; tied minima share the gradient evenly."""
    _check_nonempty(x, "amin")
    return Amax.apply(x, axes=normalize_dims(dim, x.ndim, "amin"), keepdim=keepdim, largest=False)


def _check_nonempty(x: Tensor, op: str) -> None:
    if x.data.size == 0:
        raise ValueError(f"{op}: cannot reduce an empty tensor of shape {tuple(x.shape)}")


def _arg_reduce(x: Tensor, dim: int | None, keepdim: bool, op: str, fn: Any) -> np.ndarray:
    _check_nonempty(x, op)
    if dim is None:
        idx = np.asarray(fn(x.data.reshape(-1)))
        return idx.reshape((1,) * x.ndim) if keepdim else idx
    axis = normalize_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return np.zeros((), dtype=int64)
    return np.asarray(fn(x.data, axis=axis, keepdims=keepdim))


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the maximum (the first one on ties), flattened when ``dim`` is None."""
    return _wrap(_arg_reduce(x, dim, keepdim, "argmax", np.argmax).astype(int64, copy=False))


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the minimum (the first one on ties), flattened when ``dim`` is None."""
    return _wrap(_arg_reduce(x, dim, keepdim, "argmin", np.argmin).astype(int64, copy=False))


def _max_min(x: Tensor, dim: Any, keepdim: bool, largest: bool) -> Tensor | MaxResult:
    op = "max" if largest else "min"
    if dim is None:
        return amax(x) if largest else amin(x)
    if isinstance(dim, Tensor):
        raise TypeError(f"{op}: use nerve.maximum/minimum for the elementwise {op} of two tensors")
    axis = normalize_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return MaxResult(x, _wrap(np.zeros((), dtype=int64)))
    idx = _arg_reduce(x, axis, True, op, np.argmax if largest else np.argmin)
    values = gather(x, axis, _wrap(idx))
    indices = _wrap(idx)
    if not keepdim:
        values = values.squeeze(axis)
        indices = _wrap(idx.squeeze(axis))
    return MaxResult(values, indices)


def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The maximum of all elements, or ``(values, indices)`` along ``dim``."""
    return _max_min(x, dim, keepdim, largest=True)


def min(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The minimum of all elements, or ``(values, indices)`` along ``dim``."""
    return _max_min(x, dim, keepdim, largest=False)


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """Pick values along ``dim`` by ``index`` (same number of dims as ``x``), as ``torch.gather``."""
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got dtype {idx.dtype}")
    if idx.ndim != x.ndim:
        raise ValueError(
            f"gather: index of shape {idx.shape} has {idx.ndim} dims but input of shape {tuple(x.shape)} has {x.ndim}"
        )
    axis = normalize_dim(dim, x.ndim, "gather")
    if builtins.any(i > n for d, (i, n) in enumerate(zip(idx.shape, x.shape)) if d != axis):
        raise ValueError(
            f"gather: index of shape {idx.shape} is larger than input of shape {tuple(x.shape)} outside dim {dim}"
        )
    check_index_range(idx, x.shape[axis] if x.ndim else 1, axis, "gather")
    return Gather.apply(x, index=idx, axis=axis)


def check_index_range(idx: np.ndarray, n: int, axis: int, op: str) -> None:
    """Refuse indices outside ``[0, n)``: NumPy would wrap a negative one and report a large one without
    naming ``op``; torch refuses both."""
    if idx.size:
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= n:
            raise IndexError(f"{op}: index {hi if hi >= n else lo} is out of bounds for dimension {axis} with size "
                             f"{n}")


def var(x: Tensor, dim: Dims = None, *, correction: float = 1, keepdim: bool = False,
        unbiased: bool | None = None) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (1 by default: the unbiased estimate)."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    axes = normalize_dims(dim, x.ndim, "var")
    n = x.data.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
    centered = x - mean(x, dim=axes, keepdim=True)
    squares = sum(centered * centered, dim=axes, keepdim=keepdim)
    if n - correction <= 0:
        # NOTE: no degrees of freedom (e.g. one sample): nan like torch, without dividing by zero, whose
        # backward would multiply inf by the zero deviations (torch gives inf, not nan, when n >= 2).
        return squares * float("nan")
    return squares / (n - correction)


def std(x: Tensor, dim: Dims = None, *, correction: float = 1, keepdim: bool = False,
        unbiased: bool | None = None) -> Tensor:
    """Standard deviation: the square root of ``var``."""
    return var(x, dim, correction=correction, keepdim=keepdim, unbiased=unbiased).sqrt()


def logsumexp(x: Tensor, dim: Dims, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim``, shifted by the (constant) maximum so it cannot overflow."""
    axes = normalize_dims(dim, x.ndim, "logsumexp")
    m = x.data.max(axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(x.data.dtype, copy=False)
    shift = _wrap(m)
    out = ((x - shift).exp().sum(dim=axes, keepdim=True)).log() + shift
    return out if keepdim else out.reshape(_reduced_shape(x.shape, axes))


def cumsum(x: Tensor, dim: int) -> Tensor:
    """Cumulative sum along ``dim``."""
    return CumSum.apply(x, axis=normalize_dim(dim, x.ndim, "cumsum"))


def prod(x: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """Product over ``dim`` (all elements when None); the gradient is exact with zeros in the input.
    Integer and bool tensors multiply to int64, without grad."""
    axis = None if dim is None else normalize_dim(dim, x.ndim, "prod")
    if dtype is not None:
        x = x.to(dtype)
    if x.data.dtype.kind in "biu":  # int64 unless a dtype was asked for, as in PyTorch
        out = int64 if dtype is None else x.data.dtype
        return _wrap(np.asarray(x.data.prod(axis=axis, keepdims=keepdim, dtype=out)))
    if axis is not None and x.ndim == 0:
        axis = None
    return Prod.apply(x, axis=axis, keepdim=keepdim)


def cumprod(x: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Cumulative product along ``dim``; the gradient is exact with zeros in the input, as in torch."""
    axis = normalize_dim(dim, x.ndim, "cumprod")
    if dtype is not None:
        x = x.to(dtype)
    if x.data.dtype.kind in "biu":
        out = int64 if dtype is None else x.data.dtype
        return _wrap(np.cumprod(x.data, axis=axis, dtype=out).reshape(x.shape))
    return CumProd.apply(x, axis=axis)


def _sort_indices(a: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """A stable argsort: ties keep their input order in both directions, and nan sorts as the largest
    value (last ascending, first descending), as torch's CPU sort does."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    # sorting the reversed array ascending and reversing back puts ties in input order again
    n = a.shape[axis]
    reversed_order = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
    return n - 1 - np.flip(reversed_order, axis)


def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> MaxResult:
    """``(values, indices)`` sorted along ``dim``; values carry the gradient back to where they came from.

    The sort is always stable (``stable=False`` allows any order of ties; torch's CPU sort keeps them too).
    """
    axis = normalize_dim(dim, x.ndim, "sort")
    if x.ndim == 0:
        return MaxResult(clone(x), _wrap(np.zeros((), dtype=int64)))
    idx = _sort_indices(x.data, axis, descending).astype(int64, copy=False)
    return MaxResult(Gather.apply(x, index=idx, axis=axis, unique=True), _wrap(idx))


def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``x`` along ``dim`` (stable, see ``sort``)."""
    axis = normalize_dim(dim, x.ndim, "argsort")
    if x.ndim == 0:
        return _wrap(np.zeros((), dtype=int64))
    return _wrap(_sort_indices(x.data, axis, descending).astype(int64, copy=False))


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> MaxResult:
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices, best first.

    ``sorted=False`` returns them sorted as well (torch leaves the order unspecified). Which of several tied
    elements is chosen may differ from torch, whose choice is unspecified.
    """
    axis = normalize_dim(dim, x.ndim, "topk")
    size = x.shape[axis] if x.ndim else 1
    if not isinstance(k, int | np.integer) or not 0 <= k <= size:
        raise ValueError(f"topk: k must be an integer in [0, {size}] (the size of dim {dim}), got {k!r}")
    if x.ndim == 0:  # torch returns the element itself for k = 0 as well
        return MaxResult(clone(x), _wrap(np.zeros((), dtype=int64)))
    order = _sort_indices(x.data, axis, descending=largest)
    idx = np.ascontiguousarray(np.take(order, np.arange(k), axis=axis)).astype(int64, copy=False)
    return MaxResult(Gather.apply(x, index=idx, axis=axis, unique=True), _wrap(idx))


def count_nonzero(x: Tensor, dim: Dims = None) -> Tensor:
    """The number of non-zero elements over ``dim`` (all when None), as int64."""
    axes = normalize_dims(dim, x.ndim, "count_nonzero")
    return _wrap(np.asarray(np.count_nonzero(x.data, axis=axes), dtype=int64))


def _same_dtype(a: Tensor, b: Tensor, op: str) -> None:
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        bad = b if isinstance(a, Tensor) else a
        raise TypeError(f"{op}: expected two tensors, got {type(bad).__name__}")
    if a.data.dtype != b.data.dtype:
        raise TypeError(f"{op}: expected tensors of the same dtype, got {a.data.dtype} and {b.data.dtype}")


def isclose(a: Tensor, b: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    """Elementwise ``|a - b| <= atol + rtol * |b|`` (equal infinities are close) as a bool tensor."""
    _same_dtype(a, b, "isclose")
    return _wrap(np.asarray(np.isclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(a: Tensor, b: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """Whether every element of ``a`` is close to ``b`` (see ``isclose``), as a Python bool."""
    return builtins.bool(np.allclose(_raw(a), _raw(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a: Tensor, b: Tensor) -> bool:
    """True when ``a`` and ``b`` have the same shape and the same elements (nan is never equal)."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        bad = b if isinstance(a, Tensor) else a
        raise TypeError(f"equal: expected two tensors, got {type(bad).__name__}")
    return a.shape == b.shape and builtins.bool(np.array_equal(a.data, b.data))


def norm(x: Tensor, p: float | str = 2, dim: Dims = None, keepdim: bool = False) -> Tensor:
    """Vector p-norm over ``dim`` (``'fro'`` is the 2-norm); ``p=inf`` is the largest magnitude."""
    if p == "fro":
        p = 2
    if p == float("inf"):
        return amax(x.abs(), dim, keepdim)
    if p == float("-inf"):  # the smallest magnitude (the generic root below gave 1 and a nan gradient)
        return amin(x.abs(), dim, keepdim)
    if p == 0:  # the number of nonzero entries, gradient zero (1 / p below divided by zero)
        return sum(x.abs().sign(), dim, keepdim)
    if p == 1:
        return sum(x.abs(), dim, keepdim)
    if p < 1:
        # NOTE: below p = 1 the derivative of |x|^p is infinite at x = 0 (nan after the chain rule); torch
        # defines it as 0, so zero entries enter as constants (|0|^p is 0 for p > 0 and inf for p < 0).
        a = x.abs()
        nz = a.data != 0
        powered = sum(where(nz, where(nz, a, 1.0) ** p, 0.0 if p > 0 else float("inf")), dim, keepdim)
    else:
        powered = sum(x * x, dim, keepdim) if p == 2 else sum(x.abs() ** p, dim, keepdim)
    # NOTE: at a zero vector the root's derivative is infinite and the chain gives 0 * inf = nan; torch
    # defines the gradient there as 0. Taking the root of 1 instead (masked on both sides) gives exactly that.
    nonzero = powered.data != 0
    safe = where(nonzero, powered, 1.0)
    root = safe.sqrt() if p == 2 else safe ** (1.0 / float(p))
    return where(nonzero, root, 0.0)


def all(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    axis = None if dim is None else normalize_dim(dim, x.ndim, "all")
    return _wrap(np.asarray(np.all(x.data, axis=axis, keepdims=keepdim)))


def any(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    axis = None if dim is None else normalize_dim(dim, x.ndim, "any")
    return _wrap(np.asarray(np.any(x.data, axis=axis, keepdims=keepdim)))

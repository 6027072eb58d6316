"""Indexing by tensors of indices or masks: scatter, scatter_add, index_add, index_select, take_along_dim,
masked_select, nonzero/argwhere and one-argument ``where``.

Primitives: ``Scatter`` (assigning or adding ``src`` into a copy of ``x``) and ``IndexAdd``. ``index_select``,
``take_along_dim`` and ``masked_select`` are composites of indexing, ``expand`` and ``gather``; ``nonzero`` and
its relatives return integer tensors without gradient.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from nerve._dtypes import int64
from nerve.autograd.function import Function
from nerve.autograd.higher_order import backward_by_composite
from nerve.ops import elementwise
from nerve.ops._util import normalize_dim
from nerve.ops.reduce import _scatter_add_along_axis, along_axis, check_index_range, gather
from nerve.ops.shape import GetItem, PlaceAt, expand, getitem
from nerve.tensor import Tensor, _wrap


def _window(shape: tuple[int, ...]) -> tuple[slice, ...]:
    """The leading corner of an array that an index of ``shape`` addresses (torch lets it be smaller)."""
    return tuple(slice(0, n) for n in shape)


class Scatter(Function):
    """``out = x`` with ``out[..., index[i], ...] = src[i]`` along ``axis`` (added instead with ``accumulate``)."""

    def forward(self, x: np.ndarray, src: np.ndarray, index: np.ndarray, axis: int, accumulate: bool) -> np.ndarray:
        self.saved = (index,)
        self.src_shape, self.axis, self.accumulate = src.shape, axis, accumulate
        # the index addresses the leading corner of src, and of x outside ``axis``
        self.x_window = tuple(slice(None) if d == axis else w for d, w in enumerate(_window(index.shape)))
        out = x.copy()
        values = src[_window(index.shape)]
        if accumulate:
            _scatter_add_along_axis(out[self.x_window], index, values, axis)
        else:
            np.put_along_axis(out[self.x_window], index, values, axis=axis)
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        (index,) = self.saved
        gx = gsrc = None
        if self.needs_input_grad[0]:
            gx = g
            if not self.accumulate:  # overwritten elements no longer depend on x
                gx = g.copy()
                np.put_along_axis(gx[self.x_window], index, 0, axis=self.axis)
        if self.needs_input_grad[1]:
            # every src element routed through the index gets the gradient of where it landed (torch's rule,
            # also for the losers of duplicate indices in scatter)
            gsrc = np.zeros(self.src_shape, dtype=g.dtype)
            gsrc[_window(index.shape)] = np.take_along_axis(g[self.x_window], index, axis=self.axis)
        return gx, gsrc

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        (index,) = self.saved
        places = along_axis(index, self.axis)  # in x: its window starts at the origin

        def composite(x: Tensor, src: Tensor) -> Tensor:
            if not self.accumulate:  # the overwritten elements of x drop out
                kept = np.ones(x.shape, dtype=x.data.dtype)
                kept[places] = 0
                x = x * _wrap(kept)
            values = GetItem.apply(src, index=_window(index.shape), accumulate=False)
            return x + PlaceAt.apply(values, shape=x.shape, index=places, accumulate=self.accumulate)

        return backward_by_composite(self, g, composite)


class IndexAdd(Function):
    """``out = x`` with ``alpha * source`` slices added at ``index`` along ``axis`` (repeats accumulate)."""

    def forward(self, x: np.ndarray, source: np.ndarray, index: np.ndarray, axis: int, alpha: float) -> np.ndarray:
        self.saved = (index,)
        self.axis, self.alpha = axis, alpha
        out = x.copy()
        scaled = source * source.dtype.type(alpha) if alpha != 1 else source
        np.add.at(np.moveaxis(out, axis, 0), index, np.moveaxis(scaled, axis, 0))
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        (index,) = self.saved
        gsource = None
        if self.needs_input_grad[1]:
            gsource = np.take(g, index, axis=self.axis)
            if self.alpha != 1:
                gsource = gsource * g.dtype.type(self.alpha)
        return g, gsource

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        (index,) = self.saved
        places = (slice(None),) * self.axis + (index,)
        return (g, GetItem.apply(g, index=places, accumulate=True) * self.alpha if self.needs_input_grad[1] else None)


# ---------------------------------------------------------------------------------- public functions


def _int_index(index: Any, op: str) -> np.ndarray:
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {idx.dtype}")
    return idx


def _scatter(x: Tensor, dim: int, index: Any, src: Any, op: str, accumulate: bool) -> Tensor:
    idx = _int_index(index, op)
    if not isinstance(src, Tensor):  # a scalar value, as in ``scatter_(1, idx, 1.0)``: broadcast, no gradient
        src = _wrap(np.full(idx.shape, src, dtype=x.data.dtype))
    if src.data.dtype != x.data.dtype:
        raise TypeError(f"{op}: expected src of the input's dtype {x.data.dtype}, got {src.data.dtype}")
    if not idx.ndim == x.ndim == src.ndim:
        raise ValueError(f"{op}: index of shape {idx.shape}, input of shape {tuple(x.shape)} and src of shape "
                         f"{tuple(src.shape)} must have the same number of dims")
    axis = normalize_dim(dim, x.ndim, op)
    if builtins.any(i > s or (d != axis and i > n) for d, (i, n, s) in enumerate(zip(idx.shape, x.shape, src.shape))):
        raise ValueError(f"{op}: index of shape {idx.shape} must be no larger than src of shape {tuple(src.shape)}, "
                         f"nor than the input of shape {tuple(x.shape)} outside dim {dim}")
    if x.ndim == 0:  # a 0-d scatter replaces (or adds to) the one element, index 0
        check_index_range(idx.reshape(1), 1, 0, op)
        return Scatter.apply(x.reshape(1), src.reshape(1), index=idx.reshape(1), axis=0,
                             accumulate=accumulate).reshape(())
    check_index_range(idx, x.shape[axis], axis, op)
    return Scatter.apply(x, src, index=idx, axis=axis, accumulate=accumulate)


def scatter(x: Tensor, dim: int, index: Tensor, src: Tensor | float) -> Tensor:
    """A copy of ``x`` with ``src`` (a tensor or a scalar) written at ``index`` along ``dim``, as
    ``torch.scatter``; which duplicate wins is unspecified (as in torch)."""
    return _scatter(x, dim, index, src, "scatter", accumulate=False)


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``x`` with ``src`` added at ``index`` along ``dim`` (duplicates accumulate)."""
    return _scatter(x, dim, index, src, "scatter_add", accumulate=True)


def _index_vector(x: Tensor, dim: int, index: Any, op: str) -> tuple[np.ndarray, int]:
    """A 0-d or 1-d integer index along ``dim`` as a 1-d array, checked against the size of that dim."""
    idx = _int_index(index, op)
    if idx.ndim > 1:
        raise ValueError(f"{op}: index must be 0-d or 1-d, got shape {idx.shape}")
    axis = normalize_dim(dim, x.ndim, op)
    check_index_range(idx, x.shape[axis] if x.ndim else 1, axis, op)
    return idx.reshape(-1), axis


def index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
    """A copy of ``x`` with ``alpha * source[i]`` added to slice ``index[i]`` along ``dim``."""
    idx, axis = _index_vector(x, dim, index, "index_add")
    if source.data.dtype != x.data.dtype:
        raise TypeError(f"index_add: expected source of the input's dtype {x.data.dtype}, got {source.data.dtype}")
    expected = tuple(len(idx) if d == axis else n for d, n in enumerate(x.shape))
    if tuple(source.shape) != expected and x.ndim:
        raise ValueError(f"index_add: source of shape {tuple(source.shape)} does not fit; expected {expected} (the "
                         f"input's shape with dim {dim} of the index's length {len(idx)})")
    if x.ndim == 0:
        return IndexAdd.apply(x.reshape(1), source.reshape(1), index=idx, axis=0, alpha=alpha).reshape(())
    return IndexAdd.apply(x, source, index=idx, axis=axis, alpha=alpha)


def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices ``index`` (0-d or 1-d) of ``x`` along ``dim``, repeats allowed (gradients add)."""
    idx, axis = _index_vector(x, dim, index, "index_select")
    if x.ndim == 0:
        return getitem(x.reshape(1), idx).reshape(())
    return getitem(x, (slice(None),) * axis + (idx,))


def take_along_dim(x: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` with broadcasting outside ``dim``; with ``dim=None`` both are flattened first."""
    idx = _int_index(indices, "take_along_dim")
    if dim is None:
        return gather(x.reshape(-1), 0, _wrap(idx.reshape(-1)))
    if idx.ndim != x.ndim:
        raise ValueError(f"take_along_dim: indices of shape {idx.shape} have {idx.ndim} dims but the input of "
                         f"shape {tuple(x.shape)} has {x.ndim}")
    axis = normalize_dim(dim, x.ndim, "take_along_dim")
    try:
        common = np.broadcast_shapes(*[tuple(1 if d == axis else n for d, n in enumerate(s))
                                       for s in (x.shape, idx.shape)])
    except ValueError:
        raise ValueError(f"take_along_dim: input of shape {tuple(x.shape)} and indices of shape {idx.shape} do not "
                         f"broadcast outside dim {dim}") from None
    x_shape = tuple(x.shape[d] if d == axis else n for d, n in enumerate(common))
    idx_shape = tuple(idx.shape[d] if d == axis else n for d, n in enumerate(common))
    xb = x if tuple(x.shape) == x_shape else expand(x, x_shape)
    return gather(xb, axis, _wrap(np.broadcast_to(idx, idx_shape)))


def masked_select(x: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``x`` where the bool ``mask`` holds (the two broadcast), as a 1-d tensor."""
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_select: mask must be a bool tensor, got dtype {m.dtype}")
    try:
        shape = np.broadcast_shapes(x.shape, m.shape)
    except ValueError:
        raise ValueError(f"masked_select: input of shape {tuple(x.shape)} and mask of shape {m.shape} do not "
                         "broadcast") from None
    xb = x if tuple(x.shape) == shape else expand(x, shape)
    return getitem(xb.reshape(-1), np.broadcast_to(m, shape).reshape(-1))


def nonzero(x: Tensor, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-d tensor per dim with ``as_tuple``
    (a 0-d input counts as 1-d there, as in torch)."""
    if as_tuple:
        return tuple(_wrap(i.astype(int64, copy=False)) for i in np.nonzero(np.atleast_1d(x.data)))
    return _wrap(np.argwhere(x.data).astype(int64, copy=False))


def argwhere(x: Tensor) -> Tensor:
    """``nonzero(x)``: an (n, ndim) int64 tensor of the indices of the non-zero elements."""
    return nonzero(x)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition`` holds and ``other`` elsewhere; with ``condition`` alone, the indices of its
    non-zero elements as a tuple (``nonzero(condition, as_tuple=True)``)."""
    if input is None and other is None:
        if not isinstance(condition, Tensor):
            raise TypeError(f"where: expected a tensor condition, got {type(condition).__name__}")
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: expected where(condition) or where(condition, input, other), got one of input "
                        "and other")
    return elementwise.where(condition, input, other)

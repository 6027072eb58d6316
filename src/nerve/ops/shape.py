"""Shape and indexing primitives: reshape, permute, expand, getitem, cat, pad.

Their VJPs move the gradient back without arithmetic: reshape back, permute by the inverse, sum over
expanded axes, scatter into zeros, split, crop. ``stack``, ``split``, ``chunk``, ``squeeze``,
``unsqueeze``, ``flatten``, ``transpose`` and ``repeat`` are composed from them.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from nerve._dtypes import promote_types
from nerve.autograd.function import Function
from nerve.autograd.grad_mode import grad_mode
from nerve.ops._util import normalize_dim, shape_arg, unbroadcast
from nerve.tensor import Tensor


class Reshape(Function):
    def forward(self, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (g.reshape(self.shape),)


class Permute(Function):
    def forward(self, x: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
        self.inverse = tuple(np.argsort(dims))
        return x.transpose(dims)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (g.transpose(self.inverse),)


class Expand(Function):
    def forward(self, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        self.shape = x.shape
        return np.broadcast_to(x, shape)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (unbroadcast(g, self.shape),)


class GetItem(Function):
    """``x[index]``. With ``accumulate`` the index may repeat elements, so backward must add, not assign."""

    def forward(self, x: np.ndarray, index: Any, accumulate: bool) -> np.ndarray:
        self.shape, self.accumulate = x.shape, accumulate
        self.saved = (index,)  # may hold index arrays: keep them where the engine frees them
        return x[index]

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (index,) = self.saved
        gx = np.zeros(self.shape, dtype=g.dtype)
        if self.accumulate:
            np.add.at(gx, index, g)
        else:
            gx[index] = g
        return (gx,)


class Cat(Function):
    def forward(self, *xs: np.ndarray, axis: int) -> np.ndarray:
        self.axis = axis
        self.bounds = np.cumsum([x.shape[axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=axis)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        parts = np.split(g, self.bounds, axis=self.axis)
        return tuple(p if need else None for p, need in zip(parts, self.needs_input_grad))


class ConstantPad(Function):
    """Pad with a constant (non-negative widths); backward crops the gradient back to the input."""

    def forward(self, x: np.ndarray, widths: tuple[tuple[int, int], ...], value: float) -> np.ndarray:
        self.window = tuple(slice(b, b + n) for (b, _), n in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=value)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (g[self.window],)


# ---------------------------------------------------------------------------------- public functions


def _unchanged(x: Tensor) -> Tensor:
    """A no-op reshape/permute/expand: ``x`` itself, but cut from the graph under ``no_grad`` (as torch's view)."""
    return x if grad_mode.enabled or not x.requires_grad else x.detach()


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """Same elements in a new shape; one dimension may be -1 (inferred)."""
    target = shape_arg(shape)
    n = x.data.size
    known = 1
    for s in target:
        if s != -1:
            known *= s
    if target.count(-1) > 1 or (target.count(-1) == 0 and known != n) or (
        target.count(-1) == 1 and (known == 0 or n % known)
    ):
        raise ValueError(
            f"reshape: shape {tuple(target)} is invalid for input of shape {tuple(x.shape)} ({n} elements)"
        )
    if target == x.data.shape:
        return _unchanged(x)
    return Reshape.apply(x, shape=target)


def permute(x: Tensor, *dims: Any) -> Tensor:
    """Reorder dimensions: output dim i is input dim ``dims[i]``."""
    d = shape_arg(dims)
    if len(d) != x.ndim:
        raise ValueError(f"permute: got {len(d)} dims {d} for a tensor of shape {tuple(x.shape)}")
    axes = tuple(normalize_dim(i, x.ndim, "permute") for i in d)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {d} must be a permutation of 0..{x.ndim - 1} for shape {tuple(x.shape)}")
    if axes == tuple(range(x.ndim)):
        return _unchanged(x)
    return Permute.apply(x, dims=axes)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    a = normalize_dim(dim0, x.ndim, "transpose")
    b = normalize_dim(dim1, x.ndim, "transpose")
    if a == b or x.ndim < 2:
        return _unchanged(x)
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return Permute.apply(x, dims=tuple(axes))


def expand(x: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to ``sizes`` without copying; -1 keeps a dimension, new dims may be prepended."""
    target = shape_arg(sizes)
    lead = len(target) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: cannot expand shape {tuple(x.shape)} to fewer dims {target}")
    resolved = []
    for i, s in enumerate(target):
        if s == -1:
            if i < lead:
                raise ValueError(f"expand: -1 is not allowed for the new leading dim {i} in {target}")
            s = x.shape[i - lead]
        elif i >= lead and x.shape[i - lead] not in (1, s):
            raise ValueError(
                f"expand: cannot expand shape {tuple(x.shape)} to {target}: size {x.shape[i - lead]} of dim "
                f"{i - lead} must be 1 or {s}"
            )
        resolved.append(s)
    shape = tuple(resolved)
    if shape == x.data.shape:
        return _unchanged(x)
    return Expand.apply(x, shape=shape)


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    return expand(x, tuple(shape))


def squeeze(x: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """Drop size-1 dimensions (all of them, or those in ``dim`` that have size 1)."""
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        axes = {normalize_dim(d, x.ndim, "squeeze") for d in dims} if x.ndim else set()
        shape = tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1))
    return reshape(x, shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dimension at ``dim`` (in ``[-ndim-1, ndim]``)."""
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor with {x.ndim} dimensions")
    d = dim % (x.ndim + 1)
    shape = (*x.shape[:d], 1, *x.shape[d:])
    return Reshape.apply(x, shape=shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one."""
    if x.ndim == 0:
        return reshape(x, (1,))
    s = normalize_dim(start_dim, x.ndim, "flatten")
    e = normalize_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    merged = int(np.prod(x.shape[s : e + 1]))
    return reshape(x, (*x.shape[:s], merged, *x.shape[e + 1 :]))


def unflatten(x: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one of which may be -1)."""
    d = normalize_dim(dim, x.ndim, "unflatten")
    return reshape(x, (*x.shape[:d], *sizes, *x.shape[d + 1 :]))


def _as_index(index: Any) -> tuple[Any, ...]:
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for i in index:
        if isinstance(i, Tensor):
            i = i.data
        elif isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, np.ndarray) and i.dtype.kind not in "biu":
            raise IndexError(f"getitem: tensors used as indices must be integer or bool, got dtype {i.dtype}")
        out.append(i)
    return tuple(out)


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]``: basic slicing (a view) or integer/bool array indexing, both differentiable."""
    idx = _as_index(index)
    # Only integer arrays can select an element twice; slices, ints and bool masks cannot.
    accumulate = builtins.any(isinstance(i, np.ndarray) and i.dtype.kind in "iu" for i in idx)
    return GetItem.apply(x, index=idx if len(idx) != 1 else idx[0], accumulate=accumulate)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dimension; shapes must match except along ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    first = tensors[0]
    dtype = functools.reduce(promote_types, [t.data.dtype for t in tensors])
    tensors = [t.to(dtype) for t in tensors]
    axis = normalize_dim(dim, first.ndim, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or builtins.any(
            a != b for k, (a, b) in enumerate(zip(t.shape, first.shape)) if k != axis
        ):
            raise ValueError(
                f"cat: tensor {i} has shape {tuple(t.shape)} but tensor 0 has shape {tuple(first.shape)}; "
                f"all dims except dim {dim} must match"
            )
    return Cat.apply(*tensors, axis=axis)


concat = cat
concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise ValueError(f"stack: tensor {i} has shape {tuple(t.shape)}, tensor 0 has {tuple(shape)}")
    return cat([unsqueeze(t, dim) for t in tensors], dim=dim if dim >= 0 else dim + len(shape) + 1)


def split(x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Split into chunks of ``split_size`` (the last may be smaller) or of the given section sizes."""
    axis = normalize_dim(dim, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [builtins.min(size, n - s) for s in range(0, n, size)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} sum to {builtins.sum(sizes)}, dim {dim} has size {n}")
    out = []
    start = 0
    for s in sizes:
        index = (slice(None),) * axis + (slice(start, start + s),)
        out.append(getitem(x, index))
        start += s
    return tuple(out)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` nearly equal parts (the last may be smaller)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = x.shape[normalize_dim(dim, x.ndim, "chunk")]
    return split(x, builtins.max(-(-n // chunks), 1), dim)


def unbind(x: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """Remove ``dim`` and return all slices along it."""
    axis = normalize_dim(dim, x.ndim, "unbind")
    return tuple(getitem(x, (slice(None),) * axis + (i,)) for i in range(x.shape[axis]))


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad with a constant: ``pad = (left, right, top, bottom, ...)`` starting from the last dim.

    Negative widths crop, as in PyTorch.
    """
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} is not supported yet (only 'constant')")
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of widths for at most {x.ndim} dims, got {pad}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    for (b, a), n in zip(widths, x.shape):
        if n + b + a < 0:
            raise ValueError(f"pad: widths {pad} crop more than the input shape {tuple(x.shape)} holds")
    return _pad(x, tuple(widths), value)


def _pad(x: Tensor, widths: tuple[tuple[int, int], ...], value: float) -> Tensor:
    # Padding (non-negative widths) and cropping (negative widths) are separate primitives-in-one:
    # grow with np.pad, then take a basic slice, so cropping reuses GetItem's VJP.
    grow = tuple((builtins.max(b, 0), builtins.max(a, 0)) for b, a in widths)
    out = ConstantPad.apply(x, widths=grow, value=value) if builtins.any(b or a for b, a in grow) else x
    if builtins.all(b >= 0 and a >= 0 for b, a in widths):
        return out
    crop = tuple(slice(-b if b < 0 else 0, a if a < 0 else None) for b, a in widths)
    return getitem(out, crop)


def repeat(x: Tensor, *sizes: Any) -> Tensor:
    """Tile ``x``: dim i is repeated ``sizes[i]`` times (``torch.Tensor.repeat``)."""
    reps = shape_arg(sizes)
    if len(reps) < x.ndim:
        raise ValueError(f"repeat: got {len(reps)} repeat counts for a tensor with {x.ndim} dimensions")
    x = reshape(x, (1,) * (len(reps) - x.ndim) + tuple(x.shape))
    interleaved: list[int] = []
    expanded: list[int] = []
    for r, n in zip(reps, x.shape):
        interleaved += [1, n]
        expanded += [r, n]
    tiled = expand(reshape(x, interleaved), expanded)
    return reshape(tiled, [r * n for r, n in zip(reps, x.shape)])


def flip(x: Tensor, dims: int | Sequence[int]) -> Tensor:
    """Reverse the order of elements along ``dims``."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    index = [slice(None)] * x.ndim
    for d in dims:
        index[normalize_dim(d, x.ndim, "flip")] = slice(None, None, -1)
    return getitem(x, tuple(index))


def movedim(x: Tensor, source: int, destination: int) -> Tensor:
    s = normalize_dim(source, x.ndim, "movedim")
    d = normalize_dim(destination, x.ndim, "movedim")
    order = [i for i in range(x.ndim) if i != s]
    order.insert(d, s)
    return permute(x, tuple(order))

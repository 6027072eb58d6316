"""Tensor factories with PyTorch's names: ``tensor``, ``zeros``, ``arange``, ``randn``, ``*_like``..."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from nerve._device import check_cpu
from nerve._dtypes import as_dtype, get_default_dtype, int64
from nerve.ops._util import shape_arg
from nerve.random import Generator, resolve_generator
from nerve.tensor import Tensor, _to_array, _wrap


def _dtype(dtype: Any) -> np.dtype:
    return get_default_dtype() if dtype is None else as_dtype(dtype)


def _finish(data: np.ndarray, requires_grad: bool) -> Tensor:
    t = _wrap(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _size(size: tuple[Any, ...], who: str, keyword: Any = None) -> tuple[int, ...]:
    """``size`` as a shape (``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))``), refusing negative dimensions as
    torch does; NumPy's own error names neither the function nor the size."""
    if keyword is not None:
        if size:
            raise TypeError(f"{who}: got the size both positionally {size} and as size={keyword}")
        size = (keyword,)
    shape = shape_arg(size)
    if shape and min(shape) < 0:
        first = next(d for d in shape if d < 0)
        raise ValueError(f"{who}: trying to create a tensor with negative dimension {first}: size {shape}")
    return shape


def _ragged(data: Any) -> str | None:
    """Where nested lists stop being rectangular, in torch's words; walked only after NumPy refused ``data``."""
    def length(v: Any) -> int | None:
        if isinstance(v, list | tuple):
            return len(v)
        shape = getattr(v, "shape", ())
        return shape[0] if len(shape) else None

    shape: list[int] = []  # the shape the first elements promise, as torch infers it
    probe = data
    while (n := length(probe)) is not None:
        shape.append(n)
        if not n:
            break
        probe = probe[0]

    def walk(seq: Any, dim: int) -> str | None:
        for item in seq:
            n = length(item)
            if dim + 1 == len(shape):
                if n is not None:
                    return f"expected a number at dim {dim + 1}, got a sequence of length {n}"
            elif n != shape[dim + 1]:
                got = type(item).__name__ if n is None else n
                return f"expected sequence of length {shape[dim + 1]} at dim {dim + 1} (got {got})"
            elif (where := walk(item, dim + 1)) is not None:
                return where
        return None

    return walk(data, 0) if shape else None


def _array(data: Any, dtype: Any, who: str) -> np.ndarray:
    """``_to_array``, with NumPy's "inhomogeneous shape" error for ragged nested lists said as torch does."""
    try:
        return _to_array(data, dtype)
    except ValueError:
        where = _ragged(data)
        if where is None:
            raise
        raise ValueError(f"{who}: the nested sequence is ragged: {where}") from None


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``; Python floats become float32, ints int64."""
    check_cpu(device, "nerve.tensor")
    return _finish(np.array(_array(data, dtype, "nerve.tensor"), copy=True), requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array (or tensor) when no conversion is needed."""
    check_cpu(device, "nerve.as_tensor")
    if isinstance(data, Tensor) and (dtype is None or as_dtype(dtype) == data.data.dtype):
        return data
    return _wrap(_array(data, dtype, "nerve.as_tensor"))


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (dtype kept, including float64)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    return _wrap(array)


def zeros(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of the given shape: ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    shape = _size(shape, "nerve.zeros", size)
    check_cpu(device, "nerve.zeros")
    return _finish(np.zeros(shape, dtype=_dtype(dtype)), requires_grad)


def ones(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape = _size(shape, "nerve.ones", size)
    check_cpu(device, "nerve.ones")
    return _finish(np.ones(shape, dtype=_dtype(dtype)), requires_grad)


def empty(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    shape = _size(shape, "nerve.empty", size)
    check_cpu(device, "nerve.empty")
    return _finish(np.empty(shape, dtype=_dtype(dtype)), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from the value when not given)."""
    check_cpu(device, "nerve.full")
    if dtype is None:
        dtype = _to_array(fill_value).dtype
    return _finish(np.full(_size((size,), "nerve.full"), fill_value, dtype=as_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    check_cpu(device, "nerve.eye")
    n, m = _size((n, n if m is None else m), "nerve.eye")
    return _finish(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Values in ``[start, end)`` by ``step``; int64 when all arguments are integers."""
    check_cpu(device, "nerve.arange")
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, int | np.integer) for v in (start, end, step))
        dtype = int64 if integral else get_default_dtype()
    return _finish(np.arange(start, end, step).astype(as_dtype(dtype)), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    check_cpu(device, "nerve.linspace")
    (steps,) = _size((steps,), "nerve.linspace")
    return _finish(np.linspace(start, end, steps).astype(_dtype(dtype)), requires_grad)


def _like(x: Tensor, fill: Any, dtype: Any, device: Any, requires_grad: bool, who: str) -> Tensor:
    check_cpu(device, who)
    return _finish(fill(x.shape, dtype=x.dtype if dtype is None else as_dtype(dtype)), requires_grad)


def zeros_like(x: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(x, np.zeros, dtype, device, requires_grad, "nerve.zeros_like")


def ones_like(x: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(x, np.ones, dtype, device, requires_grad, "nerve.ones_like")


def full_like(x: Tensor, fill_value: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    fill = functools.partial(np.full, fill_value=fill_value)
    return _like(x, fill, dtype, device, requires_grad, "nerve.full_like")


def empty_like(x: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(x, np.empty, dtype, device, requires_grad, "nerve.empty_like")


def randn(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None, generator: Generator | None = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    shape = _size(shape, "nerve.randn", size)
    check_cpu(device, "nerve.randn")
    samples = resolve_generator(generator).standard_normal(shape, dtype=np.float64)
    return _finish(samples.astype(_dtype(dtype)), requires_grad)


def rand(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None, generator: Generator | None = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1)."""
    shape = _size(shape, "nerve.rand", size)
    check_cpu(device, "nerve.rand")
    return _finish(resolve_generator(generator).random(shape).astype(_dtype(dtype)), requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), dtype: Any = None, device: Any = None,
            generator: Generator | None = None) -> Tensor:
    """Integers uniform on [low, high) (``randint(high, size)`` draws from [0, high))."""
    check_cpu(device, "nerve.randint")
    if high is None or isinstance(high, tuple | list):
        low, high, size = 0, low, size if high is None else high
    rng = resolve_generator(generator)
    out = rng.integers(low, high, size=_size((size,), "nerve.randint"))
    return _wrap(out.astype(int64 if dtype is None else as_dtype(dtype)))


def randperm(n: int, dtype: Any = None, device: Any = None, generator: Generator | None = None) -> Tensor:
    """A random permutation of 0..n-1."""
    check_cpu(device, "nerve.randperm")
    rng = resolve_generator(generator)
    (n,) = _size((n,), "nerve.randperm")
    return _wrap(rng.permutation(n).astype(int64 if dtype is None else as_dtype(dtype)))


def rand_like(x: Tensor, dtype: Any = None, device: Any = None, generator: Generator | None = None) -> Tensor:
    check_cpu(device, "nerve.rand_like")
    return rand(x.shape, dtype=x.dtype if dtype is None else dtype, generator=generator)


def randn_like(x: Tensor, dtype: Any = None, device: Any = None, generator: Generator | None = None) -> Tensor:
    check_cpu(device, "nerve.randn_like")
    return randn(x.shape, dtype=x.dtype if dtype is None else dtype, generator=generator)


def normal(mean: float, std: float, size: Any, dtype: Any = None, device: Any = None,
           generator: Generator | None = None) -> Tensor:
    check_cpu(device, "nerve.normal")
    rng = resolve_generator(generator)
    return _wrap(rng.normal(mean, std, _size((size,), "nerve.normal")).astype(_dtype(dtype)))


def bernoulli(p: Tensor, generator: Generator | None = None) -> Tensor:
    """1 with probability ``p`` (elementwise), else 0; no gradient."""
    rng = resolve_generator(generator)
    return _wrap((rng.random(p.shape) < p.data).astype(p.dtype))


def multinomial(probs: Tensor, num_samples: int, replacement: bool = False,
                generator: Generator | None = None) -> Tensor:
    """Draw category indices from (unnormalised) probabilities, per row for 2-D input."""
    rng = resolve_generator(generator)
    p = np.atleast_2d(probs.data).astype(np.float64)
    if (p < 0).any() or not np.isfinite(p).all():
        raise ValueError("multinomial: probabilities must be finite and non-negative")
    p = p / p.sum(axis=1, keepdims=True)
    rows = [rng.choice(p.shape[1], size=num_samples, replace=replacement, p=row) for row in p]
    out = np.asarray(rows, dtype=int64)
    return _wrap(out if probs.ndim == 2 else out[0])

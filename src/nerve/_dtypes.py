"""Data types and PyTorch's type-promotion rules on top of NumPy dtypes.

nerve's dtypes *are* NumPy dtypes (``nerve.float32 == np.float32``), so tensors and arrays interoperate
without conversion tables. What differs from NumPy is promotion: PyTorch keeps a float32 tensor float32
when it meets a Python float, a float64 zero-dimensional tensor, or an integer tensor, where NumPy would
often widen to float64. ``result_type`` reproduces PyTorch's rule so nothing is silently promoted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

_default_float = [float32]

# Category of a dtype for promotion: bool < integer < floating.
_BOOL, _INT, _FLOAT = 0, 1, 2


def get_default_dtype() -> np.dtype:
    """The floating dtype used for Python floats and new floating tensors (float32 unless changed)."""
    return _default_float[0]


def set_default_dtype(dtype: Any) -> None:
    """Set the default floating dtype; only float32 and float64 are accepted (as in PyTorch)."""
    d = as_dtype(dtype)
    if d not in (float32, float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported, got {d}")
    _default_float[0] = d


def as_dtype(dtype: Any) -> np.dtype:
    """Normalise a dtype spec (``nerve.float32``, ``np.float64``, ``"int64"``, ``float``) to a NumPy dtype."""
    if isinstance(dtype, np.dtype):
        return dtype
    if dtype is float:
        return get_default_dtype()
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"not a dtype: {dtype!r}") from None


def category(dtype: np.dtype) -> int:
    kind = dtype.kind
    if kind == "f":
        return _FLOAT
    if kind in "iu":
        return _INT
    if kind == "b":
        return _BOOL
    raise TypeError(f"unsupported dtype {dtype}")


def scalar_dtype(value: Any) -> np.dtype:
    """The dtype a bare Python scalar takes when it becomes a tensor."""
    if isinstance(value, bool | np.bool_):
        return bool_
    if isinstance(value, int | np.integer):
        return int64
    if isinstance(value, float | np.floating):
        return get_default_dtype()
    raise TypeError(f"expected a number, got {type(value).__name__}")


def promote_types(a: Any, b: Any) -> np.dtype:
    """PyTorch's ``promote_types``: across categories the higher category's dtype wins (int64 with float32
    is float32, where NumPy would widen to float64); within a category, the wider type."""
    a, b = as_dtype(a), as_dtype(b)
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """PyTorch's ``combine_categories``: a lower-priority operand only matters if its category is higher."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    ch, cl = category(higher), category(lower)
    if ch == _FLOAT:
        return higher
    if ch == _BOOL or cl == _FLOAT:
        return promote_types(higher, lower)
    return higher


def result_type(*operands: Any) -> np.dtype:
    """Result dtype of an elementwise op under PyTorch's rules.

    Operands are arrays (dimensioned or zero-dimensional) or Python scalars. Priority: dimensioned
    tensors, then zero-dimensional tensors, then Python scalars; a lower-priority group only changes the
    result when it is of a higher category (e.g. an int tensor times a float scalar gives the default float).
    """
    dim_t: np.dtype | None = None
    zero_t: np.dtype | None = None
    wrapped: np.dtype | None = None
    for op in operands:
        if isinstance(op, np.ndarray):
            if op.ndim:
                dim_t = op.dtype if dim_t is None else promote_types(dim_t, op.dtype)
            else:
                zero_t = op.dtype if zero_t is None else promote_types(zero_t, op.dtype)
        else:
            d = scalar_dtype(op)
            wrapped = d if wrapped is None else promote_types(wrapped, d)
    out = _combine(dim_t, _combine(zero_t, wrapped))
    if out is None:
        raise TypeError("result_type needs at least one operand")
    return out

"""Flatten parameters into one vector and back."""

from __future__ import annotations

from collections.abc import Iterable

from nerve.ops.shape import cat, reshape
from nerve.tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters concatenated into one 1-D tensor (a copy), differentiable as in PyTorch (e.g. for a
    penalty on the flattened weights)."""
    return cat([reshape(p, (-1,)) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into ``parameters`` (in place)."""
    params = list(parameters)
    total = sum(p.data.size for p in params)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ValueError(
            f"vector_to_parameters: expected a 1-D tensor of {total} elements, got shape {tuple(vec.shape)}"
        )
    offset = 0
    for p in params:
        n = p.data.size
        p.data[...] = vec.data[offset : offset + n].reshape(p.shape)
        offset += n

"""Embedding lookup: rows of a weight table gathered by integer index."""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.higher_order import backward_by_composite
from nerve.ops.elementwise import Where
from nerve.ops.shape import GetItem
from nerve.tensor import Tensor, _wrap


class Embedding(Function):
    """``out[...] = weight[index[...]]``: (*, ) int indices → (*, D).

    Backward adds each output row's gradient into the row it came from (indices repeat, so this is an
    accumulating scatter); the ``padding_idx`` row gets no gradient, as in PyTorch.
    """

    fresh_grads = True

    def forward(self, weight: np.ndarray, *, index: np.ndarray, padding_idx: int | None) -> np.ndarray:
        self.index = index
        self.padding_idx = padding_idx
        self.rows = weight.shape[0]
        return weight[index]

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        flat = self.index.reshape(-1)
        dim = g.shape[-1]
        # NOTE: np.add.at is slow for this pattern; a one-pass sort + reduceat groups repeated rows instead.
        order = np.argsort(flat, kind="stable")
        sorted_rows = flat[order]
        starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]]) if flat.size else flat
        gw = np.zeros((self.rows, dim), dtype=g.dtype)
        if flat.size:
            gw[sorted_rows[starts]] = np.add.reduceat(g.reshape(-1, dim)[order], starts, axis=0)
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return (gw,)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        def composite(weight: Tensor) -> Tensor:
            if self.padding_idx is not None:  # the padding row reads a constant: no gradient reaches it
                pad_row = (np.arange(self.rows) == self.padding_idx)[:, None]
                weight = Where.apply(_wrap(weight.data), weight, cond=pad_row)
            return GetItem.apply(weight, index=self.index, accumulate=True)

        return backward_by_composite(self, g, composite)


def embedding_checked(index: Tensor | np.ndarray, weight: Tensor, padding_idx: int | None, max_norm: float | None,
                      norm_type: float, where: str) -> Tensor:
    """Look up ``index`` in ``weight`` with ``where`` (a layer's name) in error messages."""
    data = index.data if isinstance(index, Tensor) else np.asarray(index)
    if data.dtype.kind not in "iu":
        raise TypeError(f"{where}: expected integer indices, got dtype {data.dtype}")
    rows = weight.shape[0]
    if data.size and (data.min() < 0 or data.max() >= rows):
        bad = int(data.min()) if data.min() < 0 else int(data.max())
        raise IndexError(f"{where}: index {bad} is out of range for an embedding table of {rows} rows")
    if max_norm is not None:
        # PyTorch renormalises the looked-up rows in place, outside autograd, before the lookup
        used = np.unique(data)
        norms = np.linalg.norm(weight.data[used].astype(np.float64), ord=norm_type, axis=1)
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight.data[used] *= scale[:, None].astype(weight.data.dtype)
    return Embedding.apply(weight, index=data.astype(np.int64, copy=False), padding_idx=padding_idx)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0) -> Tensor:
    """Rows of ``weight`` (num_embeddings, D) at the integer ``input`` (*) → (*, D)."""
    if padding_idx is not None:
        if not -weight.shape[0] <= padding_idx < weight.shape[0]:
            raise ValueError(f"embedding: padding_idx must be within the table's {weight.shape[0]} rows, got "
                             f"{padding_idx}")
        padding_idx %= weight.shape[0]
    return embedding_checked(input, weight, padding_idx, max_norm, norm_type, "embedding")

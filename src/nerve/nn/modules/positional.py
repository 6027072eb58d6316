"""Positional encodings: attention is permutation-invariant, so the position of each token is added in.

``SinusoidalPositionalEncoding`` is the fixed table of "Attention Is All You Need",

    PE[p, 2i] = sin(p / 10000^(2i/d)),    PE[p, 2i+1] = cos(p / 10000^(2i/d)),

whose wavelengths form a geometric progression so PE[p + k] is a linear function of PE[p] for every offset
k. ``LearnedPositionalEmbedding`` is a trained table instead (GPT, BERT, ViT), limited to ``max_len``.
Both add the table to their input and then apply dropout.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nerve._dtypes import as_dtype, get_default_dtype
from nerve.nn import functional as F
from nerve.nn import init
from nerve.nn.modules.module import Module
from nerve.nn.parameter import Parameter
from nerve.tensor import Tensor, _wrap


def sinusoidal_table(max_len: int, d_model: int, dtype: Any = np.float32) -> np.ndarray:
    """The (max_len, d_model) sinusoidal table; an odd ``d_model`` drops the last cosine column."""
    position = np.arange(max_len, dtype=np.float64)[:, None]
    frequency = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(10000.0) / d_model))
    table = np.zeros((max_len, d_model), dtype=np.float64)
    table[:, 0::2] = np.sin(position * frequency)
    table[:, 1::2] = np.cos(position * frequency)[:, : d_model // 2]
    return table.astype(dtype)


class _PositionalEncoding(Module):
    def __init__(self, max_len: int, d_model: int, dropout: float, batch_first: bool) -> None:
        super().__init__()
        if max_len < 1 or d_model < 1:
            raise ValueError(f"{type(self).__name__}: max_len and d_model must be positive, got {max_len} "
                             f"and {d_model}")
        self.max_len, self.d_model, self.batch_first = max_len, d_model, batch_first
        self.dropout = dropout

    def _table(self) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (2, 3) or x.shape[-1] != self.d_model:
            layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
            raise ValueError(f"{self._label()}: expected input of shape {layout} or (L, E) with E={self.d_model}, "
                             f"got {tuple(x.shape)}")
        length = x.shape[1] if x.ndim == 3 and self.batch_first else x.shape[0]
        if length > self.max_len:
            raise ValueError(f"{self._label()}: sequence of length {length} is longer than the positional table "
                             f"(max_len={self.max_len})")
        table = self._table()[:length]
        if x.ndim == 3 and not self.batch_first:
            table = table.unsqueeze(1)  # (L, 1, E) broadcasts over the batch axis
        return F.dropout(x + table, self.dropout, self.training)

    def _label(self) -> str:
        return f"{type(self).__name__}(max_len={self.max_len}, d_model={self.d_model})"

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}, d_model={self.d_model}, dropout={self.dropout}"


class SinusoidalPositionalEncoding(_PositionalEncoding):
    """Adds the fixed sinusoidal table (a non-persistent buffer) to (N, L, E) inputs, then dropout.

    Shape:
        (N, L, E) with ``batch_first`` (default), (L, N, E) without, or unbatched (L, E); L <= max_len.
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0, batch_first: bool = True,
                 dtype: Any = None) -> None:
        super().__init__(max_len, d_model, dropout, batch_first)
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        self.register_buffer("pe", _wrap(sinusoidal_table(max_len, d_model, dt)), persistent=False)

    def _table(self) -> Tensor:
        return self.pe


class LearnedPositionalEmbedding(_PositionalEncoding):
    """Adds a learned (max_len, E) table, initialised N(0, 0.02²) as in GPT-2, then dropout.

    Shape:
        (N, L, E) with ``batch_first`` (default), (L, N, E) without, or unbatched (L, E); L <= max_len.
    """

    def __init__(self, max_len: int, d_model: int, dropout: float = 0.0, batch_first: bool = True,
                 dtype: Any = None) -> None:
        super().__init__(max_len, d_model, dropout, batch_first)
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        self.weight = Parameter(np.empty((max_len, d_model), dtype=dt))
        init.normal_(self.weight, std=0.02)

    def _table(self) -> Tensor:
        return self.weight

"""``Embedding``: a learned lookup table from integer ids (characters, words) to dense vectors."""

from __future__ import annotations

import numpy as np

from nerve._dtypes import as_dtype, get_default_dtype
from nerve.nn import init
from nerve.nn.modules.module import Module
from nerve.nn.parameter import Parameter
from nerve.ops.embedding import embedding_checked
from nerve.tensor import Tensor


class Embedding(Module):
    """Maps each integer id in [0, num_embeddings) to a learned vector of size ``embedding_dim``.

    Args:
        num_embeddings: size of the vocabulary.
        embedding_dim: size of each vector.
        padding_idx: this id's vector is initialised to zeros and never receives a gradient.
        max_norm: vectors looked up with a larger ``norm_type`` norm are rescaled to it, in place.
        _weight: an initial table (num_embeddings, embedding_dim) instead of N(0, 1) initialisation.

    Shape:
        input (*) integer → output (*, embedding_dim).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, _weight: Tensor | None = None,
                 dtype: object = None) -> None:
        super().__init__()
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(f"Embedding: num_embeddings and embedding_dim must be positive, got "
                             f"{num_embeddings} and {embedding_dim}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings ({num_embeddings}), "
                                 f"got {padding_idx}")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
        if _weight is not None:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight must have shape ({num_embeddings}, {embedding_dim}), "
                                 f"got {tuple(_weight.shape)}")
            self.weight = Parameter(np.array(_weight.data if isinstance(_weight, Tensor) else _weight, dtype=dt))
        else:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dt))
            self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0) -> Embedding:
        """An Embedding whose table is ``embeddings`` (copied); frozen unless ``freeze=False``."""
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: expected a 2-D table, got shape {tuple(embeddings.shape)}")
        rows, dim = embeddings.shape
        module = cls(rows, dim, padding_idx, max_norm, norm_type, _weight=embeddings,
                     dtype=embeddings.data.dtype if isinstance(embeddings, Tensor) else None)
        module.weight.requires_grad_(not freeze)
        return module

    def forward(self, input: Tensor) -> Tensor:
        return embedding_checked(input, self.weight, self.padding_idx, self.max_norm, self.norm_type, repr(self))

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s

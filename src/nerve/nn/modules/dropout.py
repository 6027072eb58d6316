"""Dropout: zero random activations during training (a remedy for overfitting)."""

from __future__ import annotations

from nerve.nn import functional as F
from nerve.nn.modules.module import Module
from nerve.tensor import Tensor


class Dropout(Module):
    """Zero each element with probability ``p`` in training and scale the rest by 1/(1-p).

    In eval mode it is the identity, so expected activations match between the two modes.

    Args:
        p: probability of zeroing an element (default 0.5).
        inplace: accepted for PyTorch compatibility; nerve never modifies the input in place.

    Shape: any; output has the input's shape.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"

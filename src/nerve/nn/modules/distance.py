"""Similarity and distance layers: ``CosineSimilarity`` and ``PairwiseDistance``."""

from __future__ import annotations

from nerve.nn import functional as F
from nerve.nn.modules.module import Module
from nerve.tensor import Tensor


class CosineSimilarity(Module):
    """x1·x2 / (max(||x1||, eps) · max(||x2||, eps)) along ``dim``.

    Args:
        dim: the dim holding the vectors (default 1).
        eps: floor on each norm, against division by zero (default 1e-8).

    Shape: x1 and x2 broadcastable, e.g. (N, D) and (N, D) or (1, D) → (N,) for dim=1.
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """The p-norm of ``x1 - x2 + eps`` over the last dim.

    Args:
        p: the norm degree (default 2).
        eps: added to the difference, against a zero norm's undefined gradient (default 1e-6).
        keepdim: keep the reduced dim (default False).

    Shape: (N, D) and (N, D) → (N,), or (N, 1) with ``keepdim``.
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)

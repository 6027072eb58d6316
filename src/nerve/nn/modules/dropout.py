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


class _ChannelDropout(Module):
    """Shared by :class:`Dropout1d` and :class:`Dropout2d`: whole channels dropped with probability ``p``."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(_ChannelDropout):
    """Zero whole channels of (N, C, H, W) with probability ``p`` in training; survivors scale by 1/(1-p).

    Adjacent pixels of a feature map are strongly correlated, so element-wise dropout barely regularises a
    convolution; dropping entire maps does.

    Shape: (N, C, H, W) or (C, H, W); output has the input's shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout2d(x, self.p, self.training)


class Dropout1d(_ChannelDropout):
    """Zero whole channels of (N, C, L) with probability ``p`` in training; survivors scale by 1/(1-p).

    Shape: (N, C, L) or (C, L); output has the input's shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout1d(x, self.p, self.training)


class AlphaDropout(_ChannelDropout):
    """Alpha dropout for self-normalizing networks (use with SELU): in training each element is dropped with
    probability ``p`` to SELU's negative saturation value, and an affine map then restores zero mean and unit
    variance; identity in eval mode.

    Args:
        p: probability of dropping an element (default 0.5).
        inplace: accepted for PyTorch compatibility; nerve never modifies the input in place.

    Shape: any; output has the input's shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.alpha_dropout(x, self.p, self.training)


class FeatureAlphaDropout(_ChannelDropout):
    """Alpha dropout of whole channels: one draw per (sample, channel), shared by all its positions.

    Args:
        p: probability of dropping a channel (default 0.5).
        inplace: accepted for PyTorch compatibility.

    Shape: (N, C, *); output has the input's shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.feature_alpha_dropout(x, self.p, self.training)

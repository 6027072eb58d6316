"""``PixelShuffle`` and ``PixelUnshuffle``: trade channels for spatial resolution and back."""

from __future__ import annotations

from nerve.nn import functional as F
from nerve.nn.modules.module import Module
from nerve.tensor import Tensor


class PixelShuffle(Module):
    """Rearrange (*, C·r², H, W) into (*, C, H·r, W·r): the upsampling of sub-pixel convolution (Shi et al., 2016).

    Args:
        upscale_factor: r, the factor by which height and width grow.

    Shape: (*, C·r², H, W) → (*, C, H·r, W·r)

    Example:
        >>> nn.PixelShuffle(2)(nerve.randn(1, 8, 3, 3)).shape
        (1, 2, 6, 6)
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """Inverse of :class:`PixelShuffle`: (*, C, H·r, W·r) → (*, C·r², H, W).

    Args:
        downscale_factor: r, the factor by which height and width shrink.

    Shape: (*, C, H·r, W·r) → (*, C·r², H, W)
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"

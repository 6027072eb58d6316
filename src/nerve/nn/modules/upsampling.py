"""``Upsample``: resize feature maps by nearest-neighbour or (bi)linear interpolation."""

from __future__ import annotations

from nerve.nn import functional as F
from nerve.nn.modules.module import Module
from nerve.tensor import Tensor


class Upsample(Module):
    """Resize (N, C, L) or (N, C, H, W) to ``size`` or by ``scale_factor``.

    Args:
        size: output spatial size (int or tuple).
        scale_factor: multiplier per spatial dim (float or tuple); give exactly one of the two.
        mode: ``'nearest'`` (default), ``'linear'`` (3-D input) or ``'bilinear'`` (4-D input).
        align_corners: for (bi)linear modes, map corner pixels to corner pixels (default False).

    Shape: (N, C, H, W) → (N, C, H_out, W_out) with H_out = size or ⌊H·scale_factor⌋.
    """

    def __init__(self, size: int | tuple[int, ...] | None = None, scale_factor: float | tuple[float, ...] | None
                 = None, mode: str = "nearest", align_corners: bool | None = None) -> None:
        super().__init__()
        self.size = size
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, int | float) else scale_factor
        self.mode = mode
        self.align_corners = align_corners

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self) -> str:
        given = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{given}, mode={self.mode!r}"


class _Upsampling2d(Upsample):
    """Shared by the fixed-mode 2-D upsampling layers: :class:`Upsample` restricted to (N, C, H, W) input."""

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.ndim != 4:
            got = f"shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{type(self).__name__}: expected a 4-D (N, C, H, W) input, got {got}")
        return super().forward(x)


class UpsamplingNearest2d(_Upsampling2d):
    """Nearest-neighbour upsampling of (N, C, H, W): ``Upsample(mode='nearest')``.

    Args:
        size: output (H_out, W_out) (an int for both), or
        scale_factor: multiplier for H and W (a float for both); give exactly one of the two.

    Shape: (N, C, H, W) → (N, C, H_out, W_out) with H_out = size or ⌊H·scale_factor⌋.

    Example:
        >>> nn.UpsamplingNearest2d(scale_factor=2)(nerve.ones(1, 1, 2, 2)).shape
        (1, 1, 4, 4)
    """

    def __init__(self, size: int | tuple[int, int] | None = None,
                 scale_factor: float | tuple[float, float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(_Upsampling2d):
    """Bilinear upsampling of (N, C, H, W) with corners aligned: ``Upsample(mode='bilinear', align_corners=True)``.

    Args:
        size: output (H_out, W_out) (an int for both), or
        scale_factor: multiplier for H and W (a float for both); give exactly one of the two.

    Shape: (N, C, H, W) → (N, C, H_out, W_out) with H_out = size or ⌊H·scale_factor⌋.
    """

    def __init__(self, size: int | tuple[int, int] | None = None,
                 scale_factor: float | tuple[float, float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)

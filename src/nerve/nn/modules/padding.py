"""Padding layers: ``ConstantPad2d`` and ``ZeroPad2d`` over the last two dims, via ``F.pad``."""

from __future__ import annotations

from collections.abc import Sequence

from nerve.nn import functional as F
from nerve.nn.modules.module import Module
from nerve.tensor import Tensor


def _four(padding: int | Sequence[int], name: str) -> tuple[int, int, int, int]:
    if isinstance(padding, int):
        return (padding,) * 4
    padding = tuple(int(p) for p in padding)
    if len(padding) != 4:
        raise ValueError(f"{name}: padding must be an int or 4 ints (left, right, top, bottom), got {padding}")
    return padding  # type: ignore[return-value]


class ConstantPad2d(Module):
    """Pad the last two dims with ``value``; negative widths crop.

    Args:
        padding: an int for all four sides, or (left, right, top, bottom).
        value: the fill value.

    Shape: (N, C, H, W) or (C, H, W) → (…, H + top + bottom, W + left + right)
    """

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__()
        self.padding = _four(padding, type(self).__name__)
        self.value = value

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.ndim not in (3, 4):
            got = f"shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{type(self).__name__}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got {got}")
        return F.pad(x, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims with zeros; negative widths crop.

    Args:
        padding: an int for all four sides, or (left, right, top, bottom).

    Shape: (N, C, H, W) or (C, H, W) → (…, H + top + bottom, W + left + right)

    Example:
        >>> nn.ZeroPad2d((1, 1, 2, 0))(nerve.randn(1, 1, 3, 3)).shape
        (1, 1, 5, 5)
    """

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"

"""Padding layers over ``F.pad``: constant (``ConstantPad1d/2d``, ``ZeroPad1d/2d``), reflection, replication and
circular padding of the last one or two dims."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

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


def _two(padding: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(padding, int):
        return (padding, padding)
    padding = tuple(int(p) for p in padding)
    if len(padding) != 2:
        raise ValueError(f"{name}: padding must be an int or 2 ints (left, right), got {padding}")
    return padding  # type: ignore[return-value]


class ConstantPad1d(Module):
    """Pad the last dim with ``value``; negative widths crop.

    Args:
        padding: an int for both sides, or (left, right).
        value: the fill value.

    Shape: (*, W) (usually (N, C, W) or (C, W)) → (*, W + left + right)
    """

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__()
        self.padding = _two(padding, type(self).__name__)
        self.value = value

    def forward(self, x: Tensor) -> Tensor:
        # as PyTorch, any tensor with at least one dim: only the last one is padded
        if not isinstance(x, Tensor) or x.ndim < 1:
            got = f"shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{type(self).__name__}: expected an input with at least 1 dim (*, W), got {got}")
        return F.pad(x, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim with zeros; negative widths crop.

    Args:
        padding: an int for both sides, or (left, right).

    Shape: (*, W) → (*, W + left + right)

    Example:
        >>> nn.ZeroPad1d((1, 2))(nerve.ones(1, 3)).tolist()
        [[0.0, 1.0, 1.0, 1.0, 0.0, 0.0]]
    """

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ModePadNd(Module):
    """Shared by the reflection, replication and circular layers: ``F.pad`` of the last 1 or 2 dims in ``_mode``."""

    _mode: ClassVar[str]
    _spatial: ClassVar[int]

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__()
        name = type(self).__name__
        self.padding = _two(padding, name) if self._spatial == 1 else _four(padding, name)

    def forward(self, x: Tensor) -> Tensor:
        n = self._spatial
        if not isinstance(x, Tensor) or x.ndim not in (n + 1, n + 2):
            got = f"shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
            layouts = ("2-D (C, W) or 3-D (N, C, W)", "3-D (C, H, W) or 4-D (N, C, H, W)")[n - 1]
            raise ValueError(f"{type(self).__name__}: expected a {layouts} input, got {got}")
        for d, (before, after) in enumerate(zip(self.padding[::2], self.padding[1::2])):
            size = x.shape[-1 - d]
            if self._mode == "reflect" and max(before, after) >= size:
                raise ValueError(f"{type(self).__name__}: padding ({before}, {after}) of dim {x.ndim - 1 - d} must be "
                                 f"less than its size {size}, got input shape {tuple(x.shape)}")
            kept = size + min(before, 0) + min(after, 0)  # circular wraps around what is left after cropping
            if self._mode == "circular" and max(before, after) > kept:
                raise ValueError(f"{type(self).__name__}: padding ({before}, {after}) of dim {x.ndim - 1 - d} must be "
                                 f"at most its size {kept} (after cropping), got input shape {tuple(x.shape)}")
        return F.pad(x, self.padding, self._mode)  # type: ignore[arg-type]

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_ModePadNd):
    """Pad the last dim with its reflection about the edge element (the edge is not repeated).

    Args:
        padding: an int for both sides, or (left, right); each less than the input's width.

    Shape: (N, C, W) or (C, W) → (…, W + left + right)

    Example:
        >>> nn.ReflectionPad1d(2)(nerve.tensor([[0.0, 1.0, 2.0, 3.0]])).tolist()
        [[2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0, 1.0]]
    """

    _mode = "reflect"
    _spatial = 1


class ReflectionPad2d(_ModePadNd):
    """Pad the last two dims with their reflection about the edge elements.

    Args:
        padding: an int for all four sides, or (left, right, top, bottom); each less than the dim it pads.

    Shape: (N, C, H, W) or (C, H, W) → (…, H + top + bottom, W + left + right)
    """

    _mode = "reflect"
    _spatial = 2


class ReplicationPad1d(_ModePadNd):
    """Pad the last dim by repeating its edge elements.

    Args:
        padding: an int for both sides, or (left, right).

    Shape: (N, C, W) or (C, W) → (…, W + left + right)
    """

    _mode = "replicate"
    _spatial = 1


class ReplicationPad2d(_ModePadNd):
    """Pad the last two dims by repeating their edge elements.

    Args:
        padding: an int for all four sides, or (left, right, top, bottom).

    Shape: (N, C, H, W) or (C, H, W) → (…, H + top + bottom, W + left + right)
    """

    _mode = "replicate"
    _spatial = 2


class CircularPad1d(_ModePadNd):
    """Pad the last dim by wrapping around (the left padding comes from the right end).

    Args:
        padding: an int for both sides, or (left, right); each at most the input's width.

    Shape: (N, C, W) or (C, W) → (…, W + left + right)
    """

    _mode = "circular"
    _spatial = 1


class CircularPad2d(_ModePadNd):
    """Pad the last two dims by wrapping around (periodic boundary conditions).

    Args:
        padding: an int for all four sides, or (left, right, top, bottom); each at most the dim it pads.

    Shape: (N, C, H, W) or (C, H, W) → (…, H + top + bottom, W + left + right)
    """

    _mode = "circular"
    _spatial = 2

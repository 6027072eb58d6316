"""Pooling layers: max and average over windows, adaptive average and max pooling to a fixed output size, and
max unpooling."""

from __future__ import annotations

from collections.abc import Sequence

from nerve.nn import functional as F
from nerve.nn.modules.module import Module
from nerve.ops.conv import as_tuple
from nerve.ops.pool import avg_pool_checked, max_pool_checked
from nerve.tensor import Tensor

Size = int | Sequence[int]


class _MaxPoolNd(Module):
    _spatial: int

    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0, dilation: Size = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return max_pool_checked(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                                self.return_indices, self._spatial, f"{type(self).__name__}({self.extra_repr()})")

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over sliding windows of a sequence batch.

    Shape: (N, C, L) → (N, C, L_out), L_out = ⌊(L + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1
    (⌈·⌉ with ``ceil_mode``). ``return_indices`` also returns each maximum's int64 position in L.
    """

    _spatial = 1


class MaxPool2d(_MaxPoolNd):
    """Max over kh×kw windows (stride defaults to the kernel size): downsampling that keeps the strongest
    response and gives a little translation invariance.

    Shape: (N, C, H, W) → (N, C, H_out, W_out), H_out = ⌊(H + 2·padding − dilation·(kh − 1) − 1) / stride⌋ + 1
    (⌈·⌉ with ``ceil_mode``). ``return_indices`` also returns each maximum's int64 position in the H·W plane.
    """

    _spatial = 2


class _AvgPoolNd(Module):
    _spatial: int

    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool_checked(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                self.count_include_pad, self.divisor_override, self._spatial,
                                f"{type(self).__name__}({self.extra_repr()})")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """Mean over sliding windows; (N, C, L) → (N, C, L_out). Padding counts as zeros unless
    ``count_include_pad=False``."""

    _spatial = 1

    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """Mean over kh×kw windows; (N, C, H, W) → (N, C, H_out, W_out). Padding counts as zeros in the mean
    unless ``count_include_pad=False``; ``divisor_override`` replaces the window size as divisor."""

    _spatial = 2


class AdaptiveAvgPool2d(Module):
    """Average pooling whose windows adapt so the output is exactly ``output_size`` (int, pair, or None to keep
    a dim); ``AdaptiveAvgPool2d(1)`` is global average pooling, as in ResNet's head.

    Shape: (N, C, H, W) → (N, C, oh, ow)
    """

    def __init__(self, output_size: int | tuple[int | None, int | None]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(Module):
    """Adaptive average pooling of (N, C, L) to (N, C, output_size)."""

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptiveMaxPoolNd(Module):
    def __init__(self, output_size: int | tuple[int | None, ...] | None, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling whose windows adapt so the output is exactly ``output_size`` (int, pair, or None to keep
    a dim); ``return_indices`` also returns each maximum's int64 position in the H·W plane.

    Shape: (N, C, H, W) → (N, C, oh, ow), or (C, H, W) → (C, oh, ow)
    """

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Adaptive max pooling of (N, C, L) to (N, C, output_size); ``return_indices`` gives positions in L.

    Shape: (N, C, L) → (N, C, output_size), or (C, L) → (C, output_size)
    """

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return F.adaptive_max_pool1d(x, self.output_size, self.return_indices)


class _MaxUnpoolNd(Module):
    _spatial: int

    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0) -> None:
        super().__init__()
        name, n = type(self).__name__, self._spatial
        self.kernel_size = as_tuple(kernel_size, n, "kernel_size", name)
        self.stride = as_tuple(stride if stride is not None else kernel_size, n, "stride", name)
        self.padding = as_tuple(padding, n, "padding", name, minimum=0)

    def forward(self, input: Tensor, indices: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        return F.max_unpool_checked(input, indices, self.kernel_size, self.stride, self.padding, output_size,
                                    self._spatial, f"{type(self).__name__}({self.extra_repr()})")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool1d`: each maximum returns to the position its index names, zeros
    elsewhere. ``forward(input, indices, output_size=None)`` takes the indices from
    ``MaxPool1d(..., return_indices=True)``; ``output_size`` resolves the length when pooling floored it.

    Shape: (N, C, L) or (C, L) → (…, L_out), L_out = (L − 1)·stride − 2·padding + kernel_size.
    """

    _spatial = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool2d`: each maximum returns to the position its index names (in the
    flattened H_out·W_out plane), zeros elsewhere. ``forward(input, indices, output_size=None)`` takes the
    indices from ``MaxPool2d(..., return_indices=True)``.

    Shape: (N, C, H, W) or (C, H, W) → (…, H_out, W_out), H_out = (H − 1)·stride − 2·padding + kh.

    Example:
        >>> pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
        >>> x = nerve.randn(1, 2, 4, 4)
        >>> y, idx = pool(x)
        >>> unpool(y, idx).shape == x.shape
        True
    """

    _spatial = 2

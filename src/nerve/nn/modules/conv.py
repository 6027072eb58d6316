"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d`` (NCHW, PyTorch's names and
initialisation)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nerve._dtypes import as_dtype, get_default_dtype
from nerve.nn import init
from nerve.nn.functional import conv_transpose1d_checked
from nerve.nn.modules.module import Module
from nerve.nn.parameter import Parameter
from nerve.ops.conv import as_tuple, conv1d_checked, conv2d_checked, conv_padding, conv_transpose2d_checked
from nerve.ops.shape import pad
from nerve.tensor import Tensor


class _ConvNd(Module):
    """Shared by the conv layers: hyperparameters, parameters, PyTorch's initialisation and repr.

    Its ``__init__`` is ``Conv1d``'s and ``Conv2d``'s (PyTorch's argument order); ``ConvTranspose2d`` reorders.
    """

    _spatial: int
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: str | int | Sequence[int] = 0,
                 dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        n = self._spatial
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"{name}: channel counts must be positive, got in_channels={in_channels}, "
                             f"out_channels={out_channels}")
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                             f"divisible by groups ({groups})")
        modes = ("zeros",) if self._transposed else ("zeros", "reflect", "replicate", "circular")
        if padding_mode not in modes:
            raise ValueError(f"{name}: padding_mode must be one of {', '.join(map(repr, modes))}, got {padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = as_tuple(kernel_size, n, "kernel_size", name)
        self.stride = as_tuple(stride, n, "stride", name)
        self.padding = padding if isinstance(padding, str) else as_tuple(padding, n, "padding", name, minimum=0)
        if padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions "
                             f"(stride={self.stride})")
        self.dilation = as_tuple(dilation, n, "dilation", name)
        self.output_padding = (0,) * n  # only transposed convolutions set it
        self.groups = groups
        self.padding_mode = padding_mode
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        shape = ((in_channels, out_channels // groups) if self._transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # PyTorch's default: kaiming_uniform(a=√5) gives U(±1/√fan_in) for the weight, and the bias matches.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * int(np.prod(self.kernel_size))
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _where(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def _padded(self, x: Tensor) -> tuple[Tensor, str | tuple[int, ...]]:
        """The input and the padding left for the convolution: with a padding_mode other than zeros, the input
        padded by that mode and no padding (as PyTorch does, pad first, then convolve unpadded)."""
        if self.padding_mode == "zeros":
            return x, self.padding
        sides = conv_padding(self.padding, self.kernel_size, self.stride, self.dilation, self._where())
        widths = [w for before_after in reversed(sides) for w in before_after]  # F.pad's order: last dim first
        return pad(x, widths, mode=self.padding_mode), (0,) * self._spatial

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        defaults = {"padding": (0,) * self._spatial, "dilation": (1,) * self._spatial,
                    "output_padding": (0,) * self._spatial}
        for attr in ("padding", "dilation", "output_padding"):
            value = getattr(self, attr)
            if value != defaults[attr]:
                text += f", {attr}={value!r}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv1d(_ConvNd):
    """1-D convolution over a batch of sequences (e.g. time series with C channels).

    Args: as :class:`Conv2d`, with ints (or 1-tuples) for the kernel, stride, padding and dilation.

    Shape:
        - Input: (N, C_in, L) or (C_in, L)
        - Output: (N, C_out, L_out), L_out = ⌊(L + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1

    Attributes:
        weight: (C_out, C_in/groups, k);  bias: (C_out,)
    """

    _spatial = 1

    def forward(self, x: Tensor) -> Tensor:
        x, padding = self._padded(x)
        return conv1d_checked(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups,
                              self._where())


class Conv2d(_ConvNd):
    """2-D convolution: each output channel slides a learned C_in/groups × kh × kw filter over the image.

    Weight sharing across positions is what makes a CNN translation-equivariant and far smaller than a dense
    layer on pixels (the seed's concept 8).

    Args:
        in_channels, out_channels: channel counts (both divisible by ``groups``).
        kernel_size: int or (kh, kw).
        stride: step between windows (default 1).
        padding: added on each side: int, (ph, pw), ``'valid'`` (none) or ``'same'`` (output size =
            input size; stride 1 only).
        dilation: spacing between kernel taps (default 1).
        groups: split channels into independent groups; ``groups = in_channels`` is a depthwise convolution.
        bias: learn a per-channel bias (default True).
        padding_mode: what the padding holds: ``'zeros'`` (default), ``'reflect'``, ``'replicate'`` or
            ``'circular'`` (as :func:`nerve.nn.functional.pad`).

    Shape:
        - Input: (N, C_in, H, W) or (C_in, H, W)
        - Output: (N, C_out, H_out, W_out), H_out = ⌊(H + 2·ph − dilation·(kh − 1) − 1) / stride⌋ + 1

    Attributes:
        weight: (C_out, C_in/groups, kh, kw), U(±1/√fan_in) with fan_in = C_in/groups·kh·kw, as in PyTorch.
        bias: (C_out,), same bound.

    Example:
        >>> conv = nn.Conv2d(1, 6, 5, padding=2)
        >>> conv(nerve.randn(64, 1, 28, 28)).shape
        (64, 6, 28, 28)
    """

    _spatial = 2

    def forward(self, x: Tensor) -> Tensor:
        x, padding = self._padded(x)
        return conv2d_checked(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups,
                              self._where())


class _ConvTransposeNd(_ConvNd):
    """Shared by the transposed conv layers: PyTorch's argument order (output_padding after padding)."""

    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                 output_padding: int | Sequence[int] = 0, groups: int = 1, bias: bool = True,
                 dilation: int | Sequence[int] = 1, padding_mode: str = "zeros", dtype: Any = None) -> None:
        name = type(self).__name__
        if isinstance(padding, str):
            expected = "an int or a pair" if self._spatial == 2 else "an int"
            raise ValueError(f"{name}: padding must be {expected}, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dtype)
        self.output_padding = as_tuple(output_padding, self._spatial, "output_padding", name, minimum=0)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution ("deconvolution"): learned upsampling, the adjoint of :class:`Conv2d`.

    Shape:
        - Input: (N, C_in, H, W) or (C_in, H, W)
        - Output: (N, C_out, H_out, W_out),
          H_out = (H − 1)·stride − 2·padding + dilation·(kh − 1) + output_padding + 1

    Attributes:
        weight: (C_in, C_out/groups, kh, kw) (PyTorch's layout: input channels first);  bias: (C_out,)
    """

    _spatial = 2

    def forward(self, x: Tensor) -> Tensor:
        return conv_transpose2d_checked(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                        self.groups, self.dilation, self._where())


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution: learned upsampling of sequences, the adjoint of :class:`Conv1d`.

    Args: as :class:`ConvTranspose2d`, with ints (or 1-tuples) for the kernel, stride, padding, output_padding
    and dilation.

    Shape:
        - Input: (N, C_in, L) or (C_in, L)
        - Output: (N, C_out, L_out), L_out = (L − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1;
          ``forward(x, output_size)`` picks the output_padding that gives ``output_size`` instead.

    Attributes:
        weight: (C_in, C_out/groups, k) (PyTorch's layout: input channels first);  bias: (C_out,)

    Example:
        >>> up = nn.ConvTranspose1d(16, 8, 4, stride=2, padding=1)
        >>> up(nerve.randn(2, 16, 50)).shape
        (2, 8, 100)
    """

    _spatial = 1

    def _output_padding(self, x: Tensor, output_size: Sequence[int]) -> tuple[int]:
        """The output_padding giving ``output_size`` (L_out, or with the batch and channel dims), as PyTorch."""
        sizes = [int(s) for s in output_size]
        lead = x.ndim - 1 if isinstance(x, Tensor) else 1
        if len(sizes) == lead + 1:
            sizes = sizes[lead:]
        if len(sizes) != 1:
            raise ValueError(f"{self._where()}: output_size must have 1 or {lead + 1} elements, got {output_size!r}")
        (k,), (s,), (p,), (d,) = self.kernel_size, self.stride, self.padding, self.dilation
        smallest = (x.shape[-1] - 1) * s - 2 * p + d * (k - 1) + 1
        if not smallest <= sizes[0] <= smallest + s - 1:
            raise ValueError(f"{self._where()}: requested an output size of {sizes[0]}, but valid sizes range from "
                             f"{smallest} to {smallest + s - 1} for an input of length {x.shape[-1]}")
        return (sizes[0] - smallest,)

    def forward(self, x: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        output_padding = self.output_padding if output_size is None else self._output_padding(x, output_size)
        return conv_transpose1d_checked(x, self.weight, self.bias, self.stride, self.padding, output_padding,
                                        self.groups, self.dilation, self._where())

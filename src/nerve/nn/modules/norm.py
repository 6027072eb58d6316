"""Normalization layers: ``BatchNorm1d/2d``, ``InstanceNorm1d/2d``, ``LayerNorm``, ``GroupNorm``, ``RMSNorm``.

Names, buffers, defaults and initialisation follow PyTorch, so a PyTorch ``state_dict`` loads directly.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from nerve._dtypes import as_dtype, get_default_dtype
from nerve.nn import functional as F
from nerve.nn import init
from nerve.nn.modules.module import Module
from nerve.nn.parameter import Parameter
from nerve.tensor import Tensor, _wrap


def _check_tensor(x: Any, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor input, got {type(x).__name__}")


def _optional_parameter(module: Module, name: str, shape: tuple[int, ...], dtype: np.dtype, present: bool) -> None:
    """Register an uninitialised parameter, or None (so the name is known, as in PyTorch)."""
    module.register_parameter(name, Parameter(np.empty(shape, dtype=dtype)) if present else None)


def _reset_affine(module: Module) -> None:
    """Start a norm layer's optional affine map as the identity: weight 1, bias 0."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


def _check_dtype(x: Tensor, weight: Parameter | None, name: str) -> None:
    if weight is not None and x.dtype != weight.dtype:
        raise TypeError(
            f"{name}: input of dtype {x.dtype} and shape {tuple(x.shape)}, but the weight is {weight.dtype}; "
            f"convert the input with .to({weight.dtype}) or the layer with .to({x.dtype})"
        )


class _BatchNorm(Module):
    """Shared by ``BatchNorm1d`` and ``BatchNorm2d``; subclasses say which input layouts they accept."""

    #: accepted input ndims and the layout each stands for, with C for the channel count
    _layouts: ClassVar[dict[int, str]]

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        if num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be positive, got {num_features}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1] or None, got {momentum}")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        _optional_parameter(self, "weight", (num_features,), dt, affine)
        _optional_parameter(self, "bias", (num_features,), dt, affine and bias)
        if track_running_stats:
            self.register_buffer("running_mean", _wrap(np.zeros(num_features, dtype=dt)))
            self.register_buffer("running_var", _wrap(np.ones(num_features, dtype=dt)))
            self.register_buffer("num_batches_tracked", _wrap(np.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input(self, x: Tensor) -> None:
        name = f"{type(self).__name__}({self.num_features})"
        _check_tensor(x, name)
        layouts = " or ".join(self._layouts.values()).replace("C", str(self.num_features))
        if x.ndim not in self._layouts:
            dims = " or ".join(f"{d}-D" for d in self._layouts)
            raise ValueError(f"{name}: expected {dims} input {layouts}, got {x.ndim}-D input of shape {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: expected input with {self.num_features} channels {layouts}, got shape {tuple(x.shape)}"
            )
        if self.training and x.shape[0] * int(np.prod(x.shape[2:])) == 1:
            raise ValueError(
                f"{name}: expected more than 1 value per channel when training, got input of shape "
                f"{tuple(x.shape)}; use a batch of more than one sample, or eval mode"
            )
        _check_dtype(x, self.weight, name)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:  # cumulative moving average: the mean of all batch statistics so far
                factor = 1.0 / float(self.num_batches_tracked.data)
        # without running statistics the batch's are used in eval mode too
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    r"""Batch normalization over a 2-D or 3-D input (Ioffe & Szegedy, 2015).

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    In training the mean and (biased) variance are the batch's, per channel over N (and L), and the running
    estimates are updated: ``running = (1 - momentum) * running + momentum * batch``, with the unbiased batch
    variance. In eval mode the running estimates normalise instead.

    Args:
        num_features: number of channels C.
        eps: added to the variance for stability (default 1e-5).
        momentum: weight of each batch in the running estimates (default 0.1); None keeps a cumulative
            moving average (the plain mean over all batches seen).
        affine: learn a per-channel scale ``weight`` (init 1) and shift ``bias`` (init 0) (default True).
        track_running_stats: keep ``running_mean``, ``running_var`` and ``num_batches_tracked`` buffers
            (default True); without them the batch statistics are used in eval mode as well.
        dtype: parameter and buffer dtype (default float32).
        bias: keyword-only; learn the ``bias`` too, when ``affine`` (default True).

    Shape:
        - Input: (N, C) or (N, C, L)
        - Output: the input's shape

    Example:
        >>> bn = nn.BatchNorm1d(100)
        >>> bn(nerve.randn(20, 100)).shape
        (20, 100)
    """

    _layouts: ClassVar[dict[int, str]] = {2: "(N, C)", 3: "(N, C, L)"}


class BatchNorm2d(_BatchNorm):
    r"""Batch normalization over a 4-D input: per channel over N, H and W (Ioffe & Szegedy, 2015).

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    Training, eval mode and the running estimates are as in :class:`BatchNorm1d`.

    Args:
        num_features: number of channels C.
        eps: added to the variance for stability (default 1e-5).
        momentum: weight of each batch in the running estimates (default 0.1); None keeps a cumulative
            moving average.
        affine: learn a per-channel ``weight`` (init 1) and ``bias`` (init 0) (default True).
        track_running_stats: keep running estimates (default True).
        dtype: parameter and buffer dtype (default float32).
        bias: keyword-only; learn the ``bias`` too, when ``affine`` (default True).

    Shape:
        - Input: (N, C, H, W)
        - Output: (N, C, H, W)

    Example:
        >>> bn = nn.BatchNorm2d(16)
        >>> bn(nerve.randn(8, 16, 32, 32)).shape
        (8, 16, 32, 32)
    """

    _layouts: ClassVar[dict[int, str]] = {4: "(N, C, H, W)"}


class LayerNorm(Module):
    r"""Layer normalization over the trailing ``normalized_shape`` dims of each sample (Ba et al., 2016).

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \odot \gamma + \beta

    The mean and (biased) variance are taken over the last ``len(normalized_shape)`` dims, in training and
    eval mode alike; ``weight`` and ``bias`` are elementwise, of shape ``normalized_shape``.

    Args:
        normalized_shape: trailing shape to normalise over (an int means the last dim).
        eps: added to the variance for stability (default 1e-5).
        elementwise_affine: learn ``weight`` (init 1) and ``bias`` (init 0) (default True).
        bias: learn the ``bias`` too, when ``elementwise_affine`` (default True).
        dtype: parameter dtype (default float32).

    Shape:
        - Input: (*, *normalized_shape)
        - Output: the input's shape

    Example:
        >>> ln = nn.LayerNorm(64)
        >>> ln(nerve.randn(2, 10, 64)).shape
        (2, 10, 64)
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        if isinstance(normalized_shape, int | np.integer):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        if not self.normalized_shape or min(self.normalized_shape) <= 0:
            raise ValueError(f"LayerNorm: normalized_shape must be non-empty and positive, got {normalized_shape!r}")
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        _optional_parameter(self, "weight", self.normalized_shape, dt, elementwise_affine)
        _optional_parameter(self, "bias", self.normalized_shape, dt, elementwise_affine and bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, x: Tensor) -> Tensor:
        name = f"LayerNorm({self.normalized_shape})"
        _check_tensor(x, name)
        k = len(self.normalized_shape)
        if tuple(x.shape[x.ndim - k:]) != self.normalized_shape or x.ndim < k:
            trailing = ", ".join(str(s) for s in self.normalized_shape)
            raise ValueError(
                f"{name}: expected input whose last {k} dim(s) are {self.normalized_shape}, i.e. shape "
                f"(*, {trailing}), got shape {tuple(x.shape)}"
            )
        _check_dtype(x, self.weight, name)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    r"""Group normalization: each sample's channels split into ``num_groups`` groups (Wu & He, 2018).

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    The mean and (biased) variance are taken per sample over each group of ``num_channels / num_groups``
    channels and all their positions, so the result does not depend on the batch size (unlike batch norm).
    ``weight`` and ``bias`` are per channel. ``num_groups=1`` normalises over all of C, H, W;
    ``num_groups=num_channels`` is instance normalization.

    Args:
        num_groups: number of groups; must divide ``num_channels``.
        num_channels: number of channels C.
        eps: added to the variance for stability (default 1e-5).
        affine: learn a per-channel ``weight`` (init 1) and ``bias`` (init 0) (default True).
        dtype: parameter dtype (default float32).
        bias: keyword-only; learn the ``bias`` too, when ``affine`` (default True).

    Shape:
        - Input: (N, C, *)
        - Output: the input's shape

    Example:
        >>> gn = nn.GroupNorm(4, 16)
        >>> gn(nerve.randn(2, 16, 8, 8)).shape
        (2, 16, 8, 8)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels <= 0:
            raise ValueError(
                f"GroupNorm: num_groups and num_channels must be positive, got {num_groups} and {num_channels}"
            )
        if num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        _optional_parameter(self, "weight", (num_channels,), dt, affine)
        _optional_parameter(self, "bias", (num_channels,), dt, affine and bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, x: Tensor) -> Tensor:
        name = f"GroupNorm({self.num_groups}, {self.num_channels})"
        _check_tensor(x, name)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"{name}: expected input with {self.num_channels} channels (N, {self.num_channels}, *), "
                f"got shape {tuple(x.shape)}"
            )
        _check_dtype(x, self.weight, name)
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(_BatchNorm):
    """Shared by ``InstanceNorm1d`` and ``InstanceNorm2d``: batch norm's parameters and buffers, per-instance
    statistics. Subclasses give the batched layout; the unbatched one drops N."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype, bias=bias)

    def _check_input(self, x: Tensor) -> None:
        name = f"{type(self).__name__}({self.num_features})"
        _check_tensor(x, name)
        batched = max(self._layouts)
        layouts = " or ".join(self._layouts.values()).replace("C", str(self.num_features))
        if x.ndim not in self._layouts:
            raise ValueError(f"{name}: expected {batched}-D or {batched - 1}-D (unbatched) input {layouts}, "
                             f"got {x.ndim}-D input of shape {tuple(x.shape)}")
        channels = x.shape[x.ndim - batched + 1]
        if channels != self.num_features:
            if self.affine or self.track_running_stats:
                raise ValueError(f"{name}: expected input with {self.num_features} channels {layouts}, "
                                 f"got shape {tuple(x.shape)}")
            warnings.warn(  # as PyTorch: without affine parameters or running statistics C is not used
                f"{name}: input's size at dim={x.ndim - batched + 1} does not match num_features. You can "
                "silence this warning by not passing in num_features, which is not used because affine=False",
                UserWarning, stacklevel=3,
            )
        _check_dtype(x, self.weight, name)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        if x.ndim < max(self._layouts):  # unbatched
            return self.forward(x.unsqueeze(0)).squeeze(0)
        use_input_stats = self.training or not self.track_running_stats
        if use_input_stats and int(np.prod(x.shape[2:])) == 1:
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected more than 1 spatial element "
                             f"when training, got input of shape {tuple(x.shape)}")
        # NOTE: as PyTorch, momentum=None means 0 here (no cumulative average) and num_batches_tracked stays put
        return F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_input_stats,
                               0.0 if self.momentum is None else self.momentum, self.eps)


class InstanceNorm1d(_InstanceNorm):
    r"""Instance normalization: each channel of each sample normalised over its positions (Ulyanov et al., 2016).

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    The mean and (biased) variance are per (sample, channel) over L, in training and eval mode alike, unless
    ``track_running_stats``: then running estimates (updated in training with the batch mean of the
    instances' statistics) normalise in eval mode.

    Args:
        num_features: number of channels C.
        eps: added to the variance for stability (default 1e-5).
        momentum: weight of each batch in the running estimates (default 0.1).
        affine: learn a per-channel ``weight`` (init 1) and ``bias`` (init 0) (default False).
        track_running_stats: keep ``running_mean``, ``running_var`` and ``num_batches_tracked`` buffers
            and use them in eval mode (default False).
        dtype: parameter and buffer dtype (default float32).
        bias: keyword-only; learn the ``bias`` too, when ``affine`` (default True).

    Shape:
        - Input: (N, C, L) or (C, L)
        - Output: the input's shape

    Example:
        >>> nn.InstanceNorm1d(4)(nerve.randn(2, 4, 10)).shape
        (2, 4, 10)
    """

    _layouts: ClassVar[dict[int, str]] = {2: "(C, L)", 3: "(N, C, L)"}


class InstanceNorm2d(_InstanceNorm):
    r"""Instance normalization of images: each channel of each sample over its H×W positions (style transfer).

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    Arguments, training and eval mode are as in :class:`InstanceNorm1d`.

    Shape:
        - Input: (N, C, H, W) or (C, H, W)
        - Output: the input's shape

    Example:
        >>> nn.InstanceNorm2d(3, affine=True)(nerve.randn(2, 3, 8, 8)).shape
        (2, 3, 8, 8)
    """

    _layouts: ClassVar[dict[int, str]] = {3: "(C, H, W)", 4: "(N, C, H, W)"}


class RMSNorm(Module):
    r"""Root-mean-square normalization over the trailing ``normalized_shape`` dims (Zhang & Sennrich, 2019).

    .. math:: y = \frac{x}{\sqrt{\mathrm{mean}(x^2) + \epsilon}} \odot \gamma

    Unlike layer norm no mean is subtracted and there is no bias (LLaMA, T5).

    Args:
        normalized_shape: trailing shape to normalise over (an int means the last dim).
        eps: added to the mean square; None uses the machine epsilon of the input's dtype (default None).
        elementwise_affine: learn ``weight`` (init 1) of shape ``normalized_shape`` (default True).
        dtype: parameter dtype (default float32).

    Shape:
        - Input: (*, *normalized_shape)
        - Output: the input's shape

    Example:
        >>> nn.RMSNorm(64)(nerve.randn(2, 10, 64)).shape
        (2, 10, 64)
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float | None = None,
                 elementwise_affine: bool = True, dtype: Any = None) -> None:
        super().__init__()
        if isinstance(normalized_shape, int | np.integer):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        if not self.normalized_shape or min(self.normalized_shape) <= 0:
            raise ValueError(f"RMSNorm: normalized_shape must be non-empty and positive, got {normalized_shape!r}")
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        _optional_parameter(self, "weight", self.normalized_shape, dt, elementwise_affine)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        name = f"RMSNorm({self.normalized_shape})"
        _check_tensor(x, name)
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k:]) != self.normalized_shape:
            trailing = ", ".join(str(s) for s in self.normalized_shape)
            raise ValueError(
                f"{name}: expected input whose last {k} dim(s) are {self.normalized_shape}, i.e. shape "
                f"(*, {trailing}), got shape {tuple(x.shape)}"
            )
        _check_dtype(x, self.weight, name)
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    r"""Local response normalization across channels (Krizhevsky et al., 2012).

    .. math:: b_c = a_c \left(k + \frac{\alpha}{n} \sum_{c'=c-\lfloor n/2 \rfloor}^{c+\lfloor (n-1)/2 \rfloor}
              a_{c'}^2\right)^{-\beta}

    Args:
        size: number of neighbouring channels ``n`` in the sum (channels beyond the edges count as zero).
        alpha: multiplicative factor (default 1e-4).
        beta: exponent (default 0.75).
        k: additive factor (default 1).

    Shape:
        - Input: (N, C, *) with 3 or more dims
        - Output: the input's shape

    Example:
        >>> nn.LocalResponseNorm(2)(nerve.randn(8, 16, 5, 5)).shape
        (8, 16, 5, 5)
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        if not isinstance(size, int | np.integer) or size < 1:
            raise ValueError(f"LocalResponseNorm: size must be a positive int, got {size!r}")
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, x: Tensor) -> Tensor:
        return F.local_response_norm_checked(x, self.size, self.alpha, self.beta, self.k,
                                             f"LocalResponseNorm({self.extra_repr()})")

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

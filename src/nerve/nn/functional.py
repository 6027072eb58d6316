"""Stateless neural-network functions: layers, activations, dropout and losses.

Activations and ``linear`` are primitives from :mod:`nerve.ops`; the losses here are composed from
primitives, except cross-entropy and NLL over class indices, which are fused primitives.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from nerve._dtypes import as_dtype
from nerve.ops import activation as _act
from nerve.ops import loss as _loss
from nerve.ops._util import normalize_dim, require_tensor
from nerve.ops.activation import _float_input, erf, gelu, sigmoid, softplus, tanh
from nerve.ops.attention import scaled_dot_product_attention
from nerve.ops.conv import (
    ConvTranspose2d,
    Pair,
    _check_conv_operands,
    _unbatched,
    as_tuple,
    conv1d,
    conv2d,
    conv_output_size,
    conv_transpose2d,
)
from nerve.ops.elementwise import clamp, minimum, where
from nerve.ops.embedding import embedding
from nerve.ops.linalg import linear, matmul
from nerve.ops.norm import batch_norm, group_norm, instance_norm, layer_norm, rms_norm
from nerve.ops.pool import (
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from nerve.ops.shape import PlaceAt, pad, stack
from nerve.random import Generator, resolve_generator
from nerve.tensor import Tensor, _wrap

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "avg_pool1d",
    "avg_pool2d", "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits", "celu", "check_reduction",
    "conv1d", "conv2d", "conv_transpose2d", "cosine_embedding_loss", "cosine_similarity", "cross_entropy", "dropout",
    "dropout1d", "dropout2d", "elu", "embedding", "erf", "gaussian_nll_loss", "gelu", "glu", "group_norm",
    "hardsigmoid", "hardswish", "hardtanh", "huber_loss", "instance_norm", "interpolate", "kl_div", "l1_loss",
    "layer_norm", "leaky_relu", "linear", "log_softmax", "logsigmoid", "margin_ranking_loss", "max_pool1d",
    "max_pool2d", "mish", "mse_loss", "nll_loss", "normalize", "one_hot", "pad", "pairwise_distance", "pixel_shuffle",
    "pixel_unshuffle", "prelu", "relu", "relu6", "rms_norm", "scaled_dot_product_attention", "selu", "sigmoid",
    "silu", "smooth_l1_loss", "softmax", "softmin", "softplus", "softsign", "tanh", "triplet_margin_loss",
]

Reduction = Literal["mean", "sum", "none"]

# ---------------------------------------------------------------------------------------------- activations
# ``inplace`` is accepted wherever torch has it, for drop-in compatibility: nerve never writes into an input,
# so the result is the same values in a new tensor.

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0)."""
    return _act.relu(input)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(input, 0), 6); no gradient at 0 and 6 (as PyTorch's)."""
    return hardtanh(input, 0.0, 6.0)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """Clamp to ``[min_val, max_val]``. Unlike ``clamp``, whose gradient passes at the bounds, the gradient is
    zero from the bounds outward, as PyTorch's hardtanh defines it."""
    require_tensor(input, "hardtanh")
    if input.data.dtype.kind != "f":  # integers: nothing to differentiate
        return clamp(input, min_val, max_val)
    inside = (input > min_val) & (input < max_val)
    return where(inside, input, clamp(input, min_val, max_val).detach())


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """input for input > 0, ``negative_slope * input`` otherwise."""
    return _act.leaky_relu(input, negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """input for input > 0, ``alpha * (exp(input) - 1)`` otherwise."""
    return _act.elu(input, alpha)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """input * sigmoid(input) (swish)."""
    return _act.silu(input)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(input, alpha) with the self-normalising constants of Klambauer et al. (2017)."""
    return _act.elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """input for input > 0, ``alpha * (exp(input / alpha) - 1)`` otherwise: ``alpha * elu(input / alpha)``."""
    if alpha == 0:
        raise ValueError("celu: alpha must be non-zero (it divides the input), got 0")
    if alpha == 1:
        return _act.elu(input)
    return _act.elu(input / alpha) * alpha


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """input * tanh(softplus(input)) (Misra, 2019)."""
    _float_input(input, "mish")
    return input * tanh(softplus(input))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """input * relu6(input + 3) / 6 (MobileNetV3)."""
    _float_input(input, "hardswish")
    # NOTE: where(), not clamp: PyTorch's gradient is 0 at x = -3 and 1 at x = 3 (clamp passes 1 at its bounds)
    return where(input <= -3.0, 0.0, where(input >= 3.0, input, input * (input + 3.0) / 6.0))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(input + 3) / 6: 0 below -3, 1 above 3, linear between."""
    _float_input(input, "hardsigmoid")
    # NOTE: where(), not clamp: PyTorch's gradient is 0 at x = ±3 (clamp passes the slope at its bounds)
    inside = (input > -3.0) & (input < 3.0)
    return where(inside, input / 6.0 + 0.5, (input >= 3.0).to(input.dtype))


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(input)) = -softplus(-input), finite for large negative inputs."""
    _float_input(input, "logsigmoid")
    return -softplus(-input)


def softsign(input: Tensor) -> Tensor:
    """input / (1 + |input|)."""
    _float_input(input, "softsign")
    return input / (input.abs() + 1.0)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: split ``input`` in halves a, b along ``dim`` and return ``a * sigmoid(b)``.

    Shape: (*, 2N, *) → (*, N, *), halving ``dim``.
    """
    _float_input(input, "glu")
    if input.ndim == 0:
        raise ValueError("glu: expected an input with at least one dim, got a 0-d tensor")
    axis = normalize_dim(dim, input.ndim, "glu")
    if input.shape[axis] % 2:
        raise ValueError(f"glu: dim {dim} must have an even size to halve, got shape {tuple(input.shape)}")
    a, b = input.chunk(2, axis)
    return a * sigmoid(b)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """input for input > 0, ``weight * input`` otherwise, with one learned slope or one per channel (dim 1).

    Shape: input (N, C, *) or any shape when ``weight`` has one element; weight (1,) or (C,).
    """
    _float_input(input, "prelu")
    if weight.numel() != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if weight.ndim != 1 or weight.shape[0] != channels:
            raise ValueError(f"prelu: expected a weight of shape (1,) or ({channels},), one slope per channel "
                             f"(dim 1) of the input of shape {tuple(input.shape)}, got {tuple(weight.shape)}")
        weight = weight.reshape((1, channels) + (1,) * (input.ndim - 2))
    elif input.ndim < weight.ndim:
        weight = weight.reshape(())
    return where(input.data > 0, input, weight * input)


def _softmax_input(input: Tensor, dim: int | None, dtype: Any, op: str) -> Tensor:
    if dim is None:
        raise ValueError(f"{op}: pass dim explicitly (the dim whose entries should sum to 1), e.g. dim=-1")
    return input if dtype is None else input.to(as_dtype(dtype))


def softmax(input: Tensor, dim: int | None = None, *, dtype: Any = None) -> Tensor:
    """exp(input) / sum(exp(input)) along ``dim``; ``dtype`` casts the input first (e.g. to float64)."""
    return _act.softmax(_softmax_input(input, dim, dtype, "softmax"), dim)


def log_softmax(input: Tensor, dim: int | None = None, *, dtype: Any = None) -> Tensor:
    """input - logsumexp(input) along ``dim``; ``dtype`` casts the input first."""
    return _act.log_softmax(_softmax_input(input, dim, dtype, "log_softmax"), dim)


def softmin(input: Tensor, dim: int | None = None, *, dtype: Any = None) -> Tensor:
    """softmax(-input) along ``dim``; ``dtype`` casts the input first."""
    return _act.softmax(-_softmax_input(input, dim, dtype, "softmin"), dim)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: Generator | None = None) -> Tensor:
    """Zero elements with probability ``p`` and scale survivors by 1/(1-p); identity when not training.

    ``inplace`` is accepted for PyTorch compatibility: the result is the same, returned as a new tensor.
    """
    x = input
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    # float32 uniforms: half the bytes of float64 ones, and p's resolution is ample at 2**-24
    keep = resolve_generator(generator).random(x.shape, dtype=np.float32) >= np.float32(p)
    scale = x.data.dtype.type(1.0 / (1.0 - p))
    return x * _wrap(keep * scale)


def _channel_dropout(x: Tensor, p: float, training: bool, spatial: int, op: str,
                     generator: Generator | None) -> Tensor:
    """Drop whole channels: one keep/drop draw per (sample, channel), shared by all its positions."""
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: p must be in [0, 1], got {p}")
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(f"{op}: expected a {spatial + 2}-D (batched) or {spatial + 1}-D (unbatched) input, "
                         f"got shape {tuple(x.shape)}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    mask_shape = tuple(x.shape[: x.ndim - spatial]) + (1,) * spatial
    keep = resolve_generator(generator).random(mask_shape) >= p
    return x * _wrap(keep * x.data.dtype.type(1.0 / (1.0 - p)))


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: Generator | None = None) -> Tensor:
    """Zero entire feature maps of (N, C, H, W) with probability ``p`` (neighbouring pixels are correlated,
    so element-wise dropout would barely regularise a conv layer); survivors scale by 1/(1-p)."""
    return _channel_dropout(input, p, training, 2, "dropout2d", generator)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: Generator | None = None) -> Tensor:
    """Zero entire channels of (N, C, L) with probability ``p``; survivors scale by 1/(1-p)."""
    return _channel_dropout(input, p, training, 1, "dropout1d", generator)


def _adaptive_matrix(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    """(out, size) averaging matrix: row i averages input [floor(i·n/out), ceil((i+1)·n/out)), PyTorch's bins."""
    matrix = np.zeros((out, size), dtype=dtype)
    for i in range(out):
        start, end = (i * size) // out, -((-(i + 1) * size) // out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def _output_size(output_size: Any, x: Tensor, spatial: int, op: str) -> tuple[int, ...]:
    sizes = (output_size,) * spatial if isinstance(output_size, int | np.integer) or output_size is None \
        else tuple(output_size)
    if len(sizes) != spatial:
        raise ValueError(f"{op}: output_size must be an int or {spatial} ints, got {output_size!r}")
    # None keeps the input's size along that dim, as in PyTorch
    sizes = tuple(int(x.shape[x.ndim - spatial + i]) if s is None else int(s) for i, s in enumerate(sizes))
    if any(s < 1 for s in sizes):
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    return sizes


def _separable(x: Tensor, matrices: list[np.ndarray]) -> Tensor:
    """Apply a (out, in) matrix along each trailing spatial dim: y = A_h @ x @ A_wᵀ (a linear map, so its
    gradient comes from matmul's)."""
    if len(matrices) == 2:
        x = matmul(_wrap(matrices[0]), x)
    return matmul(x, _wrap(np.ascontiguousarray(matrices[-1].T)))


def _spatial_input(x: Tensor, spatial: int, op: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(x).__name__}")
    if x.ndim not in (spatial + 1, spatial + 2) or x.data.dtype.kind != "f":
        layout = "N, C, L" if spatial == 1 else "N, C, H, W"
        raise ValueError(f"{op}: expected a floating ({layout}) input, got shape {tuple(x.shape)} ({x.data.dtype})")


def adaptive_avg_pool2d(x: Tensor, output_size: int | tuple[int | None, int | None]) -> Tensor:
    """Average over PyTorch's adaptive bins so the output is exactly ``output_size``; (N, C, H, W) → (N, C, oh, ow)."""
    _spatial_input(x, 2, "adaptive_avg_pool2d")
    oh, ow = _output_size(output_size, x, 2, "adaptive_avg_pool2d")
    h, w = x.shape[-2:]
    if (oh, ow) == (1, 1):  # global average pooling: the common case, a plain mean
        return x.mean(dim=(-2, -1), keepdim=True)
    dt = x.data.dtype
    return _separable(x, [_adaptive_matrix(h, oh, dt), _adaptive_matrix(w, ow, dt)])


def adaptive_avg_pool1d(x: Tensor, output_size: int) -> Tensor:
    """(N, C, L) → (N, C, output_size) by averaging adaptive bins."""
    _spatial_input(x, 1, "adaptive_avg_pool1d")
    (o,) = _output_size(output_size, x, 1, "adaptive_avg_pool1d")
    return _separable(x, [_adaptive_matrix(x.shape[-1], o, x.data.dtype)])


def _interpolation_matrix(size: int, out: int, mode: str, align_corners: bool, scale: float | None,
                          dtype: np.dtype) -> np.ndarray:
    """(out, size) resampling matrix; ``scale`` is 1/scale_factor when the caller gave one (PyTorch uses it
    as given rather than recomputing size/out)."""
    matrix = np.zeros((out, size), dtype=np.float64)
    rows = np.arange(out)
    ratio = scale if scale is not None else size / out
    if mode == "nearest":
        src = np.minimum(np.floor(rows * ratio).astype(np.int64), size - 1)
        matrix[rows, src] = 1.0
        return matrix.astype(dtype)
    if align_corners:
        src = rows * ((size - 1) / (out - 1)) if out > 1 else np.zeros(out)
    else:
        src = np.maximum((rows + 0.5) * ratio - 0.5, 0.0)
    low = np.minimum(np.floor(src).astype(np.int64), size - 1)
    high = np.minimum(low + 1, size - 1)
    frac = src - low
    np.add.at(matrix, (rows, low), 1.0 - frac)  # low == high at the border: both weights land on one pixel
    np.add.at(matrix, (rows, high), frac)
    return matrix.astype(dtype)


def interpolate(x: Tensor, size: int | tuple[int, ...] | None = None, scale_factor: float | tuple[float, ...] | None
                = None, mode: str = "nearest", align_corners: bool | None = None) -> Tensor:
    """Resize (N, C, L) or (N, C, H, W) by ``size`` or ``scale_factor``.

    Modes: ``'nearest'``, ``'linear'`` (3-D input) and ``'bilinear'`` (4-D input), with PyTorch's
    ``align_corners`` convention (default False: pixel centres, not corners, are aligned).
    """
    spatial = x.ndim - 2 if isinstance(x, Tensor) else 0
    if mode not in ("nearest", "linear", "bilinear"):
        raise ValueError(f"interpolate: mode must be 'nearest', 'linear' or 'bilinear', got {mode!r}")
    if spatial not in (1, 2) or x.data.dtype.kind != "f":
        raise ValueError(f"interpolate: expected a floating (N, C, L) or (N, C, H, W) input, got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    if (mode == "linear" and spatial != 1) or (mode == "bilinear" and spatial != 2):
        raise ValueError(f"interpolate: mode {mode!r} needs a {3 if mode == 'linear' else 4}-D input, "
                         f"got shape {tuple(x.shape)}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners only applies to 'linear' and 'bilinear' modes")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    in_sizes = tuple(x.shape[2:])
    if size is not None:
        out = (size,) * spatial if isinstance(size, int | np.integer) else tuple(size)
        scales: tuple[float | None, ...] = (None,) * spatial
    else:
        factors = (scale_factor,) * spatial if isinstance(scale_factor, int | float) else tuple(scale_factor)
        if len(factors) != spatial or any(f <= 0 for f in factors):
            raise ValueError(f"interpolate: scale_factor must be positive, one per spatial dim, got {scale_factor!r}")
        out = tuple(int(np.floor(n * f)) for n, f in zip(in_sizes, factors))
        scales = tuple(1.0 / f for f in factors)
    if len(out) != spatial or any(int(o) < 1 for o in out):
        raise ValueError(f"interpolate: output size must be {spatial} positive ints, got {out}")
    kind = "nearest" if mode == "nearest" else "linear"
    mats = [_interpolation_matrix(n, int(o), kind, bool(align_corners), s, x.data.dtype)
            for n, o, s in zip(in_sizes, out, scales)]
    return _separable(x, mats)


def one_hot(x: Tensor, num_classes: int = -1) -> Tensor:
    """Int64 one-hot encoding with a new last dim of size ``num_classes`` (max + 1 when -1)."""
    idx = x.data
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor, got dtype {idx.dtype}")
    n = int(idx.max()) + 1 if num_classes == -1 else num_classes
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"one_hot: values must be in [0, {n}), got range [{idx.min()}, {idx.max()}]")
    return _wrap((idx[..., None] == np.arange(n)).astype(np.int64))


def normalize(x: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``."""
    n = x.norm(p, dim=dim, keepdim=True)
    return x / clamp(n, min=eps)


# --------------------------------------------------------------------------------------------- losses


def check_reduction(reduction: str, op: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss: Tensor, reduction: Reduction) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _same_shape(input: Tensor, target: Any, op: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if not isinstance(target, Tensor):
        target = _wrap(np.asarray(target, dtype=input.data.dtype))
    if input.shape != target.shape:
        raise ValueError(
            f"{op}: input shape {tuple(input.shape)} and target shape {tuple(target.shape)} differ; "
            "broadcasting them would compare every pair. Reshape one to match (e.g. target.view(-1, 1))."
        )
    if input.data.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {input.data.dtype}")
    if target.data.dtype != input.data.dtype:
        target = target.to(input.data.dtype)
    return target


def mse_loss(input: Tensor, target: Tensor, reduction: Reduction = "mean") -> Tensor:
    """Mean squared error (elementwise ``(input - target)^2``, then reduced)."""
    check_reduction(reduction, "mse_loss")
    target = _same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: Reduction = "mean") -> Tensor:
    """Mean absolute error."""
    check_reduction(reduction, "l1_loss")
    target = _same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: Reduction = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - delta / 2) elsewhere."""
    check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    target = _same_shape(input, target, "huber_loss")
    d = input - target
    ad = d.abs()
    loss = where(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    return _reduce(loss, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: Reduction = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - beta / 2 elsewhere (L1 when beta is 0)."""
    check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    target = _same_shape(input, target, "smooth_l1_loss")
    d = input - target
    ad = d.abs()
    if beta == 0:
        return _reduce(ad, reduction)
    loss = where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta)
    return _reduce(loss, reduction)


def _class_targets(input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int,
                   op: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate (N, C, ...) input against class-index targets; return the raw target and weight arrays."""
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, got a 0-d tensor")
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    expected = () if input.ndim == 1 else (input.shape[0], *input.shape[2:])
    t = target.data
    if t.shape != expected:
        raise ValueError(
            f"{op}: input of shape {tuple(input.shape)} (classes on dim {0 if input.ndim == 1 else 1}) needs "
            f"class-index targets of shape {expected}, got {tuple(t.shape)}"
        )
    counted = t[t != ignore_index]
    if counted.size and (counted.min() < 0 or counted.max() >= c):
        bad = counted.max() if counted.max() >= c else counted.min()
        raise ValueError(
            f"{op}: target contains class {bad}, but the input has {c} classes "
            f"(valid targets are 0..{c - 1}, or ignore_index={ignore_index})"
        )
    w = None
    if weight is not None:
        if weight.shape != (c,):
            raise ValueError(f"{op}: weight must have shape ({c},), one per class, got {tuple(weight.shape)}")
        w = weight.data.astype(input.data.dtype, copy=False)
    return t, w


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
                  reduction: Reduction = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits against class indices or class probabilities.

    Shape:
        input (N, C), (C,) or (N, C, d1, ...); target (N,), () or (N, d1, ...) int64 class indices, or
        floating probabilities of the input's shape. Output: scalar, or per element with 'none'.
    """
    check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if not isinstance(target, Tensor):
        target = _wrap(np.asarray(target))
    if input.data.dtype.kind != "f":
        raise TypeError(f"cross_entropy: input must be floating-point logits, got dtype {input.data.dtype}")
    if target.data.dtype.kind == "f":
        if target.shape != input.shape:
            raise ValueError(
                f"cross_entropy: floating targets are class probabilities and must have the input's shape "
                f"{tuple(input.shape)}, got {tuple(target.shape)}; class indices must be an integer tensor"
            )
        return _soft_cross_entropy(input, target, weight, reduction, label_smoothing)
    if target.data.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: target must be int64 class indices or float probabilities, got {target.dtype}")
    t, w = _class_targets(input, target, weight, ignore_index, "cross_entropy")
    return _loss.CrossEntropy.apply(input, target=t, weight=w, ignore_index=ignore_index, reduction=reduction,
                                    label_smoothing=float(label_smoothing))


def _soft_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None, reduction: Reduction,
                        label_smoothing: float) -> Tensor:
    dim = 0 if input.ndim == 1 else 1
    c = input.shape[dim]
    if weight is not None and weight.shape != (c,):
        raise ValueError(f"cross_entropy: weight must have shape ({c},), one per class, got {tuple(weight.shape)}")
    logp = log_softmax(input, dim)
    target = target.to(input.data.dtype)
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / c
    terms = logp * target
    if weight is not None:
        shape = [1] * input.ndim
        shape[dim] = c
        terms = terms * weight.to(input.data.dtype).reshape(shape)
    per_row = -terms.sum(dim)
    return _reduce(per_row, reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
             reduction: Reduction = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` at class indices ``target``."""
    check_reduction(reduction, "nll_loss")
    if not isinstance(target, Tensor):
        target = _wrap(np.asarray(target))
    if target.data.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must be an integer tensor of class indices, got dtype {target.dtype}")
    t, w = _class_targets(input, target, weight, ignore_index, "nll_loss")
    return _loss.NLLLoss.apply(input, target=t, weight=w, ignore_index=ignore_index, reduction=reduction)


def _clamped_log(x: Tensor) -> Tensor:
    """max(log(x), -100) for x in [0, 1] (PyTorch's BCE), with a finite gradient where x = 0."""
    # NOTE: log(0) = -inf, and log's backward g / x gives 0 / 0 = nan there even though the clamp passes no
    # gradient; taking the log of 1 on that branch makes its gradient exactly 0 (the clamp's derivative).
    positive = x.data > 0
    return clamp(where(positive, where(positive, x, 1.0).log(), -100.0), min=-100.0)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: Reduction = "mean") -> Tensor:
    """-(t log p + (1 - t) log(1 - p)) for probabilities ``p``; logs are clamped at -100 (PyTorch)."""
    check_reduction(reduction, "binary_cross_entropy")
    target = _same_shape(input, target, "binary_cross_entropy")
    p = input.data
    if p.size and (p.min() < 0 or p.max() > 1 or np.isnan(p).any()):
        raise ValueError(
            "binary_cross_entropy: input must be probabilities in [0, 1] (apply sigmoid first, or use "
            f"binary_cross_entropy_with_logits); got values in [{p.min()}, {p.max()}]"
        )
    t = target.data  # as torch checks it; a target outside [0, 1] (e.g. a class index 2) gives a meaningless loss
    if t.size and (t.min() < 0 or t.max() > 1 or np.isnan(t).any()):
        found = "NaN" if np.isnan(t).any() else f"values in [{t.min()}, {t.max()}]"
        raise ValueError(f"binary_cross_entropy: all elements of target should be between 0 and 1, got {found}")
    loss = -(target * _clamped_log(input) + (1 - target) * _clamped_log(1 - input))
    if weight is not None:
        loss = loss * weight.to(input.data.dtype)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: Reduction = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of sigmoid(input), as (1 - t) x + (1 + (pw - 1) t) softplus(-x) (stable)."""
    check_reduction(reduction, "binary_cross_entropy_with_logits")
    target = _same_shape(input, target, "binary_cross_entropy_with_logits")
    log_weight = 1.0 if pos_weight is None else (pos_weight.to(input.data.dtype) - 1) * target + 1
    loss = (1 - target) * input + log_weight * softplus(-input)
    if weight is not None:
        loss = loss * weight.to(input.data.dtype)
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Tensor, reduction: Literal["mean", "batchmean", "sum", "none"] = "mean",
           log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence ``target * (log(target) - input)`` of log-probabilities ``input``.

    With ``log_target`` the target is given as log-probabilities too: ``exp(target) * (target - input)``.
    ``'batchmean'`` divides the sum by the batch size (the true KL divergence per sample); ``'mean'`` divides
    by the number of elements and, as in PyTorch, warns about it.

    Shape: input and target of the same shape; output scalar, or that shape with 'none'.
    """
    if reduction not in ("mean", "batchmean", "sum", "none"):
        raise ValueError(f"kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}")
    target = _same_shape(input, target, "kl_div")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # NOTE: t log t -> 0 as t -> 0 (torch's xlogy); the log of 1 on that branch keeps its gradient finite
        positive = target.data > 0
        loss = where(positive, target * where(positive, target, 1.0).log(), 0.0) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size."
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
            "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
            UserWarning, stacklevel=2,
        )
    return _reduce(loss, reduction)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1·x2 / (max(||x1||, eps) · max(||x2||, eps)) along ``dim`` (x1 and x2 broadcast).

    NOTE: where a norm is below ``eps`` the clamp passes no gradient to it, so the gradient there is b̂ / eps;
    torch's differs slightly (by ~0.5% in tests). Values agree everywhere.

    Shape: x1 and x2 broadcastable to a common shape; the output drops ``dim``.
    """
    for name, x in (("x1", x1), ("x2", x2)):
        if not isinstance(x, Tensor) or x.data.dtype.kind != "f":
            raise TypeError(f"cosine_similarity: {name} must be a floating-point Tensor, got "
                            f"{type(x).__name__ if not isinstance(x, Tensor) else x.data.dtype}")
    shape = tuple(np.broadcast_shapes(x1.shape, x2.shape))
    if not shape:
        raise ValueError("cosine_similarity: expected inputs with at least one dim, got two 0-d tensors")
    axis = normalize_dim(dim, len(shape), "cosine_similarity")
    # the norms run over the broadcast shape: an (N, D) x1 against a (D,) x2 along dim 0 compares N copies
    x1, x2 = (x if x.shape == shape else x.expand(*shape) for x in (x1, x2))
    n1 = clamp(x1.norm(2, dim=axis, keepdim=True), min=eps)
    n2 = clamp(x2.norm(2, dim=axis, keepdim=True), min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(axis)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """The p-norm of ``x1 - x2 + eps`` over the last dim (x1 and x2 broadcast).

    Shape: (N, D) and (N, D) (or (D,)) → (N,), or (N, 1) with ``keepdim``.
    """
    for name, x in (("x1", x1), ("x2", x2)):
        if not isinstance(x, Tensor) or x.data.dtype.kind != "f":
            raise TypeError(f"pairwise_distance: {name} must be a floating-point Tensor, got "
                            f"{type(x).__name__ if not isinstance(x, Tensor) else x.data.dtype}")
    return (x1 - x2 + eps).norm(p, dim=-1, keepdim=keepdim)


def _pair_loss_inputs(input1: Tensor, input2: Tensor, target: Any, op: str) -> Tensor:
    target = _same_shape(input1, target, op)
    _same_shape(input1, input2, op)
    return target


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: Reduction = "mean") -> Tensor:
    """max(0, -target · (input1 - input2) + margin), target 1 when input1 should rank higher, -1 otherwise.

    Shape: input1, input2 and target of the same shape (N,) or (); output scalar, or (N,) with 'none'.
    """
    check_reduction(reduction, "margin_ranking_loss")
    target = _pair_loss_inputs(input1, input2, target, "margin_ranking_loss")
    return _reduce(relu(-target * (input1 - input2) + margin), reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, reduction: Reduction = "mean") -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0) with d the pairwise p-norm distance; ``swap`` uses
    min(d(a, n), d(p, n)) as the negative distance (Balntas et al., 2016).

    Shape: anchor, positive and negative (N, D) or (D,); output scalar, or (N,) with 'none'.
    """
    check_reduction(reduction, "triplet_margin_loss")
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    ndims = {anchor.ndim, positive.ndim, negative.ndim}
    if len(ndims) != 1 or ndims.pop() not in (1, 2):
        raise ValueError(
            "triplet_margin_loss: anchor, positive and negative must all be 1-D (D,) or all 2-D (N, D), got "
            f"shapes {tuple(anchor.shape)}, {tuple(positive.shape)} and {tuple(negative.shape)}"
        )
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(clamp(d_pos - d_neg + margin, min=0.0), reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: Reduction = "mean") -> Tensor:
    """1 - cos(input1, input2) where target is 1, max(0, cos - margin) where target is -1.

    Shape: input1 and input2 (N, D) or (D,); target (N,) or () of 1 and -1; output scalar, or (N,) with 'none'.
    """
    op = "cosine_embedding_loss"
    check_reduction(reduction, op)
    _same_shape(input1, input2, op)
    if not isinstance(target, Tensor):
        target = _wrap(np.asarray(target))
    if input1.ndim not in (1, 2) or tuple(target.shape) != tuple(input1.shape[:-1]):
        raise ValueError(f"{op}: expected inputs of shape (N, D) or (D,) and a target of shape (N,) or (), got "
                         f"inputs {tuple(input1.shape)} and target {tuple(target.shape)}")
    # torch's formula: eps 1e-12 inside each squared norm
    dot = (input1 * input2).sum(-1)
    norms = (((input1 * input1).sum(-1) + 1e-12) * ((input2 * input2).sum(-1) + 1e-12)).sqrt()
    cos = dot / norms
    t = target.data
    loss = where(t == 1, 1.0 - cos, where(t == -1, clamp(cos - margin, min=0.0), 0.0))
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False, eps: float = 1e-6,
                      reduction: Reduction = "mean") -> Tensor:
    """Gaussian negative log-likelihood ``0.5 (log(max(var, eps)) + (input - target)^2 / max(var, eps))``
    (+ 0.5 log(2π) with ``full``).

    As in PyTorch the clamp at ``eps`` does not cut the gradient: var gets its gradient as if unclamped.

    Shape: input and target (N, *); var the same shape, with its last dim 1 (one variance per sample), or
    without the last dim; output scalar, or the input's shape with 'none'.
    """
    op = "gaussian_nll_loss"
    check_reduction(reduction, op)
    target = _same_shape(input, target, op)
    if not isinstance(var, Tensor):
        var = _wrap(np.full(input.shape, var, dtype=input.data.dtype))
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ValueError(f"{op}: var of shape {tuple(var.shape)} does not match input of shape "
                             f"{tuple(input.shape)}; expected the input's shape, its last dim 1, or without it")
    if np.any(var.data < 0):
        raise ValueError(f"{op}: var has negative entries (min {var.data.min()}); variances must be non-negative")
    # the clamp is added as a constant, so the gradient reaches var unchanged (torch clamps in place, untracked)
    var = var + _wrap(np.maximum(var.data, eps).astype(var.data.dtype) - var.data)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange (*, C·r², H, W) into (*, C, H·r, W·r): sub-pixel convolution's upsampling (Shi et al., 2016).

    Shape: (*, C·r², H, W) → (*, C, H·r, W·r)
    """
    r = int(upscale_factor)
    if r <= 0:
        raise ValueError(f"pixel_shuffle: upscale_factor must be positive, got {upscale_factor}")
    if input.ndim < 3 or input.shape[-3] % (r * r):
        raise ValueError(f"pixel_shuffle: expected input of shape (*, C·{r * r}, H, W) (channels divisible by "
                         f"upscale_factor² = {r * r}), got shape {tuple(input.shape)}")
    *lead, c, h, w = input.shape
    n = len(lead)
    x = input.reshape((*lead, c // (r * r), r, r, h, w))
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)  # (*, C, H, r, W, r)
    return x.reshape((*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Inverse of :func:`pixel_shuffle`: (*, C, H·r, W·r) → (*, C·r², H, W).

    Shape: (*, C, H·r, W·r) → (*, C·r², H, W)
    """
    r = int(downscale_factor)
    if r <= 0:
        raise ValueError(f"pixel_unshuffle: downscale_factor must be positive, got {downscale_factor}")
    if input.ndim < 3 or input.shape[-2] % r or input.shape[-1] % r:
        raise ValueError(f"pixel_unshuffle: expected input of shape (*, C, H·{r}, W·{r}) (height and width "
                         f"divisible by downscale_factor = {r}), got shape {tuple(input.shape)}")
    *lead, c, h, w = input.shape
    n = len(lead)
    x = input.reshape((*lead, c, h // r, r, w // r, r))
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)  # (*, C, r, r, H, W)
    return x.reshape((*lead, c * r * r, h // r, w // r))


# ------------------------------------------------------------------------------- shrinkage and random activations


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """input where input > ``threshold``, ``value`` elsewhere (NaN stays NaN, as in PyTorch)."""
    require_tensor(input, "threshold")
    return where(input.data <= threshold, value, input)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """input where |input| > ``lambd``, 0 elsewhere."""
    _float_input(input, "hardshrink")
    return where((input.data >= -lambd) & (input.data <= lambd), 0.0, input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """input - lambd above ``lambd``, input + lambd below ``-lambd``, 0 between (soft thresholding)."""
    _float_input(input, "softshrink")
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be non-negative, got {lambd}")
    # NOTE: the middle branch is input * 0, not 0, so that NaN propagates as in PyTorch
    return where(input.data > lambd, input - lambd, where(input.data < -lambd, input + lambd, input * 0.0))


def tanhshrink(input: Tensor) -> Tensor:
    """input - tanh(input)."""
    _float_input(input, "tanhshrink")
    return input - tanh(input)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False, generator: Generator | None = None) -> Tensor:
    """Randomized leaky ReLU (Xu et al., 2015): input for input > 0, ``a * input`` otherwise.

    Training draws a fresh slope ``a ~ U(lower, upper)`` for every element (from nerve's seeded generator, or
    ``generator``); otherwise ``a`` is the mean slope ``(lower + upper) / 2``. Note PyTorch's functional
    default ``training=False``.

    Shape: any; output has the input's shape.
    """
    _float_input(input, "rrelu")
    if lower > upper:
        raise ValueError(f"rrelu: lower bound ({lower}) must be at most the upper bound ({upper})")
    if not training:
        return _act.leaky_relu(input, (lower + upper) / 2)
    dt = input.data.dtype
    slopes = resolve_generator(generator).uniform(lower, upper, input.shape).astype(dt)
    # the slopes are constants: y = x * m with m = 1 on the positive side, so dy/dx = m
    return input * _wrap(np.where(input.data > 0, dt.type(1), slopes))


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1,
                   generator: Generator | None = None) -> Tensor:
    """A sample from the Gumbel-softmax (concrete) distribution: ``softmax((logits + g) / tau)`` along ``dim``
    with ``g = -log(E)``, E ~ Exp(1) (Jang et al., 2016; Maddison et al., 2016).

    With ``hard`` the sample is the one-hot of its argmax, with the soft sample's gradient (straight-through:
    ``y_hard - y_soft.detach() + y_soft``, as PyTorch). ``eps`` is deprecated and unused, as in PyTorch.

    Shape: logits (*, C, *); output of the same shape.
    """
    _float_input(logits, "gumbel_softmax")
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", UserWarning, stacklevel=2)
    axis = normalize_dim(dim, logits.ndim, "gumbel_softmax")
    dt = logits.data.dtype
    gumbels = -np.log(resolve_generator(generator).standard_exponential(logits.shape))
    y_soft = _act.softmax((logits + _wrap(gumbels.astype(dt))) / tau, axis)
    if not hard:
        return y_soft
    y_hard = np.zeros(logits.shape, dtype=dt)
    np.put_along_axis(y_hard, np.expand_dims(y_soft.data.argmax(axis), axis), 1, axis)
    return _wrap(y_hard) - y_soft.detach() + y_soft


# ----------------------------------------------------------------------------------------------- alpha dropout

#: -(SELU's negative saturation) = scale * alpha of Klambauer et al. (2017): dropped units are set to SELU's limit
_ALPHA_DROPOUT = 1.7580993408473766


def _alpha_dropout(x: Tensor, p: float, training: bool, feature: bool, op: str,
                   generator: Generator | None) -> Tensor:
    """Dropout that keeps SELU activations at mean 0 and variance 1: dropped units become SELU's saturation
    value -alpha', then ``a * y + b`` restores the moments (PyTorch's ``_dropout_impl``)."""
    require_tensor(x, op)
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or x.numel() == 0:
        return x
    if p == 1:
        return x * 0.0
    if x.data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x.data.dtype}")
    if feature and x.ndim < 2:
        raise ValueError(f"{op}: feature dropout needs an input with at least 2 dims (N, C, *), "
                         f"got shape {tuple(x.shape)}")
    shape = tuple(x.shape[:2]) + (1,) * (x.ndim - 2) if feature else tuple(x.shape)
    keep = (resolve_generator(generator).random(shape, dtype=np.float32) >= np.float32(p)).astype(np.float64)
    a = 1.0 / math.sqrt((_ALPHA_DROPOUT**2 * p + 1) * (1 - p))
    dt = x.data.dtype
    scale = (keep * a).astype(dt)
    shift = ((keep - 1) * (_ALPHA_DROPOUT * a) + _ALPHA_DROPOUT * a * p).astype(dt)
    return x * _wrap(scale) + _wrap(shift)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False,
                  generator: Generator | None = None) -> Tensor:
    """Alpha dropout for self-normalizing (SELU) networks: each element is dropped with probability ``p`` to
    SELU's saturation value, then an affine map keeps mean and variance; identity when not training (note
    PyTorch's functional default ``training=False``).

    Kept elements become ``a·x + a·α·p`` and dropped ones ``-a·α·(1 - p)``, with α = 1.7580993408473766 and
    ``a = ((α²p + 1)(1 - p))^(-1/2)``.

    Shape: any; output has the input's shape.
    """
    return _alpha_dropout(input, p, training, False, "alpha_dropout", generator)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False,
                          generator: Generator | None = None) -> Tensor:
    """:func:`alpha_dropout` of whole channels: one draw per (sample, channel), shared by its positions.

    Shape: (N, C, *); output has the input's shape.
    """
    return _alpha_dropout(input, p, training, True, "feature_alpha_dropout", generator)


# ------------------------------------------------------------------------------------- normalization, bilinear


def local_response_norm_checked(input: Tensor, size: int, alpha: float, beta: float, k: float,
                                where: str) -> Tensor:
    """:func:`local_response_norm` with ``where`` (a layer's name) in its errors."""
    require_tensor(input, where)
    if input.ndim < 3:
        raise ValueError(f"{where}: expected an input with 3 or more dims (N, C, *), got shape {tuple(input.shape)}")
    if not isinstance(size, int | np.integer) or size < 1:
        raise ValueError(f"{where}: size must be a positive int, got {size!r}")
    if input.numel() == 0:
        return input
    n, c = input.shape[:2]
    # the mean of squares over a window of ``size`` channels, zero-padded: an average pool down the channel dim
    squares = (input * input).reshape(n, 1, c, -1)
    squares = pad(squares, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(squares, (size, 1), stride=1).reshape(input.shape)
    return input / (div * alpha + k) ** beta


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """Normalize each element by its neighbours across channels (AlexNet):
    ``x / (k + alpha · mean of x² over `size` neighbouring channels)^beta``.

    Shape: (N, C, *) with 3 or more dims; output of the same shape.
    """
    return local_response_norm_checked(input, size, alpha, beta, k, "local_response_norm")


def bilinear_checked(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None, where: str) -> Tensor:
    """:func:`bilinear` with ``where`` (a layer's name) in its errors."""
    for name, x in (("input1", input1), ("input2", input2), ("weight", weight)):
        if not isinstance(x, Tensor):
            raise TypeError(f"{where}: {name} must be a Tensor, got {type(x).__name__}")
    if weight.ndim != 3:
        raise ValueError(f"{where}: expected a 3-D weight (out, in1, in2), got shape {tuple(weight.shape)}")
    out_features, in1, in2 = weight.shape
    if input1.ndim == 0 or input1.shape[-1] != in1 or input2.ndim == 0 or input2.shape[-1] != in2:
        raise ValueError(f"{where}: expected inputs of shape (*, {in1}) and (*, {in2}), got "
                         f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    if input1.shape[:-1] != input2.shape[:-1]:
        raise ValueError(f"{where}: the inputs' leading dims must match, got {tuple(input1.shape)} and "
                         f"{tuple(input2.shape)}")
    if bias is not None and tuple(bias.shape) != (out_features,):
        raise ValueError(f"{where}: expected a bias of shape ({out_features},), got {tuple(bias.shape)}")
    if input1.data.dtype != weight.data.dtype or input2.data.dtype != weight.data.dtype:
        raise TypeError(f"{where}: inputs of dtype {input1.data.dtype} and {input2.data.dtype}, but the weight is "
                        f"{weight.data.dtype}; convert the inputs with .to({weight.data.dtype})")
    lead = tuple(input1.shape[:-1])
    x1, x2 = input1.reshape(-1, in1), input2.reshape(-1, in2)
    # y[b, o] = Σ_ij x1[b, i] W[o, i, j] x2[b, j]: one GEMM (B, in1) @ (in1, out·in2), then a dot with x2
    t = matmul(x1, weight.permute(1, 0, 2).reshape(in1, out_features * in2)).reshape(-1, out_features, in2)
    y = (t * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, out_features)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = x1ᵀ A x2 + b`` for every output feature.

    Shape: input1 (*, in1), input2 (*, in2) with the same leading dims; weight (out, in1, in2); bias (out,);
    output (*, out).
    """
    return bilinear_checked(input1, input2, weight, bias, "bilinear")


# ----------------------------------------------------------------------------------------- im2col and col2im


def _block_geometry(size: tuple[int, int], kernel_size: Any, dilation: Any, padding: Any, stride: Any,
                    where: str) -> tuple[Pair, Pair, Pair, Pair, Pair]:
    """(kernel, dilation, padding, stride, blocks): the sliding-block grid of :func:`unfold` and :func:`fold`."""
    kernel = as_tuple(kernel_size, 2, "kernel_size", where)
    dilation_ = as_tuple(dilation, 2, "dilation", where)
    padding_ = as_tuple(padding, 2, "padding", where, minimum=0)
    stride_ = as_tuple(stride, 2, "stride", where)
    blocks = tuple(conv_output_size(n, k, s, 2 * p, d)
                   for n, k, s, p, d in zip(size, kernel, stride_, padding_, dilation_))
    if any(b < 1 for b in blocks):
        raise ValueError(f"{where}: spatial size {size[0]}x{size[1]} with kernel_size={kernel}, dilation={dilation_}, "
                         f"padding={padding_} leaves no sliding block (got {blocks[0]}x{blocks[1]})")
    return kernel, dilation_, padding_, stride_, blocks  # type: ignore[return-value]


def _block_window(i: int, j: int, dilation: Pair, stride: Pair, blocks: Pair) -> tuple[slice, ...]:
    """The (N, C, rows, cols) slice of a padded image that kernel offset (i, j) sees across all blocks."""
    (dh, dw), (sh, sw), (bh, bw) = dilation, stride, blocks
    return (slice(None), slice(None), slice(i * dh, i * dh + sh * (bh - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (bw - 1) + 1, sw))


def unfold_checked(input: Tensor, kernel_size: Any, dilation: Any, padding: Any, stride: Any, where: str) -> Tensor:
    """:func:`unfold` with ``where`` (a layer's name) in its errors."""
    require_tensor(input, where)
    if input.ndim not in (3, 4):
        raise ValueError(f"{where}: expected a 4-D (N, C, H, W) or unbatched 3-D (C, H, W) input, got shape "
                         f"{tuple(input.shape)}")
    if input.ndim == 3:
        return unfold_checked(input.unsqueeze(0), kernel_size, dilation, padding, stride, where).squeeze(0)
    n, c, h, w = input.shape
    kernel, dilation_, (ph, pw), stride_, blocks = _block_geometry((h, w), kernel_size, dilation, padding, stride,
                                                                   where)
    padded = pad(input, (pw, pw, ph, ph)) if ph or pw else input
    # one strided slice per kernel offset (basic slicing: its VJP writes back without np.add.at)
    pieces = [padded[_block_window(i, j, dilation_, stride_, blocks)]
              for i in range(kernel[0]) for j in range(kernel[1])]
    columns = stack(pieces, 2)  # (N, C, kh·kw, bh, bw): rows ordered (c, i, j) as PyTorch's
    return columns.reshape(n, c * kernel[0] * kernel[1], blocks[0] * blocks[1])


def unfold(input: Tensor, kernel_size: int | tuple[int, int], dilation: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] = 0, stride: int | tuple[int, int] = 1) -> Tensor:
    """Extract sliding blocks (im2col): each column is one flattened C×kh×kw receptive field.

    Shape: (N, C, H, W) → (N, C·kh·kw, L), L = bh·bw blocks with
    bh = ⌊(H + 2·padding − dilation·(kh − 1) − 1) / stride⌋ + 1; (C, H, W) → (C·kh·kw, L).
    """
    return unfold_checked(input, kernel_size, dilation, padding, stride, "unfold")


def fold_checked(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any, padding: Any, stride: Any,
                 where: str) -> Tensor:
    """:func:`fold` with ``where`` (a layer's name) in its errors."""
    require_tensor(input, where)
    if input.ndim not in (2, 3):
        raise ValueError(f"{where}: expected a 3-D (N, C·kh·kw, L) or unbatched 2-D (C·kh·kw, L) input, got "
                         f"shape {tuple(input.shape)}")
    if input.ndim == 2:
        return fold_checked(input.unsqueeze(0), output_size, kernel_size, dilation, padding, stride, where).squeeze(0)
    h, w = as_tuple(output_size, 2, "output_size", where)
    kernel, dilation_, (ph, pw), stride_, blocks = _block_geometry((h, w), kernel_size, dilation, padding, stride,
                                                                   where)
    n, rows, length = input.shape
    offsets = kernel[0] * kernel[1]
    if rows % offsets:
        raise ValueError(f"{where}: expected dim 1 of the input to be divisible by kh·kw = {offsets} "
                         f"(kernel_size={kernel}), got shape {tuple(input.shape)}")
    if length != blocks[0] * blocks[1]:
        raise ValueError(f"{where}: output_size={(h, w)} with kernel_size={kernel}, dilation={dilation_}, "
                         f"padding={(ph, pw)}, stride={stride_} has {blocks[0]}·{blocks[1]} = "
                         f"{blocks[0] * blocks[1]} blocks, but dim 2 of the input has {length}")
    c = rows // offsets
    columns = input.reshape(n, c, kernel[0], kernel[1], *blocks)
    canvas_shape = (n, c, h + 2 * ph, w + 2 * pw)

    def placed(i: int, j: int) -> Tensor:  # kernel offset (i, j)'s values on its strided window of the canvas
        return PlaceAt.apply(columns[:, :, i, j], shape=canvas_shape, accumulate=False,
                             index=_block_window(i, j, dilation_, stride_, blocks))

    canvas = placed(0, 0)
    for i, j in itertools.product(range(kernel[0]), range(kernel[1])):
        if i or j:
            canvas = canvas + placed(i, j)
    return canvas[:, :, ph : ph + h, pw : pw + w] if ph or pw else canvas


def fold(input: Tensor, output_size: int | tuple[int, int], kernel_size: int | tuple[int, int],
         dilation: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
         stride: int | tuple[int, int] = 1) -> Tensor:
    """Combine sliding blocks into an image (col2im), adding where blocks overlap: the adjoint of :func:`unfold`.

    Shape: (N, C·kh·kw, L) → (N, C, H, W) with (H, W) = ``output_size`` and L the number of blocks there;
    (C·kh·kw, L) → (C, H, W).
    """
    return fold_checked(input, output_size, kernel_size, dilation, padding, stride, "fold")


# --------------------------------------------------------------------------- transposed convolution, unpooling


def conv_transpose1d_checked(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any,
                             output_padding: Any, groups: int, dilation: Any, where: str,
                             shape: tuple[int, ...] | None = None) -> Tensor:
    """:func:`conv_transpose1d` with ``where`` (a layer's name) in its errors: the 2-D primitive over a
    height-1 image (``shape``: the caller's input shape when it was unbatched)."""
    if _unbatched(input, 1, where):
        return conv_transpose1d_checked(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                                        dilation, where, tuple(input.shape)).squeeze(0)
    _check_conv_operands(input, weight, bias, groups, 1, where, transposed=True, shape=shape)
    (s,) = as_tuple(stride, 1, "stride", where)
    (p,) = as_tuple(padding, 1, "padding", where, minimum=0)
    (op,) = as_tuple(output_padding, 1, "output_padding", where, minimum=0)
    (d,) = as_tuple(dilation, 1, "dilation", where)
    if op >= max(s, d):
        raise ValueError(f"{where}: output_padding ({op}) must be smaller than stride ({s}) or dilation ({d})")
    n, c, length = input.shape
    k = weight.shape[2]
    if (length - 1) * s - 2 * p + d * (k - 1) + op + 1 <= 0:
        raise ValueError(f"{where}: padding {p} leaves no output for input shape {shape or tuple(input.shape)}")
    x4 = input.reshape(n, c, 1, length)
    w4 = weight.reshape(weight.shape[0], weight.shape[1], 1, k)
    args = (x4, w4) if bias is None else (x4, w4, bias)
    out = ConvTranspose2d.apply(*args, stride=(1, s), padding=(0, p), output_padding=(0, op), dilation=(1, d),
                                groups=int(groups))
    return out.reshape(out.shape[0], out.shape[1], out.shape[3])


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple[int] = 1,
                     padding: int | tuple[int] = 0, output_padding: int | tuple[int] = 0, groups: int = 1,
                     dilation: int | tuple[int] = 1) -> Tensor:
    """Transposed 1-D convolution (the gradient of conv1d w.r.t. its input).

    Shape:
        input: (N, C_in, L) or (C_in, L);  weight: (C_in, C_out/groups, k);  bias: (C_out,)
        output: (N, C_out, (L − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1)
    """
    return conv_transpose1d_checked(input, weight, bias, stride, padding, output_padding, groups, dilation,
                                    "conv_transpose1d")


def max_unpool_checked(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any, padding: Any,
                       output_size: Sequence[int] | None, spatial: int, where: str) -> Tensor:
    """:func:`max_unpool1d`/:func:`max_unpool2d` with ``where`` (a layer's name) in their errors."""
    layout = ("N, C, L", "C, L") if spatial == 1 else ("N, C, H, W", "C, H, W")
    require_tensor(input, where)
    require_tensor(indices, where)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(f"{where}: expected a {spatial + 2}-D ({layout[0]}) or unbatched {spatial + 1}-D "
                         f"({layout[1]}) input, got shape {tuple(input.shape)}")
    if indices.data.dtype != np.int64:
        raise TypeError(f"{where}: indices must be int64 (a max pool's return_indices), got {indices.data.dtype}")
    if indices.shape != input.shape:
        raise ValueError(f"{where}: indices of shape {tuple(indices.shape)} must have the input's shape "
                         f"{tuple(input.shape)}")
    if input.ndim == spatial + 1:
        return max_unpool_checked(input.unsqueeze(0), indices.unsqueeze(0), kernel_size, stride, padding,
                                  output_size, spatial, where).squeeze(0)
    kernel = as_tuple(kernel_size, spatial, "kernel_size", where)
    stride_ = kernel if stride is None else as_tuple(stride, spatial, "stride", where)
    padding_ = as_tuple(padding, spatial, "padding", where, minimum=0)
    default = [(n - 1) * s + k - 2 * p for n, k, s, p in zip(input.shape[2:], kernel, stride_, padding_)]
    if output_size is None:
        out = default
    else:
        out = [int(o) for o in output_size]
        if len(out) == spatial + 2:
            out = out[2:]
        if len(out) != spatial:
            raise ValueError(f"{where}: output_size must have {spatial} or {spatial + 2} elements, got {output_size!r}")
        for o, size, s in zip(out, default, stride_):
            if not size - s < o < size + s:
                raise ValueError(f"{where}: invalid output_size {tuple(output_size)}: each size must be strictly "
                                 f"between {[n - s for n, s in zip(default, stride_)]} and "
                                 f"{[n + s for n, s in zip(default, stride_)]}")
    plane = math.prod(out)
    if plane < 1:
        raise ValueError(f"{where}: output size {tuple(out)} is empty for input shape {tuple(input.shape)}")
    n, c = input.shape[:2]
    idx = indices.data.reshape(n, c, -1)
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise ValueError(f"{where}: found an invalid max index {bad}: output planes of size "
                         f"{'x'.join(map(str, out))} hold positions 0..{plane - 1}")
    # each value goes to its position in the flattened output plane; VJP: gather the gradient back from there
    index = (np.arange(n)[:, None, None], np.arange(c)[None, :, None], idx)
    flat = PlaceAt.apply(input.reshape(n, c, -1), shape=(n, c, plane), index=index, accumulate=False)
    return flat.reshape(n, c, *out)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: int | tuple[int], stride: int | tuple[int] | None = None,
                 padding: int | tuple[int] = 0, output_size: Sequence[int] | None = None) -> Tensor:
    """Partial inverse of :func:`max_pool1d`: each value returns to the position its index names, zeros elsewhere.

    Shape: (N, C, L) → (N, C, L_out), L_out = (L − 1)·stride − 2·padding + kernel_size, or ``output_size``.
    """
    return max_unpool_checked(input, indices, kernel_size, stride, padding, output_size, 1, "max_unpool1d")


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None, padding: int | tuple[int, int] = 0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """Partial inverse of :func:`max_pool2d` (with ``return_indices=True``): zeros except where maxima came from.

    Shape: (N, C, H, W) → (N, C, H_out, W_out), H_out = (H − 1)·stride − 2·padding + kh, or ``output_size``.
    """
    return max_unpool_checked(input, indices, kernel_size, stride, padding, output_size, 2, "max_unpool2d")


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """p-norm distances between all pairs of rows, i < j, in row-major order (the upper triangle of cdist).

    Shape: (N, M) → (N·(N − 1) / 2,)
    """
    require_tensor(input, "pdist")
    if input.ndim != 2 or input.data.dtype.kind != "f":
        raise ValueError(f"pdist: expected a floating 2-D input (N, M), got shape {tuple(input.shape)} "
                         f"({input.data.dtype})")
    if p < 0:
        raise ValueError(f"pdist: p must be non-negative, got {p}")
    i, j = np.triu_indices(input.shape[0], 1)
    return (input[i] - input[j]).norm(p, dim=1)


# ----------------------------------------------------------------------------------------------- more losses


def _log_sigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), exact for every x (no linear cut-off)."""
    return -softplus(-x, threshold=math.inf)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False, eps: float = 1e-8,
                     reduction: Reduction = "mean") -> Tensor:
    """Negative log-likelihood of ``target`` under Poisson(rate): ``exp(input) - target · input`` for a log-rate
    ``input`` (``log_input``), else ``input - target · log(input + eps)``.

    ``full`` adds Stirling's approximation of log(target!), ``t log t - t + 0.5 log(2π t)``, where target > 1.

    Shape: input and target of the same shape; output scalar, or that shape with 'none'.
    """
    op = "poisson_nll_loss"
    check_reduction(reduction, op)
    target = _same_shape(input, target, op)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        # NOTE: the log of 2 on the masked branch keeps target's gradient finite where target <= 1 (t = 0)
        big = target.data > 1
        t = where(big, target, 2.0)
        stirling = t * t.log() - t + 0.5 * (t * (2 * math.pi)).log()
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, reduction: Reduction = "mean") -> Tensor:
    """Two-class logistic loss ``log(1 + exp(-target · input))`` with targets 1 and -1.

    Shape: input and target of the same shape; output scalar, or that shape with 'none'.
    """
    check_reduction(reduction, "soft_margin_loss")
    target = _same_shape(input, target, "soft_margin_loss")
    return _reduce(softplus(-input * target, threshold=math.inf), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                reduction: Reduction = "mean") -> Tensor:
    """Multi-label one-versus-all logistic loss: the mean over classes of
    ``-(t log σ(x) + (1 - t) log σ(-x))``, each class scaled by ``weight``.

    Shape: input and target (N, C) or (C,) (more leading dims allowed; classes are the last dim); weight (C,);
    output scalar, or the input's shape without its last dim with 'none'.
    """
    op = "multilabel_soft_margin_loss"
    check_reduction(reduction, op)
    target = _same_shape(input, target, op)
    if input.ndim == 0:
        raise ValueError(f"{op}: expected an input with a class dim (N, C) or (C,), got a 0-d tensor")
    loss = -(target * _log_sigmoid(input) + (1 - target) * _log_sigmoid(-input))
    if weight is not None:
        try:
            fits = np.broadcast_shapes(tuple(weight.shape), tuple(input.shape)) == tuple(input.shape)
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{op}: weight of shape {tuple(weight.shape)} does not broadcast to the input's shape "
                             f"{tuple(input.shape)}; expected one weight per class ({input.shape[-1]},)")
        loss = loss * weight.to(input.data.dtype)
    return _reduce(loss.sum(-1) / input.shape[-1], reduction)


def _index_target_array(input: Tensor, target: Any, op: str) -> np.ndarray:
    """Check a non-empty (N, C) or (C,) floating input and an integer target; return the target's array."""
    _float_input(input, op)
    if input.ndim not in (1, 2) or input.numel() == 0:
        raise ValueError(f"{op}: expected a non-empty input (N, C) or (C,), got shape {tuple(input.shape)}")
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold int64 class indices, got dtype {t.dtype}")
    return t


def _class_index_target(input: Tensor, target: Any, op: str) -> tuple[Tensor, np.ndarray]:
    """Validate a (N, C) or (C,) floating input against int64 class indices (N,) or (); return the input as
    (N, C) and the target as an (N,) array."""
    t = _index_target_array(input, target, op)
    expected = tuple(input.shape[:-1])
    if t.shape != expected:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} needs a target of shape {expected}, one class "
                         f"index per sample, got {t.shape}")
    c = input.shape[-1]
    if t.size and (t.min() < 0 or t.max() >= c):
        raise ValueError(f"{op}: target out of range: got classes in [{t.min()}, {t.max()}], expected 0..{c - 1}")
    return input.reshape(-1, c), t.reshape(-1)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      reduction: Reduction = "mean") -> Tensor:
    """Multi-class hinge loss: per sample ``Σ_{i≠y} w_y · max(0, margin - x[y] + x[i])^p / C``.

    ``weight`` (per class, applied by the target class) is a constant, as in PyTorch.

    Shape: input (N, C) or (C,); target (N,) or () int64; weight (C,); output scalar, or (N,) (or ()) with
    'none'.
    """
    op = "multi_margin_loss"
    check_reduction(reduction, op)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 are supported, got p={p}")
    x, t = _class_index_target(input, target, op)
    n, c = x.shape
    rows = np.arange(n)
    z = (margin - x[rows, t].unsqueeze(1)) + x  # torch's order: margin - x[y] + x[i]
    h = relu(z) if p == 1 else relu(z) * relu(z)
    scale = np.ones((n, c), dtype=x.data.dtype)
    scale[rows, t] = 0  # the target class itself is not a margin violation
    if weight is not None:
        if not isinstance(weight, Tensor) or tuple(weight.shape) != (c,):
            got = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
            raise ValueError(f"{op}: weight must have shape ({c},), one per class, got {got}")
        scale *= weight.data.astype(x.data.dtype)[t][:, None]
    loss = (h * _wrap(scale)).sum(1) / c
    return _reduce(loss.reshape(input.shape[:-1]), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: Reduction = "mean") -> Tensor:
    """input where target is 1, ``max(0, margin - input)`` where target is -1 (e.g. a distance for similar and
    dissimilar pairs); other target values add both terms, as in PyTorch.

    Shape: input and target of the same shape; output scalar, or that shape with 'none'.
    """
    op = "hinge_embedding_loss"
    check_reduction(reduction, op)
    t = _same_shape(input, target, op).data
    loss = where(t != 1, clamp(margin - input, min=0.0), 0.0) + where(t != -1, input, 0.0)
    return _reduce(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, reduction: Reduction = "mean") -> Tensor:
    """Multi-label hinge loss: per sample ``Σ_j Σ_{i ∉ targets} max(0, 1 - (x[y_j] - x[i])) / C``.

    Each row of ``target`` lists the sample's classes, ended by the first -1 (or the row's end); later entries
    are ignored.

    Shape: input (N, C) or (C,); target of the same shape, int64 in [-1, C); output scalar, or (N,) (or ())
    with 'none'.
    """
    op = "multilabel_margin_loss"
    check_reduction(reduction, op)
    t = _index_target_array(input, target, op)
    if t.shape != tuple(input.shape):
        raise ValueError(f"{op}: target of shape {t.shape} must have the input's shape {tuple(input.shape)}")
    c = input.shape[-1]
    if t.min() < -1 or t.max() >= c:
        raise ValueError(f"{op}: target out of range: got values in [{t.min()}, {t.max()}], expected class "
                         f"indices 0..{c - 1} ended by -1")
    x, t = input.reshape(-1, c), t.reshape(-1, c)
    n = x.shape[0]
    listed = np.cumprod(t >= 0, axis=1).astype(bool)  # entries before the first -1
    rows = np.broadcast_to(np.arange(n)[:, None], t.shape)[listed]
    counts = np.zeros((n, c), dtype=x.data.dtype)  # how often each class is listed (a repeat counts twice)
    np.add.at(counts, (rows, t[listed]), 1)
    others = counts == 0
    z = (1.0 - x.unsqueeze(2)) + x.unsqueeze(1)  # z[n, j, i] = 1 - x[j] + x[i]
    pairs = _wrap(counts[:, :, None] * others[:, None, :])
    loss = (relu(z) * pairs).sum((1, 2)) / c
    return _reduce(loss.reshape(input.shape[:-1]), reduction)


__all__ += [
    "alpha_dropout", "bilinear", "conv_transpose1d", "feature_alpha_dropout", "fold", "gumbel_softmax",
    "hardshrink", "hinge_embedding_loss", "local_response_norm", "max_unpool1d", "max_unpool2d",
    "multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss", "pdist", "poisson_nll_loss",
    "rrelu", "soft_margin_loss", "softshrink", "tanhshrink", "threshold", "unfold",
]

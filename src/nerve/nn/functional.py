"""Stateless neural-network functions: layers, activations, dropout and losses.

Activations and ``linear`` are primitives from :mod:`nerve.ops`; the losses here are composed from
primitives, except cross-entropy and NLL over class indices, which are fused primitives.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from nerve.ops import loss as _loss
from nerve.ops.activation import (
    elu,
    erf,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from nerve.ops.attention import scaled_dot_product_attention
from nerve.ops.conv import conv1d, conv2d, conv_transpose2d
from nerve.ops.elementwise import clamp, where
from nerve.ops.embedding import embedding
from nerve.ops.linalg import linear, matmul
from nerve.ops.norm import batch_norm, group_norm, layer_norm
from nerve.ops.pool import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from nerve.ops.shape import pad
from nerve.random import Generator, resolve_generator
from nerve.tensor import Tensor, _wrap

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "embedding",
    "conv1d",
    "conv2d",
    "conv_transpose2d",
    "dropout1d",
    "dropout2d",
    "interpolate",
    "max_pool1d",
    "max_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "check_reduction",
    "cross_entropy",
    "dropout",
    "elu",
    "erf",
    "gelu",
    "group_norm",
    "hardtanh",
    "huber_loss",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "relu",
    "relu6",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "scaled_dot_product_attention",
    "softmax",
    "softplus",
    "tanh",
]

Reduction = Literal["mean", "sum", "none"]


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return clamp(x, min_val, max_val)


def relu6(x: Tensor) -> Tensor:
    return clamp(x, 0.0, 6.0)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, generator: Generator | None = None) -> Tensor:
    """Zero elements with probability ``p`` and scale survivors by 1/(1-p); identity when not training."""
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


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True, generator: Generator | None = None) -> Tensor:
    """Zero entire feature maps of (N, C, H, W) with probability ``p`` (neighbouring pixels are correlated,
    so element-wise dropout would barely regularise a conv layer); survivors scale by 1/(1-p)."""
    return _channel_dropout(x, p, training, 2, "dropout2d", generator)


def dropout1d(x: Tensor, p: float = 0.5, training: bool = True, generator: Generator | None = None) -> Tensor:
    """Zero entire channels of (N, C, L) with probability ``p``; survivors scale by 1/(1-p)."""
    return _channel_dropout(x, p, training, 1, "dropout1d", generator)


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

"""Normalization primitives: batch norm (batch statistics), layer norm and group norm.

Each is one fused primitive rather than a composition of mean, sub, mul, sqrt and div. Composed, a batch norm
is about ten elementwise nodes, each of whose backward passes sweeps the whole activation and keeps its own
copy of it alive; a BatchNorm2d in a ResNet then costs several times its convolution. Fused, the forward is a
handful of passes over the data, only ``xhat`` and ``inv_std`` are saved, and the backward is the closed form

    dx = inv_std / m * (m * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)),    dxhat = g * weight,

where the sums run over the m values that share one mean (a channel over the batch for batch norm, a row
for layer norm, a (sample, group) block for group norm). Batch norm in eval mode normalises with fixed
running statistics, which makes it a per-channel affine map; it is composed from mul and add.

Per-channel reductions over an (N, C, L) view go through BLAS (a GEMV against ones for sums, ``vecdot`` for
dot products) when L is long enough: NumPy's ``sum(axis=(0, 2))`` on that layout is several times slower.
The N partial sums are then added in float64; everything the size of the input stays in its dtype.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.higher_order import backward_by_composite
from nerve.ops._util import BLAS_MIN_LENGTH, channel_sum
from nerve.tensor import Tensor, _wrap

# ----------------------------------------------------------------------------------------- reductions


def _channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum of a * b over N and L for (N, C, L) arrays: float64 of shape (C,)."""
    n, c, length = a.shape
    if length >= BLAS_MIN_LENGTH:
        return np.vecdot(a, b).sum(axis=0, dtype=np.float64)
    return (a * b).reshape(n, c * length).sum(axis=0, dtype=np.float64).reshape(c, length).sum(axis=1)


def _channel_rows(values: np.ndarray, length: int, dtype: np.dtype) -> np.ndarray:
    """Per-channel ``values`` (C,) repeated into (C, L) rows in ``dtype``, to broadcast against (N, C, L).

    NOTE: NumPy's inner loop over L is several times slower when one operand is a (C, 1) column (stride 0
    along L) than when both are contiguous rows: x - mean on (64, 16, 1024) float32 took 0.30 ms against
    0.16 ms. Building the rows costs C·L elements, a 1/N share of one sweep.
    """
    return np.repeat(values.astype(dtype)[:, None], length, axis=1)


def _row_sum(a: np.ndarray) -> np.ndarray:
    if a.shape[1] >= BLAS_MIN_LENGTH:
        return a @ np.ones(a.shape[1], a.dtype)
    return a.sum(axis=1)


def _row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.shape[1] >= BLAS_MIN_LENGTH:
        return np.vecdot(a, b)
    return np.einsum("rm,rm->r", a, b)


def _column_sum(a: np.ndarray) -> np.ndarray:
    if a.shape[0] >= BLAS_MIN_LENGTH:
        return np.ones(a.shape[0], a.dtype) @ a
    return a.sum(axis=0)


# ------------------------------------------------------------------------------- shared forward/backward


def _standardize_graph(x: Tensor, axes: tuple[int, ...], eps: float) -> Tensor:
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` (biased variance) as differentiable ops, for
    ``backward_graph``."""
    centered = x - x.mean(axes, keepdim=True)
    return centered / ((centered * centered).mean(axes, keepdim=True) + eps).sqrt()


def _normalize_rows(x2: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """(xhat, inv_std) of each row of a 2-D array, with the biased variance."""
    m = x2.shape[1]
    xhat = x2 - (_row_sum(x2) / m)[:, None]
    inv_std = 1.0 / np.sqrt(_row_dot(xhat, xhat) / m + eps)
    xhat *= inv_std[:, None]
    return xhat, inv_std


def _rows_backward(gh: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray) -> np.ndarray:
    """The closed-form input gradient of row normalization, given dL/dxhat."""
    m = gh.shape[1]
    dx = xhat * (_row_dot(gh, xhat) / m)[:, None]
    dx += (_row_sum(gh) / m)[:, None]
    np.subtract(gh, dx, out=dx)
    dx *= inv_std[:, None]
    return dx


def _affine(xhat: np.ndarray, w: np.ndarray | None, b: np.ndarray | None) -> np.ndarray:
    """``xhat * w + b`` with w and b already shaped to broadcast; xhat itself when both are absent."""
    # NOTE: without w and b the output shares memory with the saved xhat; nothing in nerve writes into an
    # op's output, so a copy would only cost a pass over the data.
    if w is None:
        return xhat if b is None else xhat + b
    y = xhat * w
    if b is not None:
        y += b
    return y


def _split(params: tuple[np.ndarray, ...], has_weight: bool, has_bias: bool) -> tuple[np.ndarray | None, ...]:
    w = params[0] if has_weight else None
    b = params[-1] if has_bias else None
    return w, b


class _Norm(Function):
    """Common bookkeeping: which of the optional weight and bias were given and need gradients."""

    fresh_grads = True  # every gradient is a newly computed array

    has_weight: bool
    has_bias: bool

    def _param_grads(self, dw: np.ndarray | None, db: np.ndarray | None) -> tuple[np.ndarray | None, ...]:
        out = ()
        if self.has_weight:
            out += (dw,)
        if self.has_bias:
            out += (db,)
        return out

    def _affine_graph(self, xhat: Tensor, params: tuple[Tensor, ...], shape: tuple[int, ...]) -> Tensor:
        """``xhat * weight + bias`` as differentiable ops, the parameters reshaped to ``shape``."""
        w, b = _split(params, self.has_weight, self.has_bias)
        y = xhat if w is None else xhat * w.reshape(shape)
        return y if b is None else y + b.reshape(shape)

    def _needs(self) -> tuple[bool, bool, bool]:
        """Whether the input, the weight and the bias need gradients."""
        needs = self.needs_input_grad
        return needs[0], self.has_weight and needs[1], self.has_bias and needs[-1]


class BatchNorm(_Norm):
    """Batch normalization of an (N, C, *) input with the batch's statistics (training mode).

    Optionally updates ``running_mean`` and ``running_var`` in place (with the unbiased batch variance).
    """

    # NOTE: unlike layer and group norm this op saves its input (a reference, not a copy) with the per-channel
    # mean and inv_std, and rebuilds x - mean in backward, as PyTorch does. Saving xhat would hold an array of
    # the same size, but costs one more full-size allocation per call, and on the hot path (BatchNorm2d in a
    # ResNet) fresh allocations that fault in new pages cost more than the extra subtraction.

    def forward(self, x: np.ndarray, *params: np.ndarray, has_weight: bool, has_bias: bool, eps: float,
                running_mean: np.ndarray | None, running_var: np.ndarray | None, momentum: float) -> np.ndarray:
        self.has_weight, self.has_bias, self.eps = has_weight, has_bias, eps
        n, c = x.shape[:2]
        x3 = x.reshape(n, c, math.prod(x.shape[2:]))
        m = n * x3.shape[2]
        mean = channel_sum(x3) / m
        length = x3.shape[2]
        y = x3 - _channel_rows(mean, length, x.dtype)
        var = _channel_dot(y, y) / m
        inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        if running_mean is not None and running_var is not None:
            running_mean[...] = running_mean * (1.0 - momentum) + mean * momentum
            running_var[...] = running_var * (1.0 - momentum) + var * (momentum * m / (m - 1))
        w, b = _split(params, has_weight, has_bias)
        y *= _channel_rows(inv_std if w is None else inv_std * w, length, x.dtype)
        if b is not None:
            y += _channel_rows(b, length, x.dtype)
        self.saved = (x3, mean.astype(x.dtype), inv_std, w)
        return y.reshape(x.shape)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x3, mean, inv_std, w = self.saved
        need_x, need_w, need_b = self._needs()
        m = x3.shape[0] * x3.shape[2]
        dt = x3.dtype
        g3 = g.reshape(x3.shape)
        sum_g = channel_sum(g3) if need_x or need_b else None
        dx = sum_gx = None
        if need_x or need_w:
            xc = x3 - _channel_rows(mean, x3.shape[2], dt)
            sum_gx = _channel_dot(g3, xc) * inv_std  # sum(g * xhat), float64
        if need_x:
            # dx = k * (g - sum(g) / m - xhat * sum(g * xhat) / m) with k = weight * inv_std, built in place
            # in the x - mean buffer
            k = inv_std.astype(np.float64) if w is None else inv_std * w.astype(np.float64)
            xc *= _channel_rows(sum_gx * inv_std / m, x3.shape[2], dt)
            xc += _channel_rows(sum_g / m, x3.shape[2], dt)
            np.subtract(g3, xc, out=xc)
            xc *= _channel_rows(k, x3.shape[2], dt)
            dx = xc.reshape(g.shape)
        dw = sum_gx.astype(dt) if need_w else None
        db = sum_g.astype(dt) if need_b else None
        return (dx, *self._param_grads(dw, db))

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        def composite(x: Tensor, *params: Tensor) -> Tensor:
            xhat = _standardize_graph(x, (0, *range(2, x.ndim)), self.eps)
            return self._affine_graph(xhat, params, (1, -1) + (1,) * (x.ndim - 2))

        return backward_by_composite(self, g, composite)


class LayerNorm(_Norm):
    """Normalization of each sample over its last ``normalized_ndim`` dims, then an elementwise affine map."""

    def forward(self, x: np.ndarray, *params: np.ndarray, has_weight: bool, has_bias: bool, normalized_ndim: int,
                eps: float) -> np.ndarray:
        self.has_weight, self.has_bias, self.eps = has_weight, has_bias, eps
        self.x_shape = x.shape
        lead = x.ndim - normalized_ndim
        self.param_shape = x.shape[lead:]
        xhat, inv_std = _normalize_rows(x.reshape(math.prod(x.shape[:lead]), math.prod(x.shape[lead:])), eps)
        w, b = _split(params, has_weight, has_bias)
        w = None if w is None else w.reshape(-1)
        self.saved = (xhat, inv_std, w)
        return _affine(xhat, w, None if b is None else b.reshape(-1)).reshape(x.shape)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        xhat, inv_std, w = self.saved
        need_x, need_w, need_b = self._needs()
        g2 = g.reshape(xhat.shape)
        dx = None
        if need_x:
            dx = _rows_backward(g2 if w is None else g2 * w, xhat, inv_std).reshape(self.x_shape)
        dw = np.einsum("md,md->d", g2, xhat).reshape(self.param_shape) if need_w else None
        db = _column_sum(g2).reshape(self.param_shape) if need_b else None
        return (dx, *self._param_grads(dw, db))

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        def composite(x: Tensor, *params: Tensor) -> Tensor:
            xhat = _standardize_graph(x, tuple(range(x.ndim - len(self.param_shape), x.ndim)), self.eps)
            return self._affine_graph(xhat, params, self.param_shape)

        return backward_by_composite(self, g, composite)


class GroupNorm(_Norm):
    """Normalization of an (N, C, *) input over each (sample, group of C / num_groups channels) block."""

    def forward(self, x: np.ndarray, *params: np.ndarray, has_weight: bool, has_bias: bool, num_groups: int,
                eps: float) -> np.ndarray:
        self.has_weight, self.has_bias, self.eps, self.num_groups = has_weight, has_bias, eps, num_groups
        self.x_shape = x.shape
        n, c = x.shape[:2]
        length = math.prod(x.shape[2:])
        xhat, inv_std = _normalize_rows(x.reshape(n * num_groups, c // num_groups * length), eps)
        w, b = _split(params, has_weight, has_bias)
        self.saved = (xhat, inv_std, w)
        xhat3 = xhat.reshape(n, c, length)
        return _affine(xhat3, None if w is None else w[:, None], None if b is None else b[:, None]).reshape(x.shape)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        xhat, inv_std, w = self.saved
        need_x, need_w, need_b = self._needs()
        n, c = self.x_shape[:2]
        g3 = g.reshape(n, c, math.prod(self.x_shape[2:]))
        xhat3 = xhat.reshape(g3.shape)
        dx = None
        if need_x:
            gh = g3 if w is None else g3 * w[:, None]
            dx = _rows_backward(gh.reshape(xhat.shape), xhat, inv_std).reshape(self.x_shape)
        dw = _channel_dot(g3, xhat3).astype(xhat.dtype) if need_w else None
        db = channel_sum(g3).astype(xhat.dtype) if need_b else None
        return (dx, *self._param_grads(dw, db))

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        def composite(x: Tensor, *params: Tensor) -> Tensor:
            blocks = x.reshape(x.shape[0], self.num_groups, -1)
            xhat = _standardize_graph(blocks, (2,), self.eps).reshape(x.shape)
            return self._affine_graph(xhat, params, (1, -1) + (1,) * (x.ndim - 2))

        return backward_by_composite(self, g, composite)


# ---------------------------------------------------------------------------------- public functions


def _check_input(x: Tensor, op: str, expected: str, min_ndim: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(x).__name__}")
    if x.data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got dtype {x.data.dtype}")
    if x.ndim < min_ndim:
        raise ValueError(f"{op}: expected input of shape {expected}, got shape {tuple(x.shape)}")


def _check_affine(x: Tensor, weight: Tensor | None, bias: Tensor | None, shape: tuple[int, ...], op: str,
                  meaning: str) -> list[Tensor]:
    """Validate the optional weight and bias against ``shape``; return those given."""
    given = []
    for name, p in (("weight", weight), ("bias", bias)):
        if p is None:
            continue
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(p).__name__}")
        if tuple(p.shape) != shape:
            raise ValueError(f"{op}: {name} must have shape {shape} ({meaning}), got {tuple(p.shape)}")
        if p.data.dtype != x.data.dtype:
            raise TypeError(
                f"{op}: {name} dtype {p.data.dtype} does not match input dtype {x.data.dtype}; convert the input "
                f"with .to({p.data.dtype}) or the module with .to({x.data.dtype})"
            )
        given.append(p)
    return given


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    r"""Batch normalization over every axis but the channel axis 1.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    With ``training=True`` the mean and (biased) variance are the batch's, per channel, and the running
    statistics, when given, are updated in place: ``running = (1 - momentum) * running + momentum * batch``,
    with the unbiased batch variance for ``running_var`` (as in PyTorch). With ``training=False`` the
    running statistics normalise instead.

    Args:
        input: (N, C, *) floating tensor.
        running_mean, running_var: (C,) buffers, or None (then ``training`` must be True).
        weight, bias: (C,) per-channel scale and shift, or None.
        training: use the batch's statistics (default False).
        momentum: weight of the batch statistics in the running average (default 0.1).
        eps: added to the variance for stability (default 1e-5).

    Shape:
        - Input: (N, C), (N, C, L) or (N, C, H, W) (any (N, C, *))
        - Output: the input's shape
    """
    op = "batch_norm"
    _check_input(input, op, "(N, C, *)", 2)
    c = input.shape[1]
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is None:
            continue
        if not isinstance(stat, Tensor) or stat.data.dtype.kind != "f":
            raise TypeError(f"{op}: {name} must be a floating-point Tensor, got {type(stat).__name__}")
        if tuple(stat.shape) != (c,):
            raise ValueError(f"{op}: {name} must have shape ({c},), one value per channel, got {tuple(stat.shape)}")
    params = _check_affine(input, weight, bias, (c,), op, "one value per channel")
    if training:
        if input.shape[0] * math.prod(input.shape[2:]) == 1:
            raise ValueError(
                f"{op}: expected more than 1 value per channel when training, got input of shape "
                f"{tuple(input.shape)} (the batch variance of a single value is undefined)"
            )
        return BatchNorm.apply(
            input, *params, has_weight=weight is not None, has_bias=bias is not None, eps=float(eps),
            running_mean=None if running_mean is None else running_mean.data,
            running_var=None if running_var is None else running_var.data, momentum=float(momentum),
        )
    if running_mean is None or running_var is None:
        raise ValueError(
            f"{op}: running_mean and running_var are required when training=False (eval mode normalises with "
            "them); pass training=True to normalise with the batch's statistics"
        )
    # Eval mode: y = x * scale + shift per channel, with scale = weight / sqrt(running_var + eps) and
    # shift = bias - running_mean * scale; mul and add give the gradients for input, weight and bias.
    dt = input.data.dtype
    inv_std = _wrap((1.0 / np.sqrt(running_var.data.astype(np.float64) + eps)).astype(dt))
    scale = inv_std if weight is None else weight * inv_std
    shift = _wrap(running_mean.data.astype(dt)) * scale
    shift = -shift if bias is None else bias - shift
    channel_shape = (1, c) + (1,) * (input.ndim - 2)
    return input * scale.reshape(channel_shape) + shift.reshape(channel_shape)


def _trailing_shape(input: Tensor, normalized_shape: int | Sequence[int], op: str) -> tuple[int, ...]:
    """``normalized_shape`` as a tuple, checked against the input's trailing dims (layer and RMS norm)."""
    shape = (int(normalized_shape),) if isinstance(normalized_shape, int | np.integer) else tuple(
        int(s) for s in normalized_shape
    )
    if not shape:
        raise ValueError(f"{op}: normalized_shape must have at least one dim, got {normalized_shape!r}")
    expected = "(*, " + ", ".join(str(s) for s in shape) + ")"
    _check_input(input, op, expected, 0)
    if input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise ValueError(
            f"{op}: normalized_shape={shape} expects input of shape {expected}, got shape {tuple(input.shape)}"
        )
    return shape


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    r"""Normalize each sample over its last ``len(normalized_shape)`` dims (biased variance), then scale and shift.

    Args:
        input: floating tensor whose trailing dims equal ``normalized_shape``.
        normalized_shape: the trailing shape to normalise over (an int means one dim).
        weight, bias: elementwise scale and shift of shape ``normalized_shape``, or None.
        eps: added to the variance for stability (default 1e-5).

    Shape:
        - Input: (*, *normalized_shape)
        - Output: the input's shape
    """
    op = "layer_norm"
    shape = _trailing_shape(input, normalized_shape, op)
    params = _check_affine(input, weight, bias, shape, op, "normalized_shape")
    return LayerNorm.apply(input, *params, has_weight=weight is not None, has_bias=bias is not None,
                           normalized_ndim=len(shape), eps=float(eps))


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    r"""Normalize each sample over groups of ``C / num_groups`` channels (biased variance), then scale and shift
    per channel.

    Args:
        input: (N, C, *) floating tensor, C divisible by ``num_groups``.
        num_groups: number of channel groups.
        weight, bias: (C,) per-channel scale and shift, or None.
        eps: added to the variance for stability (default 1e-5).

    Shape:
        - Input: (N, C, *)
        - Output: the input's shape
    """
    op = "group_norm"
    _check_input(input, op, "(N, C, *)", 2)
    c = input.shape[1]
    if isinstance(num_groups, bool) or not isinstance(num_groups, int | np.integer) or num_groups <= 0:
        raise ValueError(f"{op}: num_groups must be a positive integer, got {num_groups!r}")
    if c % num_groups:
        raise ValueError(
            f"{op}: expected the number of channels to be divisible by num_groups, but got input of shape "
            f"{tuple(input.shape)} ({c} channels) and num_groups={num_groups}"
        )
    params = _check_affine(input, weight, bias, (c,), op, "one value per channel")
    return GroupNorm.apply(input, *params, has_weight=weight is not None, has_bias=bias is not None,
                           num_groups=int(num_groups), eps=float(eps))


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    r"""Normalize each channel of each sample over its positions (biased variance), then scale and shift.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    With ``use_input_stats`` the statistics are each (sample, channel)'s own: group norm with one channel per
    group. The running statistics, when given, are updated in place with the mean over the batch of each
    instance's mean and unbiased variance (as in PyTorch). Without it the running statistics normalise,
    as in batch norm's eval mode.

    Args:
        input: (N, C, *) floating tensor with more than one position per channel.
        running_mean, running_var: (C,) buffers, or None (then ``use_input_stats`` must be True).
        weight, bias: (C,) per-channel scale and shift, or None.
        use_input_stats: normalise with each instance's statistics (default True).
        momentum: weight of the new statistics in the running average (default 0.1).
        eps: added to the variance for stability (default 1e-5).

    Shape:
        - Input: (N, C, L) or (N, C, H, W) (any (N, C, *))
        - Output: the input's shape
    """
    op = "instance_norm"
    _check_input(input, op, "(N, C, *)", 3)
    n, c = input.shape[:2]
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, training=False, eps=eps)
    positions = math.prod(input.shape[2:])
    if positions == 1:
        raise ValueError(f"{op}: expected more than 1 spatial element when using the input's statistics, got "
                         f"input of shape {tuple(input.shape)} (the variance of a single value is undefined)")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is not None and tuple(stat.shape) != (c,):
            raise ValueError(f"{op}: {name} must have shape ({c},), one value per channel, got {tuple(stat.shape)}")
    out = group_norm(input, c, weight, bias, eps)
    if running_mean is not None and running_var is not None:
        x3 = input.data.reshape(n, c, positions)
        mean = x3.mean(axis=2, dtype=np.float64).mean(axis=0)
        var = x3.var(axis=2, ddof=1, dtype=np.float64).mean(axis=0)
        running_mean.data[...] = running_mean.data * (1.0 - momentum) + mean * momentum
        running_var.data[...] = running_var.data * (1.0 - momentum) + var * momentum
    return out


def rms_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    r"""Root-mean-square normalization over the trailing ``normalized_shape`` dims (Zhang & Sennrich, 2019).

    .. math:: y = \frac{x}{\sqrt{\mathrm{mean}(x^2) + \epsilon}} \odot \gamma

    No mean is subtracted. ``eps=None`` uses the machine epsilon of the input's dtype (as PyTorch).

    Shape:
        - Input: (*, *normalized_shape)
        - Output: the input's shape
    """
    op = "rms_norm"
    shape = _trailing_shape(input, normalized_shape, op)
    _check_affine(input, weight, None, shape, op, "normalized_shape")
    eps = float(np.finfo(input.data.dtype).eps) if eps is None else float(eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = input * ((input * input).mean(dim=dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight

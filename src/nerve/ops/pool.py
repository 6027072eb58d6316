"""Pooling primitives over NCHW arrays: ``MaxPool2d`` and ``AvgPool2d`` (1-D pooling is H = 1).

Both sweep the kh·kw kernel offsets, each a vectorised operation on a strided view of the whole batch, so
the cost is kh·kw passes over the output rather than a copy of every window. Backward adds the gradient
back offset by offset (no ``np.add.at``). Adaptive average pooling and interpolation are linear maps with
fixed matrices and are composed from ``matmul`` in :mod:`nerve.nn.functional`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from nerve.autograd.function import Function
from nerve.autograd.higher_order import backward_by_composite
from nerve.ops.conv import Padding, Pair, _strided_windows, as_tuple, pad_image, window_index
from nerve.ops.shape import ConstantPad, GetItem, reshape, squeeze, unsqueeze
from nerve.tensor import Tensor, _wrap


def pool_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output length; in ceil mode the last window must start inside the (left-padded) input."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def pool_padding(size: Pair, kernel: Pair, stride: Pair, pad: Pair, dilation: Pair, out_hw: Pair) -> Padding:
    """Canvas padding (top, bottom, left, right): ``pad`` before, and after enough for the last window."""
    after = [max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)
             for n, k, s, p, d, o in zip(size, kernel, stride, pad, dilation, out_hw)]
    return (pad[0], after[0], pad[1], after[1])


def max_pool_argmax(x: np.ndarray, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair,
                    out_hw: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima (N, C, Ho, Wo) and the kernel offset ``i·kw + j`` of each (the first maximum, as PyTorch).

    The maxima are a chain of ``np.maximum`` over strided views; the offsets are found afterwards by
    comparing each view with the maxima (3x faster than tracking the running argmax with masked copies).
    """
    if _tiles(kernel, stride, padding, dilation):
        best, arg = _max_pool_tiled(x, kernel, out_hw)
        if x.dtype.kind != "f" or not np.isnan(best).any():
            return best, arg
    xp = pad_image(x, padding, value=-np.inf) if any(padding) else x
    windows = _strided_windows(xp, kernel, stride, dilation, out_hw)
    views = [windows[:, :, i, j] for i in range(kernel[0]) for j in range(kernel[1])]
    best = views[0].copy()
    for view in views[1:]:
        np.maximum(best, view, out=best)  # NaN propagates, as in PyTorch
    dtype = np.int16 if len(views) < 2**15 else np.int64
    arg = np.full(best.shape, len(views) - 1, dtype=dtype)
    for k in range(len(views) - 2, -1, -1):  # backwards, so the first offset holding the maximum wins
        arg = np.where(views[k] == best, dtype(k), arg)
    if x.dtype.kind == "f" and np.isnan(best).any():
        for k, view in enumerate(views):  # PyTorch routes a NaN window to its last NaN
            arg = np.where(np.isnan(view), dtype(k), arg)
    return best, arg


def _tiles(kernel: Pair, stride: Pair, padding: Padding, dilation: Pair) -> bool:
    """Whether the pooling windows tile the input: no overlap, gaps, padding or dilation."""
    return stride == kernel and dilation == (1, 1) and not any(padding)


def _max_pool_tiled(x: np.ndarray, kernel: Pair, out_hw: Pair) -> tuple[np.ndarray, np.ndarray]:
    """:func:`max_pool_argmax` for windows that tile the input (stride = kernel, no padding or dilation).

    Two stages: the maximum over each window's columns j, row by row, then over its rows i. The first stage
    reads views strided by kw, the second contiguous rows of half the data or less, and each stage keeps its
    running argmax with one strict comparison per step; the general sweep compares all kh·kw strided views
    twice. 2x2 pooling on LeNet-5's 6×28×28 maps ran 2.4x faster. Ties go to the first maximum in (i, j)
    order, as in PyTorch: within a row the first column wins, across rows the first row. NaN windows are
    left to the caller (a NaN loses every comparison here).
    """
    (kh, kw), (ho, wo) = kernel, out_hw
    tiled = x[:, :, : ho * kh, : wo * kw]
    dtype = np.int8 if kh * kw < 2**7 else np.int64
    # NOTE: the running argmax is updated by arithmetic, arg += greater · (k − arg): np.where and copyto's
    # where= branch per element and ran 1.5-2x slower than the whole general sweep on ReLU outputs.
    columns = [tiled[..., j::kw] for j in range(kw)]  # (N, C, Ho·kh, Wo) each
    column_max = columns[0].copy()
    column_arg = np.zeros(column_max.shape, dtype=dtype)
    for j, view in enumerate(columns[1:], start=1):
        column_arg += (view > column_max) * (dtype(j) - column_arg)
        np.maximum(column_max, view, out=column_max)
    rows = column_max.reshape(*x.shape[:2], ho, kh, wo)
    row_args = column_arg.reshape(rows.shape)
    best = rows[:, :, :, 0].copy()
    arg = row_args[:, :, :, 0].copy()
    for i in range(1, kh):
        arg += (rows[:, :, :, i] > best) * (row_args[:, :, :, i] + dtype(i * kw) - arg)
        np.maximum(best, rows[:, :, :, i], out=best)
    return best, arg


def flat_indices(arg: np.ndarray, in_w: int, kernel: Pair, stride: Pair, padding: Padding,
                 dilation: Pair) -> np.ndarray:
    """PyTorch's ``return_indices``: position of each maximum in the flattened (H·W) input plane, int64."""
    ho, wo = arg.shape[-2:]
    i, j = np.divmod(arg.astype(np.int64), kernel[1])
    rows = np.arange(ho)[:, None] * stride[0] + i * dilation[0] - padding[0]
    cols = np.arange(wo)[None, :] * stride[1] + j * dilation[1] - padding[2]
    return rows * in_w + cols


def _scatter_offsets(per_offset, x_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Padding,
                     dilation: Pair, out_hw: Pair, dtype: np.dtype) -> np.ndarray:
    """Add ``per_offset(i, j)`` (N, C, Ho, Wo) onto the input positions each offset read; crop the padding."""
    n, c, h, w = x_shape
    pt, pb, pl, pr = padding
    canvas = np.zeros((n, c, h + pt + pb, w + pl + pr), dtype=dtype)
    ho, wo = out_hw
    for i in range(kernel[0]):
        rows = slice(i * dilation[0], i * dilation[0] + stride[0] * (ho - 1) + 1, stride[0])
        for j in range(kernel[1]):
            cols = slice(j * dilation[1], j * dilation[1] + stride[1] * (wo - 1) + 1, stride[1])
            canvas[:, :, rows, cols] += per_offset(i, j)
    if not any(padding):
        return canvas
    return np.ascontiguousarray(canvas[:, :, pt : pt + h, pl : pl + w])


class MaxPool2d(Function):
    """``out[n, c, y, x] = max_ij x_padded[n, c, s·y + d·i, s·x + d·j]`` (padding is −∞)."""

    def forward(self, x: np.ndarray, *, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair,
                out_hw: Pair) -> np.ndarray:
        best, arg = max_pool_argmax(x, kernel, stride, padding, dilation, out_hw)
        self.saved = (arg,)
        self.geometry = (x.shape, kernel, stride, padding, dilation, out_hw)
        return best

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (arg,) = self.saved
        x_shape, kernel, stride, padding, dilation, out_hw = self.geometry
        if _tiles(kernel, stride, padding, dilation):
            return (_route_disjoint(g, arg, x_shape, kernel),)
        zero = g.dtype.type(0)

        def routed(i: int, j: int) -> np.ndarray:
            return np.where(arg == i * kernel[1] + j, g, zero)

        return (_scatter_offsets(routed, x_shape, kernel, stride, padding, dilation, out_hw, g.dtype),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        (arg,) = self.saved
        x_shape, kernel, stride, padding, dilation, _ = self.geometry
        rows, cols = np.divmod(flat_indices(arg, x_shape[3], kernel, stride, padding, dilation), x_shape[3])
        return backward_by_composite(self, g, lambda x: _pick(x, rows, cols))


def _route_disjoint(g: np.ndarray, arg: np.ndarray, x_shape: tuple[int, ...], kernel: Pair) -> np.ndarray:
    """Max-pool backward when the windows tile the input (stride = kernel, no padding or dilation).

    Every input position belongs to at most one window, so each offset's share is written straight into its
    strided slice of the gradient: no zero canvas to accumulate into (4.5x faster than the general sweep on
    LeNet-5's first pooling layer). Rows and columns past the last window get zero.
    """
    n, c, h, w = x_shape
    (kh, kw), (ho, wo) = kernel, g.shape[2:]
    gx = np.empty(x_shape, dtype=g.dtype) if (h, w) == (ho * kh, wo * kw) else np.zeros(x_shape, dtype=g.dtype)
    sn, sc, sh, sw = gx.strides
    tiles = as_strided(gx, (n, c, ho, kh, wo, kw), (sn, sc, kh * sh, sh, kw * sw, sw))  # (.., y, i, x, j)
    for i in range(kh):
        for j in range(kw):
            np.multiply(g, arg == i * kw + j, out=tiles[:, :, :, i, :, j])
    return gx


class AvgPool2d(Function):
    """``out = (Σ_ij x_padded[..., s·y + i, s·x + j]) / divisor[y, x]`` with zero padding."""

    def forward(self, x: np.ndarray, *, kernel: Pair, stride: Pair, padding: Padding, out_hw: Pair,
                inv_divisor: np.ndarray) -> np.ndarray:
        xp = pad_image(x, padding) if any(padding) else x
        windows = _strided_windows(xp, kernel, stride, (1, 1), out_hw)
        total = windows[:, :, 0, 0].copy()
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                if i or j:
                    total += windows[:, :, i, j]
        total *= inv_divisor
        self.geometry = (x.shape, kernel, stride, padding, out_hw, inv_divisor)
        return total

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        x_shape, kernel, stride, padding, out_hw, inv_divisor = self.geometry
        share = g * inv_divisor
        return (_scatter_offsets(lambda i, j: share, x_shape, kernel, stride, padding, (1, 1), out_hw, g.dtype),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        _, kernel, stride, (pt, pb, pl, pr), out_hw, inv_divisor = self.geometry

        def composite(x: Tensor) -> Tensor:
            xp = ConstantPad.apply(x, widths=((0, 0), (0, 0), (pt, pb), (pl, pr)), value=0.0)
            windows = GetItem.apply(xp, index=window_index(kernel, stride, (1, 1), out_hw), accumulate=True)
            return windows.sum((2, 3)) * _wrap(inv_divisor)

        return backward_by_composite(self, g, composite)


def avg_pool_inv_divisor(size: Pair, kernel: Pair, stride: Pair, pad: Pair, out_hw: Pair,
                         count_include_pad: bool, divisor_override: int | None, dtype: np.dtype) -> np.ndarray:
    """1/divisor per output position (Ho, Wo), following PyTorch's rule for padded and ceil-mode windows."""
    if divisor_override is not None:
        return np.full(out_hw, 1.0 / divisor_override, dtype=dtype)
    extents = []
    for n, k, s, p, o in zip(size, kernel, stride, pad, out_hw):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if count_include_pad:
            extents.append(end - start)  # padding counts, the ceil-mode overhang beyond it does not
        else:
            extents.append(np.minimum(end, n) - np.maximum(start, 0))
    return (1.0 / np.outer(extents[0], extents[1])).astype(dtype)


# --- public functions -------------------------------------------------------------------------------------------


def _pool_args(x: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None,
               padding: int | Sequence[int], dilation: int | Sequence[int], ceil_mode: bool, spatial: int,
               where: str) -> tuple[Pair, Pair, Padding, Pair, Pair]:
    """Validated (kernel, stride, canvas padding, dilation, output size) as 2-D pairs (1-D pools: H = 1)."""
    layout = "N, C, L" if spatial == 1 else "N, C, H, W"
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: expected a Tensor input, got {type(x).__name__}")
    if x.ndim != spatial + 2:
        raise ValueError(f"{where}: expected a {spatial + 2}-D input ({layout}), got shape {tuple(x.shape)}")
    kernel = as_tuple(kernel_size, spatial, "kernel_size", where)
    stride_ = kernel if stride is None or stride == [] or stride == () else as_tuple(stride, spatial, "stride", where)
    pad = as_tuple(padding, spatial, "padding", where, minimum=0)
    dilation_ = as_tuple(dilation, spatial, "dilation", where)
    if any(p > k // 2 for p, k in zip(pad, kernel)):
        raise ValueError(f"{where}: padding {pad} must be at most half the kernel size {kernel}")
    size = tuple(x.shape[2:])
    out = tuple(pool_output_size(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip(size, kernel, stride_, pad, dilation_))
    if any(o < 1 for o in out):
        raise ValueError(f"{where}: input of spatial size {'x'.join(map(str, size))} is smaller than the kernel "
                         f"{'x'.join(map(str, kernel))} (padding {pad}, dilation {dilation_}); "
                         f"got input shape {tuple(x.shape)}")
    if spatial == 1:  # a height-1 image: a neutral first dim for each argument
        size, kernel, stride_, dilation_, out = ((1, *t) for t in (size, kernel, stride_, dilation_, out))
        pad = (0, *pad)
    canvas = pool_padding(size, kernel, stride_, pad, dilation_, out)  # type: ignore[arg-type]
    return kernel, stride_, canvas, dilation_, out  # type: ignore[return-value]


def _as_2d(x: Tensor, spatial: int) -> Tensor:
    return reshape(x, (x.shape[0], x.shape[1], 1, x.shape[2])) if spatial == 1 else x


def _from_2d(y: Tensor, spatial: int) -> Tensor:
    return reshape(y, (y.shape[0], y.shape[1], y.shape[3])) if spatial == 1 else y


def max_pool_checked(x: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None,
                     padding: int | Sequence[int], dilation: int | Sequence[int], ceil_mode: bool,
                     return_indices: bool, spatial: int, where: str) -> Tensor | tuple[Tensor, Tensor]:
    if isinstance(x, Tensor) and x.ndim == spatial + 1:  # unbatched sample, as PyTorch allows
        out = max_pool_checked(unsqueeze(x, 0), kernel_size, stride, padding, dilation, ceil_mode,
                               return_indices, spatial, where)
        return tuple(squeeze(t, 0) for t in out) if isinstance(out, tuple) else squeeze(out, 0)  # type: ignore
    kernel, stride_, canvas, dilation_, out_hw = _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode,
                                                            spatial, where)
    pooled = _from_2d(MaxPool2d.apply(_as_2d(x, spatial), kernel=kernel, stride=stride_, padding=canvas,
                                      dilation=dilation_, out_hw=out_hw), spatial)
    if not return_indices:
        return pooled
    x2 = _as_2d(x, spatial).data
    _, arg = max_pool_argmax(x2, kernel, stride_, canvas, dilation_, out_hw)
    index = flat_indices(arg, x2.shape[3], kernel, stride_, canvas, dilation_)
    return pooled, _wrap(index.reshape(pooled.shape))


def avg_pool_checked(x: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None,
                     padding: int | Sequence[int], ceil_mode: bool, count_include_pad: bool,
                     divisor_override: int | None, spatial: int, where: str) -> Tensor:
    if isinstance(x, Tensor) and x.ndim == spatial + 1:
        return squeeze(avg_pool_checked(unsqueeze(x, 0), kernel_size, stride, padding, ceil_mode,
                                        count_include_pad, divisor_override, spatial, where), 0)
    if divisor_override is not None and divisor_override <= 0:
        raise ValueError(f"{where}: divisor_override must be positive, got {divisor_override}")
    kernel, stride_, canvas, _, out_hw = _pool_args(x, kernel_size, stride, padding, 1, ceil_mode, spatial, where)
    if x.data.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point input, got {x.data.dtype}")
    size = (x.shape[2], x.shape[3]) if spatial == 2 else (1, x.shape[2])
    inv = avg_pool_inv_divisor(size, kernel, stride_, (canvas[0], canvas[2]), out_hw, count_include_pad,
                               divisor_override, x.data.dtype)
    return _from_2d(AvgPool2d.apply(_as_2d(x, spatial), kernel=kernel, stride=stride_, padding=canvas,
                                    out_hw=out_hw, inv_divisor=inv), spatial)


def max_pool2d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over each kh×kw window (stride defaults to the kernel size).

    Shape: (N, C, H, W) → (N, C, H_out, W_out); with ``return_indices`` also the int64 position of each
    maximum in its flattened H·W input plane.
    """
    return max_pool_checked(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2,
                            "max_pool2d")


def max_pool1d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over each window of a sequence batch (N, C, L) → (N, C, L_out)."""
    return max_pool_checked(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1,
                            "max_pool1d")


def avg_pool2d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Mean over each kh×kw window; (N, C, H, W) → (N, C, H_out, W_out)."""
    return avg_pool_checked(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
                            2, "avg_pool2d")


def avg_pool1d(input: Tensor, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Mean over each window of a sequence batch (N, C, L) → (N, C, L_out)."""
    return avg_pool_checked(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1,
                            "avg_pool1d")


# --- adaptive max pooling ----------------------------------------------------------------------------------------


def adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive bins: output i covers input [floor(i·size/out), ceil((i+1)·size/out))."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def adaptive_max_argmax(x: np.ndarray, out_hw: Pair) -> tuple[np.ndarray, np.ndarray]:
    """Maxima (N, C, oh, ow) over adaptive bins of an NCHW array, and each one's int64 position in the H·W plane.

    One vectorised reduction per output position (oh·ow of them, few by design: adaptive pooling shrinks to a
    fixed head size). Ties go to the first maximum and a bin holding NaN to its last NaN, as in PyTorch.
    """
    n, c, h, w = x.shape
    best = np.empty((n, c, *out_hw), dtype=x.dtype)
    index = np.empty((n, c, *out_hw), dtype=np.int64)
    for i, (r0, r1) in enumerate(adaptive_bins(h, out_hw[0])):
        for j, (c0, c1) in enumerate(adaptive_bins(w, out_hw[1])):
            window = x[:, :, r0:r1, c0:c1].reshape(n, c, -1)
            arg = np.argmax(window, axis=2)  # the first maximum (or the first NaN, corrected below)
            if x.dtype.kind == "f":
                nan = np.isnan(window)
                last_nan = nan.shape[2] - 1 - np.argmax(nan[:, :, ::-1], axis=2)
                arg = np.where(nan.any(axis=2), last_nan, arg)
            best[:, :, i, j] = np.take_along_axis(window, arg[:, :, None], axis=2)[:, :, 0]
            index[:, :, i, j] = (r0 + arg // (c1 - c0)) * w + c0 + arg % (c1 - c0)
    return best, index


class AdaptiveMaxPool2d(Function):
    """``out[n, c, i, j] = max`` over adaptive bin (i, j) of the H×W plane (bins may overlap); the gradient
    goes to the position each maximum came from."""

    def forward(self, x: np.ndarray, *, out_hw: Pair) -> np.ndarray:
        best, index = adaptive_max_argmax(x, out_hw)
        self.saved = (index,)
        self.x_shape = x.shape
        return best

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        (index,) = self.saved
        n, c, h, w = self.x_shape
        gx = np.zeros((n, c, h * w), dtype=g.dtype)
        lead = np.arange(n)[:, None], np.arange(c)[None, :]
        for i in range(index.shape[2]):
            for j in range(index.shape[3]):
                gx[lead[0], lead[1], index[:, :, i, j]] += g[:, :, i, j]  # one index per (n, c): no collisions
        return (gx.reshape(self.x_shape),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        (index,) = self.saved
        rows, cols = np.divmod(index, self.x_shape[3])
        return backward_by_composite(self, g, lambda x: _pick(x, rows, cols))


def _pick(x: Tensor, rows: np.ndarray, cols: np.ndarray) -> Tensor:
    """``out[n, c, i, j] = x[n, c, rows[n, c, i, j], cols[n, c, i, j]]`` as a differentiable gather (positions
    may repeat where windows overlap)."""
    n, c = x.shape[:2]
    index = (np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None], rows, cols)
    return GetItem.apply(x, index=index, accumulate=True)


def _adaptive_max(x: Tensor, output_size: int | Sequence[int | None] | None, return_indices: bool, spatial: int,
                  where: str) -> Tensor | tuple[Tensor, Tensor]:
    layout = "N, C, L" if spatial == 1 else "N, C, H, W"
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: expected a Tensor input, got {type(x).__name__}")
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(f"{where}: expected a {spatial + 2}-D ({layout}) or {spatial + 1}-D (unbatched) input, "
                         f"got shape {tuple(x.shape)}")
    if x.ndim == spatial + 1:
        out = _adaptive_max(unsqueeze(x, 0), output_size, return_indices, spatial, where)
        return tuple(squeeze(t, 0) for t in out) if isinstance(out, tuple) else squeeze(out, 0)  # type: ignore
    sizes = (output_size,) * spatial if output_size is None or isinstance(output_size, int | np.integer) \
        else tuple(output_size)
    if len(sizes) != spatial:
        raise ValueError(f"{where}: output_size must be an int or {spatial} ints, got {output_size!r}")
    # None keeps the input's size along that dim, as in PyTorch
    sizes = tuple(int(x.shape[2 + i]) if s is None else int(s) for i, s in enumerate(sizes))
    if any(s < 1 for s in sizes) or any(n == 0 for n in x.shape[2:]):
        raise ValueError(f"{where}: output_size must be positive and the input non-empty, got output_size "
                         f"{output_size!r} for input of shape {tuple(x.shape)}")
    out_hw = (1, *sizes) if spatial == 1 else sizes
    pooled = _from_2d(AdaptiveMaxPool2d.apply(_as_2d(x, spatial), out_hw=out_hw), spatial)
    if not return_indices:
        return pooled
    _, index = adaptive_max_argmax(_as_2d(x, spatial).data, out_hw)
    return pooled, _wrap(index.reshape(pooled.shape))


def adaptive_max_pool2d(input: Tensor, output_size: int | Sequence[int | None],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over PyTorch's adaptive bins so the output is exactly ``output_size`` (None keeps a dim).

    Shape: (N, C, H, W) → (N, C, oh, ow), or (C, H, W) → (C, oh, ow); with ``return_indices`` also the int64
    position of each maximum in its flattened H·W input plane.
    """
    return _adaptive_max(input, output_size, return_indices, 2, "adaptive_max_pool2d")


def adaptive_max_pool1d(input: Tensor, output_size: int | Sequence[int],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over adaptive bins of (N, C, L) → (N, C, output_size); indices are positions in L."""
    return _adaptive_max(input, output_size, return_indices, 1, "adaptive_max_pool1d")

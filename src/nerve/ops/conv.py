"""Convolution primitives over NCHW arrays (1-D convolutions are H = 1): three routes for ``conv2d``, one for
``conv_transpose2d``.

They are fused primitives because composing them from slicing and matmul would build k·k graph nodes per
layer. Measured on ResNet-8 and LeNet-5 shapes (batch 64, 2-core AMD EPYC, OpenBLAS 0.3.31):

* :class:`Conv2dRows` for stride-1, one-group layers (most of a ResNet): the batch, interleaved row by row
  on a channel-major padded grid, is shifted by whole rows and single columns to give every kernel offset's
  window; only the kw column shifts are copied, and each kernel row is one GEMM on views of the copies.
* :class:`Conv2d`, for strided and grouped layers: each kernel offset's input is a constant flat shift of a
  channel-major copy of the padded input split into stride phases. The batch goes through in cache-sized
  chunks; per chunk the shifted windows (contiguous runs) are stacked into one GEMM. A whole-batch im2col
  writes and reads kh·kw copies of the input (40 MB for a 16-channel 32×32 batch) at memory speed; the
  chunks stay in cache, and backward keeps only the phases (about one input's worth). 2-3x faster than
  whole-batch im2col on ResNet layers with 16-64 channels.
* :class:`Conv2dIm2col` for thin layers (fewer than ``PER_OFFSET_MIN_CHANNELS`` input channels per group,
  such as the first layer on grey or RGB images). It lays the padded input out channel-major, (C, N, Hp·Wp),
  so a chunk of images' columns comes out of one strided copy and feeds one GEMM (N per-image GEMMs were
  2x slower on LeNet-5). Its stride-1 form reads the window at offset (i, j) as the contiguous run starting
  at ``i·Wp + j`` of each flattened padded image (output on an Ho × Wp grid, the kw − 1 wrapped columns
  dropped), so the copy moves long runs at memcpy speed; 1.5-2.5x faster than the general strided im2col.
  Chunks are small (``IM2COL_CHUNK_BYTES``), which keeps the thinnest of its GEMMs in OpenBLAS's small-matrix
  kernel (see there).
* ``col2im``, the adjoint of im2col, adds columns back offset by offset, each a vectorised strided add over
  the batch, rather than scattering with ``np.add.at`` (an order of magnitude slower: it cannot vectorise
  repeated indices). :class:`ConvTranspose2d` is col2im of ``Wᵀ @ x`` and its backward an im2col.

Weight layouts are PyTorch's: ``Conv2d`` (O, C/groups, kh, kw), ``ConvTranspose2d`` (C, O/groups, kh, kw).
Groups ride along as a GEMM batch axis: ``(G, O/G, C/G) @ (G, C/G, M)``; depthwise convolutions (one input
channel per group) use a broadcast multiply instead of G one-row GEMMs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from nerve.autograd.function import Function
from nerve.autograd.higher_order import backward_by_composite
from nerve.ops._util import channel_sum
from nerve.ops.linalg import MatMul
from nerve.ops.shape import ConstantPad, GetItem, PlaceAt, reshape, squeeze, unsqueeze
from nerve.tensor import Tensor

Pair = tuple[int, int]

#: Input channels per group from which :class:`Conv2d` (a GEMM per kernel offset) beats im2col: below it the
#: per-offset GEMMs are too thin. Depthwise convolutions (1 channel per group) always go per offset.
PER_OFFSET_MIN_CHANNELS = 8

#: Bytes of kernel-offset products per batch chunk in :class:`Conv2d` (sized to stay in the last-level cache).
CHUNK_BYTES = 6 * 2**20

#: Batch chunks of :class:`Conv2dIm2col`: at most this many bytes of columns but at least this many GEMM columns
#: (fewer starve OpenBLAS's threads). Chosen by sweeps on W2 and W3's first layer. On first layers (1-3 input
#: channels) the small chunks keep the GEMMs (6-16 rows, K = C·kh·kw + 1 = 26-28) under M·N·K = 10^6, where
#: OpenBLAS (0.3.31, SkylakeX kernel) runs an unpacked, single-threaded small-matrix kernel; on such thin shapes
#: its packed, threaded path is up to 3.5x slower (weight gradients most). Forward plus backward of LeNet's first
#: layer: 0.86-0.99 ms in chunks of up to 7 images, 1.8-2.0 ms in chunks of 8 or more (benchmarks/README.md).
IM2COL_CHUNK_BYTES = 2**18
IM2COL_MIN_COLUMNS = 2048
Padding = tuple[int, int, int, int]  # top, bottom, left, right


def conv_output_size(size: int, kernel: int, stride: int, pad_total: int, dilation: int) -> int:
    """Output length of a convolution or pooling window sweep (floor mode)."""
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def pad_image(x: np.ndarray, padding: Padding, value: float = 0.0, extra: int = 0) -> np.ndarray:
    """``x`` (N, C, H, W) on a ``value``-filled canvas with ``padding``; ``extra`` spare columns after the last row
    (the flat-window trick reads a few elements past the end)."""
    n, c, h, w = x.shape
    pt, pb, pl, pr = padding
    hp, wp = h + pt + pb, w + pl + pr
    flat = np.full((n, c, hp * wp + extra), value, dtype=x.dtype) if value else np.zeros(
        (n, c, hp * wp + extra), dtype=x.dtype)
    canvas = flat[:, :, : hp * wp].reshape(n, c, hp, wp)
    canvas[:, :, pt : pt + h, pl : pl + w] = x
    return flat if extra else canvas


def _flat_windows(xp_flat: np.ndarray, kernel: Pair, dilation: Pair, wp: int, length: int) -> np.ndarray:
    """View (N, C, kh, kw, length): the window at offset (i, j) is the flat run from ``i·dh·Wp + j·dw``."""
    n, c, _ = xp_flat.shape
    sn, sc, se = xp_flat.strides
    return as_strided(xp_flat, (n, c, kernel[0], kernel[1], length),
                      (sn, sc, dilation[0] * wp * se, dilation[1] * se, se), writeable=False)


def _strided_windows(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair) -> np.ndarray:
    """View (N, C, kh, kw, Ho, Wo) of the receptive fields of a padded image (N, C, Hp, Wp)."""
    n, c, _, _ = xp.shape
    sn, sc, sh, sw = xp.strides
    return as_strided(xp, (n, c, kernel[0], kernel[1], out_hw[0], out_hw[1]),
                      (sn, sc, dilation[0] * sh, dilation[1] * sw, stride[0] * sh, stride[1] * sw),
                      writeable=False)


def im2col(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair) -> np.ndarray:
    """Columns (N, C·kh·kw, Ho·Wo) of a padded image (N, C, Hp, Wp), rows ordered (c, i, j) like a weight."""
    n, c = xp.shape[:2]
    cols = np.ascontiguousarray(_strided_windows(xp, kernel, stride, dilation, out_hw))
    return cols.reshape(n, c * kernel[0] * kernel[1], out_hw[0] * out_hw[1])


def col2im(cols: np.ndarray, padded_shape: tuple[int, int, int, int], kernel: Pair, stride: Pair,
           dilation: Pair, out_hw: Pair) -> np.ndarray:
    """Adjoint of :func:`im2col`: sum columns (N, C·kh·kw, Ho·Wo) back onto a zero image ``padded_shape``."""
    n, c = padded_shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    image = np.zeros(padded_shape, dtype=cols.dtype)
    per_offset = cols.reshape(n, c, kh, kw, ho, wo)
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
        for j in range(kw):
            image[:, :, rows, j * dw : j * dw + sw * (wo - 1) + 1 : sw] += per_offset[:, :, i, j]
    return image


class _Conv(Function):
    """A 2-D convolution primitive; ``options`` = (stride, padding, dilation, groups) of the call."""

    options: tuple[Pair, Padding, Pair, int]

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return backward_by_composite(self, g, lambda x, w, b=None: conv2d_graph(x, w, b, *self.options))


def window_index(kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair) -> tuple[Any, ...]:
    """An index of a (padded) (N, C, H, W) array that gathers its receptive fields as (N, C, kh, kw, Ho, Wo)."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    rows = (np.arange(kh) * dh)[:, None, None, None] + (np.arange(ho) * sh)[None, None, :, None]
    cols = (np.arange(kw) * dw)[None, :, None, None] + (np.arange(wo) * sw)[None, None, None, :]
    return (slice(None), slice(None), rows, cols)


def conv2d_graph(x: Tensor, w: Tensor, b: Tensor | None, stride: Pair, padding: Padding, dilation: Pair,
                 groups: int) -> Tensor:
    """conv2d composed of differentiable primitives (pad, gather the windows, one batched matmul): slow, but
    it has derivatives of every order; the convolution primitives' ``backward_graph`` differentiates it."""
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    pt, pb, pl, pr = padding
    out_hw = (conv_output_size(h, kh, stride[0], pt + pb, dilation[0]),
              conv_output_size(wd, kw, stride[1], pl + pr, dilation[1]))
    xp = ConstantPad.apply(x, widths=((0, 0), (0, 0), (pt, pb), (pl, pr)), value=0.0) if any(padding) else x
    windows = GetItem.apply(xp, index=window_index((kh, kw), stride, dilation, out_hw), accumulate=True)
    cols = windows.reshape(n, groups, cg * kh * kw, out_hw[0] * out_hw[1])
    out = MatMul.apply(w.reshape(groups, o // groups, cg * kh * kw), cols).reshape(n, o, *out_hw)
    return out if b is None else out + b.reshape(1, o, 1, 1)


class Conv2dIm2col(_Conv):
    """``out[n, o] = Σ_c Σ_ij w[o, c, i, j] · x_padded[n, c, s·y + d·i, s·x + d·j] + b[o]`` by im2col + one GEMM.

    The route for layers with few input channels per group (e.g. the first layer on RGB or grey images),
    where :class:`Conv2d`'s GEMMs would be thin. The padded input is laid out channel-major,
    (C, N, Hp·Wp), so the columns (C·kh·kw, N·Ho·W') of the whole batch come out of one strided copy and the
    layer is one GEMM per group, not N small ones (2-3x faster on LeNet-5's layers). With stride 1 the window
    at offset (i, j) of each image is the contiguous run from ``i·Wp + j`` of its flattened padded image,
    computed on an Ho × Wp grid (W' = Wp, the kw − 1 wrapped columns dropped), so the copy moves long runs.
    """

    fresh_grads = True  # every gradient is a new GEMM output, sum or col2im canvas

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *, stride: Pair,
                padding: Padding, dilation: Pair, groups: int) -> np.ndarray:
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        pt, pb, pl, pr = padding
        hp, wp = h + pt + pb, wd + pl + pr
        ho = conv_output_size(h, kh, stride[0], pt + pb, dilation[0])
        wo = conv_output_size(wd, kw, stride[1], pl + pr, dilation[1])
        # Flat windows pay (Wp - Wo) surplus columns; worth it unless they would more than double the GEMM.
        flat = stride == (1, 1) and wp <= 2 * wo
        width = wp if flat else wo
        extra = dilation[1] * (kw - 1) if flat else 0  # the last window runs this far past the last image
        xp = np.zeros((c, n * hp * wp + extra), dtype=x.dtype)
        xp[:, : n * hp * wp].reshape(c, n, hp, wp)[:, :, pt : pt + h, pl : pl + wd] = x.transpose(1, 0, 2, 3)
        windows = self._windows(xp, (n, hp, wp), (kh, kw), stride, dilation, (ho, width), flat)
        k = cg * kh * kw
        chunk = min(n, max(IM2COL_CHUNK_BYTES // (k * groups * ho * width * x.itemsize),
                           -(-IM2COL_MIN_COLUMNS // (ho * width)), 1))
        og = o // groups
        # A bias rides in the GEMM as one more weight column against a row of ones under the columns: adding it
        # to the transposed output afterwards cost 2.3x a plain copy (150 µs on LeNet's first layer), and the
        # weight-gradient GEMM then yields the bias gradient as its extra row.
        rows = k + (b is not None)
        weights = w.reshape(groups, og, k)
        if b is not None:
            weights = np.concatenate([weights, b.reshape(groups, og, 1)], axis=2)
        out = np.empty((n, o, ho, wo), dtype=x.dtype)
        all_cols = []
        for start in range(0, n, chunk):
            nb = min(chunk, n - start)
            cols = np.empty((groups, rows, nb * ho * width), dtype=x.dtype)
            cols[:, :k].reshape(groups, cg, kh, kw, nb, ho, width)[...] = windows[:, :, :, start : start + nb].reshape(
                groups, cg, kh, kw, nb, ho, width)
            cols[:, k:] = 1
            out[start : start + nb] = _matmul(weights, cols).reshape(o, nb, ho, width)[..., :wo].transpose(1, 0, 2, 3)
            # Keep the columns only when the weight needs a gradient: the input gradient needs only the weight.
            all_cols.append(cols if self.needs_input_grad[1] else None)
        self.geometry = (x.shape, stride, padding, dilation, groups, ho, width, flat, chunk)
        self.options = (stride, padding, dilation, groups)
        self.saved = (all_cols, w)
        return out

    @staticmethod
    def _windows(xp: np.ndarray, padded: tuple[int, int, int], kernel: Pair, stride: Pair, dilation: Pair,
                 grid: Pair, flat: bool) -> np.ndarray:
        """View (C, kh, kw, N, Ho, W') of the receptive fields in the channel-major padded input ``xp``."""
        n, hp, wp = padded
        ho, width = grid
        sc, se = xp.strides
        if flat:  # runs of Ho·Wp elements
            return as_strided(xp, (xp.shape[0], kernel[0], kernel[1], n, ho, width),
                              (sc, dilation[0] * wp * se, dilation[1] * se, hp * wp * se, wp * se, se),
                              writeable=False)
        return as_strided(xp, (xp.shape[0], kernel[0], kernel[1], n, ho, width),
                          (sc, dilation[0] * wp * se, dilation[1] * se, hp * wp * se, stride[0] * wp * se,
                           stride[1] * se), writeable=False)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        all_cols, w = self.saved
        x_shape, stride, padding, dilation, groups, ho, width, flat, chunk = self.geometry
        n = x_shape[0]
        o, cg, kh, kw = w.shape
        wo = g.shape[3]
        needs = self.needs_input_grad
        k, og = cg * kh * kw, o // groups
        # channel-major gradient on the Ho x W' grid, zeros in the surplus columns
        grid = np.zeros((o, n, ho, width), g.dtype) if width != wo else np.empty((o, n, ho, width), g.dtype)
        grid[..., :wo] = g.transpose(1, 0, 2, 3)
        gx = gw = gb = None
        need_b = len(needs) == 3 and needs[2]
        if needs[1]:  # per chunk of saved columns; cols @ gridᵀ ran 1.7-2x faster in OpenBLAS than grid @ colsᵀ
            gw_t = np.zeros((groups, all_cols[0].shape[1], og), dtype=g.dtype)
            for cols, start in zip(all_cols, range(0, n, chunk)):
                grid_chunk = grid[:, start : start + chunk].reshape(groups, og, -1)
                gw_t += _matmul(cols, grid_chunk.swapaxes(-1, -2))
            gw = np.ascontiguousarray(gw_t[:, :k].swapaxes(-1, -2)).reshape(w.shape)
            if need_b:  # the columns' row of ones: the sum of the output gradient per channel
                gb = gw_t[:, k].reshape(o)
        elif need_b:
            gb = channel_sum(g.reshape(*g.shape[:2], -1)).astype(g.dtype)
        if needs[0]:  # one GEMM and one col2im for the whole batch: per chunk, the col2im adds cost more in calls
            dcols = _matmul(w.reshape(groups, og, k).swapaxes(-1, -2), grid.reshape(groups, og, n * ho * width))
            gx = np.empty(x_shape, dtype=g.dtype)
            self._col2im(dcols.reshape(-1, kh, kw, n, ho, width), gx, padding, stride, dilation, flat)
        return (gx, gw, gb) if len(needs) == 3 else (gx, gw)

    @staticmethod
    def _col2im(dcols: np.ndarray, gx: np.ndarray, padding: Padding, stride: Pair, dilation: Pair,
                flat: bool) -> None:
        """Adjoint of the window copy: add each offset's columns back onto the padded input, crop into ``gx``."""
        n, c, h, wd = gx.shape
        _, kh, kw, _, ho, width = dcols.shape
        pt, pb, pl, pr = padding
        hp, wp = h + pt + pb, wd + pl + pr
        extra = dilation[1] * (kw - 1) if flat else 0
        image = np.zeros((c, n, hp * wp + extra), dtype=dcols.dtype)
        canvas = image[:, :, : hp * wp].reshape(c, n, hp, wp)
        for i in range(kh):
            for j in range(kw):
                if flat:
                    start = i * dilation[0] * wp + j * dilation[1]
                    image[:, :, start : start + ho * wp] += dcols[:, i, j].reshape(c, n, ho * wp)
                else:
                    rows = slice(i * dilation[0], i * dilation[0] + stride[0] * (ho - 1) + 1, stride[0])
                    columns = slice(j * dilation[1], j * dilation[1] + stride[1] * (width - 1) + 1, stride[1])
                    canvas[:, :, rows, columns] += dcols[:, i, j]
        gx[...] = canvas[:, :, pt : pt + h, pl : pl + wd].transpose(1, 0, 2, 3)


class Conv2dRows(_Conv):
    """Stride-1, one-group convolution (most layers of a ResNet): one GEMM per kernel row.

    Each chunk of ``nb`` images is laid out channel-major with the batch interleaved row by row,
    ``(C, Hp, nb, Wq)``: row block ``r`` holds row ``r`` of every image, each image's row in a slot of
    ``Wq ≥ W + max(pl, pr)`` elements whose zero tail is also the next slot's left padding, and the pt + pb
    padding rows are whole zero row blocks shared by the chunk. On this flat grid the window of kernel offset
    (i, j) is the grid itself shifted by ``i·dh·nb·Wq + j·dw``, so

        out[:, q] = Σ_i W_i @ cols[:, q + i·dh·nb·Wq],    cols = [x shifted by j·dw for j < kw]  (kw·C rows)

    with ``W_i`` (O, kw·C) the kernel's row i. Only the kw column shifts are copied (into cache-sized
    buffers); the kh row shifts are views into the copies, so a 3×3 kernel costs three copies instead of the
    nine of a full stack. Outputs are computed on Ho × nb × Wq positions, of which the Wq − Wo surplus columns
    per row are dropped: 12.5 % surplus on 8×8 maps against 27 % with one padded image after another.
    Against that previous route (stacked windows, per-image padding), forward plus backward of W3's layers on
    a 2-core Zen-1: 64 channels at 8×8 23.6 → 19.8 ms, 32 at 16×16 23.9 → 22.5 ms, 16 at 32×32 unchanged
    within noise (its GEMMs, K = 48 per kernel row, run no faster than one K = 144 GEMM).

    Backward correlates the output gradient G with the flipped kernel on the same grid: the kw column shifts
    of G are copied once per chunk and their row views serve both ``dX = Σ_i W_iᵀ-flipped @ G_i`` and
    ``dW_i = G_i @ Xᵀ`` (against the saved grid of the input), so no products are scattered back.
    """

    fresh_grads = True  # every gradient is a new array (GEMM outputs, accumulated sums)

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *, padding: Padding,
                dilation: Pair) -> np.ndarray:
        n, c, h, wd = x.shape
        o, _, kh, kw = w.shape
        pt, pb, pl, pr = padding
        ho = conv_output_size(h, kh, 1, pt + pb, dilation[0])
        wo = conv_output_size(wd, kw, 1, pl + pr, dilation[1])
        wq = max(wd + max(pl, pr), wo)
        chunk = self._chunk(n, (kw * c + kh * o + c) * (h + pt + pb) * wq * x.itemsize)
        w_rows = np.ascontiguousarray(w.transpose(2, 0, 3, 1)).reshape(kh, o, kw * c)
        buffer = np.empty(kw * c * (h + pt + pb) * chunk * wq, dtype=x.dtype)
        out = np.empty((n, o, ho, wo), dtype=x.dtype)
        grids = []
        for start in range(0, n, chunk):
            xb = x[start : start + chunk]
            nb = len(xb)
            grid = self._grid(xb, padding, wq, dilation[1] * (kw - 1))
            cols = _row_windows(grid, (kh, kw), (dilation[0] * nb * wq, dilation[1]), ho * nb * wq, buffer)
            products = np.matmul(w_rows, cols)
            total = _sum_leading(products)
            valid = total.reshape(o, ho, nb, wq)[..., :wo].transpose(2, 0, 1, 3)
            if b is not None:
                np.add(valid, b.reshape(o, 1, 1), out=out[start : start + nb])
            else:
                out[start : start + nb] = valid
            grids.append(grid if self.needs_input_grad[1] else None)
        self.geometry = (x.shape, padding, dilation, wq, chunk)
        self.options = ((1, 1), padding, dilation, 1)
        self.saved = (grids, w)
        return out

    @staticmethod
    def _chunk(n: int, bytes_per_sample: int) -> int:
        return max(1, min(n, CHUNK_BYTES // bytes_per_sample))

    @staticmethod
    def _grid(x: np.ndarray, padding: Padding, wq: int, tail: int) -> np.ndarray:
        """``x`` (nb, C, H, W) on the zero-padded (C, Hp·nb·Wq + tail) grid (see the class docstring)."""
        nb, c, h, wd = x.shape
        pt, pb, pl, _ = padding
        hp = pt + h + pb
        flat = np.empty((c, hp * nb * wq + tail), dtype=x.dtype)
        blocks = flat[:, : hp * nb * wq].reshape(c, hp, nb, wq)
        # Filled, then only the padding zeroed: np.zeros would sweep the whole array once more.
        blocks[:, pt : pt + h, :, pl : pl + wd] = x.transpose(1, 2, 0, 3)
        blocks[:, :pt] = 0
        blocks[:, pt + h :] = 0
        blocks[:, pt : pt + h, :, :pl] = 0
        blocks[:, pt : pt + h, :, pl + wd :] = 0
        flat[:, hp * nb * wq :] = 0
        return flat

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        grids, w = self.saved
        x_shape, (pt, _, pl, _), (dh, dw), wq, chunk = self.geometry
        n, c, h, wd = x_shape
        o, _, kh, kw = w.shape
        ho, wo = g.shape[2:]
        needs = self.needs_input_grad
        gb = channel_sum(g.reshape(n, o, ho * wo)).astype(g.dtype) if len(needs) == 3 and needs[2] else None
        gx = np.empty(x_shape, dtype=g.dtype) if needs[0] else None
        gw_rows = np.zeros((kh, kw * o, c), dtype=g.dtype) if needs[1] else None
        # flipped[i, c, (j, o)] = w[o, c, kh-1-i, kw-1-j]: dX correlates G with the kernel turned by 180°
        flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(2, 1, 3, 0)).reshape(kh, c, kw * o)
        buffer = np.empty(kw * o * (h + (kh - 1) * dh) * chunk * wq, dtype=g.dtype)
        for index, start in enumerate(range(0, n, chunk)):
            gc = g[start : start + chunk]
            nb = len(gc)
            block = nb * wq
            # G on the output grid, with zeros around it so that every shifted window of the input's rows
            # pt .. pt + h lies inside: dX[p] = Σ_k W_kᵀ G[p − s_k], s_k = i·dh·block + j·dw.
            reach = (kh - 1) * dh * block + (kw - 1) * dw
            before = max(0, reach - pt * block)
            after = max(0, (pt + h) * block - ho * block)
            canvas = np.empty((o, before + ho * block + after), dtype=g.dtype)
            canvas[:, :before] = 0
            canvas[:, before + ho * block :] = 0
            placed = canvas[:, before : before + ho * block].reshape(o, ho, nb, wq)
            placed[..., :wo] = gc.transpose(1, 2, 0, 3)
            placed[..., wo:] = 0
            # row i of the flipped kernel, column j: G shifted by −s for the offset (kh−1−i, kw−1−j)
            first = before + pt * block - reach
            windows = _row_windows(canvas[:, first:], (kh, kw), (dh * block, dw), h * block, buffer)
            if needs[1]:
                x_rows = grids[index][:, pt * block : (pt + h) * block]
                gw_rows += np.matmul(windows, x_rows.T)
            if needs[0]:
                total = _sum_leading(np.matmul(flipped, windows))
                gx[start : start + nb] = total.reshape(c, h, nb, wq)[..., pl : pl + wd].transpose(2, 0, 1, 3)
        gw = None
        if needs[1]:  # gw_rows[i, (j, o), c] is the gradient of w[o, c, kh-1-i, kw-1-j]
            gw = np.ascontiguousarray(gw_rows.reshape(kh, kw, o, c)[::-1, ::-1].transpose(2, 3, 0, 1))
        return (gx, gw, gb) if len(needs) == 3 else (gx, gw)


class Conv2d(_Conv):
    """``out[n, o] = Σ_ij W_ij · x_padded[n, :, s·y + d·i, s·x + d·j] + b[o]``: one GEMM per kernel offset.

    No im2col: the input is laid out channel-major (C, N·Hq·Wq), split into its stride phases (for stride s,
    phase (a, b) holds the pixels at rows ≡ a and columns ≡ b mod s), and each kernel offset (i, j) reads one
    phase at a constant flat shift. So every offset is a GEMM ``W_ij (O, C) @ phase[:, shift : shift + M]``
    on a *view*; the kh·kw products are then summed. Outputs are computed on the Hq × Wq phase grid;
    positions past Ho × Wo are wasted work, dropped at the end. Only the phases (about the input's size) are
    kept for backward.

    The batch is processed in chunks sized so that a chunk's kh·kw shifted windows (``CHUNK_BYTES``) stay in
    the last-level cache: 2x faster on ResNet-8's 32×32 layers than one pass over the whole batch, whose
    42 MB (16 channels) go out to memory and back. Within a chunk the windows are stacked (contiguous runs,
    memcpy speed, in cache) so the offsets become one GEMM with K = kh·kw·C/groups, and weight gradients one
    GEMM too: 10 % faster on W3 than kh·kw thin GEMMs with K = C/groups, which depthwise layers still use.

    Backward multiplies the output gradient back per offset (one GEMM for the stack) and adds the products
    onto the phases at their shifts. Stride-1 one-group layers go to :class:`Conv2dRows` instead; this class
    still serves stride 1 for grouped and depthwise convolutions.
    """

    fresh_grads = True  # every gradient is a new array (GEMM outputs, accumulated canvases)

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *, stride: Pair,
                padding: Padding, dilation: Pair, groups: int) -> np.ndarray:
        n, _, h, wd = x.shape
        o, cg, kh, kw = w.shape
        (sh, sw), (dh, dw) = stride, dilation
        pt, pb, pl, pr = padding
        ho = conv_output_size(h, kh, sh, pt + pb, dh)
        wo = conv_output_size(wd, kw, sw, pl + pr, dw)
        hq, wq, lead = self._grid((h, wd), padding, stride, (ho, wo))
        # (phase row, phase col, flat shift) of each kernel offset, in (i, j) order
        offsets = [((i * dh) % sh, (j * dw) % sw, (i * dh // sh) * wq + j * dw // sw)
                   for i in range(kh) for j in range(kw)]
        kk, og = len(offsets), o // groups
        # Offsets stacked into one GEMM (K = kh·kw·C/groups) per chunk; depthwise convolutions instead take one
        # broadcast multiply per offset (a stacked GEMM would have a single output row per group).
        stacked = cg > 1
        if stacked:
            weights = np.ascontiguousarray(w.reshape(groups, og, cg, kk).transpose(0, 1, 3, 2)).reshape(
                groups, og, kk * cg)
        else:
            weights = np.ascontiguousarray(w.reshape(groups, og, cg, kk).transpose(3, 0, 1, 2))
        per_sample = kk * max(o, cg * groups) * hq * wq
        chunk = max(1, min(n, CHUNK_BYTES // (per_sample * x.itemsize)))
        # One buffer for every chunk's stacked windows (or products): fresh multi-MB arrays cost page faults.
        buffer = np.empty(per_sample * chunk, dtype=x.dtype)
        out = np.empty((n, o, ho, wo), dtype=x.dtype)
        all_phases = []
        for start in range(0, n, chunk):
            xb = x[start : start + chunk]
            m = len(xb) * hq * wq
            length = m + max(offsets[-1][2], lead)  # reads run up to the last shift past M, data up to lead
            phases = self._phases(xb, padding, stride, (hq, wq, lead), length, {(a, bb) for a, bb, _ in offsets})
            if stacked:
                windows = self._stack(phases, offsets, groups, cg, m, length, buffer)
                grid = _matmul(weights, windows)
            else:
                # All products first, then one summing pass: an add after each GEMM measured 1.7x slower,
                # because OpenBLAS's second thread keeps spinning (and taking the other core) after every call.
                terms = buffer[: kk * o * m].reshape(kk, groups, og, m)
                for k, (a, bb, shift) in enumerate(offsets):
                    window = phases[a, bb].reshape(groups, cg, length)[:, :, shift : shift + m]
                    _product(weights[k], window, out=terms[k])
                grid = terms.sum(axis=0) if kk > 1 else terms[0]
            valid = grid.reshape(o, len(xb), hq, wq)[:, :, :ho, :wo].transpose(1, 0, 2, 3)
            if b is not None:
                np.add(valid, b.reshape(o, 1, 1), out=out[start : start + chunk])
            else:
                out[start : start + chunk] = valid
            all_phases.append(phases if self.needs_input_grad[1] else None)
        self.geometry = (x.shape, padding, stride, (hq, wq, lead), offsets, groups, chunk, stacked)
        self.options = (stride, padding, dilation, groups)
        self.saved = (all_phases, weights, w.shape)
        return out

    @staticmethod
    def _stack(phases: dict[tuple[int, int], np.ndarray], offsets: list[tuple[int, int, int]], groups: int,
               cg: int, m: int, length: int, buffer: np.ndarray) -> np.ndarray:
        """The kh·kw shifted windows of a chunk stacked as (G, kh·kw·C/G, M) in ``buffer`` (rows (offset, c)).

        Each window row is a contiguous run, so this is memcpy-speed copying of data that stays in cache. A 1×1
        kernel's single window is returned as a view of its phase, uncopied."""
        if len(offsets) == 1:
            (a, b, shift), = offsets
            return phases[a, b].reshape(groups, cg, length)[:, :, shift : shift + m]
        stack = buffer[: groups * len(offsets) * cg * m].reshape(groups, len(offsets), cg, m)
        for k, (a, b, shift) in enumerate(offsets):
            stack[:, k] = phases[a, b].reshape(groups, cg, length)[:, :, shift : shift + m]
        return stack.reshape(groups, len(offsets) * cg, m)

    @staticmethod
    def _grid(size: Pair, padding: Padding, stride: Pair, out_hw: Pair) -> tuple[int, int, int]:
        """(Hq, Wq, lead): each image's slot on the flat grid, and where the first image's pixel (0, 0) sits.

        With stride 1 neighbouring images and rows share their zero padding: a window reaching ``p`` pixels left
        of column 0 reads the previous row's last ``p`` slots, which are padding as long as Wq ≥ W + p (rows
        likewise, across images). So a slot is (H + max(pt, pb)) × (W + max(pl, pr)), not (H + pt + pb) ×
        (W + pl + pr): on ResNet-8's 8×8 layers that is 81 grid positions per image instead of 100, for 64
        outputs. Strided convolutions keep fully padded images, split into phases.
        """
        (h, wd), (pt, pb, pl, pr), (sh, sw) = size, padding, stride
        if stride == (1, 1):
            hq, wq = max(h + max(pt, pb), out_hw[0]), max(wd + max(pl, pr), out_hw[1])
            return hq, wq, pt * wq + pl
        return -(-(h + pt + pb) // sh), -(-(wd + pl + pr) // sw), 0

    @staticmethod
    def _phases(x: np.ndarray, padding: Padding, stride: Pair, grid: tuple[int, int, int], length: int,
                used: set[tuple[int, int]]) -> dict[tuple[int, int], np.ndarray]:
        """Channel-major padded input split by stride phase: {(a, b): (C, length)} on the grid of :meth:`_grid`."""
        n, c, h, wd = x.shape
        pt, _, pl, _ = padding
        sh, sw = stride
        hq, wq, lead = grid
        m = n * hq * wq
        # Arrays are filled, then only their padding zeroed: np.zeros would sweep the whole array once more.
        if stride == (1, 1):
            flat = np.empty((c, length), dtype=x.dtype)
            slots = flat[:, lead : lead + m].reshape(c, n, hq, wq)
            slots[:, :, :h, :wd] = x.transpose(1, 0, 2, 3)
            _zero_outside(slots, h, wd)
            flat[:, :lead] = 0
            flat[:, lead + m :] = 0
            return {(0, 0): flat}
        # Each phase is read straight from x with stride (sh, sw), then its padding zeroed: no padded canvas.
        phases = {}
        for a, b in sorted(used):
            flat = np.empty((c, length), dtype=x.dtype)
            (y0, ys, cy), (x0, xs, cx) = _phase_span(a, sh, pt, h, hq), _phase_span(b, sw, pl, wd, wq)
            grid4 = flat[:, :m].reshape(c, n, hq, wq)
            grid4[:, :, y0 : y0 + cy, x0 : x0 + cx] = x[:, :, ys :: sh, xs :: sw][:, :, :cy, :cx].transpose(1, 0, 2, 3)
            _zero_around(grid4, (y0, y0 + cy), (x0, x0 + cx))
            flat[:, m:] = 0
            phases[a, b] = flat
        return phases

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        all_phases, weights, w_shape = self.saved
        x_shape, padding, stride, (hq, wq, lead), offsets, groups, chunk, stacked = self.geometry
        n, c = x_shape[:2]
        o, cg = w_shape[:2]
        kk, og = len(offsets), o // groups
        ho, wo = g.shape[2:]
        needs = self.needs_input_grad
        gw = gx = gb = None
        if len(needs) == 3 and needs[2]:
            gb = channel_sum(g.reshape(*g.shape[:2], -1)).astype(g.dtype)
        buffer = np.empty(kk * max(o, c) * hq * wq * chunk, dtype=g.dtype)
        if needs[0]:
            gx = np.empty(x_shape, dtype=g.dtype)
        # Weight gradients summed over chunks: (G, kh·kw·C/G, O/G) when stacked, computed as windows @ gridᵀ (this
        # operand order ran 1.7x faster in OpenBLAS than grid @ windowsᵀ on ResNet-8 shapes); per offset
        # (kh·kw, G, O/G, C/G) otherwise, the layout of ``weights``.
        if needs[1]:
            gw_parts = np.zeros(weights.swapaxes(-1, -2).shape if stacked else weights.shape, dtype=g.dtype)
        grid_buffer = np.empty(o * chunk * hq * wq, dtype=g.dtype)
        for index, start in enumerate(range(0, n, chunk)):
            nb = min(chunk, n - start)
            m = nb * hq * wq
            length = m + max(offsets[-1][2], lead)
            grid = grid_buffer[: o * m].reshape(o, nb, hq, wq)
            grid[:, :, :ho, :wo] = g[start : start + nb].transpose(1, 0, 2, 3)
            _zero_outside(grid, ho, wo)  # the surplus grid positions must contribute nothing
            grid3 = grid.reshape(groups, og, m)
            if needs[1]:
                phases = all_phases[index]
                if stacked:
                    windows = self._stack(phases, offsets, groups, cg, m, length, buffer)
                    gw_parts += _matmul(windows, grid3.swapaxes(-1, -2))
                else:
                    for k, (a, b, shift) in enumerate(offsets):
                        window = phases[a, b].reshape(groups, cg, length)[:, :, shift : shift + m]
                        gw_parts[k] += np.matmul(grid3, window.swapaxes(-1, -2))
            if needs[0]:
                if stacked:
                    d_windows = buffer[: groups * kk * cg * m].reshape(groups, kk * cg, m)
                    _matmul(weights.swapaxes(-1, -2), grid3, out=d_windows)
                    per_offset = d_windows.reshape(groups, kk, cg, m).swapaxes(0, 1)
                else:
                    per_offset = buffer[: kk * c * m].reshape(kk, groups, cg, m)
                    for k in range(kk):  # GEMMs first, then the shifted adds (see forward)
                        _product(weights[k].swapaxes(-1, -2), grid3, out=per_offset[k])
                if kk == 1 and stride != (1, 1):  # the one product is the phase gradient (strided phases start at 0)
                    g_phases = {offsets[0][:2]: per_offset[0].reshape(c, m)}
                else:
                    g_phases = {}
                    for k, (a, b, shift) in enumerate(offsets):
                        if (a, b) not in g_phases:  # a phase's first window (shift 0 but for some dilations) is copied
                            g_phases[a, b] = target = np.empty((c, length), dtype=g.dtype)
                            target[:, :shift] = 0
                            target[:, shift + m :] = 0
                            target.reshape(groups, cg, length)[:, :, shift : shift + m] = per_offset[k]
                        else:
                            g_phases[a, b].reshape(groups, cg, length)[:, :, shift : shift + m] += per_offset[k]
                self._unphase(g_phases, gx[start : start + nb], padding, stride, (hq, wq, lead))
        if needs[1]:
            if stacked:
                gw = gw_parts.reshape(groups, kk, cg, og).transpose(0, 3, 2, 1).reshape(w_shape)
            else:
                gw = gw_parts.transpose(1, 2, 3, 0).reshape(w_shape)
        return (gx, gw, gb) if len(needs) == 3 else (gx, gw)

    @staticmethod
    def _unphase(g_phases: dict[tuple[int, int], np.ndarray], gx: np.ndarray, padding: Padding, stride: Pair,
                 grid: tuple[int, int, int]) -> None:
        """Adjoint of :meth:`_phases`: write the NCHW gradient of the unpadded input chunk into ``gx``."""
        n, c, h, wd = gx.shape
        pt, _, pl, _ = padding
        sh, sw = stride
        hq, wq, lead = grid
        m = n * hq * wq
        if stride == (1, 1):
            gx[...] = g_phases[0, 0][:, lead : lead + m].reshape(c, n, hq, wq)[:, :, :h, :wd].transpose(1, 0, 2, 3)
            return
        # The phases partition the input's pixels; those of phases no kernel offset reads (a 1×1 kernel's, a
        # kernel smaller than its stride) get zero gradient: one contiguous fill, not strided ones per phase.
        if len(g_phases) < sh * sw:
            gx[...] = 0
        for (a, b), flat in g_phases.items():
            (y0, ys, cy), (x0, xs, cx) = _phase_span(a, sh, pt, h, hq), _phase_span(b, sw, pl, wd, wq)
            grid4 = flat[:, :m].reshape(c, n, hq, wq)
            gx[:, :, ys :: sh, xs :: sw] = grid4[:, :, y0 : y0 + cy, x0 : x0 + cx].transpose(1, 0, 2, 3)


def _row_windows(src: np.ndarray, kernel: Pair, steps: Pair, m: int, buffer: np.ndarray) -> np.ndarray:
    """View (kh, kw·R, m) of ``src`` (R, ≥ m + reach) with ``[i, (j, r), q] = src[r, q + i·row_step + j·column_step]``.

    Only the kw column shifts are copied, into ``buffer``; the kh row shifts are strided views of the copies
    (valid GEMM operands: contiguous rows, one row stride).
    """
    kh, kw = kernel
    row_step, column_step = steps
    rows = src.shape[0]
    length = m + (kh - 1) * row_step
    if kw == 1 and src.flags.c_contiguous:  # nothing to shift: the rows are views of src itself
        copies = src
        row_stride = src.shape[1]
    else:
        copies = buffer[: kw * rows * length].reshape(kw, rows, length)
        for j in range(kw):
            copies[j] = src[:, j * column_step : j * column_step + length]
        row_stride = length
    size = copies.itemsize
    return as_strided(copies, (kh, kw * rows, m), (row_step * size, row_stride * size, size), writeable=False)


def _sum_leading(products: np.ndarray) -> np.ndarray:
    """Sum of (K, ...) over its first axis, in place into ``products[0]``."""
    total = products[0]
    for k in range(1, len(products)):
        total += products[k]
    return total


def _phase_span(phase: int, stride: int, pad: int, size: int, slots: int) -> tuple[int, int, int]:
    """Where the unpadded input lands in one stride phase of one axis: (first slot, first input index, count).

    Phase ``a`` holds padded positions ``a, a + s, …``; padded position p is input index ``p − pad``.
    """
    first = max(0, -(-(pad - phase) // stride))
    source = phase + stride * first - pad
    count = max(0, min(slots - first, -(-(size - source) // stride)))
    return first, source, count


def _zero_around(a: np.ndarray, rows: tuple[int, int], columns: tuple[int, int]) -> None:
    """Zero everything of ``a`` (..., H, W) outside its block ``rows`` × ``columns`` (half-open ranges)."""
    a[..., : rows[0], :] = 0
    a[..., rows[1] :, :] = 0
    a[..., rows[0] : rows[1], : columns[0]] = 0
    a[..., rows[0] : rows[1], columns[1] :] = 0


def _zero_outside(a: np.ndarray, rows: int, columns: int) -> None:
    """Zero everything of ``a`` (..., H, W) outside its top-left ``rows`` × ``columns`` block."""
    a[..., rows:, :] = 0
    a[..., :rows, columns:] = 0


def _matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a (G, P, Q) @ b (G, Q, M)``; with one group, a plain 2-D GEMM (NumPy's stacked loop adds overhead)."""
    if a.shape[0] == 1:
        result = np.matmul(a[0], b[0], out=None if out is None else out[0])
        return result[None]
    return np.matmul(a, b, out=out)


def _product(w: np.ndarray, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``w (G, P, Q) @ x (G, Q, M)`` into ``out``; with Q = 1 (depthwise) a broadcast multiply beats G tiny GEMMs."""
    if w.shape[-1] == 1:
        return np.multiply(w, x, out=out)
    if w.shape[0] == 1:
        np.matmul(w[0], x[0], out=out[0])
        return out
    return np.matmul(w, x, out=out)


class ConvTranspose2d(Function):
    """The adjoint of ``Conv2d`` in its input: each input pixel paints ``w`` scaled by its value.

    ``out = crop_p(col2im(Wᵀ @ x))`` on a canvas of ``(H−1)·s + d·(k−1) + 1 + output_padding``; backward is a
    strided im2col of the (re-padded) output gradient.
    """

    fresh_grads = True

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *, stride: Pair, padding: Pair,
                output_padding: Pair, dilation: Pair, groups: int) -> np.ndarray:
        n, c, h, wd = x.shape
        _, og, kh, kw = w.shape
        cg = c // groups
        ho, wo = h, wd  # the "convolution output" grid is the transposed conv's input grid
        canvas_h = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0]
        canvas_w = (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1]
        w3 = w.reshape(groups, cg, og * kh * kw)
        cols = np.matmul(w3.swapaxes(-1, -2), x.reshape(n, groups, cg, h * wd))
        canvas = col2im(cols.reshape(n, groups * og * kh * kw, h * wd), (n, groups * og, canvas_h, canvas_w),
                        (kh, kw), stride, dilation, (ho, wo))
        ph, pw = padding
        out = canvas[:, :, ph : canvas_h - ph, pw : canvas_w - pw]
        if b is not None:
            out = np.add(out, b.reshape(-1, 1, 1), dtype=out.dtype)
        elif ph or pw:
            out = np.ascontiguousarray(out)
        self.geometry = (x.shape, stride, padding, dilation, groups, canvas_h, canvas_w)
        self.output_padding = output_padding
        self.saved = (x if self.needs_input_grad[1] else None, w)
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x, w = self.saved
        (n, c, h, wd), stride, (ph, pw), dilation, groups, canvas_h, canvas_w = self.geometry
        _, og, kh, kw = w.shape
        cg = c // groups
        needs = self.needs_input_grad
        g_canvas = np.zeros((n, g.shape[1], canvas_h, canvas_w), dtype=g.dtype) if ph or pw else g
        if ph or pw:
            g_canvas[:, :, ph : canvas_h - ph, pw : canvas_w - pw] = g
        dcols = im2col(g_canvas, (kh, kw), stride, dilation, (h, wd)).reshape(n, groups, og * kh * kw, h * wd)
        w3 = w.reshape(groups, cg, og * kh * kw)
        gx = gw = gb = None
        if needs[0]:
            gx = np.matmul(w3, dcols).reshape(n, c, h, wd)
        if needs[1]:
            x4 = x.reshape(n, groups, cg, h * wd)
            gw = np.matmul(x4, dcols.swapaxes(-1, -2)).sum(axis=0).reshape(w.shape)
        if len(needs) == 3 and needs[2]:
            gb = channel_sum(g.reshape(*g.shape[:2], -1)).astype(g.dtype)
        return (gx, gw, gb) if len(needs) == 3 else (gx, gw)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return backward_by_composite(self, g, self._composite)

    def _composite(self, x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
        """The forward as differentiable primitives: ``Wᵀ @ x`` per group, placed window by window (PlaceAt
        adds overlaps), cropped, plus the bias."""
        (n, c, h, wd), stride, (ph, pw), dilation, groups, canvas_h, canvas_w = self.geometry
        _, og, kh, kw = w.shape
        cols = MatMul.apply(w.reshape(groups, c // groups, og * kh * kw).transpose(-1, -2),
                            x.reshape(n, groups, c // groups, h * wd))
        canvas = PlaceAt.apply(cols.reshape(n, groups * og, kh, kw, h, wd), shape=(n, groups * og, canvas_h, canvas_w),
                               index=window_index((kh, kw), stride, dilation, (h, wd)), accumulate=True)
        out = GetItem.apply(canvas, index=(slice(None), slice(None), slice(ph, canvas_h - ph),
                                           slice(pw, canvas_w - pw)), accumulate=False)
        return out if b is None else out + b.reshape(1, -1, 1, 1)


# --- public functions: argument checking, then the primitive ------------------------------------------------


def as_tuple(value: int | Sequence[int], n: int, what: str, where: str, minimum: int = 1) -> tuple[int, ...]:
    """``value`` as an n-tuple of ints ≥ ``minimum`` (PyTorch accepts an int for every spatial dim)."""
    items = (value,) * n if isinstance(value, int | np.integer) else tuple(value)
    if len(items) != n or not all(isinstance(v, int | np.integer) for v in items):
        raise ValueError(f"{where}: {what} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in items):
        raise ValueError(f"{where}: {what} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in items)


def conv_padding(padding: str | int | Sequence[int], kernel: tuple[int, ...], stride: tuple[int, ...],
                 dilation: tuple[int, ...], where: str) -> tuple[tuple[int, int], ...]:
    """(before, after) per spatial dim; 'same' puts the odd extra element after, as PyTorch does."""
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in kernel)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{where}: padding='same' needs stride 1 (got stride {stride}); "
                                 f"use an explicit padding for strided convolutions")
            totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"{where}: padding must be 'same', 'valid', an int or a tuple, got {padding!r}")
    pads = as_tuple(padding, len(kernel), "padding", where, minimum=0)
    return tuple((p, p) for p in pads)


def _unbatched(x: Tensor, spatial: int, where: str) -> bool:
    """True for a single unbatched sample (C, *spatial), which PyTorch accepts and so does nerve."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: expected a Tensor input, got {type(x).__name__}")
    return x.ndim == spatial + 1


def _check_conv_operands(x: Tensor, weight: Tensor, bias: Tensor | None, groups: int, spatial: int,
                         where: str, transposed: bool = False, shape: tuple[int, ...] | None = None) -> None:
    """``shape``: the caller's input shape when it was unbatched and nerve added the batch dimension, so errors
    report what the caller passed."""
    layout = ("N, C, L", "C, L") if spatial == 1 else ("N, C, H, W", "C, H, W")
    if x.ndim != spatial + 2:
        raise ValueError(f"{where}: expected a {spatial + 2}-D input ({layout[0]}) or an unbatched "
                         f"{spatial + 1}-D one ({layout[1]}), got shape {tuple(x.shape)}")
    if weight.ndim != spatial + 2:
        raise ValueError(f"{where}: expected a {spatial + 2}-D weight, got shape {tuple(weight.shape)}")
    if not isinstance(groups, int | np.integer) or groups < 1:
        raise ValueError(f"{where}: groups must be a positive int, got {groups!r}")
    in_per_group = weight.shape[0] if transposed else weight.shape[1]
    channels = in_per_group if transposed else in_per_group * groups
    if x.shape[1] != channels:
        expected = f"({layout[0]})" if shape is None else f"({layout[0]}) or ({layout[1]})"  # either would do
        raise ValueError(f"{where}: expected input with {channels} channels {expected.replace('C', str(channels))}, "
                         f"got shape {shape or tuple(x.shape)}")
    if not transposed and weight.shape[0] % groups:
        raise ValueError(f"{where}: out_channels {weight.shape[0]} is not divisible by groups={groups}")
    if transposed and x.shape[1] % groups:
        raise ValueError(f"{where}: in_channels {x.shape[1]} is not divisible by groups={groups}")
    if x.data.dtype.kind != "f" or x.data.dtype != weight.data.dtype:
        raise TypeError(f"{where}: input and weight must have the same floating dtype, got input "
                        f"{x.data.dtype} and weight {weight.data.dtype}")
    if bias is not None:
        out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
        if bias.shape != (out_channels,) or bias.data.dtype != x.data.dtype:
            raise ValueError(f"{where}: expected a bias of shape ({out_channels},) and dtype {x.data.dtype}, "
                             f"got {tuple(bias.shape)} ({bias.data.dtype})")


def conv2d_checked(x: Tensor, weight: Tensor, bias: Tensor | None, stride: int | Sequence[int],
                   padding: str | int | Sequence[int], dilation: int | Sequence[int], groups: int,
                   where: str, shape: tuple[int, ...] | None = None) -> Tensor:
    """:func:`conv2d` with ``where`` (a layer's name) in every error message (and ``shape``, the input's shape
    before nerve added a batch dimension)."""
    if _unbatched(x, 2, where):
        return squeeze(conv2d_checked(unsqueeze(x, 0), weight, bias, stride, padding, dilation, groups, where,
                                      tuple(x.shape)), 0)
    _check_conv_operands(x, weight, bias, groups, 2, where, shape=shape)
    kernel = tuple(weight.shape[2:])
    stride_ = as_tuple(stride, 2, "stride", where)
    dilation_ = as_tuple(dilation, 2, "dilation", where)
    (pt, pb), (pl, pr) = conv_padding(padding, kernel, stride_, dilation_, where)
    h, w = x.shape[2:]
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation_))
    if h + pt + pb < span[0] or w + pl + pr < span[1]:
        raise ValueError(f"{where}: input of spatial size {h}x{w} (padded {h + pt + pb}x{w + pl + pr}) is smaller "
                         f"than the kernel {span[0]}x{span[1]}; got input shape {shape or tuple(x.shape)}")
    args = (x, weight) if bias is None else (x, weight, bias)
    return _convolve(args, stride_, (pt, pb, pl, pr), dilation_, int(groups))


def _convolve(args: tuple[Tensor, ...], stride: Pair, padding: Padding, dilation: Pair, groups: int) -> Tensor:
    """The primitive for these operands: Conv2dRows for stride-1 one-group layers, Conv2dIm2col for thin ones
    (except depthwise), Conv2d otherwise."""
    channels = args[1].shape[1]  # input channels per group
    if channels < PER_OFFSET_MIN_CHANNELS and not (channels == 1 and groups > 1):
        return Conv2dIm2col.apply(*args, stride=stride, padding=padding, dilation=dilation, groups=groups)
    if stride == (1, 1) and groups == 1:
        return Conv2dRows.apply(*args, padding=padding, dilation=dilation)
    return Conv2d.apply(*args, stride=stride, padding=padding, dilation=dilation, groups=groups)


def conv1d_checked(x: Tensor, weight: Tensor, bias: Tensor | None, stride: int | Sequence[int],
                   padding: str | int | Sequence[int], dilation: int | Sequence[int], groups: int,
                   where: str, shape: tuple[int, ...] | None = None) -> Tensor:
    """:func:`conv1d` as a 2-D convolution over a height-1 image (reshapes are views, so this is free)."""
    if _unbatched(x, 1, where):
        return squeeze(conv1d_checked(unsqueeze(x, 0), weight, bias, stride, padding, dilation, groups, where,
                                      tuple(x.shape)), 0)
    _check_conv_operands(x, weight, bias, groups, 1, where, shape=shape)
    (stride_,) = as_tuple(stride, 1, "stride", where)
    (dilation_,) = as_tuple(dilation, 1, "dilation", where)
    ((before, after),) = conv_padding(padding, (weight.shape[2],), (stride_,), (dilation_,), where)
    span = dilation_ * (weight.shape[2] - 1) + 1
    if x.shape[2] + before + after < span:
        raise ValueError(f"{where}: input of length {x.shape[2]} (padded {x.shape[2] + before + after}) is shorter "
                         f"than the kernel {span}; got input shape {shape or tuple(x.shape)}")
    x4 = reshape(x, (x.shape[0], x.shape[1], 1, x.shape[2]))
    w4 = reshape(weight, (weight.shape[0], weight.shape[1], 1, weight.shape[2]))
    args = (x4, w4) if bias is None else (x4, w4, bias)
    out = _convolve(args, (1, stride_), (0, 0, before, after), (1, dilation_), int(groups))
    return reshape(out, (out.shape[0], out.shape[1], out.shape[3]))


def conv_transpose2d_checked(x: Tensor, weight: Tensor, bias: Tensor | None, stride: int | Sequence[int],
                             padding: int | Sequence[int], output_padding: int | Sequence[int], groups: int,
                             dilation: int | Sequence[int], where: str,
                             shape: tuple[int, ...] | None = None) -> Tensor:
    """:func:`conv_transpose2d` with ``where`` in error messages (``shape`` as for :func:`conv2d_checked`)."""
    if _unbatched(x, 2, where):
        return squeeze(conv_transpose2d_checked(unsqueeze(x, 0), weight, bias, stride, padding, output_padding,
                                                groups, dilation, where, tuple(x.shape)), 0)
    _check_conv_operands(x, weight, bias, groups, 2, where, transposed=True, shape=shape)
    stride_ = as_tuple(stride, 2, "stride", where)
    dilation_ = as_tuple(dilation, 2, "dilation", where)
    padding_ = as_tuple(padding, 2, "padding", where, minimum=0)
    output_padding_ = as_tuple(output_padding, 2, "output_padding", where, minimum=0)
    if any(op >= max(s, d) for op, s, d in zip(output_padding_, stride_, dilation_)):
        raise ValueError(f"{where}: output_padding {output_padding_} must be smaller than stride {stride_} or "
                         f"dilation {dilation_}")
    for n, k, s, p, op, d in zip(x.shape[2:], weight.shape[2:], stride_, padding_, output_padding_, dilation_):
        if (n - 1) * s - 2 * p + d * (k - 1) + op + 1 <= 0:
            raise ValueError(f"{where}: padding {padding_} leaves no output for input shape "
                             f"{shape or tuple(x.shape)}")
    args = (x, weight) if bias is None else (x, weight, bias)
    return ConvTranspose2d.apply(*args, stride=stride_, padding=padding_, output_padding=output_padding_,
                                 dilation=dilation_, groups=int(groups))


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: str | int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as in every deep-learning library) over an NCHW batch.

    Shape:
        input: (N, C_in, H, W);  weight: (C_out, C_in/groups, kh, kw);  bias: (C_out,)
        output: (N, C_out, H_out, W_out), H_out = ⌊(H + pad_h − dilation·(kh − 1) − 1) / stride⌋ + 1.
    ``padding`` may be an int, a pair, ``'valid'`` (0) or ``'same'`` (stride 1 only).
    """
    return conv2d_checked(input, weight, bias, stride, padding, dilation, groups, "conv2d")


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
           padding: str | int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """1-D convolution over (N, C_in, L) with weight (C_out, C_in/groups, k) → (N, C_out, L_out)."""
    return conv1d_checked(input, weight, bias, stride, padding, dilation, groups, "conv1d")


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | Sequence[int] = 1,
                     padding: int | Sequence[int] = 0, output_padding: int | Sequence[int] = 0, groups: int = 1,
                     dilation: int | Sequence[int] = 1) -> Tensor:
    """Transposed convolution (the gradient of conv2d w.r.t. its input), e.g. for learned upsampling.

    Shape:
        input: (N, C_in, H, W);  weight: (C_in, C_out/groups, kh, kw)
        output: (N, C_out, (H − 1)·stride − 2·padding + dilation·(kh − 1) + output_padding + 1, ...)
    """
    return conv_transpose2d_checked(input, weight, bias, stride, padding, output_padding, groups, dilation,
                                    "conv_transpose2d")

"""Fused loss primitives over class indices: ``NLLLoss`` and ``CrossEntropy`` (log-softmax + NLL).

Cross-entropy is fused because its VJP is simply ``softmax(x) - onehot(target)`` (scaled), where the
composed graph would materialise a log-softmax, a gather and a scatter. Both ops take logits or
log-probabilities of shape (N, C) or (N, C, d1, ...) with targets (N,) or (N, d1, ...); they work on a
(M, C) view with the class axis last. Targets equal to ``ignore_index`` contribute nothing.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from nerve.autograd.function import Function
from nerve.ops.activation import Softmax
from nerve.tensor import Tensor, _wrap

Reduction = Literal["mean", "sum", "none"]


def to_rows(x: np.ndarray) -> np.ndarray:
    """(N, C, d1, ...) -> (N * d1 * ..., C) with classes last; (C,) -> (1, C)."""
    if x.ndim == 1:
        return x[None, :]
    if x.ndim == 2:
        return x
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def from_rows(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of ``to_rows`` for an array of the input's shape."""
    if len(shape) <= 2:
        return rows.reshape(shape)
    moved = (shape[0], *shape[2:], shape[1])
    return np.moveaxis(rows.reshape(moved), -1, 1)


class _TargetWeights:
    """Per-row weights of a class-index target: ``weight[target]``, zero where ``target == ignore_index``."""

    def __init__(self, target: np.ndarray, weight: np.ndarray | None, ignore_index: int, dtype: np.dtype) -> None:
        flat = target.reshape(-1)
        self.valid = flat != ignore_index
        self.index = np.where(self.valid, flat, 0)
        if weight is None:
            self.w = self.valid.astype(dtype)
        else:
            self.w = weight[self.index] * self.valid
        self.total = self.w.sum()  # the 'mean' normaliser: sum of weights of counted targets


def _reduce(per_row: np.ndarray, reduction: Reduction, total: np.ndarray, target_shape: tuple[int, ...]) -> np.ndarray:
    if reduction == "none":
        return per_row.reshape(target_shape)
    s = per_row.sum()
    if reduction == "sum":
        return s
    with np.errstate(invalid="ignore", divide="ignore"):  # all targets ignored: nan, as in PyTorch
        return s / total


def _row_grad_scale(g: np.ndarray, reduction: Reduction, total: np.ndarray, rows: int) -> np.ndarray:
    """d(loss)/d(per-row loss) as a (M, 1) column."""
    if reduction == "none":
        return g.reshape(rows, 1)
    if reduction == "sum":
        return np.broadcast_to(g, (rows, 1))
    if total == 0:  # every target ignored: the loss is nan, but nothing depends on the input (PyTorch: zeros)
        return np.zeros((rows, 1), dtype=g.dtype)
    return np.broadcast_to(g / total, (rows, 1))


class NLLLoss(Function):
    """Negative log-likelihood of log-probabilities at the target classes."""

    def forward(self, logp: np.ndarray, target: np.ndarray, weight: np.ndarray | None, ignore_index: int,
                reduction: Reduction) -> np.ndarray:
        rows = to_rows(logp)
        tw = _TargetWeights(target, weight, ignore_index, logp.dtype)
        per_row = -rows[np.arange(rows.shape[0]), tw.index] * tw.w
        self.saved = (tw.index, tw.w, tw.total)
        self.shape, self.reduction = logp.shape, reduction
        return _reduce(per_row, reduction, tw.total, target.shape)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        index, w, total = self.saved
        m = index.shape[0]
        c = self.shape[-1] if len(self.shape) == 1 else self.shape[1]
        scale = _row_grad_scale(g, self.reduction, total, m)[:, 0]
        grows = np.zeros((m, c), dtype=g.dtype)
        grows[np.arange(m), index] = -(w * scale)
        return (from_rows(grows, self.shape),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        index, w, total = self.saved
        m, c = index.shape[0], self.shape[-1] if len(self.shape) == 1 else self.shape[1]
        picked = np.zeros((m, c), dtype=g.dtype)
        picked[np.arange(m), index] = -w
        return (_from_rows_graph(_wrap(picked) * _row_grad_scale_graph(g, self.reduction, total, m), self.shape),)


class CrossEntropy(Function):
    """log-softmax followed by NLL over class-index targets, with optional label smoothing.

    With smoothing ``eps`` over C classes the per-row loss is
    ``(1 - eps) * nll + eps / C * sum_c(-w_c * logp_c)``, where the smooth term is normalised like the
    NLL term under 'mean' (by the summed target weights), as PyTorch does.
    """

    def forward(self, logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None, ignore_index: int,
                reduction: Reduction, label_smoothing: float) -> np.ndarray:
        rows = to_rows(logits)
        m, c = rows.shape
        shifted = rows - rows.max(axis=1, keepdims=True)
        expd = np.exp(shifted)
        sums = expd.sum(axis=1, keepdims=True)
        logp = shifted - np.log(sums)
        tw = _TargetWeights(target, weight, ignore_index, logits.dtype)
        per_row = -logp[np.arange(m), tw.index] * tw.w
        if label_smoothing:
            smooth = -(logp.sum(axis=1) if weight is None else logp @ weight) * tw.valid
            per_row = per_row * (1 - label_smoothing) + smooth * (label_smoothing / c)
        expd /= sums  # softmax, kept for backward
        self.saved = (expd, tw.index, tw.w, tw.valid, tw.total, weight)
        self.shape, self.reduction, self.label_smoothing = logits.shape, reduction, label_smoothing
        return _reduce(per_row, reduction, tw.total, target.shape)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        probs, index, w, valid, total, weight = self.saved
        m, c = probs.shape
        scale = _row_grad_scale(g, self.reduction, total, m)
        eps = self.label_smoothing
        # d nll_i / d x_ij = w_i * (p_ij - [j == t_i])
        grows = probs * (w[:, None] * (1 - eps))
        grows[np.arange(m), index] -= w * (1 - eps)
        if eps:
            # d smooth_i / d x_ij = p_ij * sum_c w_c - w_j   (w_c = 1 without class weights)
            wsum = c if weight is None else weight.sum()
            smooth = probs * wsum - (1 if weight is None else weight[None, :])
            grows += smooth * (valid[:, None] * (eps / c))
        grows *= scale
        return (from_rows(grows, self.shape),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        probs, index, w, valid, total, weight = self.saved
        m, c = probs.shape
        eps = self.label_smoothing
        # the same rows as backward, as (softmax · per_row) - constant, with the softmax recomputed as an op
        per_row = w[:, None] * (1 - eps)
        constant = np.zeros((m, c), dtype=probs.dtype)
        constant[np.arange(m), index] = w * (1 - eps)
        if eps:
            wsum = c if weight is None else weight.sum()
            per_row = per_row + wsum * valid[:, None] * (eps / c)
            constant += (1 if weight is None else weight[None, :]) * valid[:, None] * (eps / c)
        probs_t = Softmax.apply(_to_rows_graph(self.parents[0]), axis=1)
        grows = (probs_t * _wrap(per_row.astype(probs.dtype)) - _wrap(constant.astype(probs.dtype)))
        return (_from_rows_graph(grows * _row_grad_scale_graph(g, self.reduction, total, m), self.shape),)


def _to_rows_graph(x: Tensor) -> Tensor:
    """:func:`to_rows` as differentiable ops."""
    if x.ndim == 1:
        return x.reshape(1, -1)
    if x.ndim == 2:
        return x
    return x.movedim(1, -1).reshape(-1, x.shape[1])


def _from_rows_graph(rows: Tensor, shape: tuple[int, ...]) -> Tensor:
    """:func:`from_rows` as differentiable ops."""
    if len(shape) <= 2:
        return rows.reshape(shape)
    return rows.reshape(shape[0], *shape[2:], shape[1]).movedim(-1, 1)


def _row_grad_scale_graph(g: Tensor, reduction: Reduction, total: np.ndarray, rows: int) -> Tensor:
    """:func:`_row_grad_scale` as differentiable ops (a column, or a scalar that broadcasts like one)."""
    if reduction == "none":
        return g.reshape(rows, 1)
    if reduction == "sum":
        return g
    if total == 0:
        return g * 0
    return g / _wrap(np.asarray(total, dtype=g.dtype))

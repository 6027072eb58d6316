"""Scaled dot-product attention as one fused primitive.

    scores = scale · Q Kᵀ + mask            (..., L, S)
    P      = softmax(scores)  along S       (rows with every key masked give P = 0, as PyTorch's SDPA does)
    out    = dropout(P) V                   (..., L, Ev)

Fusing keeps one node where the composed graph would hold five (matmul, scale, add, softmax, matmul) and
lets backward reuse P directly:

    dV = P̃ᵀ dO,    dP̃ = dO Vᵀ,    dP = dP̃ ⊙ keep / (1 - p),
    dS = P ⊙ (dP - rowsum(dP ⊙ P)),    dQ = scale · dS K,    dK = scale · dSᵀ Q,    dmask = dS.

The probabilities P are kept on the node for backward and handed to callers that ask for them
(``return_weights``), which is how attention maps are read out for interpretability.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from nerve.autograd.function import Function
from nerve.random import Generator, resolve_generator
from nerve.tensor import Tensor, _wrap


def _safe_softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in place; rows that are entirely -inf become zeros instead of NaN."""
    row_max = scores.max(axis=-1, keepdims=True)
    # A fully masked row has max -inf; shifting it by 0 leaves exp(-inf) = 0 and a zero sum.
    np.copyto(row_max, 0, where=~np.isfinite(row_max))
    np.subtract(scores, row_max, out=scores)
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    np.copyto(total, 1, where=total == 0)
    np.divide(scores, total, out=scores)
    return scores


@functools.cache
def _causal_mask(length: int, source: int, dtype: np.dtype) -> np.ndarray:
    """(L, S) additive mask, -inf where key j > query i (top-left aligned, as PyTorch's ``is_causal``)."""
    mask = np.triu(np.full((length, source), -np.inf, dtype=dtype), k=1)
    mask.flags.writeable = False  # shared by every call
    return mask


def _reduce_to(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast gradient back to ``shape``."""
    lead = grad.ndim - len(shape)
    if lead:
        grad = grad.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


class ScaledDotProductAttention(Function):
    """Inputs: q (..., L, E), k (..., S, E), v (..., S, Ev) and optionally an additive float mask that
    broadcasts to (..., L, S). ``keep`` is the dropout keep-mask already scaled by 1/(1-p), or None."""

    def forward(self, q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None, *,
                scale: float, causal: bool, keep: np.ndarray | None, sink: list | None = None) -> np.ndarray:
        scores = np.matmul(q, np.swapaxes(k, -1, -2))
        scores *= scores.dtype.type(scale)
        if mask is not None:
            scores += mask
        if causal:
            scores += _causal_mask(*scores.shape[-2:], scores.dtype)
        probs = _safe_softmax(scores)
        dropped = probs if keep is None else probs * keep
        self.saved = (q, k, v, probs, keep)
        self.scale = scale
        self.mask_shape = None if mask is None else mask.shape
        if sink is not None:  # the caller asked for the attention map
            sink.append(probs)
        return np.matmul(dropped, v)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        q, k, v, probs, keep = self.saved
        need_q, need_k, need_v = self.needs_input_grad[:3]
        dropped = probs if keep is None else probs * keep
        grad_v = _reduce_to(np.matmul(np.swapaxes(dropped, -1, -2), g), v.shape) if need_v else None
        grad_probs = np.matmul(g, np.swapaxes(v, -1, -2))
        if keep is not None:
            grad_probs *= keep
        # softmax VJP: P ⊙ (dP - Σ_s dP·P)
        grad_scores = grad_probs
        grad_scores -= (grad_probs * probs).sum(axis=-1, keepdims=True)
        grad_scores *= probs
        grad_mask = None
        if self.mask_shape is not None and self.needs_input_grad[3]:
            grad_mask = _reduce_to(grad_scores.copy(), self.mask_shape)
        grad_scores *= grad_scores.dtype.type(self.scale)
        grad_q = _reduce_to(np.matmul(grad_scores, k), q.shape) if need_q else None
        grad_k = _reduce_to(np.matmul(np.swapaxes(grad_scores, -1, -2), q), k.shape) if need_k else None
        grads = (grad_q, grad_k, grad_v)
        return grads if self.mask_shape is None else (*grads, grad_mask)


def _check_inputs(query: Tensor, key: Tensor, value: Tensor) -> None:
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise ValueError(f"scaled_dot_product_attention: {name} must be at least 2-D (..., length, features), "
                             f"got shape {tuple(t.shape)}")
        if t.data.dtype.kind != "f" or t.data.dtype != query.data.dtype:
            raise TypeError(f"scaled_dot_product_attention: query, key and value must share one floating dtype, "
                            f"got {query.data.dtype}, {key.data.dtype} and {value.data.dtype}")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"scaled_dot_product_attention: query and key must have the same feature size, got "
                         f"query {tuple(query.shape)} and key {tuple(key.shape)}")
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: key and value must have the same length, got key "
                         f"{tuple(key.shape)} and value {tuple(value.shape)}")
    try:
        np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ValueError(f"scaled_dot_product_attention: batch dims of query {tuple(query.shape)}, key "
                         f"{tuple(key.shape)} and value {tuple(value.shape)} do not broadcast") from None


def additive_mask(mask: Tensor | np.ndarray, dtype: np.dtype, *, allowed_is_true: bool) -> Tensor:
    """Turn a boolean mask into an additive one (0 where attention is allowed, -inf where not); float masks
    pass through unchanged. ``allowed_is_true`` picks the convention: True means "attend" for
    ``scaled_dot_product_attention`` and "ignore" for ``MultiheadAttention``, as in PyTorch."""
    data = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if data.dtype == np.bool_:
        blocked = ~data if allowed_is_true else data
        return _wrap(np.where(blocked, dtype.type(-np.inf), dtype.type(0)))
    if data.dtype.kind != "f":
        raise TypeError(f"attention mask must be boolean or floating, got dtype {data.dtype}")
    if data.dtype != dtype:
        raise TypeError(f"attention mask dtype {data.dtype} does not match the query dtype {dtype}")
    return mask if isinstance(mask, Tensor) else _wrap(data)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | np.ndarray | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    *,
    generator: Generator | None = None,
    return_weights: bool = False,
) -> Tensor | tuple[Tensor, np.ndarray]:
    """softmax(Q Kᵀ · scale + mask) V, with PyTorch's semantics.

    Shape:
        query: (..., L, E);  key: (..., S, E);  value: (..., S, Ev);  out: (..., L, Ev).
        attn_mask: broadcastable to (..., L, S); boolean (True = take part in attention) or float (added to
        the scores, differentiable).

    ``is_causal`` masks key j > query i (top-left aligned) and excludes ``attn_mask``. ``scale`` defaults to
    1/sqrt(E). Dropout is applied to the attention probabilities when ``dropout_p > 0`` (pass
    ``dropout_p=0`` in evaluation, as in PyTorch). With ``return_weights=True`` the attention probabilities
    (..., L, S), before dropout, come back as a NumPy array beside the output.
    """
    _check_inputs(query, key, value)
    if not 0 <= dropout_p <= 1:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1], got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both")
    length, source = query.shape[-2], key.shape[-2]
    batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    inputs = [query, key, value]
    dtype = query.data.dtype
    if attn_mask is not None:
        mask = additive_mask(attn_mask, dtype, allowed_is_true=True)
        try:
            np.broadcast_shapes(mask.shape, (*batch, length, source))
        except ValueError:
            raise ValueError(f"scaled_dot_product_attention: attn_mask of shape {tuple(mask.shape)} does not "
                             f"broadcast to the scores' shape {(*batch, length, source)} (..., L, S)") from None
        inputs.append(mask)
    keep = None
    if dropout_p > 0:
        keep = resolve_generator(generator).random((*batch, length, source), dtype=np.float32) >= np.float32(dropout_p)
        keep = keep * dtype.type(1.0 / (1.0 - dropout_p)) if dropout_p < 1 else keep.astype(dtype)
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    sink: list[np.ndarray] | None = [] if return_weights else None
    out = ScaledDotProductAttention.apply(*inputs, scale=float(scale), causal=bool(is_causal), keep=keep, sink=sink)
    return (out, sink[0]) if sink is not None else out

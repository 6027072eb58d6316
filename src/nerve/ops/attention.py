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
from nerve.autograd.higher_order import backward_by_composite
from nerve.ops.activation import Softmax
from nerve.ops.elementwise import Where
from nerve.ops.linalg import MatMul
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
def causal_mask(length: int, source: int, dtype: np.dtype) -> np.ndarray:
    """(L, S) additive mask, -inf where key j > query i (top-left aligned, as PyTorch's ``is_causal``)."""
    mask = np.triu(np.full((length, source), -np.inf, dtype=dtype), k=1)
    mask.flags.writeable = False  # shared by every call
    return mask


def _read_only(probs: np.ndarray) -> np.ndarray:
    """The attention map handed to callers: a read-only view, because backward reuses the same array and an
    in-place edit of the map would silently change the gradients."""
    view = probs.view()
    view.flags.writeable = False
    return view


def _reduce_to(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast gradient back to ``shape``."""
    lead = grad.ndim - len(shape)
    if lead:
        grad = grad.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


def _attend(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None, scale: float, causal: bool,
            keep: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The forward math shared by both primitives: (out (..., L, Ev), probs (..., L, S))."""
    scores = np.matmul(q, np.swapaxes(k, -1, -2))
    scores *= scores.dtype.type(scale)
    if mask is not None:
        scores += mask
    if causal:
        scores += causal_mask(*scores.shape[-2:], scores.dtype)
    probs = _safe_softmax(scores)
    return np.matmul(probs if keep is None else probs * keep, v), probs


def _attend_backward(g: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray, probs: np.ndarray,
                     keep: np.ndarray | None, scale: float, needs: tuple[bool, bool, bool, bool]
                     ) -> tuple[np.ndarray | None, ...]:
    """dq, dk, dv (unreduced over broadcast batch dims) and dscores (the mask's gradient), each only if needed."""
    need_q, need_k, need_v, need_mask = needs
    dropped = probs if keep is None else probs * keep
    grad_v = np.matmul(np.swapaxes(dropped, -1, -2), g) if need_v else None
    grad_probs = np.matmul(g, np.swapaxes(v, -1, -2))
    if keep is not None:
        grad_probs *= keep
    # softmax VJP: P ⊙ (dP - Σ_s dP·P)
    grad_scores = grad_probs
    grad_scores -= (grad_probs * probs).sum(axis=-1, keepdims=True)
    grad_scores *= probs
    grad_mask = grad_scores.copy() if need_mask else None
    grad_scores *= grad_scores.dtype.type(scale)
    grad_q = np.matmul(grad_scores, k) if need_q else None
    grad_k = np.matmul(np.swapaxes(grad_scores, -1, -2), q) if need_k else None
    return grad_q, grad_k, grad_v, grad_mask


def attention_probs(q: Tensor, k: Tensor, mask: Tensor | None, scale: float, causal: bool) -> Tensor:
    """The attention probabilities ``softmax(scale · Q Kᵀ + mask)`` (..., L, S) as differentiable ops: what
    :func:`_attend` computes on arrays, for ``backward_graph`` and for attention weights that carry gradients.
    Rows whose keys are all masked are zeros."""
    scores = MatMul.apply(q, k.transpose(-1, -2)) * scale
    if mask is not None:
        scores = scores + mask
    if causal:
        scores = scores + _wrap(causal_mask(*scores.shape[-2:], scores.data.dtype))
    dead = ~np.isfinite(scores.data.max(axis=-1, keepdims=True))  # every key masked
    if dead.any():
        scores = Where.apply(_wrap(np.zeros((), scores.data.dtype)), scores, cond=dead)
    probs = Softmax.apply(scores, axis=-1)
    if dead.any():
        probs = probs * _wrap((~dead).astype(scores.data.dtype))
    return probs


def _attend_graph(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, scale: float, causal: bool,
                  keep: np.ndarray | None) -> Tensor:
    """:func:`_attend`'s output as differentiable ops (for ``backward_graph``)."""
    probs = attention_probs(q, k, mask, scale, causal)
    if keep is not None:
        probs = probs * _wrap(keep)
    return MatMul.apply(probs, v)


def _remember(node: Function, saved: tuple, scale: float, mask: np.ndarray | None, sink: list | None) -> None:
    """What both attention primitives keep for backward, and the map handed to a caller who asked for it."""
    node.saved = saved
    node.scale = scale
    node.mask_shape = None if mask is None else mask.shape
    if sink is not None:
        sink.append(_read_only(saved[3]))


class ScaledDotProductAttention(Function):
    """Inputs: q (..., L, E), k (..., S, E), v (..., S, Ev) and optionally an additive float mask that
    broadcasts to (..., L, S). ``keep`` is the dropout keep-mask already scaled by 1/(1-p), or None."""

    def forward(self, q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None, *,
                scale: float, causal: bool, keep: np.ndarray | None, sink: list | None = None) -> np.ndarray:
        out, probs = _attend(q, k, v, mask, scale, causal, keep)
        _remember(self, (q, k, v, probs, keep), scale, mask, sink)
        self.causal = causal
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        q, k, v, probs, keep = self.saved
        has_mask = self.mask_shape is not None
        needs = (*self.needs_input_grad[:3], has_mask and self.needs_input_grad[3])
        grads = _attend_backward(g, q, k, v, probs, keep, self.scale, needs)
        shapes = (q.shape, k.shape, v.shape, self.mask_shape)
        reduced = tuple(None if d is None else _reduce_to(d, shape) for d, shape in zip(grads, shapes))
        return reduced if has_mask else reduced[:3]

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        keep = self.saved[4]
        return backward_by_composite(
            self, g, lambda q, k, v, mask=None: _attend_graph(q, k, v, mask, self.scale, self.causal, keep))


class PackedSelfAttention(Function):
    """Multi-head self-attention on packed projections, as one node.

    Input qkv (N, L, 3E) is [Q | K | V] as the in-projection GEMM writes it, and the output (N, L, E) has the
    heads merged back, ready for the out-projection. Splitting and merging heads here, by views and one copy,
    replaces the ~10 nodes of chunk/reshape/transpose (whose backward would each allocate a full (N, L, 3E)
    gradient) with a single (N, L, 3E) gradient written in place.
    """

    def forward(self, qkv: np.ndarray, mask: np.ndarray | None = None, *, heads: int, scale: float,
                causal: bool, keep: np.ndarray | None, sink: list | None = None) -> np.ndarray:
        batch, length, width = qkv.shape
        dim = width // (3 * heads)
        # (N, L, 3, H, D) → three (N, H, L, D) views
        q, k, v = np.moveaxis(qkv.reshape(batch, length, 3, heads, dim), (2, 3), (0, 2))
        out, probs = _attend(q, k, v, mask, scale, causal, keep)
        _remember(self, (q, k, v, probs, keep), scale, mask, sink)
        self.causal, self.heads = causal, heads
        return np.ascontiguousarray(out.transpose(0, 2, 1, 3)).reshape(batch, length, heads * dim)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        q, k, v, probs, keep = self.saved
        batch, heads, length, dim = q.shape
        has_mask = self.mask_shape is not None
        needs = (True, True, True, has_mask and self.needs_input_grad[1])
        per_head = g.reshape(batch, length, heads, dim).transpose(0, 2, 1, 3)
        grad_q, grad_k, grad_v, grad_mask = _attend_backward(per_head, q, k, v, probs, keep, self.scale, needs)
        grad = np.empty((batch, length, 3, heads, dim), dtype=g.dtype)
        for i, part in enumerate((grad_q, grad_k, grad_v)):
            grad[:, :, i] = part.transpose(0, 2, 1, 3)
        grad = grad.reshape(batch, length, 3 * heads * dim)
        if not has_mask:
            return (grad,)
        return grad, None if grad_mask is None else _reduce_to(grad_mask, self.mask_shape)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        keep = self.saved[4]

        def composite(qkv: Tensor, mask: Tensor | None = None) -> Tensor:
            batch, length, width = qkv.shape
            dim = width // (3 * self.heads)
            parts = qkv.reshape(batch, length, 3, self.heads, dim).permute(2, 0, 3, 1, 4)  # (3, N, H, L, D)
            out = _attend_graph(parts[0], parts[1], parts[2], mask, self.scale, self.causal, keep)
            return out.permute(0, 2, 1, 3).reshape(batch, length, width // 3)

        return backward_by_composite(self, g, composite)


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


def check_mask_kind(mask: Tensor | np.ndarray | None, where: str, name: str) -> None:
    """Refuse a mask that is neither boolean nor floating (e.g. int64 0/1), naming the layer and the argument."""
    if mask is None:
        return
    dtype = (mask.data if isinstance(mask, Tensor) else np.asarray(mask)).dtype
    if dtype != np.bool_ and dtype.kind != "f":
        raise TypeError(f"{where}: {name} must be boolean or floating, got dtype {dtype}")


def additive_mask(mask: Tensor | np.ndarray, dtype: np.dtype, *, allowed_is_true: bool, where: str,
                  name: str) -> Tensor:
    """Turn a boolean mask into an additive one (0 where attention is allowed, -inf where not); float masks
    pass through unchanged. ``allowed_is_true`` picks the convention: True means "attend" for
    ``scaled_dot_product_attention`` and "ignore" for ``MultiheadAttention``, as in PyTorch. ``where`` and
    ``name`` (the layer or function, and the argument) go into error messages."""
    data = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if data.dtype == np.bool_:
        blocked = ~data if allowed_is_true else data
        return _wrap(np.where(blocked, dtype.type(-np.inf), dtype.type(0)))
    check_mask_kind(data, where, name)
    if data.dtype != dtype:
        raise TypeError(f"{where}: {name} of dtype {data.dtype} does not match the query dtype {dtype}")
    return mask if isinstance(mask, Tensor) else _wrap(data)


def _mask_and_dropout(op: str, attn_mask: Tensor | np.ndarray | None, dtype: np.dtype,
                      scores_shape: tuple[int, ...], layout: str, dropout_p: float,
                      generator: Generator | None) -> tuple[Tensor | None, np.ndarray | None]:
    """The additive mask, checked to broadcast up to (not enlarge) the scores, and the scaled dropout keep-mask."""
    mask = None
    if attn_mask is not None:
        mask = additive_mask(attn_mask, dtype, allowed_is_true=True, where=op, name="attn_mask")
        try:
            fits = np.broadcast_shapes(mask.shape, scores_shape) == scores_shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{op}: attn_mask of shape {tuple(mask.shape)} does not broadcast to the scores' "
                             f"shape {scores_shape} {layout}")
    keep = None
    if dropout_p > 0:
        keep = resolve_generator(generator).random(scores_shape, dtype=np.float32) >= np.float32(dropout_p)
        keep = keep * dtype.type(1.0 / (1.0 - dropout_p)) if dropout_p < 1 else keep.astype(dtype)
    return mask, keep


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
    mask, keep = _mask_and_dropout("scaled_dot_product_attention", attn_mask, query.data.dtype,
                                   (*batch, length, source), "(..., L, S)", dropout_p, generator)
    inputs = [query, key, value] if mask is None else [query, key, value, mask]
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    sink: list[np.ndarray] | None = [] if return_weights else None
    out = ScaledDotProductAttention.apply(*inputs, scale=float(scale), causal=bool(is_causal), keep=keep, sink=sink)
    return (out, sink[0]) if sink is not None else out


def packed_self_attention(qkv: Tensor, num_heads: int, attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                          is_causal: bool = False, *, generator: Generator | None = None,
                          return_weights: bool = False) -> Tensor | tuple[Tensor, np.ndarray]:
    """Multi-head self-attention on the packed in-projection ``qkv`` = [Q | K | V], heads merged in the output.

    Shape:
        qkv: (N, L, 3E) with E divisible by ``num_heads``; attn_mask: additive float or boolean (True = may
        attend), broadcastable to (N, num_heads, L, L); out: (N, L, E). The same as splitting qkv into
        (N, num_heads, L, E/num_heads) heads, calling :func:`scaled_dot_product_attention` and merging.
    """
    if qkv.ndim != 3 or qkv.shape[-1] % (3 * num_heads):
        raise ValueError(f"packed_self_attention: expected qkv of shape (N, L, 3E) with E divisible by "
                         f"num_heads={num_heads}, got {tuple(qkv.shape)}")
    if is_causal and attn_mask is not None:
        raise ValueError("packed_self_attention: pass either attn_mask or is_causal=True, not both")
    batch, length = qkv.shape[0], qkv.shape[1]
    mask, keep = _mask_and_dropout("packed_self_attention", attn_mask, qkv.data.dtype,
                                   (batch, num_heads, length, length), "(N, heads, L, L)", dropout_p, generator)
    inputs = [qkv] if mask is None else [qkv, mask]
    scale = 1.0 / math.sqrt(qkv.shape[-1] // (3 * num_heads))
    sink: list[np.ndarray] | None = [] if return_weights else None
    out = PackedSelfAttention.apply(*inputs, heads=num_heads, scale=scale, causal=bool(is_causal), keep=keep,
                                    sink=sink)
    return (out, sink[0]) if sink is not None else out

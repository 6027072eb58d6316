"""``MultiheadAttention``: h attention heads over learned projections of query, key and value.

    head_i = softmax(Q W_qᵢ (K W_kᵢ)ᵀ / sqrt(d) + mask) V W_vᵢ,        out = concat(head_1..h) W_o

Parameters, masks and defaults follow PyTorch's ``nn.MultiheadAttention`` so its state dicts load as is.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nerve._dtypes import as_dtype, get_default_dtype
from nerve.nn import functional as F
from nerve.nn import init
from nerve.nn.modules.linear import Linear
from nerve.nn.modules.module import Module
from nerve.nn.parameter import Parameter
from nerve.ops.attention import (
    additive_mask,
    attention_probs,
    causal_mask,
    packed_self_attention,
    scaled_dot_product_attention,
)
from nerve.ops.shape import cat, reshape
from nerve.tensor import Tensor, _wrap


class MultiheadAttention(Module):
    """Multi-head attention with PyTorch's parameter layout.

    Args:
        embed_dim: model width E (query features and output features).
        num_heads: number of heads h; E must be divisible by h, each head has E/h features.
        dropout: dropout on the attention probabilities while training.
        bias: learn biases for the input and output projections.
        add_bias_kv: learn one extra key and value appended to every key/value sequence.
        add_zero_attn: append an all-zero key and value to every sequence.
        kdim, vdim: key and value feature sizes (default E); when either differs from E the projections
            are the separate ``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` instead of ``in_proj_weight``.
        batch_first: inputs are (N, L, E) instead of (L, N, E).

    Shape:
        query (L, N, E) or (N, L, E) with ``batch_first``, or unbatched (L, E); key (S, N, kdim);
        value (S, N, vdim). key_padding_mask (N, S) or (S,): True (or -inf) marks keys to ignore.
        attn_mask (L, S) or (N·h, L, S): True marks pairs that may *not* attend; a float mask is added to
        the scores. Output (L, N, E) and, with ``need_weights``, the attention weights (N, L, S) averaged
        over heads or (N, h, L, S) per head.

    Rows whose keys are all masked give zero output (PyTorch's need_weights path gives NaN there). The
    returned weights are the probabilities before dropout; when the inputs or weights need gradients they
    are a differentiable tensor (recomputed from Q and K as plain ops, so asking for them costs a second
    score computation), as in PyTorch.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, dtype: Any = None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be positive, got {embed_dim} "
                             f"and {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        if not 0 <= dropout <= 1:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first, self.add_zero_attn = dropout, batch_first, add_zero_attn
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=dt))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), dtype=dt))
            self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), dtype=dt))
            self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), dtype=dt))
        if bias:
            self.in_proj_bias = Parameter(np.empty(3 * embed_dim, dtype=dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dt)
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, embed_dim), dtype=dt))
            self.bias_v = Parameter(np.empty((1, 1, embed_dim), dtype=dt))
        else:
            self.bias_k = self.bias_v = None
        #: set by :func:`nerve.analysis.attention_maps`: keep the last per-head weights in ``last_attention``
        self.capture_attention = False
        self.last_attention: np.ndarray | None = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # PyTorch's scheme: Xavier-uniform projections, zero biases, normal(0, 1)·(Xavier) for bias_k/v.
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    @property
    def _name(self) -> str:
        return f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        batched = self._check_shapes(query, key, value)
        packed = self._packable(query, key, value)
        if not batched:  # (L, E) → (1, L, E)
            query, key, value = (t.unsqueeze(0) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = _unsqueeze_mask(key_padding_mask)
        elif not self.batch_first:  # (L, N, E) → (N, L, E)
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        batch, length, source = query.shape[0], query.shape[1], key.shape[1]
        want_weights = need_weights or self.capture_attention
        dropout = self.dropout if self.training else 0.0
        if is_causal and attn_mask is None and key_padding_mask is not None:
            # The causal structure has to be merged with the padding mask explicitly (alone it stays a flag).
            attn_mask = _wrap(causal_mask(length, source, query.data.dtype))
        if packed:
            # Self-attention: one in-projection GEMM and one node for split heads → attend → merge heads.
            mask = self._merge_masks(attn_mask, key_padding_mask, batch, length, source, 0, query.data.dtype)
            qkv = F.linear(query, self.in_proj_weight, self.in_proj_bias)
            result = packed_self_attention(qkv, self.num_heads, attn_mask=mask, dropout_p=dropout,
                                           is_causal=is_causal and mask is None, return_weights=want_weights)
            out, probs = result if want_weights else (result, None)
            if need_weights and qkv.requires_grad:  # weights with gradients: Q and K split off qkv
                parts = reshape(qkv, batch, length, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
                probs = attention_probs(parts[0], parts[1], mask, 1.0 / math.sqrt(self.head_dim),
                                        is_causal and mask is None)
            return self._finish(self.out_proj(out), probs, batched, need_weights, average_attn_weights)
        q, k, v = self._project(query, key, value)
        heads, dim = self.num_heads, self.head_dim
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(batch, 1, self.embed_dim)], dim=1)
            v = cat([v, self.bias_v.expand(batch, 1, self.embed_dim)], dim=1)
        if self.add_zero_attn:
            zeros = _wrap(np.zeros((batch, 1, self.embed_dim), dtype=q.data.dtype))
            k, v = cat([k, zeros], dim=1), cat([v, zeros], dim=1)
        extra = k.shape[1] - source
        # (N, L, E) → (N, h, L, d)
        q = reshape(q, batch, length, heads, dim).transpose(1, 2)
        k = reshape(k, batch, k.shape[1], heads, dim).transpose(1, 2)
        v = reshape(v, batch, v.shape[1], heads, dim).transpose(1, 2)
        mask = self._merge_masks(attn_mask, key_padding_mask, batch, length, source, extra, q.data.dtype)
        result = scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout,
                                              is_causal=is_causal and mask is None, return_weights=want_weights)
        out, probs = result if want_weights else (result, None)
        if need_weights and (q.requires_grad or k.requires_grad):
            probs = attention_probs(q, k, mask, 1.0 / math.sqrt(dim), is_causal and mask is None)
        out = self.out_proj(reshape(out.transpose(1, 2), batch, length, self.embed_dim))
        return self._finish(out, probs, batched, need_weights, average_attn_weights)

    def _packable(self, query: Tensor, key: Tensor, value: Tensor) -> bool:
        return (query is key and key is value and self._qkv_same_embed_dim and self.bias_k is None
                and not self.add_zero_attn)

    def _finish(self, out: Tensor, probs: np.ndarray | Tensor | None, batched: bool, need_weights: bool,
                average_attn_weights: bool) -> tuple[Tensor, Tensor | None]:
        """Back to the caller's layout; the weights (a tensor with gradients when the inputs need them, else
        the fused op's probabilities) averaged over heads or not."""
        if self.capture_attention:
            self.last_attention = probs.data if isinstance(probs, Tensor) else probs
        if not batched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        weights = probs if isinstance(probs, Tensor) else _wrap(probs)
        if average_attn_weights:
            weights = weights.mean(1)
        return out, weights if batched else weights[0]

    def _check_shapes(self, query: Tensor, key: Tensor, value: Tensor) -> bool:
        for name, t, features in (("query", query, self.embed_dim), ("key", key, self.kdim),
                                  ("value", value, self.vdim)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{self._name}: expected a Tensor {name}, got {type(t).__name__}")
            if t.ndim not in (2, 3) or t.shape[-1] != features:
                raise ValueError(f"{self._name}: expected {name} of shape (L, N, {features}), (N, L, {features}) "
                                 f"with batch_first, or unbatched (L, {features}); got {tuple(t.shape)}")
        if not query.ndim == key.ndim == value.ndim:
            raise ValueError(f"{self._name}: query, key and value must all be batched or all unbatched, got "
                             f"shapes {tuple(query.shape)}, {tuple(key.shape)} and {tuple(value.shape)}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"{self._name}: key and value must have the same batch and length, got "
                             f"{tuple(key.shape)} and {tuple(value.shape)}")
        batch_axis = 0 if self.batch_first else 1
        if query.ndim == 3 and query.shape[batch_axis] != key.shape[batch_axis]:
            raise ValueError(f"{self._name}: query and key have different batch sizes, got {tuple(query.shape)} "
                             f"and {tuple(key.shape)} (batch_first={self.batch_first})")
        dtype = (self.in_proj_weight if self._qkv_same_embed_dim else self.q_proj_weight).data.dtype
        if query.data.dtype != dtype:
            raise TypeError(f"{self._name}: expected a {dtype} query to match the weights, got {query.data.dtype}")
        return query.ndim == 3

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The three input projections; self-attention does them as one GEMM against in_proj_weight."""
        bias = self.in_proj_bias
        if self._qkv_same_embed_dim and query is key and key is value:
            return F.linear(query, self.in_proj_weight, bias).chunk(3, dim=-1)
        if self._qkv_same_embed_dim:
            weights = self.in_proj_weight.chunk(3, dim=0)
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        biases = (None, None, None) if bias is None else bias.chunk(3, dim=0)
        return tuple(F.linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))

    def _merge_masks(self, attn_mask: Tensor | None, key_padding_mask: Tensor | None, batch: int, length: int,
                     source: int, extra: int, dtype: np.dtype) -> Tensor | None:
        """One additive mask broadcastable to (N, h, L, S'), where S' counts the bias/zero keys too."""
        mask = None
        if attn_mask is not None:
            shape = tuple(attn_mask.shape)
            if shape == (length, source):
                mask = additive_mask(attn_mask, dtype, allowed_is_true=False, where=self._name, name="attn_mask")
            elif shape == (batch * self.num_heads, length, source):
                mask = reshape(additive_mask(attn_mask, dtype, allowed_is_true=False, where=self._name,
                                             name="attn_mask"), batch, self.num_heads, length, source)
            else:
                raise ValueError(f"{self._name}: attn_mask must have shape (L, S) = {(length, source)} or "
                                 f"(N·num_heads, L, S) = {(batch * self.num_heads, length, source)}, got {shape}")
            if extra:
                mask = F.pad(mask, (0, extra))
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (batch, source):
                raise ValueError(f"{self._name}: key_padding_mask must have shape (N, S) = {(batch, source)}, "
                                 f"got {tuple(key_padding_mask.shape)}")
            padding = additive_mask(key_padding_mask, dtype, allowed_is_true=False, where=self._name,
                                    name="key_padding_mask")
            if extra:
                padding = F.pad(padding, (0, extra))
            padding = reshape(padding, batch, 1, 1, source + extra)
            mask = padding if mask is None else mask + padding
        return mask

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")


def _unsqueeze_mask(mask: Tensor | np.ndarray) -> Tensor | np.ndarray:
    return mask.unsqueeze(0) if isinstance(mask, Tensor) else np.asarray(mask)[None]

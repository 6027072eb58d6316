"""Transformer layers with PyTorch's names: encoder and decoder layers, their stacks, and ``Transformer``.

An encoder layer is self-attention then a position-wise feed-forward network, each wrapped in a residual
connection and LayerNorm. Post-norm (the original paper, PyTorch's default) normalises after the residual
sum, ``x = norm(x + f(x))``; pre-norm (``norm_first=True``, GPT-2, ViT) before, ``x = x + f(norm(x))``,
which keeps an identity path through the whole stack and trains deep stacks without warm-up.
A decoder layer adds cross-attention over the encoder's output (``memory``) between the two.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from nerve.nn import functional as F
from nerve.nn import init
from nerve.nn.modules.attention import MultiheadAttention
from nerve.nn.modules.container import ModuleList
from nerve.nn.modules.dropout import Dropout
from nerve.nn.modules.linear import Linear
from nerve.nn.modules.module import Module
from nerve.nn.modules.norm import LayerNorm
from nerve.ops.attention import check_mask_kind
from nerve.tensor import Tensor, _wrap

Activation = str | Callable[[Tensor], Tensor]


def _activation(activation: Activation, layer: str) -> Callable[[Tensor], Tensor]:
    if callable(activation):
        return activation
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise ValueError(f"{layer}: activation must be 'relu', 'gelu' or a callable, got {activation!r}")


def _check_masks(where: str, **masks: Tensor | None) -> None:
    """Name the caller's argument for a mask of the wrong kind (as torch does), where attention would only know
    it as its own attn_mask or key_padding_mask."""
    for name, mask in masks.items():
        check_mask_kind(mask, where, name)


def generate_square_subsequent_mask(size: int, dtype: Any = np.float32) -> Tensor:
    """(size, size) float mask with -inf above the diagonal: position i may attend to positions ≤ i."""
    if size < 1:
        raise ValueError(f"generate_square_subsequent_mask: size must be positive, got {size}")
    return _wrap(np.triu(np.full((size, size), -np.inf, dtype=np.dtype(dtype)), k=1))


class _TransformerLayer(Module):
    """What encoder and decoder layers share: PyTorch's submodules, in PyTorch's order (so state dicts list
    their keys the same way), self-attention, and the feed-forward network."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float, activation: Activation,
                 layer_norm_eps: float, batch_first: bool, norm_first: bool, bias: bool, dtype: Any,
                 cross_attention: bool) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        if cross_attention:
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                     batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        norms = 3 if cross_attention else 2
        for i in range(1, norms + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        for i in range(1, norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self._ffn_dropout = f"dropout{norms}"  # the feed-forward block's output dropout is the last one
        self.activation = _activation(activation, type(self).__name__)

    def _self_attention(self, x: Tensor, mask: Tensor | None, padding: Tensor | None, is_causal: bool) -> Tensor:
        out, _ = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=padding, need_weights=False,
                                is_causal=is_causal)
        return self.dropout1(out)

    def _feed_forward(self, x: Tensor) -> Tensor:
        out = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return getattr(self, self._ffn_dropout)(out)


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention and a feed-forward network (Linear → activation → dropout → Linear), each residual.

    Args:
        d_model: model width; nhead: attention heads; dim_feedforward: hidden width of the FFN.
        dropout: dropout after attention, inside and after the FFN; activation: 'relu', 'gelu' or callable.
        layer_norm_eps: LayerNorm epsilon; batch_first: (N, L, E) inputs; norm_first: pre-norm.

    Shape:
        src (L, N, E), (N, L, E) with ``batch_first``, or (L, E); src_mask (L, S) or (N·nhead, L, S);
        src_key_padding_mask (N, S). Output has the shape of src.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Activation = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, dtype: Any = None) -> None:
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                         norm_first, bias, dtype, cross_attention=False)

    def forward(self, src: Tensor, src_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool = False) -> Tensor:
        _check_masks(type(self).__name__, src_mask=src_mask, src_key_padding_mask=src_key_padding_mask)
        x = src
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._self_attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))


class TransformerDecoderLayer(_TransformerLayer):
    """Causal self-attention, cross-attention over ``memory``, then a feed-forward network, each residual.

    Shape:
        tgt (T, N, E) (or batch_first / unbatched); memory (S, N, E); tgt_mask (T, T); memory_mask (T, S);
        tgt_key_padding_mask (N, T); memory_key_padding_mask (N, S). Output has the shape of tgt.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Activation = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, dtype: Any = None) -> None:
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                         norm_first, bias, dtype, cross_attention=True)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        _check_masks(type(self).__name__, tgt_mask=tgt_mask, memory_mask=memory_mask,
                     tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask)
        x = tgt
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._cross_attention(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                                          memory_is_causal)
            return x + self._feed_forward(self.norm3(x))
        x = self.norm1(x + self._self_attention(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._cross_attention(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._feed_forward(x))

    def _cross_attention(self, x: Tensor, memory: Tensor, mask: Tensor | None, padding: Tensor | None,
                         is_causal: bool) -> Tensor:
        out, _ = self.multihead_attn(x, memory, memory, attn_mask=mask, key_padding_mask=padding,
                                     need_weights=False, is_causal=is_causal)
        return self.dropout2(out)


class TransformerEncoder(Module):
    """``num_layers`` independent copies of ``encoder_layer``, then an optional final ``norm``."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"TransformerEncoder: num_layers must be positive, got {num_layers}")
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Tensor, mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        _check_masks("TransformerEncoder", mask=mask, src_key_padding_mask=src_key_padding_mask)
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """``num_layers`` independent copies of ``decoder_layer``, then an optional final ``norm``."""

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"TransformerDecoder: num_layers must be positive, got {num_layers}")
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need", with PyTorch's names and defaults.

    Shape:
        src (S, N, E), tgt (T, N, E) (batch_first: (N, S, E), (N, T, E)); output (T, N, E).
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Activation = "relu", custom_encoder: Module | None = None,
                 custom_decoder: Module | None = None, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        options = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                       layer_norm_eps=layer_norm_eps, batch_first=batch_first, norm_first=norm_first, bias=bias,
                       dtype=dtype)
        self.encoder = custom_encoder or TransformerEncoder(
            TransformerEncoderLayer(d_model, nhead, **options), num_encoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        self.decoder = custom_decoder or TransformerDecoder(
            TransformerDecoderLayer(d_model, nhead, **options), num_decoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for parameter in self.parameters():
            if parameter.ndim > 1:
                init.xavier_uniform_(parameter)

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Tensor | None = None, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        _check_masks("Transformer", src_mask=src_mask, tgt_mask=tgt_mask, memory_mask=memory_mask,
                     src_key_padding_mask=src_key_padding_mask, tgt_key_padding_mask=tgt_key_padding_mask,
                     memory_key_padding_mask=memory_key_padding_mask)
        batch_axis = 0 if self.batch_first else 1
        if src.ndim == 3 and tgt.ndim == 3 and src.shape[batch_axis] != tgt.shape[batch_axis]:
            raise ValueError(f"Transformer: src and tgt must have the same batch size, got {tuple(src.shape)} "
                             f"and {tuple(tgt.shape)} (batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(f"Transformer: src and tgt must have d_model={self.d_model} features, got "
                             f"{tuple(src.shape)} and {tuple(tgt.shape)}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(size: int, dtype: Any = np.float32) -> Tensor:
        return generate_square_subsequent_mask(size, dtype)

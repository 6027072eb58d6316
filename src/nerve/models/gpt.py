"""``GPT``: a decoder-only transformer language model (Radford et al., 2018/2019) with sampling.

    h₀ = token_embedding(x) + position_embedding[:L]
    hₗ = block(hₗ₋₁)   for l = 1..n_layer        (pre-norm: h + attn(LN(h)), then h + MLP(LN(h)))
    logits = LN(h) Wᵀ

Each block is a :class:`~nerve.nn.TransformerEncoderLayer` run with a causal mask: a decoder-only model
has no encoder to cross-attend to, so its block is self-attention plus the feed-forward network, and the
mask is what makes position i see only positions ≤ i. Trained on next-token prediction, every position of
a sequence is a training example at once.
"""

from __future__ import annotations

import math

import numpy as np

from nerve import nn
from nerve.autograd.grad_mode import no_grad
from nerve.models.sampling import check_sampling, draw
from nerve.nn import init
from nerve.random import Generator, resolve_generator
from nerve.tensor import Tensor


class GPT(nn.Module):
    """Decoder-only transformer over ``vocab_size`` tokens with a context of ``block_size`` positions.

    Args:
        vocab_size: number of token ids.
        block_size: longest context (the learned position table's length).
        d_model, n_head, n_layer: width, attention heads per block and blocks.
        d_ff: hidden width of each block's MLP (default 4·d_model).
        dropout: on embeddings, attention probabilities and residual branches.
        tie_weights: share the output projection with the token embedding (GPT-2 does).

    Shape:
        input (N, L) int ids with L <= block_size → logits (N, L, vocab_size); position i's logits
        predict token i + 1.

    Initialisation follows GPT-2: N(0, 0.02) weights, zero biases, and the projections that write into
    the residual stream (attention output, second MLP layer) scaled by 1/sqrt(2·n_layer) so the stream's
    variance does not grow with depth.
    """

    def __init__(self, vocab_size: int, block_size: int, d_model: int = 128, n_head: int = 4, n_layer: int = 2,
                 d_ff: int | None = None, dropout: float = 0.1, tie_weights: bool = False) -> None:
        super().__init__()
        if vocab_size < 1 or block_size < 1 or n_layer < 1:
            raise ValueError(f"GPT: vocab_size, block_size and n_layer must be positive, got {vocab_size}, "
                             f"{block_size} and {n_layer}")
        self.vocab_size, self.block_size, self.d_model = vocab_size, block_size, d_model
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.LearnedPositionalEmbedding(block_size, d_model, dropout=dropout)
        self.blocks = nn.ModuleList([
            nn.TransformerEncoderLayer(d_model, n_head, d_ff or 4 * d_model, dropout=dropout, activation="gelu",
                                       batch_first=True, norm_first=True)
            for _ in range(n_layer)
        ])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self._init_weights(n_layer)
        if tie_weights:
            self.head.weight = self.token_embedding.weight

    def _init_weights(self, n_layer: int) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                init.normal_(module.weight, std=0.02)
                if getattr(module, "bias", None) is not None:
                    init.zeros_(module.bias)
            elif isinstance(module, nn.MultiheadAttention):
                init.normal_(module.in_proj_weight, std=0.02)
                init.zeros_(module.in_proj_bias)
        residual_std = 0.02 / math.sqrt(2 * n_layer)
        for block in self.blocks:
            init.normal_(block.self_attn.out_proj.weight, std=residual_std)
            init.normal_(block.linear2.weight, std=residual_std)

    def forward(self, ids: Tensor) -> Tensor:
        if ids.ndim != 2:
            raise ValueError(f"GPT: expected token ids of shape (N, L), got {tuple(ids.shape)}")
        if ids.shape[1] > self.block_size:
            raise ValueError(f"GPT: sequence of length {ids.shape[1]} is longer than the context "
                             f"(block_size={self.block_size})")
        h = self.position_embedding(self.token_embedding(ids))
        for block in self.blocks:
            h = block(h, is_causal=True)
        return self.head(self.norm(h))

    def generate(self, prompt: np.ndarray | list[int], max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None,
                 generator: Generator | None = None) -> np.ndarray:
        """Continue ``prompt`` (ids) by ``max_new_tokens`` ids, each drawn from the model's next-token
        distribution given the last ``block_size`` ids.

        Args:
            prompt: ids of shape (T,), or (B, T) for B prompts continued independently in one batch.
            temperature: divides the logits; < 1 sharpens, > 1 flattens.
            top_k: draw only among the k likeliest ids.
            top_p: then only among the smallest set of likeliest ids whose probability reaches p (nucleus).
            generator: a seeded ``nerve.random.Generator`` for reproducible samples. At each step the rows
                draw in order from it, so a (1, T) prompt gives the ids a (T,) one does.

        Returns:
            the new ids, shape (max_new_tokens,), or (B, max_new_tokens) for a (B, T) prompt.
        """
        check_sampling("GPT.generate", self.vocab_size, temperature, top_k, top_p)
        context = np.asarray(prompt, dtype=np.int64)
        if context.ndim > 2:
            raise ValueError(f"GPT.generate: expected a prompt of shape (T,) or (B, T), got shape {context.shape}")
        batched = context.ndim == 2
        rows = context if batched else context.reshape(1, -1)
        if context.size == 0:
            raise ValueError("GPT.generate: the prompt must contain at least one id")
        if context.min() < 0 or context.max() >= self.vocab_size:
            raise ValueError(f"GPT.generate: prompt ids must be in [0, {self.vocab_size}), got "
                             f"[{context.min()}, {context.max()}]")
        rng = resolve_generator(generator)
        was_training = self.training
        self.eval()
        new = np.empty((rows.shape[0], max_new_tokens), dtype=np.int64)
        try:
            with no_grad():
                for i in range(max_new_tokens):
                    logits = self(Tensor(rows[:, -self.block_size:])).data[:, -1]
                    new[:, i] = [draw(row, temperature, top_k, top_p, rng) for row in logits]
                    rows = np.concatenate([rows, new[:, i:i + 1]], axis=1)
        finally:
            self.train(was_training)
        return new if batched else new[0]

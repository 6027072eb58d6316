"""Drawing the next token from a language model's logits: temperature, top-k and nucleus (top-p) sampling."""

from __future__ import annotations

import numpy as np


def check_sampling(where: str, vocab_size: int, temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise a clear error for sampling options out of range."""
    if temperature <= 0:
        raise ValueError(f"{where}: temperature must be > 0, got {temperature}")
    if top_k is not None and not 1 <= top_k <= vocab_size:
        raise ValueError(f"{where}: top_k must be in [1, {vocab_size}], got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"{where}: top_p must be in (0, 1], got {top_p}")


def draw(logits: np.ndarray, temperature: float, top_k: int | None, top_p: float | None,
         rng: np.random.Generator) -> int:
    """One id from softmax(logits / temperature), restricted to the k likeliest ids and then to the smallest
    set of likeliest ids whose probability reaches ``top_p`` (the likeliest id is always kept)."""
    scaled = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < scaled.size:
        keep = np.argpartition(scaled, -top_k)[-top_k:]  # exactly k ids, even when logits tie
        masked = np.full_like(scaled, -np.inf)
        masked[keep] = scaled[keep]
        scaled = masked
    probs = np.exp(scaled - scaled.max())
    probs /= probs.sum()
    if top_p is not None and top_p < 1:
        order = np.argsort(-probs, kind="stable")
        before = np.cumsum(probs[order]) - probs[order]  # mass of the strictly likelier ids
        dropped = order[before >= top_p]
        probs[dropped] = 0
        probs /= probs.sum()
    return int(rng.choice(probs.size, p=probs))

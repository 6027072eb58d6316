"""Recurrent models: a sequence forecaster and a character-level language model with sampling."""

from __future__ import annotations

from typing import Any

import numpy as np

from nerve import nn
from nerve.autograd.grad_mode import no_grad
from nerve.models.sampling import check_sampling, draw
from nerve.random import Generator, resolve_generator
from nerve.tensor import Tensor

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def _recurrent(cell: str, input_size: int, hidden_size: int, num_layers: int, dropout: float,
               where: str) -> nn.RNNBase:
    if cell not in _CELLS:
        raise ValueError(f"{where}: cell must be one of {sorted(_CELLS)}, got {cell!r}")
    return _CELLS[cell](input_size, hidden_size, num_layers=num_layers, batch_first=True,
                        dropout=dropout if num_layers > 1 else 0.0)


class RNNForecaster(nn.Module):
    """Reads a window of a series and forecasts the next ``horizon`` values at once (direct multi-step).

    With ``horizon=1`` it is the usual sequence-to-one forecaster. With ``residual=True`` (the default) the
    head predicts the change from a baseline read off the window: its last value of the target feature (the
    naive forecast), or with ``season=m`` the value one season before each forecast step (the seasonal-naive
    forecast). An untrained model starts at that baseline and learns corrections to it (trend, cycles).

    Args:
        input_size: features per time step (1 for a univariate series).
        hidden_size, num_layers, dropout: of the recurrent layer.
        horizon: steps forecast from the end of each window.
        cell: ``'lstm'``, ``'gru'`` or ``'rnn'``.
        target_index: which input feature is forecast (for the residual connection).
        season: the seasonal period for a seasonal-naive residual baseline (windows must be at least that long).

    Shape:
        input (B, L, input_size) → output (B, horizon).
    """

    def __init__(self, input_size: int = 1, hidden_size: int = 64, num_layers: int = 1, horizon: int = 1,
                 cell: str = "lstm", dropout: float = 0.0, residual: bool = True, target_index: int = 0,
                 season: int | None = None) -> None:
        super().__init__()
        if horizon < 1:
            raise ValueError(f"RNNForecaster: horizon must be >= 1, got {horizon}")
        if season is not None and season < 1:
            raise ValueError(f"RNNForecaster: season must be >= 1, got {season}")
        if not 0 <= target_index < input_size:
            raise ValueError(f"RNNForecaster: target_index must be in [0, {input_size}), got {target_index}")
        self.horizon, self.residual, self.target_index, self.cell = horizon, residual, target_index, cell
        self.season = season
        self.rnn = _recurrent(cell, input_size, hidden_size, num_layers, dropout, "RNNForecaster")
        self.head = nn.Linear(hidden_size, horizon)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 2:  # (B, L): a univariate window
            x = x.unsqueeze(-1)
        if x.ndim != 3 or x.shape[2] != self.rnn.input_size:
            raise ValueError(f"RNNForecaster: expected input (B, L, {self.rnn.input_size}), got shape "
                             f"{tuple(x.shape)}")
        out, _ = self.rnn(x)
        forecast = self.head(out[:, -1])
        if not self.residual:
            return forecast
        target = x[:, :, self.target_index]  # (B, L)
        if self.season is None:
            return forecast + target[:, -1:]
        if x.shape[1] < self.season:
            raise ValueError(f"RNNForecaster: a seasonal baseline needs windows of at least season={self.season} "
                             f"steps, got {x.shape[1]}")
        steps = x.shape[1] - self.season + np.arange(self.horizon) % self.season
        return forecast + target[:, steps]


class CharRNN(nn.Module):
    """Character-level language model: embedding → LSTM/GRU → linear over the vocabulary.

    ``forward`` takes the state from the previous chunk of text, so long texts train with truncated
    backpropagation through time (the trainer's ``stateful=True`` carries and detaches it).

    Shape:
        input (B, T) int ids → logits (B, T, vocab_size), and the final state.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 64, hidden_size: int = 256, num_layers: int = 2,
                 dropout: float = 0.2, cell: str = "lstm") -> None:
        super().__init__()
        self.vocab_size, self.cell = vocab_size, cell
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = _recurrent(cell, embedding_dim, hidden_size, num_layers, dropout, "CharRNN")
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        out, state = self.rnn(self.embedding(ids), state)
        return self.head(self.dropout(out)), state

    def sample(self, prompt: np.ndarray | list[int], length: int, temperature: float = 1.0, top_k: int | None = None,
               generator: Generator | None = None) -> np.ndarray:
        """Continue ``prompt`` (ids) by ``length`` ids drawn one at a time from the model.

        Args:
            temperature: divides the logits; < 1 sharpens towards the likeliest characters, > 1 flattens.
            top_k: draw only among the k likeliest ids at each step (None: all).
            generator: a seeded ``nerve.random.Generator`` for reproducible samples.
        """
        check_sampling("CharRNN.sample", self.vocab_size, temperature, top_k, None)
        prompt = np.asarray(prompt, dtype=np.int64).reshape(-1)
        if prompt.size == 0:
            raise ValueError("CharRNN.sample: the prompt must contain at least one id")
        rng = resolve_generator(generator)  # the global stream unless a generator is given
        was_training = self.training
        self.eval()
        ids: list[int] = []
        try:
            with no_grad():
                logits, state = self(Tensor(prompt[None, :]))
                last = logits.data[0, -1]
                for _ in range(length):
                    next_id = draw(last, temperature, top_k, None, rng)
                    ids.append(next_id)
                    logits, state = self(Tensor(np.array([[next_id]], dtype=np.int64)), state)
                    last = logits.data[0, -1]
        finally:
            self.train(was_training)
        return np.array(ids, dtype=np.int64)

"""Variable-length sequences for the recurrent layers: padding and PyTorch's packed-sequence API.

nerve's recurrent primitives take a padded time-major batch and a validity mask, so a
:class:`PackedSequence` here keeps the padded batch (T, B, *) and each sequence's length rather than
PyTorch's interleaved storage; ``data`` and ``batch_sizes`` give PyTorch's packed view when asked for.
The recurrent layers treat a packed input exactly like ``lengths=``: padded steps do not change the state,
produce zero outputs and get no gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from nerve.ops.elementwise import where
from nerve.ops.shape import cat, stack, transpose
from nerve.tensor import Tensor


class PackedSequence(NamedTuple):
    """A padded time-major batch ``padded`` (T, B, *) whose sequence b has ``lengths[b]`` valid steps."""

    padded: Tensor
    lengths: np.ndarray

    @property
    def data(self) -> Tensor:
        """PyTorch's packed data (Σ lengths, *): step by step, longest sequences first within each step."""
        t_idx, b_idx = self._packed_positions()
        return self.padded[t_idx, b_idx]

    @property
    def batch_sizes(self) -> np.ndarray:
        """How many sequences are still running at each step (int64, length max(lengths))."""
        steps = int(self.lengths.max())
        return (self.lengths[None, :] > np.arange(steps)[:, None]).sum(axis=1).astype(np.int64)

    @property
    def sorted_indices(self) -> np.ndarray:
        return np.argsort(-self.lengths, kind="stable")

    @property
    def unsorted_indices(self) -> np.ndarray:
        return np.argsort(self.sorted_indices, kind="stable")

    def _packed_positions(self) -> tuple[np.ndarray, np.ndarray]:
        order = self.sorted_indices
        steps = int(self.lengths.max())
        valid = self.lengths[order][None, :] > np.arange(steps)[:, None]  # (T, B) in sorted batch order
        t_idx, b_sorted = np.nonzero(valid)
        return t_idx, order[b_sorted]


def _lengths_array(lengths: Sequence[int] | np.ndarray | Tensor, batch: int, steps: int, where: str) -> np.ndarray:
    data = lengths.data if isinstance(lengths, Tensor) else np.asarray(lengths)
    if data.ndim != 1 or data.dtype.kind not in "iu":
        raise ValueError(f"{where}: lengths must be a 1-D sequence of ints, got {data!r}")
    if len(data) != batch:
        raise ValueError(f"{where}: got {len(data)} lengths for a batch of {batch} sequences")
    if data.size and (data.min() < 1 or data.max() > steps):
        raise ValueError(f"{where}: lengths must be in [1, {steps}] (the padded sequence length), got "
                         f"min {int(data.min())}, max {int(data.max())}")
    return data.astype(np.int64)


def pack_padded_sequence(input: Tensor, lengths: Sequence[int] | np.ndarray | Tensor, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Mark the valid steps of a padded batch (T, B, *) (or (B, T, *) with ``batch_first``)."""
    where = "pack_padded_sequence"
    if input.ndim < 2:
        raise ValueError(f"{where}: expected a padded batch of at least 2 dims, got shape {tuple(input.shape)}")
    padded = transpose(input, 0, 1) if batch_first else input
    lens = _lengths_array(lengths, padded.shape[1], padded.shape[0], where)
    if enforce_sorted and np.any(np.diff(lens) > 0):
        raise ValueError(f"{where}: lengths {lens.tolist()} are not sorted in decreasing order; sort the batch "
                         "or pass enforce_sorted=False")
    return PackedSequence(padded[: int(lens.max())], lens)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, np.ndarray]:
    """The padded batch (T, B, *) (or (B, T, *)) and the lengths, as PyTorch returns them."""
    padded, lengths = sequence
    steps = int(lengths.max())
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"pad_packed_sequence: total_length {total_length} is shorter than the longest "
                             f"sequence ({steps})")
    padded = padded[:steps]
    valid = (np.arange(steps)[:, None] < lengths[None, :]).reshape((steps, len(lengths)) + (1,) * (padded.ndim - 2))
    # whatever the padding held (a packed input's own padding, NaN included) becomes padding_value
    padded = where(valid, padded, Tensor(np.asarray(padding_value, dtype=padded.data.dtype)))
    if total_length is not None and total_length > steps:
        extra = np.full((total_length - steps, *padded.shape[1:]), padding_value, dtype=padded.data.dtype)
        padded = cat([padded, Tensor(extra)], dim=0)
    return (transpose(padded, 0, 1) if batch_first else padded), lengths.copy()


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0) -> Tensor:
    """Stack sequences of shapes (L_i, *) into (max L, B, *) (or (B, max L, *)), padded with ``padding_value``."""
    if not sequences:
        raise ValueError("pad_sequence: got no sequences")
    longest = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        if s.shape[1:] != sequences[0].shape[1:]:
            raise ValueError(f"pad_sequence: sequences must share trailing dims, got {tuple(s.shape)} and "
                             f"{tuple(sequences[0].shape)}")
        if s.shape[0] < longest:
            pad = np.full((longest - s.shape[0], *s.shape[1:]), padding_value, dtype=s.data.dtype)
            s = cat([s, Tensor(pad)], dim=0)
        rows.append(s)
    return stack(rows, dim=0 if batch_first else 1)

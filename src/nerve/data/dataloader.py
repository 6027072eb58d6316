"""``DataLoader``: iterate over a dataset in (shuffled) mini-batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from nerve.data.dataset import Dataset
from nerve.random import Generator, resolve_generator
from nerve.tensor import Tensor, _to_array, _wrap


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch: tensors/arrays/numbers stack, tuples and dicts recurse."""
    first = samples[0]
    if isinstance(first, Tensor):
        return _wrap(np.stack([s.data for s in samples]))
    if isinstance(first, np.ndarray | np.generic | int | float | bool):
        return _wrap(np.stack([_to_array(s) for s in samples]))
    if isinstance(first, Mapping):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, tuple | list):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: samples in a batch have different numbers of fields")
        return type(first)(default_collate(list(field)) for field in zip(*samples)) if isinstance(
            first, tuple) else [default_collate(list(field)) for field in zip(*samples)]
    if isinstance(first, str):
        return list(samples)
    raise TypeError(f"default_collate: don't know how to batch samples of type {type(first).__name__}")


class DataLoader:
    """Batches of a dataset, optionally reshuffled every epoch.

    Args:
        dataset: a ``Dataset`` (anything with ``__getitem__`` and ``__len__``).
        batch_size: samples per batch (default 1). ``None`` yields single samples.
        shuffle: draw a new random order each epoch (from ``generator`` or nerve's global generator).
        drop_last: drop the last incomplete batch.
        collate_fn: turns a list of samples into a batch (default: stack them).
        generator: a ``nerve.Generator`` for the shuffling order.

    Batch size decides the flavour of gradient descent: ``len(dataset)`` is batch gradient descent,
    1 is stochastic gradient descent, anything between is mini-batch.

    Example:
        >>> loader = DataLoader(TensorDataset(X, y), batch_size=128, shuffle=True)
        >>> for xb, yb in loader: ...
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool = False,
                 drop_last: bool = False, collate_fn: Callable[[list[Any]], Any] | None = None,
                 generator: Generator | None = None, num_workers: int = 0) -> None:
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size must be a positive integer or None, got {batch_size!r}")
        if num_workers:
            raise ValueError("DataLoader: num_workers > 0 is not supported (batches are built in-process)")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.generator = generator

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        return resolve_generator(self.generator).permutation(n) if self.shuffle else np.arange(n)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        if self.batch_size is None:
            for i in order:
                yield self.dataset[int(i)]
            return
        fast = self.collate_fn is None and hasattr(self.dataset, "get_batch")
        collate = self.collate_fn or default_collate
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            if self.drop_last and len(idx) < self.batch_size:
                return
            if fast:
                yield self.dataset.get_batch(idx)  # type: ignore[attr-defined]
            else:
                yield collate([self.dataset[int(i)] for i in idx])

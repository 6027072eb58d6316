"""``DataLoader``: iterate over a dataset in (shuffled) mini-batches."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

import nerve.random as _random
from nerve.data.dataset import Dataset
from nerve.random import Generator
from nerve.tensor import Tensor, _to_array, _wrap


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch: tensors/arrays/numbers stack, tuples and dicts recurse."""
    first = samples[0]
    if isinstance(first, Tensor):
        return _wrap(np.stack([s.data for s in samples]))
    if isinstance(first, float):  # as PyTorch's default_collate: Python floats batch as float64
        return _wrap(np.asarray(samples, dtype=np.float64))
    if isinstance(first, np.ndarray | np.generic | int | bool):
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
        num_workers, pin_memory, timeout, worker_init_fn, prefetch_factor, persistent_workers: PyTorch's
            loading options, accepted so torch code runs; batches are built in-process (a warning says so
            when ``num_workers`` > 0).

    Batch size decides the flavour of gradient descent: ``len(dataset)`` is batch gradient descent,
    1 is stochastic gradient descent, anything between is mini-batch.

    Example:
        >>> loader = DataLoader(TensorDataset(X, y), batch_size=128, shuffle=True)
        >>> for xb, yb in loader: ...
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool = False,
                 drop_last: bool = False, collate_fn: Callable[[list[Any]], Any] | None = None,
                 generator: Generator | None = None, num_workers: int = 0, pin_memory: bool = False,
                 timeout: float = 0, worker_init_fn: Callable[[int], None] | None = None,
                 prefetch_factor: int | None = None, persistent_workers: bool = False) -> None:
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size must be a positive integer or None, got {batch_size!r}")
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative integer, got {num_workers!r}")
        if num_workers:
            # Batches are the same either way; only the overlap of loading with training is lost, so code
            # written for torch runs rather than stops. (pin_memory and the other worker options are no-ops.)
            warnings.warn(f"DataLoader: num_workers={num_workers} is ignored; nerve builds batches in the "
                          "training process", stacklevel=2)
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(f"DataLoader: generator must be a nerve.Generator, got {type(generator).__name__}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.generator = generator
        self._resume: tuple[Any, Any, int] | None = None  # set by load_state_dict, used by the next iter()
        self._epoch_start_state: Any = None
        self._yielded = 0

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _generator(self) -> Generator:
        return self.generator if self.generator is not None else _random.default_generator

    def __iter__(self) -> Iterator[Any]:
        # The order is drawn here, eagerly, so that a resumed trainer can restore the global RNG right after.
        gen = self._generator()
        skip = 0
        if self._resume is not None:
            start_state, after_state, skip = self._resume
            self._resume = None
            gen.set_state(start_state)
        self._epoch_start_state = copy.deepcopy(gen.get_state())
        n = len(self.dataset)
        order = gen.np.permutation(n) if self.shuffle else np.arange(n)
        if skip:
            gen.set_state(after_state)
        self._yielded = skip
        return self._batches(order, skip)

    def _batches(self, order: np.ndarray, skip: int) -> Iterator[Any]:
        if self.batch_size is None:
            for i in order[skip:]:
                self._yielded += 1
                yield self.dataset[int(i)]
            self._epoch_start_state = None
            return
        fast = self.collate_fn is None and hasattr(self.dataset, "get_batch")
        collate = self.collate_fn or default_collate
        for start in range(skip * self.batch_size, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            if self.drop_last and len(idx) < self.batch_size:
                break
            self._yielded += 1
            if fast:
                yield self.dataset.get_batch(idx)  # type: ignore[attr-defined]
            else:
                yield collate([self.dataset[int(i)] for i in idx])
        self._epoch_start_state = None

    # ------------------------------------------------------------------ resumable iteration
    def state_dict(self) -> dict[str, Any]:
        """Where the iteration stands, to resume it exactly (shuffle order included) after a restart.

        Mid-epoch: the generator state the epoch's order was drawn from, the state now, and how many
        batches were yielded. Between epochs: the state the next order will be drawn from.
        """
        gen = self._generator()
        now = copy.deepcopy(gen.get_state())
        if self._epoch_start_state is not None and self._yielded:
            return {"order_rng": self._epoch_start_state, "rng": now, "batches_yielded": self._yielded}
        return {"order_rng": now, "rng": now, "batches_yielded": 0}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore ``state_dict()``; the next ``iter()`` redraws the same order and skips the yielded batches."""
        try:
            order_rng, rng, k = state["order_rng"], state["rng"], int(state["batches_yielded"])
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"DataLoader.load_state_dict: malformed state ({e!r})") from None
        if not 0 <= k <= len(self):
            raise ValueError(f"DataLoader.load_state_dict: {k} batches yielded, but an epoch has {len(self)}")
        self._generator().set_state(order_rng)
        self._resume = (order_rng, rng, k) if k else None

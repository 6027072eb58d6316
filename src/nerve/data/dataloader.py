"""``DataLoader``: iterate over a dataset in (shuffled) mini-batches."""

from __future__ import annotations

import copy
import itertools
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

import nerve.random as _random
from nerve.data.dataset import Dataset, IterableDataset
from nerve.data.sampler import (
    BatchSampler,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
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
        dataset: a ``Dataset`` (anything with ``__getitem__`` and ``__len__``), or an ``IterableDataset``,
            whose samples are batched in the order the stream yields them.
        batch_size: samples per batch (default 1). ``None`` yields single samples.
        shuffle: draw a new random order each epoch (from ``generator`` or nerve's global generator).
        sampler: the order of the indices instead (a ``Sampler`` or any iterable of indices, e.g. a
            ``DistributedSampler``); excludes ``shuffle``.
        batch_sampler: yields whole batches of indices (e.g. a ``BatchSampler``); excludes ``batch_size``,
            ``shuffle``, ``sampler`` and ``drop_last``.
        drop_last: drop the last incomplete batch.
        collate_fn: turns a list of samples into a batch (default: stack them).
        generator: a ``nerve.Generator`` for the shuffling order.
        num_workers, pin_memory, timeout, worker_init_fn, prefetch_factor, persistent_workers: PyTorch's
            loading options, accepted so torch code runs; batches are built in-process (a warning says so
            when ``num_workers`` > 0).

    As in PyTorch, a map-style dataset always gets ``loader.sampler``: by default
    ``RandomSampler(dataset, generator=generator)`` with ``shuffle=True``, else ``SequentialSampler(dataset)``;
    and, unless ``batch_size`` is None, ``loader.batch_sampler = BatchSampler(sampler, batch_size, drop_last)``.

    Batch size decides the flavour of gradient descent: ``len(dataset)`` is batch gradient descent,
    1 is stochastic gradient descent, anything between is mini-batch.

    ``state_dict()``/``load_state_dict()`` resume an epoch mid-way when its order can be redrawn: with the
    default samplers, nerve's ``RandomSampler``, ``SubsetRandomSampler``, ``WeightedRandomSampler``,
    ``SequentialSampler``, ``DistributedSampler`` (after the same ``set_epoch``), a fixed sequence of indices,
    or a ``BatchSampler`` over any of these. Other samplers and ``IterableDataset`` streams resume between
    epochs only.

    Example:
        >>> loader = DataLoader(TensorDataset(X, y), batch_size=128, shuffle=True)
        >>> for xb, yb in loader: ...
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable[Any] | None = None,
                 batch_sampler: Sampler | Iterable[Sequence[Any]] | None = None, drop_last: bool = False,
                 collate_fn: Callable[[list[Any]], Any] | None = None, generator: Generator | None = None,
                 num_workers: int = 0, pin_memory: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None, prefetch_factor: int | None = None,
                 persistent_workers: bool = False) -> None:
        if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool)
                                       or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size must be a positive integer or None, got {batch_size!r}")
        if not isinstance(drop_last, bool):
            raise TypeError(f"DataLoader: drop_last must be a bool, got {drop_last!r}")
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative integer, got {num_workers!r}")
        if num_workers:
            # Batches are the same either way; only the overlap of loading with training is lost, so code
            # written for torch runs rather than stops. (pin_memory and the other worker options are no-ops.)
            warnings.warn(f"DataLoader: num_workers={num_workers} is ignored; nerve builds batches in the "
                          "training process", stacklevel=2)
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(f"DataLoader: generator must be a nerve.Generator, got {type(generator).__name__}")
        for name, value in (("sampler", sampler), ("batch_sampler", batch_sampler)):
            if value is not None and not isinstance(value, Iterable):
                raise TypeError(f"DataLoader: {name} must be an iterable of indices (e.g. a nerve.data.Sampler), "
                                f"got {type(value).__name__}")
        if isinstance(dataset, IterableDataset):
            # PyTorch's checks and wording: a stream has no indices to order
            if shuffle not in (False, None):
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle option, "
                                 f"but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler option, "
                                 f"but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                 f"but got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle; got shuffle=True "
                             f"and sampler={type(sampler).__name__} (shuffle in the sampler instead)")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 f"sampler and drop_last; got batch_size={batch_size}, shuffle={shuffle}, "
                                 f"sampler={None if sampler is None else type(sampler).__name__}, "
                                 f"drop_last={drop_last} (leave them at their defaults)")
            batch_size = None
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last; got drop_last=True")
        if not isinstance(dataset, IterableDataset):  # PyTorch's defaults, so loader.sampler is always there
            if sampler is None:
                sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
            if batch_size is not None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.generator = generator
        self._resume: tuple[Any, Any, int] | None = None  # set by load_state_dict, used by the next iter()
        self._epoch_start_state: Any = None
        self._in_epoch = False
        self._yielded = 0

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)  # type: ignore[arg-type]

    def _generator(self) -> Generator:
        return self.generator if self.generator is not None else _random.default_generator

    def _order_source(self) -> Any:
        """What decides the order: the sampler (inside any BatchSampler), or None for an IterableDataset."""
        source: Any = self.batch_sampler if self.batch_sampler is not None else self.sampler
        while isinstance(source, BatchSampler):
            source = source.sampler
        return source

    def _order_generator(self) -> tuple[Generator, bool]:
        """The generator an epoch's order is drawn from, and whether restoring its state redraws that order."""
        source = self._order_source()
        if isinstance(source, RandomSampler | SubsetRandomSampler | WeightedRandomSampler):
            return (source.generator if source.generator is not None else _random.default_generator), True
        # a fixed order needs no generator; the loader's is saved, as for an unshuffled loader
        fixed = isinstance(source, SequentialSampler | DistributedSampler | Sequence | np.ndarray)
        return self._generator(), fixed

    def __iter__(self) -> Iterator[Any]:
        if isinstance(self.dataset, IterableDataset):
            self._epoch_start_state, self._in_epoch, self._yielded = None, True, 0
            return self._stream_batches()
        # The order is drawn here, eagerly, so that a resumed trainer can restore the global RNG right after.
        gen, _ = self._order_generator()
        skip = 0
        if self._resume is not None:
            start_state, after_state, skip = self._resume
            self._resume = None
            gen.set_state(start_state)
        self._epoch_start_state = copy.deepcopy(gen.get_state())
        plan = list(self.batch_sampler if self.batch_sampler is not None else self.sampler)  # type: ignore[arg-type]
        if skip:
            gen.set_state(after_state)
        self._in_epoch, self._yielded = True, skip
        return self._batches(plan, skip)

    def _batches(self, plan: list[Any], skip: int) -> Iterator[Any]:
        if self.batch_sampler is None:  # no auto-batching: the sampler's indices give single samples
            for i in plan[skip:]:
                self._yielded += 1
                yield self.dataset[i]
            self._in_epoch = False
            return
        fast = self.collate_fn is None and hasattr(self.dataset, "get_batch")
        collate = self.collate_fn or default_collate
        for idx in plan[skip:]:
            self._yielded += 1
            if fast:
                yield self.dataset.get_batch(np.asarray(idx, dtype=np.int64))  # type: ignore[attr-defined]
            else:
                yield collate([self.dataset[i] for i in idx])
        self._in_epoch = False

    def _stream_batches(self) -> Iterator[Any]:
        stream = iter(self.dataset)  # type: ignore[call-overload]
        if self.batch_size is None:
            for sample in stream:
                self._yielded += 1
                yield sample
        else:
            collate = self.collate_fn or default_collate
            while samples := list(itertools.islice(stream, self.batch_size)):
                if self.drop_last and len(samples) < self.batch_size:
                    break
                self._yielded += 1
                yield collate(samples)
        self._in_epoch = False

    # ------------------------------------------------------------------ resumable iteration
    def state_dict(self) -> dict[str, Any]:
        """Where the iteration stands, to resume it exactly (shuffle order included) after a restart.

        Mid-epoch: the generator state the epoch's order was drawn from, the state now, and how many
        batches were yielded. Between epochs: the state the next order will be drawn from.
        """
        gen, _ = self._order_generator()
        now = copy.deepcopy(gen.get_state())
        if self._in_epoch and self._yielded:
            return {"order_rng": self._epoch_start_state, "rng": now, "batches_yielded": self._yielded}
        return {"order_rng": now, "rng": now, "batches_yielded": 0}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore ``state_dict()``; the next ``iter()`` redraws the same order and skips the yielded batches."""
        try:
            order_rng, rng, k = state["order_rng"], state["rng"], int(state["batches_yielded"])
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"DataLoader.load_state_dict: malformed state ({e!r})") from None
        gen, redrawable = self._order_generator()
        if k and not redrawable:
            what = ("an IterableDataset (a stream cannot be rewound)" if isinstance(self.dataset, IterableDataset)
                    else f"the order from a {type(self._order_source()).__name__}, which cannot be redrawn from a "
                         "saved generator state")
            raise ValueError(f"DataLoader.load_state_dict: cannot resume mid-epoch ({k} batches yielded) with "
                             f"{what}; save between epochs, or use one of nerve.data's samplers")
        if k < 0 or (k and k > len(self)):  # (k == 0 needs no len: a sampler may have none)
            raise ValueError(f"DataLoader.load_state_dict: {k} batches yielded, but an epoch has {len(self)}")
        gen.set_state(order_rng)
        self._resume = (order_rng, rng, k) if k else None

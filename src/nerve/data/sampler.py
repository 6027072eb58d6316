"""Samplers: the order in which a ``DataLoader`` visits a map-style dataset (PyTorch's ``torch.utils.data``).

A sampler yields indices (``SequentialSampler``, ``RandomSampler``, ...); a batch sampler yields lists of
indices (``BatchSampler``). Random samplers draw from a ``nerve.Generator`` (the global one when
``generator=None``, so ``nerve.manual_seed`` makes them reproducible); each ``iter()`` draws the whole order at
once, so a DataLoader can save the generator state an epoch's order came from and redraw it on resume.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any, Generic, TypeVar

import numpy as np

import nerve.random as _random
from nerve.random import Generator
from nerve.tensor import Tensor

T_co = TypeVar("T_co", covariant=True)


def _check_generator(owner: str, generator: Generator | None) -> Generator | None:
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"{owner}: generator must be a nerve.Generator or None, got {type(generator).__name__}")
    return generator


def _check_positive_int(owner: str, name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {name}={value!r}")
    return value


def _check_bool(owner: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be a bool, got {name}={value!r}")
    return value


class Sampler(Generic[T_co]):
    """Base class: ``__iter__`` yields dataset indices (or, for a batch sampler, lists of them).

    ``__len__`` is optional, as in PyTorch; a ``DataLoader`` needs it only for ``len(loader)``. Generic like
    torch's, so ``class MySampler(Sampler[int])`` works.

    Example:
        >>> class ByLength(Sampler[int]):
        ...     def __init__(self, texts): self.texts = texts
        ...     def __iter__(self): return iter(sorted(range(len(self.texts)), key=lambda i: len(self.texts[i])))
        ...     def __len__(self): return len(self.texts)
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """``0, 1, ..., len(data_source) - 1``, always in that order.

    Args:
        data_source: anything with ``__len__`` (usually the dataset).
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """Random indices into ``data_source``: a fresh permutation each ``iter()``, or draws with replacement.

    Without replacement, ``num_samples`` larger than the dataset chains whole permutations (the last one cut
    short), as PyTorch does.

    Args:
        data_source: anything with ``__len__`` (usually the dataset).
        replacement: draw independently with replacement (default ``False``: permutations).
        num_samples: how many indices per ``iter()`` (default ``len(data_source)``, read at each ``iter()``).
        generator: a ``nerve.Generator`` (default: nerve's global generator).

    Example:
        >>> list(RandomSampler(range(5), generator=nerve.Generator(0)))  # a permutation of 0..4
    """

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: Generator | None = None) -> None:
        self.data_source = data_source
        self.replacement = _check_bool("RandomSampler", "replacement", replacement)
        self._num_samples = None if num_samples is None else _check_positive_int(
            "RandomSampler", "num_samples", num_samples)
        self.generator = _check_generator("RandomSampler", generator)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, k = len(self.data_source), self.num_samples
        rng = _random.resolve_generator(self.generator)
        if self.replacement:
            if n == 0:
                raise ValueError(f"RandomSampler: cannot draw {k} samples from an empty data_source")
            return iter(rng.integers(0, n, size=k).tolist())
        if n == 0:
            return iter([])
        # NOTE: a cut permutation is drawn only when needed, so the default (k == n) draws exactly one
        # permutation per epoch: the order DataLoader(shuffle=True) has always drawn.
        chunks = [rng.permutation(n) for _ in range(k // n)]
        if k % n:
            chunks.append(rng.permutation(n)[: k % n])
        return iter(np.concatenate(chunks).tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[Any]):
    """The given ``indices`` in a fresh random order each ``iter()`` (without replacement).

    Args:
        indices: the dataset indices to draw from (e.g. a validation split).
        generator: a ``nerve.Generator`` (default: nerve's global generator).

    Example:
        >>> train_sampler = SubsetRandomSampler(range(0, 800))  # then DataLoader(ds, sampler=train_sampler)
    """

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = _check_generator("SubsetRandomSampler", generator)

    def __iter__(self) -> Iterator[Any]:
        order = _random.resolve_generator(self.generator).permutation(len(self.indices))
        return iter([self.indices[i] for i in order.tolist()])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices into ``weights``, index ``i`` drawn with probability ``weights[i] / sum(weights)``.

    Without replacement an index is drawn at most once per ``iter()`` (successive draws renormalise the
    remaining weights, as ``torch.multinomial``). A zero weight is never drawn.

    Args:
        weights: non-negative weights, one per dataset index (need not sum to 1).
        num_samples: how many indices per ``iter()``.
        replacement: draw with replacement (default ``True``).
        generator: a ``nerve.Generator`` (default: nerve's global generator).

    Example:
        >>> # oversample a rare class: weight each sample by 1 / its class frequency
        >>> sampler = WeightedRandomSampler(1.0 / counts[labels], num_samples=len(labels))
    """

    def __init__(self, weights: Sequence[float] | np.ndarray | Tensor, num_samples: int, replacement: bool = True,
                 generator: Generator | None = None) -> None:
        self.num_samples = _check_positive_int("WeightedRandomSampler", "num_samples", num_samples)
        self.replacement = _check_bool("WeightedRandomSampler", "replacement", replacement)
        self.generator = _check_generator("WeightedRandomSampler", generator)
        w = np.asarray(weights.data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights must be a 1-d sequence, got shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero, got "
                             f"{np.array2string(w, threshold=8)}")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: cannot draw num_samples={num_samples} without replacement "
                             f"from {np.count_nonzero(w)} non-zero weights")
        self.weights = w

    def __iter__(self) -> Iterator[int]:
        rng = _random.resolve_generator(self.generator)
        drawn = rng.choice(len(self.weights), size=self.num_samples, replace=self.replacement,
                           p=self.weights / self.weights.sum())
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[Any]]):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    Args:
        sampler: any iterable of indices (a ``Sampler``, a ``range``, a list...).
        batch_size: indices per batch.
        drop_last: drop the last batch if it is short.

    Example:
        >>> list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        self.batch_size = _check_positive_int("BatchSampler", "batch_size", batch_size)
        self.drop_last = _check_bool("BatchSampler", "drop_last", drop_last)
        self.sampler = sampler

    def __iter__(self) -> Iterator[list[Any]]:
        it = iter(self.sampler)
        while batch := list(itertools.islice(it, self.batch_size)):
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DistributedSampler(Sampler[int]):
    """The share of ``dataset`` that replica ``rank`` of ``num_replicas`` loads: PyTorch's partition exactly.

    The (optionally shuffled) indices are made divisible by ``num_replicas``, by repeating indices from the
    start (``drop_last=False``) or by cutting the tail (``drop_last=True``); replica ``rank`` then takes every
    ``num_replicas``-th index from position ``rank``. Every replica has ``len(sampler)`` indices.

    The shuffle is a permutation seeded by ``seed + epoch``, identical on every replica (so the shares are
    disjoint). Call ``set_epoch(epoch)`` before each epoch for a new order; resuming a DataLoader mid-epoch
    needs the same ``set_epoch`` call first. The permutation is NumPy's, so the shuffled order differs from
    torch's; the partition of a given order (and the order with ``shuffle=False``) is the same.

    Args:
        dataset: the dataset (only its length is used).
        num_replicas: number of processes (required: nerve has no process group to read it from).
        rank: this process's rank in ``0 .. num_replicas - 1`` (required).
        shuffle: permute the indices each epoch (default ``True``).
        seed: shuffle seed, the same on every replica (default 0).
        drop_last: cut the tail instead of padding (default ``False``).

    Example:
        >>> sampler = DistributedSampler(ds, num_replicas=world_size, rank=rank)
        >>> loader = DataLoader(ds, batch_size=32, sampler=sampler)
        >>> for epoch in range(epochs):
        ...     sampler.set_epoch(epoch)
        ...     for batch in loader: ...
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            raise ValueError(f"DistributedSampler: num_replicas and rank are required (nerve has no default "
                             f"process group to read them from), got num_replicas={num_replicas}, rank={rank}")
        _check_positive_int("DistributedSampler", "num_replicas", num_replicas)
        if not isinstance(rank, int) or isinstance(rank, bool) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank must be an integer in [0, {num_replicas - 1}], "
                             f"got rank={rank!r}")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0
        n = len(dataset)
        # drop_last cuts to the largest multiple of num_replicas; otherwise pad up to the next one
        self.num_samples = n // num_replicas if drop_last else -(-n // num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = Generator(self.seed + self.epoch).np.permutation(n).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[: self.total_size]
        elif indices:
            padding = self.total_size - len(indices)
            indices += (indices * -(-padding // len(indices)))[:padding]  # repeat from the start as needed
        if len(indices) != self.total_size:
            raise ValueError(f"DistributedSampler: the dataset now has {n} samples, which do not match the "
                             f"{self.total_size} indices computed when the sampler was made; make a new sampler")
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that seeds the next shuffle (``seed + epoch``); call it before each epoch."""
        self.epoch = epoch

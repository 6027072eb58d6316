"""Datasets: indexable collections of samples."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from nerve.random import Generator, resolve_generator
from nerve.tensor import Tensor, _wrap


class Dataset:
    """A map-style dataset: ``dataset[i]`` returns sample ``i``; ``len(dataset)`` counts them.

    A subclass may also define ``get_batch(indices)`` returning an already-collated batch; the
    ``DataLoader`` then fetches each batch with one vectorised call instead of one call per sample.
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define ``__iter__`` (and ``__len__`` if the length is known).

    A ``DataLoader`` batches consecutive samples in the order the stream yields them; ``shuffle``,
    ``sampler`` and ``batch_sampler`` do not apply. ``a + b`` chains two streams (``ChainDataset``).

    Example:
        >>> class Counter(IterableDataset):
        ...     def __init__(self, n): self.n = n
        ...     def __iter__(self): return iter(range(self.n))
        >>> [b.tolist() for b in DataLoader(Counter(5), batch_size=2)]
        [[0, 1], [2, 3], [4]]
    """

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError

    def __len__(self) -> int:
        # TypeError, as len() of an object without __len__, so list(stream) and similar still work
        raise TypeError(f"{type(self).__name__} has no len(): define __len__ on the IterableDataset subclass")

    def __add__(self, other: Dataset) -> ChainDataset:  # type: ignore[override]
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several ``IterableDataset`` streams one after another; its length is the sum of theirs."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset: dataset {i} is a {type(d).__name__}, expected an IterableDataset "
                                "(concatenate map-style datasets with ConcatDataset)")

    def __iter__(self) -> Iterator[Any]:
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class StackDataset(Dataset):
    """Sample ``i`` gathers sample ``i`` of each dataset: a tuple (positional) or a dict (keywords).

    Example:
        >>> pairs = StackDataset(images, labels)           # pairs[0] == (images[0], labels[0])
        >>> named = StackDataset(image=images, label=labels)  # named[0] == {"image": ..., "label": ...}
    """

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("StackDataset: give datasets either positionally (tuple samples) or by keyword "
                             f"(dict samples), not both; got {len(args)} positional and keywords {list(kwargs)}")
        if not args and not kwargs:
            raise ValueError("StackDataset: expected at least one dataset")
        self.datasets: tuple[Dataset, ...] | dict[str, Dataset] = args if args else kwargs
        named = dict(enumerate(args)) if args else kwargs
        lengths = {k: len(d) for k, d in named.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"StackDataset: all datasets need the same length, got lengths {lengths}")
        self._length = next(iter(lengths.values()))

    def __getitem__(self, index: int) -> tuple[Any, ...] | dict[str, Any]:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def get_batch(self, indices: np.ndarray) -> tuple[Any, ...] | dict[str, Any]:
        from nerve.data.dataloader import default_collate

        def batch(d: Dataset) -> Any:
            if hasattr(d, "get_batch"):
                return d.get_batch(indices)
            return default_collate([d[int(i)] for i in indices])

        if isinstance(self.datasets, dict):
            return {k: batch(d) for k, d in self.datasets.items()}
        return tuple(batch(d) for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class TensorDataset(Dataset):
    """Samples are the i-th rows of the given tensors (e.g. inputs and targets).

    Example:
        >>> ds = TensorDataset(nerve.randn(100, 3), nerve.randint(0, 2, (100,)))
        >>> x, y = ds[0]
    """

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        arrays = [t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
        n = arrays[0].shape[0] if arrays[0].ndim else None
        for i, a in enumerate(arrays):
            if a.ndim == 0 or a.shape[0] != n:
                raise ValueError(
                    f"TensorDataset: all tensors need the same first dimension; tensor 0 has {n} rows, "
                    f"tensor {i} has shape {a.shape}"
                )
        self.arrays = arrays
        self.tensors = tuple(_wrap(a) for a in arrays)

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(_wrap(a[index]) for a in self.arrays)

    def get_batch(self, indices: np.ndarray) -> tuple[Tensor, ...]:
        return tuple(_wrap(a[indices]) for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices: np.ndarray) -> Any:
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(self.indices[indices])
        from nerve.data.dataloader import default_collate

        return default_collate([self.dataset[int(i)] for i in self.indices[indices]])

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after another."""

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: expected at least one dataset")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset: dataset {i} is an IterableDataset ({type(d).__name__}), which "
                                "cannot be indexed; chain streams with ChainDataset")
        self.cumulative = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"ConcatDataset: index {index} out of range for {len(self)} samples")
        k = bisect.bisect_right(self.cumulative, index)
        start = self.cumulative[k - 1] if k else 0
        return self.datasets[k][index - start]

    def __len__(self) -> int:
        return self.cumulative[-1]


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split into non-overlapping random subsets of the given lengths (or fractions summing to 1)."""
    n = len(dataset)
    if all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1) < 1e-6:
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        counts = [int(x) for x in lengths]
    if sum(counts) != n:
        raise ValueError(f"random_split: lengths {list(lengths)} do not add up to the dataset size {n}")
    perm = resolve_generator(generator).permutation(n)
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, perm[start : start + c]))
        start += c
    return out

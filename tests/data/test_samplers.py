"""Samplers, DataLoader(sampler=, batch_sampler=), IterableDataset, ChainDataset, StackDataset.

Deterministic samplers are compared exactly with torch.utils.data; random ones by their properties (nerve draws
from NumPy generators, so its random bits differ from torch's by design).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import nerve
from nerve.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    StackDataset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
)


class Stream(IterableDataset):
    """0, 1, ..., n - 1 as a stream, with a length."""

    def __init__(self, n: int, start: int = 0) -> None:
        self.n, self.start = n, start

    def __iter__(self):
        return iter(range(self.start, self.start + self.n))

    def __len__(self) -> int:
        return self.n


class Unsized(IterableDataset):
    def __iter__(self):
        return iter(range(3))


class TorchStream(tud.IterableDataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


class Reversed(Sampler[int]):
    """A user sampler nerve knows nothing about."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        return iter(range(self.n - 1, -1, -1))

    def __len__(self) -> int:
        return self.n


class NoLen(Sampler[int]):
    """A user sampler without __len__ (allowed, as in torch)."""

    def __iter__(self):
        return iter([0, 1, 2])


def ids(loader) -> list[list[int]]:
    return [b[0].tolist() for b in loader]


# ---------------------------------------------------------------------------------- deterministic, torch as oracle
def test_sequential_sampler_matches_torch() -> None:
    for n in (0, 1, 7):
        assert list(SequentialSampler(range(n))) == list(tud.SequentialSampler(range(n))) == list(range(n))
        assert len(SequentialSampler(range(n))) == n


@pytest.mark.parametrize("n", [0, 1, 9, 10, 12])
@pytest.mark.parametrize("batch_size", [1, 3, 5])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_matches_torch(n: int, batch_size: int, drop_last: bool) -> None:
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs) == len(list(ours))


def test_batch_sampler_accepts_any_iterable_of_indices() -> None:
    assert list(BatchSampler([5, 3, 8, 1, 0], 2, False)) == list(tud.BatchSampler([5, 3, 8, 1, 0], 2, False))
    assert list(BatchSampler([5, 3, 8, 1, 0], 2, True)) == [[5, 3], [8, 1]]


@pytest.mark.parametrize("n,replicas", [(10, 3), (12, 4), (2, 5), (1, 4), (7, 7), (11, 2), (0, 3)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_without_shuffle_matches_torch(n: int, replicas: int, drop_last: bool) -> None:
    for rank in range(replicas):
        ours = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        theirs = tud.DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False,
                                        drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs) == len(list(ours))
        assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size)


def test_distributed_sampler_pads_by_repeating_from_the_start() -> None:
    # 2 samples over 5 replicas: the padded list is 0 1 0 1 0 (repeated more than once), one index each
    shares = [list(DistributedSampler(range(2), num_replicas=5, rank=r, shuffle=False)) for r in range(5)]
    assert shares == [[0], [1], [0], [1], [0]]
    # drop_last cuts 10 samples over 3 replicas to 9: sample 9 is nobody's
    shares = [list(DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=False, drop_last=True))
              for r in range(3)]
    assert shares == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]


# ---------------------------------------------------------------------------------- random samplers: properties
def test_random_sampler_is_a_permutation_reproducible_with_a_seed() -> None:
    a = list(RandomSampler(range(50), generator=nerve.Generator(1)))
    b = list(RandomSampler(range(50), generator=nerve.Generator(1)))
    c = list(RandomSampler(range(50), generator=nerve.Generator(2)))
    assert sorted(a) == list(range(50)) and a != list(range(50))
    assert a == b and a != c
    sampler = RandomSampler(range(50), generator=nerve.Generator(1))
    assert list(sampler) == a and list(sampler) != a  # a new permutation each iter()
    assert all(type(i) is int for i in a)


def test_random_sampler_follows_the_global_seed_without_a_generator() -> None:
    nerve.manual_seed(4)
    a = list(RandomSampler(range(30)))
    nerve.manual_seed(4)
    assert list(RandomSampler(range(30))) == a and sorted(a) == list(range(30)) and a != list(range(30))


def test_random_sampler_num_samples_and_replacement() -> None:
    chained = list(RandomSampler(range(5), num_samples=12, generator=nerve.Generator(0)))
    assert len(chained) == 12
    assert sorted(chained[:5]) == sorted(chained[5:10]) == list(range(5))  # whole permutations first
    assert len(set(chained[10:])) == 2  # then a cut one, without repeats
    drawn = list(RandomSampler(range(5), replacement=True, num_samples=200, generator=nerve.Generator(0)))
    assert len(drawn) == 200 and set(drawn) == set(range(5))  # with replacement: repeats, every value in range
    assert len(RandomSampler(range(5), replacement=True, num_samples=200)) == 200
    assert len(RandomSampler(range(7))) == 7


def test_subset_random_sampler_draws_exactly_the_given_indices() -> None:
    indices = [3, 17, 4, 40, 8, 9, 22]
    ours = list(SubsetRandomSampler(indices, generator=nerve.Generator(0)))
    theirs = list(tud.SubsetRandomSampler(indices, generator=torch.Generator().manual_seed(0)))
    assert sorted(ours) == sorted(theirs) == sorted(indices) and len(ours) == len(indices)
    assert ours != indices  # shuffled
    assert list(SubsetRandomSampler(indices, generator=nerve.Generator(0))) == ours  # seeded
    assert len(SubsetRandomSampler(indices)) == 7


def test_weighted_random_sampler_frequencies_match_the_weights() -> None:
    weights = np.array([0.1, 0.9, 0.4, 0.0, 3.0, 0.6])
    n = 200_000
    drawn = np.array(list(WeightedRandomSampler(weights, n, generator=nerve.Generator(0))))
    freq = np.bincount(drawn, minlength=6) / n
    np.testing.assert_allclose(freq, weights / weights.sum(), atol=0.005)
    assert freq[3] == 0  # a zero weight is never drawn
    again = list(WeightedRandomSampler(weights, 50, generator=nerve.Generator(0)))
    assert again == drawn[:50].tolist()  # seeded: the same draws


def test_weighted_random_sampler_without_replacement() -> None:
    weights = [0.9, 0.4, 0.0, 0.2, 0.3, 0.0]
    gen = nerve.Generator(0)
    sampler = WeightedRandomSampler(weights, 4, replacement=False, generator=gen)
    for _ in range(50):  # only the four non-zero weights fit four draws without replacement
        assert sorted(sampler) == [0, 1, 3, 4]
    firsts = np.bincount([next(iter(WeightedRandomSampler(weights, 2, replacement=False, generator=gen)))
                          for _ in range(20_000)], minlength=6) / 20_000
    np.testing.assert_allclose(firsts, np.array(weights) / sum(weights), atol=0.015)  # first draw ~ weights


def test_sampler_errors_name_the_sampler_and_the_bad_value() -> None:
    with pytest.raises(ValueError, match=r"^RandomSampler: num_samples must be a positive integer, got num_samples=0"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match=r"^RandomSampler: replacement must be a bool, got replacement=1"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(TypeError, match=r"^RandomSampler: generator must be a nerve\.Generator or None, got int"):
        RandomSampler(range(3), generator=0)
    with pytest.raises(ValueError, match=r"^RandomSampler: cannot draw 4 samples from an empty data_source"):
        list(RandomSampler([], replacement=True, num_samples=4))
    with pytest.raises(ValueError, match=r"^BatchSampler: batch_size must be a positive integer, got batch_size=0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(TypeError, match=r"^BatchSampler: drop_last must be a bool, got drop_last=None"):
        BatchSampler(range(3), 2, None)
    with pytest.raises(ValueError, match=r"^WeightedRandomSampler: weights must be a 1-d sequence, got shape \(2, 2\)"):
        WeightedRandomSampler([[1, 2], [3, 4]], 2)
    with pytest.raises(ValueError, match=r"^WeightedRandomSampler: weights must be finite, non-negative and not all "
                                         r"zero, got \[ 1\. -1\.\]"):
        WeightedRandomSampler([1.0, -1.0], 2)
    with pytest.raises(ValueError, match=r"^WeightedRandomSampler: cannot draw num_samples=3 without replacement "
                                         r"from 2 non-zero weights"):
        WeightedRandomSampler([1.0, 0.0, 2.0], 3, replacement=False)
    with pytest.raises(ValueError, match=r"^DistributedSampler: num_replicas and rank are required"):
        DistributedSampler(range(4))
    with pytest.raises(ValueError, match=r"^DistributedSampler: rank must be an integer in \[0, 1\], got rank=2"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


# ---------------------------------------------------------------------------------- DistributedSampler, shuffled
@pytest.mark.parametrize("n,replicas", [(10, 3), (13, 4), (3, 5)])
def test_shuffled_replicas_partition_the_padded_permutation(n: int, replicas: int) -> None:
    shares = [list(DistributedSampler(range(n), replicas, r, seed=3)) for r in range(replicas)]
    assert len({len(s) for s in shares}) == 1
    padded = [shares[pos % replicas][pos // replicas] for pos in range(replicas * len(shares[0]))]
    assert sorted(padded[:n]) == list(range(n))  # every sample once (positions are disjoint) ...
    assert padded[:n] != list(range(n))  # ... shuffled ...
    assert padded[n:] == (padded[:n] * replicas)[: len(padded) - n]  # ... then padded by repetition


def test_shuffled_replicas_with_drop_last_are_disjoint() -> None:
    shares = [set(DistributedSampler(range(10), 4, r, seed=1, drop_last=True)) for r in range(4)]
    everything = set().union(*shares)
    assert all(len(s) == 2 for s in shares) and len(everything) == 8 and everything <= set(range(10))


def test_set_epoch_changes_the_order_and_the_seed_fixes_it() -> None:
    sampler = DistributedSampler(range(40), num_replicas=2, rank=0, seed=5)
    first = list(sampler)
    assert list(sampler) == first  # no set_epoch: the same order
    sampler.set_epoch(1)
    second = list(sampler)
    other = DistributedSampler(range(40), num_replicas=2, rank=1, seed=5)
    other.set_epoch(1)
    assert second != first and sorted(second + list(other)) == list(range(40))  # a new order, still a partition
    assert list(DistributedSampler(range(40), num_replicas=2, rank=0, seed=5)) == first
    assert list(DistributedSampler(range(40), num_replicas=2, rank=0, seed=6)) != first


# ---------------------------------------------------------------------------------- DataLoader with samplers
def test_default_loader_exposes_torchs_default_samplers() -> None:
    ds = TensorDataset(np.arange(10))
    loader = DataLoader(ds, batch_size=4, shuffle=True)
    assert isinstance(loader.sampler, RandomSampler) and isinstance(loader.batch_sampler, BatchSampler)
    assert loader.batch_sampler.sampler is loader.sampler and loader.batch_sampler.batch_size == 4
    plain = DataLoader(ds, batch_size=None)
    assert isinstance(plain.sampler, SequentialSampler) and plain.batch_sampler is None


def test_shuffle_draws_one_permutation_per_epoch_as_before() -> None:
    ds = TensorDataset(np.arange(10))
    loader = DataLoader(ds, batch_size=10, shuffle=True, generator=nerve.Generator(3))
    reference = nerve.Generator(3).np
    for _ in range(3):
        assert ids(loader) == [reference.permutation(10).tolist()]


def test_loader_with_a_sampler_matches_torch() -> None:
    x = np.arange(11)
    ours = DataLoader(TensorDataset(x), batch_size=2,
                      sampler=DistributedSampler(range(11), num_replicas=3, rank=1, shuffle=False))
    theirs = tud.DataLoader(tud.TensorDataset(torch.from_numpy(x)), batch_size=2,
                            sampler=tud.DistributedSampler(range(11), num_replicas=3, rank=1, shuffle=False))
    assert ids(ours) == [b[0].tolist() for b in theirs] == [[1, 4], [7, 10]]
    assert len(ours) == len(theirs) == 2


def test_loader_with_a_subset_random_sampler_covers_the_subset() -> None:
    loader = DataLoader(TensorDataset(np.arange(100)), batch_size=3,
                        sampler=SubsetRandomSampler(range(20, 30), generator=nerve.Generator(0)))
    batches = ids(loader)
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(20, 30)) and flat != list(range(20, 30))


def test_loader_with_a_sampler_and_no_batching_yields_single_samples() -> None:
    loader = DataLoader(TensorDataset(np.arange(5)), batch_size=None, sampler=[4, 0, 2])
    assert [s[0].item() for s in loader] == [4, 0, 2] and len(loader) == 3


def test_loader_with_a_batch_sampler_matches_torch() -> None:
    x = np.arange(10)
    ours = DataLoader(TensorDataset(x), batch_sampler=BatchSampler(Reversed(10), 4, drop_last=False))
    theirs = tud.DataLoader(tud.TensorDataset(torch.from_numpy(x)),
                            batch_sampler=tud.BatchSampler(range(9, -1, -1), 4, drop_last=False))
    assert ids(ours) == [b[0].tolist() for b in theirs] == [[9, 8, 7, 6], [5, 4, 3, 2], [1, 0]]
    assert len(ours) == 3 and ours.batch_size is None and ours.drop_last is False
    # any iterable of index lists, through the per-sample collate path too
    listed = DataLoader(TensorDataset(x), batch_sampler=[[3, 1], [0]], collate_fn=lambda s: [int(t[0]) for t in s])
    assert list(listed) == [[3, 1], [0]] and len(listed) == 2


def test_bad_combinations_raise_errors_naming_dataloader() -> None:
    ds = TensorDataset(np.arange(6))
    with pytest.raises(ValueError, match=r"^DataLoader: sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, shuffle=True, sampler=SequentialSampler(ds))
    bs = BatchSampler(range(6), 2, False)
    for bad in ({"batch_size": 2}, {"shuffle": True}, {"sampler": range(6)}, {"drop_last": True}):
        with pytest.raises(ValueError, match=r"^DataLoader: batch_sampler option is mutually exclusive with "
                                             r"batch_size, shuffle, sampler and drop_last; got "):
            DataLoader(ds, batch_sampler=bs, **bad)
    with pytest.raises(ValueError, match=r"^DataLoader: batch_size=None option disables auto-batching and is "
                                         r"mutually exclusive with drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(TypeError, match=r"^DataLoader: sampler must be an iterable of indices .*, got int"):
        DataLoader(ds, sampler=3)
    with pytest.raises(TypeError, match=r"^DataLoader: drop_last must be a bool, got 1"):
        DataLoader(ds, drop_last=1)
    stream = Stream(4)
    with pytest.raises(ValueError, match=r"^DataLoader with IterableDataset: expected unspecified shuffle option, "
                                         r"but got shuffle=True"):
        DataLoader(stream, shuffle=True)
    with pytest.raises(ValueError, match=r"^DataLoader with IterableDataset: expected unspecified sampler option"):
        DataLoader(stream, sampler=range(4))
    with pytest.raises(ValueError, match=r"^DataLoader with IterableDataset: expected unspecified batch_sampler"):
        DataLoader(stream, batch_sampler=[[0, 1]])


# ---------------------------------------------------------------------------------- resuming with samplers
@pytest.mark.parametrize("make", [
    lambda gen: RandomSampler(range(20), generator=gen),
    lambda gen: WeightedRandomSampler(np.arange(1.0, 21.0), 20, generator=gen),
    lambda gen: BatchSampler(SubsetRandomSampler(range(20), generator=gen), 3, drop_last=False),
    lambda gen: DistributedSampler(range(20), num_replicas=2, rank=1, seed=8),
])
def test_state_dict_resumes_mid_epoch_with_nerve_samplers(make) -> None:
    def loader_with(sampler):
        if isinstance(sampler, BatchSampler):
            return DataLoader(ds, batch_sampler=sampler)
        return DataLoader(ds, batch_size=3, sampler=sampler)

    ds = TensorDataset(np.arange(20))
    straight = loader_with(make(nerve.Generator(8)))
    expected = ids(straight) + ids(straight)  # two epochs without interruption
    loader = loader_with(make(nerve.Generator(8)))
    it = iter(loader)
    seen = [next(it)[0].tolist() for _ in range(2)]
    state = loader.state_dict()
    assert state["batches_yielded"] == 2
    resumed = loader_with(make(nerve.Generator(99)))  # a fresh process: the sampler's generator state is restored
    resumed.load_state_dict(state)
    assert seen + ids(resumed) + ids(resumed) == expected


def test_resuming_mid_epoch_with_an_unknown_sampler_or_a_stream_raises() -> None:
    ds = TensorDataset(np.arange(6))
    loader = DataLoader(ds, batch_size=2, sampler=Reversed(6))
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    with pytest.raises(ValueError, match=r"^DataLoader\.load_state_dict: cannot resume mid-epoch \(1 batches "
                                         r"yielded\) with the order from a Reversed, which cannot be redrawn"):
        DataLoader(ds, batch_size=2, sampler=Reversed(6)).load_state_dict(state)
    list(it)
    between = DataLoader(ds, batch_size=2, sampler=Reversed(6))
    between.load_state_dict(loader.state_dict())  # between epochs it resumes fine
    assert ids(between) == [[5, 4], [3, 2], [1, 0]]
    unsized = DataLoader(ds, batch_size=2, sampler=NoLen())
    unsized.load_state_dict(unsized.state_dict())
    assert ids(unsized) == [[0, 1], [2]]
    streaming = DataLoader(Stream(6), batch_size=2)
    it = iter(streaming)
    next(it)
    with pytest.raises(ValueError, match=r"^DataLoader\.load_state_dict: cannot resume mid-epoch \(1 batches "
                                         r"yielded\) with an IterableDataset"):
        DataLoader(Stream(6), batch_size=2).load_state_dict(streaming.state_dict())


# ---------------------------------------------------------------------------------- IterableDataset and friends
@pytest.mark.parametrize("batch_size,drop_last", [(2, False), (2, True), (3, False), (None, False)])
def test_loader_batches_an_iterable_dataset_like_torch(batch_size, drop_last) -> None:
    ours = DataLoader(Stream(7), batch_size=batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(TorchStream(7), batch_size=batch_size, drop_last=drop_last)
    ours_out = [b.tolist() if batch_size else b for b in ours]
    theirs_out = [b.tolist() if batch_size else int(b) for b in theirs]
    assert ours_out == theirs_out and len(ours_out) == len(ours)
    assert list(ours) and ours_out == [b.tolist() if batch_size else b for b in ours]  # every epoch again


def test_iterable_dataset_without_len() -> None:
    loader = DataLoader(Unsized(), batch_size=2)
    assert [b.tolist() for b in loader] == [[0, 1], [2]]
    assert list(Unsized()) == [0, 1, 2]
    with pytest.raises(TypeError, match=r"^Unsized has no len\(\)"):
        len(loader)


def test_chain_dataset() -> None:
    chain = ChainDataset([Stream(2), Stream(3, start=10)])
    assert list(chain) == [0, 1, 10, 11, 12] and len(chain) == 5
    assert list(Stream(1) + Stream(2, start=5)) == [0, 5, 6]
    assert [b.tolist() for b in DataLoader(chain, batch_size=2)] == [[0, 1], [10, 11], [12]]
    theirs = tud.ChainDataset([TorchStream(2), TorchStream(3)])
    assert list(ChainDataset([Stream(2), Stream(3)])) == list(theirs)
    with pytest.raises(TypeError, match=r"^ChainDataset: dataset 1 is a TensorDataset, expected an IterableDataset"):
        ChainDataset([Stream(2), TensorDataset(np.arange(3))])
    with pytest.raises(TypeError, match=r"^ConcatDataset: dataset 0 is an IterableDataset \(Stream\)"):
        ConcatDataset([Stream(2)])


def test_stack_dataset_tuples_and_dicts() -> None:
    a, b = TensorDataset(np.arange(5)), TensorDataset(np.arange(5) * 10)
    pair = StackDataset(a, b)
    assert len(pair) == 5 and pair[2][0][0].item() == 2 and pair[2][1][0].item() == 20
    named = StackDataset(x=a, y=b)
    assert set(named[3]) == {"x", "y"} and named[3]["y"][0].item() == 30
    theirs = tud.StackDataset(list(range(5)), [10 * i for i in range(5)])
    ours = StackDataset(list(range(5)), [10 * i for i in range(5)])
    assert [ours[i] for i in range(5)] == [theirs[i] for i in range(5)]
    (xb,), (yb,) = next(iter(DataLoader(pair, batch_size=3)))  # vectorised get_batch path
    assert xb.tolist() == [0, 1, 2] and yb.tolist() == [0, 10, 20]
    slow = next(iter(DataLoader(named, batch_size=3, collate_fn=nerve.data.default_collate)))
    fast = next(iter(DataLoader(named, batch_size=3)))
    assert slow["y"][0].tolist() == fast["y"][0].tolist() == [0, 10, 20]
    with pytest.raises(ValueError, match=r"^StackDataset: all datasets need the same length, got lengths "
                                         r"\{0: 5, 1: 4\}"):
        StackDataset(a, TensorDataset(np.arange(4)))
    with pytest.raises(ValueError, match=r"^StackDataset: give datasets either positionally"):
        StackDataset(a, y=b)
    with pytest.raises(ValueError, match=r"^StackDataset: expected at least one dataset"):
        StackDataset()

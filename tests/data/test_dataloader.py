import numpy as np
import pytest

import nerve
from nerve.data import ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split


class Squares(Dataset):
    """A per-sample dataset (no get_batch): exercises the collate path."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return nerve.tensor([float(i), float(i * i)]), i


def test_batches_cover_the_dataset_in_order_without_shuffle():
    ds = TensorDataset(np.arange(10, dtype=np.float32)[:, None], np.arange(10))
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(DataLoader(ds, batch_size=4)) == 3
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert [b[1].tolist() for b in DataLoader(ds, batch_size=4, drop_last=True)] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_is_a_new_permutation_each_epoch_and_reproducible_with_a_generator():
    ds = TensorDataset(np.arange(100))
    loader = DataLoader(ds, batch_size=100, shuffle=True, generator=nerve.Generator(7))
    e1 = next(iter(loader))[0].tolist()
    e2 = next(iter(loader))[0].tolist()
    assert sorted(e1) == list(range(100)) and e1 != e2
    again = DataLoader(ds, batch_size=100, shuffle=True, generator=nerve.Generator(7))
    assert next(iter(again))[0].tolist() == e1


def test_global_seed_controls_shuffling():
    ds = TensorDataset(np.arange(50))
    nerve.manual_seed(3)
    a = next(iter(DataLoader(ds, batch_size=50, shuffle=True)))[0].tolist()
    nerve.manual_seed(3)
    b = next(iter(DataLoader(ds, batch_size=50, shuffle=True)))[0].tolist()
    assert a == b


def test_collate_path_matches_vectorised_path():
    x = np.random.default_rng(0).standard_normal((10, 2)).astype(np.float32)
    y = np.arange(10)
    fast = list(DataLoader(TensorDataset(x, y), batch_size=3))
    slow = list(DataLoader(TensorDataset(x, y), batch_size=3, collate_fn=default_collate))
    for (fx, fy), (sx, sy) in zip(fast, slow):
        np.testing.assert_array_equal(fx.data, sx.data)
        np.testing.assert_array_equal(fy.data, sy.data)
        assert fy.dtype == np.int64


def test_default_collate_stacks_tensors_and_numbers():
    xb, yb = next(iter(DataLoader(Squares(), batch_size=3)))
    assert xb.shape == (3, 2) and xb.dtype == np.float32
    assert yb.tolist() == [0, 1, 2] and yb.dtype == np.int64


def test_batch_size_none_yields_single_samples():
    assert [s for _, s in DataLoader(Squares(), batch_size=None)][:3] == [0, 1, 2]


def test_random_split_partitions_and_subset_concat():
    ds = TensorDataset(np.arange(10))
    a, b = random_split(ds, [7, 3], generator=nerve.Generator(0))
    ids = sorted([int(a[i][0].item()) for i in range(7)] + [int(b[i][0].item()) for i in range(3)])
    assert ids == list(range(10))
    c, d = random_split(ds, [0.5, 0.5])
    assert len(c) == 5 and len(d) == 5
    sub = Subset(ds, [9, 1])
    assert [int(x[0].item()) for x in (sub[0], sub[1])] == [9, 1]
    assert sub.get_batch(np.array([1, 0]))[0].tolist() == [1, 9]
    both = ConcatDataset([Subset(ds, [0, 1]), Subset(ds, [5])])
    assert len(both) == 3 and int(both[2][0].item()) == 5


def test_bad_arguments_raise_clear_errors():
    ds = TensorDataset(np.arange(4))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="do not add up"):
        random_split(ds, [3, 3])

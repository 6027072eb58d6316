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


def test_shuffle_with_drop_last_drops_the_tail_of_the_permutation():
    # drop_last cuts the last incomplete batch of the shuffled order, not fixed samples 8 and 9
    ds = TensorDataset(np.arange(10))
    loader = DataLoader(ds, batch_size=4, shuffle=True, drop_last=True, generator=nerve.Generator(3))
    order = nerve.Generator(3).np.permutation(10)
    batches = [b[0].tolist() for b in loader]
    assert batches == [order[:4].tolist(), order[4:8].tolist()] and len(loader) == 2


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
    nerve.manual_seed(4)
    c = next(iter(DataLoader(ds, batch_size=50, shuffle=True)))[0].tolist()
    assert a == b and sorted(a) == list(range(50))
    assert a != list(range(50)) and a != c  # actually shuffled, and by the seed


def test_collate_path_matches_vectorised_path():
    x = np.random.default_rng(0).standard_normal((10, 2)).astype(np.float32)
    y = np.arange(10)
    fast = list(DataLoader(TensorDataset(x, y), batch_size=3))
    slow = list(DataLoader(TensorDataset(x, y), batch_size=3, collate_fn=default_collate))
    assert len(fast) == len(slow) == 4
    for (fx, fy), (sx, sy) in zip(fast, slow):
        np.testing.assert_array_equal(fx.data, sx.data)
        np.testing.assert_array_equal(fy.data, sy.data)
        assert fy.dtype == np.int64


def test_default_collate_stacks_tensors_and_numbers():
    xb, yb = next(iter(DataLoader(Squares(), batch_size=3)))
    assert xb.shape == (3, 2) and xb.dtype == np.float32
    assert yb.tolist() == [0, 1, 2] and yb.dtype == np.int64


def test_batch_size_none_yields_single_samples():
    samples = list(DataLoader(Squares(), batch_size=None))
    assert [i for _, i in samples] == list(range(10))
    assert samples[3][0].shape == (2,) and samples[3][0].tolist() == [3.0, 9.0]  # unbatched: no leading axis


def test_random_split_partitions_and_subset_concat():
    ds = TensorDataset(np.arange(10))
    a, b = random_split(ds, [7, 3], generator=nerve.Generator(0))
    ids = sorted([int(a[i][0].item()) for i in range(7)] + [int(b[i][0].item()) for i in range(3)])
    assert ids == list(range(10))
    a2, _ = random_split(ds, [7, 3], generator=nerve.Generator(0))
    a3, _ = random_split(ds, [7, 3], generator=nerve.Generator(1))
    first = [int(a[i][0].item()) for i in range(7)]
    assert [int(a2[i][0].item()) for i in range(7)] == first  # seeded
    assert [int(a3[i][0].item()) for i in range(7)] != first and first != list(range(7))  # and random
    c, d = random_split(ds, [0.5, 0.5])
    assert len(c) == 5 and len(d) == 5
    sub = Subset(ds, [9, 1])
    assert [int(x[0].item()) for x in (sub[0], sub[1])] == [9, 1]
    assert sub.get_batch(np.array([1, 0]))[0].tolist() == [1, 9]
    both = ConcatDataset([Subset(ds, [0, 1]), Subset(ds, [5])])
    assert len(both) == 3 and int(both[2][0].item()) == 5


def test_bad_arguments_raise_clear_errors():
    ds = TensorDataset(np.arange(4))
    with pytest.raises(ValueError, match=r"DataLoader: batch_size must be a positive integer or None, got 0"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match=r"DataLoader: generator must be a nerve\.Generator, got int"):
        DataLoader(ds, generator=0)
    with pytest.raises(ValueError, match=r"TensorDataset: .* tensor 0 has 3 rows, tensor 1 has shape \(4,\)"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match=r"random_split: lengths \[3, 3\] do not add up to the dataset size 4"):
        random_split(ds, [3, 3])
    with pytest.raises(ValueError, match=r"DataLoader\.load_state_dict: 5 batches yielded, but an epoch has 4"):
        DataLoader(ds).load_state_dict({"order_rng": None, "rng": None, "batches_yielded": 5})


def test_state_dict_resumes_a_shuffled_epoch_mid_way_and_the_next_epoch_too():
    ds = TensorDataset(np.arange(20))
    straight = DataLoader(ds, batch_size=3, shuffle=True, generator=nerve.Generator(5))
    expected = [b[0].tolist() for _ in range(2) for b in straight]  # two epochs

    loader = DataLoader(ds, batch_size=3, shuffle=True, generator=nerve.Generator(5))
    it = iter(loader)
    seen = [next(it)[0].tolist() for _ in range(3)]
    state = loader.state_dict()
    assert state["batches_yielded"] == 3
    resumed = DataLoader(ds, batch_size=3, shuffle=True, generator=nerve.Generator(99))  # a fresh process
    resumed.load_state_dict(state)
    rest = [b[0].tolist() for b in resumed] + [b[0].tolist() for b in resumed]
    assert seen + rest == expected


def test_python_numbers_collate_like_torch():
    import torch
    from torch.utils.data import default_collate as torch_collate

    samples = [(1.5, 2, True), (2.5, 3, False)]
    ours, theirs = default_collate(samples), torch_collate(samples)
    for a, b in zip(ours, theirs):
        assert str(a.dtype) == str(b.dtype).removeprefix("torch.") and a.tolist() == b.tolist()
    assert torch.is_tensor(theirs[0])


def test_torch_loading_options_are_accepted_and_workers_warned_about():
    ds = TensorDataset(np.arange(6))
    plain = [b[0].tolist() for b in DataLoader(ds, batch_size=4)]
    options = dict(pin_memory=True, timeout=0, worker_init_fn=None, prefetch_factor=None, persistent_workers=False)
    assert [b[0].tolist() for b in DataLoader(ds, batch_size=4, **options)] == plain
    with pytest.warns(UserWarning, match=r"^DataLoader: num_workers=2 is ignored; nerve builds batches in the "
                                         r"training process"):
        loader = DataLoader(ds, batch_size=4, num_workers=2)
    assert [b[0].tolist() for b in loader] == plain
    with pytest.raises(ValueError, match=r"^DataLoader: num_workers must be a non-negative integer, got -1"):
        DataLoader(ds, num_workers=-1)

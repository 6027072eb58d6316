"""Digits: scikit-learn's 8×8 digits, read from the installed package or from a pinned scikit-learn wheel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits  # the reference; in the test extra: a broken install must fail, not skip

import nerve
from nerve.data import DataLoader, random_split
from nerve.datasets import Digits, _fetch, digits


def assert_matches_sklearn(ds: Digits) -> None:
    ref = load_digits()
    assert ds.data.shape == (1797, 8, 8) and ds.data.dtype == np.uint8
    assert ds.targets.shape == (1797,) and ds.targets.dtype == np.int64
    np.testing.assert_array_equal(ds.data, ref.images)
    np.testing.assert_array_equal(ds.targets, ref.target)


def test_matches_load_digits() -> None:
    ds = Digits()
    assert_matches_sklearn(ds)
    x, y = ds[5]
    assert isinstance(x, nerve.Tensor) and x.shape == (1, 8, 8) and x.dtype == nerve.float32
    assert y == 5 and type(y) is int
    np.testing.assert_array_equal(x.numpy()[0], (load_digits().images[5] / 16).astype(np.float32))


def test_get_batch_and_dataloader() -> None:
    ds = Digits()
    idx = np.array([1796, 0, 3, 3])
    xb, yb = ds.get_batch(idx)
    assert xb.shape == (4, 1, 8, 8) and xb.dtype == nerve.float32 and yb.dtype == nerve.int64
    np.testing.assert_array_equal(xb.numpy(), np.stack([ds[int(i)][0].numpy() for i in idx]))
    np.testing.assert_array_equal(yb.numpy(), [ds[int(i)][1] for i in idx])
    train, test = random_split(ds, [0.8, 0.2], generator=nerve.Generator().manual_seed(0))
    assert (len(train), len(test)) == (1438, 359)
    xb, yb = next(iter(DataLoader(train, batch_size=32, shuffle=True)))
    assert xb.shape == (32, 1, 8, 8) and yb.shape == (32,)


def test_does_not_import_sklearn() -> None:
    code = "import sys, nerve.datasets as d; d.Digits(); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_sklearn_and_without_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digits, "sklearn_csv", lambda: None)
    with pytest.raises(RuntimeError, match="scikit-learn is not installed and there is no cached dataset"):
        Digits(root=tmp_path, download=False)


@pytest.mark.download
def test_without_sklearn_downloads_pinned_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(digits, "sklearn_csv", lambda: None)
    assert_matches_sklearn(Digits(root=tmp_path))
    assert (tmp_path / "digits.npz").is_file()

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(_fetch, "fetch_members", no_download)
    assert_matches_sklearn(Digits(root=tmp_path))

"""Dropout: identity in eval, Bernoulli(1-p) mask scaled by 1/(1-p) in training, edge cases, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import nerve
from nerve import nn
from nerve.nn import functional as F


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_eval_is_identity(dtype: type) -> None:
    drop = nn.Dropout(0.5).eval()
    x = nerve.tensor(np.random.default_rng(0).normal(size=(8, 9)).astype(dtype), requires_grad=True)
    y = drop(x)
    np.testing.assert_array_equal(y.data, x.data)
    (y * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full(x.shape, 2, dtype=dtype))
    np.testing.assert_array_equal(F.dropout(x, 0.9, training=False).data, x.data)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_train_drops_about_p_and_rescales(p: float) -> None:
    drop = nn.Dropout(p)
    assert drop.training
    x = nerve.tensor(np.random.default_rng(1).uniform(1.0, 2.0, size=(400, 500)).astype(np.float32))
    y = drop(x).data
    n = x.data.size
    dropped = np.mean(y == 0)
    assert abs(dropped - p) < 5 * math.sqrt(p * (1 - p) / n), dropped  # 5 sigma of a binomial proportion
    kept = y != 0
    np.testing.assert_allclose(y[kept], x.data[kept] / (1 - p), rtol=1e-6)
    assert y.dtype == np.float32
    # the expectation is preserved: E[y] = x
    assert abs(y.mean() / x.data.mean() - 1) < 5 * math.sqrt(p / (1 - p) / n) + 1e-3


def test_edge_probabilities() -> None:
    x = nerve.tensor(np.random.default_rng(2).normal(size=(50, 40)), requires_grad=True)
    y0 = nn.Dropout(0.0)(x)
    np.testing.assert_array_equal(y0.data, x.data)
    y1 = nn.Dropout(1.0)(x)
    assert y1.shape == x.shape and y1.dtype == np.float64 and not np.any(y1.data)
    assert np.all(np.isfinite(y1.data))
    y1.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(x.shape))
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=rf"^Dropout: p must be in \[0, 1\], got {bad}$"):
            nn.Dropout(bad)
        with pytest.raises(ValueError, match=rf"^dropout: p must be in \[0, 1\], got {bad}$"):
            F.dropout(x, bad)


def test_gradient_flows_only_through_kept_units() -> None:
    p = 0.4
    x = nerve.tensor(np.random.default_rng(3).uniform(0.5, 1.5, size=(30, 20)), requires_grad=True)
    w = np.random.default_rng(4).normal(size=(30, 20))
    y = nn.Dropout(p)(x)
    (y * nerve.tensor(w)).sum().backward()
    kept = y.data != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(x.grad.data, np.where(kept, w / (1 - p), 0.0), rtol=1e-12)


def test_masks_are_seeded_and_fresh_per_call() -> None:
    x = nerve.ones(100, 100)
    drop = nn.Dropout(0.5)
    nerve.manual_seed(7)
    a, b = drop(x).data, drop(x).data
    nerve.manual_seed(7)
    np.testing.assert_array_equal(drop(x).data, a)
    assert not np.array_equal(a, b)
    g1, g2 = nerve.random.Generator(3), nerve.random.Generator(3)
    np.testing.assert_array_equal(F.dropout(x, 0.5, generator=g1).data, F.dropout(x, 0.5, generator=g2).data)


def test_per_module_mode_and_repr() -> None:
    net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    x = nerve.ones(3, 4)
    net.eval()
    np.testing.assert_array_equal(net(x).data, net[0](x).data)
    net[1].train()
    assert np.any(net(nerve.ones(64, 4)).data == 0)
    assert repr(nn.Dropout(0.25)) == repr(torch.nn.Dropout(0.25))

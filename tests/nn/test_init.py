"""nn.init: the formulas for bounds and variances (fan_in/fan_out, gain), gains vs torch, reproducibility."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import nerve
from nerve import nn
from nerve.nn import init

SHAPES = [(300, 200), (64, 32, 3, 3)]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def _param(shape: tuple[int, ...], dtype: Any = np.float32) -> nn.Parameter:
    return nn.Parameter(np.full(shape, np.nan, dtype=dtype))


@pytest.mark.parametrize(("name", "param"), [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None), ("conv_transpose2d", None),
    ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
    ("leaky_relu", 0), ("selu", None),
])
def test_calculate_gain_matches_torch(name: str, param: float | None) -> None:
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param), rel=1e-12)


def test_calculate_gain_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="swish"):
        init.calculate_gain("swish")


def _check_uniform(w: np.ndarray, bound: float) -> None:
    w = w.astype(np.float64).ravel()
    assert np.abs(w).max() <= bound * (1 + 1e-6)
    assert np.abs(w).max() > 0.99 * bound  # the whole range is used
    np.testing.assert_allclose(w.var(), bound**2 / 3, rtol=0.04)
    assert abs(w.mean()) < 5 * bound / math.sqrt(3 * w.size)


def _check_normal(w: np.ndarray, std: float) -> None:
    w = w.astype(np.float64).ravel()
    np.testing.assert_allclose(w.std(), std, rtol=0.03)
    assert abs(w.mean()) < 5 * std / math.sqrt(w.size)
    np.testing.assert_allclose(((w - w.mean()) ** 4).mean() / w.var() ** 2, 3.0, rtol=0.08)  # normal kurtosis


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("mode", "nonlinearity", "a"), [
    ("fan_in", "leaky_relu", 0.0), ("fan_out", "relu", 0.0), ("fan_in", "leaky_relu", math.sqrt(5)),
    ("fan_out", "tanh", 0.0),
])
def test_kaiming(shape: tuple[int, ...], mode: str, nonlinearity: str, a: float) -> None:
    fan = _fans(shape)[0 if mode == "fan_in" else 1]
    gain = torch.nn.init.calculate_gain(nonlinearity, a)
    w = _param(shape)
    assert init.kaiming_uniform_(w, a=a, mode=mode, nonlinearity=nonlinearity) is w  # type: ignore[arg-type]
    _check_uniform(w.data, gain * math.sqrt(3.0 / fan))
    init.kaiming_normal_(w, a=a, mode=mode, nonlinearity=nonlinearity)  # type: ignore[arg-type]
    _check_normal(w.data, gain / math.sqrt(fan))
    assert w.dtype == np.float32 and w.grad is None and w.is_leaf


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier(shape: tuple[int, ...], gain: float) -> None:
    fan_in, fan_out = _fans(shape)
    w = _param(shape)
    init.xavier_uniform_(w, gain=gain)
    _check_uniform(w.data, gain * math.sqrt(6.0 / (fan_in + fan_out)))
    init.xavier_normal_(w, gain=gain)
    _check_normal(w.data, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def test_fans_need_two_dims() -> None:
    for fn in (init.kaiming_uniform_, init.kaiming_normal_, init.xavier_uniform_, init.xavier_normal_):
        with pytest.raises(ValueError, match="2 dims"):
            fn(_param((5,)))
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_uniform_(_param((3, 3)), mode="fan_avg")  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", [(6, 6), (8, 3), (3, 8), (4, 2, 3, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthogonal(shape: tuple[int, ...], dtype: type) -> None:
    gain = 1.7
    w = _param(shape, dtype)
    init.orthogonal_(w, gain=gain)
    q = w.data.reshape(shape[0], -1).astype(np.float64) / gain
    rows, cols = q.shape
    tol = 1e-5 if dtype == np.float32 else 1e-12
    if rows >= cols:
        np.testing.assert_allclose(q.T @ q, np.eye(cols), atol=tol)
    else:
        np.testing.assert_allclose(q @ q.T, np.eye(rows), atol=tol)
    with pytest.raises(ValueError, match=r"orthogonal_: expected at least 2 dims, got shape \(4,\)"):
        init.orthogonal_(_param((4,)))


def test_constant_fills() -> None:
    w = _param((3, 4))
    np.testing.assert_array_equal(init.zeros_(w).data, np.zeros((3, 4)))
    np.testing.assert_array_equal(init.ones_(w).data, np.ones((3, 4)))
    np.testing.assert_array_equal(init.constant_(w, -2.5).data, np.full((3, 4), -2.5))
    np.testing.assert_array_equal(init.eye_(w).data, np.eye(3, 4))
    assert w.dtype == np.float32
    with pytest.raises(ValueError, match=r"eye_: expected a 2-D tensor, got shape \(2, 2, 2\)"):
        init.eye_(_param((2, 2, 2)))


@pytest.mark.parametrize(("mean", "std", "a", "b"),
                         [(0.0, 1.0, -2.0, 2.0), (0.5, 0.2, 0.3, 0.6), (0.0, 0.02, -0.04, 0.04)])
def test_trunc_normal(mean: float, std: float, a: float, b: float) -> None:
    w = _param((200, 100), np.float64)
    init.trunc_normal_(w, mean=mean, std=std, a=a, b=b)
    assert w.data.min() >= a and w.data.max() <= b
    # mean and variance of the truncated normal
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    mass = cdf(beta) - cdf(alpha)
    t_mean = mean + std * (pdf(alpha) - pdf(beta)) / mass
    t_var = std**2 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - ((pdf(alpha) - pdf(beta)) / mass) ** 2)
    assert abs(w.data.mean() - t_mean) < 5 * math.sqrt(t_var / w.data.size)
    np.testing.assert_allclose(w.data.var(), t_var, rtol=0.03)


def test_trunc_normal_rejects_an_empty_interval() -> None:
    for a, b in ((2.0, -2.0), (1.0, 1.0)):
        with pytest.raises(ValueError, match="a < b"):
            init.trunc_normal_(_param((3,)), a=a, b=b)


@pytest.mark.parametrize(("fill", "check"), [
    (lambda w: init.uniform_(w, -0.5, 1.5),
     lambda d: d.min() >= -0.5 and d.max() <= 1.5 and abs(d.mean() - 0.5) < 0.01),
    (lambda w: init.normal_(w, 2.0, 0.5), lambda d: abs(d.mean() - 2.0) < 0.01 and abs(d.std() - 0.5) < 0.01),
])
def test_uniform_and_normal(fill: Callable[[Any], Any], check: Callable[[np.ndarray], bool]) -> None:
    w = _param((200, 200))
    fill(w)
    assert check(w.data.astype(np.float64))


@pytest.mark.parametrize("fill", [
    init.kaiming_uniform_, init.kaiming_normal_, init.xavier_uniform_, init.xavier_normal_, init.orthogonal_,
    init.trunc_normal_, init.normal_, init.uniform_,
])
def test_manual_seed_makes_init_reproducible(fill: Callable[..., Any]) -> None:
    a, b, c = _param((5, 4)), _param((5, 4)), _param((5, 4))
    nerve.manual_seed(42)
    fill(a)
    fill(c)
    nerve.manual_seed(42)
    fill(b)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, c.data)
    g1, g2 = nerve.random.Generator(9), nerve.random.Generator(9)
    np.testing.assert_array_equal(fill(_param((5, 4)), generator=g1).data, fill(_param((5, 4)), generator=g2).data)


def test_init_writes_in_place_without_recording() -> None:
    lin = nn.Linear(3, 3)
    view = lin.weight.data
    init.xavier_uniform_(lin.weight)
    assert lin.weight.data is view and lin.weight.grad_fn is None

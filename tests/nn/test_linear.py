"""Linear (and the shape layers beside it): parity with torch, initialisation, training, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import compare_with_torch, rand

import nerve
from nerve import nn


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
def test_matches_torch_forward_and_backward(shape: tuple[int, ...], bias: bool, dtype: type) -> None:
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    t = torch.nn.Linear(4, 3, bias=bias, dtype=tdtype)
    n = nn.Linear(4, 3, bias=bias, dtype=dtype)
    n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = rand(*shape, seed=1, dtype=dtype)
    w = rand(*shape[:-1], 3, seed=2, dtype=dtype)
    xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yn, yt = n(xn), t(xt)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    assert yn.shape == tuple(yt.shape) and yn.dtype == dtype
    np.testing.assert_allclose(yn.data, yt.detach().numpy(), **tol)
    (yn * nerve.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), **tol)
    for (name, p), tp in zip(n.named_parameters(), t.parameters()):
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), **tol, err_msg=name)


def test_functional_linear_matches_torch() -> None:
    compare_with_torch(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b),
                       rand(3, 5, seed=3), rand(2, 5, seed=4), rand(2, seed=5))


@pytest.mark.parametrize("bias", [True, False])
def test_parameters_and_state_dict(bias: bool) -> None:
    lin = nn.Linear(7, 5, bias=bias)
    assert sum(p.data.size for p in lin.parameters()) == 7 * 5 + 5 * bias
    assert lin.weight.shape == (5, 7) and lin.weight.dtype == np.float32
    assert list(lin.state_dict()) == list(torch.nn.Linear(7, 5, bias=bias).state_dict())
    assert (lin.bias is None) != bias
    assert repr(lin) == repr(torch.nn.Linear(7, 5, bias=bias))


def test_init_bounds_and_uniformity() -> None:
    fan_in = 200
    lin = nn.Linear(fan_in, 300)
    bound = 1 / math.sqrt(fan_in)
    w = np.sort(lin.weight.data.ravel().astype(np.float64))
    assert np.abs(w).max() <= bound and lin.bias is not None and np.abs(lin.bias.data).max() <= bound
    # Kolmogorov-Smirnov distance to U(-bound, bound); the 0.1% critical value is 1.95 / sqrt(n)
    n = w.size
    cdf = (w + bound) / (2 * bound)
    ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    assert ks < 1.95 / math.sqrt(n), ks
    # moments of U(-b, b): mean 0, variance b^2 / 3 (not, e.g., a normal with that variance: kurtosis 1.8)
    assert abs(w.mean()) < 4 * bound / math.sqrt(3 * n)
    np.testing.assert_allclose(w.var(), bound**2 / 3, rtol=0.02)
    np.testing.assert_allclose(((w - w.mean()) ** 4).mean() / w.var() ** 2, 1.8, rtol=0.03)
    assert abs(w.max() - bound) < 1e-3 * bound and abs(w.min() + bound) < 1e-3 * bound  # the full range is used


def test_init_is_reproducible_and_reset() -> None:
    nerve.manual_seed(123)
    a = nn.Linear(4, 3)
    nerve.manual_seed(123)
    b = nn.Linear(4, 3)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    before = a.weight.data.copy()
    a.reset_parameters()
    assert not np.array_equal(a.weight.data, before)


def test_one_training_step_lowers_the_loss() -> None:
    rng = np.random.default_rng(0)
    x = nerve.tensor(rng.normal(size=(32, 6)).astype(np.float32))
    y = nerve.tensor(rng.normal(size=(32, 2)).astype(np.float32))
    lin = nn.Linear(6, 2)
    loss0 = nn.functional.mse_loss(lin(x), y)
    loss0.backward()
    with nerve.no_grad():
        for p in lin.parameters():
            p.data -= 0.1 * p.grad.data
    assert nn.functional.mse_loss(lin(x), y).item() < loss0.item() - 1e-3


def test_zero_sized_layers() -> None:
    lin = nn.Linear(0, 3)
    out = lin(nerve.zeros(2, 0))
    assert out.shape == (2, 3)
    np.testing.assert_array_equal(out.data, np.broadcast_to(lin.bias.data, (2, 3)))  # an empty sum plus the bias
    assert nn.Linear(3, 0)(nerve.zeros(2, 3)).shape == (2, 0)
    with pytest.raises(ValueError, match=r"Linear: sizes must be non-negative, got in=-1, out=3"):
        nn.Linear(-1, 3)


def test_bad_input_names_linear_and_shapes() -> None:
    lin = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"Linear.*\(2, 5\).*4"):
        lin(nerve.zeros(2, 5))
    with pytest.raises(ValueError, match="Linear"):
        lin(nerve.tensor(1.0))
    with pytest.raises(TypeError, match=r"Linear.*float64.*\(2, 4\).*float32"):
        lin(nerve.tensor(np.zeros((2, 4))))
    with pytest.raises(TypeError, match="Linear"):
        lin(np.zeros((2, 4), dtype=np.float32))


# ----------------------------------------------------------------------------------------- shape layers


@pytest.mark.parametrize(("make", "shape"), [
    (lambda lib: lib.nn.Identity(54, unused=1), (2, 3)),
    (lambda lib: lib.nn.Flatten(), (2, 3, 4)),
    (lambda lib: lib.nn.Flatten(0, 1), (2, 3, 4)),
    (lambda lib: lib.nn.Unflatten(1, (2, 3)), (4, 6)),
])
def test_shape_layers_match_torch(make: object, shape: tuple[int, ...]) -> None:
    compare_with_torch(lambda lib, x: make(lib)(x), rand(*shape, seed=6))  # type: ignore[operator]
    assert repr(make(nerve)) == repr(make(torch))  # type: ignore[operator]

"""Activation primitives: float64 gradchecks, PyTorch parity, and stability at extreme inputs."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
import torch
from conftest import away_from, check_grad, compare_with_torch, rand

import nerve


def F(lib):
    return lib.nn.functional


def _check_both(fn, *arrays, **kw):
    check_grad(functools.partial(fn, nerve), *arrays)
    compare_with_torch(fn, *[a.astype(np.float32) for a in arrays], **kw)


SHAPES = [(), (3,), (2, 3)]

# name: (fn(lib, x), kinks, compare_with_torch overrides)
ACTIVATIONS = {
    "relu": (lambda lib, x: lib.relu(x), (0.0,), {}),
    "relu_method": (lambda lib, x: x.relu(), (0.0,), {}),
    "leaky_relu": (lambda lib, x: F(lib).leaky_relu(x), (0.0,), {}),
    "leaky_relu_0.2": (lambda lib, x: F(lib).leaky_relu(x, 0.2), (0.0,), {}),
    "elu": (lambda lib, x: F(lib).elu(x), (0.0,), {}),
    "elu_0.5": (lambda lib, x: F(lib).elu(x, alpha=0.5), (0.0,), {}),
    # NOTE: float32 erf is Abramowitz & Stegun 7.1.26 (abs error < 1.5e-7); the default atol=1e-6 covers it.
    "gelu": (lambda lib, x: F(lib).gelu(x), (), {}),
    "gelu_tanh": (lambda lib, x: F(lib).gelu(x, approximate="tanh"), (), {}),
    "erf": (lambda lib, x: lib.erf(x), (), {}),
    "erf_method": (lambda lib, x: x.erf(), (), {}),
    "sigmoid": (lambda lib, x: lib.sigmoid(x), (), {}),
    "sigmoid_method": (lambda lib, x: x.sigmoid(), (), {}),
    "tanh": (lambda lib, x: lib.tanh(x), (), {}),
    "softplus": (lambda lib, x: F(lib).softplus(x), (), {}),
    "softplus_beta": (lambda lib, x: F(lib).softplus(x, beta=2.0), (), {}),
    "softplus_threshold": (lambda lib, x: F(lib).softplus(x, beta=2.0, threshold=1.0), (0.5,), {}),
    "silu": (lambda lib, x: F(lib).silu(x), (), {}),
    "selu": (lambda lib, x: F(lib).selu(x), (0.0,), {}),
    "celu": (lambda lib, x: F(lib).celu(x), (0.0,), {}),
    "celu_0.5": (lambda lib, x: F(lib).celu(x, alpha=0.5), (0.0,), {}),
    "mish": (lambda lib, x: F(lib).mish(x), (), {}),
    "hardswish": (lambda lib, x: F(lib).hardswish(x), (-3.0, 3.0), {}),
    "hardsigmoid": (lambda lib, x: F(lib).hardsigmoid(x), (-3.0, 3.0), {}),
    "logsigmoid": (lambda lib, x: F(lib).logsigmoid(x), (), {}),
    "softsign": (lambda lib, x: F(lib).softsign(x), (0.0,), {}),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation(name, shape):
    fn, kinks, kw = ACTIVATIONS[name]
    x = away_from(rand(*shape, low=-3, high=3), kinks, margin=0.1)
    _check_both(fn, x, **kw)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu"])
def test_gradient_at_the_kink_matches_torch(name):
    fn = ACTIVATIONS[name][0]
    compare_with_torch(fn, np.array([-1.0, 0.0, 1.0], np.float32))


@pytest.mark.parametrize("x", [[-3.0, -1.0, 0.5, 2.5, 4.0], [-6.0, 6.0, 0.0]])
def test_erf_gelu_float32_accuracy(x):
    x = np.array(x, np.float32)
    compare_with_torch(lambda lib, x: lib.erf(x), x, rtol=0, atol=5e-7)  # erf: |A&S error| < 1.5e-7
    compare_with_torch(lambda lib, x: F(lib).gelu(x), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "fn",
    [lambda lib, x: lib.sigmoid(x), lambda lib, x: lib.tanh(x), lambda lib, x: F(lib).softplus(x),
     lambda lib, x: F(lib).silu(x), lambda lib, x: F(lib).elu(x), lambda lib, x: F(lib).gelu(x),
     lambda lib, x: F(lib).gelu(x, approximate="tanh")],
    ids=["sigmoid", "tanh", "softplus", "silu", "elu", "gelu", "gelu_tanh"],
)
def test_extreme_inputs_are_finite_and_quiet(fn, dtype):
    x = np.array([-1000.0, -100.0, -30.0, 0.0, 30.0, 100.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = nerve.tensor(x, requires_grad=True)
        out = fn(nerve, t)
        out.sum().backward()
    assert np.isfinite(out.data).all() and np.isfinite(t.grad.data).all()
    compare_with_torch(fn, x)


# ------------------------------------------------------------------------------------ softmax family

SOFTMAX_CASES = [((3,), 0), ((3,), -1), ((2, 3), 0), ((2, 3), 1), ((2, 3), -1), ((2, 3, 2), 1), ((2, 3, 2), -3)]


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, dim", SOFTMAX_CASES, ids=str)
def test_softmax_every_dim(op, shape, dim):
    _check_both(lambda lib, x: getattr(F(lib), op)(x, dim), rand(*shape))
    compare_with_torch(lambda lib, x: getattr(x, op)(dim), rand(*shape, dtype=np.float32))


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_of_a_scalar(op):
    compare_with_torch(lambda lib, x: getattr(lib, op)(x, 0), np.array(0.7, np.float32))


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_stable_at_large_logits(op):
    x = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -1000.0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = nerve.tensor(x, requires_grad=True)
        out = getattr(F(nerve), op)(t, dim=1)
        (out * nerve.tensor(rand(3, 3, dtype=np.float32))).sum().backward()
    assert np.isfinite(out.data).all() and np.isfinite(t.grad.data).all()
    compare_with_torch(lambda lib, x: getattr(F(lib), op)(x, dim=1), x)
    compare_with_torch(lambda lib, x: getattr(F(lib), op)(x, dim=0), x)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_with_minus_inf_mask_matches_torch(op):
    x = np.array([[0.5, -np.inf, 1.0], [2.0, 0.0, -np.inf]], np.float32)
    compare_with_torch(lambda lib, x: getattr(F(lib), op)(x, dim=-1), x)


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "gelu", "silu", "softplus", "leaky_relu", "elu"])
def test_float_only_activations_reject_integer_tensors(op):  # torch refuses these too
    x = nerve.tensor([1, 2, 3])
    args = (x, 0) if "softmax" in op else (x,)
    with pytest.raises(TypeError, match=rf"{op}: expected a floating-point tensor, got dtype int64"):
        getattr(F(nerve), op)(*args)


@pytest.mark.parametrize("op", ["sigmoid", "tanh", "erf"])
def test_integer_input_gives_default_float_like_torch(op):
    compare_with_torch(lambda lib, x: getattr(lib, op)(x), np.array([-2, 0, 3]))
    compare_with_torch(lambda lib, x: getattr(lib, op)(x), np.array([True, False]))


def test_softmax_dim_out_of_range():
    with pytest.raises(IndexError, match="softmax: dim 2 is out of range"):
        nerve.softmax(nerve.ones(2, 3), 2)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        F(nerve).gelu(nerve.ones(2), approximate="fast")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_relu_on_a_batch_viewed_as_zero_rows_matches_torch(dtype):
    # 2·4·16·16 = 2048 elements: the clamp runs against rows of zeros; NaN, ±inf and -0.0 as in PyTorch
    clean = rand(2, 4, 16, 16, low=-3, high=3, seed=1)
    x = clean.copy()
    x.flat[:4] = [np.nan, np.inf, -np.inf, -0.0] if dtype != np.int64 else [0, 5, -5, 1]
    x = x.astype(dtype)
    y = nerve.relu(nerve.tensor(x))
    want = torch.relu(torch.from_numpy(x)).numpy()
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_array_equal(y.data, want)
    if dtype != np.int64:
        compare_with_torch(lambda lib, t: lib.relu(t), clean.astype(dtype))


def test_relu_gradient_at_nan_inf_and_signed_zero_matches_torch():
    x = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 2.0, -2.0], np.float32)
    xt = torch.tensor(x, requires_grad=True)
    torch.relu(xt).backward(torch.full((7,), 3.0))
    xn = nerve.tensor(x, requires_grad=True)
    nerve.relu(xn).backward(nerve.full((7,), 3.0))
    np.testing.assert_array_equal(xn.grad.data, xt.grad.numpy())  # [3, 3, 0, 0, 0, 3, 0]


def test_relu_keeps_dtype_and_gradient_dtype():
    for dt in (np.float32, np.float64):
        x = nerve.tensor(rand(3, dtype=dt), requires_grad=True)
        y = nerve.relu(x)
        y.sum().backward()
        assert y.dtype == dt and x.grad.dtype == dt
    assert torch.relu(torch.tensor([1, -2])).dtype == torch.int64
    assert nerve.relu(nerve.tensor([1, -2])).dtype == np.int64


# ------------------------------------------------------------------------ inplace, dtype, glu, prelu, softmin


@pytest.mark.parametrize("call", [
    lambda f, x: f.relu(x, inplace=True), lambda f, x: f.relu6(x, inplace=True),
    lambda f, x: f.leaky_relu(x, 0.2, inplace=True), lambda f, x: f.elu(x, 0.5, inplace=True),
    lambda f, x: f.hardtanh(x, -0.5, 0.5, inplace=True), lambda f, x: f.silu(x, inplace=True),
    lambda f, x: f.selu(x, inplace=True), lambda f, x: f.celu(x, 0.5, True), lambda f, x: f.mish(x, True),
    lambda f, x: f.hardswish(x, True), lambda f, x: f.hardsigmoid(x, True),
    lambda f, x: f.dropout(x, 0.5, False, True), lambda f, x: f.dropout1d(x, 0.5, False, inplace=True),
], ids=["relu", "relu6", "leaky_relu", "elu", "hardtanh", "silu", "selu", "celu", "mish", "hardswish",
        "hardsigmoid", "dropout", "dropout1d"])
def test_inplace_keyword_gives_torchs_values_and_leaves_the_input_alone(call):
    x = away_from(rand(2, 3, 4, low=-4, high=4), (0.0, -3.0, 3.0, -0.5, 0.5), margin=0.1).astype(np.float32)
    # torch writes into its input; nerve returns a new tensor: compare values, then check nerve's input is intact
    want = call(torch.nn.functional, torch.tensor(x)).numpy()
    xn = nerve.tensor(x.copy())
    np.testing.assert_allclose(call(F(nerve), xn).data, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(xn.data, x)


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "softmin"])
def test_softmax_dtype_casts_first_like_torch(op):
    x = rand(3, 4, dtype=np.float32)
    compare_with_torch(lambda lib, x: getattr(F(lib), op)(x, 1, dtype=lib.float64), x, rtol=1e-12, atol=1e-12)
    compare_with_torch(lambda lib, x: getattr(F(lib), op)(x, dim=0, dtype=lib.float32), np.arange(6).reshape(2, 3),
                       grad=False)


@pytest.mark.parametrize("shape, dim", [((3,), 0), ((2, 3), 0), ((2, 3), -1), ((2, 3, 2), 1)], ids=str)
def test_softmin(shape, dim):
    _check_both(lambda lib, x: F(lib).softmin(x, dim), rand(*shape))


def test_softmax_family_needs_dim():
    with pytest.raises(ValueError, match=r"^softmin: pass dim explicitly"):
        F(nerve).softmin(nerve.ones(2, 3))


@pytest.mark.parametrize("shape, dim", [((4,), 0), ((2, 6), -1), ((4, 3), 0), ((2, 4, 3), 1)], ids=str)
def test_glu(shape, dim):
    _check_both(lambda lib, x: F(lib).glu(x, dim), rand(*shape))


def test_glu_needs_an_even_dim():
    with pytest.raises(ValueError, match=r"^glu: dim -1 must have an even size to halve, got shape \(2, 3\)$"):
        F(nerve).glu(nerve.ones(2, 3))


@pytest.mark.parametrize("shape, c", [((), 1), ((5,), 1), ((2, 3), 1), ((2, 3), 3), ((2, 3, 4), 3),
                                      ((2, 3, 2, 2), 3)], ids=str)
def test_prelu(shape, c):
    x = away_from(rand(*shape, low=-3, high=3), (0.0,), margin=0.1)
    _check_both(lambda lib, x, w: F(lib).prelu(x, w), x, rand(c, seed=4, low=0.05, high=0.5))


def test_prelu_weight_must_match_the_channels():
    with pytest.raises(ValueError, match=r"^prelu: expected a weight of shape \(1,\) or \(3,\), one slope per "
                       r"channel \(dim 1\) of the input of shape \(2, 3\), got \(2,\)$"):
        F(nerve).prelu(nerve.ones(2, 3), nerve.ones(2))


def test_celu_rejects_zero_alpha():
    with pytest.raises(ValueError, match=r"^celu: alpha must be non-zero"):
        F(nerve).celu(nerve.ones(2), alpha=0.0)


@pytest.mark.parametrize("op", ["mish", "hardswish", "hardsigmoid", "logsigmoid", "softsign", "glu"])
def test_new_activations_reject_integer_tensors(op):
    with pytest.raises(TypeError, match=rf"^{op}: expected a floating-point tensor, got dtype int64$"):
        getattr(F(nerve), op)(nerve.tensor([1, 2]))


@pytest.mark.parametrize("op", ["logsigmoid", "mish", "selu", "celu", "softsign"])
def test_new_activations_finite_at_extremes(op):
    x = np.array([-1000.0, -100.0, -30.0, 0.0, 30.0, 100.0, 1000.0], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = nerve.tensor(x, requires_grad=True)
        getattr(F(nerve), op)(t).sum().backward()
    assert np.isfinite(t.grad.data).all()
    compare_with_torch(lambda lib, x: getattr(F(lib), op)(x), x)

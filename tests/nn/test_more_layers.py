"""Padding, upsampling, shrinkage and random activations, alpha dropout, local response norm, bilinear, fold and
unfold, transposed 1-D convolution, max unpooling and pdist: parity with torch (values, input and parameter
gradients, double backward) in float64, float64 gradchecks, the random layers by their properties and seeds, and
errors that name the layer."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from conftest import away_from, check_grad, compare_with_torch, rand

import nerve
from nerve import nn
from nerve.nn import functional as F

TIGHT = dict(rtol=1e-10, atol=1e-12)


def _pooled(lib: Any, x: Any, spatial: int, *args: Any) -> tuple[Any, Any]:
    """Max-pool indices of ``x`` (a constant array) for an unpooling test, from ``lib``'s own max pool."""
    pool = lib.nn.functional.max_pool2d if spatial == 2 else lib.nn.functional.max_pool1d
    _, idx = pool(lib.tensor(x), *args, return_indices=True)
    return idx


def _unpool(spatial: int, pool_args: tuple[Any, ...], x_shape: tuple[int, ...], unpool: Callable[..., Any],
            **kw: Any) -> Callable[..., Any]:
    """``unpool(lib, y, idx, **kw)`` with idx from max-pooling a fixed random x in the same library."""
    x = rand(*x_shape, seed=40)

    def fn(lib: Any, y: Any) -> Any:
        return unpool(lib, y, _pooled(lib, x, spatial, *pool_args), **kw)
    return fn


# (id, fn(lib, *tensors), input arrays, kinks for the gradcheck inputs). Every input is float64 and requires grad.
CASES: list[tuple[str, Callable[..., Any], list[np.ndarray]]] = [
    # padding layers over F.pad
    ("ConstantPad1d", lambda L, x: L.nn.ConstantPad1d(2, 1.5)(x), [rand(2, 3, 4)]),
    ("ConstantPad1d-crop-2d", lambda L, x: L.nn.ConstantPad1d((1, -2), -1.0)(x), [rand(3, 5)]),
    ("ConstantPad1d-4d", lambda L, x: L.nn.ConstantPad1d((0, 2), 0.5)(x), [rand(2, 2, 2, 3)]),
    ("ZeroPad1d", lambda L, x: L.nn.ZeroPad1d((2, 1))(x), [rand(2, 3, 4)]),
    ("ReflectionPad1d", lambda L, x: L.nn.ReflectionPad1d(2)(x), [rand(2, 3, 5)]),
    ("ReflectionPad1d-unbatched", lambda L, x: L.nn.ReflectionPad1d((3, 1))(x), [rand(3, 5)]),
    ("ReflectionPad2d", lambda L, x: L.nn.ReflectionPad2d((1, 2, 2, 0))(x), [rand(2, 2, 4, 5)]),
    ("ReflectionPad2d-crop-unbatched", lambda L, x: L.nn.ReflectionPad2d((-1, 1, 1, 2))(x), [rand(2, 3, 4)]),
    ("ReplicationPad1d", lambda L, x: L.nn.ReplicationPad1d((3, 2))(x), [rand(2, 3, 4)]),
    ("ReplicationPad2d", lambda L, x: L.nn.ReplicationPad2d((1, 0, 2, 3))(x), [rand(2, 2, 3, 4)]),
    ("ReplicationPad2d-unbatched", lambda L, x: L.nn.ReplicationPad2d(2)(x), [rand(2, 3, 3)]),
    ("CircularPad1d", lambda L, x: L.nn.CircularPad1d((2, 3))(x), [rand(2, 3, 4)]),
    ("CircularPad1d-crop", lambda L, x: L.nn.CircularPad1d((-1, 2))(x), [rand(1, 2, 4)]),
    ("CircularPad2d", lambda L, x: L.nn.CircularPad2d((1, 2, 2, 1))(x), [rand(2, 2, 3, 4)]),
    ("CircularPad2d-unbatched", lambda L, x: L.nn.CircularPad2d(1)(x), [rand(2, 3, 3)]),
    # upsampling and softmax over channels
    ("UpsamplingNearest2d-scale", lambda L, x: L.nn.UpsamplingNearest2d(scale_factor=2)(x), [rand(2, 3, 3, 4)]),
    ("UpsamplingNearest2d-size", lambda L, x: L.nn.UpsamplingNearest2d(size=(5, 7))(x), [rand(1, 2, 3, 4)]),
    ("UpsamplingBilinear2d-scale", lambda L, x: L.nn.UpsamplingBilinear2d(scale_factor=2)(x), [rand(2, 2, 3, 4)]),
    ("UpsamplingBilinear2d-size", lambda L, x: L.nn.UpsamplingBilinear2d((5, 3))(x), [rand(1, 2, 3, 4)]),
    ("Softmax2d", lambda L, x: L.nn.Softmax2d()(x), [rand(2, 3, 2, 4)]),
    ("Softmax2d-unbatched", lambda L, x: L.nn.Softmax2d()(x), [rand(3, 2, 4)]),
    # activations (inputs pushed away from their kinks)
    ("Threshold", lambda L, x: L.nn.Threshold(0.1, 20.0)(x), [away_from(rand(3, 5, seed=2), (0.1,))]),
    ("threshold", lambda L, x: L.nn.functional.threshold(x, -0.5, 3.0), [away_from(rand(3, 5, seed=3), (-0.5,))]),
    ("Hardshrink", lambda L, x: L.nn.Hardshrink()(x), [away_from(rand(3, 5, seed=4), (-0.5, 0.5))]),
    ("hardshrink", lambda L, x: L.nn.functional.hardshrink(x, 1.2), [away_from(rand(3, 5, seed=5), (-1.2, 1.2))]),
    ("Softshrink", lambda L, x: L.nn.Softshrink(0.3)(x), [away_from(rand(3, 5, seed=6), (-0.3, 0.3))]),
    ("softshrink", lambda L, x: L.nn.functional.softshrink(x), [away_from(rand(3, 5, seed=7), (-0.5, 0.5))]),
    ("Tanhshrink", lambda L, x: L.nn.Tanhshrink()(x), [rand(3, 5, seed=8)]),
    ("tanhshrink", lambda L, x: L.nn.functional.tanhshrink(x), [rand(4, seed=9)]),
    ("RReLU-eval", lambda L, x: L.nn.RReLU(0.1, 0.3).eval()(x), [away_from(rand(3, 5, seed=10))]),
    ("rrelu-default-eval", lambda L, x: L.nn.functional.rrelu(x), [away_from(rand(3, 5, seed=11))]),
    # normalization, bilinear
    ("LocalResponseNorm-3d", lambda L, x: L.nn.LocalResponseNorm(3)(x), [rand(2, 5, 4)]),
    ("LocalResponseNorm-4d", lambda L, x: L.nn.LocalResponseNorm(2, alpha=0.5, beta=0.6, k=2.0)(x),
     [rand(2, 4, 3, 3)]),
    ("local_response_norm-5d", lambda L, x: L.nn.functional.local_response_norm(x, 4, 0.8, 1.1, 1.5),
     [rand(2, 5, 2, 2, 3)]),
    ("bilinear", lambda L, a, b, w, c: L.nn.functional.bilinear(a, b, w, c),
     [rand(6, 3, seed=1), rand(6, 4, seed=2), rand(5, 3, 4, seed=3), rand(5, seed=4)]),
    ("bilinear-3d-nobias", lambda L, a, b, w: L.nn.functional.bilinear(a, b, w),
     [rand(2, 3, 3, seed=1), rand(2, 3, 2, seed=2), rand(4, 3, 2, seed=3)]),
    ("bilinear-1d", lambda L, a, b, w, c: L.nn.functional.bilinear(a, b, w, c),
     [rand(3, seed=1), rand(4, seed=2), rand(2, 3, 4, seed=3), rand(2, seed=4)]),
    # im2col / col2im
    ("Unfold", lambda L, x: L.nn.Unfold(2)(x), [rand(2, 3, 4, 5)]),
    ("Unfold-options", lambda L, x: L.nn.Unfold((2, 3), dilation=(2, 1), padding=1, stride=(1, 2))(x),
     [rand(2, 2, 5, 6)]),
    ("unfold-unbatched", lambda L, x: L.nn.functional.unfold(x, 3, padding=1, stride=2), [rand(2, 4, 5)]),
    ("Fold", lambda L, x: L.nn.Fold((4, 5), 2)(x), [rand(2, 12, 12)]),
    ("Fold-options", lambda L, x: L.nn.Fold((5, 6), (2, 3), dilation=(2, 1), padding=1, stride=(1, 2))(x),
     [rand(2, 12, 15)]),
    ("fold-unbatched", lambda L, x: L.nn.functional.fold(x, (4, 5), 3, padding=1, stride=2), [rand(18, 6)]),
    # transposed 1-D convolution (weights and bias are inputs here: their gradients are compared too)
    ("conv_transpose1d", lambda L, x, w, b: L.nn.functional.conv_transpose1d(x, w, b, stride=2, padding=1,
                                                                             output_padding=1, groups=2),
     [rand(2, 4, 5, seed=1), rand(4, 3, 3, seed=2), rand(6, seed=3)]),
    ("conv_transpose1d-dilation", lambda L, x, w: L.nn.functional.conv_transpose1d(x, w, dilation=2, padding=2),
     [rand(2, 3, 6, seed=1), rand(3, 2, 4, seed=2)]),
    ("conv_transpose1d-unbatched", lambda L, x, w, b: L.nn.functional.conv_transpose1d(x, w, b, stride=3),
     [rand(3, 4, seed=1), rand(3, 2, 2, seed=2), rand(2, seed=3)]),
    # max unpooling, with the indices of each library's own max pool
    ("MaxUnpool2d", _unpool(2, (2,), (2, 3, 4, 6), lambda L, y, i: L.nn.MaxUnpool2d(2)(y, i)), [rand(2, 3, 2, 3)]),
    ("MaxUnpool2d-overlap", _unpool(2, (3, 2, 1), (1, 2, 7, 7), lambda L, y, i: L.nn.MaxUnpool2d(3, 2, 1)(y, i)),
     [rand(1, 2, 4, 4)]),
    ("MaxUnpool2d-output_size", _unpool(2, (2,), (1, 2, 5, 5),
                                        lambda L, y, i: L.nn.MaxUnpool2d(2)(y, i, output_size=(1, 2, 5, 5))),
     [rand(1, 2, 2, 2)]),
    ("max_unpool2d-unbatched", _unpool(2, ((2, 1),), (3, 4, 4), lambda L, y, i: L.nn.functional.max_unpool2d(
        y, i, (2, 1))), [rand(3, 2, 4)]),
    ("MaxUnpool1d", _unpool(1, (2,), (2, 3, 8), lambda L, y, i: L.nn.MaxUnpool1d(2)(y, i)), [rand(2, 3, 4)]),
    ("max_unpool1d-output_size", _unpool(1, (2, 2, 1), (2, 2, 9), lambda L, y, i: L.nn.functional.max_unpool1d(
        y, i, 2, 2, 1, output_size=[9])), [rand(2, 2, 5)]),
    ("max_unpool1d-unbatched", _unpool(1, (2,), (3, 6), lambda L, y, i: L.nn.functional.max_unpool1d(y, i, 2)),
     [rand(3, 3)]),
    # pairwise distances between rows
    ("pdist", lambda L, x: L.nn.functional.pdist(x), [rand(5, 3)]),
    ("pdist-p1", lambda L, x: L.nn.functional.pdist(x, 1), [rand(4, 3)]),
    ("pdist-p3", lambda L, x: L.nn.functional.pdist(x, 3.0), [rand(4, 3)]),
    ("pdist-p0.5", lambda L, x: L.nn.functional.pdist(x, 0.5), [rand(4, 3)]),
    ("pdist-inf", lambda L, x: L.nn.functional.pdist(x, math.inf), [rand(4, 3)]),
    ("pdist-one-row", lambda L, x: L.nn.functional.pdist(x), [rand(1, 3)]),
]


@pytest.mark.parametrize("name, fn, arrays", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_in_float64(name: str, fn: Callable[..., Any], arrays: list[np.ndarray]) -> None:
    compare_with_torch(fn, *arrays, **TIGHT)


@pytest.mark.parametrize("name, fn, arrays", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name: str, fn: Callable[..., Any], arrays: list[np.ndarray]) -> None:
    if name == "pdist-one-row":  # no output elements, nothing to check
        assert F.pdist(nerve.tensor(arrays[0])).shape == (0,)
        return
    if name == "MaxUnpool2d-overlap":
        # NOTE: overlapping windows share maxima, so an index repeats: the forward keeps one write (the last, as
        # torch's CPU kernel), while the gradient (a gather, as torch's) reaches every copy. Not a function of
        # each input element separately, so finite differences disagree by design; parity with torch holds.
        return
    check_grad(lambda *xs: fn(nerve, *xs), *arrays)


@pytest.mark.parametrize("name, fn, arrays", CASES[::4], ids=[c[0] for c in CASES[::4]])
def test_float32_stays_float32(name: str, fn: Callable[..., Any], arrays: list[np.ndarray]) -> None:
    xs = [nerve.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    y = fn(nerve, *xs)
    assert y.dtype == np.float32
    y.sum().backward()
    assert all(x.grad.dtype == np.float32 for x in xs)


# Composites get higher-order gradients for free: the Hessian-vector product of sum(f(x)^2 · w) against torch's.
DOUBLE = [
    ("unfold", lambda L, x: L.nn.functional.unfold(x, (2, 3), dilation=(2, 1), padding=1, stride=(1, 2)),
     [rand(1, 2, 5, 6)]),
    ("fold", lambda L, x: L.nn.functional.fold(x, (5, 6), (2, 3), padding=1, stride=(1, 2)), [rand(1, 12, 18)]),
    ("local_response_norm", lambda L, x: L.nn.functional.local_response_norm(x, 3, 0.5, 0.75, 1.0),
     [rand(2, 4, 3)]),
    ("bilinear", lambda L, a, b, w: L.nn.functional.bilinear(a, b, w), [rand(3, 2), rand(3, 3), rand(2, 2, 3)]),
    ("conv_transpose1d", lambda L, x, w: L.nn.functional.conv_transpose1d(x, w, stride=2),
     [rand(2, 2, 4), rand(2, 3, 3)]),
    ("max_unpool2d", _unpool(2, (2,), (1, 2, 4, 4), lambda L, y, i: L.nn.functional.max_unpool2d(y, i, 2)),
     [rand(1, 2, 2, 2)]),
    ("softshrink", lambda L, x: L.nn.functional.softshrink(x).tanh(), [away_from(rand(3, 4), (-0.5, 0.5))]),
    ("tanhshrink", lambda L, x: L.nn.functional.tanhshrink(x), [rand(3, 4)]),
    ("reflection_pad", lambda L, x: L.nn.ReflectionPad2d((1, 2, 2, 0))(x).sin(), [rand(1, 2, 3, 4)]),
]


def _grad_and_hvp(lib: Any, fn: Callable[..., Any], arrays: list[np.ndarray]) -> list[np.ndarray]:
    xs = [lib.tensor(a.copy()).requires_grad_(True) for a in arrays]
    y = fn(lib, *xs)
    w = lib.tensor(np.random.default_rng(3).standard_normal(tuple(y.shape)))
    grads = lib.autograd.grad((y * y * w).sum(), xs, create_graph=True)
    vs = [lib.tensor(np.random.default_rng(11 + i).standard_normal(a.shape)) for i, a in enumerate(arrays)]
    hvp = lib.autograd.grad(sum((g * v).sum() for g, v in zip(grads, vs)), xs)
    return [t.detach().numpy() for t in (*grads, *hvp)]


@pytest.mark.parametrize("name, fn, arrays", DOUBLE, ids=[c[0] for c in DOUBLE])
def test_double_backward_matches_torch(name: str, fn: Callable[..., Any], arrays: list[np.ndarray]) -> None:
    for a, b in zip(_grad_and_hvp(nerve, fn, arrays), _grad_and_hvp(torch, fn, arrays), strict=True):
        assert np.abs(b).max() > 0
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_pdist_double_backward_matches_finite_differences() -> None:
    # torch has no double backward for pdist ("the derivative for '_pdist_backward' is not implemented"); nerve's
    # composite has one: its Hessian-vector product against central differences of the gradient
    x0, v = rand(4, 3, seed=1), rand(4, 3, seed=2)
    w = nerve.tensor(rand(6, seed=3))

    def gradient(a: np.ndarray, create_graph: bool = False) -> tuple[nerve.Tensor, nerve.Tensor]:
        x = nerve.tensor(a, requires_grad=True)
        (g,) = nerve.autograd.grad((F.pdist(x) ** 2 * w).sum() + (F.pdist(x, 3.0) * w).sum(), [x],
                                   create_graph=create_graph)
        return x, g

    x, g = gradient(x0, create_graph=True)
    (hvp,) = nerve.autograd.grad((g * nerve.tensor(v)).sum(), [x])
    eps = 1e-6
    numerical = (gradient(x0 + eps * v)[1].data - gradient(x0 - eps * v)[1].data) / (2 * eps)
    np.testing.assert_allclose(hvp.data, numerical, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------------------ layers with parameters


def _copy_into(module: nn.Module, reference: torch.nn.Module) -> None:
    module.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})


MODULES = [
    ("Bilinear", (3, 4, 5), {}, [(6, 3), (6, 4)]),
    ("Bilinear", (3, 2, 4), dict(bias=False), [(2, 3, 3), (2, 3, 2)]),
    ("ConvTranspose1d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2), [(2, 4, 5)]),
    ("ConvTranspose1d", (3, 2, 4), dict(dilation=2, bias=False), [(3, 6)]),
]


@pytest.mark.parametrize("name, args, kwargs, shapes", MODULES)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_parameterized_modules_match_torch(name: str, args: tuple[int, ...], kwargs: dict[str, Any],
                                           shapes: list[tuple[int, ...]], mode: str) -> None:
    t = getattr(torch.nn, name)(*args, **kwargs).double()
    n = getattr(nn, name)(*args, **kwargs).double()
    _copy_into(n, t)
    getattr(t, mode)()
    getattr(n, mode)()
    xs = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    xn = [nerve.tensor(x, requires_grad=True) for x in xs]
    xt = [torch.tensor(x, requires_grad=True) for x in xs]
    yn, yt = n(*xn), t(*xt)
    assert yn.shape == tuple(yt.shape) and yn.dtype == np.float64
    np.testing.assert_allclose(yn.data, yt.detach().numpy(), **TIGHT)
    w = rand(*yn.shape, seed=9)
    (yn * nerve.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    for a, b in zip(xn, xt):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), **TIGHT)
    grads = dict(t.named_parameters())
    assert {k for k, _ in n.named_parameters()} == set(grads)
    for pname, p in n.named_parameters():
        np.testing.assert_allclose(p.grad.data, grads[pname].grad.numpy(), **TIGHT, err_msg=pname)


@pytest.mark.parametrize("name, args, kwargs, shapes", MODULES)
def test_parameterized_modules_shapes_init_and_repr(name: str, args: tuple[int, ...], kwargs: dict[str, Any],
                                                    shapes: list[tuple[int, ...]]) -> None:
    t = getattr(torch.nn, name)(*args, **kwargs)
    n = getattr(nn, name)(*args, **kwargs)
    assert repr(n) == repr(t)
    assert {k: tuple(v.shape) for k, v in n.state_dict().items()} == {k: tuple(v.shape)
                                                                      for k, v in t.state_dict().items()}
    # torch's bounds: Bilinear U(±1/√in1); ConvTranspose1d U(±1/√fan_in), fan_in = weight.shape[1]·k
    fan_in = n.weight.shape[1] * (n.weight.shape[2] if name == "ConvTranspose1d" else 1)
    bound = 1 / math.sqrt(fan_in)
    for p in n.parameters():
        assert p.dtype == np.float32
        assert 0.6 * bound < np.abs(p.data).max() <= bound


def test_conv_transpose1d_output_size_matches_torch() -> None:
    t = torch.nn.ConvTranspose1d(2, 3, 3, stride=3, padding=1).double()
    n = nn.ConvTranspose1d(2, 3, 3, stride=3, padding=1).double()
    _copy_into(n, t)
    x = rand(1, 2, 5)
    for size in ([13], [1, 3, 14], (15,)):
        out_n = n(nerve.tensor(x), output_size=size)
        out_t = t(torch.tensor(x), output_size=list(size))
        assert out_n.shape == tuple(out_t.shape) == (1, 3, size[-1])
        np.testing.assert_allclose(out_n.data, out_t.detach().numpy(), **TIGHT)
    with pytest.raises(ValueError, match=r"^ConvTranspose1d\(2, 3, .*\): requested an output size of 16, but "
                                         r"valid sizes range from 13 to 15 for an input of length 5$"):
        n(nerve.tensor(x), output_size=[16])


def test_max_unpool_inverts_max_pool_where_the_maxima_were() -> None:
    x = nerve.tensor(rand(2, 3, 6, 4, seed=5))
    y, idx = nn.MaxPool2d(2, return_indices=True)(x)
    restored = nn.MaxUnpool2d(2)(y, idx)
    kept = restored.data != 0
    assert kept.sum() == y.numel()  # one maximum per 2x2 window, nothing else
    np.testing.assert_array_equal(restored.data[kept], x.data[kept])
    blocks = x.data.reshape(2, 3, 3, 2, 2, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(np.sort(restored.data[kept]), np.sort(blocks.ravel()))


def test_fold_of_unfold_counts_the_blocks_covering_each_pixel() -> None:
    ones = nerve.ones(1, 1, 4, 5, dtype=nerve.float64)
    counts = F.fold(F.unfold(ones, 3, padding=1), (4, 5), 3, padding=1)
    expected = np.minimum(np.arange(4), 1) + 1 + np.minimum(np.arange(4)[::-1], 1)
    expected = np.outer(expected, np.minimum(np.arange(5), 1) + 1 + np.minimum(np.arange(5)[::-1], 1))
    np.testing.assert_array_equal(counts.data[0, 0], expected)


def test_unfold_as_im2col_gives_conv2d() -> None:
    x, w = nerve.tensor(rand(2, 3, 5, 6, seed=1)), nerve.tensor(rand(4, 3, 2, 3, seed=2))
    cols = F.unfold(x, (2, 3), padding=1, stride=2)
    out = (w.reshape(4, -1) @ cols).reshape(2, 4, 3, 3)
    np.testing.assert_allclose(out.data, F.conv2d(x, w, padding=1, stride=2).data, **TIGHT)


def test_softmax2d_sums_to_one_over_channels() -> None:
    y = nn.Softmax2d()(nerve.tensor(rand(2, 4, 3, 3)))
    np.testing.assert_allclose(y.data.sum(1), 1.0, **TIGHT)


# ----------------------------------------------------------------------------------- random layers: RReLU


def test_rrelu_train_draws_one_slope_per_negative_element() -> None:
    x = nerve.tensor(away_from(rand(40, 100, seed=3)), requires_grad=True)
    m = nn.RReLU(0.1, 0.3)
    assert m.training
    y = m(x)
    pos, neg = x.data > 0, x.data < 0
    np.testing.assert_array_equal(y.data[pos], x.data[pos])
    slopes = y.data[neg] / x.data[neg]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert abs(slopes.mean() - 0.2) < 0.01 and abs(slopes.std() - 0.2 / math.sqrt(12)) < 0.01  # U(0.1, 0.3)
    w = rand(40, 100, seed=4)
    (y * nerve.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.data[neg], w[neg] * slopes, **TIGHT)
    np.testing.assert_allclose(x.grad.data[pos], w[pos], **TIGHT)


def test_rrelu_is_seeded_and_fresh_per_call() -> None:
    x = nerve.tensor(rand(5, 6, seed=1))
    nerve.manual_seed(7)
    first, second = nn.RReLU()(x), nn.RReLU()(x)
    nerve.manual_seed(7)
    np.testing.assert_array_equal(nn.RReLU()(x).data, first.data)
    assert not np.array_equal(first.data, second.data)
    a = F.rrelu(x, training=True, generator=nerve.Generator(3))
    np.testing.assert_array_equal(F.rrelu(x, training=True, generator=nerve.Generator(3)).data, a.data)


def test_rrelu_eval_is_exactly_torch_leaky_relu_at_the_mean_slope() -> None:
    x = rand(3, 7, seed=2)
    m = nn.RReLU(0.2, 0.4).eval()
    t = torch.nn.RReLU(0.2, 0.4).eval()
    np.testing.assert_array_equal(m(nerve.tensor(x)).data, t(torch.tensor(x)).numpy())
    assert repr(m) == repr(t)


# -------------------------------------------------------------------------------------- gumbel-softmax


def _torch_gumbel(logits: np.ndarray, exponentials: np.ndarray, tau: float, hard: bool, dim: int) -> Any:
    """PyTorch's gumbel_softmax written out with given Exp(1) draws (the function draws them internally)."""
    lt = torch.tensor(logits, requires_grad=True)
    y_soft = ((lt - torch.tensor(exponentials).log()) / tau).softmax(dim)
    if not hard:
        return lt, y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    return lt, torch.zeros_like(y_soft).scatter_(dim, index, 1.0) - y_soft.detach() + y_soft


def test_torch_gumbel_softmax_is_the_written_out_formula() -> None:
    logits = rand(4, 5, seed=1)
    for hard in (False, True):
        torch.manual_seed(3)
        exponentials = torch.empty(4, 5, dtype=torch.float64).exponential_().numpy()
        torch.manual_seed(3)
        y = torch.nn.functional.gumbel_softmax(torch.tensor(logits), tau=0.7, hard=hard, dim=0)
        np.testing.assert_allclose(y.numpy(), _torch_gumbel(logits, exponentials, 0.7, hard, 0)[1].detach().numpy(),
                                   **TIGHT)


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("dim", [0, -1])
def test_gumbel_softmax_matches_torch_given_the_same_noise(hard: bool, dim: int) -> None:
    logits = rand(4, 5, seed=1)
    exponentials = nerve.Generator(11).np.standard_exponential((4, 5))  # what nerve's generator will draw
    xn = nerve.tensor(logits, requires_grad=True)
    yn = F.gumbel_softmax(xn, tau=0.5, hard=hard, dim=dim, generator=nerve.Generator(11))
    xt, yt = _torch_gumbel(logits, exponentials, 0.5, hard, dim)
    np.testing.assert_allclose(yn.data, yt.detach().numpy(), **TIGHT)
    w = rand(4, 5, seed=2)
    (yn * nerve.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), **TIGHT)
    if hard:
        np.testing.assert_allclose(yn.data.sum(dim), 1.0, **TIGHT)
        assert set(np.round(yn.data, 12).ravel()) <= {0.0, 1.0}


def test_gumbel_softmax_properties_and_seeding() -> None:
    logits = nerve.tensor(rand(6, 4, seed=3))
    nerve.manual_seed(1)
    soft = F.gumbel_softmax(logits)
    nerve.manual_seed(1)
    hard = F.gumbel_softmax(logits, hard=True)
    assert np.all(soft.data > 0)
    np.testing.assert_allclose(soft.data.sum(-1), 1.0, **TIGHT)
    np.testing.assert_array_equal(hard.data.argmax(-1), soft.data.argmax(-1))  # same noise, same sample
    assert not np.array_equal(F.gumbel_softmax(logits).data, soft.data)
    # low temperature: the soft sample approaches its one-hot argmax
    sharp = F.gumbel_softmax(logits, tau=1e-3, generator=nerve.Generator(0))
    np.testing.assert_allclose(sharp.data.max(-1), 1.0, atol=1e-6)


def test_gumbel_max_samples_follow_the_softmax_of_the_logits() -> None:
    logits = np.array([1.0, 0.0, -1.0, 0.5])
    samples = F.gumbel_softmax(nerve.tensor(np.tile(logits, (20000, 1))), hard=True, generator=nerve.Generator(5))
    frequencies = samples.data.mean(0)
    probabilities = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(frequencies, probabilities, atol=0.015)


def test_gumbel_softmax_eps_is_deprecated_like_torch() -> None:
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
        F.gumbel_softmax(nerve.tensor(rand(3)), eps=1e-3)


# --------------------------------------------------------------------------------- alpha dropout


_ALPHA = 1.7580993408473766


def _alpha_values(p: float) -> tuple[float, float, float]:
    """(scale, shift of kept elements, value of dropped ones) from SELU's constants, as PyTorch."""
    a = 1 / math.sqrt((_ALPHA**2 * p + 1) * (1 - p))
    return a, _ALPHA * a * p, -_ALPHA * a * (1 - p)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_alpha_dropout_train_keeps_or_saturates_each_element(p: float) -> None:
    x = nerve.tensor(rand(100, 100, seed=1), requires_grad=True)
    y = nn.AlphaDropout(p)(x)
    a, b, dropped_value = _alpha_values(p)
    kept = np.isclose(y.data, a * x.data + b, rtol=0, atol=1e-12)
    dropped = np.isclose(y.data, dropped_value, rtol=0, atol=1e-12)
    assert np.all(kept ^ dropped)
    assert abs(dropped.mean() - p) < 0.02
    w = rand(100, 100, seed=2)
    (y * nerve.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.where(kept, a * w, 0.0), **TIGHT)


def test_alpha_dropout_keeps_standard_normal_inputs_standard() -> None:
    x = nerve.tensor(np.random.default_rng(0).standard_normal(200000))
    y = F.alpha_dropout(x, 0.3, training=True)
    assert abs(y.data.mean()) < 0.01 and abs(y.data.std() - 1) < 0.01
    assert abs(x.data.std() - 1) < 0.01


def test_feature_alpha_dropout_drops_whole_channels() -> None:
    x = nerve.tensor(rand(40, 30, 3, 4, seed=1))
    y = nn.FeatureAlphaDropout(0.4)(x)
    a, b, dropped_value = _alpha_values(0.4)
    dropped = np.all(np.isclose(y.data, dropped_value, rtol=0, atol=1e-12), axis=(2, 3))
    kept = np.all(np.isclose(y.data, a * x.data + b, rtol=0, atol=1e-12), axis=(2, 3))
    assert np.all(kept ^ dropped)
    assert abs(dropped.mean() - 0.4) < 0.05
    y2 = F.feature_alpha_dropout(nerve.tensor(rand(50, 40, seed=2)), 0.5, training=True)  # (N, C): per element
    assert 0.4 < np.isclose(y2.data, _alpha_values(0.5)[2]).mean() < 0.6


@pytest.mark.parametrize("name", ["AlphaDropout", "FeatureAlphaDropout"])
def test_alpha_dropouts_eval_edge_probabilities_seeds_and_repr_like_torch(name: str) -> None:
    x = rand(4, 3, 5, seed=3)
    n, t = getattr(nn, name)(0.3).eval(), getattr(torch.nn, name)(0.3).eval()
    assert repr(n) == repr(t)
    xn = nerve.tensor(x, requires_grad=True)
    np.testing.assert_array_equal(n(xn).data, t(torch.tensor(x)).numpy())
    n(xn).sum().backward()
    np.testing.assert_array_equal(xn.grad.data, np.ones_like(x))
    fn, tfn = (F.alpha_dropout, torch.nn.functional.alpha_dropout) if name == "AlphaDropout" else (
        F.feature_alpha_dropout, torch.nn.functional.feature_alpha_dropout)
    np.testing.assert_array_equal(fn(nerve.tensor(x), 0.3).data, x)  # functional default: training=False
    for p in (0.0, 1.0):
        np.testing.assert_array_equal(fn(nerve.tensor(x), p, True).data, tfn(torch.tensor(x), p, True).numpy())
    n.train()
    nerve.manual_seed(4)
    first, second = n(nerve.tensor(x)), n(nerve.tensor(x))
    nerve.manual_seed(4)
    np.testing.assert_array_equal(n(nerve.tensor(x)).data, first.data)
    assert not np.array_equal(first.data, second.data)
    gen = fn(nerve.tensor(x), 0.5, True, generator=nerve.Generator(2))
    np.testing.assert_array_equal(fn(nerve.tensor(x), 0.5, True, generator=nerve.Generator(2)).data, gen.data)
    assert n(nerve.tensor(x.astype(np.float32))).dtype == np.float32


# ------------------------------------------------------------------------------------------------ errors


def _pool_output() -> tuple[nerve.Tensor, nerve.Tensor]:
    return F.max_pool2d(nerve.tensor(rand(1, 2, 4, 4)), 2, return_indices=True)


ERRORS: list[tuple[Callable[[], Any], type[Exception], str]] = [
    (lambda: nn.ReflectionPad1d(3)(nerve.ones(1, 2, 3)), ValueError,
     r"^ReflectionPad1d: padding \(3, 3\) of dim 2 must be less than its size 3, got input shape \(1, 2, 3\)$"),
    (lambda: nn.ReflectionPad2d(1)(nerve.ones(4, 4)), ValueError,
     r"^ReflectionPad2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got shape \(4, 4\)$"),
    (lambda: nn.ReplicationPad1d(1)(nerve.ones(1, 2, 3, 4)), ValueError,
     r"^ReplicationPad1d: expected a 2-D \(C, W\) or 3-D \(N, C, W\) input, got shape \(1, 2, 3, 4\)$"),
    (lambda: nn.CircularPad1d((5, 0))(nerve.ones(1, 2, 4)), ValueError,
     r"^CircularPad1d: padding \(5, 0\) of dim 2 must be at most its size 4"),
    (lambda: nn.CircularPad2d((1, 1, 3, -1))(nerve.ones(1, 2, 3, 4)), ValueError,
     r"^CircularPad2d: padding \(3, -1\) of dim 2 must be at most its size 2 \(after cropping\)"),
    (lambda: nn.ReplicationPad1d((1, 2, 3)), ValueError,
     r"^ReplicationPad1d: padding must be an int or 2 ints \(left, right\), got \(1, 2, 3\)$"),
    (lambda: nn.ReflectionPad2d((1, 2)), ValueError,
     r"^ReflectionPad2d: padding must be an int or 4 ints \(left, right, top, bottom\), got \(1, 2\)$"),
    (lambda: nn.ZeroPad1d(1)(nerve.tensor(1.0)), ValueError,
     r"^ZeroPad1d: expected an input with at least 1 dim \(\*, W\), got shape \(\)$"),
    (lambda: nn.UpsamplingNearest2d(scale_factor=2)(nerve.ones(1, 2, 3)), ValueError,
     r"^UpsamplingNearest2d: expected a 4-D \(N, C, H, W\) input, got shape \(1, 2, 3\)$"),
    (lambda: nn.UpsamplingBilinear2d(4)(np.ones((1, 1, 2, 2))), ValueError,
     r"^UpsamplingBilinear2d: expected a 4-D \(N, C, H, W\) input, got ndarray$"),
    (lambda: nn.Softmax2d()(nerve.ones(3, 4)), ValueError,
     r"^Softmax2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got shape \(3, 4\)$"),
    (lambda: nn.Softshrink(-1.0), ValueError, r"^Softshrink: lambd must be non-negative, got -1.0$"),
    (lambda: F.softshrink(nerve.ones(3), -0.5), ValueError, r"^softshrink: lambd must be non-negative, got -0.5$"),
    (lambda: nn.Hardshrink()(nerve.tensor([1, 2])), TypeError,
     r"^hardshrink: expected a floating-point tensor, got dtype int64$"),
    (lambda: nn.Threshold(0.1, 2.0)([1.0]), TypeError, r"^threshold: expected a nerve.Tensor, got list"),
    (lambda: nn.RReLU(0.5, 0.2), ValueError, r"^RReLU: lower bound \(0.5\) must be at most the upper bound \(0.2\)$"),
    (lambda: F.rrelu(nerve.ones(3), 0.5, 0.2), ValueError, r"^rrelu: lower bound \(0.5\) must be at most"),
    (lambda: F.gumbel_softmax(nerve.tensor([1, 2])), TypeError, r"^gumbel_softmax: expected a floating-point"),
    (lambda: nn.AlphaDropout(1.5), ValueError, r"^AlphaDropout: p must be in \[0, 1\], got 1.5$"),
    (lambda: F.alpha_dropout(nerve.ones(3), -0.1, True), ValueError,
     r"^alpha_dropout: dropout probability has to be between 0 and 1, but got -0.1$"),
    (lambda: nn.FeatureAlphaDropout(0.5)(nerve.ones(3)), ValueError,
     r"^feature_alpha_dropout: feature dropout needs an input with at least 2 dims \(N, C, \*\), got shape \(3,\)$"),
    (lambda: nn.LocalResponseNorm(2)(nerve.ones(3, 4)), ValueError,
     r"^LocalResponseNorm\(2, alpha=0.0001, beta=0.75, k=1.0\): expected an input with 3 or more dims \(N, C, \*\), "
     r"got shape \(3, 4\)$"),
    (lambda: nn.LocalResponseNorm(0), ValueError, r"^LocalResponseNorm: size must be a positive int, got 0$"),
    (lambda: F.local_response_norm(nerve.ones(2), 2), ValueError, r"^local_response_norm: expected an input"),
    (lambda: nn.Bilinear(3, 4, 5)(nerve.ones(2, 3), nerve.ones(2, 3)), ValueError,
     r"^Bilinear\(in1_features=3, in2_features=4, out_features=5, bias=True\): expected inputs of shape \(\*, 3\) "
     r"and \(\*, 4\), got \(2, 3\) and \(2, 3\)$"),
    (lambda: nn.Bilinear(3, 4, 5)(nerve.ones(2, 3), nerve.ones(3, 4)), ValueError,
     r"^Bilinear\(.*\): the inputs' leading dims must match, got \(2, 3\) and \(3, 4\)$"),
    (lambda: nn.Bilinear(3, 4, 5)(nerve.ones(2, 3, dtype=nerve.float64), nerve.ones(2, 4)), TypeError,
     r"^Bilinear\(.*\): inputs of dtype float64 and float32, but the weight is float32"),
    (lambda: F.bilinear(nerve.ones(2, 3), nerve.ones(2, 4), nerve.ones(5, 3)), ValueError,
     r"^bilinear: expected a 3-D weight \(out, in1, in2\), got shape \(5, 3\)$"),
    (lambda: nn.Unfold(2)(nerve.ones(4, 4)), ValueError,
     r"^Unfold\(kernel_size=2, dilation=1, padding=0, stride=1\): expected a 4-D \(N, C, H, W\) or unbatched 3-D "
     r"\(C, H, W\) input, got shape \(4, 4\)$"),
    (lambda: F.unfold(nerve.ones(1, 1, 2, 2), 3), ValueError,
     r"^unfold: spatial size 2x2 with kernel_size=\(3, 3\), dilation=\(1, 1\), padding=\(0, 0\) leaves no sliding "
     r"block \(got 0x0\)$"),
    (lambda: F.unfold(nerve.ones(1, 1, 4, 4), 2, stride=0), ValueError, r"^unfold: stride must be >= 1, got 0$"),
    (lambda: nn.Fold((4, 5), 2)(nerve.ones(1, 13, 12)), ValueError,
     r"^Fold\(output_size=\(4, 5\), .*\): expected dim 1 of the input to be divisible by kh·kw = 4"),
    (lambda: nn.Fold((4, 5), 2)(nerve.ones(1, 12, 11)), ValueError,
     r"^Fold\(.*\): output_size=\(4, 5\) .* has 3·4 = 12 blocks, but dim 2 of the input has 11$"),
    (lambda: F.fold(nerve.ones(1, 4, 1, 1), (2, 2), 2), ValueError,
     r"^fold: expected a 3-D \(N, C·kh·kw, L\) or unbatched 2-D \(C·kh·kw, L\) input, got shape \(1, 4, 1, 1\)$"),
    (lambda: nn.ConvTranspose1d(4, 6, 3)(nerve.ones(2, 3, 5)), ValueError,
     r"^ConvTranspose1d\(4, 6, kernel_size=\(3,\), stride=\(1,\)\): expected input with 4 channels \(N, 4, L\), "
     r"got shape \(2, 3, 5\)$"),
    (lambda: nn.ConvTranspose1d(4, 6, 3)(nerve.ones(2, 4, 5, 5)), ValueError,
     r"^ConvTranspose1d\(.*\): expected a 3-D input \(N, C, L\) or an unbatched 2-D one \(C, L\), got shape"),
    (lambda: F.conv_transpose1d(nerve.ones(1, 2, 5), nerve.ones(2, 3, 3), stride=2, output_padding=2), ValueError,
     r"^conv_transpose1d: output_padding \(2\) must be smaller than stride \(2\) or dilation \(1\)$"),
    (lambda: nn.ConvTranspose1d(2, 2, 3, padding="same"), ValueError, r"^ConvTranspose1d: padding must be an int"),
    (lambda: nn.MaxUnpool2d(2)(_pool_output()[0], _pool_output()[1].to(nerve.float32)), TypeError,
     r"^MaxUnpool2d\(kernel_size=\(2, 2\), stride=\(2, 2\), padding=\(0, 0\)\): indices must be int64 \(a max "
     r"pool's return_indices\), got float32$"),
    (lambda: nn.MaxUnpool2d(2)(_pool_output()[0], _pool_output()[1][:, :1]), ValueError,
     r"^MaxUnpool2d\(.*\): indices of shape \(1, 1, 2, 2\) must have the input's shape \(1, 2, 2, 2\)$"),
    (lambda: nn.MaxUnpool2d(2)(nerve.ones(1, 1, 2, 2), nerve.tensor([[[[0, 1], [2, 99]]]])), ValueError,
     r"^MaxUnpool2d\(.*\): found an invalid max index 99: output planes of size 4x4 hold positions 0..15$"),
    (lambda: nn.MaxUnpool2d(2)(*_pool_output(), output_size=(7, 5)), ValueError,
     r"^MaxUnpool2d\(.*\): invalid output_size \(7, 5\): each size must be strictly between \[2, 2\] and \[6, 6\]$"),
    (lambda: nn.MaxUnpool1d(2)(nerve.ones(1, 2, 3, 4), nerve.zeros(1, 2, 3, 4, dtype=nerve.int64)), ValueError,
     r"^MaxUnpool1d\(kernel_size=\(2,\), stride=\(2,\), padding=\(0,\)\): expected a 3-D \(N, C, L\) or unbatched "
     r"2-D \(C, L\) input, got shape \(1, 2, 3, 4\)$"),
    (lambda: F.max_unpool1d(nerve.ones(1, 2, 3), nerve.zeros(1, 2, 3, dtype=nerve.int64), 2, output_size=[1, 2]),
     ValueError, r"^max_unpool1d: output_size must have 1 or 3 elements, got \[1, 2\]$"),
    (lambda: F.pdist(nerve.ones(3)), ValueError, r"^pdist: expected a floating 2-D input \(N, M\), got shape \(3,\)"),
    (lambda: F.pdist(nerve.ones(3, 2), -1.0), ValueError, r"^pdist: p must be non-negative, got -1.0$"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=[f"{i}" for i in range(len(ERRORS))])
def test_bad_input_raises_a_clear_error(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_padding_and_upsampling_reprs_match_torch() -> None:
    for make in (lambda L: L.nn.ConstantPad1d((1, 2), 0.5), lambda L: L.nn.ZeroPad1d(2),
                 lambda L: L.nn.ReflectionPad1d(1), lambda L: L.nn.ReflectionPad2d((1, 2, 3, 4)),
                 lambda L: L.nn.ReplicationPad1d((0, 2)), lambda L: L.nn.ReplicationPad2d(1),
                 lambda L: L.nn.CircularPad1d(3), lambda L: L.nn.CircularPad2d((1, 0, 0, 1)),
                 lambda L: L.nn.UpsamplingNearest2d(scale_factor=2), lambda L: L.nn.UpsamplingBilinear2d(size=(3, 4)),
                 lambda L: L.nn.Softmax2d(), lambda L: L.nn.Threshold(0.1, 20), lambda L: L.nn.Hardshrink(0.7),
                 lambda L: L.nn.Softshrink(), lambda L: L.nn.Tanhshrink(), lambda L: L.nn.RReLU(0.1, 0.2),
                 lambda L: L.nn.LocalResponseNorm(3, k=2.0), lambda L: L.nn.Unfold((2, 3), padding=1),
                 lambda L: L.nn.Fold(4, 2, stride=2), lambda L: L.nn.MaxUnpool1d(3, 2),
                 lambda L: L.nn.MaxUnpool2d((2, 3), padding=1)):
        assert re.sub(r"\s", "", repr(make(nerve))) == re.sub(r"\s", "", repr(make(torch)))

"""Pooling, adaptive pooling and interpolation: gradchecks and PyTorch parity (values and indices)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import check_grad, compare_with_torch, rand

import nerve
from nerve.nn import functional as F

# kernel, stride, padding, dilation, ceil_mode: overlapping and non-overlapping windows, odd sizes
MAX_CASES = [
    (2, None, 0, 1, False),
    (3, 2, 1, 1, False),
    (3, 2, 1, 1, True),
    ((2, 3), (1, 2), (1, 1), 1, False),
    (2, 2, 0, 2, True),
    (3, 1, 0, 1, False),
]


def _distinct(*shape: int, seed: int = 1, dtype=np.float64) -> np.ndarray:
    # a random permutation of spaced values: no ties, so max-pool gradients are well defined
    values = np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0
    return values.astype(dtype)


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", MAX_CASES)
def test_max_pool2d_gradcheck_and_torch(kernel, stride, padding, dilation, ceil_mode) -> None:
    def fn(lib, x):
        return lib.nn.functional.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)

    check_grad(lambda x: fn(nerve, x), _distinct(2, 3, 7, 9))
    compare_with_torch(fn, _distinct(2, 3, 7, 9, dtype=np.float32))


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", MAX_CASES)
def test_max_pool2d_indices_match_torch(kernel, stride, padding, dilation, ceil_mode) -> None:
    compare_with_torch(lambda lib, x: lib.nn.functional.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode,
                                                                   return_indices=True),
                       _distinct(2, 3, 7, 9, dtype=np.float32))


def test_max_pool_ties_pick_the_first_maximum_like_torch() -> None:
    x = np.zeros((1, 1, 4, 4), dtype=np.float32)
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = 1.0
    compare_with_torch(lambda lib, t: lib.nn.functional.max_pool2d(t, 2, return_indices=True), x)


@pytest.mark.parametrize("kernel", [2, 3, (2, 3)])
def test_max_pool_gradient_with_ties_goes_to_the_first_maximum_like_torch(kernel) -> None:
    # ReLU outputs: whole windows of zeros tie; 7x9 leaves rows/columns outside every tiled window
    x = np.maximum(np.random.default_rng(3).standard_normal((2, 3, 7, 9)), 0).astype(np.float32)
    x[0, 0, :3, :3] = 0.5
    compare_with_torch(lambda lib, t: lib.nn.functional.max_pool2d(t, kernel), x)


def test_max_pool_propagates_nan_like_torch() -> None:
    x = _distinct(1, 1, 4, 4, dtype=np.float32)
    x[0, 0, 2, 3] = np.nan
    out = F.max_pool2d(nerve.tensor(x), 2)
    assert np.isnan(out.data[0, 0, 1, 1]) and not np.isnan(out.data[0, 0, 0, 0])


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", [(2, None, 0, 1, False), (3, 2, 1, 2, True),
                                                                          (4, 3, 2, 1, False)])
def test_max_pool1d(kernel, stride, padding, dilation, ceil_mode) -> None:
    def fn(lib, x):
        return lib.nn.functional.max_pool1d(x, kernel, stride, padding, dilation, ceil_mode, return_indices=True)

    check_grad(lambda x: fn(nerve, x)[0], _distinct(2, 3, 11))
    compare_with_torch(fn, _distinct(2, 3, 11, dtype=np.float32))


AVG_CASES = [
    (2, None, 0, False, True, None),
    (3, 2, 1, False, True, None),
    (3, 2, 1, True, True, None),
    (3, 2, 1, True, False, None),
    ((3, 2), (2, 1), (1, 0), False, False, None),
    (3, 2, 1, False, True, 4),
]


@pytest.mark.parametrize("kernel, stride, padding, ceil_mode, count_include_pad, divisor", AVG_CASES)
def test_avg_pool2d_gradcheck_and_torch(kernel, stride, padding, ceil_mode, count_include_pad, divisor) -> None:
    def fn(lib, x):
        return lib.nn.functional.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor)

    check_grad(lambda x: fn(nerve, x), rand(2, 3, 7, 8, seed=1))
    compare_with_torch(fn, rand(2, 3, 7, 8, seed=1, dtype=np.float32))


@pytest.mark.parametrize("kernel, stride, padding, ceil_mode, count_include_pad", [(2, None, 0, False, True),
                                                                                   (3, 2, 1, True, False)])
def test_avg_pool1d(kernel, stride, padding, ceil_mode, count_include_pad) -> None:
    def fn(lib, x):
        return lib.nn.functional.avg_pool1d(x, kernel, stride, padding, ceil_mode, count_include_pad)

    check_grad(lambda x: fn(nerve, x), rand(2, 3, 10, seed=1))
    compare_with_torch(fn, rand(2, 3, 10, seed=1, dtype=np.float32))


@pytest.mark.parametrize("size", [1, (1, 1), (3, 4), (5, 7), (2, None), (7, 8)])
def test_adaptive_avg_pool2d(size) -> None:
    check_grad(lambda x: F.adaptive_avg_pool2d(x, size), rand(2, 2, 7, 8, seed=1))
    compare_with_torch(lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, size),
                       rand(2, 2, 7, 8, seed=1, dtype=np.float32))


def test_adaptive_avg_pool1d() -> None:
    check_grad(lambda x: F.adaptive_avg_pool1d(x, 4), rand(2, 3, 10, seed=1))
    compare_with_torch(lambda lib, x: lib.nn.functional.adaptive_avg_pool1d(x, 4), rand(2, 3, 10, seed=1,
                                                                                        dtype=np.float32))


@pytest.mark.parametrize("kwargs", [
    dict(scale_factor=2), dict(size=(5, 11)), dict(scale_factor=1.5), dict(size=(3, 4)),
    dict(scale_factor=2, mode="bilinear"), dict(size=(5, 11), mode="bilinear"),
    dict(size=(5, 11), mode="bilinear", align_corners=True), dict(size=(3, 2), mode="bilinear"),
    dict(scale_factor=(2, 3), mode="bilinear", align_corners=False),
])
def test_interpolate_2d(kwargs) -> None:
    check_grad(lambda x: F.interpolate(x, **kwargs), rand(2, 2, 4, 6, seed=1))
    compare_with_torch(lambda lib, x: lib.nn.functional.interpolate(x, **kwargs),
                       rand(2, 2, 4, 6, seed=1, dtype=np.float32))


@pytest.mark.parametrize("kwargs", [dict(scale_factor=2), dict(size=7, mode="linear"),
                                    dict(size=7, mode="linear", align_corners=True)])
def test_interpolate_1d(kwargs) -> None:
    check_grad(lambda x: F.interpolate(x, **kwargs), rand(2, 2, 5, seed=1))
    compare_with_torch(lambda lib, x: lib.nn.functional.interpolate(x, **kwargs),
                       rand(2, 2, 5, seed=1, dtype=np.float32))


@pytest.mark.parametrize("call, message", [
    (lambda: F.max_pool2d(nerve.randn(2, 3, 1, 5), 2), re.escape(
        "max_pool2d: input of spatial size 1x5 is smaller than the kernel 2x2 (padding (0, 0), "
        "dilation (1, 1)); got input shape (2, 3, 1, 5)")),
    (lambda: F.max_pool2d(nerve.randn(3, 5), 2), re.escape(
        "max_pool2d: expected a 4-D input (N, C, H, W), got shape (3, 5)")),
    (lambda: F.max_pool2d(nerve.randn(1, 1, 5, 5), 2, padding=2), re.escape(
        "max_pool2d: padding (2, 2) must be at most half the kernel size (2, 2)")),
    (lambda: F.avg_pool2d(nerve.randn(1, 1, 5, 5), 0), re.escape("avg_pool2d: kernel_size must be >= 1, got 0")),
    (lambda: F.interpolate(nerve.randn(1, 1, 5, 5), mode="bicubic", size=3), r"mode must be"),
    (lambda: F.interpolate(nerve.randn(1, 1, 5, 5)), r"exactly one of size and scale_factor"),
    (lambda: F.interpolate(nerve.randn(1, 1, 5, 5), size=3, mode="linear"), r"needs a 3-D input"),
    (lambda: F.adaptive_avg_pool2d(nerve.randn(1, 1, 5, 5), 0), r"output_size must be positive"),
])
def test_pool_bad_input_errors(call, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        call()


# ------------------------------------------------------------------------------------------ adaptive max pooling


@pytest.mark.parametrize("size", [1, 3, (2, 4), (None, 2), (5, 7), (4, 3)], ids=str)
def test_adaptive_max_pool2d(size) -> None:
    # 5x7 input: overlapping bins for (2, 4) and (4, 3), identity for (5, 7)
    check_grad(lambda x: F.adaptive_max_pool2d(x, size), _distinct(2, 3, 5, 7))
    compare_with_torch(lambda lib, x: lib.nn.functional.adaptive_max_pool2d(x, size), _distinct(2, 3, 5, 7,
                                                                                                dtype=np.float32))
    compare_with_torch(lambda lib, x: lib.nn.functional.adaptive_max_pool2d(x, size, return_indices=True),
                       _distinct(3, 5, 7, dtype=np.float32))
    compare_with_torch(lambda lib, x: lib.nn.AdaptiveMaxPool2d(size, return_indices=True)(x),
                       _distinct(2, 3, 5, 7, dtype=np.float32))


@pytest.mark.parametrize("size", [1, 3, 4, 6])
def test_adaptive_max_pool1d(size) -> None:
    check_grad(lambda x: F.adaptive_max_pool1d(x, size), _distinct(2, 3, 7))
    compare_with_torch(lambda lib, x: lib.nn.functional.adaptive_max_pool1d(x, size, True),
                       _distinct(2, 3, 7, dtype=np.float32))
    compare_with_torch(lambda lib, x: lib.nn.AdaptiveMaxPool1d(size)(x), _distinct(3, 7, dtype=np.float32))


def test_adaptive_max_pool_ties_and_nan_like_torch() -> None:
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 1, 2] = x[0, 0, 3, 3] = np.nan
    compare_with_torch(lambda lib, x: lib.nn.functional.adaptive_max_pool2d(x, 2, True), x, grad=False)
    compare_with_torch(lambda lib, x: lib.nn.functional.adaptive_max_pool2d(x, 3), np.ones((1, 2, 5, 5), np.float32))


def test_adaptive_max_pool_errors_and_repr() -> None:
    with pytest.raises(ValueError, match=r"^adaptive_max_pool2d: expected a 4-D \(N, C, H, W\) or 3-D \(unbatched\) "
                       r"input, got shape \(2, 3\)$"):
        F.adaptive_max_pool2d(nerve.ones(2, 3), 1)
    with pytest.raises(ValueError, match=r"^adaptive_max_pool1d: output_size must be positive"):
        F.adaptive_max_pool1d(nerve.ones(1, 2, 3), 0)
    with pytest.raises(ValueError, match=r"^adaptive_max_pool2d: output_size must be an int or 2 ints, "
                       r"got \(1, 2, 3\)$"):
        F.adaptive_max_pool2d(nerve.ones(1, 2, 3, 3), (1, 2, 3))
    import torch

    for size in [2, (2, None)]:
        assert repr(nerve.nn.AdaptiveMaxPool2d(size, True)) == repr(torch.nn.AdaptiveMaxPool2d(size, True))
    assert repr(nerve.nn.AdaptiveMaxPool1d(3)) == repr(torch.nn.AdaptiveMaxPool1d(3))

"""PixelShuffle/PixelUnshuffle and the 2-D padding layers against torch, gradchecks, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import check_grad, compare_with_torch, rand

import nerve
from nerve import nn
from nerve.nn import functional as F


@pytest.mark.parametrize("shape, r", [((2, 8, 3, 3), 2), ((9, 2, 1), 3), ((2, 1, 4, 2, 3), 2)], ids=str)
def test_pixel_shuffle_and_unshuffle_match_torch(shape, r):
    x = rand(*shape, dtype=np.float32)
    compare_with_torch(lambda lib, x: lib.nn.PixelShuffle(r)(x), x)
    compare_with_torch(lambda lib, x: lib.nn.functional.pixel_shuffle(x, r), x)
    y = rand(*shape[:-3], shape[-3] // (r * r), shape[-2] * r, shape[-1] * r, dtype=np.float32)
    compare_with_torch(lambda lib, y: lib.nn.PixelUnshuffle(r)(y), y)
    check_grad(lambda x: F.pixel_shuffle(x, r), x.astype(np.float64))
    check_grad(lambda y: F.pixel_unshuffle(y, r), y.astype(np.float64))
    out = F.pixel_unshuffle(F.pixel_shuffle(nerve.tensor(x), r), r)
    np.testing.assert_array_equal(out.data, x)
    assert repr(nn.PixelShuffle(r)) == repr(torch.nn.PixelShuffle(r))
    assert repr(nn.PixelUnshuffle(r)) == repr(torch.nn.PixelUnshuffle(r))


def test_pixel_shuffle_errors():
    with pytest.raises(ValueError, match=r"^pixel_shuffle: expected input of shape \(\*, C·4, H, W\) \(channels "
                       r"divisible by upscale_factor² = 4\), got shape \(1, 6, 2, 2\)$"):
        F.pixel_shuffle(nerve.ones(1, 6, 2, 2), 2)
    with pytest.raises(ValueError, match=r"^pixel_unshuffle: expected input of shape \(\*, C, H·2, W·2\)"):
        nn.PixelUnshuffle(2)(nerve.ones(1, 1, 3, 4))
    with pytest.raises(ValueError, match=r"^pixel_shuffle: upscale_factor must be positive, got 0$"):
        F.pixel_shuffle(nerve.ones(1, 4, 2, 2), 0)


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.ZeroPad2d(1), lambda lib: lib.nn.ZeroPad2d((1, 2, 0, 3)),
    lambda lib: lib.nn.ConstantPad2d(2, 3.5), lambda lib: lib.nn.ConstantPad2d((0, 1, 2, -1), -1.0),
], ids=["zero1", "zero4", "const1", "const4-crop"])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 4, 5)], ids=str)
def test_padding_layers_match_torch(make, shape):
    compare_with_torch(lambda lib, x: make(lib)(x), rand(*shape, dtype=np.float32))
    check_grad(lambda x: make(nerve)(x), rand(*shape))
    assert repr(make(nerve)) == repr(make(torch))


def test_padding_errors():
    with pytest.raises(ValueError, match=r"^ZeroPad2d: padding must be an int or 4 ints \(left, right, top, bottom\), "
                       r"got \(1, 2\)$"):
        nn.ZeroPad2d((1, 2))
    with pytest.raises(ValueError, match=r"^ConstantPad2d: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, "
                       r"got shape \(4, 5\)$"):
        nn.ConstantPad2d(1, 0.5)(nerve.ones(4, 5))


# ------------------------------------------------------------------------------------------- distances


@pytest.mark.parametrize("shapes, dim", [(((4, 5), (4, 5)), 1), (((4, 5), (1, 5)), 1), (((3, 4, 2), (3, 4, 2)), -1),
                                         (((5,), (5,)), 0), (((2, 3, 4), (3, 4)), 0)], ids=str)
def test_cosine_similarity_matches_torch(shapes, dim):
    a, b = rand(*shapes[0], seed=1), rand(*shapes[1], seed=2)
    compare_with_torch(lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b, dim), a.astype(np.float32),
                       b.astype(np.float32))
    compare_with_torch(lambda lib, a, b: lib.nn.CosineSimilarity(dim)(a, b), a, b, rtol=1e-10, atol=1e-12)
    check_grad(lambda a, b: F.cosine_similarity(a, b, dim), a, b)


def test_cosine_similarity_with_a_zero_vector_matches_torch():
    a, b = rand(3, 4, seed=1), rand(3, 4, seed=2)
    a[1] = 0.0
    compare_with_torch(lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b), a, b, rtol=1e-10, atol=1e-12)
    # a norm below eps: the values agree; the gradient there does not (see the NOTE in F.cosine_similarity)
    a[2] = 1e-10
    compare_with_torch(lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b), a, b, rtol=1e-10, atol=1e-12,
                       grad=False)


@pytest.mark.parametrize("p, keepdim", [(2.0, False), (1.0, True), (3.0, False)])
@pytest.mark.parametrize("shapes", [((4, 5), (4, 5)), ((4, 5), (5,)), ((5,), (5,))], ids=str)
def test_pairwise_distance_matches_torch(shapes, p, keepdim):
    a, b = rand(*shapes[0], seed=1), rand(*shapes[1], seed=2)
    compare_with_torch(lambda lib, a, b: lib.nn.functional.pairwise_distance(a, b, p, keepdim=keepdim),
                       a.astype(np.float32), b.astype(np.float32))
    compare_with_torch(lambda lib, a, b: lib.nn.PairwiseDistance(p, keepdim=keepdim)(a, b), a, b, rtol=1e-10,
                       atol=1e-12)
    check_grad(lambda a, b: F.pairwise_distance(a, b, p, keepdim=keepdim), a, b)


def test_distance_errors_and_repr():
    with pytest.raises(TypeError, match=r"^cosine_similarity: x2 must be a floating-point Tensor, got int64$"):
        F.cosine_similarity(nerve.ones(2, 3), nerve.tensor([[1, 2, 3]]))
    with pytest.raises(TypeError, match=r"^pairwise_distance: x1 must be a floating-point Tensor, got list$"):
        F.pairwise_distance([1.0], nerve.ones(1))  # type: ignore[arg-type]
    assert repr(nn.CosineSimilarity()) == repr(torch.nn.CosineSimilarity())
    assert repr(nn.PairwiseDistance()) == repr(torch.nn.PairwiseDistance())

"""Ops the rest of the suite left without a float64 gradcheck or a torch comparison (forward and backward):
norms of every order, ``normalize``, ``one_hot``, ``bmm``, rounding ops with tensor operands, ``relu6``, packed
self-attention against torch's own attention, loss reductions and target gradients, pooling/convolution option
combinations and unbatched inputs."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from conftest import away_from, check_grad, compare_with_torch, rand

import nerve
from nerve.nn import functional as F
from nerve.ops.attention import packed_self_attention

TIGHT = dict(rtol=1e-10, atol=1e-12)  # float64 against torch: the same formula, not just close


def _check_both(fn, *arrays, **kw):
    """Float64 gradcheck of ``fn(nerve, ...)``, then float64 forward/backward parity with torch."""
    check_grad(functools.partial(fn, nerve), *arrays, **kw)
    compare_with_torch(fn, *arrays, **TIGHT)


def _ints(lib, values):
    return lib.tensor(np.array(values))


# ------------------------------------------------------------------------------------------ vector norms

# rows with an exact zero entry, a zero row, ties in magnitude: where the orders below need care
SPECIAL = np.array([[1.0, -3.0, 2.0], [0.5, 4.0, -1.0], [0.0, 2.0, 1.0], [-2.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
ORDERS = [float("-inf"), 0, -1.0, -2.5, 0.5, 1.5, 3]


@pytest.mark.parametrize("p", ORDERS, ids=str)
@pytest.mark.parametrize("dim", [1, 0, None], ids=str)
def test_norm_every_order_matches_torch_at_zeros_and_ties(p, dim):
    # -inf is the smallest magnitude and 0 the count of nonzeros (both with torch's gradients); below p = 1 the
    # gradient at an exact zero is torch's 0, not the nan of d|x|^p/dx
    compare_with_torch(lambda lib, x: lib.norm(x, p, dim=dim), SPECIAL, **TIGHT)
    compare_with_torch(lambda lib, x: x.norm(p, dim=dim, keepdim=True), SPECIAL.astype(np.float32))


@pytest.mark.parametrize("p", [float("-inf"), -1.0, -2.5, 0.5, 1.5, 3], ids=str)
def test_norm_every_order_gradcheck(p):
    x = away_from(rand(3, 4, seed=1), (0.0,), margin=0.1)
    check_grad(lambda x: nerve.norm(x, p, dim=1), x)
    check_grad(lambda x: nerve.norm(x, p), x)


def test_norm_of_order_zero_counts_nonzeros_with_a_zero_gradient():
    out = nerve.norm(nerve.tensor(SPECIAL), 0, dim=1)
    np.testing.assert_array_equal(out.data, [3.0, 3.0, 2.0, 3.0, 0.0])
    check_grad(lambda x: nerve.norm(x, 0, dim=0) * x.sum(0), away_from(rand(3, 4, seed=1)))


# ------------------------------------------------------------------------------------ normalize, one_hot

@pytest.mark.parametrize("kwargs", [{}, {"p": 1.0, "dim": 0}, {"p": 3.0, "dim": -1}, {"eps": 1.5},
                                    {"p": float("inf"), "dim": 1}], ids=str)
def test_normalize_gradcheck_and_torch(kwargs):
    x = away_from(rand(3, 4, seed=2), (0.0,), margin=0.1)
    _check_both(lambda lib, x: lib.nn.functional.normalize(x, **kwargs), x)


def test_normalize_zero_row_and_float32_like_torch():
    x = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 2.0]])
    compare_with_torch(lambda lib, x: lib.nn.functional.normalize(x), x, **TIGHT)
    compare_with_torch(lambda lib, x: lib.nn.functional.normalize(x, dim=0), x.astype(np.float32))


@pytest.mark.parametrize("x, num_classes", [([0, 3, 1], -1), ([[0, 3], [1, 2]], 5), (2, 4)], ids=str)
def test_one_hot_matches_torch(x, num_classes):
    compare_with_torch(lambda lib, x: lib.nn.functional.one_hot(x, num_classes), np.array(x))


# ------------------------------------------------------------------------------------------ bmm, rounding

def test_bmm_gradcheck_and_torch():
    _check_both(lambda lib, a, b: lib.bmm(a, b), rand(2, 3, 4, seed=1), rand(2, 4, 2, seed=2))
    _check_both(lambda lib, a, b: a.bmm(b), rand(3, 1, 4, seed=3), rand(3, 4, 5, seed=4))


@pytest.mark.parametrize("fn", [
    lambda lib, a, b: lib.div(a, b, rounding_mode="floor") * a,
    lambda lib, a, b: lib.div(a, b, rounding_mode="trunc") * b,
    lambda lib, a, b: a.round(decimals=1) * b,
    lambda lib, a, b: lib.trunc(a * 1.7) + b.sign() * b,
], ids=["div_floor", "div_trunc", "round_decimals", "trunc_sign"])
def test_piecewise_constant_ops_with_tensor_operands(fn):
    # both operands tensors, broadcasting (2, 3) against (3,): each gets a zero gradient of its own shape from the
    # piecewise-constant factor; values kept off the jumps so finite differences see a constant
    a = rand(2, 3, seed=1, low=0.3, high=2.0)
    b = np.array([0.7, -1.3, 1.9])
    a = away_from(a / b, tuple(range(-5, 6)), margin=0.1) * b  # quotients off the integers
    a = away_from(a, tuple(np.round(np.arange(-3, 3.01, 0.1), 2)) + tuple(k / 1.7 for k in range(-5, 6)),
                  margin=0.01)
    _check_both(fn, a, b)


def test_relu6_gradcheck_and_torch():
    x = away_from(rand(3, 5, seed=3, low=-4, high=10), (0.0, 6.0), margin=0.1)
    _check_both(lambda lib, x: lib.nn.functional.relu6(x), x)
    # the gradient exactly at the bounds 0 and 6: see tests/nn/test_coverage_gaps.py (a known mismatch)


# ------------------------------------------------------------------------------------- packed attention

def _packed(lib, qkv, heads, causal=False, mask=None):
    """nerve's one-node packed self-attention; torch's split → attend → merge for the same computation."""
    if lib is nerve:
        return packed_self_attention(qkv, heads, attn_mask=mask, is_causal=causal)
    n, length, e3 = qkv.shape
    e = e3 // 3
    q, k, v = (t.reshape(n, length, heads, e // heads).transpose(1, 2) for t in qkv.split(e, dim=-1))
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
    return out.transpose(1, 2).reshape(n, length, e)


@pytest.mark.parametrize("heads", [1, 2])
@pytest.mark.parametrize("case", ["plain", "causal", "float_mask", "bool_mask"])
def test_packed_self_attention_matches_torch(case, heads):
    qkv = rand(2, 4, 12, seed=4)
    if case == "float_mask":
        fn = lambda lib, x, m: _packed(lib, x, heads, mask=m)  # noqa: E731
        _check_both(fn, qkv, rand(4, 4, seed=5))  # the mask gets a gradient too
        return
    mask = None
    if case == "bool_mask":
        allowed = np.random.default_rng(6).random((2, 1, 4, 4)) > 0.4
        allowed[..., 0] = True  # every row attends somewhere
        mask = allowed
    fn = lambda lib, x: _packed(lib, x, heads, causal=case == "causal",  # noqa: E731
                                mask=None if mask is None else lib.tensor(mask))
    _check_both(fn, qkv)
    compare_with_torch(fn, qkv.astype(np.float32), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------- losses

W5 = rand(5, seed=41, low=0.2, high=2.0)


@pytest.mark.parametrize("reduction", ["sum", "none"])
@pytest.mark.parametrize("case", ["ce", "ce-weight-ignore-smooth", "ce-kdim", "nll-weight-ignore", "nll-kdim"])
def test_class_index_losses_gradcheck_every_reduction(case, reduction):
    # the mean reduction is gradchecked in tests/nn/test_losses.py; sum and none scale the rows differently
    weight = (lambda lib: lib.tensor(W5)) if "weight" in case else (lambda lib: None)
    if case == "ce":
        x, t = rand(6, 5, seed=1), [0, 3, 1, 4, 4, 2]
        fn = lambda lib, x: lib.nn.functional.cross_entropy(x, _ints(lib, t), reduction=reduction)  # noqa: E731
    elif case == "ce-weight-ignore-smooth":
        x, t = rand(6, 5, seed=1), [0, -100, 1, 4, 4, 2]
        fn = lambda lib, x: lib.nn.functional.cross_entropy(  # noqa: E731
            x, _ints(lib, t), weight=weight(lib), label_smoothing=0.2, reduction=reduction)
    elif case == "ce-kdim":
        x, t = rand(2, 5, 3, seed=1), [[0, 3, 1], [4, 4, 2]]
        fn = lambda lib, x: lib.nn.functional.cross_entropy(x, _ints(lib, t), reduction=reduction,  # noqa: E731
                                                            label_smoothing=0.1)
    elif case == "nll-weight-ignore":
        x, t = rand(6, 5, seed=1), [0, 3, 1, 7, 4, 2]
        fn = lambda lib, x: lib.nn.functional.nll_loss(x, _ints(lib, t), weight=weight(lib),  # noqa: E731
                                                       ignore_index=7, reduction=reduction)
    else:
        x, t = rand(2, 5, 3, seed=1), [[0, 3, 1], [4, 4, 2]]
        fn = lambda lib, x: lib.nn.functional.nll_loss(x, _ints(lib, t), reduction=reduction)  # noqa: E731
    _check_both(fn, x)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_probability_target_gradcheck(reduction, smoothing):
    # with class probabilities the target is an input of the fused op: its gradient must be right too
    p = rand(6, 5, seed=3, low=0.05, high=1.0)
    _check_both(lambda lib, x, t: lib.nn.functional.cross_entropy(x, t, reduction=reduction,
                                                                  label_smoothing=smoothing),
                rand(6, 5, seed=2), p / p.sum(1, keepdims=True))


@pytest.mark.parametrize("name, make", [
    ("mse_loss", lambda: (rand(3, 4, seed=1), rand(3, 4, seed=2))),
    ("l1_loss", lambda: (rand(3, 4, seed=1), rand(3, 4, seed=1) + away_from(rand(3, 4, seed=2), margin=0.1))),
    ("smooth_l1_loss", lambda: (rand(3, 4, seed=1), rand(3, 4, seed=1) + away_from(rand(3, 4, seed=2),
                                                                                     (0.0, -1.0, 1.0), 0.1))),
    ("kl_div", lambda: (rand(3, 4, seed=1), rand(3, 4, seed=2, low=0.1, high=1.0))),
    ("binary_cross_entropy_with_logits", lambda: (rand(3, 4, seed=1), rand(3, 4, seed=2, low=0.0, high=1.0))),
], ids=lambda v: v if isinstance(v, str) else "")
def test_elementwise_losses_target_gradcheck(name, make):
    x, t = make()
    kw = {"reduction": "batchmean"} if name == "kl_div" else {}
    _check_both(lambda lib, x, t: getattr(lib.nn.functional, name)(x, t, **kw), x, t)


# --------------------------------------------------------------------------------- pooling, convolution

def _distinct(*shape: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", [
    (3, 2, 1, 2, False), (3, 2, 1, 2, True), ((2, 3), (2, 1), (1, 1), (2, 1), True)])
def test_max_pool2d_padding_with_dilation(kernel, stride, padding, dilation, ceil_mode):
    _check_both(lambda lib, x: lib.nn.functional.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode),
                _distinct(2, 2, 9, 8))


@pytest.mark.parametrize("kernel, stride, padding, ceil_mode, count_include_pad, divisor", [
    (3, 2, 1, True, False, 5), ((2, 3), (3, 2), (1, 1), True, True, None), (3, 2, 1, True, False, None)])
def test_avg_pool2d_option_combinations(kernel, stride, padding, ceil_mode, count_include_pad, divisor):
    _check_both(lambda lib, x: lib.nn.functional.avg_pool2d(x, kernel, stride, padding, ceil_mode,
                                                            count_include_pad, divisor), rand(2, 2, 8, 7, seed=1))


@pytest.mark.parametrize("fn, shapes", [
    (lambda lib, x: lib.nn.functional.max_pool2d(x, 2, padding=1), [(2, 5, 6)]),
    (lambda lib, x: lib.nn.functional.avg_pool2d(x, 3, 2, 1), [(2, 5, 6)]),
    (lambda lib, x: lib.nn.functional.adaptive_avg_pool2d(x, (2, 4)), [(2, 5, 6)]),
    (lambda lib, x, w, b: lib.nn.functional.conv1d(x, w, b, 2, 1), [(2, 9), (3, 2, 3), (3,)]),
    (lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, 2, 1, 1), [(2, 3, 4), (2, 3, 3, 3), (3,)]),
], ids=["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "conv1d", "conv_transpose2d"])
def test_unbatched_inputs_gradcheck_and_torch(fn, shapes):
    arrays = [_distinct(*shapes[0])] + [rand(*s, seed=2 + i) for i, s in enumerate(shapes[1:])]
    _check_both(fn, *arrays)


def test_conv_transpose2d_every_option_at_once():
    # stride, padding, output_padding, groups and dilation all different per axis in one call
    def fn(lib, x, w, b):
        return lib.nn.functional.conv_transpose2d(x, w, b, (2, 3), (1, 0), (1, 2), 2, (2, 1))

    _check_both(fn, rand(2, 4, 4, 3, seed=1), rand(4, 1, 3, 2, seed=2), rand(2, seed=3))


def test_embedding_negative_padding_idx_like_torch():
    # a negative padding_idx counts from the end, as in torch; that row gets no gradient
    compare_with_torch(lambda lib, w: lib.nn.functional.embedding(_ints(lib, [[0, 2, 2], [1, 0, 2]]), w,
                                                                  padding_idx=-1), rand(3, 4, seed=1), **TIGHT)
    w = nerve.tensor(rand(3, 4, seed=1), requires_grad=True)
    F.embedding(nerve.tensor(np.array([2, 2, 0])), w, padding_idx=-1).sum().backward()
    assert np.all(w.grad.data[2] == 0) and np.all(w.grad.data[0] == 1)

"""Reductions: float64 gradchecks and PyTorch parity, including ties and arg-reductions."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
import torch
from conftest import away_from, check_grad, compare_with_torch, rand
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import nerve


def _check_both(fn, *arrays, **kw):
    check_grad(functools.partial(fn, nerve), *arrays)
    compare_with_torch(fn, *[a.astype(np.float32) for a in arrays], **kw)


# (id, fn(lib, x), shape)
REDUCTIONS = [
    ("sum_all_0d", lambda lib, x: x.sum(), ()),
    ("sum_all", lambda lib, x: x.sum(), (2, 3)),
    ("sum_fn", lambda lib, x: lib.sum(x, 0), (2, 3)),
    ("sum_dim0_0d", lambda lib, x: x.sum(0), ()),
    ("sum_dim1", lambda lib, x: x.sum(1), (2, 3)),
    ("sum_neg", lambda lib, x: x.sum(-1), (2, 3)),
    ("sum_tuple", lambda lib, x: x.sum((0, 2)), (2, 3, 2)),
    ("sum_tuple_neg", lambda lib, x: x.sum((-1, 0)), (2, 3, 2)),
    ("sum_keepdim", lambda lib, x: x.sum(1, keepdim=True), (2, 3)),
    ("sum_tuple_keepdim", lambda lib, x: x.sum((0, 1), keepdim=True), (2, 3, 2)),
    ("sum_1d", lambda lib, x: x.sum(0), (3,)),
    ("mean_all", lambda lib, x: x.mean(), (2, 3)),
    ("mean_all_0d", lambda lib, x: x.mean(), ()),
    ("mean_dim", lambda lib, x: lib.mean(x, 0), (2, 3)),
    ("mean_neg_keepdim", lambda lib, x: x.mean(-1, keepdim=True), (2, 3)),
    ("mean_tuple", lambda lib, x: x.mean((0, 2)), (2, 3, 2)),
    ("var_all", lambda lib, x: x.var(), (2, 3)),
    ("var_all_c0", lambda lib, x: x.var(correction=0), (2, 3)),
    ("var_0d_c0", lambda lib, x: x.var(correction=0), ()),
    ("var_dim", lambda lib, x: x.var(1), (2, 3)),
    ("var_dim_c0_keepdim", lambda lib, x: lib.var(x, 0, correction=0, keepdim=True), (2, 3)),
    ("var_tuple", lambda lib, x: x.var((0, 2)), (2, 3, 2)),
    ("var_unbiased_false", lambda lib, x: x.var(1, unbiased=False), (2, 3)),
    ("std_all", lambda lib, x: x.std(), (2, 3)),
    ("std_dim_c0", lambda lib, x: lib.std(x, -1, correction=0), (2, 3)),
    ("std_tuple_keepdim", lambda lib, x: x.std((1, 2), keepdim=True), (2, 3, 2)),
    ("std_1d", lambda lib, x: x.std(), (3,)),
    ("amax_all", lambda lib, x: x.amax(), (2, 3)),
    ("amax_dim", lambda lib, x: lib.amax(x, 1), (2, 3)),
    ("amax_tuple_keepdim", lambda lib, x: x.amax((0, 2), keepdim=True), (2, 3, 2)),
    ("amin_dim", lambda lib, x: lib.amin(x, 0), (2, 3)),
    ("amin_neg", lambda lib, x: x.amin(-1, keepdim=True), (2, 3)),
    ("amax_0d", lambda lib, x: x.amax(), ()),
    ("max_all", lambda lib, x: x.max(), (2, 3)),
    ("min_all", lambda lib, x: lib.min(x), (2, 3)),
    ("max_dim", lambda lib, x: x.max(1), (2, 3)),
    ("max_dim_keepdim", lambda lib, x: lib.max(x, 0, keepdim=True), (2, 3)),
    ("min_dim", lambda lib, x: x.min(-1), (2, 3)),
    ("min_dim_1d", lambda lib, x: x.min(0), (3,)),
    ("max_dim_0d", lambda lib, x: x.max(0), ()),
    ("logsumexp", lambda lib, x: lib.logsumexp(x, 1), (2, 3)),
    ("logsumexp_keepdim", lambda lib, x: x.logsumexp(0, keepdim=True), (2, 3)),
    ("logsumexp_tuple", lambda lib, x: x.logsumexp((0, 2)), (2, 3, 2)),
    ("logsumexp_1d", lambda lib, x: x.logsumexp(0), (3,)),
    ("logsumexp_0d", lambda lib, x: x.logsumexp(0), ()),
    ("cumsum", lambda lib, x: lib.cumsum(x, 1), (2, 3)),
    ("cumsum_neg", lambda lib, x: x.cumsum(-2), (2, 3)),
    ("cumsum_1d", lambda lib, x: x.cumsum(0), (3,)),
    ("cumsum_0d", lambda lib, x: x.cumsum(0), ()),
    ("norm2_all", lambda lib, x: x.norm(), (2, 3)),
    ("norm2_dim", lambda lib, x: x.norm(2, 1), (2, 3)),
    ("norm1", lambda lib, x: x.norm(1), (2, 3)),
    ("norm1_dim_keepdim", lambda lib, x: lib.norm(x, 1, 0, keepdim=True), (2, 3)),
    ("norm_inf", lambda lib, x: x.norm(float("inf")), (2, 3)),
    ("norm_inf_dim", lambda lib, x: x.norm(float("inf"), dim=1), (2, 3)),
    ("norm3", lambda lib, x: x.norm(3), (2, 3)),
    ("norm3_dim", lambda lib, x: x.norm(3, dim=-1), (2, 3)),
    ("norm_fro", lambda lib, x: x.norm("fro"), (2, 3)),
    ("norm_1d", lambda lib, x: x.norm(), (3,)),
    ("norm_0d", lambda lib, x: x.norm(), ()),
    ("norm_dim_tuple", lambda lib, x: x.norm(dim=(0, 2)), (2, 3, 2)),
    ("norm_p_half", lambda lib, x: x.norm(0.5, dim=1), (2, 3)),
    # an empty dim list reduces over every dim, as in torch
    ("sum_empty_dims", lambda lib, x: x.sum(()), (2, 3)),
    ("mean_empty_dims", lambda lib, x: x.mean([]), (2, 3)),
    ("amax_empty_dims", lambda lib, x: x.amax(()), (2, 3)),
]


@pytest.mark.parametrize("fn, shape", [r[1:] for r in REDUCTIONS], ids=[r[0] for r in REDUCTIONS])
def test_reduction(fn, shape):
    # distinct values away from 0 (|x| kinks of the norms), so max/min and the norms are differentiable
    x = away_from(rand(*shape, seed=3), (0.0,), margin=0.1)
    _check_both(fn, x)


@settings(max_examples=60, deadline=None)
@given(shape=array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3), data=st.data(),
       op=st.sampled_from(["sum", "mean", "amax", "amin", "var", "std", "logsumexp", "norm"]),
       keepdim=st.booleans())
def test_reduction_over_any_dims_property(shape, data, op, keepdim):
    """Any subset of dims (negative or not, in any order) with or without keepdim matches torch."""
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True))
    dims = tuple(d - len(shape) if data.draw(st.booleans()) else d for d in dims)
    # no degrees of freedom: torch warns and divides by zero (assume draws another case instead of passing)
    assume(op not in ("var", "std") or np.prod([shape[d] for d in dims]) >= 2)
    x = away_from(rand(*shape, seed=6, dtype=np.float32), (0.0,), margin=0.05)
    if op == "norm":
        compare_with_torch(lambda lib, x: x.norm(2, dims, keepdim), x)
    else:
        compare_with_torch(lambda lib, x: getattr(x, op)(dims, keepdim=keepdim), x)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_argmax_argmin(op, dim):
    x = np.array([[1.0, 5.0, 5.0], [7.0, 2.0, 7.0]], np.float32)  # ties: the first index wins
    compare_with_torch(lambda lib, x: getattr(lib, op)(x, dim), x)
    compare_with_torch(lambda lib, x: getattr(x, op)(dim, keepdim=True), x)
    out = getattr(nerve.tensor(x, requires_grad=True), op)(dim)
    assert out.dtype == np.int64 and not out.requires_grad


@pytest.mark.parametrize("op", ["amax", "amin", "max", "min"])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_ties_share_the_gradient_like_torch(op, dim):
    fn = (lambda lib, x: getattr(x, op)()) if dim is None else (lambda lib, x: getattr(x, op)(dim))
    x = np.array([[3.0, 1.0, 3.0], [-2.0, -2.0, 1.0], [3.0, 0.0, -2.0]], np.float32)
    compare_with_torch(fn, x)


def test_amax_ties_split_evenly():
    x = nerve.tensor([2.0, 5.0, 5.0, 5.0], requires_grad=True)
    (x.amax() * 3.0).backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 1.0, 1.0, 1.0])


def test_max_dim_sends_gradient_to_the_returned_index():
    x = nerve.tensor([[1.0, 4.0, 4.0], [2.0, 0.0, 2.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(indices.data, [1, 0])
    assert indices.dtype == np.int64
    (values * nerve.tensor([10.0, 20.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 10, 0], [20, 0, 0]])


@pytest.mark.parametrize("p", [2, 3, 1, float("inf")])
def test_norm_zero_vector_gradient_is_zero_like_torch(p):
    x = np.zeros((2, 3), np.float32)
    x[1] = [3.0, 0.0, -4.0]
    compare_with_torch(lambda lib, x: x.norm(p, dim=1), x)
    compare_with_torch(lambda lib, x: x.norm(p), np.zeros(3, np.float32))


def test_var_over_empty_dim_list_reduces_everything():
    # NOTE: not compared with torch, whose backward for var(dim=()) divides by N - 1 with N = 1 (inf gradients)
    check_grad(lambda x: x.var(()), rand(2, 3))
    np.testing.assert_allclose(nerve.tensor(rand(2, 3)).var(()).item(), rand(2, 3).var(ddof=1))


def test_mean_of_an_empty_tensor_is_nan_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(nerve.zeros(0).mean().item())
        assert nerve.zeros(0, 3).mean(0).shape == (3,)


def test_var_of_one_element_with_correction_is_nan_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = nerve.tensor([1.5], requires_grad=True)
        v = x.var()
        v.backward()
    assert np.isnan(v.item())
    assert np.isnan(x.grad.item())  # torch's too: 2 (x - mean) / 0 = 0 / 0 (not compared: torch warns)


def test_logsumexp_is_stable_and_handles_minus_inf():
    x = np.array([[1000.0, 1000.0, -1000.0], [-np.inf, -np.inf, -np.inf], [-np.inf, 0.0, 1.0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # NOTE: rtol 1e-4: torch's backward is exp(x - result) with result = 1000.69 rounded to float32 (ulp
        # 6e-5), so torch's own gradient is off by ~3e-5 relative; nerve's composite does not round there.
        compare_with_torch(lambda lib, x: lib.logsumexp(x, 1), x, rtol=1e-4)


def test_gather_with_duplicates_and_dims():
    x = rand(3, 4, seed=5)
    idx = np.array([[0, 0, 3], [1, 2, 1], [3, 3, 3]])
    fn0 = lambda lib, x, i: lib.gather(x, 1, i)  # noqa: E731
    check_grad(lambda x: nerve.gather(x, 1, nerve.tensor(idx)), x)
    compare_with_torch(fn0, x.astype(np.float32), idx)
    idx0 = np.array([[2, 0, 1, 2], [2, 2, 0, 0]])
    check_grad(lambda x: x.gather(0, nerve.tensor(idx0)), x)
    compare_with_torch(lambda lib, x, i: x.gather(-2, i), x.astype(np.float32), idx0)


def test_gather_index_smaller_than_input_like_torch():
    x = rand(3, 4, seed=5)
    idx = np.array([[3], [0]])
    check_grad(lambda x: nerve.gather(x, 1, nerve.tensor(idx)), x)
    compare_with_torch(lambda lib, x, i: lib.gather(x, 1, i), x.astype(np.float32), idx)


def test_integer_and_bool_reductions_match_torch():
    i = np.array([[1, 2, 3], [4, 5, 6]], np.int64)
    b = np.array([[True, False, True], [True, True, True]])
    for fn in (lambda lib, x: x.sum(), lambda lib, x: x.sum(1), lambda lib, x: x.amax(0), lambda lib, x: x.max(1),
               lambda lib, x: x.argmin(1)):
        compare_with_torch(fn, i)
    compare_with_torch(lambda lib, x: x.sum(0), b)
    compare_with_torch(lambda lib, x: x.all(1), b)
    compare_with_torch(lambda lib, x: x.any(), b)
    compare_with_torch(lambda lib, x: lib.all(x, 0), b)
    compare_with_torch(lambda lib, x: lib.any(x, 1, keepdim=True), b)
    compare_with_torch(lambda lib, x: x.sum(dtype=lib.float32), i)
    compare_with_torch(lambda lib, x: x.mean(dtype=lib.float64), i)


def test_reductions_keep_float32():
    x = nerve.tensor(rand(4, dtype=np.float32), requires_grad=True)
    for y in (x.sum(), x.mean(), x.var(), x.std(), x.norm(), x.logsumexp(0), x.amax()):
        assert y.dtype == np.float32


# ------------------------------------------------------------------------------------------------ errors


def test_gather_rejects_index_with_wrong_number_of_dims():
    with pytest.raises(ValueError, match=r"gather: index of shape \(3,\) has 1 dims but input of shape \(2, 3\) has 2"):
        nerve.gather(nerve.ones(2, 3), 1, nerve.tensor([0, 1, 2]))


def test_gather_rejects_float_index():
    with pytest.raises(TypeError, match="gather: index must be an integer tensor, got dtype float32"):
        nerve.gather(nerve.ones(2, 3), 1, nerve.ones(2, 3))


def test_gather_rejects_out_of_range_index_as_torch_does():
    # NumPy's take_along_axis wrapped a negative index and reported a large one without naming gather
    x = rand(2, 3).astype(np.float32)
    for dim, idx, bad in [(1, [[0, 5], [1, 2]], 5), (-1, [[0, -1], [1, 2]], -1), (0, [[0, 1], [2, 0]], 2)]:
        msg = f"index {bad} is out of bounds for dimension {dim % 2} with size {x.shape[dim]}"
        with pytest.raises(IndexError, match=rf"^gather: {msg}$"):
            nerve.gather(nerve.tensor(x), dim, nerve.tensor(idx))
        with pytest.raises(RuntimeError, match=rf"^{msg}$"):
            torch.gather(torch.tensor(x), dim, torch.tensor(idx))
    assert nerve.gather(nerve.tensor(x), 1, nerve.tensor(np.zeros((2, 0), dtype=np.int64))).shape == (2, 0)


def test_mean_of_integer_tensor_asks_for_dtype():
    with pytest.raises(TypeError, match="mean: expected a floating-point tensor, got dtype int64"):
        nerve.tensor([1, 2]).mean()


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "var", "cumsum"])
def test_dim_out_of_range(op):
    with pytest.raises(IndexError, match=rf"{op}: dim 2 is out of range for a tensor with 2 dimension"):
        getattr(nerve.ones(2, 3), op)(2)


def test_repeated_dims_are_rejected():
    with pytest.raises(ValueError, match=r"sum: dim \(0, -2\) repeats a dimension"):
        nerve.ones(2, 3).sum((0, -2))


def test_reducing_an_empty_tensor_to_a_max_raises():
    with pytest.raises(ValueError, match=r"amax: cannot reduce an empty tensor of shape \(0, 3\)"):
        nerve.zeros(0, 3).amax()
    with pytest.raises(ValueError, match="argmax: cannot reduce an empty tensor"):
        nerve.zeros(0).argmax()


def test_max_of_two_tensors_points_to_maximum():
    with pytest.raises(TypeError, match=r"max: use nerve\.maximum"):
        nerve.ones(2).max(nerve.ones(2))


def test_torch_and_nerve_agree_on_max_return_type():
    n = nerve.ones(2, 3).max(1)
    t = torch.ones(2, 3).max(1)
    assert n.values.shape == tuple(t.values.shape) and n.indices.shape == tuple(t.indices.shape)


# ------------------------------------------------------------------------- prod, cumprod, sort, topk

PRODUCTS = [
    ("prod_all", lambda lib, x: x.prod(), (2, 3)),
    ("prod_all_0d", lambda lib, x: x.prod(), ()),
    ("prod_fn_dim0", lambda lib, x: lib.prod(x, 0), (2, 3)),
    ("prod_neg_keepdim", lambda lib, x: x.prod(-1, keepdim=True), (2, 3)),
    ("prod_dim_3d", lambda lib, x: x.prod(1), (2, 3, 2)),
    ("prod_0d_dim", lambda lib, x: x.prod(0), ()),
    ("cumprod", lambda lib, x: lib.cumprod(x, 1), (2, 3)),
    ("cumprod_neg", lambda lib, x: x.cumprod(-2), (3, 2)),
    ("cumprod_1d", lambda lib, x: x.cumprod(0), (4,)),
    ("cumprod_0d", lambda lib, x: x.cumprod(0), ()),
]


@pytest.mark.parametrize("fn, shape", [r[1:] for r in PRODUCTS], ids=[r[0] for r in PRODUCTS])
def test_products(fn, shape):
    x = np.asarray(rand(*shape, seed=4, low=0.5, high=1.5) * np.sign(rand(*shape, seed=9)))  # |x| >= 0.5
    _check_both(fn, x)


@pytest.mark.parametrize("zeros", [[1], [0, 2], [1, 2, 3]], ids=["one_zero", "two_zeros", "three_zeros"])
@pytest.mark.parametrize("op", ["prod", "cumprod"])
def test_product_gradients_with_zeros_match_torch(op, zeros):
    x = rand(3, 5, seed=2, low=0.5, high=2.0)
    x[0, zeros] = 0.0  # row 0 holds the zeros, row 1 none
    x[2, zeros[-1]] = 0.0  # row 2 one zero, at the end of row 0's run
    fn = (lambda lib, x: x.prod(1)) if op == "prod" else (lambda lib, x: x.cumprod(1))
    _check_both(fn, x)
    compare_with_torch(lambda lib, x: getattr(x, op)(0), x.T.copy().astype(np.float32))
    if op == "prod":
        compare_with_torch(lambda lib, x: x.prod(), x[:1].astype(np.float32))


def test_prod_and_cumprod_of_integers_are_int64_like_torch():
    for data in (np.array([[1, 2, 3], [4, 0, 6]], np.int32), np.array([True, False, True])):
        compare_with_torch(lambda lib, x: x.prod(), data)
        compare_with_torch(lambda lib, x: x.cumprod(0), data)
    compare_with_torch(lambda lib, x: lib.prod(x, 1, keepdim=True), np.array([[1, 2, 3], [4, 5, 6]]))
    compare_with_torch(lambda lib, x: x.prod(dtype=lib.float64), np.array([1, 2, 3]))


SORTS = [
    ("sort", lambda lib, x: lib.sort(x), (2, 5)),
    ("sort_dim0_desc", lambda lib, x: x.sort(0, descending=True), (4, 3)),
    ("sort_neg_stable", lambda lib, x: lib.sort(x, dim=-2, stable=True), (3, 2, 2)),
    ("sort_1d", lambda lib, x: x.sort(), (5,)),
    ("sort_0d", lambda lib, x: x.sort(), ()),
    ("topk", lambda lib, x: lib.topk(x, 2), (2, 5)),
    ("topk_smallest_dim0", lambda lib, x: x.topk(3, dim=0, largest=False), (4, 3)),
    ("topk_all", lambda lib, x: x.topk(5), (5,)),
    ("topk_k0", lambda lib, x: x.topk(0, dim=1), (2, 3)),
    ("topk_0d", lambda lib, x: x.topk(1), ()),
]


@pytest.mark.parametrize("fn, shape", [r[1:] for r in SORTS], ids=[r[0] for r in SORTS])
def test_sort_and_topk_values_carry_the_gradient(fn, shape):
    x = rand(*shape, seed=8)  # distinct values: no ties
    check_grad(lambda x: fn(nerve, x).values, x)
    compare_with_torch(fn, x.astype(np.float32))


@pytest.mark.parametrize("descending", [False, True])
def test_sort_ties_keep_input_order_like_torch_stable_sort(descending):
    x = np.array([[2.0, 1.0, 2.0, np.nan, 1.0, 2.0, -np.inf], [0.0, 0.0, 0.0, 3.0, 3.0, -1.0, np.nan]], np.float32)
    for stable in (True, False):  # torch's CPU sort is stable either way
        compare_with_torch(lambda lib, x, stable=stable: lib.sort(x, descending=descending, stable=stable), x)
        compare_with_torch(lambda lib, x, s=stable: x.argsort(dim=1, descending=descending, stable=s), x)
    ints = np.array([3, 1, 3, 2, 1, 3], np.int64)
    compare_with_torch(lambda lib, x: x.sort(descending=descending, stable=True), ints)
    compare_with_torch(lambda lib, x: lib.argsort(x, descending=descending, stable=True), ints)


def test_sort_sends_each_gradient_to_its_source():
    x = nerve.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, indices = x.sort(descending=True)
    (values * nerve.tensor([10.0, 20.0, 30.0])).sum().backward()
    np.testing.assert_array_equal(indices.data, [0, 2, 1])
    np.testing.assert_array_equal(x.grad.data, [10.0, 30.0, 20.0])
    assert indices.dtype == np.int64 and not indices.requires_grad
    assert nerve.topk(x, 1)._fields == ("values", "indices")


def test_topk_rejects_k_out_of_range():
    with pytest.raises(ValueError, match=r"^topk: k must be an integer in \[0, 3\] \(the size of dim 1\), got 4$"):
        nerve.ones(2, 3).topk(4, dim=1)
    with pytest.raises(ValueError, match=r"^topk: k must be an integer in \[0, 3\] \(the size of dim -1\), got -1$"):
        nerve.ones(2, 3).topk(-1)
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        torch.ones(2, 3).topk(4, dim=1)


@pytest.mark.parametrize("op", ["sort", "argsort", "topk", "prod", "cumprod", "count_nonzero"])
def test_new_reductions_reject_dims_out_of_range(op):
    args = (1, 2) if op == "topk" else (2,)
    with pytest.raises(IndexError, match=rf"^{op}: dim 2 is out of range for a tensor with 2 dimension\(s\)$"):
        getattr(nerve, op)(nerve.ones(2, 3), *args)


@pytest.mark.parametrize("dim", [None, 0, -1, (0, 1), ()])
def test_count_nonzero_matches_torch(dim):
    x = np.array([[0.0, 1.5, 0.0], [2.0, -1.0, 0.0]], np.float32)
    compare_with_torch(lambda lib, x: lib.count_nonzero(x, dim=dim) if dim != () else lib.count_nonzero(x), x)
    compare_with_torch(lambda lib, x: x.count_nonzero(dim) if dim != () else x.count_nonzero(), x != 0)


# ------------------------------------------------------------------------------- isclose, equal, allclose


def test_isclose_equal_allclose_match_torch():
    a = np.array([1.0, np.nan, np.inf, -np.inf, 1e-9, 2.0], np.float32)
    b = np.array([1.0 + 1e-6, np.nan, np.inf, np.inf, 0.0, 2.1], np.float32)
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.1, "atol": 0.0}):
        compare_with_torch(lambda lib, a, b, kw=kw: lib.isclose(a, b, **kw), a, b)
        compare_with_torch(lambda lib, a, b, kw=kw: a.isclose(b, **kw), a, b)
        n, t = nerve.tensor(a), torch.tensor(a)
        assert nerve.tensor(a).allclose(nerve.tensor(b), **kw) is t.allclose(torch.tensor(b), **kw)
        assert nerve.allclose(n[:2], nerve.tensor(b[:2]), **kw) is torch.allclose(t[:2], torch.tensor(b[:2]), **kw)
    for x, y in [(a, a), (a[:1], a[:1]), (a[:1], b[:1]), (a[[0]], a[[0, 0]]), (b[[2]], b[[2]])]:
        expected = torch.equal(torch.tensor(x), torch.tensor(y))
        assert nerve.equal(nerve.tensor(x), nerve.tensor(y)) is expected
        assert nerve.tensor(x).equal(nerve.tensor(y)) is expected
    assert nerve.equal(nerve.tensor([1.0, 2.0]), nerve.tensor([1.0, 2.0], dtype=nerve.float64))  # as torch


def test_isclose_rejects_mixed_dtypes_and_non_tensors():
    with pytest.raises(TypeError, match=r"^isclose: expected tensors of the same dtype, got float32 and float64$"):
        nerve.isclose(nerve.ones(2), nerve.ones(2, dtype=nerve.float64))
    with pytest.raises(TypeError, match=r"^isclose: expected two tensors, got float$"):
        nerve.isclose(nerve.ones(2), 1.0)
    with pytest.raises(TypeError, match=r"^equal: expected two tensors, got list$"):
        nerve.equal(nerve.ones(2), [1.0, 1.0])


def test_products_over_an_empty_dim_are_one_like_torch():
    compare_with_torch(lambda lib, x: x.prod(1), np.zeros((2, 0), np.float32))
    compare_with_torch(lambda lib, x: x.cumprod(1), np.zeros((2, 0), np.float32))


def test_integer_products_take_the_dtype_asked_for_like_torch():
    x = np.array([1, 2, 3])
    compare_with_torch(lambda lib, a: a.prod(dtype=lib.int32), x)
    compare_with_torch(lambda lib, a: a.cumprod(0, dtype=lib.int32), x)
    compare_with_torch(lambda lib, a: a.prod(), x.astype(np.int32))  # int64 when no dtype is given

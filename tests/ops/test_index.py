"""Indexing by index tensors and masks: float64 gradchecks, PyTorch parity, in-place forms and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import check_grad, compare_with_torch, rand

import nerve


def _check_both(fn, *arrays, requires_grad=None):
    """Gradcheck the float inputs in float64 and compare with torch in float32 (integer inputs kept)."""
    floats = tuple(np.asarray(a).dtype.kind == "f" for a in arrays)
    flags = requires_grad or floats
    tensors = [nerve.tensor(a) for a in arrays]

    def call(*xs):
        it = iter(xs)
        return fn(nerve, *[next(it) if f else t for f, t in zip(floats, tensors)])

    check_grad(call, *[a for a, f in zip(arrays, floats) if f], requires_grad=tuple(f for f, k in zip(flags, floats)
                                                                                   if k))
    compare_with_torch(fn, *[a.astype(np.float32) if f else a for a, f in zip(arrays, floats)], requires_grad=flags)


# a permutation per row (no duplicates: scatter's winner among duplicates is unspecified in torch)
PERM = np.array([[2, 0, 1], [1, 2, 0]])


@pytest.mark.parametrize("fn, idx, src_shape", [
    (lambda lib, x, i, s: lib.scatter(x, 1, i, s), PERM, (2, 3)),
    (lambda lib, x, i, s: x.scatter(0, i, s), np.array([[1, 0, 2]]), (1, 3)),  # index smaller along dim 0
    (lambda lib, x, i, s: lib.scatter_add(x, 1, i, s), np.array([[0, 0, 2], [1, 1, 1]]), (2, 3)),  # duplicates
    (lambda lib, x, i, s: x.scatter_add(0, i, s), np.array([[1, 2, 2], [1, 0, 2]]), (2, 3)),
], ids=["scatter", "scatter_dim0", "scatter_add_dups", "scatter_add_dim0"])
def test_scatter_and_scatter_add_match_torch_with_both_gradients(fn, idx, src_shape):
    _check_both(fn, rand(3, 3, seed=1), idx, rand(*src_shape, seed=2))


def test_scatter_with_index_smaller_than_src_and_input():
    idx, x, src = PERM[:, :2], rand(3, 3, seed=1), rand(2, 4, seed=2)
    fn = lambda lib, x, i, s: x.scatter(-1, i, s)  # noqa: E731
    check_grad(lambda x, s: fn(nerve, x, nerve.tensor(idx), s), x, src)
    # NOTE: torch's backward fails here for src ("got [2, 2] but expected shape compatible with [2, 4]"); nerve
    # gives the untouched corner of src a zero gradient (checked above), so torch is compared for x only.
    compare_with_torch(fn, x.astype(np.float32), idx, src.astype(np.float32), requires_grad=(True, False, False))


def test_scatter_with_a_scalar_value():
    labels = np.array([[2], [0], [1]])
    compare_with_torch(lambda lib, x, i: x.scatter(1, i, 5.0), rand(3, 4, seed=3).astype(np.float32), labels)
    check_grad(lambda x: x.scatter(1, nerve.tensor(labels), 5.0), rand(3, 4, seed=3))


def test_scatter_in_place_one_hot_idiom():
    labels = np.array([2, 0, 3])
    one_hot = nerve.zeros(3, 4).scatter_(1, nerve.tensor(labels)[:, None], 1.0)
    expected = torch.zeros(3, 4).scatter_(1, torch.tensor(labels)[:, None], 1.0)
    np.testing.assert_array_equal(one_hot.data, expected.numpy())


def test_in_place_scatter_add_and_masked_fill_under_no_grad():
    w = nerve.tensor(rand(2, 3, dtype=np.float32), requires_grad=True)
    t = torch.tensor(rand(2, 3, dtype=np.float32), requires_grad=True)
    idx, src = np.array([[0, 0, 1]]), rand(1, 3, seed=5, dtype=np.float32)
    mask = np.array([True, False, True])
    with nerve.no_grad():
        out = w.scatter_add_(0, nerve.tensor(idx), nerve.tensor(src)).masked_fill_(nerve.tensor(mask), -1.0)
    with torch.no_grad():
        t.scatter_add_(0, torch.tensor(idx), torch.tensor(src)).masked_fill_(torch.tensor(mask), -1.0)
    assert out is w and w.requires_grad
    np.testing.assert_allclose(w.data, t.detach().numpy())
    x = nerve.zeros(2, 2)  # a tensor without grad needs no no_grad
    x.scatter_(0, nerve.tensor([[1, 0]]), nerve.tensor([[3.0, 4.0]])).masked_fill_(nerve.tensor([[True, False]] * 2), 7)
    np.testing.assert_array_equal(x.data, [[7.0, 4.0], [7.0, 0.0]])


@pytest.mark.parametrize("op, args", [("scatter_", (0, [[0]], 1.0)), ("scatter_add_", (0, [[0]], [[1.0]])),
                                      ("masked_fill_", ([True, False], 0.0))])
def test_in_place_forms_follow_the_in_place_rules(op, args):
    args = tuple(nerve.tensor(a) if isinstance(a, list) else a for a in args)
    leaf = nerve.ones(2, 1, requires_grad=True) if op != "masked_fill_" else nerve.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=rf"^{op}: a leaf tensor that requires grad is being modified in place"):
        getattr(leaf, op)(*args)
    with pytest.raises(RuntimeError, match=rf"^{op}: in-place operations on tensors recorded in the graph"):
        getattr(leaf * 2, op)(*args)


def test_scatter_errors_name_the_function():
    x, idx = nerve.zeros(2, 3), nerve.tensor([[0, 1]])
    with pytest.raises(TypeError, match=r"^scatter: expected src of the input's dtype float32, got float64$"):
        nerve.scatter(x, 1, idx, nerve.ones(1, 2, dtype=nerve.float64))
    with pytest.raises(TypeError, match=r"^scatter_add: index must be an integer tensor, got dtype float32$"):
        nerve.scatter_add(x, 1, nerve.ones(1, 2), nerve.ones(1, 2))
    with pytest.raises(ValueError, match=r"^scatter: index of shape \(2,\), input of shape \(2, 3\) and src of shape "
                                         r"\(1, 2\) must have the same number of dims$"):
        nerve.scatter(x, 1, nerve.tensor([0, 1]), nerve.ones(1, 2))
    with pytest.raises(ValueError, match=r"^scatter: index of shape \(1, 2\) must be no larger than src of shape "
                                         r"\(1, 1\), nor than the input of shape \(2, 3\) outside dim 1$"):
        nerve.scatter(x, 1, idx, nerve.ones(1, 1))
    with pytest.raises(IndexError, match=r"^scatter_: index 3 is out of bounds for dimension 1 with size 3$"):
        x.scatter_(1, nerve.tensor([[0, 3]]), 1.0)
    with pytest.raises(TypeError, match=r"^masked_fill_: mask must be a bool tensor, got dtype int64$"):
        x.masked_fill_(nerve.tensor([1, 0, 1]), 2.0)
    with pytest.raises(ValueError, match=r"^masked_fill_: mask of shape \(3, 3\) does not broadcast to the tensor's "
                                         r"shape \(2, 3\)$"):
        x.masked_fill_(nerve.ones(3, 3).bool(), 2.0)


@pytest.mark.parametrize("fn, idx, src_shape", [
    (lambda lib, x, i, s: lib.index_add(x, 0, i, s), np.array([2, 0, 2, 2]), (4, 3)),
    (lambda lib, x, i, s: x.index_add(-1, i, s, alpha=-2.5), np.array([1, 1]), (3, 2)),
    (lambda lib, x, i, s: x.index_add(1, i, s), np.array(1), (3, 1)),
], ids=["dim0_repeats", "alpha_neg_dim", "index_0d"])
def test_index_add_matches_torch(fn, idx, src_shape):
    _check_both(fn, rand(3, 3, seed=1), idx, rand(*src_shape, seed=2))


def test_index_add_errors():
    with pytest.raises(ValueError, match=r"^index_add: source of shape \(2, 3\) does not fit; expected \(3, 3\) "
                                         r"\(the input's shape with dim 0 of the index's length 3\)$"):
        nerve.index_add(nerve.zeros(2, 3), 0, nerve.tensor([0, 1, 1]), nerve.ones(2, 3))
    with pytest.raises(ValueError, match=r"^index_add: index must be 0-d or 1-d, got shape \(1, 2\)$"):
        nerve.index_add(nerve.zeros(2, 3), 0, nerve.tensor([[0, 1]]), nerve.ones(2, 3))
    with pytest.raises(TypeError, match=r"^index_add: expected source of the input's dtype float32, got float64$"):
        nerve.index_add(nerve.zeros(2, 3), 0, nerve.tensor([0, 1]), nerve.ones(2, 3, dtype=nerve.float64))


@pytest.mark.parametrize("fn, idx", [
    (lambda lib, x, i: lib.index_select(x, 0, i), np.array([2, 0, 2])),
    (lambda lib, x, i: x.index_select(-1, i), np.array([3, 3, 1, 0, 2])),
    (lambda lib, x, i: lib.index_select(x, 1, i), np.array(1)),  # a 0-d index keeps the dim, as torch
    (lambda lib, x, i: lib.index_select(x, 1, i), np.zeros(0, np.int64)),
], ids=["dim0_repeats", "neg_dim", "index_0d", "empty"])
def test_index_select_matches_torch(fn, idx):
    _check_both(fn, rand(3, 4, seed=1), idx)


def test_index_select_errors():
    with pytest.raises(IndexError, match=r"^index_select: index 4 is out of bounds for dimension 1 with size 4$"):
        nerve.index_select(nerve.ones(3, 4), 1, nerve.tensor([0, 4]))
    with pytest.raises(IndexError, match=r"^index_select: index -1 is out of bounds for dimension 0 with size 3$"):
        nerve.ones(3, 4).index_select(0, nerve.tensor([-1]))
    with pytest.raises(IndexError, match=r"^index_select: dim 2 is out of range for a tensor with 2 dimension"):
        nerve.ones(3, 4).index_select(2, nerve.tensor([0]))
    with pytest.raises(TypeError, match=r"^index_select: index must be an integer tensor, got dtype float32$"):
        nerve.ones(3, 4).index_select(0, nerve.tensor([0.0]))


@pytest.mark.parametrize("fn, x_shape, idx", [
    (lambda lib, x, i: lib.take_along_dim(x, i, 1), (2, 3), np.array([[2, 0], [1, 1]])),
    (lambda lib, x, i: x.take_along_dim(i, dim=-2), (3, 2), np.array([[2, 0]])),
    (lambda lib, x, i: lib.take_along_dim(x, i), (2, 3), np.array([5, 0, 5])),  # dim=None: flattened
    (lambda lib, x, i: lib.take_along_dim(x, i, 2), (2, 1, 3), np.array([[[0], [2], [1], [0]]])),  # broadcasts
    (lambda lib, x, i: lib.take_along_dim(x, i, 1), (2, 3), np.argsort(rand(2, 3, seed=4), axis=1)),
], ids=["dim1", "neg_dim", "flat", "broadcast", "argsort"])
def test_take_along_dim_matches_torch(fn, x_shape, idx):
    _check_both(fn, rand(*x_shape, seed=1), idx)


def test_take_along_dim_errors():
    with pytest.raises(ValueError, match=r"^take_along_dim: indices of shape \(2,\) have 1 dims but the input of "
                                         r"shape \(2, 3\) has 2$"):
        nerve.take_along_dim(nerve.ones(2, 3), nerve.tensor([0, 1]), 1)
    with pytest.raises(ValueError, match=r"^take_along_dim: input of shape \(2, 3\) and indices of shape \(3, 1\) do "
                                         r"not broadcast outside dim 1$"):
        nerve.take_along_dim(nerve.ones(2, 3), nerve.tensor([[0], [1], [2]]), 1)


@pytest.mark.parametrize("x_shape, mask", [
    ((2, 3), np.array([[True, False, True], [False, False, True]])),
    ((2, 3), np.array([True, False, True])),  # the mask broadcasts
    ((3,), np.array([[True, False, True], [True, True, False]])),  # the input broadcasts
    ((2, 3), np.zeros((2, 3), bool)),
    ((), np.array(True)),
], ids=["same_shape", "mask_broadcasts", "input_broadcasts", "none_selected", "0d"])
def test_masked_select_matches_torch(x_shape, mask):
    _check_both(lambda lib, x, m: lib.masked_select(x, m), rand(*x_shape, seed=1), mask)
    compare_with_torch(lambda lib, x, m: x.masked_select(m), rand(*x_shape, seed=1, dtype=np.float32), mask)


def test_masked_select_errors():
    with pytest.raises(TypeError, match=r"^masked_select: mask must be a bool tensor, got dtype int64$"):
        nerve.masked_select(nerve.ones(2), nerve.tensor([1, 0]))
    with pytest.raises(ValueError, match=r"^masked_select: input of shape \(2,\) and mask of shape \(3,\) do not "
                                         r"broadcast$"):
        nerve.masked_select(nerve.ones(2), nerve.tensor([True, False, True]))


@pytest.mark.parametrize("data", [
    np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]], np.float32),
    np.array([0, 3, 0, 0, 7]),
    np.array([[[True, False], [False, True]]]),
    np.zeros((2, 2), np.float32),
    np.array(3.0, np.float32),
    np.array(0.0, np.float32),
], ids=["2d", "1d_int", "3d_bool", "all_zero", "0d", "0d_zero"])
def test_nonzero_argwhere_and_one_argument_where_match_torch(data):
    compare_with_torch(lambda lib, x: lib.nonzero(x), data)
    compare_with_torch(lambda lib, x: x.nonzero(as_tuple=True), data)
    compare_with_torch(lambda lib, x: lib.argwhere(x), data)
    compare_with_torch(lambda lib, x: x.argwhere(), data)
    compare_with_torch(lambda lib, x: lib.where(x), data)


def test_three_argument_where_is_unchanged():
    cond = np.array([True, False, True])
    _check_both(lambda lib, x, c, y: lib.where(c, x, y), rand(3, seed=1), cond, rand(3, seed=2))
    with pytest.raises(TypeError, match=r"^where: expected where\(condition\) or where\(condition, input, other\), "
                                        r"got one of input and other$"):
        nerve.where(nerve.tensor(cond), nerve.ones(3))


def test_zero_dim_scatter_checks_its_index_like_torch():
    with pytest.raises(RuntimeError, match="out of bounds"):
        torch.scatter(torch.tensor(5.0), 0, torch.tensor(-1), torch.tensor(7.0))
    with pytest.raises(IndexError, match=r"^scatter: index -1 is out of bounds for dimension 0 with size 1"):
        nerve.scatter(nerve.tensor(5.0), 0, nerve.tensor(-1), nerve.tensor(7.0))
    assert nerve.scatter(nerve.tensor(5.0), 0, nerve.tensor(0), nerve.tensor(7.0)).item() == 7.0

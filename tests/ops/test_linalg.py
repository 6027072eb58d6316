"""Matrix products: every ``matmul`` case of PyTorch, and the fused ``linear``."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from conftest import check_grad, compare_with_torch, rand

import nerve
from nerve.ops import linalg


def _linear(lib):
    return linalg.linear if lib is nerve else torch.nn.functional.linear


def _check_both(fn, *arrays):
    check_grad(functools.partial(fn, nerve), *arrays)
    compare_with_torch(fn, *[a.astype(np.float32) for a in arrays])


MATMUL_SHAPES = [
    ((3,), (3,)),  # dot
    ((2, 3), (3,)),  # matrix-vector
    ((3,), (3, 2)),  # vector-matrix
    ((2, 3), (3, 4)),
    ((2, 2, 3), (2, 3, 2)),  # batched
    ((2, 1, 2, 3), (3, 3, 2)),  # broadcast batch dims
    ((1, 2, 3), (2, 3, 2)),
    ((2, 2, 3), (3, 2)),  # 3-D @ 2-D (flattened GEMM path)
    ((2, 2, 2, 3), (3, 1)),
    ((2, 3), (2, 3, 2)),  # 2-D @ 3-D
    ((3,), (2, 3, 2)),  # 1-D @ 3-D
    ((2, 2, 3), (3,)),  # 3-D @ 1-D
]


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES, ids=str)
def test_matmul(sa, sb):
    a, b = rand(*sa, seed=1), rand(*sb, seed=2)
    _check_both(lambda lib, a, b: a @ b, a, b)
    compare_with_torch(lambda lib, a, b: lib.matmul(a, b), a.astype(np.float32), b.astype(np.float32))


def test_matmul_one_side_requires_grad():
    a, b = rand(2, 2, 3, seed=1), rand(3, 2, seed=2)
    check_grad(lambda a, b: a @ b, a, b, requires_grad=(False, True))
    check_grad(lambda a, b: a @ b, a, b, requires_grad=(True, False))


def test_mm_bmm_methods():
    a, b = rand(2, 3, seed=1, dtype=np.float32), rand(3, 2, seed=2, dtype=np.float32)
    compare_with_torch(lambda lib, a, b: a.mm(b), a, b)
    compare_with_torch(lambda lib, a, b: lib.mm(a, b), a, b)
    a3, b3 = rand(2, 2, 3, seed=1, dtype=np.float32), rand(2, 3, 2, seed=2, dtype=np.float32)
    compare_with_torch(lambda lib, a, b: lib.bmm(a, b), a3, b3)


def test_matmul_dtype():
    a = rand(2, 3, dtype=np.float64)
    out = nerve.tensor(a) @ nerve.tensor(a.T)
    assert out.dtype == np.float64
    assert (nerve.tensor(a, dtype=nerve.float32) @ nerve.tensor(a.T, dtype=nerve.float32)).dtype == np.float32


@pytest.mark.parametrize("xshape", [(2, 3), (2, 2, 3), (3,)], ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_linear(xshape, bias):
    x, w, b = rand(*xshape, seed=1), rand(4, 3, seed=2), rand(4, seed=3)
    if bias:
        _check_both(lambda lib, x, w, b: _linear(lib)(x, w, b), x, w, b)
    else:
        _check_both(lambda lib, x, w: _linear(lib)(x, w), x, w)


def test_linear_without_input_grad():
    x, w, b = rand(2, 3, seed=1), rand(4, 3, seed=2), rand(4, seed=3)
    check_grad(lambda x, w, b: linalg.linear(x, w, b), x, w, b, requires_grad=(False, True, True))
    xt = nerve.tensor(x)
    wt = nerve.tensor(w, requires_grad=True)
    linalg.linear(xt, wt).sum().backward()
    assert xt.grad is None and wt.grad is not None


def test_linear_matches_matmul_composition():
    x, w, b = (nerve.tensor(rand(*s, seed=i)) for i, s in enumerate([(2, 2, 3), (4, 3), (4,)]))
    np.testing.assert_allclose(linalg.linear(x, w, b).data, (x @ w.T + b).data, rtol=1e-12)


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "sa, sb",
    [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (2,)), ((3,), (2, 3)), ((2, 2, 3), (4, 2)), ((2, 2, 3), (3, 3, 2))],
    ids=str,
)
def test_matmul_shape_mismatch_names_both_shapes(sa, sb):
    with pytest.raises(ValueError, match="matmul") as info:
        nerve.ones(*sa) @ nerve.ones(*sb)
    assert str(sa) in str(info.value) and str(sb) in str(info.value)
    with pytest.raises(RuntimeError):  # torch also refuses these
        torch.ones(*sa) @ torch.ones(*sb)


def test_matmul_rejects_scalars_and_non_tensors():
    with pytest.raises(ValueError, match=r"matmul: both operands need at least 1 dimension, got shapes \(\)"):
        nerve.matmul(nerve.tensor(2.0), nerve.ones(3))
    with pytest.raises(TypeError, match="matmul: expected two tensors, got Tensor and list"):
        nerve.matmul(nerve.ones(3), [1.0, 2.0, 3.0])


def test_matmul_rejects_integer_tensors():
    with pytest.raises(TypeError, match=r"matmul: expected floating-point tensors, got \(2, 2\) \(int64\)"):
        nerve.ones(2, 2, dtype=nerve.int64) @ nerve.ones(2, 2, dtype=nerve.int64)


def test_linear_errors():
    x, w = nerve.ones(2, 3), nerve.ones(4, 3)
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 5\) has last dim 5, expected in_features=3"):
        linalg.linear(nerve.ones(2, 5), w)
    with pytest.raises(ValueError, match=r"linear: weight must be 2-D .* got shape \(3,\)"):
        linalg.linear(x, nerve.ones(3))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(4,\), got \(3,\)"):
        linalg.linear(x, w, nerve.ones(3))
    with pytest.raises(TypeError, match="linear: input dtype float64 does not match weight dtype float32"):
        linalg.linear(x.double(), w)
    with pytest.raises(TypeError, match="linear: bias dtype float64 does not match weight dtype float32"):
        linalg.linear(x, w, nerve.ones(4, dtype=nerve.float64))


# -------------------------------------------------------------------------------------------------- einsum

# (id, equation, operand shapes)
EINSUM_CASES = [
    ("matmul", "ij,jk->ik", [(2, 3), (3, 4)]),
    ("matmul_implicit", "ij,jk", [(2, 3), (3, 4)]),
    ("batched_matmul", "bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("bilinear", "bi,ij,bj->b", [(3, 2), (2, 4), (3, 4)]),
    ("four_operands", "ab,bc,cd,d->a", [(2, 3), (3, 2), (2, 4), (4,)]),
    ("trace", "ii", [(3, 3)]),
    ("diagonal", "ii->i", [(3, 3)]),
    ("batch_diagonal", "bii->bi", [(2, 3, 3)]),
    ("diagonal_times", "iij,j->i", [(2, 2, 3), (3,)]),
    ("outer", "i,j->ij", [(3,), (2,)]),
    ("dot", "i,i->", [(3,), (3,)]),
    ("transpose", "ij->ji", [(2, 3)]),
    ("sum_one_operand", "ij->i", [(2, 3)]),
    ("sum_all", "ij->", [(2, 3)]),
    ("summed_inside_one", "ij,k->k", [(2, 3), (4,)]),
    ("implicit_sorted", "ba", [(2, 3)]),
    ("upper_before_lower", "aB", [(2, 3)]),
    ("attention_scores", "bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 2, 4)]),
    ("attention_values", "bhqk,bhkd->bhqd", [(1, 2, 3, 2), (1, 2, 2, 4)]),
    ("spaces", "i j , j k -> i k", [(2, 3), (3, 4)]),
    ("ellipsis_matmul", "...ij,...jk->...ik", [(2, 2, 3), (2, 3, 2)]),
    ("ellipsis_broadcast", "...ij,...jk", [(2, 1, 2, 3), (4, 3, 2)]),
    ("ellipsis_middle", "i...j->j...i", [(2, 3, 4, 2)]),
    ("ellipsis_summed", "...ij->ij", [(3, 2, 3)]),
    ("ellipsis_alone", "...", [(2, 3)]),
    ("ellipsis_one_operand_only", "...i,i->...", [(2, 3, 4), (4,)]),
    ("broadcast_size_one", "ij,jk->ik", [(2, 1), (3, 4)]),
]


@pytest.mark.parametrize("equation, shapes", [c[1:] for c in EINSUM_CASES], ids=[c[0] for c in EINSUM_CASES])
def test_einsum(equation, shapes):
    arrays = [rand(*s, seed=i + 1) for i, s in enumerate(shapes)]
    _check_both(lambda lib, *xs: lib.einsum(equation, *xs), *arrays)


def test_einsum_list_form_and_one_operand_without_grad():
    a, b = rand(2, 3, seed=1), rand(3, 4, seed=2)
    _check_both(lambda lib, a, b: lib.einsum("ij,jk->ik", [a, b]), a, b)
    check_grad(lambda a, b: nerve.einsum("ij,jk->ik", a, b), a, b, requires_grad=(False, True))


def test_einsum_same_tensor_twice():
    # both operands are one leaf: its gradient is the sum of the two VJPs
    _check_both(lambda lib, a: lib.einsum("ij,kj->ik", a, a), rand(2, 3, seed=1))


def test_einsum_integer_operands():
    a = np.arange(6).reshape(2, 3)
    compare_with_torch(lambda lib, a: lib.einsum("ij,ij->i", a, a), a)


def test_einsum_errors():
    a, b = nerve.ones(2, 3), nerve.ones(3, 4)
    with pytest.raises(ValueError, match=r"^einsum: equation 'ij,jk' names 2 operand\(s\) but 1 tensor\(s\) were "
                                         "given$"):
        nerve.einsum("ij,jk", a)
    with pytest.raises(ValueError, match=r"^einsum: operand 0 has 3 dim\(s\) \(2, 3, 4\) but its subscripts 'ij' "
                                         r"name 2 \(use \.\.\. for the rest\)$"):
        nerve.einsum("ij", nerve.ones(2, 3, 4))
    with pytest.raises(ValueError, match=r"^einsum: subscript 'j' has size 4 in operand 1 but 3 in an earlier operand; "
                                         "sizes must match or be 1$"):
        nerve.einsum("ij,jk", a, nerve.ones(4, 4))
    with pytest.raises(ValueError, match=r"^einsum: subscript 'i' is repeated in operand 0 with sizes 2 and 3"):
        nerve.einsum("ii", a)
    with pytest.raises(ValueError, match=r"^einsum: invalid subscript '1' in 'i1'; subscripts must be letters"):
        nerve.einsum("i1", a)
    with pytest.raises(ValueError, match=r"^einsum: output subscript 'k' of 'ij->k' appears in no operand$"):
        nerve.einsum("ij->k", a)
    with pytest.raises(ValueError, match=r"^einsum: output subscript 'i' appears more than once in 'ij->ii'$"):
        nerve.einsum("ij->ii", a)
    with pytest.raises(TypeError, match=r"^einsum: operands must share one dtype, got float32, float64$"):
        nerve.einsum("ij,jk", a, b.double())
    with pytest.raises(TypeError, match=r"^einsum: operand 1 must be a nerve.Tensor, got ndarray$"):
        nerve.einsum("ij,jk", a, np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"^einsum: expected at least one operand tensor$"):
        nerve.einsum("ij")


# --------------------------------------------------------------------- outer, dot, tril/triu, diag, trace

MATRIX_OPS = [
    ("outer", lambda lib, a, b: lib.outer(a, b), [(3,), (2,)]),
    ("outer_method", lambda lib, a, b: a.outer(b), [(3,), (3,)]),
    ("ger", lambda lib, a, b: lib.ger(a, b), [(2,), (3,)]),
    ("dot", lambda lib, a, b: lib.dot(a, b), [(3,), (3,)]),
    ("dot_method", lambda lib, a, b: a.dot(b), [(4,), (4,)]),
    ("tril", lambda lib, x: lib.tril(x), [(3, 4)]),
    ("tril_offset", lambda lib, x: x.tril(1), [(3, 4)]),
    ("tril_negative_batched", lambda lib, x: lib.tril(x, -1), [(2, 3, 3)]),
    ("triu", lambda lib, x: lib.triu(x), [(4, 3)]),
    ("triu_offset", lambda lib, x: x.triu(diagonal=-1), [(3, 4)]),
    ("triu_batched", lambda lib, x: lib.triu(x, 2), [(2, 3, 4)]),
    ("diag_embed", lambda lib, x: lib.diag(x), [(3,)]),
    ("diag_embed_above", lambda lib, x: x.diag(2), [(3,)]),
    ("diag_embed_below", lambda lib, x: lib.diag(x, -1), [(3,)]),
    ("diag_extract", lambda lib, x: lib.diag(x), [(3, 4)]),
    ("diag_extract_offset", lambda lib, x: x.diag(1), [(3, 4)]),
    ("diag_extract_below", lambda lib, x: lib.diag(x, -2), [(3, 4)]),
    ("diag_past_edge", lambda lib, x: lib.diag(x, 5), [(3, 4)]),
    ("diagonal", lambda lib, x: lib.diagonal(x), [(3, 4)]),
    ("diagonal_dims", lambda lib, x: x.diagonal(1, 0, 2), [(3, 2, 4)]),
    ("diagonal_neg_dims", lambda lib, x: lib.diagonal(x, offset=-1, dim1=-1, dim2=0), [(3, 2, 4)]),
    ("trace", lambda lib, x: lib.trace(x), [(3, 3)]),
    ("trace_rect", lambda lib, x: x.trace(), [(2, 4)]),
]


@pytest.mark.parametrize("fn, shapes", [c[1:] for c in MATRIX_OPS], ids=[c[0] for c in MATRIX_OPS])
def test_matrix_ops(fn, shapes):
    _check_both(fn, *[rand(*s, seed=i + 1) for i, s in enumerate(shapes)])


def test_matrix_ops_dtypes_like_torch():
    ints = np.arange(9).reshape(3, 3).astype(np.int32)
    for fn in (lambda lib, x: lib.trace(x), lambda lib, x: lib.tril(x), lambda lib, x: lib.diag(x),
               lambda lib, x: x.diagonal(), lambda lib, x: lib.outer(x[0], x[1].double())):
        compare_with_torch(fn, ints)
    compare_with_torch(lambda lib, a, b: lib.outer(a, b), rand(2, dtype=np.float32), np.arange(3))


def test_tril_keeps_infinities_out_of_the_zeroed_triangle():
    x = nerve.tensor([[1.0, np.inf], [-np.inf, 2.0]])
    np.testing.assert_array_equal(nerve.tril(x).data, [[1.0, 0.0], [-np.inf, 2.0]])


def test_matrix_op_errors():
    with pytest.raises(ValueError, match=r"^outer: expected 1-D tensors, got input of shape \(2, 3\)$"):
        nerve.outer(nerve.ones(2, 3), nerve.ones(3))
    with pytest.raises(ValueError, match=r"^dot: expected 1-D tensors, got tensor of shape \(2, 2\)$"):
        nerve.dot(nerve.ones(2), nerve.ones(2, 2))
    with pytest.raises(ValueError, match=r"^dot: sizes must match, got shapes \(2,\) and \(3,\)$"):
        nerve.dot(nerve.ones(2), nerve.ones(3))
    with pytest.raises(TypeError, match=r"^dot: expected both tensors to have the same dtype, got \(2,\) \(float32\) "
                                        r"and \(2,\) \(float64\)$"):
        nerve.dot(nerve.ones(2), nerve.ones(2).double())
    with pytest.raises(ValueError, match=r"^tril: expected a tensor with at least 2 dims, got shape \(3,\)$"):
        nerve.tril(nerve.ones(3))
    with pytest.raises(ValueError, match=r"^triu: expected a tensor with at least 2 dims, got shape \(\)$"):
        nerve.triu(nerve.tensor(1.0))
    with pytest.raises(ValueError, match=r"^diag: expected a 1-D or 2-D tensor, got shape \(2, 3, 3\)$"):
        nerve.diag(nerve.ones(2, 3, 3))
    with pytest.raises(ValueError, match=r"^diagonal: dim1 and dim2 must be different dims, got 0 and -2$"):
        nerve.diagonal(nerve.ones(2, 3), 0, 0, -2)
    with pytest.raises(IndexError, match=r"^diagonal: dim 2 is out of range for a tensor with 2 dimension\(s\)$"):
        nerve.diagonal(nerve.ones(2, 3), 0, 0, 2)
    with pytest.raises(ValueError, match=r"^trace: expected a 2-D tensor \(a matrix\), got shape \(2, 3, 3\)$"):
        nerve.trace(nerve.ones(2, 3, 3))


@pytest.mark.parametrize("fn", [lambda lib, x: lib.tril(x), lambda lib, x: lib.triu(x, 1)], ids=["tril", "triu"])
def test_triangles_keep_bool_and_int_dtypes_like_torch(fn):
    compare_with_torch(lambda lib, x: fn(lib, x > 1), np.array([[1, 2], [3, 4]]))
    compare_with_torch(fn, np.array([[1, 2], [3, 4]], np.int32))

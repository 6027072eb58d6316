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

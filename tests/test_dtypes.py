"""PyTorch's type promotion on NumPy dtypes: nothing is silently promoted to float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import compare_with_torch

import nerve
from nerve import _dtypes

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _operand(lib, kind, dtype):
    """A dimensioned tensor, a 0-d tensor or a Python scalar of ``dtype``."""
    if kind == "scalar":
        return {"bool": True, "int64": 2, "float32": 2.5}[dtype]
    value = np.array([1, 0, 1] if kind == "dim" else 1).astype(dtype)
    return lib.tensor(value) if lib is nerve else torch.from_numpy(value)


OPERANDS = [("dim", d) for d in DTYPES] + [("zero", d) for d in DTYPES] + [("scalar", d) for d in
                                                                             ("bool", "int64", "float32")]
OPS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "maximum": lambda a, b: (nerve if isinstance(a, nerve.Tensor) else torch).maximum(a, b),
    "eq": lambda a, b: a == b,
}


@pytest.mark.parametrize("op", OPS)
def test_promotion_grid_matches_torch(op):
    """Every pair of (dimensioned tensor, 0-d tensor, Python scalar) x dtype gives torch's result dtype."""
    fn = OPS[op]
    mismatches = []
    for ka, da in OPERANDS:
        if ka == "scalar":
            continue
        for kb, db in OPERANDS:
            if op == "maximum" and kb == "scalar":
                continue
            try:
                expected = fn(_operand(torch, ka, da), _operand(torch, kb, db)).dtype
            except RuntimeError:
                continue  # torch refuses the combination
            got = fn(_operand(nerve, ka, da), _operand(nerve, kb, db)).dtype
            if got != np.dtype(str(expected).removeprefix("torch.")):
                mismatches.append(f"{ka} {da} {op} {kb} {db}: nerve {got}, torch {expected}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize(
    "fn, a, b, expected",
    [
        (lambda lib, a: a + 1.5, "float32", None, "float32"),
        (lambda lib, a: 2.5 * a, "int64", None, "float32"),
        (lambda lib, a: a * 2.5, "int64", None, "float32"),
        (lambda lib, a: a / 2, "int64", None, "float32"),
        (lambda lib, a, b: a / b, "int64", "int64", "float32"),
        (lambda lib, a, b: a + b, "float32", "float64", "float64"),
        (lambda lib, a, b: a + b, "int64", "float32", "float32"),
        (lambda lib, a: a + 1, "bool", None, "int64"),
        (lambda lib, a, b: a + b, "bool", "int64", "int64"),
        (lambda lib, a, b: a * b[0], "float32", "float64", "float32"),  # b[0] is a 0-d float64 tensor
        (lambda lib, a: a ** 2, "int64", None, "int64"),
        (lambda lib, a: a ** 0.5, "int64", None, "float32"),
        (lambda lib, a: 2 ** a, "int64", None, "int64"),
        (lambda lib, a: 2.0 ** a, "int64", None, "float32"),
        (lambda lib, a: a.reciprocal(), "int64", None, "float32"),
        (lambda lib, a: lib.where(a > 1, a, 0.5), "int64", None, "float32"),
        (lambda lib, a: lib.where(a > 1, a, 0), "float32", None, "float32"),
        (lambda lib, a, b: lib.cat([a, b]), "int64", "float32", "float32"),
        (lambda lib, a: a.sum(), "int32", None, "int64"),
        (lambda lib, a: a.sum(), "bool", None, "int64"),
        (lambda lib, a: a.clamp(min=0.5), "float32", None, "float32"),
        (lambda lib, a: a.mean(), "float32", None, "float32"),
        (lambda lib, a: lib.sqrt(a), "float64", None, "float64"),
        (lambda lib, a: a.float() / 3, "float16", None, "float32"),
    ],
)
def test_named_promotion_rules(fn, a, b, expected):
    arrays = [np.array([1, 2, 3], dtype=a)] + ([] if b is None else [np.array([4, 5, 6], dtype=b)])
    compare_with_torch(fn, *arrays)  # compares dtypes (and values, and gradients of the float inputs)
    out = fn(nerve, *[nerve.tensor(x) for x in arrays])
    assert out.dtype == np.dtype(expected)


def test_gradients_come_back_in_each_input_dtype():
    a = nerve.tensor([1.0, 2.0], dtype=nerve.float32, requires_grad=True)
    b = nerve.tensor([3.0, 4.0], dtype=nerve.float64, requires_grad=True)
    c = nerve.tensor(2.0, dtype=nerve.float64, requires_grad=True)  # 0-d: does not promote a
    y = (a * b).sum() + (a * c).sum()
    assert y.dtype == np.float64 and (a * c).dtype == np.float32
    y.backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64 and c.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.data, [5.0, 6.0])
    np.testing.assert_allclose(c.grad.data, 3.0)


def test_float32_model_stays_float32():
    x = nerve.tensor(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32), requires_grad=True)
    w = nerve.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    h = nerve.nn.functional.gelu(x @ w.T * 0.5 + 1.0).softmax(-1)
    loss = (h.log() * -1.0).mean() + h.var() + h.norm() * 1e-3 + (h**2).sum() / 3
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_promote_types_and_result_type():
    f32, f64, i64 = np.dtype("float32"), np.dtype("float64"), np.dtype("int64")
    assert _dtypes.promote_types(i64, f32) == f32
    assert _dtypes.promote_types("float16", "int32") == np.float16
    assert _dtypes.promote_types("bool", "uint8") == np.uint8
    assert _dtypes.promote_types("uint8", "int8") == np.int16
    assert _dtypes.result_type(np.ones(2, f32), np.ones((), f64)) == f32
    assert _dtypes.result_type(np.ones(2, i64), 2.5) == f32
    assert _dtypes.result_type(np.ones(2, np.bool_), 2) == i64
    with pytest.raises(TypeError, match="result_type needs at least one operand"):
        _dtypes.result_type()
    with pytest.raises(TypeError, match="expected a number, got str"):
        _dtypes.result_type("a")


def test_as_dtype():
    assert _dtypes.as_dtype(float) == np.float32 and _dtypes.as_dtype(int) == np.int64
    assert _dtypes.as_dtype(bool) == np.bool_ and _dtypes.as_dtype("float64") == np.float64
    assert nerve.float32 == np.float32 and nerve.long == np.int64 and nerve.double == np.float64
    with pytest.raises(TypeError, match="not a dtype"):
        _dtypes.as_dtype("nope")


def test_set_default_dtype():
    try:
        nerve.set_default_dtype(nerve.float64)
        torch.set_default_dtype(torch.float64)
        assert nerve.get_default_dtype() == np.float64
        assert nerve.tensor([1.5]).dtype == np.float64 and nerve.zeros(2).dtype == np.float64
        assert (nerve.tensor([1, 2]) * 0.5).dtype == np.float64 == (torch.tensor([1, 2]) * 0.5).numpy().dtype
        assert (nerve.tensor([1, 2]) / 2).dtype == np.float64
    finally:
        nerve.set_default_dtype(nerve.float32)
        torch.set_default_dtype(torch.float32)
    assert nerve.tensor([1.5]).dtype == np.float32
    with pytest.raises(TypeError, match="set_default_dtype: only float32 and float64 are supported, got int64"):
        nerve.set_default_dtype(nerve.int64)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize(
    "fn",
    [lambda t: nerve.erf(t), lambda t: nerve.nn.functional.gelu(t), lambda t: nerve.nn.functional.gelu(t, "tanh"),
     lambda t: nerve.sigmoid(t), lambda t: nerve.nn.functional.softplus(t, beta=2.0), lambda t: nerve.softmax(t, 0),
     lambda t: nerve.log_softmax(t, 0), lambda t: t.norm(3), lambda t: t.var(), lambda t: t.logsumexp(0),
     lambda t: t**2.5, lambda t: 2.0**t, lambda t: t.clamp(0.1, np.float64(0.9)), lambda t: t / 3,
     lambda t: t.mean() * 0.5 + 1, lambda t: nerve.where(t > 0.5, t, 0.25)],
    ids=["erf", "gelu", "gelu_tanh", "sigmoid", "softplus", "softmax", "log_softmax", "norm3", "var", "logsumexp",
         "pow", "rpow", "clamp", "div", "mean_affine", "where"],
)
def test_ops_keep_the_input_float_dtype(fn, dtype):
    x = nerve.tensor(np.array([0.5, 1.0, 0.25], dtype=dtype), requires_grad=True)
    y = fn(x)
    y.sum().backward()
    assert y.dtype == np.dtype(dtype) and x.grad.dtype == np.dtype(dtype)

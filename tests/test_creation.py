"""Factory functions: copying vs sharing, dtype inference, shapes, and seeded reproducibility."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import nerve


def test_tensor_copies_its_data():
    arr = np.array([1.0, 2.0], np.float32)
    t = nerve.tensor(arr)
    arr[0] = 100.0
    assert t[0].item() == 1.0
    u = nerve.tensor(t)
    t.data[1] = 50.0
    assert u[1].item() == 2.0
    lst = [1.0, 2.0]
    v = nerve.tensor(lst)
    lst[0] = 9.0
    assert v[0].item() == 1.0


def test_as_tensor_and_from_numpy_share_memory():
    arr = np.array([1.0, 2.0])
    for t in (nerve.as_tensor(arr), nerve.from_numpy(arr)):
        assert t.dtype == np.float64 and np.shares_memory(t.data, arr)
    arr[0] = 7.0
    assert nerve.from_numpy(arr)[0].item() == 7.0
    t = nerve.tensor([1.0])
    assert nerve.as_tensor(t) is t
    assert nerve.as_tensor(t, dtype=nerve.float64).dtype == np.float64
    assert nerve.as_tensor(arr, dtype=nerve.float32).dtype == np.float32
    with pytest.raises(TypeError, match=r"from_numpy: expected np\.ndarray, got list"):
        nerve.from_numpy([1.0])


@pytest.mark.parametrize(
    "data",
    [1.5, 3, True, [1.0, 2.0], [1, 2], [[1, 2], [3, 4]], [True, False], [1, 2.5], [],
     np.array([1.0, 2.0]), np.array([1.0], np.float32), np.array([1, 2], np.int32), np.array([1], np.uint8),
     np.float64(2.5), np.array(3)],
    ids=repr,
)
def test_dtype_inference_matches_torch(data):
    n, t = nerve.tensor(data), torch.tensor(data)
    assert n.dtype == np.dtype(str(t.dtype).removeprefix("torch.")), (n.dtype, t.dtype)
    assert n.shape == tuple(t.shape)
    np.testing.assert_array_equal(n.data, t.numpy())


def test_explicit_dtype_and_requires_grad():
    x = nerve.tensor([1, 2], dtype=nerve.float64, requires_grad=True)
    assert x.dtype == np.float64 and x.requires_grad and x.is_leaf
    assert nerve.tensor([1.5], dtype=float).dtype == np.float32
    assert nerve.tensor([1.5], dtype="float64").dtype == np.float64
    assert nerve.tensor([1.7], dtype=int).tolist() == [1]


def test_tensor_from_a_list_of_tensors():
    x = nerve.tensor([nerve.tensor(1.0), nerve.tensor(2.0)])
    assert x.dtype == np.float32 and x.shape == (2,)


def test_bad_data_raises():
    with pytest.raises(TypeError, match="cannot make a tensor from strings"):
        nerve.tensor(["a", "b"])
    with pytest.raises(TypeError, match="cannot make a tensor from dict"):
        nerve.tensor({"a": 1})
    with pytest.raises(TypeError, match="not a dtype"):
        nerve.tensor([1.0], dtype="floaty")


@pytest.mark.parametrize("data, where", [
    ([[1, 2], [3]], "expected sequence of length 2 at dim 1 (got 1)"),
    ([[[1], [2]], [[3], [4, 5]]], "expected sequence of length 1 at dim 2 (got 2)"),
    ([[1.0, 2.0], 3.0], "expected sequence of length 2 at dim 1 (got float)"),
    ([1, [2, 3]], "expected a number at dim 1, got a sequence of length 2"),
])
def test_ragged_nested_lists_say_where_as_torch_does(data, where):
    # NumPy's message ("inhomogeneous shape after 1 dimensions") named neither the function nor the row
    for fn in (nerve.tensor, nerve.as_tensor):
        with pytest.raises(ValueError, match=rf"^nerve\.{fn.__name__}: the nested sequence is ragged: "
                                             rf"{re.escape(where)}$"):
            fn(data)
    if "got a sequence" not in where and "float" not in where:  # torch words these two differently
        with pytest.raises(ValueError, match=rf"^{re.escape(where)}$"):
            torch.tensor(data)
    else:
        with pytest.raises((TypeError, ValueError)):
            torch.tensor(data)


@pytest.mark.parametrize("name, call, size", [
    ("randn", lambda lib: lib.randn(-1, 2), (-1, 2)), ("rand", lambda lib: lib.rand((3, -2)), (3, -2)),
    ("zeros", lambda lib: lib.zeros(2, -3, -1), (2, -3, -1)), ("ones", lambda lib: lib.ones([-1]), (-1,)),
    ("empty", lambda lib: lib.empty(-4), (-4,)), ("full", lambda lib: lib.full((-2,), 1.0), (-2,)),
    ("randint", lambda lib: lib.randint(3, (-1,)), (-1,)), ("randperm", lambda lib: lib.randperm(-1), (-1,)),
    ("normal", lambda lib: lib.normal(0.0, 1.0, (2, -1)), (2, -1)),
])
def test_negative_sizes_name_the_function_and_the_size_as_torch_does(name, call, size):
    first = next(d for d in size if d < 0)
    with pytest.raises(ValueError, match=rf"^nerve\.{name}: trying to create a tensor with negative dimension "
                                         rf"{first}: size {re.escape(str(size))}$"):
        call(nerve)
    # torch: "Trying to create tensor with negative dimension -1: [-1, 2]" ("zeros: Dimension size must be
    # non-negative." for zeros)
    with pytest.raises(RuntimeError, match="negative"):
        call(torch)


def test_negative_counts_for_eye_and_linspace():
    # eye and linspace take counts, not sizes; torch words those errors its own way
    with pytest.raises(ValueError, match=r"^nerve\.eye: trying to create a tensor with negative dimension -1: "
                                         r"size \(-1, -1\)$"):
        nerve.eye(-1)
    with pytest.raises(ValueError, match=r"^nerve\.linspace: trying to create a tensor with negative dimension -1: "
                                         r"size \(-1,\)$"):
        nerve.linspace(0, 1, -1)


@pytest.mark.parametrize(
    "fn",
    [lambda lib: lib.zeros(2, 3), lambda lib: lib.zeros((2, 3)), lambda lib: lib.ones(4, dtype=lib.int64),
     lambda lib: lib.ones([2, 1]), lambda lib: lib.zeros(()), lambda lib: lib.full((2, 2), 1.5),
     lambda lib: lib.full((2,), 3), lambda lib: lib.full((2,), True), lambda lib: lib.full((2,), 2, dtype=lib.float64),
     lambda lib: lib.eye(3), lambda lib: lib.eye(2, 3, dtype=lib.float64), lambda lib: lib.arange(5),
     lambda lib: lib.arange(1, 4), lambda lib: lib.arange(0, 1, 0.25), lambda lib: lib.arange(5.0),
     lambda lib: lib.arange(0, 10, 3, dtype=lib.float32), lambda lib: lib.linspace(0, 1, 5),
     lambda lib: lib.linspace(-1, 1, 3, dtype=lib.float64), lambda lib: lib.zeros(2, dtype=lib.bool),
     lambda lib: lib.empty(2, 3).shape],
    ids=["zeros", "zeros_tuple", "ones_int", "ones_list", "zeros_0d", "full_float", "full_int", "full_bool",
         "full_dtype", "eye", "eye_rect", "arange", "arange_start", "arange_step", "arange_float", "arange_dtype",
         "linspace", "linspace_f64", "zeros_bool", "empty"],
)
def test_factories_match_torch(fn):
    n, t = fn(nerve), fn(torch)
    if isinstance(t, torch.Size):
        assert n == tuple(t)
        return
    assert n.dtype == np.dtype(str(t.dtype).removeprefix("torch.")) and n.shape == tuple(t.shape)
    np.testing.assert_allclose(n.data, t.numpy(), rtol=1e-6)


def test_like_factories_keep_dtype_and_shape():
    x = nerve.ones(2, 3, dtype=nerve.float64)
    for y in (nerve.zeros_like(x), nerve.ones_like(x), nerve.full_like(x, 2.0), nerve.empty_like(x),
              nerve.rand_like(x), nerve.randn_like(x)):
        assert y.shape == (2, 3) and y.dtype == np.float64 and not y.requires_grad
    assert nerve.zeros_like(x, dtype=nerve.int64).dtype == np.int64
    assert nerve.ones_like(x, requires_grad=True).requires_grad


def test_factories_can_require_grad():
    for t in (nerve.zeros(2, requires_grad=True), nerve.randn(2, requires_grad=True),
              nerve.full((2,), 1.0, requires_grad=True), nerve.rand(2, requires_grad=True)):
        assert t.requires_grad and t.is_leaf
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        nerve.zeros(2, dtype=nerve.int64, requires_grad=True)


def test_random_factories_shapes_dtypes_and_ranges():
    assert nerve.randn(2, 3).dtype == np.float32 and nerve.randn(2, 3).shape == (2, 3)
    assert nerve.randn((4,), dtype=nerve.float64).dtype == np.float64
    r = nerve.rand(1000)
    assert r.dtype == np.float32 and 0.0 <= r.data.min() and r.data.max() < 1.0
    i = nerve.randint(3, 7, (1000,))
    assert i.dtype == np.int64 and set(np.unique(i.data)) == {3, 4, 5, 6}
    assert nerve.randint(5, (2, 2)).shape == (2, 2) and nerve.randint(5, (2, 2)).data.max() < 5
    p = nerve.randperm(10)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(10))
    n = nerve.randn(20_000)
    assert abs(n.data.mean()) < 0.05 and abs(n.data.std() - 1.0) < 0.05
    b = nerve.bernoulli(nerve.full((10_000,), 0.3))
    assert b.dtype == np.float32 and set(np.unique(b.data)) == {0.0, 1.0} and abs(b.data.mean() - 0.3) < 0.03
    b = nerve.full((10_000,), 7.0, dtype=nerve.float64)
    assert b.bernoulli_(0.3) is b  # in place, keeping the dtype
    assert b.dtype == np.float64 and set(np.unique(b.data)) == {0.0, 1.0} and abs(b.data.mean() - 0.3) < 0.03
    m = nerve.multinomial(nerve.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]), 1)
    assert m.tolist() == [[1], [0]]


@pytest.mark.parametrize(
    "draw",
    [lambda: nerve.randn(3, 2), lambda: nerve.rand(5), lambda: nerve.randint(0, 100, (6,)), lambda: nerve.randperm(8),
     lambda: nerve.normal(1.0, 2.0, (4,)), lambda: nerve.ones(4).normal_(), lambda: nerve.ones(4).uniform_(-1, 1),
     lambda: nerve.ones(16).bernoulli_()],
    ids=["randn", "rand", "randint", "randperm", "normal", "normal_", "uniform_", "bernoulli_"],
)
def test_manual_seed_reproducibility(draw):
    nerve.manual_seed(123)
    a, a2 = draw(), draw()
    nerve.manual_seed(123)
    b, b2 = draw(), draw()
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a2.data, b2.data)
    assert not np.array_equal(a.data, a2.data)  # the stream advances
    nerve.manual_seed(124)
    assert not np.array_equal(draw().data, a.data)


def test_generators_are_independent_streams():
    g1, g2 = nerve.Generator(5), nerve.Generator(5)
    nerve.manual_seed(0)
    a = nerve.randn(4, generator=g1)
    nerve.randn(10)  # the global stream does not disturb g2
    b = nerve.randn(4, generator=g2)
    np.testing.assert_array_equal(a.data, b.data)
    g1.manual_seed(5)
    np.testing.assert_array_equal(nerve.randn(4, generator=g1).data, a.data)
    assert g1.initial_seed() == 5


def test_rng_state_round_trip():
    state = nerve.get_rng_state()
    a = nerve.rand(3)
    nerve.set_rng_state(state)
    np.testing.assert_array_equal(nerve.rand(3).data, a.data)
    nerve.manual_seed(9)
    assert nerve.initial_seed() == 9


def test_bad_generator():
    with pytest.raises(TypeError, match=r"expected a nerve\.Generator, got int"):
        nerve.randn(2, generator=3)


FACTORIES_WITH_DEVICE = {
    "tensor": lambda **kw: nerve.tensor([1.0, 2.0], **kw),
    "as_tensor": lambda **kw: nerve.as_tensor([1.0, 2.0], **kw),
    "zeros": lambda **kw: nerve.zeros(2, 3, **kw),
    "ones": lambda **kw: nerve.ones((2, 3), **kw),
    "empty": lambda **kw: nerve.empty(2, **kw),
    "full": lambda **kw: nerve.full((2,), 1.5, **kw),
    "rand": lambda **kw: nerve.rand(2, **kw),
    "randn": lambda **kw: nerve.randn(2, **kw),
    "randint": lambda **kw: nerve.randint(0, 5, (3,), **kw),
    "randperm": lambda **kw: nerve.randperm(4, **kw),
    "arange": lambda **kw: nerve.arange(5, **kw),
    "linspace": lambda **kw: nerve.linspace(0, 1, 5, **kw),
    "eye": lambda **kw: nerve.eye(3, **kw),
    "zeros_like": lambda **kw: nerve.zeros_like(nerve.ones(2), **kw),
    "ones_like": lambda **kw: nerve.ones_like(nerve.ones(2), **kw),
    "full_like": lambda **kw: nerve.full_like(nerve.ones(2), 3.0, **kw),
    "empty_like": lambda **kw: nerve.empty_like(nerve.ones(2), **kw),
    "rand_like": lambda **kw: nerve.rand_like(nerve.ones(2), **kw),
    "randn_like": lambda **kw: nerve.randn_like(nerve.ones(2), **kw),
}


@pytest.mark.parametrize("name", FACTORIES_WITH_DEVICE)
def test_factories_accept_the_cpu_and_reject_other_devices(name):
    make = FACTORIES_WITH_DEVICE[name]
    expected = make()
    for device in (None, "cpu", nerve.device("cpu"), torch.device("cpu").type):
        out = make(device=device)
        assert out.shape == expected.shape and out.dtype == expected.dtype and out.device == "cpu"
    with pytest.raises(ValueError, match=rf"^nerve\.{name}: nerve runs on the CPU only \(NumPy\), got device 'cuda'$"):
        make(device="cuda")
    with pytest.raises(ValueError, match=rf"^nerve\.{name}: nerve runs on the CPU only \(NumPy\), got device 'mps:0'$"):
        make(device=nerve.device("mps", 0))


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_size_as_a_keyword_like_torch(name):
    for size in ((2, 3), [2, 3], (), (0, 4)):
        n, t = getattr(nerve, name)(size=size), getattr(torch, name)(size=size)
        assert n.shape == tuple(t.shape) and n.dtype == np.float32
    assert getattr(nerve, name)(size=(2,), dtype=nerve.float64).dtype == np.float64
    with pytest.raises(TypeError, match=rf"^nerve\.{name}: got the size both positionally \(2,\) and as size=\(3,\)$"):
        getattr(nerve, name)(2, size=(3,))
    with pytest.raises(ValueError, match=rf"^nerve\.{name}: trying to create a tensor with negative dimension -1"):
        getattr(nerve, name)(size=(2, -1))
    assert nerve.full(size=(2, 2), fill_value=1).dtype == torch.full(size=(2, 2), fill_value=1).numpy().dtype


@pytest.mark.parametrize("base", [np.float32, np.float64, np.int64])
def test_new_factories_match_torch(base):
    n, t = nerve.tensor(np.ones(2, base)), torch.tensor(np.ones(2, base))
    for method, args in [("new_zeros", (2, 3)), ("new_zeros", ((2, 3),)), ("new_ones", (3,)), ("new_empty", (2, 1)),
                         ("new_full", ((2, 2), 7)), ("new_tensor", ([1, 2, 3],)), ("new_tensor", (2.5,))]:
        for kw in ({}, {"dtype": nerve.float64}):
            a = getattr(n, method)(*args, **kw)
            b = getattr(t, method)(*args, **({"dtype": torch.float64} if kw else {}))
            assert a.shape == tuple(b.shape) and a.dtype == b.numpy().dtype, (method, args, kw)
            if method != "new_empty":
                np.testing.assert_array_equal(a.data, b.numpy())
    assert n.new_zeros(2, dtype=nerve.float32, requires_grad=True).requires_grad
    assert n.new_ones(1, device="cpu").device == "cpu"
    with pytest.raises(ValueError, match=r"^new_full: nerve runs on the CPU only \(NumPy\), got device 'cuda:1'$"):
        n.new_full((2,), 1.0, device="cuda:1")

"""The Tensor object: conversion, repr, Python protocols, dtype methods, and small conveniences."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from conftest import compare_with_torch

import nerve


def test_item_numpy_tolist():
    x = nerve.tensor([[1.5, 2.0]])
    assert x[0, 1].item() == 2.0 and isinstance(x[0, 1].item(), float)
    assert nerve.tensor([[3]]).item() == 3 and isinstance(nerve.tensor([[3]]).item(), int)
    assert nerve.tensor(True).item() is True
    with pytest.raises(ValueError, match=r"item: only one-element tensors .* got shape \(1, 2\)"):
        x.item()
    assert x.tolist() == [[1.5, 2.0]] and nerve.tensor(4).tolist() == 4
    arr = x.numpy()
    assert np.shares_memory(arr, x.data)
    arr[0, 0] = 9.0
    assert x[0, 0].item() == 9.0
    assert float(nerve.tensor([2.5])) == 2.5 and int(nerve.tensor(7)) == 7


def test_index_protocol():
    assert [10, 20, 30][nerve.tensor(1)] == 20
    with pytest.raises(TypeError, match="only integer tensors of a single element can be converted to an index"):
        [10, 20][nerve.tensor(1.0)]


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda lib: lib.tensor([1.0, 2.0, 3.0]), "tensor([1., 2., 3.])"),
        (lambda lib: lib.tensor([1, 2]), "tensor([1, 2])"),
        (lambda lib: lib.tensor(2.0), "tensor(2.)"),
        (lambda lib: lib.tensor([True, False]), "tensor([ True, False])"),
        (lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64), "tensor([1., 2.], dtype=float64)"),
        (lambda lib: lib.tensor([1, 2], dtype=lib.int32), "tensor([1, 2], dtype=int32)"),
        (lambda lib: lib.tensor([1.0, 2.0], requires_grad=True), "tensor([1., 2.], requires_grad=True)"),
        (lambda lib: lib.tensor([[1.0, 2.0], [3.0, 4.0]]), "tensor([[1., 2.],\n        [3., 4.]])"),
    ],
)
def test_repr_like_torch(make, expected):
    assert repr(make(nerve)) == expected
    assert repr(make(torch)) == expected.replace("dtype=", "dtype=torch.")


def test_repr_of_fractions():
    # NOTE: torch pads fractions to 4 decimals ("tensor(2.5000)"); nerve prints NumPy's shortest form.
    assert repr(nerve.tensor(2.5)) == "tensor(2.5)"
    assert repr(nerve.tensor([0.125, -1.0], dtype=nerve.float64)) == "tensor([ 0.125, -1.   ], dtype=float64)"


def test_repr_of_graph_tensor_names_its_node():
    y = nerve.tensor([1.0], requires_grad=True) * 2.0
    assert repr(y) == "tensor([2.], grad_fn=<MulBackward>)"


def test_bool():
    assert bool(nerve.tensor([1.0])) and not bool(nerve.tensor(0))
    with pytest.raises(ValueError, match="the truth value of a tensor with 3 elements is ambiguous"):
        bool(nerve.ones(3))
    with pytest.raises(ValueError, match="ambiguous"):
        if nerve.ones(2) > 0:
            pass


def test_len_and_iteration():
    x = nerve.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3 and rows[2].shape == (2,)
    np.testing.assert_array_equal(rows[1].data, [3.0, 4.0])
    (rows[0] * 2.0 + rows[2]).sum().backward()  # iteration is differentiable indexing
    np.testing.assert_array_equal(x.grad.data, [[2, 2], [0, 0], [1, 1]])
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(nerve.tensor(1.0))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(nerve.tensor(1.0))


def test_size_properties():
    x = nerve.ones(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.ndim == 3 and x.dim() == 3 and x.numel() == 24 and nerve.numel(x) == 24
    assert x.element_size() == 4 and x.is_floating_point() and not nerve.ones(2, dtype=nerve.int64).is_floating_point()
    assert x.device == "cpu" and x.cpu() is x
    assert x.is_contiguous() and not x.transpose(0, 1).is_contiguous()
    assert x.transpose(0, 1).contiguous().is_contiguous()
    assert nerve.is_tensor(x) and not nerve.is_tensor(x.data)


@pytest.mark.parametrize(
    "conv", ["float", "double", "half", "long", "int", "bool"],
)
def test_dtype_conversion_methods_match_torch(conv):
    x = np.array([-1.5, 0.0, 2.7], np.float32)
    # the floating casts (half included) pass gradients back; integer and bool results leave the graph
    compare_with_torch(lambda lib, x: getattr(x, conv)(), x)


def test_to_and_type():
    x = nerve.tensor([1.0, 2.0])
    assert x.to(nerve.float64).dtype == np.float64
    assert x.to(dtype=nerve.int64).dtype == np.int64
    assert x.to("cpu") is x and x.to(device="cpu") is x
    assert x.to(nerve.ones(1, dtype=nerve.float64)).dtype == np.float64
    assert x.type_as(nerve.tensor([1])).dtype == np.int64
    assert x.type() == "float32" and x.type(nerve.float64).dtype == np.float64
    with pytest.raises(ValueError, match=r"to: nerve runs on the CPU only \(NumPy\), got device 'cuda'"):
        x.to("cuda")
    with pytest.raises(TypeError, match="to: unexpected arguments"):
        x.to(memory_format=None)


def test_pickle_round_trip():
    x = nerve.tensor([[1.0, 2.0]], requires_grad=True)
    y = pickle.loads(pickle.dumps(x))
    np.testing.assert_array_equal(y.data, x.data)
    assert y.requires_grad and y.dtype == np.float32 and y.grad_fn is None


def test_tensors_hash_by_identity_and_compare_elementwise():
    a, b = nerve.ones(2), nerve.ones(2)
    assert len({a, b}) == 2
    eq = a == b
    assert isinstance(eq, nerve.Tensor) and eq.dtype == np.bool_ and eq.data.all()
    assert (a != b).data.sum() == 0


def test_numpy_array_on_the_left_defers_to_tensor():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], np.float32) * x
    assert isinstance(y, nerve.Tensor) and y.requires_grad
    z = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32) @ x
    assert isinstance(z, nerve.Tensor)
    np.testing.assert_array_equal(np.asarray(x), [1.0, 2.0])


@pytest.mark.parametrize(
    "fn",
    [lambda lib, x: x.new_zeros(2, 3), lambda lib, x: x.new_ones((2,)), lambda lib, x: x.new_full((2,), 3.5),
     lambda lib, x: x.new_tensor([1, 2]), lambda lib, x: lib.zeros_like(x), lambda lib, x: lib.ones_like(x),
     lambda lib, x: lib.full_like(x, 2.0), lambda lib, x: x.expand_as(lib.ones(2, 2)),
     lambda lib, x: x.view_as(lib.ones(2, 1)), lambda lib, x: x.reshape_as(lib.ones(1, 2))],
    ids=["new_zeros", "new_ones", "new_full", "new_tensor", "zeros_like", "ones_like", "full_like", "expand_as",
         "view_as", "reshape_as"],
)
def test_new_and_like_helpers_match_torch(fn):
    compare_with_torch(fn, np.array([1.0, 2.0], np.float64))


def test_bitwise_and_logical_operators():
    a = np.array([True, False, True])
    b = np.array([True, True, False])
    for fn in (lambda lib, a, b: a & b, lambda lib, a, b: a | b, lambda lib, a, b: a ^ b, lambda lib, a, b: ~a,
               lambda lib, a, b: lib.logical_not(a), lambda lib, a, b: lib.logical_and(a, b),
               lambda lib, a, b: lib.logical_or(a, b), lambda lib, a, b: lib.logical_xor(a, b)):
        compare_with_torch(fn, a, b)
    i = np.array([6, 3, 5])
    for fn in (lambda lib, a, b: a & b, lambda lib, a, b: a | b, lambda lib, a, b: a ^ b, lambda lib, a, b: ~a):
        compare_with_torch(fn, i, i[::-1].copy())


@pytest.mark.parametrize(
    "kw", [{}, {"rtol": 0.0, "atol": 0.15}, {"rtol": 0.0, "atol": 0.05}, {"equal_nan": True}], ids=str
)
def test_allclose_matches_torch(kw):
    a = np.array([1.0, 2.0, np.nan], np.float32)
    b = np.array([1.0, 2.1, np.nan], np.float32)
    for x, y in ((a, a), (a, b), (a[:2], b[:2])):
        want = torch.allclose(torch.tensor(x), torch.tensor(y), **kw)
        got = nerve.allclose(nerve.tensor(x), nerve.tensor(y), **kw)
        assert type(got) is type(want) and got == want


def test_augmented_assignment_updates_in_place_outside_the_graph_like_torch():
    """``p -= lr * p.grad`` under no_grad must update the parameter object itself (a rebinding would leave the
    model unchanged), as torch's in-place ops do; values follow torch's."""
    rng = np.random.default_rng(0)
    w0, g0 = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    results = {}
    for lib in (nerve, torch):
        w = lib.tensor(w0, requires_grad=True)
        w.grad = lib.tensor(g0)
        alias = w
        with lib.no_grad():
            w -= 0.1 * w.grad
            w *= 2.0
            w += 1.0
            w /= 4.0
        assert w is alias
        results[lib.__name__] = np.asarray(w.detach().numpy())
    np.testing.assert_allclose(results["nerve"], results["torch"], rtol=1e-12)


def test_augmented_assignment_on_a_leaf_that_requires_grad_is_an_error():
    w = nerve.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^add_: a leaf tensor that requires grad is being modified in place"):
        w += 1


def test_augmented_assignment_inside_the_graph_keeps_gradients_like_torch():
    """A residual ``out += identity`` in a forward pass: nerve rebinds the name to the sum (its graph has no
    in-place nodes); values and gradients must equal torch's in-place version."""
    rng = np.random.default_rng(1)
    x0, y0 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))

    def fn(lib, x, y):
        out = x * 2.0
        out += y
        out -= x
        out *= y
        out /= 3.0
        return out

    compare_with_torch(fn, x0, y0)


def test_view_shares_memory_and_refuses_layouts_that_need_a_copy_like_torch():
    x = nerve.arange(6.0).reshape(2, 3)
    v = x.view(3, 2)
    with nerve.no_grad():
        v[0, 0] = 9.0
    assert x[0, 0].item() == 9.0  # a view, not a copy
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        torch.arange(6.0).reshape(2, 3).t().view(6)
    with pytest.raises(RuntimeError, match=r"^view: shape \(6,\) cannot view a tensor of shape \(3, 2\) with strides "
                                           r"\(1, 3\) without copying; use \.reshape\(\.\.\.\)"):
        x.t().view(6)
    np.testing.assert_array_equal(x.t().reshape(6).numpy(), torch.tensor(x.numpy()).t().reshape(6).numpy())


def test_cuda_is_a_clear_error():
    x = nerve.ones(2)
    assert x.is_cuda is False
    with pytest.raises(RuntimeError, match=r"^cuda: nerve runs on the CPU only \(NumPy\); drop \.cuda\(\)"):
        x.cuda()


@pytest.mark.parametrize("call, name", [
    (lambda a: nerve.relu(a), "ReLU"),
    (lambda a: nerve.nn.functional.gelu(a), "gelu"),
    (lambda a: nerve.ones(3) * 2 + nerve.exp(a), "exp"),
    (lambda a: nerve.sigmoid(a), "sigmoid"),
])
def test_numpy_arrays_given_to_ops_are_a_clear_error(call, name):
    """torch: "relu(): argument 'input' (position 1) must be Tensor, not numpy.ndarray"; nerve used to fail deep
    inside with "'numpy.ndarray' object has no attribute 'requires_grad'"."""
    with pytest.raises(TypeError, match=rf"^{name}: (input 0 must be|expected) a nerve\.Tensor, got numpy\.ndarray; "
                                        r"wrap arrays"):
        call(np.ones(3, np.float32))
    with nerve.no_grad(), pytest.raises(TypeError, match=rf"^{name}: "):
        call(np.ones(3, np.float32))


def test_shapes_that_do_not_broadcast_name_the_op_and_both_shapes():
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        torch.ones(2, 3) + torch.ones(4)
    for op, name in ((lambda a, b: a + b, "Add"), (lambda a, b: a * b, "Mul"), (lambda a, b: a - b, "Sub")):
        for grad in (False, True):
            with pytest.raises(ValueError, match=rf"^{name}: shapes \(2, 3\) and \(4,\) do not broadcast"):
                op(nerve.ones(2, 3, requires_grad=grad), nerve.ones(4))


def test_device_api_lets_torch_style_code_run_on_the_cpu():
    """``device = "cuda" if torch.cuda.is_available() else "cpu"`` and ``.to(device)`` run unchanged; devices
    compare like torch's; anything but the CPU is refused where data would move."""
    assert nerve.cuda.is_available() is False and nerve.cuda.device_count() == 0
    dev = nerve.device("cuda" if nerve.cuda.is_available() else "cpu")
    model = nerve.nn.Linear(2, 2).to(dev)
    x = nerve.ones(1, 2).to(dev)
    assert model(x).device == dev == "cpu" and x.device == nerve.device("cpu")
    for name in ("cpu", "cuda", "cuda:1"):
        ours, theirs = nerve.device(name), torch.device(name)
        assert (str(ours), repr(ours)) == (str(theirs), repr(theirs))
    assert nerve.device("cuda", 1) == "cuda:1" and nerve.device("cuda:1") != "cuda:0"
    with pytest.raises(ValueError, match=r"^device: expected one of cpu, cuda, mps, xpu, meta at the start of the "
                                         r"device string, got 'gpu'"):
        nerve.device("gpu")
    with pytest.raises(ValueError, match=r"^Linear\.to: nerve runs on the CPU only \(NumPy\), got device 'cuda:0'"):
        model.to(nerve.device("cuda:0"))
    nerve.backends.cudnn.deterministic = True  # accepted, as set-up code for torch does
    nerve.cuda.manual_seed_all(0)


@pytest.mark.parametrize("lib", [nerve, torch], ids=["nerve", "torch"])
def test_in_place_arithmetic_refuses_to_truncate_like_torch(lib):
    """``int_tensor += 0.5`` and ``/=`` would truncate: both libraries refuse; int += int works."""
    x = lib.tensor([3, 4])
    with pytest.raises(RuntimeError, match="can't be cast to"):
        x += 0.5
    with pytest.raises(RuntimeError, match="can't be cast to"):
        x /= 2
    x += 2
    assert x.tolist() == [5, 6] and str(x.dtype).endswith("int64")


def test_in_place_writes_never_change_what_the_graph_recorded():
    """Under no_grad, ``y += 1`` on a recorded tensor would corrupt the array its backward reads: torch refuses
    at backward (version counter), nerve at the write; a gradient-requiring src is refused too."""
    for lib in (torch, nerve):
        x = lib.tensor([0.0], requires_grad=True)
        y = x.exp()
        z = y.sum()
        if lib is torch:
            with lib.no_grad():
                y += 1
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                z.backward()
        else:
            with pytest.raises(RuntimeError, match=r"^add_: in-place operations on tensors recorded in the graph are "
                                                   r"not supported"):
                with lib.no_grad():
                    y += 1
            z.backward()
            assert x.grad.tolist() == [1.0]
    src = nerve.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^scatter_: the values written require grad"):
        nerve.zeros(2, 3).scatter_(0, nerve.tensor([[1, 0, 1]]), src)
    with pytest.raises(RuntimeError, match=r"^masked_fill_: the values written require grad"):
        nerve.zeros(3).masked_fill_(nerve.tensor([True, False, True]), src[0, 0])


def test_nan_to_num_of_an_integer_tensor_is_a_new_tensor():
    x = nerve.tensor([1, 2, 3])
    y = x.nan_to_num()
    assert y is not x and not np.shares_memory(y.data, x.data) and y.tolist() == [1, 2, 3]

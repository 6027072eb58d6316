"""The backward engine: accumulation, graph freeing, long chains, fan-in, seeds, and its own checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import check_grad, compare_with_torch, rand

import nerve
from nerve.autograd import Function, engine


def test_gradients_accumulate_across_backward_calls():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0 + 2.0, 3.0 + 4.0])
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_leaf_grad_is_an_owned_writable_array():
    x = nerve.tensor(rand(2, 3, dtype=np.float32), requires_grad=True)
    x.sum().backward()  # Sum's VJP is a read-only broadcast view
    assert x.grad.dtype == np.float32 and x.grad.data.flags.writeable and x.grad.data.flags.owndata
    x.grad.data += 1.0
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 2.0))
    assert not x.grad.requires_grad and x.grad.grad_fn is None


def test_second_backward_through_freed_graph_raises():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    mul_node = y.grad_fn.next_functions[0][0]
    assert mul_node.saved != ()
    y.backward()
    assert mul_node.saved is engine._FREED  # the saved inputs were dropped right after use
    with pytest.raises(RuntimeError, match=r"MulBackward: trying to backward through the graph a second time.*"
                                           r"retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.data.copy()
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * first)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_graph_without_saved_arrays_can_be_walked_twice_like_torch():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = (x + 1.0).sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0])


@pytest.mark.parametrize("step", ["mul", "add", "getitem"])
def test_very_long_chain_has_no_recursion_error(step):
    x = nerve.tensor([1.0, 2.0], dtype=nerve.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        if step == "mul":
            y = y * 1.0001
        elif step == "add":
            y = y + 1.0
        else:
            y = y[:]
    y.sum().backward()
    expected = 1.0001**10_000 if step == "mul" else 1.0
    np.testing.assert_allclose(x.grad.data, [expected, expected], rtol=1e-10)
    del y  # dropping a 10,000-node graph must not overflow the C stack either


def test_diamond_graph_accumulates_every_path():
    x = nerve.tensor([0.5, -1.5], dtype=nerve.float64, requires_grad=True)
    y = x * 2.0
    z = y * y + y.exp() + y  # y reaches z along three paths
    w = z * x  # and x is used again
    w.sum().backward()
    xv = x.data
    yv = 2 * xv
    zv = yv * yv + np.exp(yv) + yv
    dz_dx = (2 * yv + np.exp(yv) + 1) * 2
    np.testing.assert_allclose(x.grad.data, dz_dx * xv + zv, rtol=1e-12)


@pytest.mark.parametrize(
    "fn", [lambda lib, x: x * x, lambda lib, x: x + x, lambda lib, x: x / x, lambda lib, x: lib.maximum(x, x),
           lambda lib, x: lib.where(x > 0, x, x), lambda lib, x: lib.cat([x, x]), lambda lib, x: x @ x],
    ids=["mul", "add", "div", "maximum", "where", "cat", "matmul"],
)
def test_same_tensor_twice_in_one_op_like_torch(fn):
    v = np.array([1.5, -0.5, 2.0], np.float32)
    xn = nerve.tensor(v, requires_grad=True)
    xt = torch.tensor(v, requires_grad=True)
    fn(nerve, xn).sum().backward()
    fn(torch, xt).sum().backward()
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), rtol=1e-6)


def test_backward_with_explicit_gradient_for_non_scalar():
    x = nerve.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(gradient=nerve.tensor([1.0, 0.5, -1.0]))
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0, -6.0])
    x.grad = None
    (x * 2.0).backward(np.array([1.0, 1.0, 1.0]))  # arrays work too, and are cast to the output's dtype
    assert x.grad.dtype == np.float32


def test_backward_on_non_scalar_without_gradient_names_the_shape():
    x = nerve.ones(2, 3, requires_grad=True)
    with pytest.raises(ValueError, match=r"backward: gradient can be implied only .* has shape \(2, 3\)"):
        (x * 2.0).backward()


def test_backward_on_a_single_element_non_scalar_is_allowed():
    x = nerve.ones(1, 1, requires_grad=True)
    (x * 2.0).backward()
    np.testing.assert_array_equal(x.grad.data, [[2.0]])


def test_backward_with_wrong_gradient_shape():
    x = nerve.ones(3, requires_grad=True)
    with pytest.raises(ValueError, match=r"backward: gradient has shape \(2,\), expected the output's shape \(3,\)"):
        (x * 2.0).backward(nerve.ones(2))


def test_backward_without_grad_raises():
    with pytest.raises(RuntimeError, match="backward: this tensor does not require grad"):
        nerve.ones(3).sum().backward()
    x = nerve.ones(2, requires_grad=True)
    (x * x).sum().backward(create_graph=True)  # supported: x.grad = 2x, itself differentiable
    assert x.grad.requires_grad and x.grad.tolist() == [2.0, 2.0]


def test_backward_from_a_leaf():
    x = nerve.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_multiple_roots():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    a, b = (x * 2.0).sum(), (x * x).sum()
    nerve.autograd.backward([a, b])
    np.testing.assert_allclose(x.grad.data, [4.0, 6.0])
    x.grad = None
    c = x * 3.0
    nerve.autograd.backward([c, c], [nerve.ones(2), nerve.tensor([1.0, 2.0])])  # same root twice: seeds add
    np.testing.assert_allclose(x.grad.data, [6.0, 9.0])


def test_only_leaves_that_require_grad_get_gradients():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    c = nerve.tensor([3.0, 4.0])
    y = x * c
    assert y.requires_grad and not y.is_leaf and x.is_leaf
    y.sum().backward()
    assert c.grad is None and y.grad is None
    np.testing.assert_allclose(x.grad.data, [3.0, 4.0])


def test_ops_on_constants_build_no_graph():
    y = nerve.ones(3) * 2.0 + nerve.ones(3)
    assert not y.requires_grad and y.grad_fn is None


def test_grad_fn_and_next_functions():
    x = nerve.ones(2, requires_grad=True)
    y = x * 2.0
    z = y.exp()
    assert z.grad_fn.name == "ExpBackward"
    assert z.grad_fn.next_functions[0][0] is y.grad_fn
    assert y.grad_fn.next_functions == ((None, 0), (None, 0))
    assert "ExpBackward" in repr(z)


def test_engine_rejects_a_gradient_of_the_wrong_shape_naming_the_op():
    class BadSum(Function):
        def forward(self, x):
            return x.sum()

        def backward(self, g):
            return (np.ones(3),)  # forgot the input's shape (2, 3)

    x = nerve.tensor(rand(2, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadSumBackward returned a gradient of shape \(3,\) .* shape \(2, 3\)"):
        BadSum.apply(x).backward()


def test_engine_rejects_a_gradient_of_the_wrong_dtype():
    class Leaky(Function):
        def forward(self, x):
            return x * 2

        def backward(self, g):
            return (g.astype(np.float64) * 2,)  # silent float64 promotion

    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"LeakyBackward returned a gradient of shape .* dtype float64"):
        Leaky.apply(x).sum().backward()


def test_needs_input_grad_is_passed_to_backward():
    seen = []

    class Probe(Function):
        def forward(self, a, b):
            return a * b

        def backward(self, g):
            seen.append(self.needs_input_grad)
            return (g if self.needs_input_grad[0] else None, g if self.needs_input_grad[1] else None)

    a = nerve.ones(2, requires_grad=True)
    Probe.apply(a, nerve.ones(2)).sum().backward()
    assert seen == [(True, False)]


def _small_network(lib, x, w1, b1, w2, target):
    """A little of everything: linear layers, activations, shape ops, indexing, reductions, a loss."""
    F = lib.nn.functional
    h = F.gelu(x @ w1.T + b1)  # (4, 5)
    h = lib.cat([h[:, :3], F.silu(h[:, 3:])], dim=1).reshape(2, 2, 5).transpose(0, 1).flatten(0, 1)
    h = h - h.mean(-1, keepdim=True)
    h = h / (h.var(-1, keepdim=True, unbiased=False) + 1e-5).sqrt()
    logits = h @ w2  # (4, 3)
    logp = F.log_softmax(logits, dim=-1)
    nll = -logp.gather(1, target[:, None]).squeeze(1)
    return nll.mean() + 0.1 * logits.abs().amax() + 0.01 * (w1**2).sum()


def test_a_small_network_matches_torch_and_passes_gradcheck():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s) for s in [(4, 3), (5, 3), (5,), (5, 3)]]
    target = np.array([0, 2, 1, 2])
    compare_with_torch(lambda lib, *a: _small_network(lib, *a[:-1], a[-1]),
                       *[a.astype(np.float32) for a in arrays], target)
    check_grad(lambda *a: _small_network(nerve, *a, nerve.tensor(target)), *arrays)


def test_one_fresh_array_returned_for_two_leaves_is_not_shared():
    class SumTwice(Function):  # returns the same (fresh) gradient array for both inputs
        fresh_grads = True

        def forward(self, a, b):
            return a + b

        def backward(self, g):
            same = g.copy()
            return same, same

    a = nerve.tensor([1.0, 2.0], requires_grad=True)
    b = nerve.tensor([3.0, 4.0], requires_grad=True)
    SumTwice.apply(a, b).sum().backward()
    assert a.grad.data is not b.grad.data
    (a * 2.0).sum().backward()  # accumulating into a's gradient must leave b's alone
    np.testing.assert_allclose(a.grad.data, [3.0, 3.0])
    np.testing.assert_allclose(b.grad.data, [1.0, 1.0])


@pytest.mark.parametrize("uses", [3, 4, 7])
def test_a_scalar_node_used_many_times_gets_every_contribution(uses):
    """0-d gradients: NumPy's ``a + b`` of 0-d arrays is a scalar, which ``+=`` rebinds instead of updating;
    the engine once lost every contribution after the second (x.grad read 5 for 2 + 3 + 4)."""
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    s = x.sum()
    total = s * 0
    for k in range(uses):
        total = total + s * (k + 2)
    total.backward()
    expected = sum(k + 2 for k in range(uses))
    assert x.grad.tolist() == [expected, expected]
    y = nerve.tensor(3.0, requires_grad=True)
    nerve.autograd.backward([y * 1, y * 2, y * 3, y * 4])  # four roots into one 0-d leaf
    assert y.grad.item() == 10.0

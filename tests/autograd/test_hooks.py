"""Tensor gradient hooks (leaf and non-leaf), removable handles and ``retain_grad``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve


def _both(fn):
    """Run ``fn(lib, x)`` for nerve and torch on the same data; return both leaves after ``fn``."""
    v = np.array([1.0, -2.0, 3.0], np.float32)
    xn, xt = nerve.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    rn, rt = fn(nerve, xn), fn(torch, xt)
    return (xn, rn), (xt, rt)


def test_leaf_hook_replaces_the_gradient():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.data.copy()) or g * 10.0)
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])
    np.testing.assert_array_equal(x.grad.data, [30.0, 30.0])


def test_hook_returning_none_keeps_the_gradient():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(1))
    (x * 3.0).sum().backward()
    assert calls == [1]
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_handle_removes_the_hook():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    handle = x.register_hook(lambda g: g * 0.0)
    handle.remove()
    handle.remove()  # idempotent
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    y = x * 1.0
    with y.register_hook(lambda g: g * 0.0):  # a handle is also a context manager
        pass
    x.grad = None
    (y * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_non_leaf_hook_changes_what_flows_upstream():
    def fn(lib, x):
        y = x * 2.0
        y.register_hook(lambda g: g * 3.0)
        (y * y).sum().backward()

    (xn, _), (xt, _) = _both(fn)
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy())


def test_hooks_run_in_registration_order():
    x = nerve.tensor([1.0], requires_grad=True)
    y = x * 1.0
    y.register_hook(lambda g: g + 1.0)
    y.register_hook(lambda g: g * 10.0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [20.0])


@pytest.mark.parametrize(
    "use", [lambda lib, x: x * x, lambda lib, x: x + x * 2.0, lambda lib, x: lib.cat([x, x, x])],
    ids=["mul", "two_paths", "cat"],
)
def test_leaf_hook_sees_the_total_gradient_once_like_torch(use):
    def fn(lib, x):
        calls = []
        x.register_hook(lambda g: calls.append(np.array(g.detach().numpy() if lib is torch else g.data)) or g.clamp(
            max=2.5))
        use(lib, x).sum().backward()
        return calls

    (xn, cn), (xt, ct) = _both(fn)
    assert len(cn) == len(ct) == 1
    np.testing.assert_allclose(cn[0], ct[0])
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy())


def test_non_leaf_hook_sees_the_total_gradient_once():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    calls = []
    y.register_hook(lambda g: calls.append(g.data.copy()))
    (y * y + y).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [3.0, 5.0])


def test_retain_grad_on_non_leaf():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    z = x * 3.0
    y.retain_grad()
    assert y.retains_grad and not z.retains_grad and not x.retains_grad
    (y * y + z).sum().backward(retain_graph=True)
    np.testing.assert_allclose(y.grad.data, [4.0, 8.0])
    assert z.grad is None
    (y * 1.0).sum().backward()  # accumulates like a leaf
    np.testing.assert_allclose(y.grad.data, [5.0, 9.0])
    x.retain_grad()  # no-op on a leaf
    assert x.grad is not None


@pytest.mark.parametrize("retain_first", [True, False])
def test_retain_grad_stores_the_gradient_after_hooks_like_torch(retain_first):
    def fn(lib, x):
        y = x * 2.0
        if retain_first:
            y.retain_grad()
        y.register_hook(lambda g: g * 5.0)
        if not retain_first:
            y.retain_grad()
        y.sum().backward()
        return y

    (_, yn), (_, yt) = _both(fn)
    np.testing.assert_allclose(yn.grad.data, yt.grad.numpy())


def test_register_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="register_hook: cannot register a hook on a tensor that does not require"):
        nerve.ones(2).register_hook(lambda g: g)

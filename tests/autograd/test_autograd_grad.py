"""``nerve.autograd.grad``: gradients returned, ``.grad`` untouched."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve


def _pair(v):
    return nerve.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)


def test_returns_gradients_without_touching_dot_grad():
    v = np.array([0.5, -1.0, 2.0], np.float32)
    (xn, xt), (wn, wt) = _pair(v), _pair(v[::-1].copy())
    (gn,) = nerve.autograd.grad((xn * wn).exp().sum(), [xn])
    (gt,) = torch.autograd.grad((xt * wt).exp().sum(), [xt])
    np.testing.assert_allclose(gn.data, gt.numpy(), rtol=1e-6)
    assert xn.grad is None and wn.grad is None
    assert not gn.requires_grad and gn.dtype == np.float32


def test_several_inputs_and_a_non_leaf_input():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    z = (y * y).sum() + x.sum()
    gy, gx = nerve.autograd.grad(z, [y, x])
    np.testing.assert_allclose(gy.data, 2 * y.data)
    np.testing.assert_allclose(gx.data, 6 * y.data + 1.0)
    assert x.grad is None and y.grad is None


def test_single_tensor_input_and_grad_outputs():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    (g,) = nerve.autograd.grad(x * x, x, grad_outputs=[nerve.tensor([1.0, -1.0])])
    np.testing.assert_allclose(g.data, [2.0, -4.0])


def test_returned_gradient_does_not_alias_the_graph():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    (g,) = nerve.autograd.grad(x.sum(), [x])  # Sum's VJP is a read-only broadcast view
    g.data += 1.0
    np.testing.assert_array_equal(g.data, [2.0, 2.0])


def test_non_scalar_output_needs_grad_outputs():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"grad: output 0 has shape \(2,\); pass grad_outputs"):
        nerve.autograd.grad(x * 2.0, [x])
    with pytest.raises(ValueError, match=r"grad: grad_outputs\[0\] has shape \(3,\), output has \(2,\)"):
        nerve.autograd.grad(x * 2.0, [x], grad_outputs=[nerve.ones(3)])


def test_unused_input():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    u = nerve.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="grad: input 1 was not used to compute the outputs; pass allow_unused=True"):
        nerve.autograd.grad((x * 2.0).sum(), [x, u])
    gx, gu = nerve.autograd.grad((x * 2.0).sum(), [x, u], allow_unused=True)
    assert gu is None
    np.testing.assert_array_equal(gx.data, [2.0, 2.0])


def test_input_must_require_grad():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="grad: input 1 does not require grad"):
        nerve.autograd.grad((x * 2.0).sum(), [x, nerve.ones(2)])


def test_retain_graph():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    (g1,) = nerve.autograd.grad(y, [x], retain_graph=True)
    (g2,) = nerve.autograd.grad(y, [x])
    np.testing.assert_array_equal(g1.data, g2.data)
    with pytest.raises(RuntimeError, match="second time"):
        nerve.autograd.grad(y, [x])


def test_multiple_outputs_sum_their_gradients():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    (g,) = nerve.autograd.grad([(x * x).sum(), (x * 3.0).sum()], [x])
    np.testing.assert_allclose(g.data, 2 * x.data + 3.0)


def test_leaf_used_twice():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    (g,) = nerve.autograd.grad((x * x + x).sum(), [x])
    np.testing.assert_allclose(g.data, 2 * x.data + 1.0)


def test_a_single_tensor_as_grad_outputs_like_torch():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    (g,) = nerve.autograd.grad(x * 3.0, x, grad_outputs=nerve.tensor([1.0, 2.0]))
    np.testing.assert_allclose(g.data, [3.0, 6.0])
    nerve.autograd.backward(x * x, nerve.tensor([1.0, -1.0]))
    np.testing.assert_allclose(x.grad.data, [2.0, -4.0])
    with pytest.raises(ValueError, match="grad: got 2 grad_outputs for 1 outputs"):
        nerve.autograd.grad(x * 3.0, x, grad_outputs=[nerve.ones(2), nerve.ones(2)])

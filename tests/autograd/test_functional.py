"""nerve.autograd.functional (vjp, jvp, jacobian, hessian, vhp, hvp) against torch.autograd.functional."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import nerve
import nerve.autograd.functional as NF

RNG = np.random.default_rng(3)
X, Y = RNG.standard_normal(3), RNG.standard_normal((2, 2))


def _arrays(result: Any) -> list[np.ndarray]:
    """Every tensor of a nested result, in order, as arrays (the structure is compared separately)."""
    if isinstance(result, tuple | list):
        return [a for item in result for a in _arrays(item)]
    return [result.detach().numpy()]


def _structure(result: Any) -> Any:
    if isinstance(result, tuple | list):
        return tuple(_structure(item) for item in result)
    return tuple(result.shape)


def _same(call: Any) -> None:
    ours, theirs = call(nerve, NF), call(torch, TF)
    assert _structure(ours) == _structure(theirs)
    for a, b in zip(_arrays(ours), _arrays(theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def _t(lib: Any, a: np.ndarray) -> Any:
    return lib.tensor(a.copy())


def f_vector(a: Any) -> Any:
    return a.tanh() * a.sum()


def f_pair(a: Any, b: Any) -> Any:
    return (a.exp() * b.sum(), (b @ b).reshape(-1) * a[0])


def f_scalar(a: Any, b: Any) -> Any:
    return (a.sin() ** 2).sum() * b.prod() + (b ** 3).sum()


CALLS = {
    "vjp_tensor": lambda L, F: F.vjp(f_vector, _t(L, X), _t(L, X[::-1])),
    "vjp_scalar_default_v": lambda L, F: F.vjp(lambda a: (a ** 3).sum(), _t(L, X)),
    "vjp_tuples": lambda L, F: F.vjp(f_pair, (_t(L, X), _t(L, Y)), (_t(L, X), _t(L, np.arange(4.0)))),
    "jvp_tensor": lambda L, F: F.jvp(f_vector, _t(L, X), _t(L, X[::-1])),
    "jvp_tuples": lambda L, F: F.jvp(f_pair, (_t(L, X), _t(L, Y)), (_t(L, X), _t(L, Y))),
    "jacobian_tensor": lambda L, F: F.jacobian(f_vector, _t(L, X)),
    "jacobian_tuples": lambda L, F: F.jacobian(f_pair, (_t(L, X), _t(L, Y))),
    "jacobian_tuple_input": lambda L, F: F.jacobian(f_vector, (_t(L, X),)),
    "jacobian_tuple_output": lambda L, F: F.jacobian(lambda a: (f_vector(a),), _t(L, X)),
    "hessian_tensor": lambda L, F: F.hessian(lambda a: (a.exp() * a).sum() * a.prod(), _t(L, X)),
    "hessian_tuples": lambda L, F: F.hessian(f_scalar, (_t(L, X), _t(L, Y))),
    "vhp": lambda L, F: F.vhp(f_scalar, (_t(L, X), _t(L, Y)), (_t(L, X), _t(L, Y))),
    "hvp": lambda L, F: F.hvp(f_scalar, (_t(L, X), _t(L, Y)), (_t(L, X), _t(L, Y))),
    "hvp_tensor": lambda L, F: F.hvp(lambda a: (a ** 4).sum(), _t(L, X), _t(L, X)),
    "independent_input_zeros": lambda L, F: F.jacobian(lambda a, b: a * 2, (_t(L, X), _t(L, Y))),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_matches_torch(name: str) -> None:
    _same(CALLS[name])


def test_hessian_of_a_quadratic_is_its_matrix() -> None:
    a = RNG.standard_normal((4, 4))
    sym = a + a.T
    h = NF.hessian(lambda x: x @ nerve.tensor(sym) @ x / 2, nerve.tensor(RNG.standard_normal(4)))
    np.testing.assert_allclose(h.numpy(), sym, rtol=1e-12)


def test_results_are_detached_unless_create_graph() -> None:
    x = nerve.tensor(X, requires_grad=True)
    out, product = NF.vjp(f_vector, x, nerve.tensor(X))
    assert not out.requires_grad and not product.requires_grad
    assert x.grad is None  # the caller's tensor is not touched


def test_create_graph_keeps_results_differentiable_in_the_inputs() -> None:
    def run(lib: Any, functional: Any) -> list[np.ndarray]:
        x = lib.tensor(X.copy()).requires_grad_(True)
        jac = functional.jacobian(f_vector, x, create_graph=True)
        _, hv = functional.hvp(lambda a: (a ** 3 * a.sin()).sum(), x, lib.tensor(X.copy()), create_graph=True)
        (jac.sum() + (hv * hv).sum()).backward()
        return [jac.detach().numpy(), hv.detach().numpy(), x.grad.numpy()]

    for a, b in zip(run(nerve, NF), run(torch, TF)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_errors_name_the_function() -> None:
    x = nerve.tensor(X)
    with pytest.raises(RuntimeError, match="vjp: the vector v can only be None if the output"):
        NF.vjp(f_vector, x)
    with pytest.raises(RuntimeError, match="hvp: the function should return a single Tensor with a single element"):
        NF.hvp(f_vector, x, x)
    with pytest.raises(RuntimeError, match="jacobian: the output of the user-provided function is independent of "
                                           "input 1"):
        NF.jacobian(lambda a, b: a * 2, (x, nerve.tensor(Y)), strict=True)
    with pytest.raises(RuntimeError, match=r"jvp: entry 0 of v has shape \(2,\), but the input has shape \(3,\)"):
        NF.jvp(f_vector, x, nerve.tensor(X[:2]))
    with pytest.raises(TypeError, match="hessian: inputs must be a Tensor or a tuple of Tensors, but element 0 is"):
        NF.hessian(f_vector, X)


def test_top_hessian_eigenvalue_by_power_iteration_on_real_data() -> None:
    """Sharpness of a trained model's loss: power iteration on Hessian-vector products over all weights
    agrees with the largest eigenvalue of the explicit Hessian (small model on the digits)."""
    from nerve.datasets import Digits

    data = Digits()
    x = nerve.tensor(np.stack([data[i][0].numpy().reshape(-1) for i in range(200)]).astype(np.float64))
    y = nerve.tensor(np.array([int(data[i][1]) for i in range(200)]))
    w = nerve.tensor(RNG.standard_normal((10, 64)) * 0.05)

    def loss(weight: Any) -> Any:
        return nerve.nn.functional.cross_entropy(x @ weight.T, y)

    v = nerve.tensor(RNG.standard_normal((10, 64)))
    for _ in range(200):
        _, hv = NF.hvp(loss, w, v / (v * v).sum().sqrt())
        v = hv
    estimate = float((v * v).sum().sqrt().item())
    full = NF.hessian(loss, w).numpy().reshape(640, 640)
    top = np.linalg.eigvalsh(full)[-1]
    assert np.allclose(full, full.T, atol=1e-12)
    assert estimate == pytest.approx(top, rel=1e-6)

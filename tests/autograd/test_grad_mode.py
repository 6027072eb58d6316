"""Grad mode (no_grad, enable_grad, set_grad_enabled), detach, and in-place rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve


def test_no_grad_builds_no_graph():
    x = nerve.ones(3, requires_grad=True)
    with nerve.no_grad():
        assert not nerve.is_grad_enabled()
        y = (x * 2.0).exp().sum()
        z = x[1:] @ x[1:]
    assert nerve.is_grad_enabled()
    for t in (y, z):
        assert not t.requires_grad and t.grad_fn is None and t.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


@pytest.mark.parametrize(
    "op", [lambda t: t.reshape(2, 3), lambda t: t.view(-1, 3), lambda t: t.permute(0, 1), lambda t: t.transpose(1, 1),
           lambda t: t.expand(2, 3), lambda t: t.squeeze(), lambda t: t.flatten(1), lambda t: t * 2.0],
    ids=["reshape", "view", "permute", "transpose", "expand", "squeeze", "flatten", "mul"],
)
def test_no_grad_results_do_not_require_grad_even_for_no_op_views(op):
    x = nerve.ones(2, 3, requires_grad=True)
    with nerve.no_grad():
        y = op(x)
    assert not y.requires_grad and y.grad_fn is None
    assert x.requires_grad  # the input is untouched


def test_enable_grad_inside_no_grad():
    x = nerve.ones(3, requires_grad=True)
    with nerve.no_grad():
        with nerve.enable_grad():
            assert nerve.is_grad_enabled()
            y = x * 2.0
        assert not nerve.is_grad_enabled()
        z = x * 2.0
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])


def test_set_grad_enabled_as_context_and_as_call():
    x = nerve.ones(2, requires_grad=True)
    with nerve.set_grad_enabled(False):
        assert not (x * 2.0).requires_grad
        with nerve.set_grad_enabled(True):
            assert (x * 2.0).requires_grad
    assert nerve.is_grad_enabled()
    nerve.set_grad_enabled(False)
    try:
        assert not nerve.is_grad_enabled()
        assert not (x * 2.0).requires_grad
    finally:
        nerve.set_grad_enabled(True)
    assert (x * 2.0).requires_grad


def test_grad_mode_restored_after_exception():
    with pytest.raises(KeyError), nerve.no_grad():
        raise KeyError("boom")
    assert nerve.is_grad_enabled()


def test_no_grad_and_enable_grad_as_decorators():
    x = nerve.ones(2, requires_grad=True)

    @nerve.no_grad()
    def infer(t):
        return t * 2.0

    @nerve.enable_grad()
    def train(t):
        return t * 2.0

    assert not infer(x).requires_grad and infer.__name__ == "infer"
    with nerve.no_grad():
        assert train(x).requires_grad
    assert nerve.is_grad_enabled()
    with nerve.inference_mode():
        assert not (x * 1.0).requires_grad


def test_detach_shares_memory_and_cuts_the_graph():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.data, y.data)
    (d * x).sum().backward()  # no gradient flows through d
    np.testing.assert_array_equal(x.grad.data, d.data)


def test_detach_in_place():
    x = nerve.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    assert y.detach_() is y
    assert not y.requires_grad and y.grad_fn is None


def test_requires_grad_rules():
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients, got dtype int64"):
        nerve.tensor([1, 2], requires_grad=True)
    x = nerve.ones(2).requires_grad_()
    assert x.requires_grad and x.is_leaf
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"requires_grad_\(False\) only applies to leaf tensors"):
        y.requires_grad_(False)
    x.requires_grad_(False)
    assert not (x * 2.0).requires_grad


@pytest.mark.parametrize(
    "op", [lambda t: t.add_(1.0), lambda t: t.sub_(1.0), lambda t: t.mul_(2.0), lambda t: t.div_(2.0),
           lambda t: t.zero_(), lambda t: t.fill_(3.0), lambda t: t.copy_(nerve.ones(3)),
           lambda t: t.clamp_(0.0, 1.0), lambda t: t.uniform_(), lambda t: t.normal_()],
    ids=["add_", "sub_", "mul_", "div_", "zero_", "fill_", "copy_", "clamp_", "uniform_", "normal_"],
)
def test_in_place_on_leaf_requiring_grad_raises_unless_no_grad(op):
    w = nerve.tensor([0.5, -0.5, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad is being modified in place"):
        op(w)
    before = w.data.copy()
    with nerve.no_grad():
        out = op(w)
    assert out is w and w.requires_grad and w.dtype == np.float32
    assert not np.array_equal(w.data, before)  # every op above changes these values
    y = w * 1.0
    with pytest.raises(RuntimeError, match="in-place operations on tensors recorded in the graph are not supported"):
        op(y)


def test_in_place_values_match_torch():
    import torch

    v = np.array([0.5, -1.5, 2.0], np.float32)
    for name, args in [("add_", (2.0,)), ("sub_", (0.5,)), ("mul_", (3.0,)), ("div_", (4.0,)), ("fill_", (7.0,)),
                       ("clamp_", (-1.0, 1.0)), ("zero_", ())]:
        n, t = nerve.tensor(v), torch.tensor(v)
        getattr(n, name)(*args)
        getattr(t, name)(*args)
        np.testing.assert_allclose(n.data, t.numpy(), err_msg=name)
        assert n.dtype == np.float32
    n, t = nerve.tensor(v), torch.tensor(v)
    n.add_(nerve.ones(3), alpha=2.0)
    t.add_(torch.ones(3), alpha=2.0)
    np.testing.assert_allclose(n.data, t.numpy())


@pytest.mark.parametrize("lib", [nerve, torch], ids=["nerve", "torch"])
def test_decorators_with_and_without_parentheses_like_torch(lib):
    """``@no_grad``, ``@no_grad()``, ``@inference_mode``, ``@set_grad_enabled(False)`` and ``@enable_grad`` apply
    per call; decorating with set_grad_enabled must not switch the mode for the rest of the program."""
    x = lib.ones(2, requires_grad=True)

    def records() -> bool:
        return (x * 2).requires_grad

    decorated = {
        "no_grad": lib.no_grad(records), "no_grad()": lib.no_grad()(records),
        "inference_mode": lib.inference_mode(records), "inference_mode(False)": lib.inference_mode(False)(records),
        "set_grad_enabled(False)": lib.set_grad_enabled(False)(records),
    }
    assert lib.is_grad_enabled()
    assert {name: fn() for name, fn in decorated.items()} == {
        "no_grad": False, "no_grad()": False, "inference_mode": False, "inference_mode(False)": True,
        "set_grad_enabled(False)": False}
    assert lib.is_grad_enabled()
    with lib.no_grad():
        assert lib.enable_grad(records)() and lib.enable_grad()(records)()
        assert not records()


@pytest.mark.parametrize("lib", [nerve, torch], ids=["nerve", "torch"])
def test_set_grad_enabled_called_alone_switches_the_mode_like_torch(lib):
    x = lib.ones(2, requires_grad=True)
    try:
        lib.set_grad_enabled(False)
        assert not lib.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        lib.set_grad_enabled(True)
    with lib.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert lib.is_grad_enabled()
    with lib.inference_mode(False):
        assert (x * 2).requires_grad


def test_decorating_a_non_function_is_a_clear_error():
    with pytest.raises(TypeError, match=r"^no_grad: a decorator needs a function, got int"):
        nerve.no_grad()(3)


@pytest.mark.parametrize("lib", [nerve, torch], ids=["nerve", "torch"])
def test_decorated_generators_run_their_body_in_the_mode_like_torch(lib):
    @lib.no_grad
    def steps():
        yield lib.is_grad_enabled()
        sent = yield lib.is_grad_enabled()
        yield sent
        return "done"

    it = steps()
    assert next(it) is False and lib.is_grad_enabled()
    assert next(it) is False and it.send(7) == 7
    with pytest.raises(StopIteration) as stop:
        next(it)
    assert stop.value.value == "done" and lib.is_grad_enabled()

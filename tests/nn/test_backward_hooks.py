"""Module backward hooks (``register_full_backward_hook``, ``register_full_backward_pre_hook``) and the
``prepend`` / ``with_kwargs`` forms of the forward hooks, each run side by side with PyTorch."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch

import nerve
from nerve import nn

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
W1, B1 = RNG.standard_normal((5, 4)), RNG.standard_normal(5)
W2, B2 = RNG.standard_normal((2, 5)), RNG.standard_normal(2)


def _lib(name: str) -> Any:
    return nerve if name == "nerve" else torch


def _array(t: Any) -> np.ndarray | None:
    if t is None:
        return None
    return t.detach().numpy().copy()


def _linear(lib: Any, w: np.ndarray, b: np.ndarray) -> Any:
    layer = lib.nn.Linear(w.shape[1], w.shape[0]).double()
    layer.load_state_dict({"weight": lib.tensor(w), "bias": lib.tensor(b)})
    return layer


def _mlp(lib: Any) -> Any:
    return lib.nn.Sequential(_linear(lib, W1, B1), lib.nn.Tanh(), _linear(lib, W2, B2))


def _recorder(log: list, tag: str) -> tuple[Any, Any]:
    def pre(module: Any, grad_output: tuple) -> None:
        log.append((tag, "pre", [_array(g) for g in grad_output]))

    def full(module: Any, grad_input: tuple, grad_output: tuple) -> None:
        log.append((tag, "full", [_array(g) for g in grad_input], [_array(g) for g in grad_output]))

    return pre, full


def _same_log(a: list, b: list) -> None:
    assert len(a) == len(b), (a, b)
    for ea, eb in zip(a, b):
        assert ea[:2] == eb[:2], (ea[:2], eb[:2])
        for ga, gb in zip(ea[2:], eb[2:]):
            assert len(ga) == len(gb)
            for x, y in zip(ga, gb):
                assert (x is None) == (y is None), (ea[:2], x, y)
                if x is not None:
                    np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


def _run_both(fn: Any) -> tuple[Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns when a full hook fires with no input requiring grad
        return fn("nerve"), fn("torch")


@pytest.mark.parametrize("input_grad", [True, False])
def test_hooks_on_every_layer_see_torchs_gradients(input_grad: bool) -> None:
    def run(name: str) -> tuple[list, Any, list]:
        lib = _lib(name)
        model, log = _mlp(lib), []
        for i, layer in enumerate(model):
            pre, full = _recorder(log, str(i))
            layer.register_full_backward_pre_hook(pre)
            layer.register_full_backward_hook(full)
        pre, full = _recorder(log, "model")
        model.register_full_backward_pre_hook(pre)
        model.register_full_backward_hook(full)
        x = lib.tensor(X).requires_grad_(input_grad)
        (model(x) ** 2).sum().backward()
        return log, _array(x.grad), [_array(p.grad) for p in model.parameters()]

    (log_n, gx_n, gp_n), (log_t, gx_t, gp_t) = _run_both(run)
    assert len(log_n) == 8  # a pre and a full hook for each of four modules
    _same_log(log_n, log_t)
    if input_grad:
        np.testing.assert_allclose(gx_n, gx_t, rtol=1e-12)
    else:
        assert gx_n is None and gx_t is None
        assert log_n[-1][:2] == ("0", "full") and log_n[-1][2] == [None]
    for a, b in zip(gp_n, gp_t):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_full_hook_result_replaces_grad_input_downstream_only() -> None:
    def run(name: str) -> tuple:
        lib = _lib(name)
        model = _mlp(lib)
        model[2].register_full_backward_hook(lambda m, gi, go: (gi[0] * 3.0,))
        x = lib.tensor(X).requires_grad_(True)
        model(x).sum().backward()
        return _array(x.grad), _array(model[0].weight.grad), _array(model[2].weight.grad)

    nerve_grads, torch_grads = _run_both(run)
    for a, b in zip(nerve_grads, torch_grads):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    plain = _mlp(nerve)
    x = nerve.tensor(X).requires_grad_(True)
    plain(x).sum().backward()
    np.testing.assert_allclose(nerve_grads[0], 3 * x.grad.numpy(), rtol=1e-12)  # upstream scaled
    np.testing.assert_allclose(nerve_grads[2], plain[2].weight.grad.numpy(), rtol=1e-12)  # the layer's own not


def test_pre_hook_result_replaces_grad_output_inside_the_module() -> None:
    def run(name: str) -> tuple:
        lib = _lib(name)
        model = _mlp(lib)
        model[2].register_full_backward_pre_hook(lambda m, go: (go[0] * -2.0,))
        log: list = []
        model[2].register_full_backward_hook(_recorder(log, "2")[1])
        x = lib.tensor(X).requires_grad_(True)
        model(x).sum().backward()
        return log, _array(x.grad), _array(model[2].weight.grad), _array(model[2].bias.grad)

    (log_n, *grads_n), (log_t, *grads_t) = _run_both(run)
    _same_log(log_n, log_t)  # the full hook sees the replaced grad_output
    np.testing.assert_allclose(log_n[0][3][0], np.full((3, 2), -2.0))
    for a, b in zip(grads_n, grads_t):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(grads_n[2], np.full(2, -6.0))  # bias gradient: batch of 3 times -2


def _two_outputs(lib: Any) -> Any:
    class Split(lib.nn.Module):
        def forward(self, x: Any, scale: float, y: Any) -> tuple:
            return x * scale + y, (x * y).sum(1), 7

    return Split()


@pytest.mark.parametrize("use", ["both", "first", "second"])
def test_several_inputs_and_outputs_non_tensors_and_unused_outputs(use: str) -> None:
    def run(name: str) -> tuple:
        lib = _lib(name)
        module, log = _two_outputs(lib), []
        pre, full = _recorder(log, "split")
        module.register_full_backward_pre_hook(pre)
        module.register_full_backward_hook(full)
        x = lib.tensor(X).requires_grad_(True)
        y = lib.tensor(X[::-1].copy()).requires_grad_(True)
        a, b, c = module(x, 2.0, y)
        assert c == 7
        loss = {"both": (a ** 2).sum() + b.sum(), "first": (a ** 2).sum(), "second": (b * b).sum()}[use]
        loss.backward()
        return log, _array(x.grad), _array(y.grad)

    (log_n, *grads_n), (log_t, *grads_t) = _run_both(run)
    _same_log(log_n, log_t)
    assert len(log_n[1][2]) == 3 and log_n[1][2][1] is None  # grad_input: one per argument, None for 2.0
    assert len(log_n[0][2]) == 3 and log_n[0][2][2] is None  # grad_output: None for the int output
    for a, b in zip(grads_n, grads_t):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_input_used_by_no_output_gets_none() -> None:
    class FirstOnly(nn.Module):
        def forward(self, x: Any, y: Any) -> Any:
            return x * 2

    seen: list = []
    module = FirstOnly()
    module.register_full_backward_hook(lambda m, gi, go: seen.append(gi))
    x, y = nerve.tensor(X, requires_grad=True), nerve.tensor(X, requires_grad=True)
    module(x, y).sum().backward()
    assert seen[0][1] is None
    np.testing.assert_allclose(seen[0][0].numpy(), np.full_like(X, 2.0))


def test_output_used_twice_gives_the_total_gradient_once() -> None:
    def run(name: str) -> tuple:
        lib = _lib(name)
        layer, log = _linear(lib, W1, B1), []
        pre, full = _recorder(log, "lin")
        layer.register_full_backward_pre_hook(pre)
        layer.register_full_backward_hook(full)
        x = lib.tensor(X).requires_grad_(True)
        out = layer(x)
        (out * out.sum() + out.exp()).sum().backward()
        return log, _array(x.grad)

    (log_n, gx_n), (log_t, gx_t) = _run_both(run)
    assert len(log_n) == 2
    _same_log(log_n, log_t)
    np.testing.assert_allclose(gx_n, gx_t, rtol=1e-12)


def test_retained_graph_runs_the_hooks_on_every_backward() -> None:
    def run(name: str) -> list:
        lib = _lib(name)
        layer, log = _linear(lib, W1, B1), []
        layer.register_full_backward_hook(_recorder(log, "lin")[1])
        x = lib.tensor(X).requires_grad_(True)
        out = layer(x)
        (out ** 2).sum().backward(retain_graph=True)
        out.sum().backward()
        return log

    log_n, log_t = _run_both(run)
    assert len(log_n) == 2
    _same_log(log_n, log_t)


def test_conv_net_gradients_of_activations_as_for_grad_cam() -> None:
    w = RNG.standard_normal((4, 2, 3, 3))
    images = RNG.standard_normal((2, 2, 6, 6))

    def run(name: str) -> tuple:
        lib = _lib(name)
        conv = lib.nn.Conv2d(2, 4, 3, padding=1, bias=False).double()
        conv.load_state_dict({"weight": lib.tensor(w)})
        model = lib.nn.Sequential(conv, lib.nn.ReLU(), lib.nn.AdaptiveAvgPool2d(1), lib.nn.Flatten())
        kept: dict = {}
        model[1].register_forward_hook(lambda m, a, out: kept.update(act=_array(out)))
        model[1].register_full_backward_hook(lambda m, gi, go: kept.update(grad=_array(go[0])))
        model(lib.tensor(images))[:, 2].sum().backward()
        return kept["act"], kept["grad"], _array(conv.weight.grad)

    for a, b in zip(*_run_both(run)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_removed_and_prepended_backward_hooks() -> None:
    order: list = []
    layer = _linear(nerve, W1, B1)
    first = layer.register_full_backward_hook(lambda m, gi, go: order.append("a"))
    layer.register_full_backward_hook(lambda m, gi, go: order.append("b"))
    layer.register_full_backward_hook(lambda m, gi, go: order.append("c"), prepend=True)
    pre = layer.register_full_backward_pre_hook(lambda m, go: order.append("pre"))
    layer(nerve.tensor(X, requires_grad=True)).sum().backward()
    assert order == ["pre", "c", "a", "b"]
    first.remove()
    pre.remove()
    order.clear()
    layer(nerve.tensor(X, requires_grad=True)).sum().backward()
    assert order == ["c", "b"]


def test_no_graph_no_hooks_under_no_grad() -> None:
    called: list = []
    layer = _linear(nerve, W1, B1)
    layer.register_full_backward_hook(lambda m, gi, go: called.append(1))
    x = nerve.tensor(X, requires_grad=True)
    with nerve.no_grad():
        out = layer(x)
    assert not out.requires_grad and out.grad_fn is None
    np.testing.assert_allclose(out.numpy(), X @ W1.T + B1)
    assert not called


def test_hooks_add_no_copies_of_the_arrays() -> None:
    class Same(nn.Module):
        def forward(self, x: Any) -> Any:
            return x

    module = Same()
    module.register_full_backward_hook(lambda m, gi, go: None)
    x = nerve.tensor(X, requires_grad=True)
    out = module(x)
    assert np.shares_memory(out.numpy(), x.numpy())
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones_like(X))


@pytest.mark.parametrize("bad, message", [
    (lambda m, gi, go: (gi[0], gi[0]), "returned 2 entries; expected None or a tuple of 1"),
    (lambda m, gi, go: (np.zeros((3, 4)),), "grad_input\\[0\\] returned by the hook is a ndarray"),
    (lambda m, gi, go: (gi[0][:, :2],), "has shape \\(3, 2\\) and dtype float64; expected shape \\(3, 4\\)"),
    (lambda m, gi, go: "grad", "returned str"),
])
def test_a_bad_hook_result_is_named(bad: Any, message: str) -> None:
    layer = _linear(nerve, W1, B1)
    layer.register_full_backward_hook(bad)
    out = layer(nerve.tensor(X, requires_grad=True))
    with pytest.raises(RuntimeError, match=f"Linear register_full_backward_hook: .*{message}"):
        out.sum().backward()


def test_forward_hooks_with_kwargs_and_prepend_as_torch() -> None:
    def run(name: str) -> tuple:
        lib = _lib(name)

        class Scale(lib.nn.Module):
            def forward(self, x: Any, factor: float = 1.0) -> Any:
                return x * factor

        module, order = Scale(), []

        def pre_kw(m: Any, args: tuple, kwargs: dict) -> tuple:
            order.append("pre_kw")
            return (args[0] + 1,), {"factor": kwargs["factor"] * 10}

        def post_kw(m: Any, args: tuple, kwargs: dict, out: Any) -> Any:
            order.append(("post_kw", kwargs["factor"]))
            return out - 1

        module.register_forward_pre_hook(pre_kw, with_kwargs=True)
        module.register_forward_pre_hook(lambda m, args: order.append("pre_first"), prepend=True)
        module.register_forward_hook(post_kw, with_kwargs=True)
        module.register_forward_hook(lambda m, args, out: order.append("post_first"), prepend=True)
        out = module(lib.tensor(X), factor=2.0)
        return _array(out), order

    (out_n, order_n), (out_t, order_t) = _run_both(run)
    np.testing.assert_allclose(out_n, out_t)
    np.testing.assert_allclose(out_n, (X + 1) * 20 - 1)
    assert order_n == order_t == ["pre_first", "pre_kw", "post_first", ("post_kw", 20.0)]


def test_a_bad_kwargs_pre_hook_result_is_named() -> None:
    layer = _linear(nerve, W1, B1)
    layer.register_forward_pre_hook(lambda m, a, k: a, with_kwargs=True)
    with pytest.raises(RuntimeError, match="Linear: a forward pre-hook registered with_kwargs=True must return"):
        layer(nerve.tensor(X))

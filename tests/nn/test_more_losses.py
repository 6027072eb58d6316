"""Poisson NLL, soft margin, multi-label soft margin, multi-margin, hinge embedding and multi-label margin losses:
functional and module forms against torch in float64 (values, input/target/weight gradients, every reduction),
float64 gradchecks, double backward, and errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from conftest import away_from, check_grad, compare_with_torch, rand

import nerve
from nerve import nn
from nerve.nn import functional as F

TIGHT = dict(rtol=1e-10, atol=1e-12)
REDUCTIONS = ("mean", "sum", "none")


def _signs(*shape: int, seed: int) -> np.ndarray:
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


def _classes(*shape: int, c: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, c, shape).astype(np.int64)


# Multi-label targets: class lists ended by -1; a repeated class, a full row, an empty row, entries after the -1.
LABELS = np.array([[3, 0, -1, 1, 2], [1, 1, 4, -1, -1], [0, 1, 2, 3, 4], [-1, 2, 0, 0, 0]], dtype=np.int64)

# (id, fn(lib, reduction, *tensors), arrays, requires_grad flags): the flags mark what torch differentiates.
CASES: list[tuple[str, Callable[..., Any], list[np.ndarray], tuple[bool, ...]]] = [
    ("poisson_nll_loss", lambda L, r, x, t: L.nn.functional.poisson_nll_loss(x, t, reduction=r),
     [rand(4, 5, seed=1), rand(4, 5, seed=2, low=0.0, high=4.0)], (True, True)),
    ("poisson_nll_loss-rate-full", lambda L, r, x, t: L.nn.functional.poisson_nll_loss(
        x, t, log_input=False, full=True, eps=1e-6, reduction=r),
     [rand(4, 5, seed=1, low=0.1, high=3.0), away_from(rand(4, 5, seed=2, low=0.05, high=4.0), (1.0,))],
     (True, True)),
    ("PoissonNLLLoss-full", lambda L, r, x, t: L.nn.PoissonNLLLoss(full=True, reduction=r)(x, t),
     [rand(3, 4, seed=3), away_from(rand(3, 4, seed=4, low=0.05, high=5.0), (1.0,))], (True, True)),
    ("soft_margin_loss", lambda L, r, x, t: L.nn.functional.soft_margin_loss(x, t, reduction=r),
     [rand(4, 5, seed=5, low=-4, high=4), _signs(4, 5, seed=6)], (True, False)),
    ("SoftMarginLoss-1d", lambda L, r, x, t: L.nn.SoftMarginLoss(reduction=r)(x, t),
     [rand(6, seed=7), _signs(6, seed=8)], (True, False)),
    ("multilabel_soft_margin_loss", lambda L, r, x, t: L.nn.functional.multilabel_soft_margin_loss(
        x, t, reduction=r), [rand(4, 5, seed=9, low=-3, high=3), rand(4, 5, seed=10, low=0, high=1)], (True, True)),
    ("multilabel_soft_margin_loss-weight", lambda L, r, x, t, w: L.nn.functional.multilabel_soft_margin_loss(
        x, t, weight=w, reduction=r),
     [rand(4, 5, seed=9), np.round(rand(4, 5, seed=10, low=0, high=1)), rand(5, seed=11, low=0.2, high=2)],
     (True, True, True)),
    ("MultiLabelSoftMarginLoss-weight-1d", lambda L, r, x, t, w: L.nn.MultiLabelSoftMarginLoss(w, reduction=r)(x, t),
     [rand(5, seed=12), rand(5, seed=13, low=0, high=1), rand(5, seed=14, low=0.2, high=2)], (True, True, False)),
    ("multilabel_soft_margin_loss-3d", lambda L, r, x, t: L.nn.functional.multilabel_soft_margin_loss(
        x, t, reduction=r), [rand(2, 3, 4, seed=15), rand(2, 3, 4, seed=16, low=0, high=1)], (True, True)),
    ("multi_margin_loss", lambda L, r, x, t: L.nn.functional.multi_margin_loss(x, t, reduction=r),
     [rand(6, 4, seed=17, low=-1, high=1), _classes(6, c=4, seed=18)], (True, False)),
    ("multi_margin_loss-p2-margin-weight", lambda L, r, x, t, w: L.nn.functional.multi_margin_loss(
        x, t, p=2, margin=0.7, weight=w, reduction=r),
     [rand(6, 4, seed=19, low=-1, high=1), _classes(6, c=4, seed=20), rand(4, seed=21, low=0.2, high=2)],
     (True, False, False)),
    ("MultiMarginLoss-1d", lambda L, r, x, t: L.nn.MultiMarginLoss(margin=1.5, reduction=r)(x, t),
     [rand(5, seed=22, low=-1, high=1), np.array(3)], (True, False)),
    ("MultiMarginLoss-p2-weight", lambda L, r, x, t, w: L.nn.MultiMarginLoss(p=2, weight=w, reduction=r)(x, t),
     [rand(3, 5, seed=23, low=-1, high=1), _classes(3, c=5, seed=24), rand(5, seed=25, low=0.2, high=2)],
     (True, False, False)),
    ("hinge_embedding_loss", lambda L, r, x, t: L.nn.functional.hinge_embedding_loss(x, t, reduction=r),
     [away_from(rand(4, 5, seed=26), (1.0,)), _signs(4, 5, seed=27)], (True, False)),
    ("HingeEmbeddingLoss-margin", lambda L, r, x, t: L.nn.HingeEmbeddingLoss(margin=0.5, reduction=r)(x, t),
     [away_from(rand(4, 5, seed=28), (0.5,)), _signs(4, 5, seed=29)], (True, False)),
    ("hinge_embedding_loss-other-targets", lambda L, r, x, t: L.nn.functional.hinge_embedding_loss(
        x, t, reduction=r), [away_from(rand(6, seed=30), (1.0,)), np.array([1.0, -1.0, 0.0, 2.0, 1.0, 0.5])],
     (True, False)),
    ("multilabel_margin_loss", lambda L, r, x, t: L.nn.functional.multilabel_margin_loss(x, t, reduction=r),
     [rand(4, 5, seed=31, low=-1, high=1), LABELS], (True, False)),
    ("MultiLabelMarginLoss-1d", lambda L, r, x, t: L.nn.MultiLabelMarginLoss(reduction=r)(x, t),
     [rand(5, seed=32, low=-1, high=1), LABELS[0]], (True, False)),
]
PARAMS = [(name, fn, arrays, flags, r) for name, fn, arrays, flags in CASES for r in REDUCTIONS]


@pytest.mark.parametrize("name, fn, arrays, flags, reduction", PARAMS, ids=[f"{p[0]}-{p[4]}" for p in PARAMS])
def test_matches_torch_in_float64(name: str, fn: Callable[..., Any], arrays: list[np.ndarray],
                                  flags: tuple[bool, ...], reduction: str) -> None:
    compare_with_torch(lambda lib, *xs: fn(lib, reduction, *xs), *arrays, requires_grad=flags, **TIGHT)


@pytest.mark.parametrize("name, fn, arrays, flags", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name: str, fn: Callable[..., Any], arrays: list[np.ndarray], flags: tuple[bool, ...]) -> None:
    floating = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]

    def loss(*xs: nerve.Tensor) -> nerve.Tensor:  # integer targets stay constants
        args = [nerve.tensor(a) for a in arrays]
        for i, x in zip(floating, xs):
            args[i] = x
        return fn(nerve, "none", *args)

    check_grad(loss, *(arrays[i] for i in floating), requires_grad=tuple(flags[i] for i in floating))


@pytest.mark.parametrize("name, fn, arrays, flags", CASES[::3], ids=[c[0] for c in CASES[::3]])
def test_float32_stays_float32(name: str, fn: Callable[..., Any], arrays: list[np.ndarray],
                               flags: tuple[bool, ...]) -> None:
    xs = [nerve.tensor(a.astype(np.float32) if a.dtype.kind == "f" else a, requires_grad=f)
          for a, f in zip(arrays, flags)]
    y = fn(nerve, "mean", *xs)
    assert y.dtype == np.float32 and y.shape == ()
    y.backward()
    assert xs[0].grad.dtype == np.float32


# Double backward: torch has it for the composite losses; for the fused multi_margin and multilabel_margin it
# raises "derivative for ... is not implemented", so there nerve's Hessian-vector product is checked against
# central differences of its own gradient.
DOUBLE = [
    ("poisson_nll_loss", lambda L, x, t: L.nn.functional.poisson_nll_loss(x, t, full=True),
     [rand(3, 4, seed=1), away_from(rand(3, 4, seed=2, low=0.05, high=4.0), (1.0,))], True),
    ("poisson_nll_loss-rate", lambda L, x, t: L.nn.functional.poisson_nll_loss(x, t, log_input=False),
     [rand(3, 4, seed=1, low=0.1, high=3), rand(3, 4, seed=2, low=0.0, high=4.0)], True),
    ("soft_margin_loss", lambda L, x: L.nn.functional.soft_margin_loss(x, L.tensor(_signs(3, 4, seed=3))),
     [rand(3, 4, seed=4)], True),
    ("multilabel_soft_margin_loss", lambda L, x, t, w: L.nn.functional.multilabel_soft_margin_loss(x, t, w),
     [rand(3, 4, seed=5), rand(3, 4, seed=6, low=0, high=1), rand(4, seed=7)], True),
    ("hinge_embedding_loss", lambda L, x: L.nn.functional.hinge_embedding_loss(x, L.tensor(_signs(3, 4, seed=8))),
     [away_from(rand(3, 4, seed=9), (1.0,))], True),
    ("multi_margin_loss", lambda L, x: L.nn.functional.multi_margin_loss(
        x, L.tensor(_classes(4, c=5, seed=10)), p=2), [rand(4, 5, seed=11, low=-1, high=1)], False),
    ("multilabel_margin_loss", lambda L, x: L.nn.functional.multilabel_margin_loss(x, L.tensor(LABELS)),
     [rand(4, 5, seed=12, low=-1, high=1)], False),
]


def _grad_and_hvp(lib: Any, fn: Callable[..., Any], arrays: list[np.ndarray],
                  create_graph: bool = True) -> list[np.ndarray]:
    """The gradient of loss² and, with ``create_graph``, its product with fixed random vectors' Hessian."""
    xs = [lib.tensor(a.copy()).requires_grad_(True) for a in arrays]
    loss = fn(lib, *xs)
    grads = lib.autograd.grad(loss * loss, xs, create_graph=create_graph)
    if not create_graph:
        return [g.detach().numpy() for g in grads]
    vs = [lib.tensor(np.random.default_rng(11 + i).standard_normal(a.shape)) for i, a in enumerate(arrays)]
    hvp = lib.autograd.grad(sum((g * v).sum() for g, v in zip(grads, vs)), xs)
    return [t.detach().numpy() for t in (*grads, *hvp)]


@pytest.mark.parametrize("name, fn, arrays, torch_has_it", DOUBLE, ids=[c[0] for c in DOUBLE])
def test_double_backward(name: str, fn: Callable[..., Any], arrays: list[np.ndarray], torch_has_it: bool) -> None:
    ours = _grad_and_hvp(nerve, fn, arrays)
    assert all(np.abs(a).max() > 0 for a in ours)
    if torch_has_it:
        for a, b in zip(ours, _grad_and_hvp(torch, fn, arrays), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
        return
    with pytest.raises(RuntimeError, match="not implemented"):
        _grad_and_hvp(torch, fn, arrays)
    eps = 1e-6
    vs = [np.random.default_rng(11 + i).standard_normal(a.shape) for i, a in enumerate(arrays)]
    plus = _grad_and_hvp(nerve, fn, [a + eps * v for a, v in zip(arrays, vs)], create_graph=False)
    minus = _grad_and_hvp(nerve, fn, [a - eps * v for a, v in zip(arrays, vs)], create_graph=False)
    for h, p, m in zip(ours[len(arrays):], plus, minus):
        np.testing.assert_allclose(h, (p - m) / (2 * eps), rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------------------- values by hand


def test_hand_computed_values() -> None:
    x = nerve.tensor([[0.1, 0.2, 0.4, 0.8]], dtype=nerve.float64)
    # classes 3 and 0 listed: pairs (3, 1), (3, 2), (0, 1), (0, 2) -> (0.4 + 0.6 + 1.1 + 1.3) / 4
    assert F.multilabel_margin_loss(x, nerve.tensor([[3, 0, -1, 1]])).item() == pytest.approx(0.85)
    # target 3: max(0, 1 - 0.8 + x_i) for i = 0, 1, 2 -> (0.3 + 0.4 + 0.6) / 4
    assert F.multi_margin_loss(x, nerve.tensor([3])).item() == pytest.approx(0.325)
    # target 1 gives the input itself, -1 gives max(0, margin - input)
    y = F.hinge_embedding_loss(nerve.tensor([0.3, 0.3, 1.5]), nerve.tensor([1.0, -1.0, -1.0]), reduction="none")
    np.testing.assert_allclose(y.data, [0.3, 0.7, 0.0], rtol=1e-6)


def test_poisson_full_target_gradient_is_finite_at_zero_counts() -> None:
    # NOTE: torch's full=True gives a NaN target gradient where target = 0 (0 · log 0 in the masked Stirling
    # term); nerve keeps it finite: the Stirling term is masked out there, so d/dt = -input (log_input=True)
    x = nerve.tensor(rand(4, seed=1), requires_grad=True)
    t = nerve.tensor([0.0, 2.0, 0.5, 3.0], dtype=nerve.float64, requires_grad=True)
    F.poisson_nll_loss(x, t, full=True, reduction="sum").backward()
    assert np.all(np.isfinite(t.grad.data))
    assert t.grad.data[0] == -x.data[0]
    xt, tt = torch.tensor(x.data, requires_grad=True), torch.tensor(t.data, requires_grad=True)
    torch.nn.functional.poisson_nll_loss(xt, tt, full=True, reduction="sum").backward()
    np.testing.assert_allclose(t.grad.data[1:], tt.grad.numpy()[1:], **TIGHT)
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), **TIGHT)


def test_soft_margin_loss_is_stable_for_large_margins() -> None:
    x = nerve.tensor([-800.0, 800.0, 30.0], dtype=nerve.float32, requires_grad=True)
    y = F.soft_margin_loss(x, nerve.tensor([1.0, 1.0, -1.0]), reduction="none")
    np.testing.assert_allclose(y.data, [800.0, 0.0, 30.0], rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [-1.0, 0.0, 1.0], atol=1e-6)


def test_loss_modules_store_options_like_torch() -> None:
    w = rand(4, seed=1)
    pairs = [
        (nn.PoissonNLLLoss(log_input=False, full=True, eps=1e-6, reduction="sum"),
         torch.nn.PoissonNLLLoss(log_input=False, full=True, eps=1e-6, reduction="sum")),
        (nn.SoftMarginLoss(reduction="none"), torch.nn.SoftMarginLoss(reduction="none")),
        (nn.MultiLabelSoftMarginLoss(nerve.tensor(w)), torch.nn.MultiLabelSoftMarginLoss(torch.tensor(w))),
        (nn.MultiMarginLoss(p=2, margin=0.5, weight=nerve.tensor(w)),
         torch.nn.MultiMarginLoss(p=2, margin=0.5, weight=torch.tensor(w))),
        (nn.HingeEmbeddingLoss(margin=2.0), torch.nn.HingeEmbeddingLoss(margin=2.0)),
        (nn.MultiLabelMarginLoss(reduction="sum"), torch.nn.MultiLabelMarginLoss(reduction="sum")),
    ]
    for n, t in pairs:
        assert type(n).__name__ == type(t).__name__
        for attr in ("reduction", "log_input", "full", "eps", "p", "margin"):
            assert getattr(n, attr, None) == getattr(t, attr, None), attr
        assert set(n.state_dict()) == set(t.state_dict())  # weight is a buffer, as in torch
        for key, value in t.state_dict().items():
            np.testing.assert_array_equal(n.state_dict()[key], value.numpy())


# ------------------------------------------------------------------------------------------------ errors


X = nerve.ones(3, 4)

ERRORS: list[tuple[Callable[[], Any], type[Exception], str]] = [
    (lambda: nn.PoissonNLLLoss(reduction="avg"), ValueError,
     r"^PoissonNLLLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'$"),
    (lambda: F.poisson_nll_loss(X, nerve.ones(4)), ValueError,
     r"^poisson_nll_loss: input shape \(3, 4\) and target shape \(4,\) differ"),
    (lambda: nn.SoftMarginLoss()(X, nerve.ones(3, 1)), ValueError,
     r"^soft_margin_loss: input shape \(3, 4\) and target shape \(3, 1\) differ"),
    (lambda: F.soft_margin_loss(nerve.tensor([1, 2]), nerve.tensor([1, 2])), TypeError,
     r"^soft_margin_loss: input must be floating point, got dtype int64$"),
    (lambda: nn.MultiLabelSoftMarginLoss(nerve.ones(3))(X, X), ValueError,
     r"^multilabel_soft_margin_loss: weight of shape \(3,\) does not broadcast to the input's shape \(3, 4\); "
     r"expected one weight per class \(4,\)$"),
    (lambda: F.multilabel_soft_margin_loss(nerve.tensor(1.0), nerve.tensor(1.0)), ValueError,
     r"^multilabel_soft_margin_loss: expected an input with a class dim \(N, C\) or \(C,\), got a 0-d tensor$"),
    (lambda: nn.MultiMarginLoss(p=3), ValueError, r"^MultiMarginLoss: only p == 1 and p == 2 are supported, got p=3$"),
    (lambda: nn.MultiMarginLoss(weight=nerve.ones(2, 2)), ValueError,
     r"^MultiMarginLoss: weight must be 1-D \(C,\), got shape \(2, 2\)$"),
    (lambda: F.multi_margin_loss(X, nerve.tensor([0, 1, 2]), p=0), ValueError,
     r"^multi_margin_loss: only p == 1 and p == 2 are supported, got p=0$"),
    (lambda: F.multi_margin_loss(X, nerve.tensor([0, 1, 4])), ValueError,
     r"^multi_margin_loss: target out of range: got classes in \[0, 4\], expected 0..3$"),
    (lambda: F.multi_margin_loss(X, nerve.tensor([0.0, 1.0, 2.0])), TypeError,
     r"^multi_margin_loss: target must hold int64 class indices, got dtype float32$"),
    (lambda: nn.MultiMarginLoss()(X, nerve.tensor([0, 1])), ValueError,
     r"^multi_margin_loss: input of shape \(3, 4\) needs a target of shape \(3,\), one class index per sample, "
     r"got \(2,\)$"),
    (lambda: F.multi_margin_loss(X, nerve.tensor([0, 1, 2]), weight=nerve.ones(3)), ValueError,
     r"^multi_margin_loss: weight must have shape \(4,\), one per class, got \(3,\)$"),
    (lambda: F.multi_margin_loss(nerve.ones(2, 3, 4), nerve.tensor([0, 1])), ValueError,
     r"^multi_margin_loss: expected a non-empty input \(N, C\) or \(C,\), got shape \(2, 3, 4\)$"),
    (lambda: nn.HingeEmbeddingLoss()(X, nerve.ones(4)), ValueError,
     r"^hinge_embedding_loss: input shape \(3, 4\) and target shape \(4,\) differ"),
    (lambda: nn.MultiLabelMarginLoss()(X, nerve.tensor([[0, 1, -1]] * 3)), ValueError,
     r"^multilabel_margin_loss: target of shape \(3, 3\) must have the input's shape \(3, 4\)$"),
    (lambda: F.multilabel_margin_loss(X, nerve.tensor([[0, 1, -1, 4]] * 3)), ValueError,
     r"^multilabel_margin_loss: target out of range: got values in \[-1, 4\], expected class indices 0..3 ended "
     r"by -1$"),
    (lambda: F.multilabel_margin_loss(X, nerve.tensor([[0, -2, -1, 1]] * 3)), ValueError,
     r"^multilabel_margin_loss: target out of range"),
    (lambda: F.multilabel_margin_loss(X, X), TypeError,
     r"^multilabel_margin_loss: target must hold int64 class indices, got dtype float32$"),
    (lambda: nn.MultiLabelMarginLoss(reduction="batchmean"), ValueError, r"^MultiLabelMarginLoss: reduction must be"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=[f"{i}" for i in range(len(ERRORS))])
def test_bad_input_raises_a_clear_error(call: Callable[[], Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()

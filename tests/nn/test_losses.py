"""Every loss against torch (value and input gradient, functional and module forms), gradchecks, bad input.

A case is a loss name, its keyword options and a function making (input, target) arrays; tensor options
(``weight``, ``pos_weight``) are given as arrays and built on each side in the input's dtype.
"""

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

MODULES = {
    "mse_loss": "MSELoss", "l1_loss": "L1Loss", "huber_loss": "HuberLoss", "smooth_l1_loss": "SmoothL1Loss",
    "cross_entropy": "CrossEntropyLoss", "nll_loss": "NLLLoss", "binary_cross_entropy": "BCELoss",
    "binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
}
TENSOR_OPTIONS = ("weight", "pos_weight")


def _call(lib: Any, form: str, name: str, x: Any, t: Any, options: dict[str, Any]) -> Any:
    kw = {k: (lib.tensor(v.astype(x.detach().numpy().dtype if lib is torch else x.data.dtype))
              if k in TENSOR_OPTIONS else v) for k, v in options.items()}
    if form == "functional":
        return getattr(lib.nn.functional, name)(x, t, **kw)
    return getattr(lib.nn, MODULES[name])(**kw)(x, t)


# ------------------------------------------------------------------------------------------- inputs


def _regression(kinks: tuple[float, ...] = (0.0,)) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    def make() -> tuple[np.ndarray, np.ndarray]:
        t = rand(4, 5, seed=11)
        d = away_from(rand(4, 5, seed=12, low=-2.5, high=2.5), kinks, margin=0.05)
        return t + d, t
    return make


def _indices(shape: tuple[int, ...], c: int = 5, ignore: tuple[int, ...] = (), ignore_index: int = -100,
             logp: bool = False) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    """Logits (or log-probabilities) of ``shape`` with classes on dim 1 (dim 0 for 1-D), int64 targets."""
    def make() -> tuple[np.ndarray, np.ndarray]:
        x = rand(*shape, seed=21, low=-3, high=3)
        if logp:
            dim = 0 if len(shape) == 1 else 1
            x = x - np.log(np.exp(x).sum(dim, keepdims=True))
        tshape = () if len(shape) == 1 else (shape[0], *shape[2:])
        t = np.random.default_rng(22).integers(0, c, tshape).astype(np.int64)
        if ignore:
            t.reshape(-1)[list(ignore)] = ignore_index
        return x, t
    return make


def _probabilities(shape: tuple[int, ...]) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    def make() -> tuple[np.ndarray, np.ndarray]:
        dim = 0 if len(shape) == 1 else 1
        p = rand(*shape, seed=24, low=0.0, high=1.0)
        return rand(*shape, seed=23, low=-3, high=3), p / p.sum(dim, keepdims=True)
    return make


def _bce(logits: bool) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    def make() -> tuple[np.ndarray, np.ndarray]:
        x = rand(4, 5, seed=31, low=-4, high=4) if logits else rand(4, 5, seed=31, low=0.05, high=0.95)
        t = rand(4, 5, seed=32, low=0, high=1)
        t[0] = np.round(t[0])  # hard and soft labels
        return x, t
    return make


W5 = rand(5, seed=41, low=0.2, high=2.0)
W_FULL = rand(4, 5, seed=42, low=0.2, high=2.0)

CASES: dict[str, tuple[str, dict[str, Any], Callable[[], tuple[np.ndarray, np.ndarray]]]] = {}
for red in ("mean", "sum", "none"):
    CASES |= {
        f"mse-{red}": ("mse_loss", {"reduction": red}, _regression()),
        f"l1-{red}": ("l1_loss", {"reduction": red}, _regression()),
        f"huber-{red}": ("huber_loss", {"reduction": red}, _regression((0.0, -1.0, 1.0))),
        f"smooth_l1-{red}": ("smooth_l1_loss", {"reduction": red}, _regression((0.0, -1.0, 1.0))),
        f"ce-{red}": ("cross_entropy", {"reduction": red}, _indices((6, 5))),
        f"ce-weight-{red}": ("cross_entropy", {"reduction": red, "weight": W5}, _indices((6, 5))),
        f"ce-ignore-weight-{red}": ("cross_entropy", {"reduction": red, "weight": W5}, _indices((6, 5), ignore=(1, 4))),
        f"ce-smooth-{red}": ("cross_entropy", {"reduction": red, "label_smoothing": 0.2}, _indices((6, 5))),
        f"ce-smooth-weight-ignore-{red}": ("cross_entropy", {"reduction": red, "label_smoothing": 0.15, "weight": W5},
                                           _indices((6, 5), ignore=(0, 3))),
        f"ce-4d-smooth-weight-{red}": ("cross_entropy", {"reduction": red, "label_smoothing": 0.1, "weight": W5},
                                       _indices((2, 5, 3, 2), ignore=(5,))),
        f"ce-prob-{red}": ("cross_entropy", {"reduction": red}, _probabilities((6, 5))),
        f"ce-prob-weight-smooth-{red}": ("cross_entropy", {"reduction": red, "weight": W5, "label_smoothing": 0.3},
                                         _probabilities((6, 5))),
        f"ce-prob-4d-{red}": ("cross_entropy", {"reduction": red, "label_smoothing": 0.1},
                              _probabilities((2, 5, 3, 2))),
        f"nll-{red}": ("nll_loss", {"reduction": red}, _indices((6, 5), logp=True)),
        f"nll-weight-ignore-{red}": ("nll_loss", {"reduction": red, "weight": W5},
                                     _indices((6, 5), ignore=(2,), logp=True)),
        f"nll-4d-weight-{red}": ("nll_loss", {"reduction": red, "weight": W5}, _indices((2, 5, 3, 2), logp=True)),
        f"bce-{red}": ("binary_cross_entropy", {"reduction": red}, _bce(False)),
        f"bce-weight-{red}": ("binary_cross_entropy", {"reduction": red, "weight": W_FULL}, _bce(False)),
        f"bcel-{red}": ("binary_cross_entropy_with_logits", {"reduction": red}, _bce(True)),
        f"bcel-weights-{red}": ("binary_cross_entropy_with_logits",
                                {"reduction": red, "weight": W5, "pos_weight": W5[::-1].copy()}, _bce(True)),
    }
CASES |= {
    "huber-delta": ("huber_loss", {"delta": 0.5}, _regression((0.0, -0.5, 0.5))),
    "huber-delta-large": ("huber_loss", {"delta": 2.0}, _regression((0.0, -2.0, 2.0))),
    "smooth_l1-beta": ("smooth_l1_loss", {"beta": 0.5}, _regression((0.0, -0.5, 0.5))),
    "smooth_l1-beta0": ("smooth_l1_loss", {"beta": 0.0}, _regression()),
    "ce-1d": ("cross_entropy", {}, _indices((5,))),
    "ce-1d-smooth-weight": ("cross_entropy", {"label_smoothing": 0.2, "weight": W5}, _indices((5,))),
    "ce-4d": ("cross_entropy", {}, _indices((2, 5, 3, 2))),
    "ce-ignore-custom": ("cross_entropy", {"ignore_index": 2}, _indices((6, 5), ignore=(0,), ignore_index=2)),
    "ce-smooth-ignore": ("cross_entropy", {"label_smoothing": 0.2}, _indices((6, 5), ignore=(1, 2))),
    "ce-prob-1d": ("cross_entropy", {"label_smoothing": 0.1}, _probabilities((5,))),
    "ce-prob-weight": ("cross_entropy", {"weight": W5}, _probabilities((6, 5))),
    "nll-1d": ("nll_loss", {}, _indices((5,), logp=True)),
    "nll-1d-weight": ("nll_loss", {"weight": W5}, _indices((5,), logp=True)),
    "bcel-pos-weight": ("binary_cross_entropy_with_logits", {"pos_weight": W5}, _bce(True)),
    "bce-weight-row": ("binary_cross_entropy", {"weight": W5}, _bce(False)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("form", ["functional", "module"])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_torch(case: str, form: str, dtype: type) -> None:
    name, options, make = CASES[case]
    x, t = make()
    x = x.astype(dtype)
    if t.dtype.kind == "f":
        t = t.astype(dtype)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    # torch has no target gradient for binary_cross_entropy; targets are data elsewhere too
    compare_with_torch(lambda lib, a, b: _call(lib, form, name, a, b, options), x, t,
                       requires_grad=(True, False), **tol)
    if name not in ("binary_cross_entropy",) and t.dtype.kind == "f":
        # the gradient with respect to float targets as well (torch defines it for these losses)
        compare_with_torch(lambda lib, a, b: _call(lib, form, name, a, b, options), x, t, **tol)


@pytest.mark.parametrize("case", [c for c in CASES if not c.endswith(("-sum", "-none"))])
def test_gradcheck(case: str) -> None:
    name, options, make = CASES[case]
    x, t = make()
    kw = {k: (nerve.tensor(v) if k in TENSOR_OPTIONS else v) for k, v in options.items()}
    target = nerve.tensor(t)
    check_grad(lambda a: getattr(F, name)(a, target, **kw), x)
    if options.get("reduction", "mean") == "mean":
        kw["reduction"] = "none"
        check_grad(lambda a: getattr(F, name)(a, target, **kw), x)


# --------------------------------------------------------------------------------- special values


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_all_targets_ignored(name: str, reduction: str) -> None:
    x = rand(3, 4, seed=5)
    t = np.full(3, -100, dtype=np.int64)
    expected = {"mean": np.nan, "sum": 0.0, "none": np.zeros(3)}[reduction]
    for lib in (nerve, torch):
        out = getattr(lib.nn.functional, name)(lib.tensor(x), lib.tensor(t), reduction=reduction)
        np.testing.assert_array_equal(np.asarray(out.detach().numpy() if lib is torch else out.data), expected)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_all_targets_ignored_gradient_is_zero(name: str) -> None:
    x = nerve.tensor(rand(3, 4, seed=5), requires_grad=True)
    with np.errstate(all="ignore"):
        getattr(F, name)(x, nerve.tensor(np.full(3, -100, dtype=np.int64))).backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((3, 4)))


def test_bce_with_logits_extreme_logits_stay_finite() -> None:
    x = np.array([100.0, -100.0, 100.0, -100.0, 30.0, -30.0], dtype=np.float32)
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.5, 0.5], dtype=np.float32)
    for options in ({}, {"pos_weight": np.full(6, 3.0)}, {"weight": np.full(6, 0.5)}):
        for form in ("functional", "module"):
            compare_with_torch(lambda lib, a, b, o=options, f=form: _call(lib, f, "binary_cross_entropy_with_logits",
                                                                            a, b, {**o, "reduction": "none"}),
                               x, t, requires_grad=(True, False))
    out = F.binary_cross_entropy_with_logits(nerve.tensor(x, requires_grad=True), nerve.tensor(t))
    assert np.isfinite(out.item())


def test_bce_saturated_probabilities_stay_finite() -> None:
    # sigmoid saturates to exactly 0 or 1 in float32; logs are clamped at -100 and gradients stay finite
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5], dtype=np.float32)
    t = np.array([0.0, 1.0, 1.0, 0.0, 1.0], dtype=np.float32)
    x = nerve.tensor(p, requires_grad=True)
    loss = F.binary_cross_entropy(x, nerve.tensor(t), reduction="none")
    ref = torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(t), reduction="none")
    np.testing.assert_allclose(loss.data, ref.numpy(), rtol=1e-6)
    loss.sum().backward()
    assert np.all(np.isfinite(x.grad.data))
    # the derivative of the clamped loss: -t/p + (1-t)/(1-p), with 0 from a log term clamped at -100.
    # NOTE: torch instead returns (p - t) / max(p (1 - p), 1e-12): 0, 0, -1e12, 1e12 at the four endpoints
    np.testing.assert_allclose(x.grad.data, [1.0, -1.0, 0.0, 0.0, -2.0], atol=1e-6)
    # through a saturated sigmoid, torch and nerve agree exactly
    z = np.array([-120.0, 120.0, -120.0, 120.0, 0.3], dtype=np.float32)
    compare_with_torch(lambda lib, a, b: lib.nn.functional.binary_cross_entropy(lib.sigmoid(a), b), z, t,
                       requires_grad=(True, False))


# ---------------------------------------------------------------------------------------- bad input


def test_cross_entropy_bad_targets() -> None:
    x = nerve.tensor(rand(4, 3, seed=1))
    with pytest.raises(ValueError, match=r"cross_entropy.*class 7.*3 classes"):
        F.cross_entropy(x, nerve.tensor(np.array([0, 7, 1, 2])))
    with pytest.raises(ValueError, match=r"cross_entropy.*class -2.*3 classes"):
        F.cross_entropy(x, nerve.tensor(np.array([0, -2, 1, 2])))
    with pytest.raises(ValueError, match=r"cross_entropy.*\(4,\).*\(4, 1\)"):
        F.cross_entropy(x, nerve.tensor(np.zeros((4, 1), dtype=np.int64)))
    with pytest.raises(ValueError, match=r"cross_entropy.*\(4, 3\).*\(4,\)"):
        F.cross_entropy(x, nerve.tensor(np.zeros(4)))  # float targets are probabilities of the input's shape
    with pytest.raises(ValueError, match=r"weight.*\(3,\)"):
        F.cross_entropy(x, nerve.tensor(np.zeros(4, dtype=np.int64)), weight=nerve.ones(4))
    with pytest.raises(ValueError, match=r"weight.*\(3,\)"):
        F.cross_entropy(x, nerve.tensor(np.full((4, 3), 1 / 3)), weight=nerve.ones(4))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, nerve.tensor(np.zeros(4, dtype=np.int64)), label_smoothing=1.5)
    with pytest.raises(TypeError, match="logits"):
        F.cross_entropy(nerve.tensor(np.zeros((4, 3), dtype=np.int64)), nerve.tensor(np.zeros(4, dtype=np.int64)))
    with pytest.raises(ValueError, match=r"nll_loss.*class 3.*3 classes"):
        nn.NLLLoss()(x, nerve.tensor(np.array([3, 0, 0, 0])))
    with pytest.raises(TypeError, match="nll_loss"):
        F.nll_loss(x, nerve.tensor(np.zeros(4)))
    # the ignored value itself is not out of range
    F.cross_entropy(x, nerve.tensor(np.array([0, 5, 1, 2])), ignore_index=5)


def test_shape_mismatch_is_an_error_not_a_broadcast() -> None:
    n = 6
    with pytest.raises(ValueError, match=r"mse_loss.*\(6, 1\).*\(6,\)"):
        F.mse_loss(nerve.zeros(n, 1), nerve.zeros(n))
    with pytest.raises(ValueError, match=r"\(6, 1\).*\(6,\)"):
        nn.MSELoss()(nerve.zeros(n, 1), nerve.zeros(n))
    for fn in (F.l1_loss, F.huber_loss, F.smooth_l1_loss, F.binary_cross_entropy_with_logits):
        with pytest.raises(ValueError, match=fn.__name__):
            fn(nerve.zeros(n), nerve.zeros(n, 1))


def test_bce_rejects_non_probabilities() -> None:
    for bad in ([0.5, 1.2], [-0.1, 0.5], [np.nan, 0.5]):
        with pytest.raises(ValueError, match=r"binary_cross_entropy.*\[0, 1\]"):
            F.binary_cross_entropy(nerve.tensor(np.array(bad)), nerve.tensor(np.array([1.0, 0.0])))


def test_bce_rejects_targets_outside_0_1_as_torch_does() -> None:
    p = np.array([0.5, 0.5])
    for bad, found in (([0.0, 2.0], r"values in \[0\.0, 2\.0\]"), ([-0.5, 1.0], r"values in \[-0\.5, 1\.0\]"),
                       ([0.0, np.nan], "NaN")):
        for loss in (F.binary_cross_entropy, nn.BCELoss()):
            with pytest.raises(ValueError, match=rf"^binary_cross_entropy: all elements of target should be between 0 "
                                                 rf"and 1, got {found}$"):
                loss(nerve.tensor(p), nerve.tensor(np.array(bad)))
        with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
            torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(bad, dtype=torch.float64))
    # neither library checks the target of the logits form: a value outside [0, 1] is a (meaningless) number
    t = np.array([0.0, 2.0])
    ours = F.binary_cross_entropy_with_logits(nerve.tensor(p), nerve.tensor(t)).item()
    assert ours == pytest.approx(torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(p),
                                                                                      torch.tensor(t)).item())


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(nerve.zeros(2, 3), nerve.tensor(np.zeros(2, dtype=np.int64)), reduction="batchmean")
    with pytest.raises(ValueError, match="delta"):
        F.huber_loss(nerve.zeros(2), nerve.zeros(2), delta=0.0)
    with pytest.raises(ValueError, match="beta"):
        F.smooth_l1_loss(nerve.zeros(2), nerve.zeros(2), beta=-1.0)
    with pytest.raises(TypeError, match="mse_loss: input must be a Tensor, got ndarray"):
        F.mse_loss(np.zeros(2), nerve.zeros(2))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="input must be a Tensor"):
        F.l1_loss(np.zeros(2), np.zeros(2))  # type: ignore[arg-type]
    # a plain array target is accepted and converted to the input's dtype
    assert F.mse_loss(nerve.ones(2), np.zeros(2)).dtype == np.float32


def test_loss_modules_register_weights_as_buffers() -> None:
    w = nerve.tensor(W5.astype(np.float32))
    for n_mod, t_mod in [(nn.CrossEntropyLoss(weight=w), torch.nn.CrossEntropyLoss(weight=torch.tensor(w.data))),
                         (nn.BCEWithLogitsLoss(weight=w, pos_weight=w),
                          torch.nn.BCEWithLogitsLoss(weight=torch.tensor(w.data), pos_weight=torch.tensor(w.data)))]:
        assert list(n_mod.state_dict()) == list(t_mod.state_dict())
        assert list(n_mod.parameters()) == []
    assert list(nn.CrossEntropyLoss().state_dict()) == []


# ------------------------------------------------------------------ kl_div, ranking, triplet, cosine, gaussian


def _log_probs(*shape: int, seed: int) -> np.ndarray:
    x = rand(*shape, seed=seed)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kl_div_matches_torch(reduction: str, log_target: bool, dtype: type) -> None:
    x, t = _log_probs(4, 5, seed=1), _log_probs(4, 5, seed=2)
    t = t if log_target else np.exp(t)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if reduction == "mean" else "error")  # both libraries warn about 'mean'
        for form in ("functional", "module"):
            def fn(lib: Any, x: Any, t: Any, form: str = form) -> Any:
                if form == "functional":
                    return lib.nn.functional.kl_div(x, t, reduction=reduction, log_target=log_target)
                return lib.nn.KLDivLoss(reduction=reduction, log_target=log_target)(x, t)
            compare_with_torch(fn, x.astype(dtype), t.astype(dtype), **tol)
        check_grad(lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target), x, t)


def test_kl_div_zero_target_contributes_zero_like_torch() -> None:
    t = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]], np.float32)
    x = np.log(np.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]], np.float32))
    compare_with_torch(lambda lib, x, t: lib.nn.functional.kl_div(x, t, reduction="batchmean"), x, t,
                       requires_grad=(True, False))


def test_kl_div_mean_warns_like_torch_and_bad_reduction() -> None:
    x = nerve.tensor(_log_probs(2, 3, seed=1))
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        nn.KLDivLoss()(x, x.exp())
    with pytest.raises(ValueError, match=r"^kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', "
                       r"got 'avg'$"):
        F.kl_div(x, x, reduction="avg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^KLDivLoss: reduction must be"):
        nn.KLDivLoss(reduction="avg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^kl_div: input shape \(2, 3\) and target shape \(3,\) differ"):
        F.kl_div(x, nerve.ones(3), reduction="sum")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("margin", [0.0, 0.7])
def test_margin_ranking_loss(reduction: str, margin: float) -> None:
    a, b = rand(6, seed=1), rand(6, seed=2)
    t = np.array([1, -1, 1, 1, -1, -1], np.float64)
    b = a - away_from(a - b, (margin, -margin), margin=0.05)  # the hinge is at a - b = ±margin
    f32 = [v.astype(np.float32) for v in (a, b, t)]
    compare_with_torch(lambda lib, a, b, t: lib.nn.functional.margin_ranking_loss(a, b, t, margin, reduction=reduction),
                       *f32, requires_grad=(True, True, False))
    compare_with_torch(lambda lib, a, b, t: lib.nn.MarginRankingLoss(margin, reduction=reduction)(a, b, t), a, b, t,
                       rtol=1e-10, atol=1e-12, requires_grad=(True, True, False))
    check_grad(lambda a, b: F.margin_ranking_loss(a, b, nerve.tensor(t), margin, reduction), a, b)


@pytest.mark.parametrize("kwargs", [{}, {"p": 1.0}, {"swap": True}, {"margin": 3.0, "reduction": "none"},
                                    {"reduction": "sum", "p": 3.0}], ids=str)
@pytest.mark.parametrize("shape", [(5, 4), (4,)], ids=str)
def test_triplet_margin_loss(kwargs: dict, shape: tuple) -> None:
    a, p, n = rand(*shape, seed=1), rand(*shape, seed=2), rand(*shape, seed=3)
    compare_with_torch(lambda lib, a, p, n: lib.nn.functional.triplet_margin_loss(a, p, n, **kwargs),
                       a.astype(np.float32), p.astype(np.float32), n.astype(np.float32))
    compare_with_torch(lambda lib, a, p, n: lib.nn.TripletMarginLoss(**kwargs)(a, p, n), a, p, n,
                       rtol=1e-10, atol=1e-12)
    check_grad(lambda a, p, n: F.triplet_margin_loss(a, p, n, **kwargs), a, p, n)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("margin", [0.0, -0.3])
def test_cosine_embedding_loss(reduction: str, margin: float) -> None:
    a, b = rand(6, 4, seed=1), rand(6, 4, seed=2)
    t = np.array([1, -1, 1, -1, -1, 1], np.int64)
    def fn(lib: Any, a: Any, b: Any, t: Any) -> Any:
        return lib.nn.functional.cosine_embedding_loss(a, b, t, margin, reduction=reduction)

    compare_with_torch(fn, a.astype(np.float32), b.astype(np.float32), t)
    compare_with_torch(lambda lib, a, b, t: lib.nn.CosineEmbeddingLoss(margin, reduction=reduction)(a, b, t), a, b, t,
                       rtol=1e-10, atol=1e-12)
    check_grad(lambda a, b: F.cosine_embedding_loss(a, b, nerve.tensor(t), margin, reduction), a, b)
    compare_with_torch(lambda lib, a, b, t: lib.nn.functional.cosine_embedding_loss(a, b, t), a[0], b[0],
                       np.array(-1))


@pytest.mark.parametrize("var_shape", [(4, 3), (4, 1), (4,)], ids=str)
@pytest.mark.parametrize("full, reduction", [(False, "mean"), (True, "sum"), (False, "none")])
def test_gaussian_nll_loss(var_shape: tuple, full: bool, reduction: str) -> None:
    x, t = rand(4, 3, seed=1), rand(4, 3, seed=2)
    var = rand(*var_shape, seed=3, low=0.2, high=2.0)
    var.reshape(-1)[0] = 1e-8  # below eps: clamped, yet its gradient passes through as in torch
    compare_with_torch(lambda lib, x, t, v: lib.nn.functional.gaussian_nll_loss(x, t, v, full, reduction=reduction),
                       x.astype(np.float32), t.astype(np.float32), var.astype(np.float32), rtol=1e-5, atol=1e-5)
    compare_with_torch(lambda lib, x, t, v: lib.nn.GaussianNLLLoss(full=full, reduction=reduction)(x, t, v), x, t, var,
                       rtol=1e-10, atol=1e-12)
    var[...] = np.maximum(var, 0.2)
    check_grad(lambda x, t, v: F.gaussian_nll_loss(x, t, v, full, reduction=reduction), x, t, var)


def test_pair_losses_bad_input() -> None:
    x = nerve.ones(3, 2)
    with pytest.raises(ValueError, match=r"^gaussian_nll_loss: var of shape \(2,\) does not match input of shape "
                       r"\(3, 2\)"):
        F.gaussian_nll_loss(x, x, nerve.ones(2))
    with pytest.raises(ValueError, match=r"^gaussian_nll_loss: var has negative entries"):
        F.gaussian_nll_loss(x, x, -nerve.ones(3, 2))
    with pytest.raises(ValueError, match=r"^triplet_margin_loss: margin must be greater than 0, got 0.0$"):
        F.triplet_margin_loss(x, x, x, margin=0.0)
    with pytest.raises(ValueError, match=r"^triplet_margin_loss: anchor, positive and negative must all be 1-D"):
        F.triplet_margin_loss(x, x, nerve.ones(2))
    with pytest.raises(ValueError, match=r"^cosine_embedding_loss: expected inputs of shape \(N, D\) or \(D,\) and "
                       r"a target of shape \(N,\) or \(\), got inputs \(3, 2\) and target \(2,\)$"):
        F.cosine_embedding_loss(x, x, nerve.tensor([1, -1]))
    with pytest.raises(ValueError, match=r"^margin_ranking_loss: input shape \(3,\) and target shape \(2,\) differ"):
        F.margin_ranking_loss(nerve.ones(3), nerve.ones(3), nerve.ones(2))

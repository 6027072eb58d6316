"""LR schedulers against torch.optim.lr_scheduler: the lr (and momentum/betas) sequence step by step,
ReduceLROnPlateau on a shared metric sequence, and state-dict round trips."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import nerve
from nerve import nn, optim
from nerve.optim import lr_scheduler as sched

STEPS = 30


def _optimizer(lib: Any, name: str = "SGD", lrs: tuple[float, ...] = (0.1,), **kwargs: Any) -> Any:
    """An optimizer over one small parameter per group, with lrs per group."""
    groups = []
    for i, lr in enumerate(lrs):
        p = lib.nn.Parameter(lib.zeros(2 + i))
        groups.append({"params": [p], "lr": lr})
    return getattr(lib.optim, name)(groups, **kwargs)


def _momentum(opt: Any) -> list[Any]:
    return [g["betas"] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _lockstep(make: Callable[[Any, Any], Any], opt_name: str = "SGD", lrs: tuple[float, ...] = (0.1,),
              steps: int = STEPS, **opt_kwargs: Any) -> list[list[float]]:
    """Build the same scheduler in both libraries and compare lrs (and momenta) after each step."""
    n_opt, t_opt = _optimizer(nerve, opt_name, lrs, **opt_kwargs), _optimizer(torch, opt_name, lrs, **opt_kwargs)
    n_s, t_s = make(nerve, n_opt), make(torch, t_opt)
    history = []
    for step in range(steps + 1):
        if step:
            n_opt.step()
            t_opt.step()
            n_s.step()
            t_s.step()
        n_lr, t_lr = n_s.get_last_lr(), t_s.get_last_lr()
        np.testing.assert_allclose(n_lr, t_lr, rtol=1e-14, atol=0, err_msg=f"lr after {step} steps")
        assert [g["lr"] for g in n_opt.param_groups] == n_lr
        np.testing.assert_allclose(np.array(_momentum(n_opt), dtype=float), np.array(_momentum(t_opt), dtype=float),
                                   rtol=1e-14, err_msg=f"momentum after {step} steps")
        history.append(list(n_lr))
    return history


SCHEDULES: dict[str, Callable[[Any, Any], Any]] = {
    "StepLR": lambda lib, o: lib.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda lib, o: lib.optim.lr_scheduler.MultiStepLR(o, milestones=[5, 12, 12, 20], gamma=0.3),
    "ExponentialLR": lambda lib, o: lib.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-3),
    "CosineAnnealingLR-long": lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingLR(o, T_max=25),
    "LambdaLR": lambda lib, o: lib.optim.lr_scheduler.LambdaLR(o, lambda e: 0.95**e / (1 + e % 3)),
    "LinearLR-warmup": lambda lib, o: lib.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=8),
    "LinearLR-decay": lambda lib, o: lib.optim.lr_scheduler.LinearLR(
        o, start_factor=1.0, end_factor=0.2, total_iters=10),
    "SequentialLR": lambda lib, o: lib.optim.lr_scheduler.SequentialLR(
        o, [lib.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=5),
            lib.optim.lr_scheduler.CosineAnnealingLR(o, T_max=25, eta_min=1e-4)], milestones=[5]),
    "SequentialLR-three": lambda lib, o: lib.optim.lr_scheduler.SequentialLR(
        o, [lib.optim.lr_scheduler.LinearLR(o, start_factor=0.5, total_iters=4),
            lib.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
            lib.optim.lr_scheduler.ExponentialLR(o, gamma=0.8)], milestones=[4, 15]),
    "OneCycleLR": lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=STEPS),
    "OneCycleLR-linear-three-phase": lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(
        o, max_lr=[0.5, 0.2][: len(o.param_groups)], epochs=3, steps_per_epoch=10, pct_start=0.25,
        anneal_strategy="linear", three_phase=True, div_factor=10.0, final_div_factor=100.0),
    "OneCycleLR-no-momentum": lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.3, total_steps=STEPS, cycle_momentum=False),
    "OneCycleLR-momenta-per-group": lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.4, total_steps=STEPS, base_momentum=[0.8, 0.7][: len(o.param_groups)],
        max_momentum=[0.9, 0.99][: len(o.param_groups)]),
    "CosineAnnealingWarmRestarts": lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=6),
    "CosineAnnealingWarmRestarts-mult": lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=1e-3),
    "ConstantLR": lambda lib, o: lib.optim.lr_scheduler.ConstantLR(o, factor=0.25, total_iters=6),
    "ConstantLR-default": lambda lib, o: lib.optim.lr_scheduler.ConstantLR(o),
    "PolynomialLR": lambda lib, o: lib.optim.lr_scheduler.PolynomialLR(o, total_iters=20, power=2.0),
    "PolynomialLR-linear": lambda lib, o: lib.optim.lr_scheduler.PolynomialLR(o, total_iters=7),
    "MultiplicativeLR": lambda lib, o: lib.optim.lr_scheduler.MultiplicativeLR(o, lambda e: 0.9 if e % 3 else 1.1),
    "ChainedScheduler": lambda lib, o: lib.optim.lr_scheduler.ChainedScheduler(
        [lib.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=4),
         lib.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
         lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=7)]),
    "CyclicLR": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                                               step_size_down=3),
    "CyclicLR-triangular2": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=[0.1, 0.2][: len(o.param_groups)], step_size_up=3, mode="triangular2"),
    "CyclicLR-exp-range": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(
        o, base_lr=[0.01, 0.02][: len(o.param_groups)], max_lr=0.1, step_size_up=3, mode="exp_range", gamma=0.95,
        base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-no-momentum": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=5, cycle_momentum=False),
    "CyclicLR-scale-fn": lambda lib, o: lib.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations"),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
@pytest.mark.parametrize("lrs", [(0.1,), (0.1, 0.02)], ids=["one-group", "two-groups"])
def test_matches_torch(name: str, lrs: tuple[float, ...]) -> None:
    history = _lockstep(SCHEDULES[name], "SGD", lrs, momentum=0.9)
    assert len({h[0] for h in history}) > 1, "the schedule never changed the lr"


@pytest.mark.parametrize("name", ["OneCycleLR", "OneCycleLR-linear-three-phase", "CyclicLR", "CyclicLR-exp-range"])
@pytest.mark.parametrize("opt_name", ["Adam", "NAdam", "RAdam", "Adamax"])
def test_momentum_cycles_adam_betas(name: str, opt_name: str) -> None:
    _lockstep(SCHEDULES[name], opt_name, (0.01, 0.001), betas=(0.9, 0.99))


@pytest.mark.parametrize(("T_0", "T_mult"), [(3, 1), (3, 2), (2, 3)])
def test_warm_restarts_with_fractional_epochs(T_0: int, T_mult: int) -> None:
    """step(epoch) jumps to any epoch, fractional ones included (stepping per batch), as in torch."""
    opt_n, opt_t = _optimizer(nerve, lrs=(0.1, 0.05)), _optimizer(torch, lrs=(0.1, 0.05))
    n_s = sched.CosineAnnealingWarmRestarts(opt_n, T_0=T_0, T_mult=T_mult, eta_min=1e-3)
    t_s = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt_t, T_0=T_0, T_mult=T_mult, eta_min=1e-3)
    epochs = [e + i / 5 for e in range(12) for i in range(5)] + [30.5, 2.25, 0, 7, 100.0]
    for epoch in epochs:
        n_s.step(epoch)
        t_s.step(epoch)
        assert n_s.get_last_lr() == pytest.approx(t_s.get_last_lr(), rel=1e-14, abs=0), epoch
        assert (n_s.last_epoch, n_s.T_i) == (t_s.last_epoch, t_s.T_i)
        assert n_s.T_cur == pytest.approx(t_s.T_cur, rel=1e-14, abs=1e-14)
    n_s.step()  # and back to whole epochs from there
    t_s.step()
    assert n_s.get_last_lr() == pytest.approx(t_s.get_last_lr(), rel=1e-14)
    with pytest.raises(ValueError, match=r"^CosineAnnealingWarmRestarts: epoch must be >= 0, got -1$"):
        n_s.step(-1)


def test_lr_scheduler_alias() -> None:
    assert sched._LRScheduler is sched.LRScheduler
    assert isinstance(sched.StepLR(_optimizer(nerve), 2), sched._LRScheduler)


def test_one_cycle_shape_and_limits() -> None:
    opt = _optimizer(nerve, "SGD", (0.1,), momentum=0.9)
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=20, pct_start=0.3)
    lrs, moms = [s.get_last_lr()[0]], [opt.param_groups[0]["momentum"]]
    for _ in range(19):
        opt.step()
        s.step()
        lrs.append(s.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
    peak = int(np.argmax(lrs))
    assert lrs[0] == pytest.approx(1.0 / 25) and max(lrs) == pytest.approx(1.0) and peak == 5
    assert lrs[-1] == pytest.approx(1.0 / 25 / 1e4)
    assert moms[peak] == pytest.approx(0.85) and moms[0] == pytest.approx(0.95) and moms[-1] == pytest.approx(0.95)
    t_opt = _optimizer(torch, "SGD", (0.1,), momentum=0.9)
    t_s = torch.optim.lr_scheduler.OneCycleLR(t_opt, max_lr=1.0, total_steps=20, pct_start=0.3)
    for _ in range(19):
        t_opt.step()
        t_s.step()
    s.step()  # step 20 of 20 is allowed (as in torch), the next is not
    t_s.step()
    assert s.get_last_lr() == pytest.approx(t_s.get_last_lr(), rel=1e-14)
    with pytest.raises(ValueError, match="total_steps"):
        s.step()
    with pytest.raises(ValueError, match="total"):
        t_s.step()
    with pytest.raises(ValueError, match="momentum"):
        sched.OneCycleLR(_optimizer(nerve, "Adagrad"), max_lr=1.0, total_steps=5)
    with pytest.raises(ValueError, match=r"OneCycleLR: pass total_steps, or both epochs and steps_per_epoch"):
        sched.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match=r"max_lr.*one per parameter group"):
        sched.OneCycleLR(opt, max_lr=[1.0, 2.0], total_steps=5)
    with pytest.raises(ValueError, match="base_momentum"):
        sched.OneCycleLR(opt, max_lr=1.0, total_steps=5, base_momentum=[0.8, 0.7])


def test_schedulers_on_one_optimizer_compose_like_torch() -> None:
    """Several schedulers stepping one optimizer multiply their factors (torch's chainable form), and a manual
    lr change mid-schedule carries on from the new value in both libraries."""
    runs = []
    for lib in (nerve, torch):
        o = _optimizer(lib, "SGD", (0.1, 0.05), momentum=0.9)
        s = lib.optim.lr_scheduler
        scheds = [s.StepLR(o, step_size=3, gamma=0.5), s.ExponentialLR(o, gamma=0.9), s.CosineAnnealingLR(o, T_max=7)]
        lrs = []
        for epoch in range(STEPS):
            o.step()
            for sc in scheds:
                sc.step()
            if epoch == 10:
                o.param_groups[0]["lr"] = 0.5
            lrs.append([g["lr"] for g in o.param_groups])
        runs.append(np.array(lrs))
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-14, atol=1e-300)
    assert len(np.unique(runs[0][:, 0])) > STEPS // 2


def test_scheduled_lr_is_the_lr_the_optimizer_uses() -> None:
    p = nn.Parameter(np.zeros(1))
    opt = optim.SGD([p], lr=1.0)
    s = sched.StepLR(opt, step_size=1, gamma=0.5)
    for k in range(4):
        p.grad = nerve.ones(1, dtype=nerve.float64)
        before = p.data.copy()
        opt.step()
        np.testing.assert_allclose(before - p.data, 0.5**k)
        s.step()


# ---------------------------------------------------------------------------------- ReduceLROnPlateau

METRICS = [1.0, 0.9, 0.85, 0.86, 0.85, 0.849, 0.9, 0.7, 0.7, 0.7, 0.7, 0.71, 0.69, 0.6999, 0.7, 0.7, 0.5,
           0.5, 0.55, 0.56, 0.57, 0.58, 0.5, 0.49995, 0.5, 0.5, 0.45, 0.46, 0.47, 0.48, 0.49, 0.5, 0.51, 0.52]


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(patience=2),
    dict(patience=1, factor=0.5, cooldown=2),
    dict(patience=0, threshold=0.05, threshold_mode="abs"),
    dict(patience=1, threshold=0.01, threshold_mode="rel", min_lr=0.03),
    dict(mode="max", patience=1, factor=0.5),
    dict(mode="max", patience=2, threshold=0.02, threshold_mode="abs", cooldown=1),
    dict(patience=0, factor=0.5, min_lr=[0.05, 0.001]),
    dict(patience=0, factor=0.9, eps=5e-3),
], ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults")
def test_reduce_on_plateau_matches_torch(kwargs: dict[str, Any]) -> None:
    n_opt, t_opt = _optimizer(nerve, lrs=(0.1, 0.01)), _optimizer(torch, lrs=(0.1, 0.01))
    n_s = sched.ReduceLROnPlateau(n_opt, **kwargs)
    t_s = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, **kwargs)
    seq = METRICS if kwargs.get("mode") != "max" else [-m for m in METRICS]
    changes = 0
    for i, metric in enumerate(seq):
        before = n_s.get_last_lr()
        n_s.step(metric)
        t_s.step(metric)
        assert n_s.get_last_lr() == t_s.get_last_lr(), f"step {i}"
        assert [g["lr"] for g in n_opt.param_groups] == n_s.get_last_lr()
        assert (n_s.num_bad_epochs, n_s.cooldown_counter, n_s.best) == (t_s.num_bad_epochs, t_s.cooldown_counter,
                                                                        t_s.best)
        changes += n_s.get_last_lr() != before
    assert changes > 0 or not kwargs  # the default patience of 10 never runs out on this sequence


def test_reduce_on_plateau_accepts_tensors_and_rejects_bad_options() -> None:
    opt = _optimizer(nerve)
    s = sched.ReduceLROnPlateau(opt, patience=0)
    s.step(nerve.tensor(1.0))
    s.step(np.float64(2.0))
    assert s.get_last_lr() == [pytest.approx(0.01)]
    for bad, match in ((dict(factor=1.0), r"factor must be < 1, got 1.0"), (dict(mode="up"), r"mode.*got 'up'"),
                       (dict(threshold_mode="pct"), r"threshold_mode.*got 'pct'"),
                       (dict(min_lr=[0.0, 0.0]), r"expected 1 min_lrs, got 2")):
        with pytest.raises(ValueError, match=rf"ReduceLROnPlateau: {match}"):
            sched.ReduceLROnPlateau(opt, **bad)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------- state dicts


@pytest.mark.parametrize("name", [*SCHEDULES, "Plateau"])
def test_state_dict_round_trip(name: str) -> None:
    def make(opt: Any) -> Any:
        if name == "Plateau":
            return sched.ReduceLROnPlateau(opt, patience=1, cooldown=1)
        return SCHEDULES[name](nerve, opt)

    def advance(opt: Any, s: Any, k: int, start: int) -> list[float]:
        out = []
        for i in range(start, start + k):
            opt.step()
            s.step(METRICS[i]) if name == "Plateau" else s.step()
            out.append(s.get_last_lr()[0])
        return out

    opt_a = _optimizer(nerve, momentum=0.9)
    a = make(opt_a)
    advance(opt_a, a, 12, 0)
    saved_sched, saved_opt = a.state_dict(), opt_a.state_dict()
    assert "optimizer" not in saved_sched
    expected = advance(opt_a, a, 12, 12)
    opt_b = _optimizer(nerve, momentum=0.9)
    b = make(opt_b)
    opt_b.load_state_dict(saved_opt)
    b.load_state_dict(saved_sched)
    assert b.get_last_lr() == [g["lr"] for g in saved_opt["param_groups"]]
    assert advance(opt_b, b, 12, 12) == expected


def test_load_a_torch_lambda_lr_state_dict() -> None:
    n_opt, t_opt = _optimizer(nerve), _optimizer(torch)
    fn = SCHEDULES["LambdaLR"]
    n_s, t_s = fn(nerve, n_opt), fn(torch, t_opt)
    for _ in range(4):
        t_opt.step()
        t_s.step()
    n_s.load_state_dict(t_s.state_dict())  # holds lr_lambdas=[None]: nerve keeps its own function
    n_opt.param_groups[0]["lr"] = t_opt.param_groups[0]["lr"]
    for _ in range(4):
        t_opt.step()
        t_s.step()
        n_s.step()
    assert n_s.get_last_lr() == t_s.get_last_lr()


def test_state_dict_matches_torch_keys() -> None:
    n_opt, t_opt = _optimizer(nerve), _optimizer(torch)
    n_s = sched.CosineAnnealingLR(n_opt, T_max=5)
    t_s = torch.optim.lr_scheduler.CosineAnnealingLR(t_opt, T_max=5)
    n_sd, t_sd = n_s.state_dict(), t_s.state_dict()
    for key in ("T_max", "eta_min", "base_lrs", "last_epoch", "_step_count", "_last_lr"):
        assert n_sd[key] == t_sd[key], key


def test_resume_with_last_epoch() -> None:
    opt = _optimizer(nerve)
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(opt, step_size=2, last_epoch=3)
    # resuming at epoch 3 continues the schedule where torch's resumed schedule does
    runs = []
    for lib in (nerve, torch):
        o = _optimizer(lib, momentum=0.9)
        o.param_groups[0]["initial_lr"] = 0.1
        s = lib.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5, last_epoch=3)
        lrs = [(s.last_epoch, s.get_last_lr()[0])]
        for _ in range(6):
            o.step()
            s.step()
            lrs.append((s.last_epoch, s.get_last_lr()[0]))
        runs.append((s.base_lrs, lrs))
    assert runs[0] == runs[1]
    assert runs[0][0] == [0.1] and runs[0][1][0] == (4, 0.05)
    with pytest.raises(TypeError, match="StepLR: expected a nerve Optimizer, got object"):
        sched.StepLR(object(), step_size=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="StepLR: step_size must be positive, got 0"):
        sched.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be positive, got 0"):
        sched.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match=r"LinearLR: start_factor must be in \(0, 1\], got 0.0"):
        sched.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="milestones"):
        sched.SequentialLR(opt, [sched.StepLR(opt, 1), sched.StepLR(opt, 1)], milestones=[])
    with pytest.raises(ValueError, match=r"^CosineAnnealingWarmRestarts: T_0 must be a positive integer, got 0$"):
        sched.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match=r"^CosineAnnealingWarmRestarts: T_0 must be a positive integer, got 2.5$"):
        sched.CosineAnnealingWarmRestarts(opt, T_0=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^CosineAnnealingWarmRestarts: T_mult must be an integer >= 1, got 0$"):
        sched.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0)
    with pytest.raises(ValueError, match=r"^ConstantLR: factor must be in \[0, 1\], got 1.5$"):
        sched.ConstantLR(opt, factor=1.5)
    with pytest.raises(ValueError, match=r"^PolynomialLR: total_iters must be positive, got 0$"):
        sched.PolynomialLR(opt, total_iters=0)
    with pytest.raises(ValueError, match=r"^MultiplicativeLR: expected 1 lr_lambdas, got 2$"):
        sched.MultiplicativeLR(opt, [lambda e: 1.0, lambda e: 1.0])
    with pytest.raises(TypeError, match=r"^MultiplicativeLR: lr_lambda must be a function, got float$"):
        sched.MultiplicativeLR(opt, [0.5])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"^ChainedScheduler: expected at least one scheduler, got none$"):
        sched.ChainedScheduler([])
    with pytest.raises(ValueError, match=r"^ChainedScheduler: ReduceLROnPlateau \(scheduler 1\) needs a metric"):
        sched.ChainedScheduler([sched.StepLR(opt, 1), sched.ReduceLROnPlateau(opt)])  # type: ignore[list-item]
    other = _optimizer(nerve)
    with pytest.raises(ValueError, match=r"^ChainedScheduler: scheduler 1 \(StepLR\) belongs to a different optimizer"):
        sched.ChainedScheduler([sched.StepLR(opt, 1), sched.StepLR(other, 1)])
    with pytest.raises(ValueError, match=r"^CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range' "
                                         r"\(or pass scale_fn\), got 'sine'$"):
        sched.CyclicLR(opt, 0.01, 0.1, mode="sine")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^CyclicLR: cycle_momentum needs an optimizer with momentum or betas, got "
                                         r"Adagrad; pass cycle_momentum=False$"):
        sched.CyclicLR(_optimizer(nerve, "Adagrad"), 0.01, 0.1)
    with pytest.raises(ValueError, match=r"^CyclicLR: expected 1 values of max_lr, one per parameter group, got 2$"):
        sched.CyclicLR(opt, 0.01, [0.1, 0.2])
    with pytest.raises(ValueError, match=r"^CyclicLR: step_size_up must be positive and step_size_down >= 0, got 0"):
        sched.CyclicLR(opt, 0.01, 0.1, step_size_up=0)
    per_group = sched.LambdaLR(_optimizer(nerve, lrs=(0.1, 0.2)), [lambda e: 1.0, lambda e: 0.5])
    assert math.isclose(per_group.get_last_lr()[1], 0.1)

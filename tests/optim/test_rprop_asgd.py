"""Rprop and ASGD against torch.optim: 20 lockstep steps on the 6-16-3 MLP of test_optimizers (float32 to 1e-5,
float64 to 1e-10), their state (dtype and values, ASGD's float32 eta/mu and the average ``ax``), state-dict round
trips in the middle of a run, parameters that first get a gradient late, parameter groups, and bad options.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import torch

from nerve import nn, optim

from .test_optimizers import STEPS, TOL, Pair, _models

CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "rprop": ("Rprop", dict()),
    # tight step-size limits: both clamps are hit within 20 steps (checked in test_rprop_hits_both_limits)
    "rprop-limits": ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.08))),
    "rprop-maximize": ("Rprop", dict(lr=0.02, etas=(0.4, 1.3), maximize=True)),
    "asgd": ("ASGD", dict()),
    # t0=5: the average ax departs from the iterate after 5 steps; lambd=0.1 makes eta decay visibly
    "asgd-averaging": ("ASGD", dict(lr=0.05, lambd=0.1, alpha=0.5, t0=5)),
    "asgd-wd": ("ASGD", dict(lr=0.05, lambd=1e-3, t0=3, weight_decay=0.1)),
    "asgd-everything": ("ASGD", dict(lr=0.03, lambd=0.05, alpha=0.9, t0=2, weight_decay=0.05, maximize=True)),
}


def _state_close(pair: Pair, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    """nerve's state dict has torch's keys, dtypes and values (the float32 scalars exactly)."""
    n_state, t_state = pair.n_opt.state_dict()["state"], pair.t_opt.state_dict()["state"]
    assert sorted(n_state) == sorted(t_state) and t_state
    for i, entry in t_state.items():
        assert set(n_state[i]) == set(entry)
        for key, value in entry.items():
            ours = np.asarray(n_state[i][key].data)
            assert ours.dtype == value.numpy().dtype, (i, key)
            if value.ndim == 0:
                assert float(ours) == float(value), (i, key)
            else:
                np.testing.assert_allclose(ours, value.numpy(), rtol=rtol, atol=atol, err_msg=f"{i} {key}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_matches_torch(config: str, dtype: type) -> None:
    name, kwargs = CONFIGS[config]
    pair = Pair(name, kwargs, dtype)
    start = [p.data.copy() for p in pair.n_model.parameters()]
    for k in range(STEPS):
        pair.step()
        assert pair.max_diff() < TOL[dtype], f"{config}: step {k}, max difference {pair.max_diff():.3g}"
    moved = min(float(np.abs(p.data - s).max()) for p, s in zip(pair.n_model.parameters(), start))
    assert moved > 1e-3, "a parameter barely moved: the comparison would be vacuous"
    _state_close(pair, *((1e-9, 1e-12) if dtype == np.float64 else (1e-4, 1e-6)))
    assert all(p.dtype == dtype for p in pair.n_model.parameters())


def test_rprop_hits_both_limits() -> None:
    name, kwargs = CONFIGS["rprop-limits"]
    pair = Pair(name, kwargs, np.float64)
    pair.run()
    sizes = np.concatenate([s["step_size"].data.ravel() for s in pair.n_opt.state_dict()["state"].values()])
    assert sizes.min() == 1e-3 and sizes.max() == 0.08
    assert pair.max_diff() < 1e-10


def test_asgd_average_and_step_size_schedule() -> None:
    """ax follows the iterate until t0, then averages it; eta and mu follow their closed forms in float32."""
    name, kwargs = CONFIGS["asgd-averaging"]
    pair = Pair(name, kwargs, np.float64)
    lr, lambd, alpha, t0 = kwargs["lr"], kwargs["lambd"], kwargs["alpha"], kwargs["t0"]
    for step in range(1, 12):
        pair.step()
        entry = pair.n_opt.state_dict()["state"][0]
        weight = pair.n_model[0].weight.data
        assert entry["eta"].item() == np.float32(lr / (1 + lambd * lr * step) ** alpha)
        assert entry["mu"].item() == np.float32(1 / max(1, step - t0))
        gap = np.abs(entry["ax"].data - weight).max()
        if step <= t0 + 2:  # step s uses mu = 1 / max(1, s - 1 - t0): ax copies the weights through t0 + 2
            assert gap == 0.0
        else:
            assert gap > 1e-4
    _state_close(pair)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_state_dict_round_trip_mid_run(config: str) -> None:
    """Save nerve's state after 6 steps, restore it into a fresh optimizer on a fresh model, and continue in
    lockstep with torch, which never stopped."""
    name, kwargs = CONFIGS[config]
    pair = Pair(name, kwargs, np.float64)
    pair.run(6)
    saved = copy.deepcopy({"state": {k: {n: np.array(v.data) for n, v in s.items()}
                                     for k, s in pair.n_opt.state_dict()["state"].items()},
                           "param_groups": pair.n_opt.state_dict()["param_groups"]})
    model, _ = _models(np.float64, seed=7)
    model.load_state_dict({k: v.data.copy() for k, v in pair.n_model.state_dict().items()})
    opt = getattr(optim, name)(model.parameters(), lr=0.5)
    opt.load_state_dict(saved)
    assert opt.param_groups[0] == {**pair.n_opt.param_groups[0], "params": opt.param_groups[0]["params"]}
    pair.n_model, pair.n_opt = model, opt
    for k in range(8):
        pair.step()
        assert pair.max_diff() < 1e-10, f"{config}: step {k} after the reload"
    _state_close(pair)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_load_state_dict_from_torch(config: str) -> None:
    name, kwargs = CONFIGS[config]
    pair = Pair(name, kwargs, np.float64)
    x, y = pair.t_xy
    for _ in range(5):
        pair.t_opt.zero_grad()
        torch.nn.functional.cross_entropy(pair.t_model(x), y).backward()
        pair.t_opt.step()
    pair.n_model.load_state_dict({k: v.detach().numpy() for k, v in pair.t_model.state_dict().items()})
    t_sd = pair.t_opt.state_dict()
    pair.n_opt.load_state_dict({"state": {k: {n: v.numpy().copy() for n, v in s.items()}
                                          for k, s in t_sd["state"].items()},
                                "param_groups": copy.deepcopy(t_sd["param_groups"])})
    for _ in range(8):
        pair.step()
    assert pair.max_diff() < 1e-10
    _state_close(pair)


@pytest.mark.parametrize("config", ["rprop-limits", "asgd-everything"])
def test_late_parameters_start_from_the_current_lr(config: str) -> None:
    """Torch creates a parameter's state (Rprop's step size, ASGD's eta) from the lr of the step where it first
    has a gradient; a parameter skipped while the lr changed must start from the new lr, not the old one."""
    name, kwargs = CONFIGS[config]
    pair = Pair(name, kwargs, np.float64)
    for k in range(12):
        if k == 3:
            for opt in (pair.n_opt, pair.t_opt):
                opt.param_groups[0]["lr"] = kwargs["lr"] * 0.3
        pair.step(skip=(2, 3) if k < 5 else (1,) if k in (7, 8) else ())
        assert pair.max_diff() < 1e-10, f"{config}: step {k}"
    _state_close(pair)
    steps = [int(s["step"].item()) for s in pair.n_opt.state_dict()["state"].values()]
    assert steps == [12, 10, 7, 7]


@pytest.mark.parametrize("name", ["Rprop", "ASGD"])
def test_parameter_groups_match_torch(name: str) -> None:
    first, second = ((dict(lr=0.05, etas=(0.2, 1.6)), dict(step_sizes=(1e-4, 0.03), maximize=True))
                     if name == "Rprop" else (dict(lr=0.05, t0=2), dict(lambd=0.05, weight_decay=0.1, alpha=0.6)))

    def groups(m: Any) -> list[dict[str, Any]]:
        return [{"params": m[0].parameters(), **first}, {"params": m[2].parameters(), **second}]

    pair = Pair(name, dict(lr=0.01), np.float64, groups=groups)
    assert pair.n_opt.param_groups[1]["lr"] == 0.01
    for k in range(15):
        pair.step()
        assert pair.max_diff() < 1e-10, f"{name}: step {k}"
    _state_close(pair)


def test_training_lowers_the_loss() -> None:
    for name, kwargs in [("Rprop", dict()), ("ASGD", dict(lr=0.1))]:
        pair = Pair(name, kwargs)
        x, y = pair.n_xy
        first = nn.functional.cross_entropy(pair.n_model(x), y).item()
        pair.run(10)
        assert nn.functional.cross_entropy(pair.n_model(x), y).item() < first - 0.05, name


@pytest.mark.parametrize(("name", "kwargs", "match"), [
    ("Rprop", dict(lr=-1.0), r"^Rprop: invalid learning rate -1\.0 \(must be >= 0\)$"),
    ("Rprop", dict(etas=(1.5, 1.2)), r"^Rprop: invalid etas \(1\.5, 1\.2\) \(expected \(etaminus, etaplus\) with "
                                     r"0 < etaminus < 1 < etaplus\)$"),
    ("Rprop", dict(etas=(0.5, 0.9)), r"^Rprop: invalid etas \(0\.5, 0\.9\)"),
    ("Rprop", dict(etas=(0.0, 1.2)), r"^Rprop: invalid etas \(0\.0, 1\.2\)"),
    ("Rprop", dict(step_sizes=(1.0, 0.1)), r"^Rprop: invalid step_sizes \(1\.0, 0\.1\) \(expected \(min, max\) with "
                                           r"0 <= min <= max\)$"),
    ("Rprop", dict(step_sizes=(-1e-6, 50)), r"^Rprop: invalid step_sizes"),
    ("ASGD", dict(lr=-0.1), r"^ASGD: invalid learning rate -0\.1 \(must be >= 0\)$"),
    ("ASGD", dict(weight_decay=-0.5), r"^ASGD: invalid weight_decay -0\.5 \(must be >= 0\)$"),
])
def test_bad_hyperparameters(name: str, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        getattr(optim, name)([nn.Parameter(np.zeros(2))], **kwargs)


def test_bad_group_options_are_checked_too() -> None:
    opt = optim.Rprop([nn.Parameter(np.zeros(2))])
    with pytest.raises(ValueError, match=r"^Rprop: invalid etas \(0\.5, 1\.0\)"):
        opt.add_param_group({"params": [nn.Parameter(np.zeros(3))], "etas": (0.5, 1.0)})
    assert len(opt.param_groups) == 1
    with pytest.raises(TypeError, match=r"^ASGD: params must be an iterable of tensors or dicts, got a Module"):
        optim.ASGD(nn.Linear(2, 2))

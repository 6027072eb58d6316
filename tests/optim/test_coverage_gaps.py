"""Optimizers against torch.optim where the rest of the suite did not look: parameter groups that differ in more
than the learning rate (each group's own flat buffers and options), and a group added in the middle of training.

Float64 throughout, so agreement to 1e-10 over every step shows the same update rule, not a close one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from .test_optimizers import CONFIGS, Pair

TOL = 1e-10

# name: (defaults, options of the first group, options of the second group); every option differs somewhere
GROUP_OPTIONS: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "SGD": (dict(lr=0.05, momentum=0.9), dict(nesterov=True, lr=0.02),
            dict(momentum=0.5, dampening=0.3, weight_decay=0.1, maximize=True)),
    "Adam": (dict(lr=1e-2), dict(amsgrad=True, betas=(0.8, 0.9)), dict(weight_decay=0.1, eps=1e-3, maximize=True)),
    "AdamW": (dict(lr=1e-2), dict(amsgrad=True, weight_decay=0.3), dict(betas=(0.5, 0.99), maximize=True)),
    "RMSprop": (dict(lr=1e-2), dict(centered=True, momentum=0.5), dict(alpha=0.8, weight_decay=0.1, eps=1e-4)),
    # NOTE: initial_accumulator_value is left equal across groups: torch fills every accumulator from the
    # constructor's argument and ignores a group's own value, while nerve uses the group's (a known divergence)
    "Adagrad": (dict(lr=0.05, initial_accumulator_value=0.1), dict(lr_decay=0.1), dict(eps=1e-3, weight_decay=0.1)),
    "NAdam": (dict(lr=1e-2), dict(momentum_decay=0.01, decoupled_weight_decay=True, weight_decay=0.1),
              dict(betas=(0.7, 0.9), maximize=True)),
    "RAdam": (dict(lr=1e-2, betas=(0.9, 0.9)), dict(decoupled_weight_decay=True, weight_decay=0.1),
              dict(betas=(0.5, 0.99), eps=1e-3)),
    "Adamax": (dict(lr=1e-2), dict(betas=(0.5, 0.9)), dict(weight_decay=0.1, eps=1e-3, maximize=True)),
    "Adadelta": (dict(), dict(rho=0.5), dict(lr=0.5, weight_decay=0.1, maximize=True)),
}


def _groups(first: dict[str, Any], second: dict[str, Any]):
    return lambda m: [{"params": m[0].parameters(), **first}, {"params": m[2].parameters(), **second}]


def _assert_same_state(pair: Pair) -> None:
    n_state, t_state = pair.n_opt.state_dict()["state"], pair.t_opt.state_dict()["state"]
    assert sorted(n_state) == sorted(t_state)
    for pid, entries in t_state.items():
        for key, value in entries.items():
            ours = n_state[pid][key]
            np.testing.assert_allclose(np.asarray(getattr(ours, "data", ours), dtype=float),
                                       np.asarray(value, dtype=float), rtol=1e-9, atol=1e-12, err_msg=f"{pid} {key}")


@pytest.mark.parametrize("name", list(GROUP_OPTIONS))
def test_groups_with_different_options_match_torch(name: str) -> None:
    defaults, first, second = GROUP_OPTIONS[name]
    pair = Pair(name, defaults, np.float64, groups=_groups(first, second))
    assert [{k: g[k] for k in first} for g in pair.n_opt.param_groups[:1]] == [first]
    start = [p.data.copy() for p in pair.n_model.parameters()]
    for i in range(15):
        pair.step(skip=(1,) if i in (3, 4) else ())  # a skipped parameter leaves its group's flat path
        assert pair.max_diff() < TOL, f"{name}: step {i}, max parameter difference {pair.max_diff():.3g}"
    _assert_same_state(pair)
    moved = min(float(np.abs(p.data - s).max()) for p, s in zip(pair.n_model.parameters(), start))
    assert moved > 1e-4, "a parameter barely moved: the comparison would be vacuous"


@pytest.mark.parametrize("config", ["sgd-nesterov-wd", "rmsprop-centered-momentum-wd", "adagrad-everything",
                                    "adam-amsgrad", "adamw", "nadam-everything", "radam", "adamax-everything",
                                    "adadelta-everything"])
def test_group_added_mid_training_matches_torch(config: str) -> None:
    name, kwargs = CONFIGS[config]
    pair = Pair(name, kwargs, np.float64, groups=lambda m: [{"params": m[0].parameters()}])
    late = [p.data.copy() for p in pair.n_model[2].parameters()]
    for i in range(10):
        if i == 4:
            lr = kwargs.get("lr", 1.0) * 0.5
            pair.n_opt.add_param_group({"params": pair.n_model[2].parameters(), "lr": lr})
            pair.t_opt.add_param_group({"params": pair.t_model[2].parameters(), "lr": lr})
        pair.step()
        assert pair.max_diff() < TOL, f"{config}: step {i}, max parameter difference {pair.max_diff():.3g}"
    _assert_same_state(pair)
    assert all(np.abs(p.data - s).max() > 1e-4 for p, s in zip(pair.n_model[2].parameters(), late))


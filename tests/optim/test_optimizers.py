"""Optimizers against torch.optim over 20 steps with copied weights, state dicts, the flat and per-parameter
update paths, and bad hyperparameters.

The model is a 6-16-3 tanh MLP trained with cross-entropy on one fixed batch. float32 runs must agree to
1e-5; float64 runs to 1e-10, which shows the update rules are the same algorithm, not just close.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import nerve
from nerve import nn, optim

STEPS = 20
TOL = {np.float32: 1e-5, np.float64: 1e-10}

CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd-momentum": ("SGD", dict(lr=0.05, momentum=0.9)),
    "sgd-dampening": ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    "sgd-nesterov-wd": ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
    "sgd-wd": ("SGD", dict(lr=0.1, weight_decay=0.05)),
    "sgd-maximize": ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    "rmsprop": ("RMSprop", dict(lr=1e-2)),
    "rmsprop-alpha-momentum": ("RMSprop", dict(lr=5e-3, alpha=0.9, momentum=0.7)),
    "rmsprop-centered": ("RMSprop", dict(lr=1e-3, centered=True)),
    # NOTE: centered RMSprop's update is about lr * g / sqrt(var(g)): for tiny, steady gradients it amplifies
    # float32 rounding, so at lr=1e-2 it is the config closest to the float32 tolerance (measured 1.7e-6 here)
    "rmsprop-centered-large-lr": ("RMSprop", dict(lr=1e-2, centered=True)),
    "rmsprop-centered-momentum-wd": ("RMSprop", dict(lr=1e-3, centered=True, momentum=0.5, weight_decay=0.01)),
    "rmsprop-wd": ("RMSprop", dict(lr=1e-2, weight_decay=0.1)),
    "adagrad": ("Adagrad", dict(lr=0.05)),
    "adagrad-lr-decay": ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    "adagrad-initial-wd": ("Adagrad", dict(lr=0.05, initial_accumulator_value=0.1, weight_decay=0.02)),
    "adam": ("Adam", dict(lr=1e-2)),
    "adam-wd": ("Adam", dict(lr=1e-2, weight_decay=0.05, betas=(0.8, 0.99))),
    "adam-amsgrad": ("Adam", dict(lr=1e-2, amsgrad=True)),
    "adam-maximize": ("Adam", dict(lr=1e-3, maximize=True)),
    "adamw": ("AdamW", dict(lr=1e-2)),
    "adamw-amsgrad-wd": ("AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    # every remaining option, eps included (an optimizer ignoring eps or maximize would pass the configs above)
    "sgd-nesterov-maximize": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True)),
    "rmsprop-everything": ("RMSprop", dict(lr=1e-3, alpha=0.8, eps=1e-6, weight_decay=0.05, momentum=0.5,
                                           centered=True, maximize=True)),
    "adagrad-everything": ("Adagrad", dict(lr=0.05, lr_decay=0.1, weight_decay=0.05, initial_accumulator_value=0.2,
                                           eps=1e-3, maximize=True)),
    "adam-amsgrad-maximize-eps": ("Adam", dict(lr=1e-2, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.1, amsgrad=True,
                                               maximize=True)),
    "adamw-maximize-eps": ("AdamW", dict(lr=1e-2, betas=(0.5, 0.9), eps=1e-3, maximize=True)),
    "nadam": ("NAdam", dict(lr=1e-2)),
    "nadam-wd": ("NAdam", dict(lr=1e-2, weight_decay=0.1, momentum_decay=0.02)),
    "nadam-everything": ("NAdam", dict(lr=1e-2, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.1, momentum_decay=0.01,
                                       decoupled_weight_decay=True, maximize=True)),
    # NOTE: beta2=0.9 gives rho_t > 5 from step 6: the first steps are plain momentum, later ones rectified Adam
    "radam": ("RAdam", dict(lr=1e-2, betas=(0.9, 0.9))),
    "radam-unrectified": ("RAdam", dict(lr=1e-2, weight_decay=0.05)),  # beta2=0.999: rho_t <= 5 for 20 steps
    "radam-everything": ("RAdam", dict(lr=1e-2, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.1,
                                       decoupled_weight_decay=True, maximize=True)),
    "adamax": ("Adamax", dict(lr=1e-2)),
    "adamax-everything": ("Adamax", dict(lr=1e-2, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.1, maximize=True)),
    "adadelta": ("Adadelta", dict()),
    "adadelta-everything": ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-3, weight_decay=0.1, maximize=True)),
}


def _models(dtype: type, seed: int = 0) -> tuple[nn.Module, torch.nn.Module]:
    torch.manual_seed(seed)
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    t = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).to(tdtype)
    n = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3)).to(dtype)
    n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return n, t


def _batch(dtype: type, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(32, 6)).astype(dtype), rng.integers(0, 3, 32).astype(np.int64)


class Pair:
    """A nerve and a torch model + optimizer trained in lockstep on one fixed batch."""

    def __init__(self, name: str, kwargs: dict[str, Any], dtype: type = np.float32,
                 groups: Callable[[Any], Any] | None = None) -> None:
        self.dtype = dtype
        self.n_model, self.t_model = _models(dtype)
        params = groups or (lambda m: m.parameters())
        self.n_opt = getattr(optim, name)(params(self.n_model), **kwargs)
        self.t_opt = getattr(torch.optim, name)(params(self.t_model), **kwargs)
        x, y = _batch(dtype)
        self.n_xy = (nerve.tensor(x), nerve.tensor(y))
        self.t_xy = (torch.tensor(x), torch.tensor(y))

    def step(self, skip: tuple[int, ...] = (), set_to_none: bool = True) -> None:
        """One training step on both sides; parameters at indices ``skip`` get no gradient."""
        for model, opt, (x, y), lib in ((self.n_model, self.n_opt, self.n_xy, nn),
                                        (self.t_model, self.t_opt, self.t_xy, torch.nn)):
            opt.zero_grad(set_to_none=set_to_none)
            lib.functional.cross_entropy(model(x), y).backward()
            for i, p in enumerate(model.parameters()):
                if i in skip:
                    p.grad = None
            opt.step()

    def max_diff(self) -> float:
        return max(float(np.abs(p.data - t.detach().numpy()).max())
                   for p, t in zip(self.n_model.parameters(), self.t_model.parameters()))

    def run(self, steps: int = STEPS) -> float:
        for _ in range(steps):
            self.step()
        return self.max_diff()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_matches_torch(config: str, dtype: type) -> None:
    name, kwargs = CONFIGS[config]
    pair = Pair(name, kwargs, dtype)
    before = pair.max_diff()
    start = [p.data.copy() for p in pair.n_model.parameters()]
    diff = pair.run()
    assert before == 0.0
    assert diff < TOL[dtype], f"{config} {np.dtype(dtype).name}: max parameter difference {diff:.3g}"
    moved = max(float(np.abs(p.data - s).max()) for p, s in zip(pair.n_model.parameters(), start))
    assert moved > 1e-3, "the parameters barely moved: the comparison would be vacuous"
    assert all(p.dtype == dtype for p in pair.n_model.parameters())


def test_training_lowers_the_loss() -> None:
    for name, kwargs in [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=1e-2)), ("RMSprop", {}),
                         ("Adagrad", dict(lr=0.1)), ("AdamW", dict(lr=1e-2)), ("NAdam", dict(lr=1e-2)),
                         ("RAdam", dict(lr=1e-2, betas=(0.9, 0.9))), ("Adamax", dict(lr=1e-2)), ("Adadelta", {})]:
        pair = Pair(name, kwargs)
        x, y = pair.n_xy
        first = nn.functional.cross_entropy(pair.n_model(x), y).item()
        pair.run(10)
        assert nn.functional.cross_entropy(pair.n_model(x), y).item() < first - 0.05, name


def test_param_groups_with_different_lrs() -> None:
    def groups(m: Any) -> list[dict[str, Any]]:
        return [{"params": m[0].parameters(), "lr": 0.1},
                {"params": m[2].parameters(), "momentum": 0.5}]

    pair = Pair("SGD", dict(lr=0.01, momentum=0.9), groups=groups)
    assert [g["lr"] for g in pair.n_opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in pair.n_opt.param_groups] == [0.9, 0.5]
    assert pair.run() < 1e-5
    adam = Pair("Adam", dict(lr=1e-3), np.float64, groups=lambda m: [{"params": [m[0].weight], "lr": 1e-2},
                                                                     {"params": [m[0].bias, m[2].weight, m[2].bias]}])
    assert adam.run() < 1e-10


@pytest.mark.parametrize("config", ["sgd-momentum", "rmsprop-centered-momentum-wd", "adagrad-initial-wd",
                                    "adam-amsgrad", "adamw", "nadam-everything", "radam", "adamax-everything",
                                    "adadelta-everything"])
def test_skipped_parameters_take_the_per_parameter_path(config: str) -> None:
    """Torch skips a parameter whose grad is None; nerve then updates per parameter on views of the
    flat buffers, and must return to the flat path afterwards with identical results."""
    name, kwargs = CONFIGS[config]
    pair = Pair(name, kwargs, np.float64)
    pattern = [(), (1,), (), (0, 3), (), (), (2,), (), (), ()]
    for skip in pattern * 2:
        pair.step(skip)
        assert pair.max_diff() < 1e-10, (config, skip)
    steps = pair.n_opt._buffers[0].steps
    assert list(steps) == [20 - 2, 20 - 2, 20 - 2, 20 - 2]  # each skipped twice
    # a parameter that never had a gradient never gets state, in both libraries
    fresh = Pair(name, kwargs, np.float64)
    for _ in range(3):
        fresh.step(skip=(3,))
    n_state, t_state = fresh.n_opt.state_dict()["state"], fresh.t_opt.state_dict()["state"]
    assert sorted(n_state) == sorted(t_state)
    assert fresh.max_diff() < 1e-10


def test_flat_and_per_parameter_paths_agree() -> None:
    """The same steps through the flat update and, with mixed dtypes (no flat buffer), per parameter."""
    a = Pair("Adam", dict(lr=1e-2, amsgrad=True), np.float64)
    b = Pair("Adam", dict(lr=1e-2, amsgrad=True), np.float64)
    assert a.n_opt._buffers[0].flat is not None
    b.n_opt._buffers[0].flat = None  # force the per-parameter fallback
    for _ in range(5):
        a.step()
        b.step(skip=(99,))
    for p, q in zip(a.n_model.parameters(), b.n_model.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    # mixed dtypes in one group leave no flat buffer: every step takes the per-parameter path
    rng = np.random.default_rng(0)
    values = [rng.normal(size=3).astype(np.float32), rng.normal(size=(2, 2))]
    ours = [nn.Parameter(v.copy()) for v in values]
    theirs = [torch.nn.Parameter(torch.tensor(v)) for v in values]
    n_opt, t_opt = optim.Adam(ours, lr=0.1), torch.optim.Adam(theirs, lr=0.1)
    assert n_opt._buffers[0].flat is None
    for _ in range(10):
        for params, opt in ((ours, n_opt), (theirs, t_opt)):
            opt.zero_grad()
            (params[0].tanh().sum() * (params[1] ** 2).sum().float()).backward()
            opt.step()
    assert ours[0].dtype == np.float32 and ours[1].dtype == np.float64
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_parameters_become_views_of_one_buffer() -> None:
    n, _ = _models(np.float32)
    values = [p.data.copy() for p in n.parameters()]
    opt = optim.Adam(n.parameters())
    flat = opt._buffers[0].flat
    assert flat is not None and flat.size == 6 * 16 + 16 + 16 * 3 + 3
    for p, v in zip(n.parameters(), values):
        assert np.shares_memory(p.data, flat)
        np.testing.assert_array_equal(p.data, v)


def test_reassigned_data_is_relinked() -> None:
    pair = Pair("SGD", dict(lr=0.1, momentum=0.9), np.float64)
    pair.run(3)
    w_n, w_t = pair.n_model[0].weight, pair.t_model[0].weight
    new = np.random.default_rng(5).normal(size=w_n.shape)
    w_n.data = new.copy()  # replaces the array the optimizer's flat buffer views
    with torch.no_grad():
        w_t.data = torch.tensor(new)
    pair.run(5)
    assert np.shares_memory(w_n.data, pair.n_opt._buffers[0].flat)
    assert pair.max_diff() < 1e-10
    n, _ = _models(np.float32)
    opt = optim.SGD(n.parameters(), lr=0.1)
    n.to(nerve.float64)
    n(nerve.tensor(np.ones((1, 6)))).sum().backward()
    with pytest.raises(RuntimeError, match="after the optimizer was created"):
        opt.step()


def test_model_to_and_load_state_dict_keep_the_link() -> None:
    pair = Pair("Adam", dict(lr=1e-2), np.float64)
    pair.run(2)
    state = {k: v.detach().numpy() * 0.5 for k, v in pair.t_model.state_dict().items()}
    pair.n_model.load_state_dict(state)
    pair.t_model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    pair.n_model.to(nerve.float64)  # same dtype: copies the arrays, which the optimizer must re-link
    pair.run(3)
    assert pair.max_diff() < 1e-10


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none: bool) -> None:
    pair = Pair("SGD", dict(lr=0.1, momentum=0.9), np.float64)
    pair.step()
    grads = [p.grad for p in pair.n_model.parameters()]
    pair.n_opt.zero_grad(set_to_none=set_to_none)
    pair.t_opt.zero_grad(set_to_none=set_to_none)
    for p, t, g in zip(pair.n_model.parameters(), pair.t_model.parameters(), grads):
        if set_to_none:
            assert p.grad is None and t.grad is None
        else:
            assert p.grad is g and not np.any(p.grad.data) and not torch.any(t.grad)
    for _ in range(5):
        pair.step(set_to_none=set_to_none)
    assert pair.max_diff() < 1e-10


def test_closure_returns_the_loss() -> None:
    n, _ = _models(np.float64)
    x, y = _batch(np.float64)
    opt = optim.SGD(n.parameters(), lr=0.1)

    def closure() -> nerve.Tensor:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(n(nerve.tensor(x)), nerve.tensor(y))
        loss.backward()
        return loss

    with nerve.no_grad():
        first = opt.step(closure).item()  # the closure runs with gradients enabled
    assert opt.step(closure).item() < first


# ----------------------------------------------------------------------------------------- state dicts

STATE_KEYS = {
    "SGD": {"momentum_buffer"}, "RMSprop": {"step", "square_avg", "momentum_buffer", "grad_avg"},
    "Adagrad": {"step", "sum"}, "Adam": {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    "AdamW": {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    "NAdam": {"step", "mu_product", "exp_avg", "exp_avg_sq"}, "RAdam": {"step", "exp_avg", "exp_avg_sq"},
    "Adamax": {"step", "exp_avg", "exp_inf"}, "Adadelta": {"step", "square_avg", "acc_delta"},
}
STATE_CONFIGS = ["sgd", "sgd-nesterov-wd", "rmsprop-centered-momentum-wd", "adagrad-lr-decay", "adam-amsgrad",
                 "adamw-amsgrad-wd", "rmsprop", "nadam-everything", "radam-everything", "adamax-everything",
                 "adadelta-everything"]


def _numpy_state(state_dict: dict[str, Any]) -> dict[str, Any]:
    """A torch optimizer state dict with tensors converted to numpy arrays."""
    conv = {k: {n: (v.numpy().copy() if isinstance(v, torch.Tensor) else v) for n, v in s.items()}
            for k, s in state_dict["state"].items()}
    return {"state": conv, "param_groups": copy.deepcopy(state_dict["param_groups"])}


@pytest.mark.parametrize("config", STATE_CONFIGS)
def test_state_dict_format_like_torch(config: str) -> None:
    name, kwargs = CONFIGS[config]
    pair = Pair(name, kwargs, np.float64)
    pair.run(3)
    ns, ts = pair.n_opt.state_dict(), pair.t_opt.state_dict()
    assert set(ns) == {"state", "param_groups"}
    assert sorted(ns["state"]) == sorted(ts["state"]) == ([] if config == "sgd" else [0, 1, 2, 3])
    for i in ts["state"]:
        assert set(ns["state"][i]) == set(ts["state"][i]) <= STATE_KEYS[name]
        for key, value in ts["state"][i].items():
            np.testing.assert_allclose(np.asarray(ns["state"][i][key].data), value.numpy(), rtol=1e-9, atol=1e-12,
                                       err_msg=f"state[{i}][{key!r}]")
            assert np.asarray(ns["state"][i][key].data).dtype == value.numpy().dtype, key
    assert len(ns["param_groups"]) == 1 and ns["param_groups"][0]["params"] == ts["param_groups"][0]["params"]
    for key, value in ns["param_groups"][0].items():
        assert ts["param_groups"][0][key] == value, key


@pytest.mark.parametrize("config", STATE_CONFIGS)
def test_state_dict_round_trip_continues_identically(config: str) -> None:
    name, kwargs = CONFIGS[config]
    pair = Pair(name, kwargs, np.float64)
    pair.run(4)
    saved = copy.deepcopy({"state": {k: {n: np.array(v.data) for n, v in s.items()}
                                     for k, s in pair.n_opt.state_dict()["state"].items()},
                           "param_groups": pair.n_opt.state_dict()["param_groups"]})
    weights = {k: v.data.copy() for k, v in pair.n_model.state_dict().items()}
    pair.run(5)
    after_a = [p.data.copy() for p in pair.n_model.parameters()]
    # a fresh optimizer on a fresh model, restored from the saved state
    model, _ = _models(np.float64, seed=3)
    model.load_state_dict(weights)
    opt = getattr(optim, name)(model.parameters(), **{**kwargs, "lr": 123.0})
    opt.load_state_dict(saved)
    assert opt.param_groups[0]["lr"] == kwargs["lr"]
    x, y = pair.n_xy
    for _ in range(5):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    for a, b in zip(after_a, model.parameters()):
        np.testing.assert_array_equal(a, b.data)


@pytest.mark.parametrize("config", [*STATE_CONFIGS, "sgd-momentum", "adagrad-initial-wd"])
def test_load_state_dict_from_torch(config: str) -> None:
    """Train torch alone for a while, move model and optimizer state into nerve, then continue in lockstep."""
    name, kwargs = CONFIGS[config]
    pair = Pair(name, kwargs, np.float64)
    x, y = pair.t_xy
    for _ in range(4):
        pair.t_opt.zero_grad()
        torch.nn.functional.cross_entropy(pair.t_model(x), y).backward()
        pair.t_opt.step()
    pair.n_model.load_state_dict({k: v.detach().numpy() for k, v in pair.t_model.state_dict().items()})
    pair.n_opt.load_state_dict(_numpy_state(pair.t_opt.state_dict()))
    assert pair.max_diff() == 0.0
    for _ in range(8):
        pair.step()
    assert pair.max_diff() < 1e-10
    n_keys = {k: set(v) for k, v in pair.n_opt.state_dict()["state"].items()}
    assert n_keys == {k: set(v) for k, v in pair.t_opt.state_dict()["state"].items()}


def test_load_state_dict_rejects_mismatches() -> None:
    pair = Pair("Adam", {}, np.float64)
    pair.run(1)
    sd = pair.n_opt.state_dict()
    other = optim.Adam([nn.Parameter(np.zeros(3))])
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: group 0 has 4 parameters .* but 1"):
        other.load_state_dict(sd)
    two = optim.Adam([{"params": [nn.Parameter(np.zeros(3))]}, {"params": [nn.Parameter(np.zeros(2))]}])
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: .* 1 parameter groups, the optimizer has 2"):
        two.load_state_dict(sd)
    four = optim.Adam([nn.Parameter(np.zeros(3)) for _ in range(4)])
    with pytest.raises(ValueError, match=r"exp_avg.*shape"):
        four.load_state_dict(sd)
    # a load that fails on the last parameter changes nothing: no hyperparameter, step or state of the others
    target = Pair("Adam", dict(lr=5e-3, betas=(0.5, 0.6)), np.float64)
    target.run(2)
    before = copy.deepcopy(target.n_opt.state_dict())
    bad = {"state": {**sd["state"], 3: {**sd["state"][3], "exp_avg": np.zeros(7)}}, "param_groups": sd["param_groups"]}
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: state 'exp_avg' of parameter 3 has shape \(7,\)"):
        target.n_opt.load_state_dict(bad)
    after = target.n_opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for i, entry in before["state"].items():
        for name, value in entry.items():
            np.testing.assert_array_equal(after["state"][i][name].data, value.data, err_msg=f"state[{i}][{name!r}]")


# ---------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("name", "kwargs", "match"), [
    ("SGD", dict(lr=-0.1), "learning rate"),
    ("SGD", dict(lr=0.1, momentum=-0.5), "momentum"),
    ("SGD", dict(lr=0.1, nesterov=True), "nesterov"),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
    ("SGD", dict(lr=0.1, weight_decay=-1.0), "weight_decay"),
    ("Adam", dict(lr=-1e-3), "learning rate"),
    ("Adam", dict(betas=(1.0, 0.999)), "betas"),
    ("Adam", dict(betas=(0.9, -0.1)), "betas"),
    ("AdamW", dict(betas=(0.9, 1.5)), "betas"),
    ("Adam", dict(eps=-1e-8), "eps"),
    ("AdamW", dict(weight_decay=-0.1), "weight_decay"),
    ("RMSprop", dict(alpha=-0.5), "alpha"),
    ("RMSprop", dict(momentum=-0.5), "momentum"),
    ("RMSprop", dict(lr=-1.0), "learning rate"),
    ("Adagrad", dict(lr_decay=-1.0), "lr_decay"),
    ("Adagrad", dict(lr=-1.0), "learning rate"),
    ("Adagrad", dict(weight_decay=-0.5), r"weight_decay.*got.*-0\.5"),
    ("Adagrad", dict(eps=-1e-3), r"eps.*got.*-0\.001"),
    ("Adagrad", dict(initial_accumulator_value=-2.0), r"initial_accumulator_value.*got.*-2\.0"),
    ("RMSprop", dict(eps=-1e-3), r"eps.*got -0\.001"),
    ("RMSprop", dict(weight_decay=-0.5), r"weight_decay.*got.*-0\.5"),
    ("NAdam", dict(lr=-1.0), r"^NAdam: invalid learning rate -1\.0 \(must be >= 0\)$"),
    ("NAdam", dict(betas=(0.9, 1.0)), r"^NAdam: invalid betas \(0\.9, 1\.0\) \(each must be in \[0, 1\)\)$"),
    ("NAdam", dict(eps=-1e-3), r"^NAdam: invalid eps -0\.001 \(must be >= 0\)$"),
    ("NAdam", dict(weight_decay=-0.5), r"^NAdam: invalid weight_decay -0\.5 \(must be >= 0\)$"),
    ("NAdam", dict(momentum_decay=-0.1), r"^NAdam: invalid momentum_decay -0\.1 \(must be >= 0\)$"),
    ("RAdam", dict(lr=-1.0), r"^RAdam: invalid learning rate -1\.0 \(must be >= 0\)$"),
    ("RAdam", dict(betas=(-0.1, 0.9)), r"^RAdam: invalid betas \(-0\.1, 0\.9\) \(each must be in \[0, 1\)\)$"),
    ("RAdam", dict(eps=-1.0), r"^RAdam: invalid eps -1\.0 \(must be >= 0\)$"),
    ("RAdam", dict(weight_decay=-0.5), r"^RAdam: invalid weight_decay -0\.5 \(must be >= 0\)$"),
    ("Adamax", dict(lr=-1.0), r"^Adamax: invalid learning rate -1\.0 \(must be >= 0\)$"),
    ("Adamax", dict(betas=(0.9, 1.5)), r"^Adamax: invalid betas \(0\.9, 1\.5\) \(each must be in \[0, 1\)\)$"),
    ("Adamax", dict(eps=-1.0), r"^Adamax: invalid eps -1\.0 \(must be >= 0\)$"),
    ("Adamax", dict(weight_decay=-0.5), r"^Adamax: invalid weight_decay -0\.5 \(must be >= 0\)$"),
    ("Adadelta", dict(lr=-1.0), r"^Adadelta: invalid learning rate -1\.0 \(must be >= 0\)$"),
    ("Adadelta", dict(rho=1.5), r"^Adadelta: invalid rho 1\.5 \(must be in \[0, 1\]\)$"),
    ("Adadelta", dict(eps=-1.0), r"^Adadelta: invalid eps -1\.0 \(must be >= 0\)$"),
    ("Adadelta", dict(weight_decay=-0.5), r"^Adadelta: invalid weight_decay -0\.5 \(must be >= 0\)$"),
])
def test_bad_hyperparameters(name: str, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        getattr(optim, name)([nn.Parameter(np.zeros(2))], **kwargs)


def test_bad_parameter_lists() -> None:
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        optim.Adam(nn.ReLU().parameters())
    p = nn.Parameter(np.zeros(2))
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match=r"SGD.*floating-point.*int64"):
        optim.SGD([nerve.tensor(np.zeros(2, dtype=np.int64))], lr=0.1)


def test_a_module_instead_of_its_parameters_is_named() -> None:
    # torch fails with "'Linear' object is not iterable"; the base class says what to pass, for every optimizer
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam", "Adamax", "Adadelta"):
        kwargs = {"lr": 0.1} if name == "SGD" else {}
        with pytest.raises(TypeError, match=rf"^{name}: params must be an iterable of tensors or dicts, got a "
                                            rf"Module \(Linear\); pass model\.parameters\(\)$"):
            getattr(optim, name)(nn.Linear(2, 2), **kwargs)
        with pytest.raises(TypeError, match="not iterable"):
            getattr(torch.optim, name)(torch.nn.Linear(2, 2), **kwargs)
    with pytest.raises(TypeError, match=r"got a Module \(Sequential\)"):
        optim.SGD(nn.Sequential(nn.Linear(2, 2)), lr=0.1)


def test_add_param_group_and_repr() -> None:
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(3))
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01] and opt.param_groups[1]["momentum"] == 0.9
    a.grad, b.grad = nerve.ones(2, dtype=nerve.float64), nerve.ones(3, dtype=nerve.float64)
    opt.step()
    np.testing.assert_allclose(a.data, -0.1)
    np.testing.assert_allclose(b.data, -0.01)
    text = repr(opt)
    assert text.startswith("SGD (") and "Parameter Group 1" in text and "lr: 0.01" in text


# ------------------------------------------------------------------------------------ named parameters


@pytest.mark.parametrize("config", ["sgd-momentum", "adam-amsgrad", "nadam-everything", "adadelta"])
def test_named_parameters_like_torch(config: str) -> None:
    """model.named_parameters() is accepted; the names land in param_groups and the state dict as in torch."""
    name, kwargs = CONFIGS[config]
    pair = Pair(name, kwargs, np.float64, groups=lambda m: m.named_parameters())
    assert pair.n_opt.param_groups[0]["param_names"] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert pair.n_opt.param_groups[0]["param_names"] == pair.t_opt.param_groups[0]["param_names"]
    assert all(isinstance(p, nerve.Tensor) for p in pair.n_opt.param_groups[0]["params"])
    assert pair.run() < 1e-10
    ns, ts = pair.n_opt.state_dict(), pair.t_opt.state_dict()
    assert ns["param_groups"][0]["param_names"] == ts["param_groups"][0]["param_names"]
    assert ns["param_groups"][0]["params"] == ts["param_groups"][0]["params"]


def test_named_parameter_groups() -> None:
    def groups(m: Any) -> list[dict[str, Any]]:
        return [{"params": m[0].named_parameters(prefix="0"), "lr": 0.1},
                {"params": m[2].named_parameters(prefix="2")}]

    pair = Pair("RAdam", dict(lr=1e-2, betas=(0.9, 0.9)), np.float64, groups=groups)
    assert [g["param_names"] for g in pair.n_opt.param_groups] == [["0.weight", "0.bias"], ["2.weight", "2.bias"]]
    assert [g["param_names"] for g in pair.n_opt.param_groups] == [g["param_names"] for g in pair.t_opt.param_groups]
    assert pair.run() < 1e-10


def test_named_parameters_in_load_state_dict() -> None:
    """As torch: saved names replace the optimizer's; a state dict without names keeps the optimizer's."""
    named = Pair("NAdam", dict(lr=1e-2), np.float64, groups=lambda m: m.named_parameters())
    named.run(3)
    plain = optim.NAdam(_models(np.float64)[0].parameters(), lr=1e-2)
    plain.load_state_dict(named.n_opt.state_dict())
    assert plain.param_groups[0]["param_names"] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert isinstance(plain.param_groups[0]["param_names"], list)
    t_plain = torch.optim.NAdam(_models(np.float64)[1].parameters(), lr=1e-2)
    t_plain.load_state_dict(named.t_opt.state_dict())
    assert t_plain.param_groups[0]["param_names"] == plain.param_groups[0]["param_names"]
    again = optim.NAdam(_models(np.float64)[0].named_parameters(), lr=1e-2)
    again.load_state_dict(optim.NAdam(_models(np.float64)[0].parameters()).state_dict())
    assert again.param_groups[0]["param_names"] == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_named_parameters_mixed_with_plain_ones_are_rejected() -> None:
    n, t = _models(np.float32)
    (name, w), b = next(iter(n.named_parameters())), n[0].bias
    with pytest.raises(ValueError, match=r"^Adam: a parameter group mixes \(name, tensor\) pairs and bare tensors"):
        optim.Adam([(name, w), b])
    with pytest.raises(ValueError, match="with/without names"):
        torch.optim.Adam([("0.weight", t[0].weight), t[0].bias])
    with pytest.raises(ValueError, match=r"^SGD: cannot add a parameter group without names to groups with names"):
        optim.SGD([{"params": [(name, w)]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match="cannot add param group without names"):
        torch.optim.SGD([{"params": [("0.weight", t[0].weight)]}, {"params": [t[0].bias]}], lr=0.1)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match=r"^SGD: cannot add a parameter group with names to groups without names"):
        opt.add_param_group({"params": [("0.bias", b)]})
    with pytest.raises(TypeError, match=r"^SGD: named parameters must be \(name, tensor\) pairs$"):
        optim.SGD([("a", w, "extra")], lr=0.1)  # type: ignore[list-item]


# ---------------------------------------------------------------------------------------------- NAdam


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nadam_mu_product_is_a_running_product(dtype: type) -> None:
    """Changing beta1 mid-run (as a momentum schedule does) changes later factors of mu_product, not earlier
    ones: the product must be kept as state, in float32 as torch keeps it, not recomputed from the step."""
    pair = Pair("NAdam", dict(lr=1e-2, momentum_decay=0.01), dtype)
    for k in range(STEPS):
        for opt in (pair.n_opt, pair.t_opt):
            opt.param_groups[0]["betas"] = (0.9 - 0.02 * (k % 5), 0.999)
        pair.step(skip=(1,) if k in (4, 9) else ())
    assert pair.max_diff() < TOL[dtype]
    n_state, t_state = pair.n_opt.state_dict()["state"], pair.t_opt.state_dict()["state"]
    for i in t_state:
        assert n_state[i]["mu_product"].dtype == np.float32
        assert float(n_state[i]["mu_product"].item()) == float(t_state[i]["mu_product"])
    assert n_state[0]["mu_product"].item() != n_state[1]["mu_product"].item()  # 1 skipped two steps

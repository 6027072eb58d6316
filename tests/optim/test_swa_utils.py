"""swa_utils against torch.optim.swa_utils in float64: AveragedModel with every averaging function (the default
equal-weight average, avg_fn and multi_avg_fn, SWA and EMA) with and without use_buffers, fed the same sequence of
weights; update_bn on a model with batch norms; SWALR's lr sequence; and bad arguments.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

import nerve
from nerve import nn, optim
from nerve.optim import swa_utils
from nerve.optim.lr_scheduler import ExponentialLR

UPDATES = 6


def _models(seed: int = 0) -> tuple[nn.Module, torch.nn.Module]:
    """Linear -> BatchNorm1d -> Tanh -> Linear in float64, with torch's initial weights copied into nerve."""
    torch.manual_seed(seed)
    t = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.Tanh(),
                            torch.nn.Linear(5, 2)).double()
    n = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 2)).to(nerve.float64)
    n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return n, t


def _perturb(n_model: nn.Module, t_model: torch.nn.Module, rng: np.random.Generator) -> None:
    """Give both models the same new weights and batch-norm statistics, as a training step would."""
    state = {}
    for key, value in t_model.state_dict().items():
        arr = value.numpy()
        if key.endswith("num_batches_tracked"):
            state[key] = arr + rng.integers(1, 4)
        elif key.endswith("running_var"):
            state[key] = arr * rng.uniform(0.5, 1.5, arr.shape)
        else:
            state[key] = arr + rng.normal(scale=0.3, size=arr.shape)
    n_model.load_state_dict(state)
    t_model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})


def _assert_same(n_avg: swa_utils.AveragedModel, t_avg: Any, rtol: float = 1e-13) -> None:
    ours, theirs = n_avg.state_dict(), t_avg.state_dict()
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        assert ours[key].dtype == value.numpy().dtype, key
        np.testing.assert_allclose(ours[key].data, value.numpy(), rtol=rtol, atol=1e-15, err_msg=key)


AVERAGES: dict[str, Any] = {
    "default": lambda lib: {},
    "avg_fn-ema": lambda lib: dict(avg_fn=lib.optim.swa_utils.get_ema_avg_fn(0.8)),
    "avg_fn-swa": lambda lib: dict(avg_fn=lib.optim.swa_utils.get_swa_avg_fn()),
    "multi-ema": lambda lib: dict(multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.7)),
    "multi-ema-heavy": lambda lib: dict(multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.3)),  # lerp's far end
    "multi-swa": lambda lib: dict(multi_avg_fn=lib.optim.swa_utils.get_swa_multi_avg_fn()),
    "custom": lambda lib: dict(avg_fn=lambda avg, cur, n: avg * 0.5 + cur * 0.5 + n * 0.01),
}


# NOTE: not multi-swa with use_buffers: torch raises for the integer num_batches_tracked (test_swa_multi_on_integers)
@pytest.mark.parametrize(("average", "use_buffers"), [(a, u) for a in AVERAGES for u in (False, True)
                                                      if (a, u) != ("multi-swa", True)])
def test_averaged_model_matches_torch(average: str, use_buffers: bool) -> None:
    n_model, t_model = _models()
    n_avg = swa_utils.AveragedModel(n_model, use_buffers=use_buffers, **AVERAGES[average](nerve))
    t_avg = torch.optim.swa_utils.AveragedModel(t_model, use_buffers=use_buffers, **AVERAGES[average](torch))
    rng = np.random.default_rng(1)
    for k in range(UPDATES):
        _perturb(n_model, t_model, rng)
        n_avg.update_parameters(n_model)
        t_avg.update_parameters(t_model)
        _assert_same(n_avg, t_avg)
        assert int(n_avg.n_averaged.item()) == k + 1
    # the average differs from the last weights (the comparison above is not of two copies of the model)
    gap = np.abs(n_avg.module[0].weight.data - n_model[0].weight.data).max()
    assert gap > 0.05
    mean_gap = np.abs(n_avg.module[1].running_mean.data - n_model[1].running_mean.data).max()
    assert (mean_gap > 0.01) == use_buffers  # without use_buffers the buffers are the model's
    x = np.random.default_rng(2).normal(size=(3, 4))
    n_avg.eval()
    t_avg.eval()
    np.testing.assert_allclose(n_avg(nerve.tensor(x)).data, t_avg(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_default_average_is_the_mean_of_the_weights() -> None:
    n_model, _ = _models()
    avg = swa_utils.AveragedModel(n_model)
    seen = []
    for k in range(4):
        n_model[0].weight.data[...] = k**2
        seen.append(n_model[0].weight.data.copy())
        avg.update_parameters(n_model)
    np.testing.assert_allclose(avg.module[0].weight.data, np.mean(seen, axis=0), rtol=1e-15)
    assert avg.module[0].weight is not n_model[0].weight  # a deep copy
    assert not np.shares_memory(avg.module[0].weight.data, n_model[0].weight.data)


def test_swa_multi_weight_is_rounded_like_torch() -> None:
    """AveragedModel passes n_averaged as a tensor, and torch's get_swa_multi_avg_fn then computes 1/(n+1) in
    float32: the average of three copies is off the exact mean by ~1e-8, in both libraries alike."""
    values = [np.zeros(3), np.ones(3), np.full(3, 2.0)]
    ours = [nerve.tensor(values[0].copy())]
    theirs = [torch.tensor(values[0].copy())]
    for n, v in enumerate(values[1:], start=1):
        swa_utils.get_swa_multi_avg_fn()(ours, [nerve.tensor(v)], nerve.tensor(n))
        torch.optim.swa_utils.get_swa_multi_avg_fn()(theirs, [torch.tensor(v)], torch.tensor(n))
    np.testing.assert_array_equal(ours[0].data, theirs[0].numpy())
    assert abs(ours[0].data[0] - 1.0) > 1e-9
    # with a plain int count the weight is exact
    plain = [nerve.tensor(np.zeros(3))]
    swa_utils.get_swa_multi_avg_fn()(plain, [nerve.tensor(np.full(3, 3.0))], 2)
    assert plain[0].data.tolist() == [1.0, 1.0, 1.0]


def test_swa_multi_on_integers() -> None:
    """torch fails on integer tensors (addcdiv); nerve averages them in float and truncates, as avg_fn does."""
    ours = [nerve.tensor(np.array([5, -5]))]
    swa_utils.get_swa_multi_avg_fn()(ours, [nerve.tensor(np.array([9, 9]))], nerve.tensor(2))
    assert ours[0].data.tolist() == [6, -0] and ours[0].dtype == np.int64
    with pytest.raises(RuntimeError, match="addcdiv"):
        torch.optim.swa_utils.get_swa_multi_avg_fn()([torch.tensor([5, -5])], [torch.tensor([9, 9])], torch.tensor(2))


@pytest.mark.parametrize("decay", [0.9, 0.7, 0.3])
def test_ema_on_integers_matches_torch(decay: float) -> None:
    """torch averages integer tensors (num_batches_tracked with use_buffers) in float32 and truncates; in float64
    some of these would truncate one lower or higher."""
    start, new = np.array([0, 13, 11, 1, 0, 12]), np.array([10, 3, 1, 31, 20, 2])
    ours, theirs = [nerve.tensor(start.copy())], [torch.tensor(start.copy())]
    swa_utils.get_ema_multi_avg_fn(decay)(ours, [nerve.tensor(new)], nerve.tensor(1))
    torch.optim.swa_utils.get_ema_multi_avg_fn(decay)(theirs, [torch.tensor(new)], torch.tensor(1))
    assert ours[0].dtype == np.int64 and ours[0].data.tolist() == theirs[0].tolist()
    assert ours[0].data.tolist() != np.trunc(start * decay + new * (1 - decay)).astype(int).tolist()
    one = swa_utils.get_ema_avg_fn(decay)(nerve.tensor(start), nerve.tensor(new), 1)
    other = torch.optim.swa_utils.get_ema_avg_fn(decay)(torch.tensor(start), torch.tensor(new), 1)
    assert one.dtype == np.float32 and one.data.tolist() == other.tolist()


def test_averaged_model_tracks_a_training_run() -> None:
    """SWA over SGD steps: both libraries train the same model and average after each step."""
    n_model, t_model = _models(3)
    n_opt, t_opt = optim.SGD(n_model.parameters(), lr=0.1), torch.optim.SGD(t_model.parameters(), lr=0.1)
    n_avg, t_avg = swa_utils.AveragedModel(n_model), torch.optim.swa_utils.AveragedModel(t_model)
    rng = np.random.default_rng(4)
    for _ in range(8):
        x, y = rng.normal(size=(8, 4)), rng.normal(size=(8, 2))
        for model, opt, lib, avg in ((n_model, n_opt, nerve, n_avg), (t_model, t_opt, torch, t_avg)):
            opt.zero_grad()
            ((model(lib.tensor(x)) - lib.tensor(y)) ** 2).mean().backward()
            opt.step()
            avg.update_parameters(model)
    _assert_same(n_avg, t_avg, rtol=1e-11)


def test_averaged_model_state_dict_round_trip() -> None:
    n_model, t_model = _models()
    t_avg = torch.optim.swa_utils.AveragedModel(t_model)
    rng = np.random.default_rng(5)
    scratch, _ = _models()
    for _ in range(3):
        _perturb(scratch, t_model, rng)  # torch trains alone for a while
        t_avg.update_parameters(t_model)
    n_avg = swa_utils.AveragedModel(n_model)
    n_avg.load_state_dict({k: v.numpy() for k, v in t_avg.state_dict().items()})
    assert int(n_avg.n_averaged.item()) == 3
    for _ in range(2):
        _perturb(n_model, t_model, rng)
        n_avg.update_parameters(n_model)
        t_avg.update_parameters(t_model)
    _assert_same(n_avg, t_avg)


def test_averaged_model_bad_arguments() -> None:
    n_model, _ = _models()
    ema = swa_utils.get_ema_avg_fn()
    with pytest.raises(ValueError, match=r"^AveragedModel: pass avg_fn or multi_avg_fn, not both$"):
        swa_utils.AveragedModel(n_model, avg_fn=ema, multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    with pytest.raises(TypeError, match=r"^AveragedModel: expected a nerve Module, got list$"):
        swa_utils.AveragedModel([n_model])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^AveragedModel: nerve runs on the CPU only"):
        swa_utils.AveragedModel(n_model, device="cuda")
    for make in (swa_utils.get_ema_avg_fn, swa_utils.get_ema_multi_avg_fn):
        with pytest.raises(ValueError, match=r"^get_ema_avg_fn: invalid decay 1\.5 \(must be in \[0, 1\]\)$"):
            make(1.5)
        with pytest.raises(ValueError, match=r"invalid decay -0\.1"):
            make(-0.1)


# ------------------------------------------------------------------------------------------------ update_bn


def _bn_models() -> tuple[nn.Module, torch.nn.Module]:
    torch.manual_seed(6)
    t = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6, momentum=0.3), torch.nn.ReLU(),
                            torch.nn.Linear(6, 3), torch.nn.BatchNorm1d(3)).double()
    n = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6, momentum=0.3), nn.ReLU(), nn.Linear(6, 3),
                      nn.BatchNorm1d(3)).to(nerve.float64)
    n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return n, t


@pytest.mark.parametrize("as_tuples", [False, True])
def test_update_bn_matches_torch(as_tuples: bool) -> None:
    n_model, t_model = _bn_models()
    rng = np.random.default_rng(7)
    batches = [rng.normal(loc=1.0, scale=2.0, size=(size, 4)) for size in (5, 8, 3, 6)]
    for model, lib in ((n_model, nerve), (t_model, torch)):
        model.train()
        for b in batches[:2]:
            model(lib.tensor(b))  # stale statistics, which update_bn must discard
        model.eval()
    n_loader = [(nerve.tensor(b), 0) if as_tuples else nerve.tensor(b) for b in batches]
    t_loader = [(torch.tensor(b), 0) if as_tuples else torch.tensor(b) for b in batches]
    swa_utils.update_bn(n_loader, n_model)
    torch.optim.swa_utils.update_bn(t_loader, t_model)
    ours, theirs = n_model.state_dict(), t_model.state_dict()
    for key, value in theirs.items():
        np.testing.assert_allclose(ours[key].data, value.numpy(), rtol=1e-13, atol=1e-15, err_msg=key)
    assert int(ours["1.num_batches_tracked"].item()) == 4
    # the cumulative average over the 4 batches: the mean of the batch means for the first layer's statistics
    h = [b @ n_model[0].weight.data.T + n_model[0].bias.data for b in batches]
    np.testing.assert_allclose(ours["1.running_mean"].data, np.mean([z.mean(0) for z in h], axis=0), rtol=1e-12)
    assert n_model[1].momentum == 0.3 and n_model[4].momentum == 0.1
    assert not n_model.training and not any(m.training for m in n_model.modules())


def test_update_bn_on_an_averaged_model_and_without_batch_norm() -> None:
    n_model, t_model = _bn_models()
    n_avg, t_avg = swa_utils.AveragedModel(n_model), torch.optim.swa_utils.AveragedModel(t_model)
    rng = np.random.default_rng(8)
    batches = [rng.normal(size=(6, 4)) for _ in range(3)]
    n_avg.update_parameters(n_model)
    t_avg.update_parameters(t_model)
    swa_utils.update_bn([nerve.tensor(b) for b in batches], n_avg)
    torch.optim.swa_utils.update_bn([torch.tensor(b) for b in batches], t_avg)
    _assert_same(n_avg, t_avg, rtol=1e-12)
    assert n_avg.training  # restored to the mode it had (train)
    plain = nn.Sequential(nn.Linear(4, 2), nn.InstanceNorm1d(2, track_running_stats=True))
    plain.eval()
    before = {k: v.data.copy() for k, v in plain.state_dict().items()}
    swa_utils.update_bn([nerve.randn(3, 4)], plain)  # instance norm is not batch norm: nothing to do, as torch
    assert not plain.training
    for k, v in plain.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])
    with pytest.raises(ValueError, match=r"^update_bn: nerve runs on the CPU only"):
        swa_utils.update_bn([], plain, device="cuda:0")


# ---------------------------------------------------------------------------------------------------- SWALR


def _swalr(lib: Any, lrs: tuple[float, ...], **kwargs: Any) -> tuple[Any, Any]:
    groups = [{"params": [lib.nn.Parameter(lib.zeros(2 + i))], "lr": lr} for i, lr in enumerate(lrs)]
    opt = lib.optim.SGD(groups, lr=0.1)
    return opt, lib.optim.swa_utils.SWALR(opt, **kwargs)


@pytest.mark.parametrize(("lrs", "kwargs"), [
    ((0.1,), dict(swa_lr=0.01)),
    ((0.1,), dict(swa_lr=0.05, anneal_epochs=4, anneal_strategy="linear")),
    ((0.5, 0.02), dict(swa_lr=0.1, anneal_epochs=3)),  # one group anneals down, the other up
    ((0.5, 0.2), dict(swa_lr=[0.01, 0.3], anneal_epochs=5, anneal_strategy="linear")),
    ((0.3,), dict(swa_lr=0.03, anneal_epochs=0)),
    ((0.3,), dict(swa_lr=0.03, anneal_epochs=1, anneal_strategy="cos")),
])
def test_swalr_matches_torch(lrs: tuple[float, ...], kwargs: dict[str, Any]) -> None:
    n_opt, n_s = _swalr(nerve, lrs, **kwargs)
    t_opt, t_s = _swalr(torch, lrs, **kwargs)
    history = []
    for step in range(14):
        if step:
            n_opt.step()
            t_opt.step()
            n_s.step()
            t_s.step()
        np.testing.assert_allclose(n_s.get_last_lr(), t_s.get_last_lr(), rtol=1e-14, err_msg=f"step {step}")
        assert [g["lr"] for g in n_opt.param_groups] == n_s.get_last_lr()
        history.append(n_s.get_last_lr())
    assert [g["swa_lr"] for g in n_opt.param_groups] == [g["swa_lr"] for g in t_opt.param_groups]
    np.testing.assert_allclose(history[-1], [g["swa_lr"] for g in n_opt.param_groups], rtol=1e-14)
    if kwargs.get("anneal_epochs", 10) > 1:
        assert history[1] != history[0] != history[-1]


def test_swalr_cosine_closed_form() -> None:
    """From lr0 the cosine schedule is swa + (lr0 - swa)(1 + cos(pi t / T)) / 2 after t steps."""
    _, s = _swalr(nerve, (0.2,), swa_lr=0.02, anneal_epochs=6)
    for t in range(1, 9):
        s.step()
        expected = 0.02 + (0.2 - 0.02) * (1 + math.cos(math.pi * min(t, 6) / 6)) / 2
        assert s.get_last_lr()[0] == pytest.approx(expected, rel=1e-13)


def test_swalr_after_another_scheduler_and_state_dict() -> None:
    """SWALR takes over from the lr another scheduler left (the usual SWA recipe), and resumes from a state dict."""
    def run(lib: Any, switch: int, steps: int) -> tuple[Any, Any, list[float]]:
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=0.4)
        decay = (ExponentialLR if lib is nerve else torch.optim.lr_scheduler.ExponentialLR)(opt, gamma=0.7)
        swa = None
        lrs = []
        for epoch in range(steps):
            opt.step()
            if epoch < switch:
                decay.step()
            else:
                swa = swa or lib.optim.swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=4)
                swa.step()
            lrs.append(opt.param_groups[0]["lr"])
        return opt, swa, lrs

    _, n_swa, n_lrs = run(nerve, 3, 7)
    _, t_swa, t_lrs = run(torch, 3, 7)
    np.testing.assert_allclose(n_lrs, t_lrs, rtol=1e-14)
    saved = n_swa.state_dict()
    assert "optimizer" not in saved and saved["_anneal_strategy"] == "cos"
    opt = optim.SGD([nn.Parameter(np.zeros(2))], lr=n_lrs[-1])
    opt.param_groups[0]["initial_lr"] = 0.4
    resumed = swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=4, anneal_strategy="linear")
    resumed.load_state_dict(saved)
    opt.param_groups[0]["lr"] = n_lrs[-1]
    for _ in range(3):
        opt.step()
        resumed.step()
        t_swa.optimizer.step()
        t_swa.step()
        assert resumed.get_last_lr()[0] == pytest.approx(t_swa.get_last_lr()[0], rel=1e-14)
    assert resumed.get_last_lr()[0] == pytest.approx(0.05, rel=1e-14)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(swa_lr=0.1, anneal_strategy="exp"), ValueError,
     r"^SWALR: anneal_strategy must be 'cos' or 'linear', got 'exp'$"),
    (dict(swa_lr=0.1, anneal_epochs=-1), ValueError, r"^SWALR: anneal_epochs must be an integer >= 0, got -1$"),
    (dict(swa_lr=0.1, anneal_epochs=2.5), ValueError, r"^SWALR: anneal_epochs must be an integer >= 0, got 2\.5$"),
    (dict(swa_lr=[0.1, 0.2]), ValueError, r"^SWALR: expected 1 values of swa_lr, one per parameter group, got 2$"),
])
def test_swalr_bad_arguments(kwargs: dict[str, Any], error: type, match: str) -> None:
    opt = optim.SGD([nn.Parameter(np.zeros(2))], lr=0.1)
    with pytest.raises(error, match=match):
        swa_utils.SWALR(opt, **kwargs)
    assert "swa_lr" not in opt.param_groups[0] and opt.param_groups[0]["lr"] == 0.1
    with pytest.raises(TypeError, match=r"^SWALR: expected a nerve Optimizer, got SGD$"):
        swa_utils.SWALR(torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1), swa_lr=0.1)


def test_exported_names() -> None:
    assert optim.swa_utils is swa_utils
    for name in ("AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
                 "get_ema_avg_fn", "get_swa_avg_fn"):
        assert name in swa_utils.__all__ and hasattr(torch.optim.swa_utils, name)
    for name in ("LBFGS", "Rprop", "ASGD"):
        assert getattr(optim, name).__name__ == name and name in optim.__all__

"""BatchNorm1d/2d, LayerNorm, GroupNorm: parity with torch (train and eval, running statistics), state dicts,
bad input."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from conftest import check_grad, rand

import nerve
from nerve import nn
from nerve.nn import functional as F

TOL32 = dict(rtol=1e-5, atol=1e-5)


def _numpy(t):
    if t is None:
        return None
    return t.data if isinstance(t, nerve.Tensor) else t.detach().numpy()


def _randomise(module: torch.nn.Module, seed: int) -> None:
    """Non-trivial parameters and running statistics, so a copy that drops one of them shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=g) + 0.5)
        for name, b in module.named_buffers():
            if name == "running_mean":
                b.copy_(torch.randn(b.shape, generator=g))
            elif name == "running_var":
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)
            elif name == "num_batches_tracked":
                b.fill_(3)


def _copy(torch_module: torch.nn.Module, nerve_module: nn.Module) -> None:
    nerve_module.load_state_dict({k: v.numpy() for k, v in torch_module.state_dict().items()})


def _step(module, lib, x: np.ndarray, w: np.ndarray):
    """Forward, backward of sum(out * w); returns output, input grad, parameter grads (all as arrays)."""
    for p in module.parameters():
        p.grad = None
    xt = lib.tensor(x.copy(), requires_grad=True)
    out = module(xt)
    (out * lib.tensor(w)).sum().backward()
    return _numpy(out), _numpy(xt.grad), {name: _numpy(p.grad) for name, p in module.named_parameters()}


def _assert_same_step(n_mod, t_mod, x: np.ndarray, seed: int, tol=TOL32) -> None:
    w = rand(*x.shape, seed=seed + 100, low=0.5, high=1.5, dtype=x.dtype)
    n_out, n_gx, n_grads = _step(n_mod, nerve, x, w)
    t_out, t_gx, t_grads = _step(t_mod, torch, x, w)
    assert n_out.shape == t_out.shape and n_out.dtype == t_out.dtype == x.dtype
    np.testing.assert_allclose(n_out, t_out, **tol, err_msg="output")
    np.testing.assert_allclose(n_gx, t_gx, **tol, err_msg="input gradient")
    assert n_grads.keys() == t_grads.keys()
    for name in t_grads:
        assert n_grads[name].dtype == x.dtype
        np.testing.assert_allclose(n_grads[name], t_grads[name], **tol, err_msg=f"gradient of {name}")


def _assert_same_state(n_mod, t_mod, tol=TOL32) -> None:
    n_state, t_state = n_mod.state_dict(), t_mod.state_dict()
    assert list(n_state) == list(t_state)
    for key, value in t_state.items():
        assert n_state[key].shape == tuple(value.shape), key
        assert n_state[key].dtype == value.numpy().dtype, key
        np.testing.assert_allclose(n_state[key].data, value.numpy(), **tol, err_msg=key)


# ---------------------------------------------------------------------------------------------------- batch norm

BN_KWARGS = [
    {},
    {"momentum": None},
    {"momentum": 0.3},
    {"affine": False},
    {"bias": False},
    {"track_running_stats": False},
    {"eps": 1e-2, "momentum": None, "affine": False},
]
BN_INPUTS = [("BatchNorm1d", (8, 5)), ("BatchNorm1d", (4, 5, 7)), ("BatchNorm2d", (4, 5, 3, 6)),
             ("BatchNorm2d", (2, 5, 8, 8))]


@pytest.mark.parametrize("kwargs", BN_KWARGS, ids=str)
@pytest.mark.parametrize(("cls", "shape"), BN_INPUTS, ids=str)
def test_batch_norm_matches_torch_in_train_and_eval(cls, shape, kwargs):
    t_mod = getattr(torch.nn, cls)(5, **kwargs)
    n_mod = getattr(nn, cls)(5, **kwargs)
    _randomise(t_mod, seed=1)
    _copy(t_mod, n_mod)
    for step in range(4):  # several steps: the running statistics (and with momentum=None, the count) evolve
        _assert_same_step(n_mod, t_mod, rand(*shape, seed=step, dtype=np.float32) * 2 + 0.5, seed=step)
        _assert_same_state(n_mod, t_mod)
    n_mod.eval()
    t_mod.eval()
    _assert_same_step(n_mod, t_mod, rand(*shape, seed=9, dtype=np.float32), seed=9)
    _assert_same_state(n_mod, t_mod)


def test_running_stats_follow_the_update_rule():
    bn = nn.BatchNorm1d(2, momentum=0.25)
    xs = [rand(6, 2, seed=s, dtype=np.float32) * (s + 1) + s for s in range(3)]
    mean, var = np.zeros(2), np.ones(2)
    for x in xs:
        bn(nerve.tensor(x))
        mean = 0.75 * mean + 0.25 * x.mean(axis=0)
        var = 0.75 * var + 0.25 * x.var(axis=0, ddof=1)
    np.testing.assert_allclose(bn.running_mean.data, mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, var, rtol=1e-5)
    assert bn.num_batches_tracked.item() == 3


def test_momentum_none_is_the_cumulative_average():
    bn = nn.BatchNorm2d(3, momentum=None)
    xs = [rand(4, 3, 2, 5, seed=s, dtype=np.float32) * (s + 1) + s for s in range(4)]
    for x in xs:
        bn(nerve.tensor(x))
    np.testing.assert_allclose(bn.running_mean.data, np.mean([x.mean(axis=(0, 2, 3)) for x in xs], axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, np.mean([x.var(axis=(0, 2, 3), ddof=1) for x in xs], axis=0),
                               rtol=1e-5)
    assert bn.num_batches_tracked.item() == 4


def test_eval_mode_uses_running_stats_and_leaves_them_alone():
    bn = nn.BatchNorm1d(3)
    bn.running_mean.data[...] = [1.0, -2.0, 0.5]
    bn.running_var.data[...] = [4.0, 0.25, 1.0]
    bn.weight.data[...] = [2.0, 1.0, 0.5]
    bn.eval()
    x = rand(5, 3, seed=1, dtype=np.float32)
    y = bn(nerve.tensor(x)).data
    want = (x - bn.running_mean.data) / np.sqrt(bn.running_var.data + 1e-5) * bn.weight.data
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(bn.running_mean.data, [1.0, -2.0, 0.5])
    assert bn.num_batches_tracked.item() == 0
    # a single sample is fine in eval mode
    assert bn(nerve.tensor(x[:1])).shape == (1, 3)


def test_without_running_stats_batch_stats_are_used_in_eval_too():
    bn = nn.BatchNorm1d(3, track_running_stats=False).eval()
    assert bn.running_mean is None and bn.num_batches_tracked is None
    x = rand(6, 3, seed=2, dtype=np.float32) * 4 + 3
    y = bn(nerve.tensor(x)).data
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=0), 1, rtol=1e-3)
    assert list(bn.state_dict()) == ["weight", "bias"]


def test_switching_off_tracking_after_construction_freezes_the_buffers():
    # as in torch: the buffers still exist, training uses batch statistics without updating them, and eval
    # mode normalises with the frozen buffers
    t_mod, n_mod = torch.nn.BatchNorm2d(3), nn.BatchNorm2d(3)
    _randomise(t_mod, seed=5)
    _copy(t_mod, n_mod)
    t_mod.track_running_stats = n_mod.track_running_stats = False
    frozen = {k: v.data.copy() for k, v in n_mod.state_dict().items()}
    _assert_same_step(n_mod, t_mod, rand(4, 3, 5, 5, seed=1, dtype=np.float32) + 2, seed=1)
    for key, value in n_mod.state_dict().items():
        np.testing.assert_array_equal(value.data, frozen[key], err_msg=key)
    n_mod.eval()
    t_mod.eval()
    _assert_same_step(n_mod, t_mod, rand(4, 3, 5, 5, seed=2, dtype=np.float32), seed=2)


def test_buffers_parameters_and_repr_match_torch():
    for kwargs in BN_KWARGS:
        for cls in ("BatchNorm1d", "BatchNorm2d"):
            n_mod, t_mod = getattr(nn, cls)(4, **kwargs), getattr(torch.nn, cls)(4, **kwargs)
            assert repr(n_mod) == repr(t_mod)
            assert [name for name, _ in n_mod.named_parameters()] == [name for name, _ in t_mod.named_parameters()]
            assert [name for name, _ in n_mod.named_buffers()] == [name for name, _ in t_mod.named_buffers()]
            _assert_same_state(n_mod, t_mod, tol=dict(rtol=0, atol=0))  # initialisation: ones, zeros, 0, 1
    bn = nn.BatchNorm2d(4)
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.shape == ()
    assert bn.running_mean.dtype == np.float32
    assert sum(p.data.size for p in bn.parameters()) == 8


def test_state_dict_round_trip_and_torch_loads_nerve_state():
    n_mod = nn.BatchNorm2d(3, momentum=None)
    for s in range(3):
        n_mod(nerve.tensor(rand(4, 3, 4, 4, seed=s, dtype=np.float32) * 2 + s))
    n_mod.weight.data[...] = [0.5, 1.5, 2.0]
    state = n_mod.state_dict()
    other = nn.BatchNorm2d(3, momentum=None)
    other.load_state_dict(state)
    for key, value in state.items():
        np.testing.assert_array_equal(other.state_dict()[key].data, value.data, err_msg=key)
    x = rand(2, 3, 4, 4, seed=7, dtype=np.float32)
    n_mod.eval()
    other.eval()
    np.testing.assert_array_equal(other(nerve.tensor(x)).data, n_mod(nerve.tensor(x)).data)
    # and the other way round: torch loads nerve's state dict and computes the same
    t_mod = torch.nn.BatchNorm2d(3, momentum=None).eval()
    t_mod.load_state_dict({k: torch.tensor(v.data) for k, v in state.items()})
    assert int(t_mod.num_batches_tracked) == 3
    np.testing.assert_allclose(t_mod(torch.tensor(x)).detach().numpy(), n_mod(nerve.tensor(x)).data, **TOL32)


def test_to_float64_converts_stats_but_not_the_counter():
    bn = nn.BatchNorm1d(3).to(nerve.float64)
    assert bn.running_var.dtype == np.float64 and bn.weight.dtype == np.float64
    assert bn.num_batches_tracked.dtype == np.int64
    t_mod = torch.nn.BatchNorm1d(3).double()
    _randomise(t_mod, seed=3)
    _copy(t_mod, bn)
    for step in range(2):
        _assert_same_step(bn, t_mod, rand(6, 3, 4, seed=step), seed=step, tol=dict(rtol=1e-10, atol=1e-12))
    _assert_same_state(bn, t_mod, tol=dict(rtol=1e-12, atol=1e-12))


def test_batch_norm_errors_name_the_layer_and_the_shapes():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(16\): expected input with 16 channels \(N, 16, H, W\), "
                                         r"got shape \(8, 3, 32, 32\)"):
        nn.BatchNorm2d(16)(nerve.zeros(8, 3, 32, 32))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(16\): expected 4-D input \(N, 16, H, W\), got 3-D input "
                                         r"of shape \(8, 16, 32\)"):
        nn.BatchNorm2d(16)(nerve.zeros(8, 16, 32))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4\): expected 2-D or 3-D input \(N, 4\) or \(N, 4, L\), "
                                         r"got 4-D"):
        nn.BatchNorm1d(4)(nerve.zeros(2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4\): expected input with 4 channels .* got shape \(2, 5\)"):
        nn.BatchNorm1d(4)(nerve.zeros(2, 5))
    bn = nn.BatchNorm1d(4)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4\): expected more than 1 value per channel when training, "
                                         r"got input of shape \(1, 4\)"):
        bn(nerve.zeros(1, 4))
    assert bn.num_batches_tracked.item() == 0  # a rejected batch is not counted
    with pytest.raises(TypeError, match=r"BatchNorm1d\(4\): input of dtype float64"):
        bn(nerve.zeros(3, 4, dtype=nerve.float64))
    with pytest.raises(TypeError, match=r"BatchNorm1d\(4\): expected a Tensor"):
        bn(np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match=re.escape("BatchNorm2d: num_features must be positive, got 0")):
        nn.BatchNorm2d(0)


def test_batch_norm_lets_a_deep_net_train():
    rng = np.random.default_rng(0)
    x = nerve.tensor(rng.normal(3.0, 5.0, size=(64, 10)).astype(np.float32))
    y = nerve.tensor((rng.normal(size=(64, 1)) > 0).astype(np.float32))
    model = nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 1))
    losses = []
    for _ in range(20):
        loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
        model.zero_grad()
        loss.backward()
        with nerve.no_grad():
            for p in model.parameters():
                p.data -= 0.1 * p.grad.data
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.05


# ---------------------------------------------------------------------------------------------------- layer norm

LN_CASES = [
    ((8,), {}, (2, 5, 8)),
    ((3, 4), {}, (2, 3, 4)),
    ((40,), {}, (3, 40)),
    ((6,), {"elementwise_affine": False}, (4, 6)),
    ((6,), {"bias": False}, (2, 2, 6)),
    ((5,), {"eps": 1e-2}, (5,)),
]


@pytest.mark.parametrize(("normalized", "kwargs", "shape"), LN_CASES, ids=str)
def test_layer_norm_matches_torch(normalized, kwargs, shape):
    t_mod, n_mod = torch.nn.LayerNorm(normalized, **kwargs), nn.LayerNorm(normalized, **kwargs)
    assert repr(n_mod) == repr(t_mod)
    _randomise(t_mod, seed=2)
    _copy(t_mod, n_mod)
    _assert_same_state(n_mod, t_mod)
    for mode in ("train", "eval"):  # no running statistics: the same computation in both modes
        getattr(n_mod, mode)()
        getattr(t_mod, mode)()
        _assert_same_step(n_mod, t_mod, rand(*shape, seed=3, dtype=np.float32) * 3 + 1, seed=3)


def test_layer_norm_parameters():
    ln = nn.LayerNorm([3, 4])
    assert ln.normalized_shape == (3, 4) and ln.weight.shape == (3, 4) and ln.bias.shape == (3, 4)
    assert np.all(ln.weight.data == 1) and np.all(ln.bias.data == 0)
    assert list(nn.LayerNorm(4, elementwise_affine=False).state_dict()) == []
    assert list(nn.LayerNorm(4, bias=False).state_dict()) == ["weight"]


def test_layer_norm_errors():
    with pytest.raises(ValueError, match=r"LayerNorm\(\(10,\)\): expected input whose last 1 dim\(s\) are \(10,\), "
                                         r"i\.e\. shape \(\*, 10\), got shape \(4, 8\)"):
        nn.LayerNorm(10)(nerve.zeros(4, 8))
    with pytest.raises(ValueError, match=r"LayerNorm\(\(3, 4\)\).*\(\*, 3, 4\), got shape \(4,\)"):
        nn.LayerNorm((3, 4))(nerve.zeros(4))
    with pytest.raises(TypeError, match=r"LayerNorm\(\(4,\)\): input of dtype float64"):
        nn.LayerNorm(4)(nerve.zeros(2, 4, dtype=nerve.float64))
    with pytest.raises(ValueError, match=re.escape(
        "LayerNorm: normalized_shape must be non-empty and positive, got ()")):
        nn.LayerNorm(())


# ---------------------------------------------------------------------------------------------------- group norm

GN_CASES = [
    ((2, 6), {}, (3, 6, 4, 4)),
    ((3, 6), {"affine": False}, (2, 6, 5)),
    ((1, 4), {}, (3, 4)),
    ((4, 4), {"bias": False}, (2, 4, 3, 3)),
    ((2, 8), {"eps": 1e-3}, (2, 8, 6, 6)),
]


@pytest.mark.parametrize(("args", "kwargs", "shape"), GN_CASES, ids=str)
def test_group_norm_matches_torch(args, kwargs, shape):
    t_mod, n_mod = torch.nn.GroupNorm(*args, **kwargs), nn.GroupNorm(*args, **kwargs)
    assert repr(n_mod) == repr(t_mod)
    _randomise(t_mod, seed=4)
    _copy(t_mod, n_mod)
    _assert_same_state(n_mod, t_mod)
    for mode in ("train", "eval"):
        getattr(n_mod, mode)()
        getattr(t_mod, mode)()
        _assert_same_step(n_mod, t_mod, rand(*shape, seed=5, dtype=np.float32) * 3 - 1, seed=5)


def test_group_norm_errors():
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 6\): expected input with 6 channels \(N, 6, \*\), "
                                         r"got shape \(2, 4, 5\)"):
        nn.GroupNorm(2, 6)(nerve.zeros(2, 4, 5))
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 6\): expected input with 6 channels.*got shape \(6,\)"):
        nn.GroupNorm(2, 6)(nerve.zeros(6))
    with pytest.raises(ValueError, match=re.escape(
        "GroupNorm: num_groups and num_channels must be positive, got 0 and 6")):
        nn.GroupNorm(0, 6)


# ------------------------------------------------------------------------------------------------ instance norm

IN_KWARGS = [{}, {"affine": True}, {"track_running_stats": True}, {"affine": True, "track_running_stats": True},
             {"affine": True, "bias": False}, {"track_running_stats": True, "momentum": None}]


@pytest.mark.parametrize("kwargs", IN_KWARGS, ids=str)
@pytest.mark.parametrize("cls, shape", [("InstanceNorm1d", (4, 3, 7)), ("InstanceNorm1d", (3, 40)),
                                        ("InstanceNorm2d", (2, 3, 5, 4)), ("InstanceNorm2d", (3, 4, 4))], ids=str)
def test_instance_norm_matches_torch_in_train_and_eval(cls, shape, kwargs):
    t_mod = getattr(torch.nn, cls)(3, **kwargs)  # every shape has 3 channels
    _randomise(t_mod, seed=1)
    n_mod = getattr(nn, cls)(t_mod.num_features, **kwargs)
    assert list(n_mod.state_dict()) == list(t_mod.state_dict())
    assert repr(n_mod) == repr(t_mod)
    _copy(t_mod, n_mod)
    for step in range(2):
        _assert_same_step(n_mod, t_mod, rand(*shape, seed=10 + step, dtype=np.float32), seed=step)
        _assert_same_state(n_mod, t_mod)
    n_mod.eval()
    t_mod.eval()
    _assert_same_step(n_mod, t_mod, rand(*shape, seed=20, dtype=np.float32), seed=3)
    _assert_same_state(n_mod, t_mod)


def test_instance_norm_gradcheck_and_functional():
    x, w, b = rand(2, 3, 5, seed=1), rand(3, seed=2), rand(3, seed=3)
    check_grad(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), x, w, b)
    mean, var = rand(3, seed=4), rand(3, seed=5, low=0.5, high=1.5)
    check_grad(lambda x, w, b: F.instance_norm(x, nerve.tensor(mean), nerve.tensor(var), w, b, use_input_stats=False),
          x, w, b)


def test_instance_norm_errors():
    with pytest.raises(ValueError, match=r"^InstanceNorm2d\(3\): expected 4-D or 3-D \(unbatched\) input \(3, H, W\) "
                       r"or \(N, 3, H, W\), got 2-D input of shape \(3, 4\)$"):
        nn.InstanceNorm2d(3)(nerve.ones(3, 4))
    with pytest.raises(ValueError, match=r"^InstanceNorm1d\(3\): expected input with 3 channels"):
        nn.InstanceNorm1d(3, affine=True)(nerve.ones(2, 4, 5))
    with pytest.warns(UserWarning, match=r"does not match num_features"):
        nn.InstanceNorm1d(3)(nerve.randn(2, 4, 5))
    with pytest.raises(ValueError, match=r"^InstanceNorm1d\(3\): expected more than 1 spatial element when training, "
                       r"got input of shape \(2, 3, 1\)$"):
        nn.InstanceNorm1d(3)(nerve.ones(2, 3, 1))
    with pytest.raises(ValueError, match=r"^instance_norm: expected input of shape \(N, C, \*\), got shape \(2, 3\)$"):
        F.instance_norm(nerve.ones(2, 3))


# ---------------------------------------------------------------------------------------------------- RMS norm


@pytest.mark.parametrize("normalized, kwargs, shape", [
    (4, {}, (3, 4)), ((2, 3), {"eps": 1e-3}, (4, 2, 3)), (5, {"elementwise_affine": False}, (2, 3, 5)),
    (6, {"eps": 0.0}, (6,)),
], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rms_norm_matches_torch(normalized, kwargs, shape, dtype):
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    t_mod = torch.nn.RMSNorm(normalized, dtype=tdt, **kwargs)
    _randomise(t_mod, seed=2)
    n_mod = nn.RMSNorm(normalized, dtype=dtype, **kwargs)
    assert list(n_mod.state_dict()) == list(t_mod.state_dict()) and repr(n_mod) == repr(t_mod)
    assert all(np.all(p.data == 1) for p in n_mod.parameters())
    _copy(t_mod, n_mod)
    tol = TOL32 if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    _assert_same_step(n_mod, t_mod, rand(*shape, seed=3, dtype=dtype), seed=4, tol=tol)


def test_rms_norm_gradcheck_and_errors():
    check_grad(lambda x, w: F.rms_norm(x, (3,), w), rand(2, 3, seed=1), rand(3, seed=2))
    check_grad(lambda x: F.rms_norm(x, (2, 3), eps=1e-4), rand(2, 2, 3, seed=1))
    with pytest.raises(ValueError, match=r"^RMSNorm\(\(4,\)\): expected input whose last 1 dim\(s\) are \(4,\), "
                       r"i.e. shape \(\*, 4\), got shape \(2, 3\)$"):
        nn.RMSNorm(4)(nerve.ones(2, 3))
    with pytest.raises(ValueError, match=r"^rms_norm: weight must have shape \(3,\) \(normalized_shape\), got \(2,\)$"):
        F.rms_norm(nerve.ones(2, 3), (3,), nerve.ones(2))
    with pytest.raises(ValueError, match=r"^RMSNorm: normalized_shape must be non-empty and positive, got \(\)$"):
        nn.RMSNorm(())

"""Module: attribute routing, traversal, state dicts, modes, hooks, dtype conversion, repr, copying."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np
import pytest
import torch

import nerve
from nerve import nn


def _tree(lib: Any) -> Any:
    """The same model in nerve or torch: nested containers, a shared layer, buffers (one non-persistent)."""

    class Block(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = lib.nn.Linear(4, 5)
            self.act = lib.nn.Tanh()
            self.register_buffer("running", lib.zeros(5))
            self.register_buffer("scratch", lib.ones(2), persistent=False)
            self.scale = lib.nn.Parameter(lib.ones(5))

        def forward(self, x: Any) -> Any:
            return self.act(self.fc(x)) * self.scale + self.running

    class Net(lib.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = Block()
            self.body = lib.nn.Sequential(lib.nn.Linear(5, 6), lib.nn.ReLU(), lib.nn.Linear(6, 3))
            self.heads = lib.nn.ModuleList([lib.nn.Linear(3, 2), lib.nn.Linear(3, 1, bias=False)])
            self.shared = self.body[0]  # the same Linear reachable under two names

        def forward(self, x: Any) -> Any:
            h = self.body(self.block(x))
            return self.heads[0](h), self.heads[1](h)

    return Net()


def _numpy_state(module: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


# ----------------------------------------------------------------------------------- attribute routing


class TestAttributeRouting:
    def test_parameters_modules_buffers_and_plain_attributes(self) -> None:
        m = nn.Module()
        m.w = nn.Parameter(nerve.ones(3))
        m.sub = nn.Linear(2, 2)
        m.register_buffer("buf", nerve.zeros(2))
        m.plain = nerve.zeros(1)  # a plain Tensor is neither a parameter nor a buffer
        m.n = 3
        assert list(m._parameters) == ["w"]
        assert list(m._modules) == ["sub"]
        assert list(m._buffers) == ["buf"]
        assert "plain" in m.__dict__ and m.n == 3
        assert m.w is m._parameters["w"] and m.sub is m._modules["sub"] and m.buf is m._buffers["buf"]
        assert [n for n, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]
        with pytest.raises(AttributeError, match="missing"):
            _ = m.missing

    def test_assigning_wrong_types_to_registered_names(self) -> None:
        m = nn.Linear(2, 3)
        with pytest.raises(TypeError, match="weight"):
            m.weight = nerve.zeros(3, 2)  # a plain tensor may not replace a Parameter
        m.weight = None  # None is allowed (as in PyTorch) and keeps the slot
        assert "weight" in m._parameters and m.weight is None
        outer = nn.Module()
        outer.child = nn.ReLU()
        with pytest.raises(TypeError, match="child"):
            outer.child = 3
        outer.register_buffer("b", nerve.zeros(1))
        with pytest.raises(TypeError, match="buffer"):
            outer.b = np.zeros(1)
        with pytest.raises(TypeError, match="register_buffer: 'c' must be a Tensor or None, got ndarray"):
            outer.register_buffer("c", np.zeros(1))
        with pytest.raises(KeyError, match=r"buffer name must be a non-empty string without '\.', got 'a\.b'"):
            outer.register_buffer("a.b", nerve.zeros(1))

    def test_reassignment_keeps_registration_order(self) -> None:
        class M(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.a = nn.Linear(1, 1)
                self.b = nn.Linear(1, 1)
                self.p = nn.Parameter(nerve.zeros(1))
                self.q = nn.Parameter(nerve.zeros(1))
                self.register_buffer("x", nerve.zeros(1))
                self.register_buffer("y", nerve.zeros(1))

        class T(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.a = torch.nn.Linear(1, 1)
                self.b = torch.nn.Linear(1, 1)
                self.p = torch.nn.Parameter(torch.zeros(1))
                self.q = torch.nn.Parameter(torch.zeros(1))
                self.register_buffer("x", torch.zeros(1))
                self.register_buffer("y", torch.zeros(1))

        m, t = M(), T()
        for lib, obj in ((nerve, m), (torch, t)):
            obj.a = lib.nn.Linear(1, 1)
            obj.p = lib.nn.Parameter(lib.ones(1))
            obj.x = lib.ones(1)
            obj.register_buffer("x", lib.ones(1))
        assert list(m.state_dict()) == list(t.state_dict())
        assert list(m.state_dict()) == ["p", "q", "x", "y", "a.weight", "a.bias", "b.weight", "b.bias"]

    def test_rebinding_a_name_between_kinds(self) -> None:
        m = nn.Module()
        m.x = nn.Parameter(nerve.zeros(1))
        with pytest.raises(TypeError, match="'x'"):
            m.x = nn.Linear(1, 1)  # as in PyTorch: a parameter slot takes only a Parameter or None
        del m.x
        m.x = nn.Linear(1, 1)
        assert "x" not in m._parameters and isinstance(m.x, nn.Linear)
        m.y = 1
        m.y = nn.Parameter(nerve.zeros(1))  # a plain attribute is replaced by the registration
        assert "y" not in m.__dict__ and m.y is m._parameters["y"]
        del m.x
        assert not hasattr(m, "x")

    def test_parameter_before_init_raises(self) -> None:
        class Bad(nn.Module):
            def __init__(self) -> None:
                self.w = nn.Parameter(nerve.zeros(1))

        with pytest.raises(AttributeError, match="__init__"):
            Bad()

    def test_get_submodule_and_parameter(self) -> None:
        net = _tree(nerve)
        assert net.get_submodule("body.2") is net.body[2]
        assert net.get_parameter("block.fc.weight") is net.block.fc.weight
        with pytest.raises(AttributeError, match="nope"):
            net.get_submodule("body.nope")
        with pytest.raises(AttributeError, match="nope"):
            net.get_parameter("body.0.nope")


# ------------------------------------------------------------------------------------------- traversal


class TestTraversal:
    def test_names_match_torch(self) -> None:
        n, t = _tree(nerve), _tree(torch)
        assert [k for k, _ in n.named_parameters()] == [k for k, _ in t.named_parameters()]
        assert [k for k, _ in n.named_parameters(remove_duplicate=False)] == [
            k for k, _ in t.named_parameters(remove_duplicate=False)
        ]
        assert [k for k, _ in n.named_modules()] == [k for k, _ in t.named_modules()]
        assert [k for k, _ in n.named_children()] == [k for k, _ in t.named_children()]
        assert [k for k, _ in n.named_buffers()] == [k for k, _ in t.named_buffers()]
        assert [k for k, _ in n.block.named_parameters(recurse=False)] == ["scale"]
        assert next(k for k, _ in n.named_parameters(prefix="model")) == "model.block.scale"

    def test_shared_parameters_are_listed_once(self) -> None:
        n, t = _tree(nerve), _tree(torch)
        params = list(n.parameters())
        assert len(params) == len({id(p) for p in params}) == len(list(t.parameters()))
        n_count = sum(p.data.size for p in params)
        assert n_count == sum(p.numel() for p in t.parameters())
        tied = nn.Module()
        tied.enc = nn.Linear(3, 3)
        tied.dec = nn.Linear(3, 3)
        tied.dec.weight = tied.enc.weight
        assert [k for k, _ in tied.named_parameters()] == ["enc.weight", "enc.bias", "dec.bias"]

    def test_children_and_modules(self) -> None:
        net = _tree(nerve)
        assert list(net.children()) == [net.block, net.body, net.heads, net.shared]
        assert list(net.body.children()) == list(net.body)
        modules = list(net.modules())  # 'shared' is body[0]: listed once
        assert modules[0] is net and len(modules) == len({id(m) for m in modules}) == 11


# ------------------------------------------------------------------------------------------ state dicts


class TestStateDict:
    def test_keys_and_order_match_torch(self) -> None:
        n, t = _tree(nerve), _tree(torch)
        assert list(n.state_dict()) == list(t.state_dict())
        assert "block.scratch" not in n.state_dict()  # non-persistent buffer
        assert "block.scratch" in dict(n.named_buffers())
        sd = n.state_dict()
        assert not sd["block.fc.weight"].requires_grad
        assert np.shares_memory(sd["block.fc.weight"].data, n.block.fc.weight.data)
        assert n.state_dict(keep_vars=True)["block.fc.weight"] is n.block.fc.weight
        assert list(n.block.state_dict(prefix="x.")) == ["x.scale", "x.running", "x.fc.weight", "x.fc.bias"]

    def test_load_torch_state_dict_gives_torch_outputs(self) -> None:
        n, t = _tree(nerve), _tree(torch)
        with torch.no_grad():
            t.block.running.uniform_()
            t.block.scale.uniform_()
        result = n.load_state_dict(_numpy_state(t))
        assert result.missing_keys == [] and result.unexpected_keys == []
        x = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
        for a, b in zip(n(nerve.tensor(x)), t(torch.tensor(x))):
            np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-5, atol=1e-6)

    def test_strict_errors_name_every_problem(self) -> None:
        n = _tree(nerve)
        sd = {k: v.data.copy() for k, v in n.state_dict().items()}
        del sd["block.running"]
        sd["extra.weight"] = np.zeros(2)
        sd["body.2.weight"] = np.zeros((3, 7), dtype=np.float32)
        before = {k: v.data.copy() for k, v in n.state_dict().items()}
        sd["block.fc.bias"] = sd["block.fc.bias"] + 1  # a valid entry that must NOT be copied
        with pytest.raises(nn.StateDictError) as info:
            n.load_state_dict(sd)
        msg = str(info.value)
        assert "block.running" in msg and "extra.weight" in msg and "body.2.weight" in msg
        assert "(3, 7)" in msg and "(3, 6)" in msg
        assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)
        for k, v in n.state_dict().items():
            np.testing.assert_array_equal(v.data, before[k], err_msg=f"{k} changed by a failed load")

    def test_shape_mismatch_raises_even_when_not_strict(self) -> None:
        lin = nn.Linear(2, 3)
        before = lin.bias.data.copy()
        with pytest.raises(nn.StateDictError, match=r"weight.*\(3, 4\).*\(3, 2\)"):
            lin.load_state_dict({"weight": np.zeros((3, 4)), "bias": np.ones(3)}, strict=False)
        np.testing.assert_array_equal(lin.bias.data, before)

    def test_non_strict_returns_missing_and_unexpected(self) -> None:
        lin = nn.Linear(2, 3)
        w = np.arange(6, dtype=np.float64).reshape(3, 2)
        missing, unexpected = lin.load_state_dict({"weight": w, "foo": np.zeros(1)}, strict=False)
        assert missing == ["bias"] and unexpected == ["foo"]
        assert lin.weight.dtype == np.float32  # copied in place, converted to the parameter's dtype
        np.testing.assert_array_equal(lin.weight.data, w.astype(np.float32))
        with pytest.raises(TypeError, match="load_state_dict: expected a mapping of names to tensors, got list"):
            lin.load_state_dict([("weight", w)])

    def test_round_trip(self) -> None:
        a, b = _tree(nerve), _tree(nerve)
        a.block.running.data[...] = 3.0
        b.load_state_dict(a.state_dict())
        for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
            assert ka == kb
            np.testing.assert_array_equal(va.data, vb.data)
            assert not np.shares_memory(va.data, vb.data)


# --------------------------------------------------------------------------------- modes, grads, dtypes


def test_train_eval_recursive_and_per_module() -> None:
    net = _tree(nerve)
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.body.train()
    assert net.body.training and net.body[1].training and not net.training and not net.block.training
    with pytest.raises(TypeError, match="train: mode must be a bool, got str"):
        net.train("no")


def test_apply_visits_children_first() -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    seen: list[str] = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]

    def init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)

    net.apply(init)
    assert np.all(net[0].weight.data == 0.5) and np.all(net[1][1].weight.data == 0.5)


def test_zero_grad_and_requires_grad() -> None:
    lin = nn.Linear(3, 2)
    lin(nerve.ones(4, 3)).sum().backward()
    grad = lin.weight.grad
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is grad and not np.any(grad.data)
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None
    assert lin.requires_grad_(False) is lin
    assert not any(p.requires_grad for p in lin.parameters())
    x = nerve.ones(4, 3, requires_grad=True)
    lin(x).sum().backward()
    assert lin.weight.grad is None and x.grad is not None
    lin.requires_grad_()
    assert all(p.requires_grad for p in lin.parameters())


def test_to_float64() -> None:
    net = _tree(nerve)
    net.register_buffer("count", nerve.tensor(np.array(3, dtype=np.int64)))
    x = nerve.tensor(np.ones((2, 4)))
    net(nerve.ones(2, 4))[0].sum().backward()
    assert net.to(nerve.float64) is net
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert all(p.grad is None or p.grad.dtype == np.float64 for p in net.parameters())
    assert net.block.running.dtype == np.float64 and net.count.dtype == np.int64
    assert net.shared.weight is net.body[0].weight
    assert all(o.dtype == np.float64 for o in net(x))
    net.to(dtype=nerve.float32)
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert net.double().block.fc.weight.dtype == np.float64 and net.float().block.fc.weight.dtype == np.float32
    with pytest.raises(ValueError, match="cuda"):
        net.to("cuda")
    with pytest.raises(TypeError, match="floating-point dtypes, got int64"):
        net.to(nerve.int64)
    assert net.to("cpu") is net


# ------------------------------------------------------------------------------------------------- hooks


class TestHooks:
    def test_forward_hook_sees_and_replaces_output(self) -> None:
        lin = nn.Linear(2, 2)
        seen: list[tuple[Any, ...]] = []
        h1 = lin.register_forward_hook(lambda m, args, out: seen.append((m, args, out)))
        h2 = lin.register_forward_hook(lambda m, args, out: out * 2)
        x = nerve.ones(1, 2)
        y = lin(x)
        assert seen[0][0] is lin and seen[0][1][0] is x
        np.testing.assert_allclose(y.data, 2 * seen[0][2].data)
        h2.remove()
        np.testing.assert_allclose(lin(x).data, seen[0][2].data)
        h1.remove()
        h1.remove()  # removing twice is harmless
        lin(x)
        assert len(seen) == 2

    def test_pre_hook_replaces_arguments(self) -> None:
        lin = nn.Linear(2, 2)
        x = nerve.ones(1, 2)
        with lin.register_forward_pre_hook(lambda m, args: args[0] * 0):  # a bare result is wrapped
            np.testing.assert_allclose(lin(x).data, lin.bias.data[None])
        np.testing.assert_allclose(lin(x).data, (lin.weight.data.sum(1) + lin.bias.data)[None], rtol=1e-6)
        expected = lin(x + 1).data
        h = lin.register_forward_pre_hook(lambda m, args: (args[0] + 1,))
        np.testing.assert_allclose(lin(x).data, expected)
        h.remove()
        assert not lin._forward_pre_hooks

    def test_hooks_run_in_registration_order_and_on_submodules(self) -> None:
        net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        order: list[str] = []
        handles = [m.register_forward_hook(lambda m, a, o, i=i: order.append(f"{i}:{tuple(o.shape)}"))
                   for i, m in enumerate(net)]
        net.register_forward_pre_hook(lambda m, a: order.append("pre"))
        net(nerve.ones(5, 2))
        assert order == ["pre", "0:(5, 3)", "1:(5, 3)", "2:(5, 1)"]
        for h in handles:
            h.remove()
        order.clear()
        net(nerve.ones(5, 2))
        assert order == ["pre"]

    def test_gradient_flows_through_modified_output(self) -> None:
        lin = nn.Linear(2, 1)
        lin.register_forward_hook(lambda m, a, o: o * 3)
        lin(nerve.ones(4, 2)).sum().backward()
        np.testing.assert_allclose(lin.bias.grad.data, [12.0])


# ---------------------------------------------------------------------------------------- repr, copies


def test_repr_matches_torch() -> None:
    n = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, bias=False))
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2, bias=False))
    assert repr(n) == repr(t)
    assert repr(_tree(nerve)) == repr(_tree(torch))
    assert repr(nn.Module()) == "Module()"


@pytest.mark.parametrize("copier", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))], ids=["deepcopy", "pickle"])
def test_copy_round_trip(copier: Any) -> None:
    shared = nn.Linear(4, 4)
    net = nn.Sequential(shared, nn.Tanh(), shared, nn.ModuleList([nn.Linear(4, 2)]))
    net.register_buffer("running", nerve.full((4,), 2.0))
    net.register_buffer("scratch", nerve.ones(1), persistent=False)
    net.eval()
    clone = copier(net)
    assert type(clone) is type(net) and not clone.training and not clone[3].training
    assert list(clone.state_dict()) == list(net.state_dict())
    assert "scratch" in dict(clone.named_buffers())
    for (k, a), b in zip(net.state_dict().items(), clone.state_dict().values()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=k)
        assert not np.shares_memory(a.data, b.data)
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in clone.parameters())
    assert clone[0] is clone[2]  # sharing survives the copy
    x = nerve.ones(3, 4)
    np.testing.assert_array_equal(net[:3](x).data, clone[:3](x).data)
    clone[0].weight.data[...] = 0
    assert np.any(net[0].weight.data)

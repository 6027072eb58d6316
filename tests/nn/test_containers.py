"""Containers: Sequential, ModuleList, ModuleDict, ParameterList (PyTorch semantics, checked against torch)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import pytest
import torch

import nerve
from nerve import nn


def _seq(lib: Any) -> Any:
    return lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 4), lib.nn.Tanh())


def _kinds(seq: Any) -> list[str]:
    return [type(m).__name__ for m in seq]


class TestSequential:
    def test_forward_is_composition(self) -> None:
        n, t = _seq(nerve), _seq(torch)
        n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
        x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
        np.testing.assert_allclose(n(nerve.tensor(x)).data, t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
        manual = nerve.tensor(x)
        for m in n:
            manual = m(manual)
        np.testing.assert_array_equal(n(nerve.tensor(x)).data, manual.data)

    def test_index_slice_len(self) -> None:
        s = _seq(nerve)
        assert len(s) == 4 and isinstance(s[0], nn.Linear) and s[-1] is s[3]
        sub = s[1:3]
        assert isinstance(sub, nn.Sequential) and list(sub._modules) == ["1", "2"]
        assert sub[0] is s[1] and sub[1] is s[2]  # the slice shares the modules
        assert _kinds(s[::-1]) == ["Tanh", "Linear", "ReLU", "Linear"]
        with pytest.raises(IndexError, match="4"):
            s[4]
        with pytest.raises(IndexError):
            s[-5]

    @pytest.mark.parametrize("edit", ["append", "insert", "insert_neg", "del", "del_slice", "setitem", "extend"])
    def test_edits_match_torch(self, edit: str) -> None:
        results = []
        for lib in (nerve, torch):
            s = _seq(lib)
            new = lib.nn.Sigmoid()
            if edit == "append":
                assert s.append(new) is s
            elif edit == "insert":
                s.insert(1, new)
            elif edit == "insert_neg":
                s.insert(-1, new)
            elif edit == "del":
                del s[1]
            elif edit == "del_slice":
                del s[0:2]
            elif edit == "setitem":
                s[0] = new
            elif edit == "extend":
                s.extend([new, lib.nn.ReLU()])
            results.append((list(s._modules), _kinds(s), list(s.state_dict())))
        assert results[0] == results[1]

    def test_setitem_keeps_forward_order(self) -> None:
        s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        s[0] = nn.Linear(2, 3)
        assert _kinds(s) == ["Linear", "ReLU", "Linear"]
        assert s(nerve.ones(4, 2)).shape == (4, 1)

    def test_named_construction(self) -> None:
        n = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
        t = torch.nn.Sequential(OrderedDict([("fc", torch.nn.Linear(2, 2)), ("act", torch.nn.ReLU())]))
        assert list(n.state_dict()) == list(t.state_dict()) == ["fc.weight", "fc.bias"]
        assert n.fc is n[0] and repr(n) == repr(t)
        with pytest.raises(TypeError, match="'1' must be a Module or None, got str"):
            nn.Sequential(nn.ReLU(), "not a module")

    def test_bad_edits(self) -> None:
        for lib in (nerve, torch):
            s = _seq(lib)
            with pytest.raises(IndexError):
                s.insert(5, lib.nn.ReLU())
            with pytest.raises(IndexError):
                s.insert(-5, lib.nn.ReLU())
            with pytest.raises(IndexError):
                s[4] = lib.nn.ReLU()
        with pytest.raises(TypeError, match="Module"):
            _seq(nerve).insert(0, "relu")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="Module"):
            nn.ModuleList().insert(0, 3)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="must be a Module or None, got Tensor"):
            nn.ModuleList().append(nerve.zeros(1))  # type: ignore[arg-type]


class TestModuleList:
    def test_registers_and_edits_like_torch(self) -> None:
        results = []
        for lib in (nerve, torch):
            ml = lib.nn.ModuleList([lib.nn.Linear(1, 2), lib.nn.Linear(2, 3)])
            ml.append(lib.nn.Linear(3, 4))
            ml.extend([lib.nn.Linear(4, 5)])
            ml += [lib.nn.Linear(5, 6)]
            ml.insert(1, lib.nn.Linear(9, 9))
            del ml[0]
            ml[1] = lib.nn.Linear(7, 7)
            results.append((len(ml), list(ml.state_dict()), [m.in_features for m in ml],
                            [m.in_features for m in ml[1:3]]))
        assert results[0] == results[1]
        assert results[0][2] == [9, 7, 3, 4, 5]

    def test_parameters_visible_to_parent(self) -> None:
        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.layers = nn.ModuleList(nn.Linear(3, 3) for _ in range(3))
                self.hidden = [nn.Linear(3, 3)]  # a plain list hides its modules, as in PyTorch

        net = Net()
        assert len(list(net.parameters())) == 6
        assert [k for k, _ in net.named_parameters()][:2] == ["layers.0.weight", "layers.0.bias"]
        assert net.layers[-1] is net.layers[2]
        with pytest.raises(IndexError):
            net.layers[3]
        with pytest.raises(NotImplementedError):
            net.layers(nerve.ones(1, 3))


class TestModuleDict:
    def test_mapping_interface(self) -> None:
        results = []
        for lib in (nerve, torch):
            md = lib.nn.ModuleDict({"b": lib.nn.Linear(1, 1), "a": lib.nn.ReLU()})
            md["c"] = lib.nn.Linear(2, 2)
            md.update([("d", lib.nn.Tanh())])
            md["b"] = lib.nn.Linear(3, 3)  # replacing keeps the position
            popped = md.pop("a")
            del md["d"]
            results.append((list(md), list(md.keys()), [type(v).__name__ for v in md.values()],
                            [k for k, _ in md.items()], "c" in md, "a" in md, len(md), list(md.state_dict()),
                            type(popped).__name__, md["b"].in_features))
        assert results[0] == results[1]
        assert results[0][0] == ["b", "c"]
        with pytest.raises(KeyError):
            nn.ModuleDict()["missing"]

    def test_from_another_module_dict_and_clear(self) -> None:
        first = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
        second = nn.ModuleDict(first)
        assert list(second) == ["a", "b"] and second["a"] is first["a"]
        second.clear()
        assert len(second) == 0 and list(second.parameters()) == [] and len(first) == 2


class TestParameterList:
    def test_append_index_iterate(self) -> None:
        pl = nn.ParameterList([nn.Parameter(nerve.zeros(2)), nerve.ones(3)])
        pl.append(nn.Parameter(nerve.zeros(1)))
        assert len(pl) == 3 and all(isinstance(p, nn.Parameter) for p in pl)
        assert pl[1].shape == (3,) and pl[-1] is pl[2] and pl[1].requires_grad
        with pytest.raises(IndexError):
            pl[3]
        holder = nn.Module()
        holder.plist = pl
        t_holder = torch.nn.Module()
        t_holder.plist = torch.nn.ParameterList([torch.zeros(2), torch.ones(3), torch.zeros(1)])
        assert [k for k, _ in holder.named_parameters()] == [k for k, _ in t_holder.named_parameters()]
        assert list(holder.state_dict()) == list(t_holder.state_dict())
        (pl[0].sum() + pl[1].sum() * 2).backward()
        np.testing.assert_array_equal(pl[1].grad.data, [2.0, 2.0, 2.0])

    def test_extend_and_setitem_like_torch(self) -> None:
        shapes = []
        for lib in (nerve, torch):
            pl = lib.nn.ParameterList([lib.nn.Parameter(lib.zeros(1))])
            pl.extend([lib.nn.Parameter(lib.zeros(2)), lib.ones(3)])
            pl[0] = lib.nn.Parameter(lib.ones(4))
            pl[-1] = lib.zeros(5)
            shapes.append([tuple(p.shape) for p in pl])
            assert all(isinstance(p, lib.nn.Parameter) for p in pl)
        assert shapes[0] == shapes[1] == [(4,), (2,), (5,)]


class TestParameterDict:
    def test_registers_and_edits_like_torch(self) -> None:
        values = {"b": np.ones(2, np.float32), "a": np.zeros((2, 3), np.float32)}
        n = nn.ParameterDict({k: nn.Parameter(nerve.tensor(v)) for k, v in values.items()})
        t = torch.nn.ParameterDict({k: torch.nn.Parameter(torch.tensor(v)) for k, v in values.items()})
        n["c"] = nerve.full((4,), 2.0)  # a plain tensor is wrapped in a Parameter, as in torch
        t["c"] = torch.full((4,), 2.0)
        assert isinstance(n["c"], nn.Parameter) and n["c"].requires_grad
        assert list(n.state_dict()) == list(t.state_dict()) == ["a", "b", "c"]  # a plain dict is added sorted
        del n["b"]
        del t["b"]
        n.update([("d", nerve.ones(1))])
        t.update([("d", torch.ones(1))])
        assert list(n.keys()) == list(t.keys()) and len(n) == len(t) == 3
        assert "a" in n and "b" not in n and n.get("b") is None
        assert list(n) == list(n.keys()) and [p.shape for p in n.values()] == [tuple(p.shape) for p in t.values()]
        assert n.pop("d").shape == (1,) and len(n) == 2

    def test_parameters_visible_to_parent_and_load(self) -> None:
        class Scales(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.scales = nn.ParameterDict({"x": nerve.ones(3)})

            def forward(self, x: nerve.Tensor) -> nerve.Tensor:
                return x * self.scales["x"]

        model = Scales()
        assert [name for name, _ in model.named_parameters()] == ["scales.x"]
        model.load_state_dict({"scales.x": np.array([1.0, 2.0, 3.0], np.float32)})
        model(nerve.ones(3)).sum().backward()
        np.testing.assert_array_equal(model.scales["x"].grad.data, np.ones(3))
        model.scales.clear()
        assert len(model.scales) == 0 and list(model.parameters()) == []

    def test_bad_keys(self) -> None:
        with pytest.raises(TypeError, match=r"^ParameterDict: keys must be strings, got int$"):
            nn.ParameterDict()[0] = nerve.ones(1)  # type: ignore[index]
        with pytest.raises(NotImplementedError, match=r"^ParameterDict has no forward\(\)"):
            nn.ParameterDict()()

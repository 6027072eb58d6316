"""``benchmarks.breakdown``: the per-op clocks count every primitive call and leave nerve as they found it."""

from __future__ import annotations

import numpy as np

import nerve
import nerve.nn as nn
from benchmarks.breakdown import _subclasses, nerve_breakdown, torch_breakdown
from nerve.autograd.function import Function


def _methods() -> dict[tuple[type, str], object]:
    classes = set(_subclasses(Function))
    return {(c, m): c.__dict__[m] for c in classes for m in ("forward", "backward") if m in c.__dict__}


def test_nerve_breakdown_counts_each_primitive_per_step_and_restores_the_methods():
    before = _methods()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    x = nerve.tensor(np.ones((3, 4), dtype=np.float32))

    def step() -> None:
        model.zero_grad()
        model(x).sum().backward()

    step_ms, rows = nerve_breakdown(step, 4)
    calls = {name: n for name, _, n in rows}
    assert calls["Linear.forward"] == 2 and calls["Linear.backward"] == 2
    assert calls["ReLU.forward"] == 1 and calls["ReLU.backward"] == 1
    assert all(ms >= 0 for _, ms, _ in rows)
    assert sum(ms for _, ms, _ in rows) <= step_ms
    assert _methods() == before


def test_torch_breakdown_reports_aten_ops_per_step():
    import torch

    model = torch.nn.Linear(4, 2)
    x = torch.ones(3, 4)

    def step() -> None:
        model.zero_grad()
        model(x).sum().backward()

    step_ms, rows = torch_breakdown(step, 3)
    calls = {name: n for name, _, n in rows}
    assert calls.get("aten::addmm") == 1
    assert step_ms > 0

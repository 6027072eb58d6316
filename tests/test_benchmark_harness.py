"""``benchmarks.harness``: side-by-side timing waits before every block for the other framework's threads."""

from __future__ import annotations

import pytest

from benchmarks import harness
from benchmarks.workloads import WORKLOADS


def test_every_timed_block_starts_after_a_settle_pause(monkeypatch: pytest.MonkeyPatch):
    """Each block of steps must be preceded by ``settle``: idle BLAS/OpenMP workers of the framework that ran
    before keep spinning on the other core and would slow the first ~0.1 s of the block."""
    events: list[str] = []
    monkeypatch.setattr(harness, "settle", lambda: events.append("settle"))
    frameworks = {name: harness.load_framework(name) for name in harness.FRAMEWORKS}
    make_step = harness.make_step

    def recording_make_step(fw, w, model, x, y):  # logs which framework's step runs, in order
        step = make_step(fw, w, model, x, y)
        return lambda: (events.append(fw.name), step())[1]

    monkeypatch.setattr(harness, "make_step", recording_make_step)
    timing = harness.time_side_by_side(WORKLOADS["W6"], frameworks, steps=2, warmup=1, repeat=2)
    assert {name: len(t) for name, t in timing.samples_ms.items()} == {"nerve": 4, "torch": 4}
    timed = events[events.index("settle"):]  # after the first-step comparison and the warm-up
    blocks = "".join("|" if e == "settle" else e[0] for e in timed)
    assert blocks == "|nn|tt|tt|nn"

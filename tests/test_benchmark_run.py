"""``benchmarks.run``: per-block medians, and the warning when a slow period overlapped a workload's run."""

from __future__ import annotations

from benchmarks.run import BLOCK_SPREAD_WARNING, block_medians, slow_period_warnings


def test_block_medians_take_each_block_of_steps_separately():
    samples = [1.0, 2.0, 9.0, 5.0, 4.0, 6.0, 80.0, 81.0, 79.0]  # three blocks of three steps
    assert block_medians(samples, steps=3) == [2.0, 5.0, 80.0]


def test_a_spread_of_block_medians_warns_for_that_workload_and_framework_only():
    quiet = {"workload": "W2", "nerve_block_median_ms": [6.1, 6.3, 6.2], "torch_block_median_ms": [3.8, 3.9]}
    slow = {"workload": "W3", "nerve_block_median_ms": [81.0, 144.0, 80.0], "torch_block_median_ms": [48.0, 51.0]}
    failed = {"workload": "W5"}  # timing failed: no block medians at all
    lines = slow_period_warnings([quiet, slow, failed])
    assert len(lines) == 1 and lines[0].startswith("WARNING: W3: nerve's block medians range from 80 to 144 ms")
    edge = {"workload": "W1", "nerve_block_median_ms": [10.0, 10.0 * BLOCK_SPREAD_WARNING],
            "torch_block_median_ms": [1.0]}
    assert slow_period_warnings([edge]) == []  # the threshold itself does not warn

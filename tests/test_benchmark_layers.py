"""``benchmarks.layers``: the layer list a workload's forward pass produces, and one side-by-side timing row."""

from __future__ import annotations

import numpy as np

import nerve
from benchmarks import harness
from benchmarks.layers import Layer, record_layers, time_layer
from benchmarks.workloads import WORKLOADS


def test_record_layers_lists_every_conv_and_linear_call_of_resnet8_in_order():
    fw = harness.load_framework("nerve")
    model = harness.build_model(fw, WORKLOADS["W3"])
    x = nerve.from_numpy(np.zeros((2, 3, 32, 32), dtype=np.float32))
    layers = record_layers(fw, model, x)
    convs = [layer for layer in layers if layer.kind == "Conv2d"]
    assert len(convs) == 9 and layers[-1] == Layer("Linear", (64, 10), True, (2, 64), True)
    # the stem sees the (gradient-free) input; stage 2 opens with a 3x3 stride-2 conv and a 1x1 shortcut
    assert convs[0] == Layer("Conv2d", (3, 16, 3, 3, 1, 1, 1, 1, 1), False, (2, 3, 32, 32), False)
    assert {c.args for c in convs if c.input_shape == (2, 16, 32, 32)} == {
        (16, 16, 3, 3, 1, 1, 1, 1, 1), (16, 32, 3, 3, 2, 2, 1, 1, 1), (16, 32, 1, 1, 2, 2, 0, 0, 1)}
    assert all(c.input_grad for c in convs[1:])
    assert all(not m._forward_hooks for m in model.modules())  # hooks removed


def test_layer_flops_count_the_input_gradient_only_where_needed():
    conv = Layer("Conv2d", (16, 32, 3, 3, 1, 1, 1, 1, 1), False, (4, 16, 8, 8), True)
    forward = 2 * 16 * 9 * 4 * 32 * 8 * 8
    assert conv.flops((4, 32, 8, 8)) == 3 * forward
    stem = Layer("Conv2d", (16, 32, 3, 3, 1, 1, 1, 1, 1), False, (4, 16, 8, 8), False)
    assert stem.flops((4, 32, 8, 8)) == 2 * forward
    assert Layer("Linear", (5, 7), True, (3, 5), True).flops((3, 7)) == 3 * 2 * 5 * 7 * 3
    assert conv.describe() == "Conv 16->32 3x3 s1 p1 @8x8"


def test_time_layer_reports_both_frameworks_on_the_same_layer():
    frameworks = {name: harness.load_framework(name) for name in harness.FRAMEWORKS}
    layer = Layer("Conv2d", (4, 6, 3, 3, 2, 2, 1, 1, 2), True, (2, 4, 9, 9), True)
    row = time_layer(layer, frameworks, repeat=2, calls=1)
    assert row["nerve_ms"] > 0 and row["torch_ms"] > 0
    assert np.isclose(row["ratio"], row["nerve_ms"] / row["torch_ms"])

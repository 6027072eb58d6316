import pytest

import nerve
from nerve import nn
from nerve.analysis import summary


def test_summary_records_output_shapes_and_parameter_counts():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.ReLU(), nn.Sequential(nn.Linear(5, 2)))
    model[1].bias.requires_grad = False
    s = summary(model, nerve.zeros(3, 3, 4))
    assert [(layer.name, layer.kind, layer.output_shape, layer.params) for layer in s.layers] == [
        ("0", "Flatten", (3, 12), 0), ("1", "Linear", (3, 5), 65), ("2", "ReLU", (3, 5), 0),
        ("3.0", "Linear", (3, 2), 12)]
    assert s.total_params == sum(p.numel() for p in model.parameters()) == 77
    assert s.trainable_params == 72
    text = str(s)
    assert "77 parameters (72 trainable" in text and "[3, 12]" in text


def test_summary_leaves_the_model_as_it_was():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.train()
    summary(model, nerve.zeros(1, 2))
    assert model.training and not model[0]._forward_hooks


def test_summary_rejects_non_modules():
    with pytest.raises(TypeError, match=r"summary: expected a nerve\.nn\.Module, got function"):
        summary(lambda x: x, nerve.zeros(1))

"""``summary(model, x)``: every layer's output shape and parameter count, from one forward pass.

Built on forward hooks (nothing inside the core knows about it): a hook on each leaf module records the
shape it produced while ``x`` flows through the model under ``no_grad``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nerve.autograd.grad_mode import no_grad
from nerve.nn.modules.module import Module
from nerve.tensor import Tensor


@dataclass
class LayerInfo:
    name: str  # dotted path in the model, as in ``named_modules``
    kind: str  # the module's class name
    output_shape: tuple[int, ...] | None
    params: int  # parameters owned directly by this module
    trainable: int


@dataclass
class ModelSummary:
    layers: list[LayerInfo] = field(default_factory=list)
    input_shape: tuple[int, ...] = ()

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def trainable_params(self) -> int:
        return sum(layer.trainable for layer in self.layers)

    def __str__(self) -> str:
        rows = [(layer.name, layer.kind, str(list(layer.output_shape)) if layer.output_shape else "-",
                 f"{layer.params:,}") for layer in self.layers]
        header = ("layer", "type", "output shape", "params")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        line = "  ".join(f"{{:<{w}}}" if i < 3 else f"{{:>{w}}}" for i, w in enumerate(widths))
        rule = "-" * (sum(widths) + 6)
        body = [line.format(*header), rule, *(line.format(*r) for r in rows), rule]
        size_mb = self.total_params * 4 / 2**20
        body.append(f"input {list(self.input_shape)}; {self.total_params:,} parameters "
                    f"({self.trainable_params:,} trainable, {size_mb:.2f} MB as float32)")
        return "\n".join(body)


def summary(model: Module, x: Tensor | np.ndarray) -> ModelSummary:
    """Run ``model`` on ``x`` (a batch) and record each leaf module's output shape and parameters.

    Example:
        >>> print(summary(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), nerve.zeros(1, 4)))
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: expected a nerve.nn.Module, got {type(model).__name__}")
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    out = ModelSummary(input_shape=tuple(x.shape))
    handles = []
    for name, module in model.named_modules():
        is_leaf = not any(True for _ in module.children())
        if not is_leaf and not any(True for _ in module.parameters(recurse=False)):
            continue
        own = list(module.parameters(recurse=False))
        info = LayerInfo(name or type(module).__name__, type(module).__name__, None,
                         sum(p.numel() for p in own), sum(p.numel() for p in own if p.requires_grad))
        out.layers.append(info)

        def record(mod: Module, args: Any, output: Any, info: LayerInfo = info) -> None:
            if isinstance(output, Tensor):
                info.output_shape = tuple(output.shape)

        handles.append(module.register_forward_hook(record))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return out

"""``attention_maps(model, *inputs)``: every attention layer's per-head weights from one forward pass.

Each :class:`~nerve.nn.MultiheadAttention` can keep the probabilities its heads computed (the softmax of
the scaled scores, before dropout). This switches that on for every one of them, runs the model once in
evaluation mode under ``no_grad`` and collects the maps, so a transformer's attention can be plotted or
rolled out without changing the model's code.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nerve.autograd.grad_mode import no_grad
from nerve.nn.modules.attention import MultiheadAttention
from nerve.nn.modules.module import Module


def attention_maps(model: Module, *inputs: Any, **kwargs: Any) -> dict[str, np.ndarray]:
    """Run ``model(*inputs, **kwargs)`` and return each attention layer's weights by module name.

    Returns:
        ``{name: probs}`` in forward order, where ``name`` is the layer's dotted path in the model and
        ``probs`` has shape (N, heads, L, S) (batched inputs) — or (1, heads, L, S) for an unbatched one.
        Row ``[n, h, i]`` is how query position ``i`` of sample ``n`` distributes head ``h``'s attention over
        the S keys; it sums to 1 (0 for a query whose keys are all masked).
    """
    layers = {name: m for name, m in model.named_modules() if isinstance(m, MultiheadAttention)}
    if not layers:
        raise ValueError(f"attention_maps: {type(model).__name__} has no MultiheadAttention layers")
    modes = {m: m.training for m in model.modules()}  # each submodule's own mode, restored afterwards
    order: list[str] = []
    hooks = [m.register_forward_hook(lambda m, args, out, name=name: order.append(name)) for name, m in layers.items()]
    for m in layers.values():
        m.capture_attention, m.last_attention = True, None
    try:
        model.eval()
        with no_grad():
            model(*inputs, **kwargs)
        return {name: layers[name].last_attention for name in dict.fromkeys(order)}
    finally:
        for hook in hooks:
            hook.remove()
        for m in layers.values():
            m.capture_attention, m.last_attention = False, None
        for m, training in modes.items():
            m.training = training

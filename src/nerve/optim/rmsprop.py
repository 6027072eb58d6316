"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from nerve.optim.optimizer import Optimizer, ParamsT


class RMSprop(Optimizer):
    r"""RMSprop (Hinton), optionally centred and with momentum.

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda \theta \\
        s &\leftarrow \alpha s + (1 - \alpha) g^2 \\
        \bar g &\leftarrow \alpha \bar g + (1 - \alpha) g \quad\text{(centered: } s \leftarrow s - \bar g^2)\\
        b &\leftarrow \mu b + g / (\sqrt{s} + \epsilon), \quad \theta \leftarrow \theta - \eta b
        \quad\text{(without momentum: } \theta \leftarrow \theta - \eta g / (\sqrt{s} + \epsilon))

    Args:
        lr: learning rate (default 1e-2). alpha: smoothing constant (default 0.99). eps: default 1e-8.
        weight_decay: L2 penalty (default 0). momentum: default 0. centered: normalise by the variance.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        if not 0.0 <= alpha:
            raise ValueError(f"RMSprop: invalid alpha {alpha} (must be >= 0)")
        if eps < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(
                f"RMSprop: eps, momentum and weight_decay must be >= 0, got {eps}, {momentum}, {weight_decay}"
            )
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        names = ("square_avg",)
        if group["momentum"] > 0:
            names += ("momentum_buffer",)
        if group["centered"]:
            names += ("grad_avg",)
        return names

    def _update(self, group: dict[str, Any], param: np.ndarray, grad: np.ndarray,
                state: dict[str, np.ndarray], step: int, tmp: np.ndarray) -> None:
        lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if wd:
            grad = grad + wd * param
        sq = state["square_avg"]
        sq *= alpha
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - alpha
        sq += tmp
        if group["centered"]:
            ga = state["grad_avg"]
            np.subtract(grad, ga, out=tmp)
            tmp *= 1 - alpha
            ga += tmp
            np.multiply(ga, ga, out=tmp)
            np.subtract(sq, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(sq, out=tmp)
        tmp += eps
        np.divide(grad, tmp, out=tmp)  # g / (sqrt(s) + eps)
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += tmp
            np.multiply(buf, lr, out=tmp)
        else:
            tmp *= lr
        param -= tmp

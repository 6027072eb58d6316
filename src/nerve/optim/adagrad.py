"""Adagrad: per-parameter step sizes shrinking with the accumulated squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from nerve.optim.optimizer import Optimizer, ParamsT


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al.).

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda \theta, \qquad
        \tilde\eta = \eta / (1 + (t - 1) \delta) \\
        s &\leftarrow s + g^2, \qquad
        \theta \leftarrow \theta - \tilde\eta \, g / (\sqrt{s} + \epsilon)

    Args:
        lr: learning rate :math:`\eta` (default 1e-2). lr_decay: :math:`\delta` (default 0).
        weight_decay: :math:`\lambda` (default 0). initial_accumulator_value: starting :math:`s` (default 0).
        eps: default 1e-10.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *, maximize: bool = False) -> None:
        if lr_decay < 0 or weight_decay < 0 or initial_accumulator_value < 0 or eps < 0:
            raise ValueError(
                "Adagrad: lr_decay, weight_decay, initial_accumulator_value and eps must be >= 0, got "
                f"lr_decay={lr_decay}, weight_decay={weight_decay}, "
                f"initial_accumulator_value={initial_accumulator_value}, eps={eps}"
            )
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      maximize=maximize))

    def _eager_state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("sum",)  # PyTorch creates the accumulator at construction

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("sum",)

    def _initial_state(self, group: dict[str, Any], name: str) -> float:
        return group["initial_accumulator_value"]

    def _update(self, group: dict[str, Any], param: np.ndarray, grad: np.ndarray,
                state: dict[str, np.ndarray], step: int, tmp: np.ndarray) -> None:
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        s = state["sum"]
        np.multiply(grad, grad, out=tmp)
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += group["eps"]
        np.divide(grad, tmp, out=tmp)
        tmp *= clr
        param -= tmp

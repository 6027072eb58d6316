"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from nerve.optim.optimizer import Optimizer, ParamsT


class SGD(Optimizer):
    r"""Gradient descent: step against the gradient, optionally with momentum.

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda \theta \\
        b &\leftarrow \mu b + (1 - \tau) g \quad (b = g \text{ on the first step}) \\
        g &\leftarrow g + \mu b \text{ (nesterov) or } b \\
        \theta &\leftarrow \theta - \eta g

    Batch, mini-batch or stochastic gradient descent is decided by how many samples the loss averages
    over, not by the optimizer.

    Args:
        params: parameters or parameter groups.
        lr: learning rate :math:`\eta` (default 1e-3).
        momentum: momentum factor :math:`\mu` (default 0).
        dampening: dampening :math:`\tau` of momentum (default 0).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        nesterov: Nesterov momentum (needs momentum > 0 and zero dampening).
        maximize: ascend instead of descend.
    """

    _counts_steps = False

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False) -> None:
        self._check_options(momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum requires momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("momentum_buffer",) if group["momentum"] else ()

    def _update(self, group: dict[str, Any], param: np.ndarray, grad: np.ndarray,
                state: dict[str, np.ndarray], step: int, tmp: np.ndarray) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if wd:
            grad = grad + wd * param
        if momentum:
            buf = state["momentum_buffer"]
            if step == 1:
                buf[...] = grad
            else:
                buf *= momentum
                if group["dampening"]:
                    np.multiply(grad, 1 - group["dampening"], out=tmp)
                    buf += tmp
                else:
                    buf += grad
            if group["nesterov"]:
                np.multiply(buf, momentum, out=tmp)
                tmp += grad
                grad = tmp
            else:
                grad = buf
        np.multiply(grad, lr, out=tmp)
        param -= tmp

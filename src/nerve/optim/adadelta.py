"""Adadelta: step sizes from the ratio of running RMS of past updates to running RMS of gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from nerve.optim.optimizer import Optimizer, ParamsT


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012).

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda \theta \\
        s &\leftarrow \rho s + (1 - \rho) g^2, \qquad
        \Delta = \frac{\sqrt{a + \epsilon}}{\sqrt{s + \epsilon}} g \\
        a &\leftarrow \rho a + (1 - \rho) \Delta^2, \qquad \theta \leftarrow \theta - \eta \Delta

    Args:
        params: parameters, named parameters or parameter groups.
        lr: scale :math:`\eta` of the update (default 1.0).
        rho: decay :math:`\rho` of both running averages (default 0.9).
        eps: :math:`\epsilon` (default 1e-6).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        maximize: ascend instead of descend.

    Example::

        >>> opt = Adadelta(model.parameters(), rho=0.95)
    """

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: invalid rho {rho} (must be in [0, 1])")
        self._check_options(eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("square_avg", "acc_delta")

    def _update(self, group: dict[str, Any], param: np.ndarray, grad: np.ndarray,
                state: dict[str, np.ndarray], step: int, tmp: np.ndarray) -> None:
        lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if wd:
            grad = grad + wd * param
        s, a = state["square_avg"], state["acc_delta"]
        s *= rho
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - rho
        s += tmp
        delta = np.sqrt(a + eps)  # NOTE: a second temporary; tmp holds sqrt(s + eps)
        np.add(s, eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        delta /= tmp
        delta *= grad
        a *= rho
        np.multiply(delta, delta, out=tmp)
        tmp *= 1 - rho
        a += tmp
        delta *= lr
        param -= delta

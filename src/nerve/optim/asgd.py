"""ASGD: SGD with a decaying step size that also keeps a running average of the iterates (Polyak averaging)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nerve.optim.optimizer import Optimizer, ParamsT


class ASGD(Optimizer):
    r"""Averaged stochastic gradient descent (Polyak & Juditsky, 1992), as PyTorch implements it.

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda_{wd} \theta \\
        \theta &\leftarrow \theta (1 - \lambda \eta_{t-1}) - \eta_{t-1} g \\
        \bar\theta &\leftarrow \bar\theta + \mu_{t-1} (\theta - \bar\theta) \quad
            (\bar\theta = \theta \text{ while } \mu_{t-1} = 1) \\
        \eta_t &= \frac{\text{lr}}{(1 + \lambda \, \text{lr} \, t)^{\alpha}}, \qquad
        \mu_t = \frac{1}{\max(1, t - t_0)}

    with :math:`\eta_0 = \text{lr}` and :math:`\mu_0 = 1`. The parameters follow the SGD iterates; the average
    :math:`\bar\theta` is kept in the state as ``ax`` (copy it into the model to evaluate the averaged
    weights). :math:`\eta` and :math:`\mu` are float32 per-parameter scalars, as PyTorch keeps them.

    Args:
        params: parameters, named parameters or parameter groups.
        lr: learning rate (default 1e-2).
        lambd: decay term :math:`\lambda` (default 1e-4).
        alpha: power :math:`\alpha` of the step-size decay (default 0.75).
        t0: step at which averaging starts (default 1e6).
        weight_decay: L2 penalty :math:`\lambda_{wd}` (default 0).
        maximize: ascend instead of descend.

    Example::

        >>> opt = ASGD(model.parameters(), lr=1e-2, t0=100)
    """

    _scalar_state: ClassVar[dict[str, float]] = {"eta": 0.0, "mu": 1.0}

    def __init__(self, params: ParamsT, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        self._check_options(weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      maximize=maximize))

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("ax",)

    def _update(self, group: dict[str, Any], param: np.ndarray, grad: np.ndarray,
                state: dict[str, np.ndarray], step: int, tmp: np.ndarray) -> None:
        lr, lambd, alpha, t0, wd = group["lr"], group["lambd"], group["alpha"], group["t0"], group["weight_decay"]
        eta, mu, ax = state["eta"], state["mu"], state["ax"]
        if step == 1:  # NOTE: as PyTorch, eta starts at the lr of the parameter's first step
            eta[...] = lr
        if group["maximize"]:
            grad = -grad
        if wd:
            grad = grad + wd * param
        eta_value = float(eta)
        param *= 1 - lambd * eta_value
        np.multiply(grad, eta_value, out=tmp)
        param -= tmp
        if float(mu) != 1:
            np.subtract(param, ax, out=tmp)
            tmp *= float(mu)
            ax += tmp
        else:
            np.copyto(ax, param)
        eta[...] = lr / (1 + lambd * lr * step) ** alpha
        mu[...] = 1 / max(1, step - t0)

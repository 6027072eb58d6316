"""Adamax: Adam with the infinity norm of past gradients in place of their root mean square."""

from __future__ import annotations

from typing import Any

import numpy as np

from nerve.optim.adam import decayed_gradient
from nerve.optim.optimizer import Optimizer, ParamsT


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, section 7.1).

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda \theta \\
        m &\leftarrow \beta_1 m + (1 - \beta_1) g, \qquad u \leftarrow \max(\beta_2 u, |g| + \epsilon) \\
        \theta &\leftarrow \theta - \frac{\eta}{1 - \beta_1^t} \frac{m}{u}

    Args:
        params: parameters, named parameters or parameter groups.
        lr: learning rate :math:`\eta` (default 2e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: L2 penalty :math:`\lambda` added to the gradient (default 0).
        maximize: ascend instead of descend.

    Example::

        >>> opt = Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        self._check_options(betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_inf")

    def _update(self, group: dict[str, Any], param: np.ndarray, grad: np.ndarray,
                state: dict[str, np.ndarray], step: int, tmp: np.ndarray) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        grad = decayed_gradient(group, param, grad, decoupled=False)
        m, u = state["exp_avg"], state["exp_inf"]
        np.subtract(grad, m, out=tmp)
        tmp *= 1 - beta1
        m += tmp
        u *= beta2
        np.abs(grad, out=tmp)
        tmp += eps
        np.maximum(u, tmp, out=u)
        np.divide(m, u, out=tmp)
        tmp *= lr / (1 - beta1**step)
        param -= tmp

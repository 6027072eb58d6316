"""RAdam: Adam with the variance of its adaptive step size rectified in the first steps."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nerve.optim.adam import decayed_gradient, update_moments
from nerve.optim.optimizer import Optimizer, ParamsT


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2019): plain momentum SGD until the second-moment estimate is reliable, then Adam
    scaled by a rectification term :math:`r_t`.

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda \theta
            \quad (\text{decoupled: } \theta \leftarrow \theta (1 - \eta\lambda)) \\
        m &\leftarrow \beta_1 m + (1 - \beta_1) g, \qquad v \leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
        \rho_\infty &= \frac{2}{1 - \beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t} \\
        \theta &\leftarrow \theta - \frac{\eta \, m}{1 - \beta_1^t} \cdot
        \begin{cases} r_t \sqrt{1 - \beta_2^t} / (\sqrt{v} + \epsilon) & \rho_t > 5 \\ 1 & \text{otherwise}
        \end{cases}, \qquad
        r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}}

    Args:
        params: parameters, named parameters or parameter groups.
        lr: learning rate :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda` (default 0).
        decoupled_weight_decay: decay the weights as AdamW does (RAdamW).
        maximize: ascend instead of descend.

    Example::

        >>> opt = RAdam(model.parameters(), lr=1e-3, weight_decay=1e-2, decoupled_weight_decay=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False) -> None:
        self._check_options(betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq")

    def _update(self, group: dict[str, Any], param: np.ndarray, grad: np.ndarray,
                state: dict[str, np.ndarray], step: int, tmp: np.ndarray) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        grad = decayed_gradient(group, param, grad, group["decoupled_weight_decay"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        update_moments(m, v, grad, beta1, beta2, tmp)
        bc1, bc2 = 1 - beta1**step, 1 - beta2**step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2**step / bc2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            np.sqrt(v, out=tmp)
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= lr / bc1 * math.sqrt(bc2) * rect
        else:
            np.multiply(m, lr / bc1, out=tmp)
        param -= tmp

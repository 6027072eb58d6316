"""NAdam: Adam with Nesterov momentum and a momentum schedule (Dozat)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nerve.optim.adam import decayed_gradient, update_moments
from nerve.optim.optimizer import Optimizer, ParamsT


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016): Adam whose step looks ahead along the momentum, with a warming momentum schedule.

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda \theta
            \quad (\text{decoupled: } \theta \leftarrow \theta (1 - \eta\lambda)) \\
        \mu_t &= \beta_1 (1 - \tfrac12 \, 0.96^{t \psi}), \qquad \Pi_t = \prod_{i \le t} \mu_i \\
        m &\leftarrow \beta_1 m + (1 - \beta_1) g, \qquad v \leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
        \theta &\leftarrow \theta - \eta \frac{(1 - \mu_t) g / (1 - \Pi_t) + \mu_{t+1} m / (1 - \Pi_t \mu_{t+1})}
                 {\sqrt{v / (1 - \beta_2^t)} + \epsilon}

    Args:
        params: parameters, named parameters or parameter groups.
        lr: learning rate :math:`\eta` (default 2e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda` (default 0).
        momentum_decay: :math:`\psi` (default 4e-3).
        decoupled_weight_decay: decay the weights as AdamW does instead of adding :math:`\lambda\theta` to
            the gradient (NAdamW).
        maximize: ascend instead of descend.

    Example::

        >>> opt = NAdam(model.parameters(), lr=2e-3, momentum_decay=4e-3)
    """

    _scalar_state: ClassVar[dict[str, float]] = {"mu_product": 1.0}

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        self._check_options(betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq")

    def _update(self, group: dict[str, Any], param: np.ndarray, grad: np.ndarray,
                state: dict[str, np.ndarray], step: int, tmp: np.ndarray) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        psi = group["momentum_decay"]
        grad = decayed_gradient(group, param, grad, group["decoupled_weight_decay"])
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        mu_product = state["mu_product"]
        mu_product *= mu  # NOTE: a float32 running product, as PyTorch keeps it (it cannot be recomputed
        product = float(mu_product)  # from the step alone once a scheduler changes beta1)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        update_moments(m, v, grad, beta1, beta2, tmp)
        np.divide(v, 1 - beta2**step, out=tmp)  # denominator sqrt(v / bc2) + eps
        np.sqrt(tmp, out=tmp)
        tmp += eps
        grad_step = grad / tmp  # NOTE: a second temporary; tmp holds the denominator for both terms
        grad_step *= lr * (1.0 - mu) / (1.0 - product)
        param -= grad_step
        np.divide(m, tmp, out=tmp)
        tmp *= lr * mu_next / (1.0 - product * mu_next)
        param -= tmp

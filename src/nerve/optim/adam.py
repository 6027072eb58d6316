"""Adam and AdamW: momentum plus per-parameter step sizes from a running mean of squared gradients."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nerve.optim.optimizer import Optimizer, ParamsT


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), with bias correction.

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda \theta \\
        m &\leftarrow \beta_1 m + (1 - \beta_1) g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2) g^2 \quad (\hat v = \max(\hat v, v) \text{ with amsgrad}) \\
        \theta &\leftarrow \theta - \frac{\eta}{1 - \beta_1^t}
                 \frac{m}{\sqrt{v} / \sqrt{1 - \beta_2^t} + \epsilon}

    Args:
        params: parameters or parameter groups.
        lr: learning rate :math:`\eta` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` added to the denominator (default 1e-8).
        weight_decay: L2 penalty :math:`\lambda` added to the gradient (default 0).
        amsgrad: use the running maximum of :math:`v` (default False).
        maximize: ascend instead of descend.
    """

    _decoupled = False

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        if not 0.0 <= betas[0] < 1.0 or not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"{type(self).__name__}: invalid betas {betas} (each must be in [0, 1))")
        if eps < 0:
            raise ValueError(f"{type(self).__name__}: invalid eps {eps} (must be >= 0)")
        if weight_decay < 0:
            raise ValueError(f"{type(self).__name__}: invalid weight_decay {weight_decay} (must be >= 0)")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if group["amsgrad"] else ("exp_avg", "exp_avg_sq")

    def _update(self, group: dict[str, Any], param: np.ndarray, grad: np.ndarray,
                state: dict[str, np.ndarray], step: int, tmp: np.ndarray) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if wd:
            if self._decoupled:
                param *= 1 - lr * wd
            else:
                grad = grad + wd * param
        m, v = state["exp_avg"], state["exp_avg_sq"]
        np.subtract(grad, m, out=tmp)  # m <- lerp(m, g, 1 - beta1) = m + (1 - beta1)(g - m)
        tmp *= 1 - beta1
        m += tmp
        v *= beta2  # v <- beta2 v + (1 - beta2) g^2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - beta2
        v += tmp
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        # lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps), with sqrt(bc2) moved to the numerator: one pass fewer
        bc2_sqrt = math.sqrt(1 - beta2**step)
        np.sqrt(v, out=tmp)
        tmp += eps * bc2_sqrt
        np.divide(m, tmp, out=tmp)
        tmp *= lr * bc2_sqrt / (1 - beta1**step)
        param -= tmp


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter): :math:`\theta \leftarrow \theta(1 - \eta\lambda)`
    before the Adam step, instead of adding :math:`\lambda\theta` to the gradient.

    Args: as :class:`Adam`, with ``weight_decay`` defaulting to 1e-2.
    """

    _decoupled = True

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)

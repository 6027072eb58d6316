"""Adam and AdamW: momentum plus per-parameter step sizes from a running mean of squared gradients."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nerve.optim.optimizer import Optimizer, ParamsT


def decayed_gradient(group: dict[str, Any], param: np.ndarray, grad: np.ndarray, decoupled: bool) -> np.ndarray:
    """The gradient the Adam family steps on: negated to maximize, plus L2 weight decay ``λθ``, or with
    ``decoupled`` the parameter shrunk by ``1 - ηλ`` in place instead (AdamW's decay)."""
    if group["maximize"]:
        grad = -grad
    lr, wd = group["lr"], group["weight_decay"]
    if wd:
        if decoupled:
            param *= 1 - lr * wd
        else:
            grad = grad + wd * param
    return grad


def update_moments(m: np.ndarray, v: np.ndarray, grad: np.ndarray, beta1: float, beta2: float,
                   tmp: np.ndarray) -> None:
    """In place: ``m <- beta1 m + (1 - beta1) g`` and ``v <- beta2 v + (1 - beta2) g²`` (``tmp``: scratch)."""
    np.subtract(grad, m, out=tmp)  # m <- lerp(m, g, 1 - beta1) = m + (1 - beta1)(g - m)
    tmp *= 1 - beta1
    m += tmp
    v *= beta2
    np.multiply(grad, grad, out=tmp)
    tmp *= 1 - beta2
    v += tmp


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
        self._check_options(betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if group["amsgrad"] else ("exp_avg", "exp_avg_sq")

    def _update(self, group: dict[str, Any], param: np.ndarray, grad: np.ndarray,
                state: dict[str, np.ndarray], step: int, tmp: np.ndarray) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        grad = decayed_gradient(group, param, grad, self._decoupled)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        update_moments(m, v, grad, beta1, beta2, tmp)
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

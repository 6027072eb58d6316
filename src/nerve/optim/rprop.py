"""Rprop: per-weight step sizes that grow while the gradient keeps its sign and shrink when it flips."""

from __future__ import annotations

from typing import Any

import numpy as np

from nerve.optim.optimizer import Optimizer, ParamsT


class Rprop(Optimizer):
    r"""Resilient backpropagation (Riedmiller & Braun, 1993), as PyTorch implements it (no weight backtracking).

    Only the sign of the gradient is used; each weight has its own step size :math:`\Delta`:

    .. math::
        s &= \operatorname{sign}(g \, g_{prev}) \\
        \Delta &\leftarrow \operatorname{clip}(\Delta \cdot \{\eta_+ \text{ if } s > 0,\;
                 \eta_- \text{ if } s < 0,\; 1 \text{ otherwise}\}, \Delta_{min}, \Delta_{max}) \\
        g &\leftarrow 0 \text{ where } s < 0 \\
        \theta &\leftarrow \theta - \Delta \operatorname{sign}(g), \qquad g_{prev} \leftarrow g

    :math:`\Delta` starts at ``lr`` (the group's lr at the parameter's first step) and :math:`g_{prev}` at 0.
    Rprop is a full-batch method: with noisy mini-batch gradients the sign flips and the steps collapse.

    Args:
        params: parameters, named parameters or parameter groups.
        lr: initial step size (default 1e-2).
        etas: :math:`(\eta_-, \eta_+)`, the factors that shrink and grow the step size, with
            :math:`0 < \eta_- < 1 < \eta_+` (default (0.5, 1.2)).
        step_sizes: :math:`(\Delta_{min}, \Delta_{max})` (default (1e-6, 50)).
        maximize: ascend instead of descend.

    Example::

        >>> opt = Rprop(model.parameters(), lr=1e-2, etas=(0.5, 1.2))
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize))

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        super()._check_hyperparameters(group)
        etas, sizes = group["etas"], group["step_sizes"]
        if len(etas) != 2 or not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Rprop: invalid etas {etas} (expected (etaminus, etaplus) with "
                             "0 < etaminus < 1 < etaplus)")
        if len(sizes) != 2 or not 0.0 <= sizes[0] <= sizes[1]:
            raise ValueError(f"Rprop: invalid step_sizes {sizes} (expected (min, max) with 0 <= min <= max)")

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("prev", "step_size")

    def _initial_state(self, group: dict[str, Any], name: str) -> float:
        return group["lr"] if name == "step_size" else 0.0

    def _update(self, group: dict[str, Any], param: np.ndarray, grad: np.ndarray,
                state: dict[str, np.ndarray], step: int, tmp: np.ndarray) -> None:
        (eta_minus, eta_plus), (size_min, size_max) = group["etas"], group["step_sizes"]
        if group["maximize"]:
            grad = -grad
        prev, size = state["prev"], state["step_size"]
        if step == 1:  # NOTE: as PyTorch, the step size starts at the lr of the parameter's first step
            size[...] = group["lr"]
        np.multiply(grad, prev, out=tmp)
        grows, flipped = tmp > 0, tmp < 0
        tmp.fill(1.0)  # the factors, in the parameter's dtype (as PyTorch rounds them)
        tmp[grows] = eta_plus
        tmp[flipped] = eta_minus
        size *= tmp
        np.clip(size, size_min, size_max, out=size)
        np.copyto(prev, grad)
        prev[flipped] = 0  # a sign change: no step now, and no comparison at the next step
        np.sign(prev, out=tmp)
        tmp *= size
        param -= tmp

"""Stochastic weight averaging and EMA of weights: ``AveragedModel``, the ``SWALR`` schedule and ``update_bn``.

As ``torch.optim.swa_utils``: keep a running (or exponential) average of a model's weights during training,
anneal the learning rate to a constant for the averaging phase, and recompute batch-norm statistics for the
averaged weights at the end (Izmailov et al., 2018, "Averaging Weights Leads to Wider Optima and Better
Generalization").

Example::

    >>> swa_model = AveragedModel(model)
    >>> swa_scheduler = SWALR(optimizer, swa_lr=0.05, anneal_epochs=5)
    >>> for epoch in range(epochs):
    ...     train_one_epoch(model, optimizer)
    ...     if epoch >= swa_start:
    ...         swa_model.update_parameters(model)
    ...         swa_scheduler.step()
    >>> update_bn(train_loader, swa_model)
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import numpy as np

from nerve._device import check_cpu
from nerve._dtypes import get_default_dtype
from nerve.autograd.grad_mode import no_grad
from nerve.nn.modules.module import Module
from nerve.nn.modules.norm import _BatchNorm, _InstanceNorm
from nerve.optim.lr_scheduler import LRScheduler, _per_group
from nerve.optim.optimizer import Optimizer
from nerve.tensor import Tensor, _wrap

TensorList = Sequence[Tensor]
AvgFn = Callable[[Tensor, Tensor, Any], Any]
MultiAvgFn = Callable[[TensorList, TensorList, Any], None]

__all__ = ["SWALR", "AveragedModel", "get_ema_avg_fn", "get_ema_multi_avg_fn", "get_swa_avg_fn",
           "get_swa_multi_avg_fn", "update_bn"]


def _as_float(a: np.ndarray) -> np.ndarray:
    """Integer buffers (``num_batches_tracked``) are averaged in the default float dtype, as PyTorch promotes them."""
    return a if a.dtype.kind in "fc" else a.astype(get_default_dtype())


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """In place ``start <- start + weight (end - start)``, rounded as PyTorch's ``lerp`` (from the nearer end)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def _check_decay(decay: float) -> None:
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"get_ema_avg_fn: invalid decay {decay} (must be in [0, 1])")


def get_ema_multi_avg_fn(decay: float = 0.999) -> MultiAvgFn:
    r"""An in-place exponential moving average for ``AveragedModel(multi_avg_fn=...)``:
    :math:`W^{EMA} \leftarrow \text{decay}\, W^{EMA} + (1 - \text{decay})\, W` (the first update copies).

    Args:
        decay: weight of the running average, in [0, 1] (default 0.999).
    """
    _check_decay(decay)

    def ema_update(ema_params: TensorList, current_params: TensorList, num_averaged: Any) -> None:
        for ema, current in zip(ema_params, current_params, strict=True):
            if ema.data.dtype.kind == "f":
                _lerp_(ema.data, current.data, 1 - decay)
            else:
                np.copyto(ema.data, _as_float(ema.data) * decay + _as_float(current.data) * (1 - decay),
                          casting="unsafe")

    return ema_update


def get_swa_multi_avg_fn() -> MultiAvgFn:
    r"""An in-place equal-weight running average for ``AveragedModel(multi_avg_fn=...)``:
    :math:`\bar W \leftarrow \bar W + (W - \bar W) / (n + 1)` after :math:`n` models.

    NOTE: when ``num_averaged`` is a tensor (as ``AveragedModel`` passes it) PyTorch computes the weight
    ``1 / (n + 1)`` as a float32 tensor; the weight is rounded the same way here so the averages agree.
    Integer tensors are averaged in float and truncated (PyTorch raises for them).
    """

    def swa_update(averaged_params: TensorList, current_params: TensorList, num_averaged: Any) -> None:
        n = num_averaged.item() if isinstance(num_averaged, Tensor) else num_averaged
        weight = 1 / (n + 1)
        if isinstance(num_averaged, Tensor):
            weight = float(np.float32(weight))
        for avg, current in zip(averaged_params, current_params, strict=True):
            if avg.data.dtype.kind == "f":
                _lerp_(avg.data, current.data, weight)
            else:
                np.copyto(avg.data, avg.data + (current.data - avg.data) * weight, casting="unsafe")

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    r"""The exponential moving average of one tensor for ``AveragedModel(avg_fn=...)``:
    returns :math:`\text{decay}\, W^{EMA} + (1 - \text{decay})\, W`.

    Args:
        decay: weight of the running average, in [0, 1] (default 0.999).
    """
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        return _wrap(decay * _as_float(ema_param.data) + (1 - decay) * _as_float(current_param.data))

    return ema_update


def get_swa_avg_fn() -> AvgFn:
    r"""The equal-weight running average of one tensor for ``AveragedModel(avg_fn=...)``: returns
    :math:`\bar W + (W - \bar W) / (n + 1)`. This is ``AveragedModel``'s default."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        n = int(num_averaged.item()) if isinstance(num_averaged, Tensor) else num_averaged
        avg = averaged_param.data
        diff = current_param.data - avg
        if diff.dtype.kind != "f":  # NOTE: PyTorch's int / int tensor division gives the default float dtype
            diff = diff.astype(get_default_dtype())
        return _wrap(avg + diff / (n + 1))

    return swa_update


class AveragedModel(Module):
    r"""A copy of ``model`` whose weights are a running average of ``model``'s (SWA), or an EMA of them.

    ``update_parameters(model)`` folds the model's current weights in: the first call copies them, later
    calls apply ``avg_fn`` (one tensor at a time, returning the new average) or ``multi_avg_fn`` (lists of
    tensors updated in place, one call per dtype); by default the equal-weight average
    :math:`\bar W \leftarrow \bar W + (W - \bar W) / (n + 1)`. ``n_averaged`` (an int64 buffer) counts the
    updates. Without ``use_buffers`` the buffers (batch-norm statistics) are copied from ``model`` at each
    update (recompute them for the averaged weights with :func:`update_bn`); with it they are averaged too.
    ``forward`` runs the averaged copy.

    Args:
        model: the model to average (deep-copied).
        device: must be None or the CPU (nerve runs on the CPU).
        avg_fn: ``avg_fn(averaged, current, num_averaged) -> new averaged`` for each tensor, e.g.
            :func:`get_ema_avg_fn`.
        multi_avg_fn: ``multi_avg_fn(averaged_list, current_list, num_averaged)`` updating in place, e.g.
            :func:`get_ema_multi_avg_fn` or :func:`get_swa_multi_avg_fn`.
        use_buffers: average the buffers too, instead of copying them from ``model`` (default False).

    Example::

        >>> ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999), use_buffers=True)
        >>> ...  # after each optimizer step
        >>> ema.update_parameters(model)
    """

    def __init__(self, model: Module, device: Any = None, avg_fn: AvgFn | None = None,
                 multi_avg_fn: MultiAvgFn | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: expected a nerve Module, got {type(model).__name__}")
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: pass avg_fn or multi_avg_fn, not both")
        check_cpu(device, "AveragedModel")
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", _wrap(np.zeros((), dtype=np.int64)))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters (and buffers, with ``use_buffers``) into the average."""
        if self.use_buffers:
            ours: Iterable[Tensor] = itertools.chain(self.module.parameters(), self.module.buffers())
            theirs: Iterable[Tensor] = itertools.chain(model.parameters(), model.buffers())
        else:
            ours, theirs = self.parameters(), model.parameters()
        pairs = [(_wrap(a.data), _wrap(b.data)) for a, b in zip(ours, theirs)]
        n = int(self.n_averaged.data)
        if n == 0:
            for averaged, current in pairs:
                np.copyto(averaged.data, current.data, casting="unsafe")
        elif self.avg_fn is not None:
            with no_grad():
                for averaged, current in pairs:
                    new = self.avg_fn(averaged, current, _wrap(self.n_averaged.data.copy()))
                    np.copyto(averaged.data, new.data if isinstance(new, Tensor) else np.asarray(new),
                              casting="unsafe")
        elif self.multi_avg_fn is not None:
            by_dtype: dict[np.dtype, list[tuple[Tensor, Tensor]]] = {}
            for averaged, current in pairs:
                by_dtype.setdefault(averaged.data.dtype, []).append((averaged, current))
            with no_grad():
                for group in by_dtype.values():
                    self.multi_avg_fn([a for a, _ in group], [c for _, c in group],
                                      _wrap(self.n_averaged.data.copy()))
        else:
            swa = get_swa_avg_fn()
            for averaged, current in pairs:
                np.copyto(averaged.data, swa(averaged, current, n).data, casting="unsafe")
        if not self.use_buffers:  # keep the buffers in step with the trained model
            for ours_b, theirs_b in zip(self.module.buffers(), model.buffers(), strict=True):
                np.copyto(ours_b.data, theirs_b.data, casting="unsafe")
        self.n_averaged.data += 1


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute the running statistics of every batch-norm layer of ``model`` with one pass over ``loader``.

    The statistics are reset and re-estimated as a cumulative average over the batches (momentum None),
    in train mode and without gradients; momenta and the training mode are restored afterwards. Each batch
    is an input tensor, or a list/tuple whose first element is the input. ``device`` must be None or the CPU.
    """
    check_cpu(device, "update_bn")
    momenta: dict[Module, float | None] = {}
    for module in model.modules():
        # NOTE: nerve's instance norms derive from _BatchNorm; PyTorch's do not, and update_bn skips them
        if isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    try:
        with no_grad():
            for batch in loader:
                model(batch[0] if isinstance(batch, list | tuple) else batch)
    finally:
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    r"""Anneal each group's lr from its current value to ``swa_lr`` over ``anneal_epochs`` steps, then hold it.

    With :math:`a(\tau) = \tau` (``linear``) or :math:`(1 - \cos \pi\tau) / 2` (``cos``) and
    :math:`\tau = \min(1, t / T)` after :math:`t` steps of :math:`T` = ``anneal_epochs``:

    .. math::
        \eta_t = a(\tau)\, \eta_{swa} + (1 - a(\tau))\, \eta_{start}

    where :math:`\eta_{start}` is recovered from the current lr each step (so another scheduler may have
    changed it). ``anneal_epochs=0`` switches to ``swa_lr`` at once. Each group gets ``group['swa_lr']``.

    Args:
        optimizer: the wrapped optimizer.
        swa_lr: the final lr, one for all groups or one per group.
        anneal_epochs: number of annealing steps, an integer >= 0 (default 10).
        anneal_strategy: ``"cos"`` or ``"linear"`` (default ``"cos"``).
        last_epoch: index of the last epoch (default -1: start).
    """

    def __init__(self, optimizer: Optimizer, swa_lr: float | Sequence[float], anneal_epochs: int = 10,
                 anneal_strategy: Literal["cos", "linear"] = "cos", last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"SWALR: expected a nerve Optimizer, got {type(optimizer).__name__}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"SWALR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        if isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"SWALR: anneal_epochs must be an integer >= 0, got {anneal_epochs!r}")
        swa_lrs = _per_group(swa_lr, len(optimizer.param_groups), "swa_lr", "SWALR")
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        self._anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t: float) -> float:
        """The fraction of the way to ``swa_lr`` at progress ``t`` in [0, 1]."""
        return (1 - math.cos(math.pi * t)) / 2 if self._anneal_strategy == "cos" else t

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        """The lr annealing started from, given the lr ``alpha`` of the way to ``swa_lr``."""
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / span)))
        alpha = self.anneal_func(max(0, min(1, step / span)))
        groups = self.optimizer.param_groups
        starts = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        return [g["swa_lr"] * alpha + start * (1 - alpha) for g, start in zip(groups, starts)]

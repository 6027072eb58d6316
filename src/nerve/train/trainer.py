"""``Trainer``: the fit loop (forward, loss, backward, step) with callbacks, metrics and validation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import numpy as np

from nerve.autograd.grad_mode import no_grad
from nerve.nn.modules.module import Module
from nerve.optim.optimizer import Optimizer
from nerve.tensor import Tensor
from nerve.train import metrics as _metrics
from nerve.train.callbacks import Callback, CallbackList, History, Logs, ProgressBar, TerminateOnNaN


class Trainer:
    """Train ``model`` with ``optimizer`` on ``loss_fn``, reporting ``metrics`` per epoch.

    Override ``train_step``/``eval_step`` for custom training (e.g. GANs); everything else (epochs,
    averaging, validation, callbacks, LR scheduling) stays the same.

    Args:
        model: the network; called as ``model(x)`` on the first element of each batch.
        optimizer: a ``nerve.optim`` optimizer over the model's parameters.
        loss_fn: ``loss_fn(output, target) -> scalar Tensor``.
        metrics: names (``'accuracy'``, ``'mse'``, ``'mae'``) or functions ``f(output, target) -> float``.
        scheduler: an LR scheduler stepped every epoch (or every batch with ``scheduler_interval='step'``).
        callbacks: extra ``Callback`` objects (a NaN guard and ``History`` are always added).
        progress: show a progress bar (live on a terminal, one line per epoch otherwise).

    Example:
        >>> trainer = Trainer(model, nerve.optim.Adam(model.parameters()), nn.CrossEntropyLoss())
        >>> history = trainer.fit(train_loader, epochs=5, val=val_loader)
        >>> trainer.evaluate(test_loader)["accuracy"]
    """

    def __init__(self, model: Module, optimizer: Optimizer, loss_fn: Callable[[Any, Any], Tensor],
                 metrics: Sequence[str | _metrics.MetricFn] = (), scheduler: Any = None,
                 scheduler_interval: Literal["epoch", "step"] = "epoch", callbacks: Iterable[Callback] = (),
                 progress: bool = True) -> None:
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.metrics = [_metrics.resolve(m) for m in metrics]
        self.scheduler = scheduler
        if scheduler_interval not in ("epoch", "step"):
            raise ValueError(f"Trainer: scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}")
        self.scheduler_interval = scheduler_interval
        self.history = History()
        extra = list(callbacks)
        base: list[Callback] = [TerminateOnNaN(), self.history]
        if progress:
            base.append(ProgressBar())
        self.callbacks = CallbackList(base + extra)
        self.callbacks.set_trainer(self)
        self.stop_training = False
        self.stop_reason: str | None = None
        self.epochs = 0
        self.steps_per_epoch: int | None = None

    # -------------------------------------------------------------------------------- one step
    def train_step(self, batch: Sequence[Any]) -> Logs:
        """Forward, loss, zero_grad, backward, step on one batch; returns the batch's logs."""
        x, y = batch[0], batch[1]
        output = self.model(x)
        loss = self.loss_fn(output, y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return self._logs(loss, output, y)

    def eval_step(self, batch: Sequence[Any]) -> Logs:
        """Loss and metrics on one batch without building a graph."""
        x, y = batch[0], batch[1]
        with no_grad():
            output = self.model(x)
            loss = self.loss_fn(output, y)
        return self._logs(loss, output, y)

    def _logs(self, loss: Tensor, output: Tensor, target: Any) -> Logs:
        logs = {"loss": float(loss.item())}
        if self.metrics:
            out = output.data
            tgt = target.data if isinstance(target, Tensor) else np.asarray(target)
            for name, fn in self.metrics:
                logs[name] = fn(out, tgt)
        logs["size"] = float(_batch_size(output))
        return logs

    # ------------------------------------------------------------------------------- the loop
    def fit(self, train: Iterable[Any], epochs: int = 1, val: Iterable[Any] | None = None) -> History:
        """Train for ``epochs`` passes over ``train``; evaluate on ``val`` after each epoch.

        Returns:
            The ``History``: per-epoch ``loss``, metrics and ``val_*`` values.
        """
        if epochs < 1:
            raise ValueError(f"fit: epochs must be >= 1, got {epochs}")
        self.epochs = epochs
        self.steps_per_epoch = len(train) if hasattr(train, "__len__") else None  # type: ignore[arg-type]
        self.stop_training = False
        self.stop_reason = None
        self.callbacks.on_train_begin()
        try:
            for epoch in range(epochs):
                self.model.train()
                self.callbacks.on_epoch_begin(epoch)
                totals: dict[str, float] = {}
                for i, batch in enumerate(train):
                    self.callbacks.on_train_batch_begin(i)
                    logs = self.train_step(batch)
                    _accumulate(totals, logs)
                    if self.scheduler is not None and self.scheduler_interval == "step":
                        self.scheduler.step()
                    self.callbacks.on_train_batch_end(i, logs)
                    if self.stop_training:
                        break
                epoch_logs = _average(totals)
                if val is not None and not self.stop_training:
                    epoch_logs.update({f"val_{k}": v for k, v in self.evaluate(val).items()})
                if self.scheduler is not None and self.scheduler_interval == "epoch":
                    if hasattr(self.scheduler, "best"):  # ReduceLROnPlateau needs the monitored metric
                        self.scheduler.step(epoch_logs.get("val_loss", epoch_logs.get("loss")))
                    else:
                        self.scheduler.step()
                epoch_logs["lr"] = float(self.optimizer.param_groups[0]["lr"])
                self.callbacks.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
        finally:
            self.callbacks.on_train_end()
        return self.history

    def evaluate(self, data: Iterable[Any]) -> Logs:
        """Average loss and metrics over ``data`` in eval mode (restores the previous mode)."""
        was_training = self.model.training
        self.model.eval()
        self.callbacks.on_test_begin()
        totals: dict[str, float] = {}
        try:
            for batch in data:
                _accumulate(totals, self.eval_step(batch))
        finally:
            self.model.train(was_training)
        logs = _average(totals)
        self.callbacks.on_test_end(logs)
        return logs

    def predict(self, data: Iterable[Any]) -> np.ndarray:
        """Model outputs for every batch of ``data`` (eval mode, no graph), concatenated."""
        was_training = self.model.training
        self.model.eval()
        outputs = []
        try:
            with no_grad():
                for batch in data:
                    x = batch[0] if isinstance(batch, tuple | list) else batch
                    outputs.append(self.model(x).data)
        finally:
            self.model.train(was_training)
        return np.concatenate(outputs)


def _batch_size(output: Any) -> int:
    return int(output.shape[0]) if getattr(output, "ndim", 0) else 1


def _accumulate(totals: dict[str, float], logs: Logs) -> None:
    """Sum sample-weighted values so epoch averages are exact over unequal batches."""
    n = logs["size"]
    totals["size"] = totals.get("size", 0.0) + n
    for k, v in logs.items():
        if k != "size":
            totals[k] = totals.get(k, 0.0) + v * n


def _average(totals: dict[str, float]) -> Logs:
    n = totals.get("size", 0.0) or 1.0
    return {k: v / n for k, v in totals.items() if k != "size"}

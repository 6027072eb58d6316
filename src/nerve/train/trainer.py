"""``Trainer``: the fit loop (forward, loss, backward, step) with callbacks, metrics and validation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from nerve.autograd.grad_mode import no_grad
from nerve.data import DataLoader, Dataset
from nerve.nn.modules.module import Module
from nerve.optim.optimizer import Optimizer
from nerve.random import get_rng_state, set_rng_state
from nerve.tensor import Tensor
from nerve.train import metrics as _metrics
from nerve.train.callbacks import (
    Callback,
    CallbackList,
    GradientClipping,
    History,
    LearningRateScheduler,
    Logs,
    ProgressBar,
    TerminateOnNaN,
)
from nerve.train.checkpoint import load_checkpoint, save_checkpoint


class Trainer:
    """Train ``model`` with ``optimizer`` on ``loss_fn``, reporting ``metrics`` per epoch.

    Override ``train_step``/``eval_step`` for custom training (e.g. GANs); everything else (epochs,
    averaging, validation, callbacks, LR scheduling, checkpoints) stays the same.

    Args:
        model: the network; called as ``model(x)`` on the first element of each batch.
        optimizer: a ``nerve.optim`` optimizer over the model's parameters.
        loss_fn: ``loss_fn(output, target) -> scalar Tensor``, or a loss name as :func:`fit` takes
            (``'cross_entropy'``, ``'mse'``, ...).
        metrics: names (``'accuracy'``, ``'top5_accuracy'``, ``'mse'``, ``'mae'``, ``'perplexity'``) or
            functions ``f(output, target) -> float``.
        scheduler: an LR scheduler stepped every epoch (or every batch with ``scheduler_interval='step'``).
        callbacks: extra ``Callback`` objects (a NaN guard and ``History`` are always added).
        progress: show a progress bar (live on a terminal, one line per epoch otherwise).
        grad_clip_norm: clip the global gradient norm to this value before each step.
        grad_clip_value: clip every gradient element to ``[-v, v]`` before each step.
        stateful: truncated backpropagation through time. The model is called as ``model(x, state)`` and
            returns ``(output, state)``; the state is carried from each batch to the next (batches must
            continue each other, e.g. :class:`~nerve.data.BPTTLoader`) and detached after every step, so
            gradients flow back through one batch's steps only. It starts afresh (``None``) each epoch and
            for each evaluation. The state is not checkpointed: a run resumed in the middle of an epoch
            restarts it from ``None`` there, so it differs slightly from an uninterrupted run.

    Gradient descent flavours (seed concept 5) are the batch size: pass a ``Dataset`` to ``fit`` with
    ``batch_size='full'`` (batch gradient descent), ``1`` (stochastic) or ``n`` (mini-batch), or pass a
    ``DataLoader`` built as you like.

    Example:
        >>> trainer = Trainer(model, nerve.optim.Adam(model.parameters()), nn.CrossEntropyLoss())
        >>> history = trainer.fit(train_loader, epochs=5, val=val_loader)
        >>> trainer.evaluate(test_loader)["accuracy"]
    """

    def __init__(self, model: Module, optimizer: Optimizer, loss_fn: str | Callable[[Any, Any], Tensor],
                 metrics: Sequence[str | _metrics.MetricFn] = (), scheduler: Any = None,
                 scheduler_interval: Literal["epoch", "step"] = "epoch", callbacks: Iterable[Callback] = (),
                 progress: bool = True, grad_clip_norm: float | None = None,
                 grad_clip_value: float | None = None, stateful: bool = False) -> None:
        self.model = model
        self.stateful = stateful
        self._state: Any = None  # the recurrent state carried between batches when stateful
        self.optimizer = optimizer
        self.loss_fn = _resolve_loss(loss_fn, "Trainer", "loss_fn")
        resolved = [_metrics.resolve(m) for m in metrics]
        self.metrics = [(name, fn) for name, fn in resolved if fn is not None]
        self.loss_metrics = [name for name, fn in resolved if fn is None]  # computed from the epoch's mean loss
        self.scheduler = scheduler
        self.history = History()
        base: list[Callback] = [TerminateOnNaN(), self.history]
        if scheduler is not None:
            base.append(LearningRateScheduler(scheduler, interval=scheduler_interval))
        if grad_clip_norm is not None or grad_clip_value is not None:
            base.append(GradientClipping(max_norm=grad_clip_norm, clip_value=grad_clip_value))
        extra = list(callbacks)
        if progress:
            extra.append(ProgressBar())  # last, so its epoch line shows what the other callbacks decided
        self.callbacks = CallbackList(base + extra)
        self.callbacks.set_trainer(self)
        self.stop_training = False
        self.stop_reason: str | None = None
        self.failed = False  # set when training stopped because it diverged (NaN/inf loss)
        self.restored_epoch: int | None = None  # the epoch whose weights EarlyStopping restored
        self.epochs = 0
        self.epoch = 0  # index of the epoch being (or next to be) trained
        self.global_step = 0  # optimizer steps taken, over all epochs
        self.steps_per_epoch: int | None = None
        self._epoch_totals: dict[str, float] = {}
        self._epoch_lr: float | None = None
        self._train_loader: Any = None
        self._pending_loader_state: dict[str, Any] | None = None

    # -------------------------------------------------------------------------------- one step
    def train_step(self, batch: Sequence[Any]) -> Logs:
        """Forward, loss, zero_grad, backward, step on one batch; returns the batch's logs."""
        x, y = _pair(batch)
        output = self._forward(x)
        loss = self.loss_fn(output, y)
        self.optimizer.zero_grad()
        loss.backward()
        self.callbacks.on_before_optimizer_step()
        self.optimizer.step()
        return self._logs(loss, output, y)

    def eval_step(self, batch: Sequence[Any]) -> Logs:
        """Loss and metrics on one batch without building a graph."""
        x, y = _pair(batch)
        with no_grad():
            output = self._forward(x)
            loss = self.loss_fn(output, y)
        return self._logs(loss, output, y)

    def _forward(self, x: Any) -> Any:
        if not self.stateful:
            return self.model(x)
        output, state = self.model(x, self._state)
        self._state = _detached(state)  # truncated BPTT: the next batch starts from values, not from this graph
        return output

    def _logs(self, loss: Tensor, output: Tensor, target: Any) -> Logs:
        logs = {"loss": float(loss.item())}
        if self.metrics:
            out = output.data
            tgt = target.data if isinstance(target, Tensor) else np.asarray(target)
            for name, fn in self.metrics:
                logs[name] = fn(out, tgt)
        # a stateful (language) model's loss is a mean over every target of the chunk, and the last chunk of a
        # pass is shorter: weight the epoch average by targets, not by rows
        logs["size"] = float(np.size(target.data if isinstance(target, Tensor) else target) if self.stateful
                             else _batch_size(output))
        return logs

    # ------------------------------------------------------------------------------- the loop
    def fit(self, train: Iterable[Any] | Dataset, epochs: int = 1, val: Iterable[Any] | Dataset | None = None,
            *, batch_size: int | str | None = 32, shuffle: bool = True) -> History:
        """Train until ``epochs`` epochs are done; evaluate on ``val`` after each epoch.

        After :meth:`load_checkpoint`, training continues from the checkpoint's epoch and step (the shuffle
        order, RNG streams and partial-epoch averages included), so the result is the one an uninterrupted
        run would have reached.

        Args:
            train: a ``DataLoader`` (or any iterable of batches), or a ``Dataset`` batched with ``batch_size``.
            epochs: the total number of epochs (as Keras's ``epochs``; a resumed run counts the ones done).
            val: validation batches (``DataLoader``, iterable or ``Dataset``).
            batch_size: for a ``Dataset``: ``'full'`` (batch GD), ``1`` (stochastic) or n (mini-batch).
            shuffle: for a ``Dataset``: reshuffle every epoch.

        Returns:
            The ``History``: per-epoch ``loss``, metrics and ``val_*`` values.
        """
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"Trainer.fit: epochs must be a positive integer, got {epochs!r}")
        if isinstance(train, Dataset):
            train = make_loader(train, batch_size, shuffle)
        if isinstance(val, Dataset):
            val = make_loader(val, batch_size if batch_size != 1 else 256, shuffle=False)
        resuming = self._pending_loader_state is not None
        if not resuming:
            self.epoch = self.global_step = 0
            self._epoch_totals = {}
            self.history.reset()
        self.epochs = epochs
        self._train_loader = train
        self.steps_per_epoch = len(train) if hasattr(train, "__len__") else None  # type: ignore[arg-type]
        self.stop_training = False
        self.stop_reason = None
        self.failed = False
        self.restored_epoch = None
        self.callbacks.on_train_begin()
        try:
            while self.epoch < epochs and not self.stop_training:
                self._run_epoch(train, val)
        finally:
            self.callbacks.on_train_end()
        return self.history

    def _run_epoch(self, train: Any, val: Any) -> None:
        self.model.train()
        epoch = self.epoch
        first_batch = 0
        if self._pending_loader_state is not None:  # resuming: maybe mid-epoch
            state, self._pending_loader_state = self._pending_loader_state, None
            if hasattr(train, "load_state_dict"):
                train.load_state_dict(state["loader"])
            first_batch = int(state["loader"]["batches_yielded"])
        else:
            self._epoch_totals = {}
        self._state = None  # a stateful model starts each epoch from its initial state
        self.callbacks.on_epoch_begin(epoch)
        if not first_batch:  # after on_epoch_begin, which may set it (Keras-style schedules)
            self._epoch_lr = float(self.optimizer.param_groups[0]["lr"])
        batches = iter(train)
        if first_batch:
            set_rng_state(self._resume_rng)  # the order is drawn; now continue the global stream where it was
        for i, batch in enumerate(batches, start=first_batch):
            self.callbacks.on_train_batch_begin(i)
            logs = self.train_step(batch)
            self.global_step += 1
            _accumulate(self._epoch_totals, logs)
            self.callbacks.on_train_batch_end(i, logs)
            if self.stop_training:
                break
        epoch_logs = _average(self._epoch_totals)
        self._add_loss_metrics(epoch_logs)
        if val is not None and not self.failed:
            epoch_logs.update({f"val_{k}": v for k, v in self.evaluate(val).items()})
        epoch_logs["lr"] = self._epoch_lr if self._epoch_lr is not None else float(
            self.optimizer.param_groups[0]["lr"])
        self.epoch += 1  # before the callbacks: a checkpoint written at epoch end resumes at the next epoch
        self._epoch_totals = {}
        self.callbacks.on_epoch_end(epoch, epoch_logs)

    def _add_loss_metrics(self, logs: Logs) -> None:
        for name in self.loss_metrics:
            if "loss" in logs:
                logs[name] = _metrics.LOSS_METRICS[name](logs["loss"])

    def evaluate(self, data: Iterable[Any] | Dataset, batch_size: int = 256) -> Logs:
        """Average loss and metrics over ``data`` in eval mode (restores the previous mode)."""
        if isinstance(data, Dataset):
            data = make_loader(data, batch_size, shuffle=False)
        was_training = self.model.training
        self.model.eval()
        self.callbacks.on_test_begin()
        totals: dict[str, float] = {}
        training_state, self._state = self._state, None  # evaluation carries its own state across its batches
        try:
            for batch in data:
                _accumulate(totals, self.eval_step(batch))
        finally:
            self.model.train(was_training)
            self._state = training_state
        logs = _average(totals)
        self._add_loss_metrics(logs)
        self.callbacks.on_test_end(logs)
        return logs

    def predict(self, data: Iterable[Any] | Dataset, batch_size: int = 256) -> np.ndarray:
        """Model outputs for every batch of ``data`` (eval mode, no graph), concatenated."""
        if isinstance(data, Dataset):
            data = make_loader(data, batch_size, shuffle=False)
        was_training = self.model.training
        self.model.eval()
        outputs = []
        training_state, self._state = self._state, None
        try:
            with no_grad():
                for batch in data:
                    x = batch[0] if isinstance(batch, tuple | list) else batch
                    outputs.append(self._forward(x).data)
        finally:
            self.model.train(was_training)
            self._state = training_state
        return np.concatenate(outputs)

    # ------------------------------------------------------------------------- checkpoints
    def state_dict(self, epoch_complete: bool = False) -> dict[str, Any]:
        """Everything needed to continue training exactly: weights, optimizer, scheduler, counters,
        partial-epoch averages, history, callback states and RNG streams."""
        loader = self._train_loader
        loader_state = loader.state_dict() if hasattr(loader, "state_dict") else {"batches_yielded": 0}
        if epoch_complete:
            loader_state = {**loader_state, "batches_yielded": 0}
        callbacks = {}
        for i, c in enumerate(self.callbacks.callbacks):
            state = c.state_dict()
            if state is not None:
                callbacks[f"{i}:{type(c).__name__}"] = state
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "global_step": self.global_step,
            "epoch_totals": dict(self._epoch_totals),
            "epoch_lr": self._epoch_lr,
            "history": {"epoch": list(self.history.epoch), "history": self.history.history},
            "callbacks": callbacks,
            "rng": {"global": get_rng_state(), "loader": loader_state},
        }

    def save_checkpoint(self, path: str | Path, config: dict[str, Any] | None = None,
                        epoch_complete: bool = False) -> Path:
        """Write a resumable checkpoint (``path.json`` + tensors, atomically); returns the sidecar path."""
        state = self.state_dict(epoch_complete=epoch_complete)
        if config is not None:
            state["config"] = config
        return save_checkpoint(path, state)

    def load_checkpoint(self, path: str | Path, weights_only: bool = False) -> dict[str, Any]:
        """Restore a checkpoint; the next ``fit`` continues where it was written. Returns the raw state.

        The file is read and verified completely before anything is changed, so a corrupted checkpoint
        raises ``CheckpointError`` and leaves the trainer as it was.
        """
        state = load_checkpoint(path)
        self.model.load_state_dict(state["model"])
        if weights_only:
            return state
        self.optimizer.load_state_dict(state["optimizer"])
        saved_callbacks = state.get("callbacks", {})
        for i, c in enumerate(self.callbacks.callbacks):
            key = f"{i}:{type(c).__name__}"
            if key in saved_callbacks:
                c.load_state_dict(saved_callbacks[key])
        self.epoch = int(state["epoch"])
        self.global_step = int(state["global_step"])
        self._epoch_totals = dict(state["epoch_totals"])
        self._epoch_lr = state["epoch_lr"]
        self.history.epoch = list(state["history"]["epoch"])
        self.history.history = {k: list(v) for k, v in state["history"]["history"].items()}
        self._resume_rng = state["rng"]["global"]
        set_rng_state(self._resume_rng)
        self._pending_loader_state = {"loader": state["rng"]["loader"]}
        return state


def make_loader(dataset: Dataset, batch_size: int | str | None, shuffle: bool = True) -> DataLoader:
    """A DataLoader for one of the three flavours of gradient descent.

    ``batch_size='full'`` (or ``None``): batch gradient descent, one step per epoch on every sample;
    ``1``: stochastic gradient descent; ``n``: mini-batch gradient descent.
    """
    if batch_size is None or batch_size == "full":
        return DataLoader(dataset, batch_size=len(dataset), shuffle=False)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer or 'full', got {batch_size!r}")
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)


def _pair(batch: Any) -> tuple[Any, Any]:
    """``batch`` as ``(inputs, targets)``. Indexing a bare Tensor would take its first two rows as x and y and
    fail later with a misleading shape error, so anything but a 2-element tuple or list is refused here."""
    if not isinstance(batch, tuple | list):
        shape = f" of shape {tuple(batch.shape)}" if hasattr(batch, "shape") else ""
        raise TypeError(f"Trainer: expected each batch to be an (inputs, targets) pair, got a "
                        f"{type(batch).__name__}{shape}; yield (x, y) from the loader (e.g. a TensorDataset of "
                        f"inputs and targets), or use Trainer.predict for inputs alone")
    if len(batch) != 2:
        raise ValueError(f"Trainer: expected each batch to be an (inputs, targets) pair, got a "
                         f"{type(batch).__name__} of length {len(batch)}; override train_step and eval_step to "
                         f"use other batch layouts")
    return batch[0], batch[1]


def _detached(state: Any) -> Any:
    """``state`` (a tensor or nested tuples/lists of them) cut from the graph."""
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, tuple | list):
        return type(state)(_detached(s) for s in state)
    return state


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


_OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}
_LOSSES = {"cross_entropy": "CrossEntropyLoss", "mse": "MSELoss", "l1": "L1Loss", "huber": "HuberLoss",
           "bce": "BCELoss", "bce_with_logits": "BCEWithLogitsLoss", "nll": "NLLLoss"}


def _resolve_loss(loss: str | Callable[[Any, Any], Tensor], who: str, arg: str) -> Callable[[Any, Any], Tensor]:
    """The loss function for ``loss``, a name from ``_LOSSES`` or a callable; ``who`` and ``arg`` name the caller
    and its argument in errors. Checked when the trainer is built, not at the first step."""
    from nerve import nn

    if isinstance(loss, str):
        if loss not in _LOSSES:
            raise ValueError(f"{who}: unknown loss {loss!r}; choose from {sorted(_LOSSES)} or pass a function")
        return getattr(nn, _LOSSES[loss])()
    if isinstance(loss, type):  # nn.CrossEntropyLoss without (): calling it would build a module, not a loss
        raise TypeError(f"{who}: {arg} is the class {loss.__name__}, expected an instance; pass {loss.__name__}()")
    if not callable(loss):
        raise TypeError(f"{who}: {arg} must be a name from {sorted(_LOSSES)} or a function loss(output, target), "
                        f"got {type(loss).__name__}")
    return loss


def fit(model: Module, train: Iterable[Any] | Dataset, *, epochs: int = 1, loss: str | Callable[[Any, Any], Tensor]
        = "cross_entropy", optimizer: str | Optimizer = "adam", lr: float = 1e-3,
        metrics: Sequence[str | _metrics.MetricFn] = (), val: Iterable[Any] | Dataset | None = None,
        batch_size: int | str | None = 32, callbacks: Iterable[Callback] = (), progress: bool = True,
        **trainer_kwargs: Any) -> History:
    """Keras-style one call: train ``model`` and return its ``History`` (``history.trainer`` is the Trainer).

    Args:
        loss: a name (``'cross_entropy'``, ``'mse'``, ``'l1'``, ``'huber'``, ``'bce'``, ``'bce_with_logits'``,
            ``'nll'``) or a function ``loss(output, target)``.
        optimizer: a name (``'adam'``, ``'adamw'``, ``'sgd'``, ``'rmsprop'``, ``'adagrad'``) built with ``lr``,
            or an optimizer instance.
        trainer_kwargs: passed on to :class:`Trainer` (``scheduler``, ``grad_clip_norm``, ...).

    Example:
        >>> history = nerve.train.fit(model, TensorDataset(X, y), epochs=10, metrics=["accuracy"])
    """
    from nerve import optim

    loss = _resolve_loss(loss, "fit", "loss")
    if isinstance(optimizer, str):
        if optimizer.lower() not in _OPTIMIZERS:
            raise ValueError(f"fit: unknown optimizer {optimizer!r}; choose from {sorted(_OPTIMIZERS)}")
        optimizer = getattr(optim, _OPTIMIZERS[optimizer.lower()])(model.parameters(), lr=lr)
    trainer = Trainer(model, optimizer, loss, metrics=metrics, callbacks=callbacks, progress=progress,
                      **trainer_kwargs)
    return trainer.fit(train, epochs=epochs, val=val, batch_size=batch_size)

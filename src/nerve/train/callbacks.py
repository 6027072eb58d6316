"""Callbacks with Keras's hook names: progress bar, history, NaN guard, early stopping, checkpoints,
learning-rate scheduling and gradient clipping.

A callback overrides any of ``on_train_begin/end``, ``on_epoch_begin/end``, ``on_train_batch_begin/end``,
``on_test_begin/end`` and ``on_before_optimizer_step`` (between ``backward`` and ``step``, where gradients
can be inspected or clipped); it reaches the trainer (and model) through ``self.trainer`` and can stop
training by setting ``self.trainer.stop_training = True``. A callback with state that must survive a
resume (early-stopping patience, best score so far) implements ``state_dict``/``load_state_dict``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nerve.train.trainer import Trainer

Logs = dict[str, float]


class Callback:
    """Base class: every hook is a no-op."""

    trainer: Trainer

    def set_trainer(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def on_train_begin(self, logs: Logs | None = None) -> None: ...
    def on_train_end(self, logs: Logs | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_test_begin(self, logs: Logs | None = None) -> None: ...
    def on_test_end(self, logs: Logs | None = None) -> None: ...
    def on_before_optimizer_step(self) -> None: ...

    def state_dict(self) -> dict[str, Any] | None:
        """State to store in a checkpoint (``None``: nothing to store)."""
        return None

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class CallbackList(Callback):
    """Forwards each hook to every callback in order."""

    def __init__(self, callbacks: Iterable[Callback]) -> None:
        self.callbacks = list(callbacks)

    def set_trainer(self, trainer: Trainer) -> None:
        for c in self.callbacks:
            c.set_trainer(trainer)

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_"):
            callbacks = object.__getattribute__(self, "callbacks")

            def dispatch(*args: Any, **kwargs: Any) -> None:
                for c in callbacks:
                    getattr(c, name)(*args, **kwargs)

            return dispatch
        return object.__getattribute__(self, name)


class History(Callback):
    """Records the logs of every epoch: ``history.history['val_loss'][k]`` is epoch k's validation loss."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def reset(self) -> None:
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class TerminateOnNaN(Callback):
    """Stop as soon as the training loss is NaN or infinite, saying at which epoch and step."""

    def __init__(self) -> None:
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.trainer.stop_training = True
            self.trainer.stop_reason = (
                f"loss became {loss} at epoch {self.epoch + 1}, step {batch + 1} (global step "
                f"{self.trainer.global_step}): training stopped (try a lower learning rate or gradient clipping)"
            )
            self.trainer.failed = True


def _fmt(logs: Logs) -> str:
    return "  ".join(f"{k} {v:.4f}" if abs(v) < 1e4 else f"{k} {v:.3g}" for k, v in logs.items())


class ProgressBar(Callback):
    """A live tqdm bar per epoch on a terminal (loss, metrics, samples/s); one line per epoch otherwise."""

    def __init__(self, file: Any = None, live: bool | None = None) -> None:
        self.file = file or sys.stderr
        self.live = self.file.isatty() if live is None else live
        self.bar: Any = None

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch = epoch
        self.start = time.perf_counter()
        self.seen = 0
        if self.live:
            from tqdm.auto import tqdm

            total = self.trainer.steps_per_epoch
            try:  # a pseudo-terminal may report 0 columns, in which tqdm would draw nothing at all
                width = os.get_terminal_size(self.file.fileno()).columns
            except (OSError, AttributeError, ValueError):
                width = 0
            self.bar = tqdm(total=total, desc=f"epoch {epoch + 1}/{self.trainer.epochs}", file=self.file,
                            leave=True, dynamic_ncols=width > 0, ncols=None if width > 0 else 120,
                            nrows=None if width > 0 else 24, unit="step")

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self.seen += int((logs or {}).get("size", 0))
        if self.bar is not None:
            self.bar.update(1)
            if batch % 10 == 0:
                shown = {k: v for k, v in (logs or {}).items() if k != "size"}
                rate = self.seen / max(time.perf_counter() - self.start, 1e-9)
                self.bar.set_postfix_str(f"{_fmt(shown)}  {rate:,.0f} samples/s", refresh=False)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        elapsed = time.perf_counter() - self.start
        summary = f"{_fmt(logs or {})}  ({elapsed:.1f}s, {self.seen / max(elapsed, 1e-9):,.0f} samples/s)"
        if self.bar is not None:
            # validation first: if the terminal is narrow, tqdm cuts the end of the line, and the training
            # numbers were on screen during the epoch already
            shown = dict(sorted((logs or {}).items(), key=lambda kv: not kv[0].startswith("val_")))
            self.bar.set_postfix_str(_fmt({k: v for k, v in shown.items() if k != "lr"}), refresh=True)
            self.bar.close()
            self.bar = None
        else:
            print(f"epoch {epoch + 1}/{self.trainer.epochs}  {summary}", file=self.file, flush=True)


def _monitor_mode(monitor: str, mode: str, owner: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    return "max" if "acc" in name or name.startswith(("top", "f1", "auc", "precision", "recall")) else "min"


class _Monitor:
    """The best value of a monitored log entry so far (shared by early stopping and checkpoints)."""

    def __init__(self, monitor: str, mode: str, min_delta: float, owner: str) -> None:
        self.monitor = monitor
        self.mode = _monitor_mode(monitor, mode, owner)
        self.min_delta = abs(min_delta)
        self.owner = owner
        self.best: float | None = None
        self.best_epoch: int | None = None

    def value(self, logs: Logs | None) -> float | None:
        logs = logs or {}
        if self.monitor not in logs:
            available = ", ".join(sorted(logs)) or "none"
            raise ValueError(f"{self.owner}: monitored quantity {self.monitor!r} is not in the epoch logs "
                             f"(available: {available}); pass val= to fit for val_* metrics")
        v = float(logs[self.monitor])
        return v if math.isfinite(v) else None

    def improved(self, v: float) -> bool:
        if self.best is None:
            return True
        return v < self.best - self.min_delta if self.mode == "min" else v > self.best + self.min_delta

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]


def _snapshot(model: Any) -> dict[str, Any]:
    return {k: v.data.copy() for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    With ``restore_best_weights`` (the default) the model ends with the weights of its best epoch,
    whatever ended training: early stop, the last epoch, a NaN loss or an interrupt.

    Args:
        monitor: a key of the epoch logs, e.g. ``'val_loss'`` or ``'val_accuracy'``.
        patience: epochs without improvement before stopping.
        min_delta: smallest change that counts as an improvement.
        mode: ``'min'``, ``'max'`` or ``'auto'`` (max for accuracy-like names, min otherwise).
        restore_best_weights: load the best epoch's weights at the end of training.
        start_from_epoch: epochs to wait before monitoring (warm-up).
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True, start_from_epoch: int = 0) -> None:
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.tracker = _Monitor(monitor, mode, min_delta, "EarlyStopping")
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.best_weights: dict[str, Any] | None = None
        self.stopped_epoch: int | None = None

    @property
    def best(self) -> float | None:
        return self.tracker.best

    @property
    def best_epoch(self) -> int | None:
        return self.tracker.best_epoch

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if epoch < self.start_from_epoch:
            return
        v = self.tracker.value(logs)
        if v is not None and self.tracker.improved(v):
            self.tracker.best, self.tracker.best_epoch = v, epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = _snapshot(self.trainer.model)
            return
        self.wait += 1
        if self.wait >= self.patience:  # Keras's rule: patience = epochs without improvement tolerated
            self.stopped_epoch = epoch
            self.trainer.stop_training = True
            self.trainer.stop_reason = (
                f"early stopping: {self.tracker.monitor} has not improved for {self.wait} epochs "
                f"(best {self.tracker.best:.6g} at epoch {(self.tracker.best_epoch or 0) + 1})"
            )

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.trainer.model.load_state_dict(self.best_weights)
            self.trainer.restored_epoch = self.tracker.best_epoch

    def state_dict(self) -> dict[str, Any]:
        return {**self.tracker.state_dict(), "wait": self.wait, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.tracker.load_state_dict(state)
        self.wait = int(state["wait"])
        self.best_weights = state.get("best_weights")


class ModelCheckpoint(Callback):
    """Save resumable checkpoints: ``dirpath/last`` after every epoch and ``dirpath/best`` when
    ``monitor`` improves (see :mod:`nerve.train.checkpoint` for the format and its crash safety).

    Args:
        dirpath: directory of the checkpoints (created if needed).
        monitor: the log entry that decides ``best`` (``None``: keep ``last`` only).
        mode: ``'min'``, ``'max'`` or ``'auto'``.
        save_last: write ``last`` every epoch (what ``nerve resume`` continues from).
        every_n_steps: also write ``last`` every n optimizer steps (mid-epoch, resumable exactly).
        config: stored in the checkpoint so a run can be rebuilt from it.
    """

    def __init__(self, dirpath: str | Path, monitor: str | None = "val_loss", mode: str = "auto",
                 save_last: bool = True, every_n_steps: int | None = None,
                 config: dict[str, Any] | None = None) -> None:
        self.dirpath = Path(dirpath)
        self.tracker = _Monitor(monitor, mode, 0.0, "ModelCheckpoint") if monitor else None
        self.save_last = save_last
        if every_n_steps is not None and every_n_steps < 1:
            raise ValueError(f"ModelCheckpoint: every_n_steps must be >= 1, got {every_n_steps}")
        self.every_n_steps = every_n_steps
        self.config = config
        self.saved: list[Path] = []

    @property
    def best_path(self) -> Path:
        return self.dirpath / "best"

    @property
    def last_path(self) -> Path:
        return self.dirpath / "last"

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.every_n_steps and self.trainer.global_step % self.every_n_steps == 0:
            self.trainer.save_checkpoint(self.last_path, config=self.config)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        # ``best`` first: the tracker's new best then goes into ``last`` too, so a resume keeps it.
        if self.tracker is not None:
            v = self.tracker.value(logs)
            if v is not None and self.tracker.improved(v):
                self.tracker.best, self.tracker.best_epoch = v, epoch
                self.saved.append(self.trainer.save_checkpoint(self.best_path, config=self.config,
                                                               epoch_complete=True))
        if self.save_last:
            self.saved.append(self.trainer.save_checkpoint(self.last_path, config=self.config,
                                                           epoch_complete=True))

    def state_dict(self) -> dict[str, Any] | None:
        return self.tracker.state_dict() if self.tracker is not None else None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.tracker is not None and state:
            self.tracker.load_state_dict(state)


class LearningRateScheduler(Callback):
    """Step a ``nerve.optim.lr_scheduler`` scheduler every epoch or every batch, or set the lr from a
    Keras-style function ``schedule(epoch, lr) -> lr`` at the start of each epoch.

    ``ReduceLROnPlateau`` is stepped with ``monitor`` from the epoch logs (``val_loss`` by default,
    ``loss`` without validation).
    """

    def __init__(self, schedule: Any, interval: str = "epoch", monitor: str = "val_loss") -> None:
        if interval not in ("epoch", "step"):
            raise ValueError(f"LearningRateScheduler: interval must be 'epoch' or 'step', got {interval!r}")
        self.schedule = schedule
        self.interval = interval
        self.monitor = monitor
        self.is_function = not hasattr(schedule, "step")

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        if self.is_function:
            for group in self.trainer.optimizer.param_groups:
                group["lr"] = float(self.schedule(epoch, group["lr"]))

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if not self.is_function and self.interval == "step":
            self.schedule.step()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.is_function or self.interval != "epoch":
            return
        if hasattr(self.schedule, "best"):  # ReduceLROnPlateau needs the monitored metric
            logs = logs or {}
            self.schedule.step(logs.get(self.monitor, logs.get("loss")))
        else:
            self.schedule.step()

    def state_dict(self) -> dict[str, Any] | None:
        return None if self.is_function else self.schedule.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not self.is_function:
            self.schedule.load_state_dict(state)


class GradientClipping(Callback):
    """Clip gradients between ``backward`` and the optimizer step: by global norm and/or by value."""

    def __init__(self, max_norm: float | None = None, clip_value: float | None = None,
                 norm_type: float = 2.0) -> None:
        if max_norm is None and clip_value is None:
            raise ValueError("GradientClipping: give max_norm, clip_value or both")
        for name, v in (("max_norm", max_norm), ("clip_value", clip_value)):
            if v is not None and not v > 0:
                raise ValueError(f"GradientClipping: {name} must be positive, got {v}")
        self.max_norm, self.clip_value, self.norm_type = max_norm, clip_value, norm_type
        self.last_norm: float | None = None

    def on_before_optimizer_step(self) -> None:
        from nerve.nn.utils import clip_grad_norm_, clip_grad_value_

        params = [p for p in self.trainer.model.parameters() if p.grad is not None]
        if self.clip_value is not None:
            clip_grad_value_(params, self.clip_value)
        if self.max_norm is not None:
            self.last_norm = float(clip_grad_norm_(params, self.max_norm, self.norm_type).item())

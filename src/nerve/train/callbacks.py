"""Callbacks with Keras's hook names: progress bar, history, NaN guard.

A callback overrides any of ``on_train_begin/end``, ``on_epoch_begin/end``, ``on_train_batch_begin/end``
and ``on_test_begin/end``; it reaches the trainer (and model) through ``self.trainer`` and can stop
training by setting ``self.trainer.stop_training = True``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable
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

    def on_train_begin(self, logs: Logs | None = None) -> None:
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
                f"loss became {loss} at epoch {self.epoch + 1}, step {batch + 1}: training stopped "
                "(try a lower learning rate or gradient clipping)"
            )


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
            self.bar = tqdm(total=total, desc=f"epoch {epoch + 1}/{self.trainer.epochs}", file=self.file,
                            leave=True, dynamic_ncols=True, unit="step")

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
            self.bar.set_postfix_str(summary, refresh=True)
            self.bar.close()
            self.bar = None
        else:
            print(f"epoch {epoch + 1}/{self.trainer.epochs}  {summary}", file=self.file, flush=True)

"""Run folders: ``runs/<name>/`` with the config, per-epoch metrics, plots, weights and results."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nerve.io.serialization import atomic_write_bytes
from nerve.train.callbacks import Callback, Logs
from nerve.train.plots import plot_learning_curves


def new_run_dir(root: str | Path, name: str) -> Path:
    """A fresh ``root/name-YYYYmmdd-HHMMSS`` directory (suffixed if it exists)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{name}-{stamp}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = Path(f"{base}-{k}")
    path.mkdir(parents=True)
    return path


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


class RunLogger(Callback):
    """Records a run: ``config.json`` at the start, a line of ``metrics.jsonl`` per epoch (append-only),
    and ``learning_curves.png`` at the end (if matplotlib is installed).
    """

    def __init__(self, run_dir: str | Path, config: Mapping[str, Any] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.config = dict(config or {})
        self.plots: list[Path] = []

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_json(self.run_dir / "config.json", self.config)
        self.start = time.time()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        record = {"epoch": epoch + 1, "time_s": round(time.time() - self.start, 3), **(logs or {})}
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")

    def on_train_end(self, logs: Logs | None = None) -> None:
        history = self.trainer.history.history
        if history:
            path = plot_learning_curves(history, self.run_dir / "learning_curves.png")
            if path is not None:
                self.plots.append(path)

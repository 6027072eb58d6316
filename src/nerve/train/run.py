"""Run folders: ``runs/<name>/`` with the config, per-epoch metrics, checkpoints, plots, weights, results and a
self-contained ``report.html``; each run is also listed in the ``runs/runs.db`` index.

``train_run`` is what ``nerve train`` and ``nerve resume`` do; it is a function so that notebooks and tests
can run a recipe exactly as the command does.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nerve.io.serialization import atomic_write_bytes
from nerve.train.callbacks import Callback, EarlyStopping, Logs, ModelCheckpoint
from nerve.train.plots import plot_learning_curves

CONFIG = "config.json"
DATA_INFO = "data.json"
RESULTS = "results.json"
WEIGHTS = "model.safetensors"
CHECKPOINTS = "checkpoints"


def new_run_dir(root: str | Path, name: str) -> Path:
    """A fresh ``root/name-YYYYmmdd-HHMMSS`` directory (suffixed if it exists)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{name}-{stamp}"
    path, k = base, 1
    while True:
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:  # another run started in the same second
            k += 1
            path = Path(f"{base}-{k}")


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


class RunLogger(Callback):
    """Records a run: ``config.json`` at the start, a line of ``metrics.jsonl`` per epoch (append-only),
    ``learning_curves.png`` at the end (if matplotlib is installed), and TensorBoard event files when
    ``tensorboard`` is set (tensorboardX, the ``[tensorboard]`` extra).
    """

    def __init__(self, run_dir: str | Path, config: Mapping[str, Any] | None = None,
                 tensorboard: bool = False) -> None:
        self.run_dir = Path(run_dir)
        self.config = dict(config or {})
        self.plots: list[Path] = []
        self.tensorboard = tensorboard
        self.writer: Any = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_json(self.run_dir / CONFIG, self.config)
        self.start = time.time()
        if self.tensorboard:
            try:
                from tensorboardX import SummaryWriter
            except ImportError:
                raise ImportError("tensorboard = true needs tensorboardX: pip install 'nerve[tensorboard]'") from None
            self.writer = SummaryWriter(logdir=str(self.run_dir))

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        record = {"epoch": epoch + 1, "time_s": round(time.time() - self.start, 3), **(logs or {})}
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for k, v in (logs or {}).items():
                group = "validation" if k.startswith("val_") else "train"
                self.writer.add_scalar(f"{k.removeprefix('val_')}/{group}", v, epoch + 1)
            self.writer.flush()

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        history = self.trainer.history.history
        if history:
            path = plot_learning_curves(history, self.run_dir / "learning_curves.png")
            if path is not None:
                self.plots.append(path)


@dataclass
class RunResult:
    run_dir: Path
    status: str  # finished / stopped / failed / interrupted
    test: dict[str, float]
    results: dict[str, Any]
    message: str | None  # why training stopped early, if it did


def _status(trainer: Any) -> str:
    if trainer.failed:
        return "failed"
    return "stopped" if trainer.stop_reason else "finished"


def train_run(recipe: Any, config: dict[str, Any], runs_dir: str | Path = "runs", name: str | None = None,
              progress: bool = True, resume_dir: str | Path | None = None) -> RunResult:
    """Train ``recipe`` with ``config`` into a new run folder (or continue ``resume_dir`` from its last
    checkpoint), evaluate on the test split, and write results, plots, weights and the report.
    """
    import nerve
    from nerve.io import save
    from nerve.optim.lr_scheduler import CosineAnnealingLR
    from nerve.train.metrics import confusion_matrix
    from nerve.train.plots import plot_confusion_matrix
    from nerve.train.recipes import build
    from nerve.train.report import write_report
    from nerve.train.runs_db import RunIndex
    from nerve.train.trainer import Trainer

    nerve.manual_seed(config["seed"])
    setup = build(recipe, config)
    config = {**config, "recipe": recipe.name}
    run_dir = Path(resume_dir) if resume_dir is not None else new_run_dir(runs_dir, name or recipe.name)
    index = RunIndex(run_dir.parent)
    index.register(run_dir, recipe.name, config)
    write_json(run_dir / DATA_INFO, setup.info)
    callbacks: list[Callback] = [RunLogger(run_dir, config, tensorboard=config.get("tensorboard", False))]
    if config.get("patience") is not None:
        callbacks.append(EarlyStopping("val_loss", patience=config["patience"]))
    callbacks.append(ModelCheckpoint(run_dir / CHECKPOINTS, monitor="val_loss", config=config))
    trainer = Trainer(setup.model, setup.optimizer, setup.loss_fn, metrics=setup.metrics,
                      scheduler=setup.scheduler, scheduler_interval=setup.scheduler_interval,
                      callbacks=callbacks, progress=progress,
                      grad_clip_norm=config.get("grad_clip_norm"), stateful=setup.stateful)
    if resume_dir is not None:
        state = trainer.load_checkpoint(run_dir / CHECKPOINTS / "last")
        print(f"resuming {run_dir.name} at epoch {trainer.epoch + 1} (step {trainer.global_step})", flush=True)
        planned = state.get("config", {}).get("epochs", config["epochs"])
        if planned != config["epochs"] and isinstance(setup.scheduler, CosineAnnealingLR):
            # More (or fewer) epochs than planned: stretch the cosine over the new total and continue on it
            # from the current epoch, rather than training the extra epochs at the schedule's final lr of 0.
            setup.scheduler.T_max = config["epochs"]
            setup.scheduler._update_lr(setup.scheduler.last_epoch)
            print(f"the run planned {planned} epochs, now {config['epochs']}: cosine schedule stretched, "
                  f"lr {setup.optimizer.param_groups[0]['lr']:.3g}", flush=True)
    else:
        print(f"nerve {nerve.__version__}: {setup.description}; run folder {run_dir}", flush=True)
    start, first_epoch = time.perf_counter(), trainer.epoch
    status = "interrupted"
    try:
        history = trainer.fit(setup.train, epochs=config["epochs"], val=setup.val)
        status = _status(trainer)
    finally:
        if status == "interrupted":
            index.finish(run_dir, "interrupted", trainer.epoch, final=None, test=None)
            write_report(run_dir, status="interrupted")
    train_seconds = time.perf_counter() - start
    if trainer.stop_reason:
        print(f"nerve: {trainer.stop_reason}", file=sys.stderr, flush=True)

    test = trainer.evaluate(setup.test)
    if setup.class_names:
        outputs = trainer.predict(setup.test)
        targets = np.concatenate([np.asarray(b[1].data) for b in setup.test])
        matrix = confusion_matrix(outputs.argmax(axis=1), targets, len(setup.class_names))
        plot_confusion_matrix(matrix, setup.class_names, run_dir / "confusion_matrix.png")
    extra = recipe.finish(setup, trainer, run_dir) if recipe.finish is not None else {}
    save(setup.model.state_dict(), run_dir / WEIGHTS, metadata={"recipe": recipe.name})
    epochs_run = len(history.epoch)
    val_losses = history.history.get("val_loss", [])
    results = {
        "test": test, "epochs": epochs_run, "train_seconds": round(train_seconds, 2),
        "seconds_per_epoch": round(train_seconds / max(epochs_run - first_epoch, 1), 2),
        "final": {k: v[-1] for k, v in history.history.items()},
        "best_epoch": int(np.nanargmin(val_losses)) + 1 if val_losses and not np.isnan(val_losses).all() else None,
        "restored_epoch": trainer.restored_epoch + 1 if trainer.restored_epoch is not None else None,
        "stop_reason": trainer.stop_reason, "status": status, **extra,
    }
    write_json(run_dir / RESULTS, results)
    index.finish(run_dir, status, epochs_run, final=results["final"], test=test)  # type: ignore[arg-type]
    write_report(run_dir, status=status)
    return RunResult(run_dir, status, test, results, trainer.stop_reason)

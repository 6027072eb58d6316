"""The ``nerve`` command: ``nerve train [recipe] [--epochs N --lr X ...]``, ``nerve recipes``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


class CLIError(Exception):
    """A user error reported as one line on stderr with a non-zero exit code (no traceback)."""


def _train(args: argparse.Namespace) -> None:
    import nerve
    from nerve.io import save
    from nerve.train import Trainer
    from nerve.train.metrics import confusion_matrix
    from nerve.train.plots import plot_confusion_matrix
    from nerve.train.recipes import RECIPES
    from nerve.train.run import RunLogger, new_run_dir, write_json

    if args.recipe not in RECIPES:
        raise CLIError(f"unknown recipe {args.recipe!r}; available: {', '.join(sorted(RECIPES))}")
    recipe = RECIPES[args.recipe]
    config: dict[str, Any] = dict(recipe.defaults)
    for key in ("epochs", "lr", "batch_size", "seed", "data_dir"):
        value = getattr(args, key)
        if value is not None:
            config[key] = value
    if config["epochs"] < 1:
        raise CLIError(f"--epochs must be at least 1, got {config['epochs']}")
    if config["lr"] <= 0:
        raise CLIError(f"--lr must be positive, got {config['lr']}")
    if config["batch_size"] < 1:
        raise CLIError(f"--batch-size must be at least 1, got {config['batch_size']}")

    nerve.manual_seed(config["seed"])
    setup = recipe.build(config)
    run_dir = new_run_dir(args.runs_dir, args.name or recipe.name)
    config["recipe"] = recipe.name
    print(f"nerve {nerve.__version__}: {setup.description}; run folder {run_dir}", flush=True)
    logger = RunLogger(run_dir, config)
    trainer = Trainer(setup.model, setup.optimizer, setup.loss_fn, metrics=setup.metrics,
                      scheduler=setup.scheduler, callbacks=[logger], progress=not args.no_progress)
    start = time.perf_counter()
    history = trainer.fit(setup.train, epochs=config["epochs"], val=setup.val)
    train_seconds = time.perf_counter() - start
    if trainer.stop_reason:
        print(f"nerve: {trainer.stop_reason}", file=sys.stderr)

    test = trainer.evaluate(setup.test)
    outputs = trainer.predict(setup.test)
    targets = np.concatenate([b[1].data for b in setup.test])
    matrix = confusion_matrix(outputs.argmax(axis=1), targets, len(setup.class_names))
    plot_confusion_matrix(matrix, setup.class_names, run_dir / "confusion_matrix.png")
    save(setup.model.state_dict(), run_dir / "model.safetensors", metadata={"recipe": recipe.name})
    epochs_run = len(history.epoch)
    results = {
        "test": test, "epochs": epochs_run, "train_seconds": round(train_seconds, 2),
        "seconds_per_epoch": round(train_seconds / max(epochs_run, 1), 2),
        "final": {k: v[-1] for k, v in history.history.items()},
    }
    write_json(run_dir / "results.json", results)
    files = sorted(p.name for p in Path(run_dir).iterdir())
    print(f"test accuracy: {100 * test['accuracy']:.2f}%  (test loss {test['loss']:.4f}, "
          f"{len(targets):,} images; {results['seconds_per_epoch']:.1f}s per epoch)")
    print(f"run folder: {run_dir}  ({', '.join(files)})")


def _recipes(args: argparse.Namespace) -> None:
    from nerve.train.recipes import RECIPES

    for name, r in sorted(RECIPES.items()):
        print(f"{name:20s} {r.summary}")


def build_parser() -> argparse.ArgumentParser:
    import nerve

    parser = argparse.ArgumentParser(prog="nerve", description="nerve: neural networks from scratch on NumPy.")
    parser.add_argument("--version", action="version", version=f"nerve {nerve.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a built-in recipe (default: mlp-mnist)")
    train.add_argument("recipe", nargs="?", default="mlp-mnist", help="recipe name (see `nerve recipes`)")
    train.add_argument("--epochs", type=int, help="number of passes over the training set")
    train.add_argument("--lr", type=float, help="learning rate")
    train.add_argument("--batch-size", dest="batch_size", type=int, help="samples per gradient step")
    train.add_argument("--seed", type=int, help="random seed (initialisation, shuffling)")
    train.add_argument("--data-dir", dest="data_dir", help="dataset cache (default $NERVE_DATA or ~/.cache/nerve)")
    train.add_argument("--runs-dir", dest="runs_dir", default="runs", help="where run folders go (default runs/)")
    train.add_argument("--name", help="run name prefix (default: the recipe name)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=_train)

    recipes = sub.add_parser("recipes", help="list built-in recipes")
    recipes.set_defaults(func=_recipes)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except CLIError as e:
        print(f"nerve: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nerve: interrupted", file=sys.stderr)
        return 130
    except (RuntimeError, ValueError, OSError) as e:
        print(f"nerve: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

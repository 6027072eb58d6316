"""The ``nerve`` command.

    nerve train [recipe | config.toml] [--epochs N --lr X --batch-size B --set key=value ...]
    nerve resume <run> [--epochs N]
    nerve evaluate <run>
    nerve predict <run> <input> [--output predictions.csv]
    nerve summary <recipe | config.toml>
    nerve runs [--compare A B]
    nerve recipes

A ``<run>`` is a run folder, or a run's name (or a unique prefix of it) in ``runs/runs.db``. User errors
(a bad value, a missing file, an unknown key or column) end with one line on stderr and a non-zero exit
code, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np


class CLIError(Exception):
    """A user error reported as one line on stderr with a non-zero exit code (no traceback)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of argparse's usage block
        raise CLIError(f"{message} (see `{self.prog} --help`)")


# ------------------------------------------------------------------------------------ helpers
def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    from nerve.train.config import parse_value

    out: dict[str, Any] = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CLIError(f"--set expects key=value, got {item!r}")
        out[key.strip().replace("-", "_")] = parse_value(value.strip())
    for key in ("epochs", "lr", "batch_size", "seed", "data_dir", "data", "target"):
        value = getattr(args, key, None)
        if value is not None:
            out[key] = value
    if getattr(args, "tensorboard", False):
        out["tensorboard"] = True
    return out


def _resolve_run(run: str, runs_dir: str) -> Path:
    from nerve.train.runs_db import RunIndex, RunNotFound

    path = Path(run)
    if (path / "config.json").is_file():
        return path
    if not Path(runs_dir).is_dir():
        raise CLIError(f"no run {run!r}: it is not a run folder and there is no runs folder {runs_dir!r}")
    try:
        return RunIndex(runs_dir).get(run).path
    except RunNotFound as e:
        raise CLIError(str(e).strip("'\"")) from None


def _load_run(run_dir: Path) -> tuple[Any, dict[str, Any]]:
    """The recipe and config a run was trained with (validated again: the run may come from elsewhere)."""
    from nerve.train.config import get_recipe, merge
    from nerve.train.run import CONFIG, read_json

    try:
        saved = read_json(run_dir / CONFIG)
    except FileNotFoundError:
        raise CLIError(f"{run_dir} is not a run folder (no {CONFIG})") from None
    recipe = get_recipe(saved.pop("recipe", ""))
    return recipe, merge(recipe, saved, str(run_dir / CONFIG))


def _print_result(result: Any) -> None:
    test = result.test
    seconds = result.results["seconds_per_epoch"]
    if "accuracy" in test:
        headline = f"test accuracy: {100 * test['accuracy']:.2f}%  (test loss {test['loss']:.4f}"
    else:
        extra = "".join(f", {k} {v:.4g}" for k, v in test.items() if k != "loss")
        headline = f"test loss: {test['loss']:.4g}  ({extra.lstrip(', ')}"
    print(f"{headline}; {seconds:.1f}s per epoch)")
    files = sorted(p.name for p in result.run_dir.iterdir() if not p.name.startswith("."))
    print(f"run folder: {result.run_dir}  ({', '.join(files)})")


def _exit_code(status: str) -> int:
    return {"finished": 0, "stopped": 0, "failed": 1}.get(status, 1)


# ----------------------------------------------------------------------------------- commands
def _train(args: argparse.Namespace) -> int:
    from nerve.train.config import resolve
    from nerve.train.run import train_run

    recipe, config = resolve(args.spec, _overrides(args))
    result = train_run(recipe, config, runs_dir=args.runs_dir, name=args.name, progress=not args.no_progress)
    _print_result(result)
    return _exit_code(result.status)


def _resume(args: argparse.Namespace) -> int:
    from nerve.train import checkpoint
    from nerve.train.config import merge
    from nerve.train.run import CHECKPOINTS, train_run

    run_dir = _resolve_run(args.run, args.runs_dir)
    recipe, config = _load_run(run_dir)
    if args.epochs is not None:
        config = merge(recipe, {**config, "epochs": args.epochs}, "command line")
    if not checkpoint.exists(run_dir / CHECKPOINTS / "last"):
        raise CLIError(f"{run_dir} has no checkpoint to resume from ({CHECKPOINTS}/last.json is missing)")
    result = train_run(recipe, config, progress=not args.no_progress, resume_dir=run_dir)
    _print_result(result)
    return _exit_code(result.status)


def _rebuild(run_dir: Path, weights: str) -> tuple[Any, Any]:
    """The run's setup (data and model) with its trained weights loaded."""
    import nerve
    from nerve.io import load
    from nerve.train import checkpoint
    from nerve.train.recipes import build
    from nerve.train.run import CHECKPOINTS, WEIGHTS

    recipe, config = _load_run(run_dir)
    nerve.manual_seed(config["seed"])
    setup = build(recipe, config)
    if weights == "final":
        state = load(run_dir / WEIGHTS)
    else:
        state = checkpoint.load_checkpoint(run_dir / CHECKPOINTS / weights)["model"]
    setup.model.load_state_dict(state)
    setup.model.eval()
    return setup, config


def _evaluate(args: argparse.Namespace) -> int:
    from nerve.train import Trainer

    run_dir = _resolve_run(args.run, args.runs_dir)
    setup, _ = _rebuild(run_dir, args.weights)
    trainer = Trainer(setup.model, setup.optimizer, setup.loss_fn, metrics=setup.metrics, progress=False)
    for split, loader in (("validation", setup.val), ("test", setup.test)):
        logs = trainer.evaluate(loader)
        shown = "  ".join(f"{k} {100 * v:.2f}%" if k == "accuracy" else f"{k} {v:.4f}" for k, v in logs.items())
        print(f"{run_dir.name} ({args.weights} weights) {split}: {shown}  ({len(loader.dataset):,} samples)")
    return 0


def _read_inputs(path: Path, info: dict[str, Any]) -> np.ndarray:
    """Raw inputs for ``nerve predict`` from a .npy/.npz array, a CSV of feature columns, or image file(s)."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise CLIError(f"input not found: {path}")
    if suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if suffix == ".npz":
        from nerve.data.files import X_KEYS

        with np.load(path, allow_pickle=False) as archive:
            for key in X_KEYS:  # the names read_npz accepts for inputs
                if key in archive:
                    return archive[key]
            raise CLIError(f"{path}: no array named X (found: {', '.join(archive.files)})")
    if suffix == ".csv":
        import csv

        names = info.get("feature_names")
        if not names:
            raise CLIError(f"this run was not trained on a table; give images or a .npy/.npz array, not {path.name}")
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [n for n in names if n not in (reader.fieldnames or [])]
            if missing:
                raise CLIError(f"{path}: missing feature column(s) {missing} that the model was trained on")
            try:
                return np.array([[float(row[n]) for n in names] for row in reader], dtype=np.float32)
            except ValueError as e:
                raise CLIError(f"{path}: non-numeric feature value ({e})") from None
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    return np.stack([_read_image(p, info) for p in files])


def _read_image(path: Path, info: dict[str, Any]) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        raise CLIError("reading images needs Pillow: pip install 'nerve[image]'") from None
    shape = info["input_shape"]  # [C, H, W]
    try:
        with Image.open(path) as img:
            img = img.convert("L" if shape[0] == 1 else "RGB").resize((shape[2], shape[1]))
            arr = np.asarray(img, dtype=np.uint8)
    except OSError as e:
        raise CLIError(f"cannot read image {path}: {e}") from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _predict(args: argparse.Namespace) -> int:
    import nerve
    from nerve.train.recipes import prepare_inputs
    from nerve.train.run import DATA_INFO, read_json

    run_dir = _resolve_run(args.run, args.runs_dir)
    setup, _ = _rebuild(run_dir, args.weights)
    info = read_json(run_dir / DATA_INFO)
    x = prepare_inputs(_read_inputs(Path(args.input), info), info)
    with nerve.no_grad():
        out = setup.model(nerve.tensor(x)).data
    lines = []
    if info["task"] == "classification":
        z = out - out.max(axis=1, keepdims=True)
        probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        names = info["class_names"]
        lines.append("index,prediction,probability")
        lines += [f"{i},{names[k]},{probs[i, k]:.4f}" for i, k in enumerate(probs.argmax(axis=1))]
    else:
        lines.append("index," + ",".join(f"prediction_{j}" for j in range(out.shape[1])))
        lines += [f"{i}," + ",".join(f"{v:.6g}" for v in row) for i, row in enumerate(out)]
    text = "\n".join(lines) + "\n"
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {len(lines) - 1} predictions to {args.output}")
    else:
        print(text, end="")
    return 0


def _summary(args: argparse.Namespace) -> int:
    import nerve
    from nerve.analysis import summary
    from nerve.train.config import resolve
    from nerve.train.recipes import build

    recipe, config = resolve(args.spec, _overrides(args))
    nerve.manual_seed(config["seed"])
    setup = build(recipe, config)
    x = next(iter(setup.val))[0][:1]
    print(f"{recipe.name}: {setup.description}")
    print(summary(setup.model, x))
    print(f"optimizer {type(setup.optimizer).__name__} lr {config['lr']}, {config['epochs']} epochs, "
          f"batch size {config['batch_size']}; {len(setup.train.dataset):,} training samples")
    return 0


def _runs(args: argparse.Namespace) -> int:
    from nerve.train.runs_db import RunIndex, RunNotFound, format_comparison, format_runs_table

    if not Path(args.runs_dir).is_dir():
        raise CLIError(f"no runs folder {args.runs_dir!r} (train something first, or pass --runs-dir)")
    index = RunIndex(args.runs_dir)
    if args.compare:
        try:
            a, b = (index.get(name) for name in args.compare)
        except RunNotFound as e:
            raise CLIError(str(e).strip("'\"")) from None
        print(format_comparison(a, b))
    else:
        records = index.runs()
        print(format_runs_table(records) if records else f"no runs in {args.runs_dir}")
    return 0


def _recipes(args: argparse.Namespace) -> int:
    from nerve.train.recipes import RECIPES

    for name, r in sorted(RECIPES.items()):
        print(f"{name:20s} {r.summary}")
    return 0


# ------------------------------------------------------------------------------------- parser
def _add_overrides(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, help="number of passes over the training set")
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument("--batch-size", dest="batch_size", type=lambda s: s if s == "full" else int(s),
                   help="samples per step: n (mini-batch), 1 (stochastic) or 'full' (batch gradient descent)")
    p.add_argument("--seed", type=int, help="random seed (initialisation, shuffling, dropout)")
    p.add_argument("--data-dir", dest="data_dir", help="dataset cache (default $NERVE_DATA or ~/.cache/nerve)")
    p.add_argument("--data", help="your data for the 'mlp' recipe: a .csv, a .npz (X, y) or an image folder")
    p.add_argument("--target", help="the CSV column to predict (the 'mlp' recipe)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="any config key, e.g. --set hidden=[128,64]")


def build_parser() -> argparse.ArgumentParser:
    import nerve

    parser = _Parser(prog="nerve", description="nerve: neural networks from scratch on NumPy.")
    parser.add_argument("--version", action="version", version=f"nerve {nerve.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train a recipe or a config file (default: mlp-mnist)")
    train.add_argument("spec", nargs="?", default="mlp-mnist", metavar="recipe|config.toml",
                       help="recipe name (see `nerve recipes`) or a TOML config file (default mlp-mnist)")
    _add_overrides(train)
    train.add_argument("--runs-dir", dest="runs_dir", default="runs", help="where run folders go (default runs/)")
    train.add_argument("--name", help="run name prefix (default: the recipe name)")
    train.add_argument("--tensorboard", action="store_true", help="also write TensorBoard event files")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=_train)

    resume = sub.add_parser("resume", help="continue a run from its last checkpoint")
    resume.add_argument("run", help="run folder or name")
    resume.add_argument("--epochs", type=int, help="train until this many epochs in total")
    resume.add_argument("--runs-dir", dest="runs_dir", default="runs")
    resume.add_argument("--no-progress", action="store_true")
    resume.set_defaults(func=_resume)

    for name, func, text in (("evaluate", _evaluate, "metrics of a trained run on its validation and test data"),
                             ("predict", _predict, "predictions of a trained run on new inputs")):
        p = sub.add_parser(name, help=text)
        p.add_argument("run", help="run folder or name")
        if name == "predict":
            p.add_argument("input", help=".npy/.npz array, .csv of feature columns, an image or a folder of images")
            p.add_argument("--output", help="write the predictions to this CSV file")
        p.add_argument("--weights", choices=["final", "best", "last"], default="final",
                       help="final weights (model.safetensors) or a checkpoint (default final)")
        p.add_argument("--runs-dir", dest="runs_dir", default="runs")
        p.set_defaults(func=func)

    summary = sub.add_parser("summary", help="layers, output shapes and parameter counts of a recipe's model")
    summary.add_argument("spec", metavar="recipe|config.toml", help="recipe name or TOML config file")
    _add_overrides(summary)
    summary.set_defaults(func=_summary)

    runs = sub.add_parser("runs", help="list runs, or compare two")
    runs.add_argument("--compare", nargs=2, metavar=("A", "B"), help="two run names (or prefixes) to compare")
    runs.add_argument("--runs-dir", dest="runs_dir", default="runs")
    runs.set_defaults(func=_runs)

    recipes = sub.add_parser("recipes", help="list built-in recipes")
    recipes.set_defaults(func=_recipes)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from nerve.io import CheckpointError
    from nerve.train.config import ConfigError

    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except (CLIError, ConfigError) as e:
        print(f"nerve: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nerve: interrupted (the run folder keeps its last checkpoint: `nerve resume <run>`)", file=sys.stderr)
        return 130
    except (CheckpointError, RuntimeError, ValueError, OSError, ImportError) as e:
        print(f"nerve: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

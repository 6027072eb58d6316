"""Do transformers need more data than CNNs? Test accuracy on MNIST against the number of training images.

    python -m benchmarks.data_efficiency                                  # 1k, 10k, 50k; lenet-mnist vs vit-mnist
    python -m benchmarks.data_efficiency --recipes lenet-mnist resnet-mnist vit-mnist --csv study.csv

Each recipe is trained through ``nerve.train.run.train_run`` (the path ``nerve train`` takes) with its own
defaults (model, optimizer, learning rate, schedule) except these keys, set the same for every model:

* ``train_size``: a stratified, seeded subsample of the training split;
* ``epochs``, by one rule: ``epochs(n) = min(max_epochs, max(1, round(budget / n)))``, so every model sees
  the same number of training examples at each size (``budget`` 200k by default: 4 passes over 50k, 20 over
  10k), capped for the smallest sizes (``max_epochs`` 100: 1k images are seen 100 times);
* ``augment``: ``crop`` by default (pad-2-and-crop shifts), so augmentation is not what differs between the
  models; ``--augment recipe`` keeps each recipe's own;
* ``val_size``: validation is only logged (nothing is selected by it), so it is shrunk to the last 1000
  training images: 5k validation images every epoch would cost more than training on 1k.

The test set is MNIST's 10k test images for every run. Prints a table and writes a CSV with one row per
(recipe, train_size).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path


def epochs_for(n: int, budget: int, max_epochs: int) -> int:
    """The shared epoch rule: the same number of examples seen, capped for tiny training sets."""
    return min(max_epochs, max(1, round(budget / n)))


def run_one(recipe_name: str, train_size: int, epochs: int, seed: int, augment: str, val_size: int,
            runs_dir: Path) -> dict[str, object]:
    from nerve.train.config import resolve
    from nerve.train.run import train_run

    overrides: dict[str, object] = {"train_size": train_size, "epochs": epochs, "seed": seed, "val_size": val_size}
    if augment != "recipe":
        overrides["augment"] = augment
    recipe, config = resolve(recipe_name, overrides)
    start = time.perf_counter()
    result = train_run(recipe, config, runs_dir=runs_dir, progress=False)
    return {"recipe": recipe_name, "train_size": train_size, "epochs": epochs,
            "examples_seen": train_size * epochs, "augment": config.get("augment", "none"),
            "test_accuracy": round(result.test["accuracy"], 4), "test_loss": round(result.test["loss"], 4),
            "final_train_accuracy": round(result.results["final"].get("accuracy", float("nan")), 4),
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.data_efficiency", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipes", nargs="+", default=["lenet-mnist", "vit-mnist"], help="MNIST recipes to compare")
    p.add_argument("--sizes", nargs="+", type=int, default=[1000, 10000, 50000], help="training-set sizes")
    p.add_argument("--budget", type=int, default=200_000, help="training examples seen per run (default 200k)")
    p.add_argument("--max-epochs", type=int, default=100, help="epoch cap for small sizes (default 100)")
    p.add_argument("--augment", default="crop", choices=["none", "affine", "crop", "recipe"],
                   help="training augmentation for every model (default crop); 'recipe': each recipe's default")
    p.add_argument("--val-size", type=int, default=1000, help="validation images, logged only (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS threads (default 1: on a busy 2-core machine two spinning threads run ~8x slower)")
    p.add_argument("--csv", type=Path, default=Path("data_efficiency.csv"), help="where to write the table")
    p.add_argument("--runs-dir", type=Path, default=None, help="keep the run folders here (default: a temp dir)")
    args = p.parse_args(argv)

    import numpy  # noqa: F401  (threadpool_limits only reaches BLAS libraries already loaded)
    from threadpoolctl import threadpool_limits

    rows = []
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(args.threads):
        runs_dir = args.runs_dir or Path(tmp)
        for n in args.sizes:
            epochs = epochs_for(n, args.budget, args.max_epochs)
            for name in args.recipes:
                row = run_one(name, n, epochs, args.seed, args.augment, args.val_size, runs_dir)
                print(f"  {name:14s} n={n:6d} epochs={epochs:3d}  test accuracy {row['test_accuracy']:.4f}  "
                      f"({row['seconds']:.0f} s)", flush=True)
                rows.append(row)
    with open(args.csv, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"\ntest accuracy (%) by training images; epochs = min({args.max_epochs}, round({args.budget} / n)); "
          f"augment: {args.augment}")
    print(f"{'train images':>12s} {'epochs':>6s} " + " ".join(f"{r:>14s}" for r in args.recipes))
    for n in args.sizes:
        cells = {r["recipe"]: r for r in rows if r["train_size"] == n}
        print(f"{n:12d} {epochs_for(n, args.budget, args.max_epochs):6d} "
              + " ".join(f"{100 * cells[r]['test_accuracy']:14.2f}" for r in args.recipes))
    print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()

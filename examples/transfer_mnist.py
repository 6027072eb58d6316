"""Transfer learning on MNIST: pretrain on digits 0-4, then learn digits 5-9 from a few labels.

Three ways to learn 5-9 from ``--shots`` labelled images per class, scored on every 5-9 test image:

* **scratch**: a fresh LeNet-5 trained on the few labels alone;
* **frozen**: the pretrained convolutional features frozen (``requires_grad_(False)``); the dense layers, with
  a new 5-way output layer, trained on top;
* **fine-tuned**: every layer trains, with per-group learning rates: the pretrained convolutions move 3x
  slower than the dense layers, so the few labels adjust the features rather than overwrite them.

Run: ``python examples/transfer_mnist.py [--shots 10] [--pretrain-epochs 2] [--seed 0]``
"""

from __future__ import annotations

import argparse
import copy
import time
from typing import Any

import numpy as np

import nerve
from nerve import nn
from nerve.data import DataLoader, TensorDataset
from nerve.datasets import MNIST
from nerve.models import LeNet5


def digits(train: bool, classes: range, limit_per_class: int | None = None, seed: int = 0) -> TensorDataset:
    """Images of ``classes`` as float32 (N, 1, 28, 28) in [0, 1], labels renumbered from 0."""
    ds = MNIST(train=train)
    rng = np.random.default_rng(seed)
    picked = []
    for c in classes:
        idx = np.flatnonzero(ds.targets == c)
        picked.append(rng.choice(idx, limit_per_class, replace=False) if limit_per_class else idx)
    idx = np.sort(np.concatenate(picked))
    x = ds.data[idx][:, None].astype(np.float32) / np.float32(255)
    return TensorDataset(x, (ds.targets[idx] - classes.start).astype(np.int64))


def train(model: nn.Module, data: TensorDataset, optimizer: nerve.optim.Optimizer, epochs: int,
          batch_size: int, seed: int) -> None:
    loader = DataLoader(data, batch_size=batch_size, shuffle=True, generator=nerve.Generator(seed))
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


@nerve.no_grad()
def accuracy(model: nn.Module, data: TensorDataset) -> float:
    model.eval()
    correct = 0
    for x, y in DataLoader(data, batch_size=1000):
        correct += int((model(x).argmax(dim=1) == y).sum().item())
    return correct / len(data)


def with_new_head(pretrained: nn.Module, classes: int) -> LeNet5:
    """A copy of the pretrained network whose last layer is replaced by a fresh ``classes``-way layer."""
    model = copy.deepcopy(pretrained)
    model.classifier[-1] = nn.Linear(model.classifier[-1].in_features, classes)
    return model


def run(shots: int = 10, pretrain_epochs: int = 2, finetune_epochs: int = 60, seed: int = 0) -> dict[str, Any]:
    """Pretrain on 0-4, then compare scratch / frozen / fine-tuned on 5-9 with ``shots`` labels per class."""
    nerve.manual_seed(seed)
    started = time.perf_counter()
    source_train, source_test = digits(True, range(0, 5)), digits(False, range(0, 5))
    pretrained = LeNet5(num_classes=5)
    train(pretrained, source_train, nerve.optim.Adam(pretrained.parameters(), lr=2e-3), pretrain_epochs, 128, seed)
    results: dict[str, Any] = {"pretrain_accuracy_0_4": accuracy(pretrained, source_test)}

    few = digits(True, range(5, 10), limit_per_class=shots, seed=seed)
    target_test = digits(False, range(5, 10))
    batch = min(32, len(few))

    nerve.manual_seed(seed)
    scratch = LeNet5(num_classes=5)
    train(scratch, few, nerve.optim.Adam(scratch.parameters(), lr=1e-3), finetune_epochs, batch, seed)
    results["scratch"] = accuracy(scratch, target_test)

    nerve.manual_seed(seed)
    frozen = with_new_head(pretrained, 5)
    frozen.features.requires_grad_(False)             # the convolutions keep what they learned on 0-4
    trainable = [p for p in frozen.parameters() if p.requires_grad]
    train(frozen, few, nerve.optim.Adam(trainable, lr=1e-3), finetune_epochs, batch, seed)
    results["frozen"] = accuracy(frozen, target_test)

    nerve.manual_seed(seed)
    tuned = with_new_head(pretrained, 5)
    optimizer = nerve.optim.Adam([{"params": tuned.features.parameters(), "lr": 3e-4},
                                  {"params": tuned.classifier.parameters()}], lr=1e-3)
    train(tuned, few, optimizer, finetune_epochs, batch, seed)
    results["fine_tuned"] = accuracy(tuned, target_test)

    results.update(shots_per_class=shots, labelled_images=len(few), test_images=len(target_test),
                   seconds=round(time.perf_counter() - started, 1))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=10, help="labelled images per class of 5-9 (default 10)")
    parser.add_argument("--pretrain-epochs", type=int, default=2)
    parser.add_argument("--finetune-epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    r = run(args.shots, args.pretrain_epochs, args.finetune_epochs, args.seed)
    print(f"pretrained on 0-4: {r['pretrain_accuracy_0_4']:.2%} test accuracy on 0-4")
    print(f"digits 5-9 from {r['labelled_images']} labels ({r['shots_per_class']} per class), "
          f"accuracy on {r['test_images']} test images:")
    for key, label in (("scratch", "from scratch"), ("frozen", "frozen conv features, dense retrained"),
                       ("fine_tuned", "fine-tuned (conv lr 3e-4, dense lr 1e-3)")):
        print(f"  {label:<40} {r[key]:.2%}")
    print(f"({r['seconds']} s)")


if __name__ == "__main__":
    main()

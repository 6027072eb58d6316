"""Sharpness of the minimum that gradient descent finds: full-batch against mini-batch training on the digits.

The top eigenvalue of the training loss's Hessian (how sharply the loss curves around the trained weights) is
found by power iteration on Hessian-vector products, ``nerve.autograd.functional.hvp``, which differentiates
the gradient a second time (``create_graph=True``). Keskar et al. (2017) reported that large-batch training of
deep networks settles in sharper minima that generalise worse. This script measures it on a small MLP
instead of assuming it: here (seeded, 2026-12) full-batch gradient descent ends at a *flatter* minimum
(top eigenvalue 1.13 against 1.57 for mini-batches of 32) at a similar training loss, with slightly lower
test accuracy (0.967 against 0.983).

    python examples/sharpness_digits.py
"""

from __future__ import annotations

import numpy as np

import nerve
from nerve import nn
from nerve.autograd.functional import hvp
from nerve.data import DataLoader, random_split
from nerve.datasets import Digits


def train(batch_size: int, epochs: int, lr: float, seed: int = 0) -> tuple[nn.Module, float, tuple]:
    """An MLP trained by SGD with ``batch_size`` (the whole training set: batch gradient descent); returns it,
    its test accuracy and the (x, y) training set."""
    nerve.manual_seed(seed)
    train_set, test_set = random_split(Digits(), [0.8, 0.2], generator=nerve.Generator(seed))
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
    optimizer = nerve.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=nerve.Generator(seed))
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
    x_test, y_test = next(iter(DataLoader(test_set, batch_size=len(test_set))))
    with nerve.no_grad():
        accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean().item()
    return model, accuracy, next(iter(DataLoader(train_set, batch_size=len(train_set))))


def top_hessian_eigenvalue(model: nn.Module, x: nerve.Tensor, y: nerve.Tensor,
                           iterations: int = 50) -> tuple[float, float]:
    """The largest eigenvalue λ of d²(training loss)/d(weights)², by power iteration on H v, and the relative
    residual ‖H v − λ v‖ / |λ| of the final unit vector v (small once the iteration has converged)."""
    params = tuple(p.detach() for p in model.parameters())

    def loss(*weights: nerve.Tensor) -> nerve.Tensor:
        w1, b1, w2, b2 = weights
        hidden = nn.functional.linear(x.flatten(1), w1, b1).tanh()
        return nn.functional.cross_entropy(nn.functional.linear(hidden, w2, b2), y)

    rng = np.random.default_rng(0)
    hv = tuple(nerve.tensor(rng.standard_normal(p.shape).astype(np.float32)) for p in params)
    for _ in range(iterations):
        norm = sum((t * t).sum() for t in hv).sqrt()
        v = tuple(t / norm for t in hv)
        _, hv = hvp(loss, params, v)
    eigenvalue = float(sum((a * b).sum() for a, b in zip(v, hv)).item())  # the Rayleigh quotient vᵀHv
    residual = float(sum(((b - eigenvalue * a) ** 2).sum() for a, b in zip(v, hv)).sqrt().item())
    return eigenvalue, residual / abs(eigenvalue)


RUNS = (("mini-batch (32)", 32, 60, 0.05), ("full batch", 1437, 1000, 0.1))  # name, batch, epochs, lr


def main() -> dict[str, dict[str, float]]:
    results = {}
    for name, batch_size, epochs, lr in RUNS:
        model, accuracy, (x, y) = train(batch_size, epochs, lr)
        with nerve.no_grad():
            train_loss = nn.functional.cross_entropy(model(x), y).item()
        eigenvalue, residual = top_hessian_eigenvalue(model, x, y)
        results[name] = {"test_accuracy": accuracy, "train_loss": train_loss, "sharpness": eigenvalue,
                         "residual": residual}
        print(f"{name:>16}: {epochs} epochs, training loss {train_loss:.3f}, test accuracy {accuracy:.3f}, "
              f"top Hessian eigenvalue {eigenvalue:.3f}")
    return results


if __name__ == "__main__":
    main()

"""The benchmark workloads of ``/work/shared/WORKLOADS.md``, each defined once for both frameworks.

A ``Workload`` names its model, batch, loss and optimizer without naming a framework: ``build`` receives the
framework's ``nn`` namespace (``torch.nn`` or ``nerve.nn``, which share PyTorch's API), the loss and optimizer
are looked up by name in the framework's ``nn.functional`` and ``optim``, and the batch is NumPy arrays drawn
once from a seeded generator. Adding W2–W5, I2 or I5 is adding an entry to ``WORKLOADS`` (a builder that
defines a small ``nn.Module`` subclass works the same way as ``nn.Sequential`` here).

This module imports nothing heavy: the NumPy arrays are only made when the harness calls ``x``/``y``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from types import ModuleType
from typing import Any

ArrayFn = Callable[[Any], Any]  # numpy.random.Generator -> numpy.ndarray


@dataclass(frozen=True)
class Workload:
    """One row of the benchmark table.

    Args:
        id: the row id in WORKLOADS.md ("W1", "I1", ...).
        description: one line for the table's legend.
        build: ``nn`` namespace -> model, with PyTorch's default initialisation.
        x: seeded generator -> input batch (a NumPy array).
        y: seeded generator -> target batch, or ``None`` for forward-only workloads.
        loss: name of the loss in ``nn.functional`` (``None``: forward only, under ``no_grad``).
        optimizer: name of the class in ``optim``; ``optimizer_kwargs`` its arguments.
        forward_flops: multiply-adds × 2 of one forward pass, counted analytically (see ``linear_flops``).
    """

    id: str
    description: str
    build: Callable[[ModuleType], Any]
    x: ArrayFn
    y: ArrayFn | None
    loss: str | None
    optimizer: str | None
    forward_flops: int
    optimizer_kwargs: dict[str, float] = field(default_factory=dict)

    @property
    def train(self) -> bool:
        return self.loss is not None

    @property
    def step_flops(self) -> int:
        """FLOPs of one timed step.

        Training: 3 × forward. Each linear layer's forward Y = X Wᵀ costs 2·B·in·out; its backward is two
        matmuls of the same size (dX = dY W and dW = dYᵀ X), hence the factor 3. This is the usual convention
        and slightly over-counts: the first layer's dX is not needed (the input does not require grad), and
        elementwise ops, the loss and the optimizer update are not counted. Inference: 1 × forward.
        """
        return 3 * self.forward_flops if self.train else self.forward_flops


def linear_flops(batch: int, dims: tuple[int, ...]) -> int:
    """Forward FLOPs of a stack of linear layers dims[0]→dims[1]→…: 2·B·Σ in·out (bias and activations ignored)."""
    return 2 * batch * sum(i * o for i, o in pairwise(dims))


def normal(*shape: int) -> ArrayFn:
    """Float32 standard-normal inputs of ``shape``."""
    return lambda rng: rng.standard_normal(shape, dtype="float32")


def class_targets(batch: int, classes: int) -> ArrayFn:
    """Int64 class indices in [0, classes) (int64 is what PyTorch's cross-entropy requires)."""
    return lambda rng: rng.integers(0, classes, size=(batch,), dtype="int64")


def mlp(dims: tuple[int, ...], activation: str) -> Callable[[ModuleType], Any]:
    """Builder of Linear-activation-…-Linear over ``dims`` (no activation after the last layer)."""

    def build(nn: ModuleType) -> Any:
        layers: list[Any] = []
        for i, (d_in, d_out) in enumerate(pairwise(dims)):
            layers.append(nn.Linear(d_in, d_out))
            if i < len(dims) - 2:
                layers.append(getattr(nn, activation)())
        return nn.Sequential(*layers)

    return build


W1_DIMS = (784, 512, 256, 10)
W6_DIMS = (2, 16, 1)

WORKLOADS: dict[str, Workload] = {
    w.id: w
    for w in [
        Workload(
            id="W1",
            description="MLP 784-512-256-10 ReLU, batch 128, cross-entropy, Adam lr 1e-3",
            build=mlp(W1_DIMS, "ReLU"),
            x=normal(128, 784),
            y=class_targets(128, 10),
            loss="cross_entropy",
            optimizer="Adam",
            optimizer_kwargs={"lr": 1e-3},
            forward_flops=linear_flops(128, W1_DIMS),
        ),
        Workload(
            id="W6",
            description="MLP 2-16-1 tanh, batch 4, MSE, SGD lr 0.01 (per-step overhead)",
            build=mlp(W6_DIMS, "Tanh"),
            x=normal(4, 2),
            y=normal(4, 1),  # MSE regresses onto float targets, not class indices
            loss="mse_loss",
            optimizer="SGD",
            optimizer_kwargs={"lr": 0.01},
            forward_flops=linear_flops(4, W6_DIMS),
        ),
        Workload(
            id="I1",
            description="W1's model, batch 1, forward only under no_grad",
            build=mlp(W1_DIMS, "ReLU"),
            x=normal(1, 784),
            y=None,
            loss=None,
            optimizer=None,
            forward_flops=linear_flops(1, W1_DIMS),
        ),
    ]
}

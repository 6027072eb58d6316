"""The benchmark workloads of ``/work/shared/WORKLOADS.md``, each defined once for both frameworks.

A ``Workload`` names its model, batch, loss and optimizer without naming a framework: ``build`` receives the
framework's ``nn`` namespace (``torch.nn`` or ``nerve.nn``, which share PyTorch's API), the loss and optimizer
are looked up by name in the framework's ``nn.functional`` and ``optim``, and the batch is NumPy arrays drawn
once from a seeded generator. A new workload is an entry in ``WORKLOADS`` (a builder that defines a small
``nn.Module`` subclass, as W4 and W5 do, works the same way as ``nn.Sequential``).

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


def conv_flops(batch: int, in_channels: int, out_channels: int, kernel: int, out_hw: int, groups: int = 1) -> int:
    """Forward FLOPs of a square convolution: 2·B·Ho·Wo·C_out·(C_in/groups)·k²."""
    return 2 * batch * out_hw * out_hw * out_channels * (in_channels // groups) * kernel * kernel


def lenet5(nn: ModuleType) -> Any:
    """W2's LeNet-5 (ReLU, max pooling) as one Sequential, in either framework."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def lenet5_flops(batch: int) -> int:
    return (conv_flops(batch, 1, 6, 5, 28) + conv_flops(batch, 6, 16, 5, 10)
            + linear_flops(batch, (400, 120, 84, 10)))


def resnet8(nn: ModuleType) -> Any:
    """W3's CIFAR-style ResNet-8 written against the framework's ``nn`` (the same code builds both twins)."""

    class Block(nn.Module):  # type: ignore[name-defined,misc]
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                                nn.BatchNorm2d(cout))

        def forward(self, x: Any) -> Any:
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + identity)

    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    )


def resnet8_flops(batch: int) -> int:
    return (conv_flops(batch, 3, 16, 3, 32) + 2 * conv_flops(batch, 16, 16, 3, 32)
            + conv_flops(batch, 16, 32, 3, 16) + conv_flops(batch, 32, 32, 3, 16) + conv_flops(batch, 16, 32, 1, 16)
            + conv_flops(batch, 32, 64, 3, 8) + conv_flops(batch, 64, 64, 3, 8) + conv_flops(batch, 32, 64, 1, 8)
            + linear_flops(batch, (64, 10)))


def recurrent_classifier(kind: str, features: int, hidden: int, classes: int) -> Callable[[ModuleType], Any]:
    """W4's model: one ``kind`` layer (LSTM or GRU, batch_first) and a linear head on the last step's output."""

    def build(nn: ModuleType) -> Any:
        class LastStep(nn.Module):  # type: ignore[name-defined,misc]
            def __init__(self) -> None:
                super().__init__()
                self.rnn = getattr(nn, kind)(features, hidden, batch_first=True)
                self.head = nn.Linear(hidden, classes)

            def forward(self, x: Any) -> Any:
                out, _ = self.rnn(x)
                return self.head(out[:, -1])

        return LastStep()

    return build


def recurrent_flops(batch: int, steps: int, features: int, hidden: int, gates: int) -> int:
    """Forward FLOPs of one recurrent layer: the input and recurrent GEMMs, 2·B·T·G·H·(in + H)."""
    return 2 * batch * steps * gates * hidden * (features + hidden)


def token_ids(*shape: int, vocab: int) -> ArrayFn:
    """Int64 token ids in [0, vocab)."""
    return lambda rng: rng.integers(0, vocab, size=shape, dtype="int64")


def gpt(vocab: int, d_model: int, heads: int, layers: int, d_ff: int, length: int) -> Callable[[ModuleType], Any]:
    """W5's decoder-only transformer: token embedding plus learned positions, pre-norm GELU blocks under a causal
    mask, final LayerNorm, linear head. The logits come out as (N·L, vocab) so cross-entropy takes them as is."""

    def build(nn: ModuleType) -> Any:
        class TinyGPT(nn.Module):  # type: ignore[name-defined,misc]
            def __init__(self) -> None:
                super().__init__()
                self.tokens = nn.Embedding(vocab, d_model)
                self.positions = nn.Embedding(length, d_model).weight  # a learned (L, d) table
                self.blocks = nn.ModuleList([
                    nn.TransformerEncoderLayer(d_model, heads, d_ff, dropout=0.0, activation="gelu",
                                               batch_first=True, norm_first=True) for _ in range(layers)])
                self.norm = nn.LayerNorm(d_model)
                self.head = nn.Linear(d_model, vocab)
                self.register_buffer("causal", nn.Transformer.generate_square_subsequent_mask(length))

            def forward(self, ids: Any) -> Any:
                h = self.tokens(ids) + self.positions[: ids.shape[1]]
                for block in self.blocks:
                    h = block(h, src_mask=self.causal, is_causal=True)
                return self.head(self.norm(h)).reshape(-1, vocab)

        return TinyGPT()

    return build


def gpt_flops(batch: int, length: int, d_model: int, layers: int, d_ff: int, vocab: int) -> int:
    """Forward FLOPs: per layer the QKV, output and two FFN GEMMs plus the two attention products QKᵀ and PV
    (full L×L, the causal half is not skipped), then the head."""
    projections = 2 * batch * length * (4 * d_model * d_model + 2 * d_model * d_ff)
    per_layer = projections + 4 * batch * length * length * d_model
    return layers * per_layer + 2 * batch * length * d_model * vocab


W5 = {"vocab": 65, "d_model": 128, "heads": 4, "layers": 2, "d_ff": 512, "length": 64, "batch": 32}


W4 = {"batch": 32, "steps": 50, "features": 32, "hidden": 128, "classes": 10}

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
            id="W2",
            description="LeNet-5 (ReLU, max pool) on 1x28x28, batch 64, cross-entropy, SGD momentum 0.9",
            build=lenet5,
            x=normal(64, 1, 28, 28),
            y=class_targets(64, 10),
            loss="cross_entropy",
            optimizer="SGD",
            optimizer_kwargs={"lr": 0.01, "momentum": 0.9},
            forward_flops=lenet5_flops(64),
        ),
        Workload(
            id="W3",
            description="ResNet-8 (CIFAR-style, BN) on 3x32x32, batch 64, cross-entropy, SGD momentum 0.9",
            build=resnet8,
            x=normal(64, 3, 32, 32),
            y=class_targets(64, 10),
            loss="cross_entropy",
            optimizer="SGD",
            optimizer_kwargs={"lr": 0.01, "momentum": 0.9},
            forward_flops=resnet8_flops(64),
        ),
        Workload(
            id="I2",
            description="W2's model, batch 1, forward only under no_grad",
            build=lenet5,
            x=normal(1, 1, 28, 28),
            y=None,
            loss=None,
            optimizer=None,
            forward_flops=lenet5_flops(1),
        ),
        *[
            Workload(
                id=f"W4-{kind}",
                description=f"{kind} 32->128, sequence 50, batch 32, batch_first, linear head on the last step, "
                            "cross-entropy, Adam lr 1e-3",
                build=recurrent_classifier(kind, W4["features"], W4["hidden"], W4["classes"]),
                x=normal(W4["batch"], W4["steps"], W4["features"]),
                y=class_targets(W4["batch"], W4["classes"]),
                loss="cross_entropy",
                optimizer="Adam",
                optimizer_kwargs={"lr": 1e-3},
                forward_flops=recurrent_flops(W4["batch"], W4["steps"], W4["features"], W4["hidden"], gates)
                + linear_flops(W4["batch"], (W4["hidden"], W4["classes"])),
            )
            for kind, gates in (("LSTM", 4), ("GRU", 3))
        ],
        Workload(
            id="W5",
            description="GPT-style decoder: vocab 65, d_model 128, 4 heads, 2 pre-norm GELU layers, FFN 512, "
                        "learned positions, sequence 64, batch 32, next-token cross-entropy, AdamW",
            build=gpt(W5["vocab"], W5["d_model"], W5["heads"], W5["layers"], W5["d_ff"], W5["length"]),
            x=token_ids(W5["batch"], W5["length"], vocab=W5["vocab"]),
            y=token_ids(W5["batch"] * W5["length"], vocab=W5["vocab"]),
            loss="cross_entropy",
            optimizer="AdamW",
            optimizer_kwargs={"lr": 1e-3},
            forward_flops=gpt_flops(W5["batch"], W5["length"], W5["d_model"], W5["layers"], W5["d_ff"], W5["vocab"]),
        ),
        Workload(
            id="I5",
            description="W5's model, one sequence of 64 tokens, forward only under no_grad",
            build=gpt(W5["vocab"], W5["d_model"], W5["heads"], W5["layers"], W5["d_ff"], W5["length"]),
            x=token_ids(1, W5["length"], vocab=W5["vocab"]),
            y=None,
            loss=None,
            optimizer=None,
            forward_flops=gpt_flops(1, W5["length"], W5["d_model"], W5["layers"], W5["d_ff"], W5["vocab"]),
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

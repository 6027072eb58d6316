"""LeNet-5 (LeCun et al., 1998), the first convolutional network to read digits in production."""

from __future__ import annotations

from nerve import nn
from nerve.tensor import Tensor


class LeNet5(nn.Module):
    """conv5×5(6, pad 2) → act → pool2 → conv5×5(16) → act → pool2 → fc120 → act → fc84 → act → fc.

    The modern reading (ReLU and max pooling, the benchmark's W2); ``activation='tanh', pool='avg'`` gives
    the 1998 original's choices. ``padding=2`` on the first convolution lets 28×28 MNIST stand in for the
    paper's 32×32 input.

    Args:
        num_classes: size of the output layer (default 10).
        in_channels: image channels (default 1).
        activation: ``'relu'`` (default) or ``'tanh'``.
        pool: ``'max'`` (default) or ``'avg'``.

    Shape:
        - Input: (N, in_channels, 28, 28)
        - Output: (N, num_classes) logits

    Attributes:
        features: the convolutional part (``features.0`` and ``features.3`` are the convolutions).
        classifier: the dense part (``classifier.0``, ``.2``, ``.4`` are the linear layers).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, activation: str = "relu",
                 pool: str = "max") -> None:
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"LeNet5: num_classes must be a positive integer, got {num_classes!r}")
        acts = {"relu": nn.ReLU, "tanh": nn.Tanh}
        pools = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}
        if activation not in acts or pool not in pools:
            raise ValueError(f"LeNet5: activation must be 'relu' or 'tanh' and pool 'max' or 'avg', got "
                             f"{activation!r} and {pool!r}")
        act, pool_cls = acts[activation], pools[pool]
        self.in_channels = in_channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), act(), pool_cls(2),
            nn.Conv2d(6, 16, 5), act(), pool_cls(2),
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), act(),
            nn.Linear(120, 84), act(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        # the classifier's 16·5·5 inputs fix the image size; checked here, as a wrong size or a missing batch
        # dimension otherwise fails in the first Linear with a shape that does not point back to the image
        expected = (self.in_channels, 28, 28)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            hint = "; add the batch dimension with x.unsqueeze(0)" if tuple(x.shape) == expected else ""
            raise ValueError(f"LeNet5: expected input of shape (N, {self.in_channels}, 28, 28), got "
                             f"{tuple(x.shape)}{hint}")
        return self.classifier(self.flatten(self.features(x)))

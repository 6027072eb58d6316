"""A small VGG-style network: stacks of 3×3 convolutions with batch norm, halving resolution per stage."""

from __future__ import annotations

from collections.abc import Sequence

from nerve import nn
from nerve.tensor import Tensor


class SmallVGG(nn.Module):
    """``[conv3×3 → BN → ReLU] × convs_per_stage → maxpool2`` per stage, then global average pool, dropout, fc.

    VGG's idea (Simonyan & Zisserman, 2014): depth from many small 3×3 filters, two of which see a 5×5 field
    with fewer weights and one more nonlinearity. Sized for 28×28 or 32×32 images.

    Args:
        num_classes: outputs (default 10).
        in_channels: image channels (default 1).
        widths: channels of each stage (default (32, 64, 128)).
        convs_per_stage: 3×3 convolutions per stage (default 2).
        dropout: dropout before the classifier (default 0.25).

    Shape:
        - Input: (N, in_channels, H, W) with H, W ≥ 2^len(widths)
        - Output: (N, num_classes)
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, widths: Sequence[int] = (32, 64, 128),
                 convs_per_stage: int = 2, dropout: float = 0.25) -> None:
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"SmallVGG: num_classes must be a positive integer, got {num_classes!r}")
        layers: list[nn.Module] = []
        channels = in_channels
        for width in widths:
            for _ in range(convs_per_stage):
                layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
                channels = width
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.dropout(self.pool(self.features(x)).flatten(1)))

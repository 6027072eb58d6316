"""EfficientNet's building block (Tan & Le, 2019): the inverted residual "MBConv" with squeeze-excitation.

Its depthwise convolution filters each channel on its own (``groups = channels``) and the 1×1 convolutions
mix channels: a depthwise-separable convolution, about k² times cheaper than a full k×k convolution.
"""

from __future__ import annotations

from collections.abc import Sequence

from nerve import nn
from nerve.tensor import Tensor


class SqueezeExcitation(nn.Module):
    """Channel attention: global average pool → 1×1 reduce → SiLU → 1×1 expand → sigmoid → rescale the input.

    Shape: (N, C, H, W) → (N, C, H, W)
    """

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = nn.SiLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return x * scale


class MBConv(nn.Module):
    """Inverted residual: 1×1 expand (×``expand_ratio``) → k×k depthwise (stride) → squeeze-excitation →
    1×1 project, each conv followed by BN (SiLU except after the projection); identity shortcut when the
    shape is kept.

    Args:
        in_channels, out_channels: channel counts.
        kernel_size: depthwise kernel (3 or 5 in EfficientNet).
        stride: depthwise stride (1 or 2).
        expand_ratio: width multiplier of the hidden layer (1 skips the expansion conv).
        se_ratio: squeeze channels as a fraction of ``in_channels`` (0 disables squeeze-excitation).

    Shape: (N, in_channels, H, W) → (N, out_channels, H/stride, W/stride)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 expand_ratio: int = 4, se_ratio: float = 0.25) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.use_residual = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers += [nn.Conv2d(in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.SiLU()]
        layers += [nn.Conv2d(hidden, hidden, kernel_size, stride=stride, padding=kernel_size // 2, groups=hidden,
                             bias=False), nn.BatchNorm2d(hidden), nn.SiLU()]
        if se_ratio > 0:
            layers.append(SqueezeExcitation(hidden, max(1, int(in_channels * se_ratio))))
        layers += [nn.Conv2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        return out + x if self.use_residual else out


class MBConvNet(nn.Module):
    """A small EfficientNet-style classifier: 3×3 stem (stride 1) → MBConv stages → 1×1 head → pool → fc.

    Args:
        num_classes: outputs (default 10).
        in_channels: image channels (default 1).
        stages: ``(out_channels, blocks, stride, expand_ratio, kernel_size)`` per stage.
        stem_channels, head_channels: widths of the stem and the final 1×1 convolution.
        dropout: before the classifier.

    Shape: (N, in_channels, H, W) → (N, num_classes)
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1,
                 stages: Sequence[tuple[int, int, int, int, int]] = ((16, 1, 1, 1, 3), (24, 2, 2, 4, 3),
                                                                     (40, 2, 2, 4, 5)),
                 stem_channels: int = 16, head_channels: int = 128, dropout: float = 0.2) -> None:
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"MBConvNet: num_classes must be a positive integer, got {num_classes!r}")
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(stem_channels), nn.SiLU())
        blocks: list[nn.Module] = []
        channels = stem_channels
        for out_channels, repeats, stride, expand, kernel in stages:
            for r in range(repeats):
                blocks.append(MBConv(channels, out_channels, kernel, stride if r == 0 else 1, expand))
                channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Conv2d(channels, head_channels, 1, bias=False), nn.BatchNorm2d(head_channels),
                                  nn.SiLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(head_channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.dropout(self.pool(self.head(self.blocks(self.stem(x)))).flatten(1)))

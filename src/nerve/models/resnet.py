"""Residual networks (He et al., 2015/2016) with torchvision's module and parameter names.

A residual block learns F(x) and outputs relu(F(x) + shortcut(x)): the identity path lets gradients reach
early layers undiminished, which is what made networks of 50-150 layers trainable. ``resnet18/34/50`` are the
ImageNet definitions (their ``state_dict`` keys and shapes equal torchvision's, so its weights load as-is);
``resnet8/20`` are the CIFAR family (3×3 stem, three stages of 16/32/64 channels, 6n + 2 layers).
"""

from __future__ import annotations

from collections.abc import Sequence

from nerve import nn
from nerve.tensor import Tensor


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=dilation, groups=groups, bias=False,
                     dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with batch norm; ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    ``downsample`` (1×1 conv + BN) projects the shortcut when the stride or width changes.

    Shape: (N, inplanes, H, W) → (N, planes, H/stride, W/stride)
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 (carries the stride, torchvision's "v1.5") → 1×1 expand to 4·planes, plus shortcut.

    Shape: (N, inplanes, H, W) → (N, 4·planes, H/stride, W/stride)
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """A stem, stages of residual blocks (each after the first halves resolution), global average pool, fc.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        layers: blocks per stage, e.g. (2, 2, 2, 2) for ResNet-18.
        num_classes: outputs (default 1000).
        in_channels: image channels (default 3).
        widths: channels of each stage before expansion (default ImageNet's (64, 128, 256, 512)).
        stem: ``'imagenet'`` (7×7 stride-2 conv + 3×3 max pool) or ``'cifar'`` (3×3 stride-1 conv, no pool)
            for small images.
        zero_init_residual: start each block's last BN at γ = 0, so every block begins as the identity.

    Shape:
        - Input: (N, in_channels, H, W)
        - Output: (N, num_classes)

    Attributes follow torchvision: ``conv1, bn1, relu, maxpool, layer1 … layerK, avgpool, fc``; blocks are
    ``layerI.J`` with ``downsample.0`` (conv) and ``downsample.1`` (BN) where the shortcut is projected.
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: Sequence[int], num_classes: int = 1000,
                 in_channels: int = 3, widths: Sequence[int] = (64, 128, 256, 512), stem: str = "imagenet",
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"ResNet: num_classes must be a positive integer, got {num_classes!r}")
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"ResNet: stem must be 'imagenet' or 'cifar', got {stem!r}")
        if len(layers) != len(widths):
            raise ValueError(f"ResNet: got {len(layers)} stage depths for {len(widths)} stage widths")
        self.inplanes = widths[0]
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, self.inplanes, 7, stride=2, padding=3, bias=False)
        else:
            self.conv1 = conv3x3(in_channels, self.inplanes)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1) if stem == "imagenet" else nn.Identity()
        for i, (width, depth) in enumerate(zip(widths, layers)):
            self.add_module(f"layer{i + 1}", self._make_layer(block, width, depth, stride=1 if i == 0 else 2))
        self.num_stages = len(widths)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1] * block.expansion, num_classes)
        self._init_weights(zero_init_residual)

    def _make_layer(self, block: type[BasicBlock] | type[Bottleneck], planes: int, blocks: int,
                    stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        stage = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        stage += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def _init_weights(self, zero_init_residual: bool) -> None:
        # torchvision's initialisation: He-normal (fan_out) convolutions, BN as the identity.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                last_bn = m.bn3 if isinstance(m, Bottleneck) else m.bn2 if isinstance(m, BasicBlock) else None
                if last_bn is not None:
                    nn.init.zeros_(last_bn.weight)

    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, f"layer{i + 1}") for i in range(self.num_stages)]

    def forward_features(self, x: Tensor) -> Tensor:
        """The last stage's feature maps (N, C, h, w), before pooling: what Grad-CAM and fine-tuning use."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in self.stages():
            x = stage(x)
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.avgpool(self.forward_features(x)).flatten(1))


def resnet18(num_classes: int = 1000, in_channels: int = 3, **kwargs: object) -> ResNet:
    """ResNet-18: BasicBlocks (2, 2, 2, 2), 11.7 M parameters at 1000 classes."""
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels, **kwargs)  # type: ignore[arg-type]


def resnet34(num_classes: int = 1000, in_channels: int = 3, **kwargs: object) -> ResNet:
    """ResNet-34: BasicBlocks (3, 4, 6, 3), 21.8 M parameters at 1000 classes."""
    return ResNet(BasicBlock, (3, 4, 6, 3), num_classes, in_channels, **kwargs)  # type: ignore[arg-type]


def resnet50(num_classes: int = 1000, in_channels: int = 3, **kwargs: object) -> ResNet:
    """ResNet-50: Bottlenecks (3, 4, 6, 3), 25.6 M parameters at 1000 classes."""
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, **kwargs)  # type: ignore[arg-type]


def resnet8(num_classes: int = 10, in_channels: int = 3, **kwargs: object) -> ResNet:
    """CIFAR-style ResNet-8: 3×3 stem, one BasicBlock per stage of 16/32/64 channels (78 k parameters)."""
    return ResNet(BasicBlock, (1, 1, 1), num_classes, in_channels, widths=(16, 32, 64), stem="cifar",
                  **kwargs)  # type: ignore[arg-type]


def resnet20(num_classes: int = 10, in_channels: int = 3, **kwargs: object) -> ResNet:
    """CIFAR-style ResNet-20: three BasicBlocks per stage of 16/32/64 channels (0.27 M parameters)."""
    return ResNet(BasicBlock, (3, 3, 3), num_classes, in_channels, widths=(16, 32, 64), stem="cifar",
                  **kwargs)  # type: ignore[arg-type]

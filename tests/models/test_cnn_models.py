"""CNN reference models: PyTorch-trained weights load into nerve and give the same outputs and gradients.

torchvision is not a dependency, so the PyTorch twins are written here with torchvision's module names
(conv1, bn1, layer1.0.downsample.0, ...): equal state-dict keys and shapes are part of what is tested.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn as tnn

import nerve
from nerve import models


class TorchBasicBlock(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU()
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + identity)


class TorchBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv3 = tnn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class TorchResNet(tnn.Module):
    def __init__(self, block, layers, num_classes, in_channels, widths, stem):
        super().__init__()
        self.inplanes = widths[0]
        if stem == "imagenet":
            self.conv1 = tnn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
        else:
            self.conv1 = tnn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
            self.maxpool = tnn.Identity()
        self.bn1 = tnn.BatchNorm2d(widths[0])
        self.relu = tnn.ReLU()
        self.stages = []
        for i, (w, n) in enumerate(zip(widths, layers)):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or self.inplanes != w * block.expansion:
                down = tnn.Sequential(tnn.Conv2d(self.inplanes, w * block.expansion, 1, stride, bias=False),
                                      tnn.BatchNorm2d(w * block.expansion))
            blocks = [block(self.inplanes, w, stride, down)]
            self.inplanes = w * block.expansion
            blocks += [block(self.inplanes, w) for _ in range(1, n)]
            setattr(self, f"layer{i + 1}", tnn.Sequential(*blocks))
            self.stages.append(f"layer{i + 1}")
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.fc = tnn.Linear(widths[-1] * block.expansion, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for name in self.stages:
            x = getattr(self, name)(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def torch_lenet():
    features = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5),
                              tnn.ReLU(), tnn.MaxPool2d(2))
    classifier = tnn.Sequential(tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(),
                                tnn.Linear(84, 10))
    model = tnn.Module()
    model.features, model.flatten, model.classifier = features, tnn.Flatten(), classifier
    model.forward = lambda x: classifier(torch.flatten(features(x), 1))
    return model


def _train_torch(model: tnn.Module, shape: tuple[int, ...], classes: int, steps: int = 5) -> None:
    """A few SGD steps on fixed random data, so weights and BN running statistics are not the defaults."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(*shape, generator=gen)
    y = torch.randint(0, classes, (shape[0],), generator=gen)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def _load(model: nerve.nn.Module, reference: tnn.Module) -> None:
    state = {k: v.detach().numpy().copy() for k, v in reference.state_dict().items()}
    assert list(model.state_dict()) == list(state), "state-dict keys or their order differ from PyTorch's"
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {k: v.shape for k, v in state.items()}
    model.load_state_dict(state)


def _compare(model: nerve.nn.Module, reference: tnn.Module, x: np.ndarray, train: bool, atol: float) -> None:
    """Outputs in float32 (and, in train mode, the running statistics they moved), then every gradient in float64.

    The gradients are compared in float64 because in float32 they can legitimately disagree: a pre-activation
    within rounding of 0 takes a different side of a ReLU's kink in each framework (seen on a ResNet-8: one of
    65,536 BN outputs, 1e-3 off in the input gradient behind it), so a float32 check fails or passes with the
    machine's BLAS kernel. In float64 no value lands that close to a kink, and the tolerance can be tight.
    """
    model.train(train)
    reference.train(train)
    yn, yt = model(nerve.tensor(x)), reference(torch.tensor(x))
    np.testing.assert_allclose(yn.data, yt.detach().numpy(), rtol=1e-4, atol=atol)
    if train:  # running statistics moved the same way
        for (name, b), tb in zip(model.named_buffers(), reference.buffers()):
            np.testing.assert_allclose(b.data, tb.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    # float64 twins with identical state: the float32 steps above left the running statistics 1 ulp apart
    reference.double()
    model.double()
    model.load_state_dict({k: v.detach().numpy().copy() for k, v in reference.state_dict().items()})
    xn, xt = nerve.tensor(x.astype(np.float64), requires_grad=True), torch.tensor(x.astype(np.float64),
                                                                                  requires_grad=True)
    yn, yt = model(xn), reference(xt)
    np.testing.assert_allclose(yn.data, yt.detach().numpy(), rtol=1e-9, atol=1e-12)
    w = np.random.default_rng(3).uniform(0.5, 1.5, yn.shape)
    model.zero_grad()
    reference.zero_grad()
    (yn * nerve.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), rtol=1e-7, atol=1e-12)
    grads = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.data, grads[name].grad.numpy(), rtol=1e-7, atol=1e-12, err_msg=name)
    model.float()
    reference.float()


def test_torch_trained_lenet_gives_the_same_predictions() -> None:
    torch.manual_seed(0)
    reference = torch_lenet()
    _train_torch(reference, (32, 1, 28, 28), 10)
    model = models.LeNet5()
    _load(model, reference)
    x = np.random.default_rng(1).standard_normal((16, 1, 28, 28)).astype(np.float32)
    reference.eval()
    model.eval()
    with torch.no_grad():
        expected = reference(torch.tensor(x)).numpy()
    logits = model(nerve.tensor(x)).data
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(logits.argmax(1), expected.argmax(1))
    _compare(model, reference, x, train=True, atol=1e-5)


@pytest.mark.parametrize("train", [False, True])
def test_torch_trained_resnet8_matches_in_train_and_eval(train: bool) -> None:
    torch.manual_seed(0)
    reference = TorchResNet(TorchBasicBlock, (1, 1, 1), 10, 3, (16, 32, 64), "cifar")
    _train_torch(reference, (16, 3, 32, 32), 10)
    model = models.resnet8()
    _load(model, reference)
    x = np.random.default_rng(1).standard_normal((8, 3, 32, 32)).astype(np.float32)
    _compare(model, reference, x, train=train, atol=2e-5)


@pytest.mark.parametrize("factory, block, layers", [(models.resnet18, TorchBasicBlock, (2, 2, 2, 2)),
                                                    (models.resnet50, TorchBottleneck, (3, 4, 6, 3))])
def test_imagenet_resnets_have_torchvision_names_and_match(factory, block, layers) -> None:
    torch.manual_seed(0)
    reference = TorchResNet(block, layers, 1000, 3, (64, 128, 256, 512), "imagenet")
    model = factory()
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters())
    _load(model, reference)
    x = np.random.default_rng(1).standard_normal((2, 3, 64, 64)).astype(np.float32)
    model.eval()
    reference.eval()
    with torch.no_grad():
        expected = reference(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model(nerve.tensor(x)).data, expected, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("train", [False, True])
def test_torch_trained_bottleneck_resnet_matches_in_train_and_eval(train: bool) -> None:
    # the ImageNet stem (7×7 stride 2, 3×3 max pool) and Bottleneck blocks, narrow so float64 stays quick
    layers, widths = (1, 2, 1, 1), (8, 8, 16, 16)
    torch.manual_seed(0)
    reference = TorchResNet(TorchBottleneck, layers, 10, 3, widths, "imagenet")
    _train_torch(reference, (8, 3, 64, 64), 10)
    model = models.ResNet(models.resnet.Bottleneck, layers, 10, 3, widths=widths, stem="imagenet")
    _load(model, reference)
    x = np.random.default_rng(1).standard_normal((4, 3, 64, 64)).astype(np.float32)
    _compare(model, reference, x, train=train, atol=2e-5)


def test_resnet18_parameter_count_is_torchvisions() -> None:
    assert sum(p.numel() for p in models.resnet18().parameters()) == 11_689_512
    assert sum(p.numel() for p in models.resnet50().parameters()) == 25_557_032


@pytest.mark.parametrize("block, last_bn", [(models.resnet.BasicBlock, "bn2"), (models.resnet.Bottleneck, "bn3")])
def test_zero_init_residual_makes_blocks_start_as_identity(block, last_bn: str) -> None:
    model = models.ResNet(block, (2, 1), 10, 3, widths=(8, 8), stem="cifar", zero_init_residual=True)
    blocks = [b for stage in model.stages() for b in stage]
    assert all(not np.any(getattr(b, last_bn).weight.data) for b in blocks)
    assert all(np.any(b.bn1.weight.data) for b in blocks)
    # a block whose shortcut is the identity then outputs relu(x): the residual branch adds exactly 0
    identity_block = next(b for b in blocks if b.downsample is None)
    identity_block.train()
    x = nerve.relu(nerve.randn(2, identity_block.conv1.in_channels, 6, 6))
    np.testing.assert_array_equal(identity_block(x).data, x.data)


class TorchSE(tnn.Module):
    def __init__(self, channels, squeeze):
        super().__init__()
        self.avgpool, self.fc1, self.fc2 = tnn.AdaptiveAvgPool2d(1), tnn.Conv2d(channels, squeeze, 1), \
            tnn.Conv2d(squeeze, channels, 1)
        self.activation, self.scale_activation = tnn.SiLU(), tnn.Sigmoid()

    def forward(self, x):
        return x * self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))


class TorchMBConv(tnn.Module):
    """torchvision's MBConv layout, written out: (expand) → depthwise → SE → project, residual when shapes match."""

    def __init__(self, cin, cout, kernel, stride, expand, se_ratio=0.25):
        super().__init__()
        hidden = cin * expand
        self.use_residual = stride == 1 and cin == cout
        layers = []
        if expand != 1:
            layers += [tnn.Conv2d(cin, hidden, 1, bias=False), tnn.BatchNorm2d(hidden), tnn.SiLU()]
        layers += [tnn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden, bias=False),
                   tnn.BatchNorm2d(hidden), tnn.SiLU(), TorchSE(hidden, max(1, int(cin * se_ratio))),
                   tnn.Conv2d(hidden, cout, 1, bias=False), tnn.BatchNorm2d(cout)]
        self.block = tnn.Sequential(*layers)

    def forward(self, x):
        out = self.block(x)
        return out + x if self.use_residual else out


def test_mbconv_matches_a_torch_twin() -> None:
    torch.manual_seed(0)
    reference = TorchMBConv(8, 8, 3, 1, 4)
    _train_torch(tnn.Sequential(reference, tnn.AdaptiveAvgPool2d(1), tnn.Flatten()), (8, 8, 9, 9), 8)
    model = models.MBConv(8, 8, kernel_size=3, stride=1, expand_ratio=4, se_ratio=0.25)
    _load(model, reference)
    x = np.random.default_rng(1).standard_normal((4, 8, 9, 9)).astype(np.float32)
    for train in (True, False):
        _compare(model, reference, x, train=train, atol=2e-5)


class TorchMBConvNet(tnn.Module):
    def __init__(self, stages, stem=16, head=128, dropout=0.0):
        super().__init__()
        self.stem = tnn.Sequential(tnn.Conv2d(1, stem, 3, padding=1, bias=False), tnn.BatchNorm2d(stem), tnn.SiLU())
        blocks, channels = [], stem
        for cout, repeats, stride, expand, kernel in stages:
            for r in range(repeats):
                blocks.append(TorchMBConv(channels, cout, kernel, stride if r == 0 else 1, expand))
                channels = cout
        self.blocks = tnn.Sequential(*blocks)
        self.head = tnn.Sequential(tnn.Conv2d(channels, head, 1, bias=False), tnn.BatchNorm2d(head), tnn.SiLU())
        self.pool, self.dropout, self.fc = tnn.AdaptiveAvgPool2d(1), tnn.Dropout(dropout), tnn.Linear(head, 10)

    def forward(self, x):
        return self.fc(self.dropout(torch.flatten(self.pool(self.head(self.blocks(self.stem(x)))), 1)))


class TorchSmallVGG(tnn.Module):
    def __init__(self, widths, convs_per_stage, dropout=0.0):
        super().__init__()
        layers, channels = [], 1
        for width in widths:
            for _ in range(convs_per_stage):
                layers += [tnn.Conv2d(channels, width, 3, padding=1, bias=False), tnn.BatchNorm2d(width), tnn.ReLU()]
                channels = width
            layers.append(tnn.MaxPool2d(2))
        self.features = tnn.Sequential(*layers)
        self.pool, self.dropout, self.fc = tnn.AdaptiveAvgPool2d(1), tnn.Dropout(dropout), tnn.Linear(channels, 10)

    def forward(self, x):
        return self.fc(self.dropout(torch.flatten(self.pool(self.features(x)), 1)))


@pytest.mark.parametrize("train", [False, True])
def test_torch_trained_small_vgg_matches_in_train_and_eval(train: bool) -> None:
    torch.manual_seed(0)
    widths = (8, 16, 32)
    reference = TorchSmallVGG(widths, 2)  # dropout 0 on both sides: the two frameworks draw different masks
    _train_torch(reference, (8, 1, 28, 28), 10)
    model = models.SmallVGG(widths=widths, dropout=0.0)
    _load(model, reference)
    x = np.random.default_rng(1).standard_normal((4, 1, 28, 28)).astype(np.float32)
    _compare(model, reference, x, train=train, atol=2e-5)


@pytest.mark.parametrize("train", [False, True])
def test_torch_trained_mbconvnet_matches_in_train_and_eval(train: bool) -> None:
    # every kind of block the default net has: no expansion, stride 2 without residual, kernel 5, residual
    stages = ((8, 1, 1, 1, 3), (12, 2, 2, 4, 3), (16, 2, 2, 4, 5))
    torch.manual_seed(0)
    reference = TorchMBConvNet(stages, stem=8, head=32)
    _train_torch(reference, (8, 1, 16, 16), 10)
    model = models.MBConvNet(stages=stages, stem_channels=8, head_channels=32, dropout=0.0)
    _load(model, reference)
    x = np.random.default_rng(1).standard_normal((4, 1, 16, 16)).astype(np.float32)
    _compare(model, reference, x, train=train, atol=2e-5)


@pytest.mark.parametrize("model, shape", [(models.LeNet5(), (2, 1, 28, 28)), (models.SmallVGG(), (2, 1, 28, 28)),
                                          (models.resnet8(in_channels=1), (2, 1, 28, 28)),
                                          (models.resnet20(), (2, 3, 32, 32)), (models.MBConvNet(), (2, 1, 28, 28))])
def test_models_output_logits_and_train(model: nerve.nn.Module, shape) -> None:
    x = nerve.randn(*shape)
    y = nerve.tensor(np.array([1, 7]))
    opt = nerve.optim.SGD(model.parameters(), lr=0.01)
    loss = nerve.nn.functional.cross_entropy(model(x), y)
    assert model(x).shape == (2, 10)
    opt.zero_grad()
    loss.backward()
    assert all(p.grad is not None and np.any(p.grad.data) for p in model.parameters())
    before = [p.data.copy() for p in model.parameters()]
    opt.step()
    assert all(not np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))


def test_frozen_features_stay_bit_identical_while_the_head_trains() -> None:
    # transfer learning as users write it: freeze, then hand *all* parameters to the optimizer
    nerve.manual_seed(0)
    model = models.LeNet5()
    model.features.requires_grad_(False)
    frozen = {k: v.data.copy() for k, v in model.features.state_dict().items()}
    head = {k: v.data.copy() for k, v in model.classifier.state_dict().items()}
    opt = nerve.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-2)
    x, y = nerve.randn(8, 1, 28, 28), nerve.tensor(np.arange(8) % 10)
    for _ in range(3):
        opt.zero_grad()
        nerve.nn.functional.cross_entropy(model(x), y).backward()
        assert all(p.grad is None for p in model.features.parameters())
        opt.step()
    for k, v in model.features.state_dict().items():
        np.testing.assert_array_equal(v.data, frozen[k], err_msg=k)
    assert all(not np.array_equal(v.data, head[k]) for k, v in model.classifier.state_dict().items())
    model.features.requires_grad_(True)  # unfreezing: the next step moves them
    opt.zero_grad()
    nerve.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    assert all(not np.array_equal(v.data, frozen[k]) for k, v in model.features.state_dict().items())


def test_lenet5_names_the_input_shape_it_needs() -> None:
    # the classifier's 16·5·5 inputs fix 28×28; a wrong size used to fail in the first Linear (576 vs 400)
    model = models.LeNet5()
    for shape in [(1, 1, 32, 32), (2, 3, 28, 28), (28, 28)]:
        with pytest.raises(ValueError, match=rf"^LeNet5: expected input of shape \(N, 1, 28, 28\), got "
                                             rf"{re.escape(str(shape))}$"):
            model(nerve.randn(*shape))
    # the convolutions take an unbatched image, but the flatten before the classifier would fold the channels
    # into the batch; say how to add the batch dimension instead (as the same torch model fails at its Linear)
    with pytest.raises(ValueError, match=r"^LeNet5: expected input of shape \(N, 1, 28, 28\), got \(1, 28, 28\); "
                                         r"add the batch dimension with x\.unsqueeze\(0\)$"):
        model(nerve.randn(1, 28, 28))
    for shape in [(1, 28, 28), (1, 1, 32, 32)]:
        with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
            torch_lenet()(torch.randn(*shape))
    with pytest.raises(ValueError, match=r"^LeNet5: expected input of shape \(N, 3, 28, 28\), got \(2, 1, 28, 28\)$"):
        models.LeNet5(in_channels=3)(nerve.randn(2, 1, 28, 28))


@pytest.mark.parametrize("build, name", [(models.LeNet5, "LeNet5"), (models.resnet8, "ResNet"),
                                         (models.resnet18, "ResNet"), (models.SmallVGG, "SmallVGG"),
                                         (models.MBConvNet, "MBConvNet")])
def test_models_reject_fewer_than_one_class_as_vit_does(build, name) -> None:
    for bad in (0, -3, 2.0):
        with pytest.raises(ValueError, match=rf"^{name}: num_classes must be a positive integer, got {bad!r}$"):
            build(num_classes=bad)

"""Conv, pooling, upsampling and channel-dropout modules: parity with torch, init, state dicts, errors."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from conftest import rand

import nerve
from nerve import nn

CONV_MODULES = [
    ("Conv2d", (3, 8, 3), dict(stride=2, padding=1), (2, 3, 9, 10)),
    ("Conv2d", (4, 6, (3, 2)), dict(padding="same", dilation=2, groups=2), (2, 4, 7, 8)),
    ("Conv2d", (4, 4, 3), dict(padding=1, groups=4, bias=False), (2, 4, 6, 6)),
    ("Conv1d", (3, 5, 4), dict(stride=2, padding=2), (2, 3, 13)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2), (2, 4, 5, 4)),
    ("Conv2d", (3, 4, 3), dict(padding=1, padding_mode="reflect"), (2, 3, 6, 5)),
    ("Conv2d", (3, 4, 3), dict(padding=(2, 1), stride=2, padding_mode="replicate"), (2, 3, 7, 6)),
    ("Conv2d", (2, 4, (3, 2)), dict(padding="same", dilation=2, padding_mode="circular"), (2, 2, 7, 6)),
    ("Conv2d", (3, 4, 3), dict(padding=1, padding_mode="reflect"), (3, 6, 5)),  # unbatched
    ("Conv1d", (3, 5, 4), dict(padding=2, padding_mode="circular"), (2, 3, 9)),
    ("Conv1d", (3, 5, 3), dict(padding="same", padding_mode="reflect"), (2, 3, 9)),
]


def _copy_into(module: nn.Module, reference: torch.nn.Module) -> None:
    module.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})


@pytest.mark.parametrize("name, args, kwargs, shape", CONV_MODULES)
def test_conv_modules_match_torch(name: str, args, kwargs, shape) -> None:
    t = getattr(torch.nn, name)(*args, **kwargs)
    n = getattr(nn, name)(*args, **kwargs)
    _copy_into(n, t)
    x = rand(*shape, seed=1, dtype=np.float32)
    xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yn, yt = n(xn), t(xt)
    np.testing.assert_allclose(yn.data, yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    w = rand(*yn.shape, seed=2, dtype=np.float32)
    (yn * nerve.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    grads = dict(t.named_parameters())
    for pname, p in n.named_parameters():
        np.testing.assert_allclose(p.grad.data, grads[pname].grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=pname)


@pytest.mark.parametrize("name, args, kwargs, shape", CONV_MODULES)
def test_conv_modules_parameter_shapes_and_init_bounds(name: str, args, kwargs, shape) -> None:
    t = getattr(torch.nn, name)(*args, **kwargs)
    n = getattr(nn, name)(*args, **kwargs)
    assert {k: tuple(v.shape) for k, v in n.state_dict().items()} == {k: tuple(v.shape) for k, v in
                                                                      t.state_dict().items()}
    fan_in = n.weight.shape[1] * math.prod(n.weight.shape[2:])
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=√5) = U(±1/√fan_in), as torch
    assert np.abs(n.weight.data).max() <= bound and np.abs(n.weight.data).max() > 0.7 * bound
    assert n.weight.dtype == np.float32


def test_conv2d_repr_names_the_layer_like_torch() -> None:
    assert repr(nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False)) == \
        repr(torch.nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False))
    assert repr(nn.Conv2d(16, 16, 3, padding=1, groups=16)) == repr(torch.nn.Conv2d(16, 16, 3, padding=1, groups=16))


@pytest.mark.parametrize("layer, x, message", [
    (nn.Conv2d(3, 16, 3), (2, 1, 28, 28),
     r"Conv2d\(3, 16, kernel_size=\(3, 3\), stride=\(1, 1\)\): expected input with 3 channels \(N, 3, H, W\), "
     r"got shape \(2, 1, 28, 28\)"),
    (nn.Conv2d(1, 6, 5), (2, 1, 4, 4), r"Conv2d\(1, 6, kernel_size=\(5, 5\).*input of spatial size 4x4 .*"
                                       r"smaller than the kernel 5x5"),
    (nn.Conv2d(1, 6, 5), (64, 784), r"Conv2d\(1, 6.*expected a 4-D input \(N, C, H, W\).*got shape \(64, 784\)"),
    (nn.Conv2d(1, 6, 5), (2, 1, 1, 28, 28), re.escape(
        "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1)): expected a 4-D input "
        "(N, C, H, W) or an unbatched 3-D one (C, H, W), got shape (2, 1, 1, 28, 28)")),
    (nn.Conv1d(3, 6, 3), (2, 4, 10), r"Conv1d\(3, 6, kernel_size=\(3,\), stride=\(1,\)\): expected input with 3"),
    (nn.MaxPool2d(2), (2, 3, 1, 8), r"MaxPool2d\(kernel_size=2.*smaller than the kernel 2x2"),
])
def test_layers_name_themselves_in_errors(layer: nn.Module, x, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        layer(nerve.randn(*x))


@pytest.mark.parametrize("make, x, message", [
    (lambda lib: lib.nn.Conv2d(3, 4, 3), (1, 8, 8),
     "Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1)): expected input with 3 channels (N, 3, H, W) or (3, H, W), "
     "got shape (1, 8, 8)"),
    (lambda lib: lib.nn.Conv1d(3, 4, 3), (5, 10),
     "Conv1d(3, 4, kernel_size=(3,), stride=(1,)): expected input with 3 channels (N, 3, L) or (3, L), got shape "
     "(5, 10)"),
    (lambda lib: lib.nn.ConvTranspose2d(3, 4, 3), (2, 5, 5),
     "ConvTranspose2d(3, 4, kernel_size=(3, 3), stride=(1, 1)): expected input with 3 channels (N, 3, H, W) or "
     "(3, H, W), got shape (2, 5, 5)"),
    (lambda lib: lib.nn.Conv2d(3, 4, 5), (3, 3, 3),
     "Conv2d(3, 4, kernel_size=(5, 5), stride=(1, 1)): input of spatial size 3x3 (padded 3x3) is smaller than the "
     "kernel 5x5; got input shape (3, 3, 3)"),
    (lambda lib: lib.nn.Conv1d(3, 4, 5), (3, 2),
     "Conv1d(3, 4, kernel_size=(5,), stride=(1,)): input of length 2 (padded 2) is shorter than the kernel 5; got "
     "input shape (3, 2)"),
])
def test_unbatched_input_errors_report_the_shape_passed(make, x, message: str) -> None:
    # the batch dimension nerve adds to an unbatched input used to show up in the message: (1, 1, 8, 8) for (1, 8, 8)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make(nerve)(nerve.randn(*x))
    with pytest.raises(RuntimeError):  # torch refuses the same inputs (its message shows the batched shape)
        make(torch)(torch.randn(*x))


def test_conv_layer_constructor_errors() -> None:
    with pytest.raises(ValueError, match=r"Conv2d: in_channels \(3\) and out_channels \(8\) must both be divisible"):
        nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match=re.escape(
        "Conv2d: padding='same' is not supported for strided convolutions (stride=(2, 2))")):
        nn.Conv2d(3, 8, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=re.escape(
        "Conv2d: padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', got 'mirror'")):
        nn.Conv2d(3, 8, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported'):
        torch.nn.ConvTranspose2d(3, 8, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=re.escape(
        "ConvTranspose2d: padding_mode must be one of 'zeros', got 'reflect'")):
        nn.ConvTranspose2d(3, 8, 3, padding_mode="reflect")
    assert repr(nn.Conv2d(3, 8, 3, padding=1, padding_mode="circular")) == repr(
        torch.nn.Conv2d(3, 8, 3, padding=1, padding_mode="circular"))


@pytest.mark.parametrize("name, args, shape", [
    ("MaxPool2d", (3, 2, 1), (2, 3, 9, 9)),
    ("MaxPool1d", (2,), (2, 3, 9)),
    ("AvgPool2d", (3, 2, 1), (2, 3, 9, 9)),
    ("AvgPool1d", (3, 2, 1), (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((2, 3),), (2, 3, 9, 8)),
    ("AdaptiveAvgPool2d", (1,), (2, 3, 9, 8)),
    ("AdaptiveAvgPool1d", (4,), (2, 3, 9)),
    ("Upsample", (None, 2, "nearest"), (2, 3, 4, 5)),
    ("Upsample", ((7, 9), None, "bilinear"), (2, 3, 4, 5)),
])
def test_parameter_free_modules_match_torch(name: str, args, shape) -> None:
    x = np.random.default_rng(0).permutation(math.prod(shape)).reshape(shape).astype(np.float32) / 10
    xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yn, yt = getattr(nn, name)(*args)(xn), getattr(torch.nn, name)(*args)(xt)
    np.testing.assert_allclose(yn.data, yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    w = rand(*yn.shape, seed=2, dtype=np.float32)
    (yn * nerve.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_max_pool_module_return_indices() -> None:
    x = rand(2, 3, 8, 8, seed=1, dtype=np.float32)
    out, idx = nn.MaxPool2d(2, return_indices=True)(nerve.tensor(x))
    t_out, t_idx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(out.data, t_out.numpy())
    np.testing.assert_array_equal(idx.data, t_idx.numpy())
    assert idx.dtype == np.int64


@pytest.mark.parametrize("cls, shape", [(nn.Dropout2d, (8, 16, 5, 5)), (nn.Dropout1d, (8, 16, 7))])
def test_channel_dropout_drops_whole_channels(cls, shape) -> None:
    x = nerve.ones(*shape)
    layer = cls(p=0.5)
    y = layer(x).data
    per_channel = y.reshape(shape[0], shape[1], -1)
    assert np.all(per_channel.min(axis=-1) == per_channel.max(axis=-1))  # each map is all-dropped or all-kept
    assert set(np.unique(y)) == {0.0, 2.0}
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, x.data)


def test_channel_dropout_gradient_follows_the_mask() -> None:
    nerve.manual_seed(0)
    x = nerve.ones(4, 6, 3, 3, requires_grad=True)
    y = nn.Dropout2d(0.5)(x)
    y.sum().backward()
    assert set(np.unique(y.data)) == {0.0, 2.0}  # some maps dropped, the rest scaled: the mask is not trivial
    np.testing.assert_array_equal(x.grad.data, y.data)


def test_small_cnn_training_step_lowers_the_loss() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3),
                          nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))
    x = nerve.randn(16, 1, 8, 8)
    y = nerve.tensor(np.arange(16) % 3)
    opt = nerve.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(10):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]

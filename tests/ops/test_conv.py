"""Convolution primitives: float64 gradchecks and float32 PyTorch parity over stride/padding/dilation/groups."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import check_grad, compare_with_torch, rand

import nerve
from nerve.nn import functional as F
from nerve.ops import conv


@pytest.fixture(params=["per_offset", "per_offset_by_sample", "im2col"], autouse=True)
def route(request, monkeypatch) -> str:
    """Run every test through both convolution routes (depthwise convolutions always go per offset), the
    per-offset one also one sample at a time, as its batch chunking does on large batches."""
    monkeypatch.setattr(conv, "PER_OFFSET_MIN_CHANNELS", 10**9 if request.param == "im2col" else 1)
    if request.param == "per_offset_by_sample":
        monkeypatch.setattr(conv, "CHUNK_BYTES", 1)
    return request.param

# (N, C, H, W), (O, C/groups, kh, kw), stride, padding, dilation, groups: odd sizes, asymmetric kernels,
# both the flat stride-1 route and the strided im2col route, 1x1 convolutions, depthwise.
CONV2D_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 1, 1, 1),
    ((2, 3, 7, 6), (4, 3, 3, 2), 1, 0, 1, 1),
    ((1, 2, 9, 8), (3, 2, 3, 3), 2, 1, 1, 1),
    ((2, 2, 9, 7), (3, 2, 3, 3), (2, 3), (1, 2), 1, 1),
    ((2, 2, 9, 9), (2, 2, 3, 3), 1, 2, 2, 1),
    ((1, 2, 11, 10), (2, 2, 3, 2), 2, 1, (2, 3), 1),
    ((2, 4, 6, 5), (6, 2, 3, 3), 1, 1, 1, 2),
    ((2, 4, 6, 5), (4, 1, 3, 3), 1, 1, 1, 4),
    ((2, 4, 7, 7), (8, 1, 3, 3), 2, 1, 1, 4),
    ((2, 3, 5, 4), (5, 3, 1, 1), 1, 0, 1, 1),
    ((2, 3, 5, 4), (5, 3, 1, 1), 2, 0, 1, 1),
    ((1, 1, 5, 5), (2, 1, 5, 5), 1, 0, 1, 1),
    ((2, 1, 6, 6), (2, 1, 5, 5), 1, 2, 1, 1),
    ((2, 2, 4, 20), (2, 2, 3, 3), 1, 0, 1, 1),
    ((2, 3, 8, 7), (4, 3, 3, 3), 3, 2, 1, 1),
    ((2, 4, 9, 9), (2, 4, 3, 3), 2, 2, 2, 1),
    ((2, 6, 7, 7), (6, 1, 5, 5), 2, 2, 1, 6),
    # stride 1 with padding beyond the kernel's reach, or uneven between H and W: images on the flat grid share
    # only max(before, after) rows and columns of padding, and outputs may outgrow the input
    ((3, 2, 5, 4), (3, 2, 1, 1), 1, 3, 1, 1),
    ((3, 2, 6, 5), (3, 2, 3, 3), 1, (3, 0), 1, 1),
    ((2, 2, 5, 6), (2, 2, 2, 3), 1, (4, 1), (2, 1), 1),
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups", CONV2D_CASES)
def test_conv2d_gradcheck(xs, ws, stride, padding, dilation, groups, bias: bool) -> None:
    arrays = [rand(*xs, seed=1), rand(*ws, seed=2)] + ([rand(ws[0], seed=3)] if bias else [])
    check_grad(lambda x, w, *b: F.conv2d(x, w, b[0] if b else None, stride, padding, dilation, groups), *arrays)


@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups", CONV2D_CASES)
def test_conv2d_matches_torch(xs, ws, stride, padding, dilation, groups) -> None:
    arrays = (rand(*xs, seed=1, dtype=np.float32), rand(*ws, seed=2, dtype=np.float32),
              rand(ws[0], seed=3, dtype=np.float32))
    compare_with_torch(lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups),
                       *arrays, rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")  # torch's, not ours
@pytest.mark.parametrize("ws, dilation", [((3, 2, 3, 3), 1), ((3, 2, 4, 2), 1), ((3, 2, 3, 3), 2), ((3, 2, 2, 5), 1)])
def test_conv2d_same_padding_matches_torch(ws, dilation) -> None:
    # even kernels need one more zero after than before: PyTorch's convention
    arrays = (rand(2, 2, 7, 8, seed=1, dtype=np.float32), rand(*ws, seed=2, dtype=np.float32))
    compare_with_torch(lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding="same", dilation=dilation),
                       *arrays, rtol=1e-4, atol=1e-5)
    check_grad(lambda x, w: F.conv2d(x, w, padding="same", dilation=dilation),
               rand(1, 2, 5, 6, seed=1), rand(*ws, seed=2))


@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_bias_gradient_with_a_frozen_weight_matches_torch(groups: int) -> None:
    # im2col takes the bias gradient from the weight-gradient GEMM (a row of ones under the columns); with the
    # weight frozen, as in fine-tuning, that GEMM does not run and the bias must still get its gradient
    import torch

    x, b, g = rand(2, 4, 6, 5, seed=1, dtype=np.float32), rand(6, seed=3, dtype=np.float32), rand(2, 6, 6, 5, seed=4)
    w = rand(6, 4 // groups, 3, 3, seed=2, dtype=np.float32)
    xt, bt = torch.tensor(x, requires_grad=True), torch.tensor(b, requires_grad=True)
    torch.nn.functional.conv2d(xt, torch.tensor(w), bt, padding=1, groups=groups).backward(torch.tensor(g).float())
    xn, wn, bn = nerve.tensor(x, requires_grad=True), nerve.tensor(w), nerve.tensor(b, requires_grad=True)
    F.conv2d(xn, wn, bn, padding=1, groups=groups).backward(nerve.tensor(g.astype(np.float32)))
    assert wn.grad is None
    np.testing.assert_allclose(bn.grad.data, bt.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_conv2d_float64_matches_torch_tightly() -> None:
    compare_with_torch(lambda lib, x, w: lib.nn.functional.conv2d(x, w, stride=2, padding=1),
                       rand(2, 3, 9, 9, seed=1), rand(4, 3, 3, 3, seed=2), rtol=1e-12, atol=1e-12)


def test_conv2d_unbatched_input() -> None:
    compare_with_torch(lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding=1),
                       rand(3, 6, 5, seed=1, dtype=np.float32), rand(2, 3, 3, 3, seed=2, dtype=np.float32),
                       rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("stride, padding, dilation, groups", [(1, 0, 1, 1), (2, 1, 1, 1), (1, "same", 2, 1),
                                                               (3, 2, 1, 2), (1, 1, 1, 4)])
def test_conv1d_gradcheck_and_torch(stride, padding, dilation, groups) -> None:
    ws = (4, 4 // groups, 3)
    check_grad(lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation, groups),
               rand(2, 4, 11, seed=1), rand(*ws, seed=2), rand(4, seed=3))
    compare_with_torch(lambda lib, x, w, b: lib.nn.functional.conv1d(x, w, b, stride, padding, dilation, groups),
                       rand(2, 4, 11, seed=1, dtype=np.float32), rand(*ws, seed=2, dtype=np.float32),
                       rand(4, seed=3, dtype=np.float32), rtol=1e-4, atol=1e-5)


# (N, C_in, H, W), (C_in, C_out/groups, kh, kw), stride, padding, output_padding, groups, dilation
TRANSPOSED_CASES = [
    ((2, 3, 4, 5), (3, 2, 3, 3), 1, 0, 0, 1, 1),
    ((2, 3, 4, 5), (3, 2, 3, 3), 2, 1, 1, 1, 1),
    ((1, 2, 3, 3), (2, 3, 4, 4), 2, 1, 0, 1, 1),
    ((2, 4, 3, 4), (4, 1, 3, 2), (2, 1), (1, 0), (1, 0), 2, 1),
    ((1, 2, 4, 4), (2, 2, 3, 3), 1, 1, 0, 1, 2),
    ((1, 2, 4, 4), (2, 2, 3, 3), 3, 2, (2, 1), 1, 1),
]


@pytest.mark.parametrize("xs, ws, stride, padding, output_padding, groups, dilation", TRANSPOSED_CASES)
def test_conv_transpose2d_gradcheck_and_torch(xs, ws, stride, padding, output_padding, groups, dilation) -> None:
    out_channels = ws[1] * groups

    def fn(lib, x, w, b):
        return lib.nn.functional.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)

    check_grad(lambda x, w, b: fn(nerve, x, w, b), rand(*xs, seed=1), rand(*ws, seed=2), rand(out_channels, seed=3))
    compare_with_torch(fn, rand(*xs, seed=1, dtype=np.float32), rand(*ws, seed=2, dtype=np.float32),
                       rand(out_channels, seed=3, dtype=np.float32), rtol=1e-4, atol=1e-5)


def test_conv_transpose_is_the_adjoint_of_conv() -> None:
    # <conv(x), y> == <x, conv_transpose(y)> for the same weight: the defining property
    x, w = rand(2, 3, 9, 8, seed=1), rand(4, 3, 3, 3, seed=2)
    y = F.conv2d(nerve.tensor(x), nerve.tensor(w), stride=2, padding=1)
    g = rand(*y.shape, seed=3)
    back = F.conv_transpose2d(nerve.tensor(g), nerve.tensor(w), stride=2, padding=1, output_padding=(0, 1))
    assert back.shape == x.shape
    np.testing.assert_allclose((y.data * g).sum(), (x * back.data).sum(), rtol=1e-12)


def test_batch_chunks_of_uneven_size_agree_with_one_pass(monkeypatch) -> None:
    x = rand(5, 8, 9, 9, seed=1)
    w = rand(6, 8, 3, 3, seed=2)
    monkeypatch.setattr(conv, "PER_OFFSET_MIN_CHANNELS", 1)
    per_sample = 3 * 3 * 6 * 11 * 11 * 8  # bytes of kernel-offset products per sample (float64)
    results = []
    for chunk_bytes in (10**9, 2 * per_sample):  # one pass, then chunks of 2, 2 and 1 samples
        monkeypatch.setattr(conv, "CHUNK_BYTES", chunk_bytes)
        xt, wt = nerve.tensor(x, requires_grad=True), nerve.tensor(w, requires_grad=True)
        y = F.conv2d(xt, wt, padding=1)
        (y * nerve.tensor(rand(*y.shape, seed=3))).sum().backward()
        results.append((y.data, xt.grad.data, wt.grad.data))
    for one_pass, chunked in zip(*results):
        np.testing.assert_allclose(chunked, one_pass, rtol=1e-12, atol=1e-12)


def test_routes_agree_on_a_resnet_sized_layer(monkeypatch) -> None:
    x, w = nerve.tensor(rand(4, 16, 12, 12, seed=1, dtype=np.float32)), nerve.tensor(rand(32, 16, 3, 3, seed=2,
                                                                                        dtype=np.float32))
    outs = []
    for threshold in (1, 10**9):
        monkeypatch.setattr(conv, "PER_OFFSET_MIN_CHANNELS", threshold)
        outs.append(F.conv2d(x, w, stride=2, padding=1).data)
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-4, atol=1e-4)


def test_conv_input_gradient_skipped_for_data_and_weight_grad_kept() -> None:
    x = nerve.tensor(rand(2, 3, 6, 6, seed=1, dtype=np.float32))
    w = nerve.tensor(rand(4, 3, 3, 3, seed=2, dtype=np.float32), requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()
    assert x.grad is None and w.grad is not None and w.grad.shape == w.shape


def test_conv_builds_no_graph_under_no_grad() -> None:
    w = nerve.tensor(rand(4, 3, 3, 3, seed=2, dtype=np.float32), requires_grad=True)
    with nerve.no_grad():
        y = F.conv2d(nerve.tensor(rand(2, 3, 6, 6, dtype=np.float32)), w)
    assert not y.requires_grad


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(nerve.randn(2, 4, 8, 8), nerve.randn(6, 3, 3, 3)), re.escape(
        "conv2d: expected input with 3 channels (N, 3, H, W), got shape (2, 4, 8, 8)")),
    (lambda: F.conv2d(nerve.randn(2, 3, 2, 8), nerve.randn(6, 3, 3, 3)),
     r"input of spatial size 2x8 \(padded 2x8\) is smaller than the kernel 3x3"),
    (lambda: F.conv2d(nerve.randn(8, 8), nerve.randn(6, 3, 3, 3)), r"expected a 4-D input .* got shape \(8, 8\)"),
    (lambda: F.conv2d(nerve.randn(2, 3, 8, 8), nerve.randn(6, 3, 3, 3), stride=2, padding="same"),
     re.escape("conv2d: padding='same' needs stride 1 (got stride (2, 2)); use an explicit padding "
               "for strided convolutions")),
    (lambda: F.conv2d(nerve.randn(2, 3, 8, 8), nerve.randn(6, 3, 3, 3), stride=0), re.escape(
        "conv2d: stride must be >= 1, got 0")),
    (lambda: F.conv2d(nerve.randn(2, 4, 8, 8), nerve.randn(5, 2, 3, 3), groups=2), re.escape(
        "conv2d: out_channels 5 is not divisible by groups=2")),
    (lambda: F.conv2d(nerve.randn(2, 3, 8, 8), nerve.randn(6, 3, 3, 3).double()), re.escape(
        "conv2d: input and weight must have the same floating dtype, got input float32 and "
        "weight float64")),
    (lambda: F.conv2d(nerve.randn(2, 3, 8, 8), nerve.randn(6, 3, 3, 3), nerve.randn(5)), r"bias of shape \(6,\)"),
    (lambda: F.conv1d(nerve.randn(2, 3, 2), nerve.randn(6, 3, 3)), r"input of length 2 .* shorter than the kernel 3"),
    (lambda: F.conv_transpose2d(nerve.randn(2, 3, 4, 4), nerve.randn(3, 2, 3, 3), stride=2, output_padding=2),
     r"output_padding .* must be smaller than stride"),
])
def test_conv_bad_input_errors(call, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        call()

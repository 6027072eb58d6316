"""Layer options the rest of the suite left without a torch comparison (forward, input and parameter gradients
with copied weights), the packed causal self-attention path, dropout gradients, positional-encoding gradchecks,
and the gradient of Hardtanh/ReLU6 exactly at their bounds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from conftest import compare_with_torch, rand

import nerve
from nerve import nn
from nerve.nn import functional as F

TIGHT = dict(rtol=1e-10, atol=1e-12)


def _numpy(t: Any) -> np.ndarray:
    return t.data if isinstance(t, nerve.Tensor) else t.detach().numpy()


def _pair(make, seed: int = 0):
    """The same float64 layer in both libraries, torch's (non-trivial) parameters copied into nerve's."""
    t_mod = make(torch).double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in t_mod.parameters():
            p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) - 0.5)
    n_mod = make(nerve).to(np.float64)
    n_mod.load_state_dict({k: v.detach().numpy() for k, v in t_mod.state_dict().items()})
    return n_mod, t_mod


def _assert_same_step(n_mod, t_mod, *arrays: np.ndarray, tol=TIGHT) -> None:
    """Forward, then backward of sum(out * w): outputs, gradients of float inputs and of every parameter."""
    n_in = [nerve.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    t_in = [torch.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    n_out, t_out = n_mod(*n_in), t_mod(*t_in)
    assert n_out.shape == tuple(t_out.shape)
    np.testing.assert_allclose(_numpy(n_out), _numpy(t_out), **tol, err_msg="output")
    w = np.random.default_rng(7).uniform(0.5, 1.5, n_out.shape)
    (n_out * nerve.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    for i, (a, b) in enumerate(zip(n_in, t_in)):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), **tol, err_msg=f"gradient of input {i}")
    t_params = dict(t_mod.named_parameters())
    assert set(dict(n_mod.named_parameters())) == set(t_params)
    for name, p in n_mod.named_parameters():
        if t_params[name].grad is None:
            assert p.grad is None or not p.grad.data.any(), name
            continue
        np.testing.assert_allclose(p.grad.data, t_params[name].grad.numpy(), **tol, err_msg=f"gradient of {name}")
    t_state = t_mod.state_dict()
    for key, value in n_mod.state_dict().items():  # e.g. rows renormalised in place by max_norm
        np.testing.assert_allclose(_numpy(value), t_state[key].numpy(), **tol, err_msg=key)


def _x(*shape: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _distinct(*shape: int, seed: int = 1) -> np.ndarray:
    """No ties, so max-pool gradients are well defined."""
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0


# ----------------------------------------------------------------------------- layer options against torch

LAYERS = {
    "ConvTranspose2d-dilation-no-bias": (lambda lib: lib.nn.ConvTranspose2d(2, 3, (3, 2), stride=(2, 1), padding=1,
                                                                            dilation=2, bias=False), (2, 2, 4, 5)),
    "ConvTranspose2d-unbatched": (lambda lib: lib.nn.ConvTranspose2d(2, 4, 3, stride=2, output_padding=1, groups=2),
                                  (2, 4, 5)),
    "Conv1d-groups-dilation": (lambda lib: lib.nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2),
                               (2, 4, 11)),
    "Conv1d-unbatched-no-bias": (lambda lib: lib.nn.Conv1d(3, 2, 5, padding="same", bias=False), (3, 9)),
    "Conv2d-replicate-groups-no-bias": (lambda lib: lib.nn.Conv2d(4, 6, 3, padding=1, groups=2,
                                                                  padding_mode="replicate", bias=False), (2, 4, 5, 5)),
    "Conv2d-circular-strided": (lambda lib: lib.nn.Conv2d(2, 3, 3, stride=2, padding=(1, 2), padding_mode="circular"),
                                (2, 2, 6, 7)),
    "MaxPool2d-ceil-dilation-padding": (lambda lib: lib.nn.MaxPool2d(3, 2, 1, 2, ceil_mode=True), (2, 2, 9, 8)),
    "MaxPool1d-ceil-dilation-padding": (lambda lib: lib.nn.MaxPool1d(3, 2, 1, 2, ceil_mode=True), (2, 2, 11)),
    "AvgPool2d-divisor": (lambda lib: lib.nn.AvgPool2d(2, divisor_override=3), (2, 2, 4, 6)),
    "AvgPool2d-ceil-exclude-pad": (lambda lib: lib.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
                                   (2, 2, 8, 7)),
    "AvgPool1d-ceil-exclude-pad": (lambda lib: lib.nn.AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=False),
                                   (2, 2, 8)),
    "AdaptiveMaxPool2d-upsampling": (lambda lib: lib.nn.AdaptiveMaxPool2d((5, 6)), (1, 2, 3, 4)),
    "Upsample-bilinear-align-corners": (lambda lib: lib.nn.Upsample(scale_factor=2, mode="bilinear",
                                                                    align_corners=True), (2, 2, 3, 4)),
    "Upsample-linear": (lambda lib: lib.nn.Upsample(size=7, mode="linear"), (2, 2, 3)),
    "ConstantPad2d-cropping": (lambda lib: lib.nn.ConstantPad2d((-1, 2, 1, 0), 0.5), (2, 2, 3, 3)),
    "Flatten-leading": (lambda lib: lib.nn.Flatten(0, -2), (2, 3, 4)),
    "PairwiseDistance-p3-keepdim": (lambda lib: lib.nn.PairwiseDistance(3.0, 1e-4, keepdim=True), None),
    "CosineSimilarity-dim0": (lambda lib: lib.nn.CosineSimilarity(0, 1e-4), None),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_options_match_torch_float64(name):
    make, shape = LAYERS[name]
    n_mod, t_mod = _pair(make)
    arrays = (_x(3, 4, seed=1), _x(3, 4, seed=2)) if shape is None else (
        _distinct(*shape) if "MaxPool" in name else _x(*shape),)
    _assert_same_step(n_mod, t_mod, *arrays)


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.Embedding(6, 3, max_norm=1.5, norm_type=1.0),
    lambda lib: lib.nn.Embedding(6, 3, padding_idx=-2),
    lambda lib: lib.nn.Embedding.from_pretrained(lib.tensor(np.arange(18.0).reshape(6, 3) / 10), freeze=False,
                                                 padding_idx=1, max_norm=1.0),
], ids=["max_norm-l1", "negative-padding_idx", "from_pretrained-trainable"])
def test_embedding_options_match_torch(make):
    n_mod, t_mod = _pair(make)
    t_mod.weight.data[0] += 2.0  # rows over max_norm get renormalised in place (outside autograd) on both sides
    n_mod.weight.data[0] += 2.0
    _assert_same_step(n_mod, t_mod, np.array([[0, 5, 5, 4], [1, 0, 2, 1]]))
    assert n_mod.weight.requires_grad


# ---------------------------------------------------------------------------------------- packed attention

@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_self_attention_causal_flag_matches_torch(batch_first, need_weights):
    # self-attention takes the packed one-node route; with is_causal and no padding the causal structure is a flag
    # of that node, never a mask (torch wants the mask as well, as a hint it may skip)
    n_mod, t_mod = _pair(lambda lib: lib.nn.MultiheadAttention(8, 2, batch_first=batch_first))
    x = _x(3, 5, 8) if batch_first else _x(5, 3, 8)
    xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    n_out, n_w = n_mod(xn, xn, xn, need_weights=need_weights, is_causal=True)
    t_out, t_w = t_mod(xt, xt, xt, need_weights=need_weights, attn_mask=causal, is_causal=True)
    np.testing.assert_allclose(n_out.data, t_out.detach().numpy(), **TIGHT)
    if need_weights:
        np.testing.assert_allclose(n_w.data, t_w.detach().numpy(), **TIGHT)
        assert not np.triu(n_w.data[0], 1).any()  # no weight above the diagonal
    else:
        assert n_w is None and t_w is None
    w = np.random.default_rng(9).uniform(0.5, 1.5, n_out.shape)
    (n_out * nerve.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), **TIGHT)
    t_params = dict(t_mod.named_parameters())
    for name, p in n_mod.named_parameters():
        np.testing.assert_allclose(p.grad.data, t_params[name].grad.numpy(), **TIGHT, err_msg=name)


# ------------------------------------------------------------------------------------------------- dropout

@pytest.mark.parametrize("fn, shape", [
    (lambda x: F.dropout(x, 0.4), (6, 20)),
    (lambda x: F.dropout1d(x, 0.5), (8, 6, 5)),
    (lambda x: F.dropout2d(x, 0.5), (6, 8, 3, 3)),
    (lambda x: nn.Dropout1d(0.3)(x), (8, 6, 5)),
    (lambda x: nn.Dropout(0.5)(x), (4, 9)),
], ids=["dropout", "dropout1d", "dropout2d", "Dropout1d", "Dropout"])
def test_dropout_gradient_is_the_mask_scaled(fn, shape):
    """A random mask cannot be compared with torch's; the backward must still be exactly the forward's scaling."""
    nerve.manual_seed(3)
    x = nerve.tensor(rand(*shape, seed=1, low=0.5, high=2.0), requires_grad=True)
    y = fn(x)
    w = rand(*shape, seed=2)
    (y * nerve.tensor(w)).sum().backward()
    scale = y.data / x.data  # 0 where dropped, 1/(1-p) elsewhere
    assert 0 < (scale == 0).mean() < 1, "the mask drops nothing or everything: the check would be vacuous"
    np.testing.assert_allclose(x.grad.data, scale * w, rtol=1e-12)


# ------------------------------------------------------------------------------------------ positional encodings

@pytest.mark.parametrize("cls", ["SinusoidalPositionalEncoding", "LearnedPositionalEmbedding"])
@pytest.mark.parametrize("batch_first, shape", [(True, (2, 4, 6)), (False, (4, 2, 6)), (True, (4, 6))], ids=str)
def test_positional_encodings_gradcheck(cls, batch_first, shape):
    args = (6, 8) if cls == "SinusoidalPositionalEncoding" else (8, 6)
    module = getattr(nn, cls)(*args, batch_first=batch_first, dtype=nerve.float64)
    x = nerve.tensor(rand(*shape, seed=1), requires_grad=True)
    if cls == "LearnedPositionalEmbedding":  # the table's gradient too (gradcheck perturbs the parameter in place)
        module.weight.data[...] = rand(8, 6, seed=2)
        assert nerve.autograd.gradcheck(lambda x, w: module(x) * module(x), (x, module.weight))
    else:
        assert nerve.autograd.gradcheck(lambda x: module(x) * module(x), (x,))


# ------------------------------------------------------------------------------------ hardtanh at its bounds

@pytest.mark.parametrize("fn", [
    lambda lib, x: lib.nn.functional.hardtanh(x),
    lambda lib, x: lib.nn.functional.hardtanh(x, -0.5, 0.5),
    lambda lib, x: lib.nn.functional.relu6(x),
    lambda lib, x: lib.nn.Hardtanh()(x),
    lambda lib, x: lib.nn.ReLU6()(x),
], ids=["hardtanh", "hardtanh-range", "relu6", "Hardtanh", "ReLU6"])
def test_hardtanh_family_gradient_at_the_bounds_like_torch(fn):
    compare_with_torch(fn, np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 6.0, 7.0, 0.25], np.float32))

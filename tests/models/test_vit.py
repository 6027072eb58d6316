"""Vision Transformer: torchvision's ``VisionTransformer`` weights load into nerve's ``ViT`` and give the same
outputs, input gradients, parameter gradients and attention maps; shapes, initialisation and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import import_torchvision

import nerve
from nerve import models
from nerve.analysis import attention_maps
from nerve.models.vit import class_token_attention


def _torchvision():
    torchvision = import_torchvision()
    if torchvision is None:  # the parity oracle: a missing test dependency must fail, not skip
        pytest.fail("torchvision is not installed (it is in the test extra: pip install 'nerve[test]')")
    return torchvision.models.vision_transformer


SMALL = dict(image_size=28, patch_size=7, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32, num_classes=10)


def _reference(**overrides) -> torch.nn.Module:
    """A small torchvision ViT whose parameters are all moved off their initial values (its head starts at
    zero, which would make any comparison of outputs trivially equal)."""
    torch.manual_seed(0)
    reference = _torchvision().VisionTransformer(**{**SMALL, **overrides})
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in reference.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=gen))
    return reference


def _load(model: nerve.nn.Module, reference: torch.nn.Module) -> None:
    state = {k: v.detach().numpy().copy() for k, v in reference.state_dict().items()}
    assert list(model.state_dict()) == list(state), "state-dict keys or their order differ from torchvision's"
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {k: v.shape for k, v in state.items()}
    model.load_state_dict(state)


def _images(n: int = 4, channels: int = 3, size: int = 28) -> np.ndarray:
    return np.random.default_rng(2).standard_normal((n, channels, size, size)).astype(np.float32)


@pytest.mark.parametrize("train", [False, True])
def test_torchvision_weights_give_the_same_outputs_and_gradients(train: bool) -> None:
    reference = _reference()
    model = models.ViT(**SMALL)
    _load(model, reference)
    model.train(train)
    reference.train(train)
    x = _images()
    xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yn, yt = model(xn), reference(xt)
    assert yn.shape == (4, 10)
    assert np.abs(yt.detach().numpy()).max() > 0.1  # the comparison below is not of near-zero logits
    np.testing.assert_allclose(yn.data, yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    w = np.random.default_rng(3).uniform(0.5, 1.5, yn.shape).astype(np.float32)
    (yn * nerve.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), rtol=1e-3, atol=1e-5)
    grads = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        expected = grads[name].grad.numpy()
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(p.grad.data, expected, rtol=1e-3, atol=1e-5 * scale, err_msg=name)


def test_pre_logits_head_matches_torchvision() -> None:
    reference = _reference(representation_size=12, num_layers=1).eval()
    model = models.ViT(**{**SMALL, "num_layers": 1}, representation_size=12).eval()
    _load(model, reference)
    x = _images(2)
    with torch.no_grad():
        expected = reference(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model(nerve.tensor(x)).data, expected, rtol=1e-4, atol=1e-5)


def test_nerve_weights_load_into_torchvision() -> None:
    model = models.ViT(**SMALL)
    for p in model.parameters():  # off the (zero-head) initialisation, as above
        p.data += np.random.default_rng(4).normal(0, 0.2, p.shape).astype(np.float32)
    reference = _torchvision().VisionTransformer(**SMALL).eval()
    reference.load_state_dict({k: torch.tensor(v.data) for k, v in model.state_dict().items()}, strict=True)
    x = _images(3)
    with torch.no_grad():
        expected = reference(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model.eval()(nerve.tensor(x)).data, expected, rtol=1e-4, atol=1e-5)


def test_parameter_count_equals_torchvisions_vit_b_16() -> None:
    # ViT-B/16 at 224×224: 86,567,656 parameters. Counted from shapes only, so nothing big is run.
    config = dict(image_size=224, patch_size=16, num_layers=12, num_heads=12, hidden_dim=768, mlp_dim=3072)
    model = models.ViT(**config)
    assert sum(p.numel() for p in model.parameters()) == 86_567_656


def test_attention_maps_match_torchvisions_per_head_weights() -> None:
    reference = _reference().eval()
    model = models.ViT(**SMALL)
    _load(model, reference)
    x = _images(3)
    maps = attention_maps(model, nerve.tensor(x))
    names = [f"encoder.layers.encoder_layer_{i}.self_attention" for i in range(2)]
    assert list(maps) == names
    # torchvision asks for no weights; recompute each layer's from the input its attention received
    inputs: dict[str, torch.Tensor] = {}
    hooks = [reference.get_submodule(name).register_forward_pre_hook(
        lambda m, args, name=name: inputs.__setitem__(name, args[0])) for name in names]
    with torch.no_grad():
        reference(torch.tensor(x))
        for hook in hooks:
            hook.remove()
        for name in names:
            q = inputs[name]
            _, expected = reference.get_submodule(name)(q, q, q, need_weights=True, average_attn_weights=False)
            assert maps[name].shape == (3, 2, 17, 17)
            np.testing.assert_allclose(maps[name], expected.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(maps[names[-1]].sum(-1), 1.0, rtol=1e-5)


def test_shapes_for_one_channel_images_and_other_sizes() -> None:
    model = models.ViT(image_size=32, patch_size=4, num_layers=1, num_heads=4, hidden_dim=32, mlp_dim=64,
                       num_classes=7, in_channels=1)
    assert model.seq_length == 65
    assert model.encoder.pos_embedding.shape == (1, 65, 32)
    assert model.conv_proj.weight.shape == (32, 1, 4, 4)
    x = nerve.randn(5, 1, 32, 32)
    assert model.patch_tokens(x).shape == (5, 64, 32)
    assert model(x).shape == (5, 7)


def test_patch_tokens_are_row_major_over_the_grid() -> None:
    # a single bright pixel in patch (row 1, col 2) of a 4×4 grid must change token 1·4 + 2 only
    model = models.ViT(image_size=16, patch_size=4, num_layers=1, num_heads=1, hidden_dim=8, mlp_dim=8,
                       in_channels=1)
    x = np.zeros((1, 1, 16, 16), np.float32)
    base = model.patch_tokens(nerve.tensor(x)).data
    x[0, 0, 5, 9] = 1.0
    changed = np.abs(model.patch_tokens(nerve.tensor(x)).data - base).sum(-1)[0]
    assert np.flatnonzero(changed).tolist() == [6]


def test_initialisation_follows_torchvision() -> None:
    model = models.ViT(image_size=32, patch_size=4, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=256,
                       num_classes=10)
    assert not np.any(model.heads.head.weight.data) and not np.any(model.heads.head.bias.data)
    assert not np.any(model.class_token.data)
    assert abs(model.encoder.pos_embedding.data.std() - 0.02) < 0.002
    conv = model.conv_proj.weight.data
    assert abs(conv.std() - math.sqrt(1 / (3 * 16))) < 0.015 and not np.any(model.conv_proj.bias.data)
    block = model.encoder.layers.encoder_layer_0
    bound = math.sqrt(6 / (64 + 256))  # Xavier-uniform
    assert np.abs(block.mlp[0].weight.data).max() <= bound and np.abs(block.mlp[0].weight.data).max() > 0.9 * bound
    assert 0 < np.abs(block.mlp[0].bias.data).max() < 1e-5
    assert block.ln_1.eps == model.encoder.ln.eps == 1e-6
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_state_dict_round_trip_gives_the_same_model(tmp_path) -> None:
    model = models.ViT(**SMALL, in_channels=1)
    for p in model.parameters():
        p.data += np.random.default_rng(5).normal(0, 0.1, p.shape).astype(np.float32)
    path = tmp_path / "vit.safetensors"
    nerve.io.save(model.state_dict(), path)
    other = models.ViT(**SMALL, in_channels=1)
    other.load_state_dict(nerve.io.load(path))
    x = nerve.tensor(_images(2, channels=1))
    np.testing.assert_array_equal(model.eval()(x).data, other.eval()(x).data)


def test_one_training_step_lowers_the_loss() -> None:
    model = models.ViT(**SMALL, in_channels=1)
    x = nerve.tensor(_images(16, channels=1))
    y = nerve.tensor(np.arange(16) % 10)
    opt = nerve.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(3):
        loss = nerve.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.05, losses


@pytest.mark.parametrize("kwargs, message", [
    (dict(image_size=28, patch_size=5), "ViT: image_size (28) must be divisible by patch_size (5)"),
    (dict(hidden_dim=18, num_heads=4), "ViT: hidden_dim (18) must be divisible by num_heads (4)"),
    (dict(num_layers=0), "ViT: num_layers must be a positive integer, got 0"),
])
def test_bad_configuration_is_rejected(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        models.ViT(**{**SMALL, **kwargs})


@pytest.mark.parametrize("shape, message", [
    ((2, 3, 28, 28), r"ViT: expected 1 input channels, got 3 \(input shape \(2, 3, 28, 28\)\)"),
    ((1, 28, 28), r"ViT: expected images of shape \(N, 1, 28, 28\), got shape \(1, 28, 28\)"),
    ((2, 1, 35, 35), r"ViT: expected 28x28 images \(17 tokens: 4x4 patches of 7x7 \+ class token, the size of the "
                     r"position table\), got 35x35 \(→ 26 tokens\)"),
    ((2, 1, 14, 28), r"ViT: expected 28x28 images .* got 14x28 \(→ 9 tokens\)"),
])
def test_bad_input_names_the_layer_and_the_shapes(shape, message) -> None:
    model = models.ViT(**SMALL, in_channels=1)
    with pytest.raises(ValueError, match=message):
        model(nerve.randn(*shape))


def test_class_token_attention_last_block_and_rollout() -> None:
    reference = _reference().eval()
    model = models.ViT(**SMALL)
    _load(model, reference)
    x = nerve.tensor(_images(3))
    maps = attention_maps(model, x)
    layers = [m.mean(axis=1) for m in maps.values()]
    last = class_token_attention(model, x, "last")
    assert last.shape == (3, 4, 4)
    # the last block's class-token row, without its attention to itself, laid out on the patch grid
    np.testing.assert_allclose(last, layers[-1][:, 0, 1:].reshape(3, 4, 4), rtol=1e-6)
    rollout = class_token_attention(model, x, "rollout")
    mixed = [0.5 * a + 0.5 * np.eye(17) for a in layers]  # rows of ½A + ½I already sum to 1
    expected = (mixed[1] @ mixed[0])[:, 0, 1:].reshape(3, 4, 4)
    np.testing.assert_allclose(rollout, expected, rtol=1e-5, atol=1e-7)
    assert np.all(rollout > 0) and np.all(rollout.sum(axis=(1, 2)) < 1)
    with pytest.raises(ValueError, match="class_token_attention: method must be 'last' or 'rollout', got 'mean'"):
        class_token_attention(model, x, "mean")

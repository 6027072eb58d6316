"""nn.utils: gradient clipping (by norm, by value) and parameter/vector conversion, against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nerve
from nerve import nn
from nerve.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters

SHAPES = [(4, 3), (3,), (2, 2, 2)]


def _pairs(dtype: type = np.float32, seed: int = 0) -> tuple[list[nn.Parameter], list[torch.nn.Parameter]]:
    """Parameters with identical values and gradients in both libraries."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for shape in SHAPES:
        v, g = rng.normal(size=shape).astype(dtype), rng.normal(size=shape).astype(dtype) * 3
        p = nn.Parameter(v.copy())
        p.grad = nerve.tensor(g.copy())
        t = torch.nn.Parameter(torch.tensor(v))
        t.grad = torch.tensor(g)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type: float, max_norm: float, dtype: type) -> None:
    ours, theirs = _pairs(dtype)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    assert isinstance(total, nerve.Tensor) and total.shape == () and total.dtype == dtype
    np.testing.assert_allclose(total.item(), t_total.item(), rtol=rtol)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=rtol, atol=1e-7)
    clipped = np.linalg.norm(np.concatenate([p.grad.data.ravel() for p in ours]), ord=norm_type)
    assert clipped <= max_norm * (1 + 1e-5)


def test_clip_grad_norm_details() -> None:
    ours, _ = _pairs()
    ours[1].grad = None  # parameters without gradients are skipped
    expected = np.sqrt(sum((p.grad.data.astype(np.float64) ** 2).sum() for p in ours if p.grad is not None))
    np.testing.assert_allclose(clip_grad_norm_(iter(ours), 1e9).item(), expected, rtol=1e-6)
    single = nn.Parameter(np.array([3.0, 4.0]))
    single.grad = nerve.tensor(np.array([3.0, 4.0]))
    np.testing.assert_allclose(clip_grad_norm_(single, 1.0).item(), 5.0)  # a single tensor is accepted
    np.testing.assert_allclose(single.grad.data, [0.6, 0.8], rtol=1e-5)
    assert clip_grad_norm_([nn.Parameter(np.zeros(2))], 1.0).item() == 0.0  # nothing to clip
    bad = nn.Parameter(np.zeros(2))
    bad.grad = nerve.tensor(np.array([np.inf, 1.0]))
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([bad], 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch() -> None:
    ours, theirs = _pairs()
    assert clip_grad_value_(ours, 0.7) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.data, t.grad.numpy())
        assert np.abs(p.grad.data).max() <= 0.7
    grad = ours[0].grad
    clip_grad_value_(ours[0], 0.1)  # in place, single tensor
    assert ours[0].grad is grad and np.abs(grad.data).max() <= 0.1


def test_parameters_to_vector_and_back() -> None:
    ours, theirs = _pairs()
    vec = parameters_to_vector(ours)
    np.testing.assert_array_equal(vec.data, torch.nn.utils.parameters_to_vector(theirs).detach().numpy())
    assert vec.shape == (12 + 3 + 8,) and vec.dtype == np.float32
    views = [p.data for p in ours]
    vector_to_parameters(nerve.tensor(np.arange(23, dtype=np.float32)), ours)
    torch.nn.utils.vector_to_parameters(torch.arange(23, dtype=torch.float32), theirs)
    for p, t, view in zip(ours, theirs, views):
        np.testing.assert_array_equal(p.data, t.detach().numpy())
        assert p.data is view  # in place: an optimizer holding these arrays still sees the parameters
    np.testing.assert_array_equal(parameters_to_vector(ours).data, np.arange(23))
    with pytest.raises(ValueError, match="23"):
        vector_to_parameters(nerve.zeros(22), ours)
    with pytest.raises(ValueError, match="1-D"):
        vector_to_parameters(nerve.zeros(23, 1), ours)


def test_clip_between_backward_and_step() -> None:
    lin = nn.Linear(3, 2)
    opt = nerve.optim.SGD(lin.parameters(), lr=1.0)
    (lin(nerve.ones(4, 3)) * 100).sum().backward()
    before = parameters_to_vector(lin.parameters()).data
    clip_grad_norm_(lin.parameters(), 0.5)
    opt.step()
    moved = parameters_to_vector(lin.parameters()).data - before
    np.testing.assert_allclose(np.linalg.norm(moved), 0.5, rtol=1e-4)


def test_parameters_to_vector_is_differentiable_like_torch() -> None:
    """A penalty on the flattened weights (``(vec ** 2).sum()``) reaches every parameter's gradient."""
    ours, theirs = _pairs()
    for params, lib in ((ours, nerve), (theirs, torch)):
        vec = (nerve.nn.utils if lib is nerve else torch.nn.utils).parameters_to_vector(params)
        assert vec.requires_grad
        (vec**2).sum().backward()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-6)

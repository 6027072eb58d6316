"""Higher-order gradients (``create_graph=True``): for every op with a ``backward_graph``, the gradient and the
Hessian-vector product match PyTorch's double backward and a float64 finite difference of the gradient."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import nerve
from nerve import nn
from nerve.autograd.higher_order import run_backward_graph
from nerve.ops.attention import packed_self_attention

F = nerve.nn.functional
TF = torch.nn.functional
RNG = np.random.default_rng(7)


def _away_from(x: np.ndarray, points: tuple[float, ...], gap: float = 0.05) -> np.ndarray:
    """``x`` with entries near the kinks ``points`` pushed off them (finite differences straddle no kink)."""
    for p in points:
        near = np.abs(x - p) < gap
        x = np.where(near, p + np.sign(x - p + 1e-12) * gap, x)
    return x


def _normal(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def _with_zeros(x: np.ndarray) -> np.ndarray:
    """``x`` with one row holding a zero and another two (products of the others are exact there)."""
    x = x.copy()
    x[1, 2] = x[2, 0] = x[2, 3] = 0.0
    return x


def _positive(*shape: int) -> np.ndarray:
    return RNG.uniform(0.5, 2.0, shape)


LABELS = np.array([1, 0, 3, 2, 3])
LABELS_3D = RNG.integers(0, 4, (2, 3))
CLASS_W = np.array([0.5, 1.0, 2.0, 1.5])


def _labels(lib: Any, a: np.ndarray) -> Any:
    return lib.tensor(a)


def _packed(lib: Any, qkv: Any, mask: Any) -> Any:
    """Two-head self-attention on packed [Q | K | V]: nerve's fused primitive, torch's split + SDPA + merge."""
    if lib is nerve:
        return packed_self_attention(qkv, 2, attn_mask=mask)
    n, length, width = qkv.shape
    q, k, v = qkv.reshape(n, length, 3, 2, width // 6).permute(2, 0, 3, 1, 4)
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return out.permute(0, 2, 1, 3).reshape(n, length, width // 3)


# (id, function of (library, *inputs), input arrays)
CASES: list[tuple[str, Callable[..., Any], list[np.ndarray]]] = [
    ("add_broadcast", lambda L, a, b: (a + b) * (a + b), [_normal(3, 4), _normal(4)]),
    ("sub_broadcast", lambda L, a, b: (a - b) ** 3, [_normal(3, 4), _normal(3, 1)]),
    ("mul_broadcast", lambda L, a, b: a * b * a, [_normal(3, 4), _normal(4)]),
    ("div", lambda L, a, b: a / b, [_normal(3, 4), _positive(3, 4)]),
    ("div_broadcast", lambda L, a, b: b / a, [_positive(3, 4), _normal(1, 4)]),
    ("neg", lambda L, a: -(a * a), [_normal(5)]),
    ("pow_scalar", lambda L, a: a ** 3 + a ** 2 + a ** 0.5 + a ** 0, [_positive(2, 3)]),
    ("pow_tensor", lambda L, a, b: a ** b, [_positive(2, 3), _normal(2, 3)]),
    ("pow_tensor_broadcast", lambda L, a, b: a ** b, [_positive(2, 3), _normal(3)]),
    ("exp", lambda L, a: a.exp(), [_normal(2, 3)]),
    ("log", lambda L, a: a.log(), [_positive(2, 3)]),
    ("log1p", lambda L, a: a.log1p(), [_positive(2, 3)]),
    ("sqrt", lambda L, a: a.sqrt(), [_positive(2, 3)]),
    ("abs", lambda L, a: a.abs() * a, [_away_from(_normal(2, 3), (0.0,))]),
    ("sin_cos", lambda L, a: a.sin() * a.cos(), [_normal(2, 3)]),
    ("cast_round_trip", lambda L, a: (a.float().double() * a), [_normal(2, 3)]),
    ("clone", lambda L, a: a.clone() * a, [_normal(4)]),
    ("maximum_minimum", lambda L, a, b: L.maximum(a, b) * L.minimum(a, b) * a, [_normal(3, 4), _normal(4) + 0.3]),
    ("clamp", lambda L, a: a.clamp(-0.5, 0.7) * a, [_away_from(_normal(3, 4), (-0.5, 0.7))]),
    ("where", lambda L, a, b: L.where(a > 0, a * b, b * b), [_away_from(_normal(3, 4), (0.0,)), _normal(4)]),
    ("round_is_flat", lambda L, a: a.round() * a, [_away_from(_normal(3, 4), (-1.5, -0.5, 0.5, 1.5))]),
    ("matmul_2d", lambda L, a, b: (a @ b).tanh(), [_normal(3, 4), _normal(4, 2)]),
    ("matmul_batched_broadcast", lambda L, a, b: (a @ b) ** 2, [_normal(2, 3, 4), _normal(4, 5)]),
    ("matmul_batched", lambda L, a, b: (a @ b) ** 2, [_normal(2, 3, 4), _normal(1, 4, 5)]),
    ("matmul_vector_matrix", lambda L, a, b: (a @ b) ** 2, [_normal(4), _normal(4, 3)]),
    ("matmul_matrix_vector", lambda L, a, b: (a @ b) ** 2, [_normal(3, 4), _normal(4)]),
    ("matmul_dot", lambda L, a, b: (a @ b) ** 2, [_normal(4), _normal(4)]),
    ("linear", lambda L, x, w, b: L.nn.functional.linear(x, w, b).tanh(),
     [_normal(2, 3, 4), _normal(5, 4), _normal(5)]),
    ("linear_no_bias", lambda L, x, w: L.nn.functional.linear(x, w).sigmoid(), [_normal(3, 4), _normal(5, 4)]),
    ("sum_mean", lambda L, a: a.sum(1, keepdim=True) * a.mean(0) * a.sum() * a.mean((0, 2)).sum(),
     [_normal(2, 3, 4)]),
    ("reshape_permute", lambda L, a: a.reshape(4, 6).permute(1, 0).tanh() ** 2, [_normal(2, 3, 4)]),
    ("expand", lambda L, a: a.expand(3, 2, 4) * a.exp(), [_normal(2, 1)]),
    ("getitem_slice", lambda L, a: a[1:, ::2].exp() * a[0, 1], [_normal(3, 4)]),
    ("getitem_repeated_index", lambda L, a: a[np.array([0, 2, 0])].tanh() ** 2, [_normal(3, 4)]),
    ("cat", lambda L, a, b: L.cat([a, b * b], 1).exp(), [_normal(2, 3), _normal(2, 2)]),
    ("constant_pad", lambda L, a: L.nn.functional.pad(a, (1, 2)).tanh() ** 2, [_normal(2, 3)]),
    ("relu", lambda L, a: L.relu(a) * a, [_away_from(_normal(3, 4), (0.0,))]),
    ("leaky_relu", lambda L, a: L.nn.functional.leaky_relu(a, 0.1) ** 2, [_away_from(_normal(3, 4), (0.0,))]),
    ("elu", lambda L, a: L.nn.functional.elu(a, 0.7) * a, [_away_from(_normal(3, 4), (0.0,))]),
    ("gelu", lambda L, a: L.nn.functional.gelu(a), [_normal(3, 4)]),
    ("gelu_tanh", lambda L, a: L.nn.functional.gelu(a, approximate="tanh"), [_normal(3, 4)]),
    ("erf", lambda L, a: L.erf(a), [_normal(3, 4)]),
    ("sigmoid_tanh", lambda L, a: a.sigmoid() * a.tanh(), [_normal(3, 4)]),
    ("softplus", lambda L, a: L.nn.functional.softplus(a, beta=2.0), [_normal(3, 4)]),
    ("silu", lambda L, a: L.nn.functional.silu(a), [_normal(3, 4)]),
    ("softmax", lambda L, a: a.softmax(1), [_normal(3, 4)]),
    ("log_softmax", lambda L, a: L.log_softmax(a, 0) * a, [_normal(3, 4)]),
    ("cross_entropy", lambda L, a: L.nn.functional.cross_entropy(a, _labels(L, LABELS)), [_normal(5, 4)]),
    ("cross_entropy_weight_smoothing_sum",
     lambda L, a: L.nn.functional.cross_entropy(a, _labels(L, LABELS), weight=L.tensor(CLASS_W),
                                                label_smoothing=0.2, reduction="sum"), [_normal(5, 4)]),
    ("cross_entropy_3d_none_ignore",
     lambda L, a: L.nn.functional.cross_entropy(a, _labels(L, LABELS_3D), reduction="none", ignore_index=2),
     [_normal(2, 4, 3)]),
    ("nll_loss", lambda L, a: L.nn.functional.nll_loss(L.log_softmax(a, 1), _labels(L, LABELS),
                                                       weight=L.tensor(CLASS_W)), [_normal(5, 4)]),
    # elementwise functions
    ("asin_acos_atan", lambda L, a: L.asin(a) * L.acos(a) + L.atan(a) ** 2, [RNG.uniform(-0.8, 0.8, (2, 3))]),
    ("sinh_cosh", lambda L, a: L.sinh(a) * L.cosh(a) ** 2, [_normal(2, 3)]),
    ("exp2_expm1", lambda L, a: L.exp2(a) * L.expm1(a), [_normal(2, 3)]),
    ("log2_log10", lambda L, a: L.log2(a) * L.log10(a) * a, [_positive(2, 3)]),
    ("rpow", lambda L, a: 3.0 ** a * 0.5 ** (a * a), [_normal(2, 3)]),
    ("atan2_hypot", lambda L, a, b: L.atan2(a, b) * L.hypot(a, b), [_normal(2, 3), _positive(3)]),
    ("nan_to_num", lambda L, a: L.nan_to_num(a * a), [_normal(2, 3)]),
    ("remainder", lambda L, a, b: (a * 3) % b * a, [_normal(2, 3), _positive(2, 3)]),
    # reductions, indexing
    ("amax", lambda L, a: a.amax(1) * a.amax(), [_normal(3, 4)]),
    ("max_dim", lambda L, a: a.max(0)[0] ** 3, [_normal(3, 4)]),
    ("gather", lambda L, a: L.gather(a, 1, L.tensor(np.array([[0, 0, 2], [3, 1, 1], [2, 2, 2]]))) ** 3,
     [_normal(3, 4)]),
    ("sort", lambda L, a: L.sort(a, 1)[0] * a, [_normal(3, 4)]),
    ("prod", lambda L, a: a.prod() + a.prod(1) ** 2 * a.prod(0, keepdim=True).sum(), [_with_zeros(_normal(3, 4))]),
    ("cumprod", lambda L, a: a.cumprod(1) ** 2 + a.cumprod(0) * a, [_with_zeros(_normal(3, 4))]),
    ("cumsum", lambda L, a: a.cumsum(1) ** 2 + a.cumsum(0) ** 3, [_normal(3, 4)]),
    ("scatter", lambda L, a, b: L.scatter(a, 1, L.tensor(np.array([[0, 2], [3, 1]])), b) ** 3,
     [_normal(2, 4), _normal(2, 2)]),
    ("scatter_add", lambda L, a, b: L.scatter_add(a, 0, L.tensor(np.array([[0, 1, 0], [0, 0, 1]])), b * b) ** 2,
     [_normal(2, 3), _normal(2, 3)]),
    ("index_add", lambda L, a, b: L.index_add(a, 1, L.tensor(np.array([0, 2, 0])), b * a[:, :3], alpha=2.0) ** 2,
     [_normal(2, 4), _normal(2, 3)]),
    ("reflect_pad", lambda L, a: L.nn.functional.pad(a, (2, 1), mode="reflect") ** 3, [_normal(2, 3, 4)]),
    ("einsum_matmul", lambda L, a, b: L.einsum("ij,jk->ik", a, b) ** 2, [_normal(2, 3), _normal(3, 4)]),
    ("einsum_diagonal_and_summed", lambda L, a, b: L.einsum("iij,k->jk", a, b) ** 2 * L.einsum("ij->i", b[None]),
     [_normal(3, 3, 2), _normal(4)]),
    ("diagonal", lambda L, a: L.diagonal(a * a, 1, 0, 2) ** 2, [_normal(3, 2, 4)]),
    ("diag_embed", lambda L, a: L.diag(a * a, 1) ** 2 * L.diag(a, 1).sum(), [_normal(3)]),
    ("embedding", lambda L, w: L.nn.functional.embedding(L.tensor(np.array([[0, 2, 2], [3, 1, 0]])), w * w,
                                                         padding_idx=1) ** 2, [_normal(4, 3)]),
    # normalization, convolution, pooling
    ("batch_norm", lambda L, x, w, b: L.nn.functional.batch_norm(x, None, None, w, b, training=True) ** 2,
     [_normal(4, 3, 2, 2), _normal(3), _normal(3)]),
    ("batch_norm_1d_no_affine", lambda L, x: L.nn.functional.batch_norm(x, None, None, training=True) ** 3,
     [_normal(5, 3)]),
    ("layer_norm", lambda L, x, w, b: L.nn.functional.layer_norm(x, (2, 3), w, b) ** 2,
     [_normal(2, 2, 3), _normal(2, 3), _normal(2, 3)]),
    ("group_norm", lambda L, x, w, b: L.nn.functional.group_norm(x, 2, w, b) ** 2,
     [_normal(2, 4, 3), _normal(4), _normal(4)]),
    ("conv2d_rows", lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, padding=1, dilation=(1, 2)) ** 2,
     [_normal(2, 8, 5, 6), _normal(3, 8, 3, 3), _normal(3)]),
    ("conv2d_strided", lambda L, x, w: L.nn.functional.conv2d(x, w, stride=2, padding=(1, 0)) ** 2,
     [_normal(2, 8, 5, 6), _normal(4, 8, 3, 2)]),
    ("conv2d_grouped", lambda L, x, w: L.nn.functional.conv2d(x, w, groups=8, padding=1) ** 2,
     [_normal(2, 8, 4, 4), _normal(8, 1, 3, 3)]),
    ("conv2d_thin", lambda L, x, w, b: L.nn.functional.conv2d(x, w, b, stride=(1, 2)) ** 2,
     [_normal(2, 2, 5, 6), _normal(3, 2, 3, 3), _normal(3)]),
    ("conv1d", lambda L, x, w: L.nn.functional.conv1d(x, w, padding=2) ** 2, [_normal(2, 3, 7), _normal(2, 3, 3)]),
    ("conv_transpose2d", lambda L, x, w, b: L.nn.functional.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                                             output_padding=1, groups=2) ** 2,
     [_normal(2, 4, 3, 3), _normal(4, 3, 3, 3), _normal(6)]),
    ("max_pool2d", lambda L, x: L.nn.functional.max_pool2d(x * x, 3, 2, 1) ** 2, [_normal(2, 3, 7, 6)]),
    ("max_pool2d_tiles", lambda L, x: L.nn.functional.max_pool2d(x, 2) ** 3, [_normal(2, 3, 4, 6)]),
    ("avg_pool2d", lambda L, x: L.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True) ** 2, [_normal(2, 3, 6, 7)]),
    ("adaptive_max_pool2d", lambda L, x: L.nn.functional.adaptive_max_pool2d(x, (2, 3)) ** 3, [_normal(2, 3, 5, 7)]),
    ("adaptive_avg_pool2d", lambda L, x: L.nn.functional.adaptive_avg_pool2d(x, (2, 3)) ** 3, [_normal(2, 3, 5, 7)]),
    # attention
    ("sdpa_mask", lambda L, q, k, v, m: L.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m) ** 2,
     [_normal(2, 3, 4), _normal(2, 5, 4), _normal(2, 5, 2), _normal(3, 5)]),
    ("packed_self_attention", lambda L, qkv, m: _packed(L, qkv, m) ** 2, [_normal(2, 3, 12), _normal(3, 3)]),
    ("sdpa_causal", lambda L, q, k, v: L.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True) ** 2,
     [_normal(2, 4, 3), _normal(2, 4, 3), _normal(2, 4, 3)]),
]


def _first_and_second(lib: Any, fn: Callable[..., Any], arrays: list[np.ndarray], w_seed: int,
                      vs: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The gradient of ``sum(fn(x) * w)`` and its Hessian-vector product with ``vs``, through ``lib``'s autograd."""
    xs = [lib.tensor(a.copy()).requires_grad_(True) for a in arrays]
    y = fn(lib, *xs)
    w = np.random.default_rng(w_seed).standard_normal(tuple(y.shape))
    loss = (y * lib.tensor(w)).sum()
    grads = lib.autograd.grad(loss, xs, create_graph=True)
    projected = sum((g * lib.tensor(v)).sum() for g, v in zip(grads, vs))
    hvp = lib.autograd.grad(projected, xs, allow_unused=True) if projected.requires_grad else [None] * len(xs)
    first = [g.detach().numpy() for g in grads]
    second = [np.zeros_like(a) if h is None else h.detach().numpy() for h, a in zip(hvp, arrays)]
    return first, second


def _gradient(fn: Callable[..., Any], arrays: list[np.ndarray], w_seed: int) -> list[np.ndarray]:
    """First-order nerve gradient (no graph) at ``arrays``."""
    xs = [nerve.tensor(a).requires_grad_(True) for a in arrays]
    y = fn(nerve, *xs)
    w = np.random.default_rng(w_seed).standard_normal(tuple(y.shape))
    return [g.numpy() for g in nerve.autograd.grad((y * nerve.tensor(w)).sum(), xs)]


@pytest.mark.parametrize("name, fn, arrays", CASES, ids=[c[0] for c in CASES])
def test_double_backward_matches_torch_and_finite_differences(name: str, fn: Any, arrays: list[np.ndarray]) -> None:
    vs = [np.random.default_rng(11 + i).standard_normal(a.shape) for i, a in enumerate(arrays)]
    first_n, second_n = _first_and_second(nerve, fn, arrays, 3, vs)
    first_t, second_t = _first_and_second(torch, fn, arrays, 3, vs)
    for a, b in zip(first_n, first_t):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for a, b in zip(second_n, second_t):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    if name == "cast_round_trip":  # float32 rounding (1e-7 relative) swamps a finite difference of step 1e-6
        return
    # H v by central differences of the first-order gradient along v
    eps = 1e-6
    plus = _gradient(fn, [a + eps * v for a, v in zip(arrays, vs)], 3)
    minus = _gradient(fn, [a - eps * v for a, v in zip(arrays, vs)], 3)
    for h, p, m in zip(second_n, plus, minus):
        np.testing.assert_allclose(h, (p - m) / (2 * eps), rtol=1e-5, atol=1e-6)


def test_every_op_with_a_differentiable_backward_is_exercised() -> None:
    """Each op listed by higher_order_ops() appears in some graph the cases above build (the recurrent layers in
    their own test below)."""
    seen: set[str] = set()
    for _, fn, arrays in CASES:
        xs = [nerve.tensor(a).requires_grad_(True) for a in arrays]
        y = fn(nerve, *xs)
        (g,) = nerve.autograd.grad((y * y).sum(), xs[:1], create_graph=True)
        stack, visited = [y.grad_fn, g.grad_fn], set()
        while stack:
            node = stack.pop()
            if node is None or id(node) in visited:
                continue
            visited.add(id(node))
            seen.add(type(node).__name__)
            stack.extend(n for n, _ in node.next_functions)
    seen |= {"RNNLayer", "LSTMLayer", "GRULayer"}  # test_recurrent_layers_double_backward_as_torch
    assert set(nerve.autograd.higher_order_ops()) <= seen, set(nerve.autograd.higher_order_ops()) - seen


def _critic(lib: Any) -> Any:
    rng = np.random.default_rng(5)
    model = lib.nn.Sequential(lib.nn.Linear(3, 8), lib.nn.Tanh(), lib.nn.Linear(8, 8), lib.nn.GELU(),
                              lib.nn.Linear(8, 1)).double()
    model.load_state_dict({k: lib.tensor(rng.standard_normal(tuple(v.shape)) * 0.5)
                           for k, v in model.state_dict().items()})
    return model


def test_gradient_penalty_trains_the_critic_as_in_torch() -> None:
    """WGAN-GP's penalty (||d critic / d x|| - 1)^2: its parameter gradients need the second derivative."""
    real, fake = RNG.standard_normal((6, 3)), RNG.standard_normal((6, 3))
    mix = RNG.uniform(size=(6, 1))

    def run(lib: Any) -> tuple[list[np.ndarray], float]:
        critic = _critic(lib)
        x = lib.tensor(mix * real + (1 - mix) * fake).requires_grad_(True)
        (grad_x,) = lib.autograd.grad(critic(x).sum(), [x], create_graph=True)
        penalty = ((grad_x.pow(2).sum(1).sqrt() - 1) ** 2).mean()
        loss = critic(lib.tensor(fake)).mean() - critic(lib.tensor(real)).mean() + 10 * penalty
        loss.backward()
        return [p.grad.numpy() for p in critic.parameters()], float(penalty.item())

    (grads_n, pen_n), (grads_t, pen_t) = run(nerve), run(torch)
    assert pen_n == pytest.approx(pen_t, rel=1e-12)
    assert pen_n > 0.01  # the penalty is active, so its second-order term reaches every weight
    for a, b in zip(grads_n, grads_t):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_backward_create_graph_leaves_differentiable_grads_and_accumulates() -> None:
    def run(lib: Any) -> tuple[np.ndarray, ...]:
        x = lib.tensor(np.array([0.3, -1.2, 2.0])).requires_grad_(True)
        (x ** 3).sum().backward(create_graph=True)  # x.grad = 3 x^2, with a graph
        first = x.grad.detach().numpy().copy()
        assert x.grad.requires_grad
        (x.sin()).sum().backward(create_graph=True)  # accumulates: 3 x^2 + cos x
        accumulated = x.grad.detach().numpy().copy()
        g = x.grad
        x.grad = None
        g.sum().backward()  # d/dx (3 x^2 + cos x) = 6 x - sin x
        return first, accumulated, x.grad.numpy()

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Using backward\\(\\) with create_graph=True")  # torch's cycle warning
        from_torch = run(torch)
    for a, b in zip(run(nerve), from_torch):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(run(nerve)[2], 6 * x - np.sin(x), rtol=1e-12)


def test_third_derivative() -> None:
    x = nerve.tensor(np.array([0.5, -0.7]), requires_grad=True)
    (d1,) = nerve.autograd.grad((x ** 4).sum(), [x], create_graph=True)
    (d2,) = nerve.autograd.grad(d1.sum(), [x], create_graph=True)
    (d3,) = nerve.autograd.grad(d2.sum(), [x])
    np.testing.assert_allclose(d1.numpy(), 4 * x.numpy() ** 3)
    np.testing.assert_allclose(d2.numpy(), 12 * x.numpy() ** 2)
    np.testing.assert_allclose(d3.numpy(), 24 * x.numpy())


def test_grad_outputs_tensor_is_part_of_the_graph() -> None:
    """A seed that itself requires grad (a vector-Jacobian product's vector) is differentiated too."""
    def run(lib: Any) -> tuple[np.ndarray, np.ndarray]:
        x = lib.tensor(np.array([[1.0, 2.0], [0.5, -1.0]])).requires_grad_(True)
        v = lib.tensor(np.array([[0.3, -0.2], [1.0, 0.4]])).requires_grad_(True)
        (vjp,) = lib.autograd.grad(x.tanh(), [x], grad_outputs=[v], create_graph=True)
        (vjp * vjp).sum().backward()
        return x.grad.numpy(), v.grad.numpy()

    for a, b in zip(run(nerve), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_tensor_hook_runs_in_create_graph_mode() -> None:
    x = nerve.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * x
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    (g,) = nerve.autograd.grad((y * 3).sum(), [x], create_graph=True)
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    np.testing.assert_allclose(g.numpy(), [6.0, 12.0])


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("packed", [False, True], ids=["bidirectional-2-layer", "packed"])
def test_recurrent_layers_double_backward_as_torch(kind: str, packed: bool) -> None:
    def run(lib: Any) -> list[np.ndarray]:
        options = {"batch_first": True} if packed else {"batch_first": True, "num_layers": 2, "bidirectional": True}
        layer = getattr(lib.nn, kind)(3, 4, **options).double()
        rng = np.random.default_rng(0)
        layer.load_state_dict({k: lib.tensor(rng.standard_normal(tuple(v.shape)) * 0.5)
                               for k, v in layer.state_dict().items()})
        x = lib.tensor(np.random.default_rng(1).standard_normal((3, 5, 3))).requires_grad_(True)
        if packed:
            lengths = np.array([5, 2, 4]) if lib is nerve else torch.tensor([5, 2, 4])
            _, state = layer(lib.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
            y = state[0] if kind == "LSTM" else state
        else:
            y = layer(x)[0]
        (g,) = lib.autograd.grad((y ** 2).sum(), [x], create_graph=True)
        (g ** 2).sum().backward()
        return [g.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]

    for a, b in zip(run(nerve), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_module_backward_hooks_refuse_create_graph_by_name() -> None:
    x = nerve.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    layer = nn.Linear(3, 2).double()
    layer.register_full_backward_hook(lambda m, gi, go: None)
    with pytest.raises(NotImplementedError, match="module full backward hooks do not support higher-order"):
        nerve.autograd.grad(layer(x).sum(), [x], create_graph=True)


def test_freed_graph_is_refused_in_create_graph_mode() -> None:
    x = nerve.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        run_backward_graph([y], [nerve.tensor(1.0).double()])

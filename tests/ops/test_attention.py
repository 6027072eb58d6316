"""scaled_dot_product_attention: float64 gradchecks of the fused primitive and parity with PyTorch's SDPA."""

import numpy as np
import pytest
import torch
from conftest import check_grad, compare_with_torch, rand

import nerve
from nerve.nn import functional as F
from nerve.ops.attention import ScaledDotProductAttention


def _qkv(batch=(2, 3), length=4, source=5, features=6, value_features=7, seed=0, dtype=np.float64):
    return (rand(*batch, length, features, seed=seed, dtype=dtype),
            rand(*batch, source, features, seed=seed + 1, dtype=dtype),
            rand(*batch, source, value_features, seed=seed + 2, dtype=dtype))


@pytest.mark.parametrize("causal", [False, True])
def test_gradcheck_plain_and_causal(causal):
    q, k, v = _qkv(source=4)
    check_grad(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal), q, k, v)


def test_gradcheck_float_mask_gets_a_gradient():
    q, k, v = _qkv()
    mask = rand(1, 3, 4, 5, seed=7)  # broadcast over the first batch dim: its gradient is summed
    check_grad(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), q, k, v, mask)


def test_gradcheck_boolean_mask_with_a_fully_masked_row():
    q, k, v = _qkv()
    allowed = np.random.default_rng(0).random((4, 5)) > 0.4
    allowed[2] = False  # query 2 sees nothing: zero output, zero gradient
    check_grad(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=allowed), q, k, v)


def test_gradcheck_with_a_fixed_dropout_mask():
    q, k, v = _qkv()
    keep = (np.random.default_rng(3).random((2, 3, 4, 5)) > 0.3) / 0.7
    check_grad(lambda q, k, v: ScaledDotProductAttention.apply(q, k, v, scale=0.4, causal=False, keep=keep),
               q, k, v)


def test_gradcheck_broadcast_batch_dims():
    q = rand(2, 3, 4, 6, seed=0)
    k, v = rand(1, 3, 5, 6, seed=1), rand(3, 5, 2, seed=2)  # key/value shared across the first batch dim
    check_grad(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), q, k, v)


@pytest.mark.parametrize("case", ["plain", "causal", "bool", "float", "scale", "fully_masked", "3d"])
def test_matches_torch(case):
    q, k, v = _qkv(dtype=np.float32, source=4 if case == "causal" else 5)
    if case == "3d":
        q, k, v = q[0], k[0], v[0]
    rng = np.random.default_rng(1)
    kwargs = {}
    if case == "causal":
        kwargs["is_causal"] = True
    if case == "scale":
        kwargs["scale"] = 0.123
    arrays = [q, k, v]
    if case in ("bool", "fully_masked"):
        allowed = rng.random((2, 1, 4, 5)) > 0.5
        allowed[..., 0] = True
        if case == "fully_masked":
            allowed[1, 0, 3] = False
        mask_np = allowed

        def fn(lib, q, k, v):
            mask = nerve.tensor(mask_np) if lib is nerve else torch.tensor(mask_np)
            return lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    elif case == "float":
        arrays.append(rng.standard_normal((4, 5)).astype(np.float32))

        def fn(lib, q, k, v, m):
            return lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m)
    else:
        def fn(lib, q, k, v):
            return lib.nn.functional.scaled_dot_product_attention(q, k, v, **kwargs)
    compare_with_torch(fn, *arrays, rtol=1e-5, atol=2e-6)


def test_return_weights_are_the_softmax_probabilities():
    q, k, v = _qkv(dtype=np.float32)
    out, probs = F.scaled_dot_product_attention(nerve.tensor(q), nerve.tensor(k), nerve.tensor(v),
                                                return_weights=True)
    scores = torch.tensor(q) @ torch.tensor(k).transpose(-1, -2) / np.sqrt(6)
    np.testing.assert_allclose(probs, torch.softmax(scores, -1).numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out.data, probs @ v, rtol=1e-5, atol=1e-6)


def test_dropout_zeroes_probabilities_and_scales_the_rest():
    q, k, v = (nerve.tensor(a) for a in _qkv(dtype=np.float32))
    plain = F.scaled_dot_product_attention(q, k, v).data
    g = nerve.Generator(0)
    dropped = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, generator=g).data
    again = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, generator=nerve.Generator(0)).data
    np.testing.assert_array_equal(dropped, again)  # seeded
    assert not np.allclose(dropped, plain)
    # Averaged over many draws the dropped output is unbiased: each draw's output is Σ_j P_j·(2·keep_j)·v_j,
    # whose variance is Σ_j P_j² v_j²; the mean of n draws stays within 5 standard errors.
    n = 1000
    mean = np.mean([F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, generator=g).data
                    for _ in range(n)], axis=0)
    _, probs = F.scaled_dot_product_attention(q, k, v, return_weights=True)
    std_error = np.sqrt((probs ** 2) @ (v.data ** 2) / n)
    assert np.all(np.abs(mean - plain) <= 5 * std_error + 1e-6)


def test_errors_name_the_function_and_shapes():
    q, k, v = (nerve.tensor(a) for a in _qkv(dtype=np.float32))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 4\) does not broadcast.*\(2, 3, 4, 5\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 4), bool))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 3, 4, 5\) does not broadcast"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 3, 4, 5), bool))  # would enlarge the batch
    with pytest.raises(ValueError, match="query and key must have the same feature size"):
        F.scaled_dot_product_attention(q, v, v)
    with pytest.raises(ValueError, match="key and value must have the same length"):
        F.scaled_dot_product_attention(q, k, q)
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), bool), is_causal=True)
    with pytest.raises(TypeError, match="share one floating dtype"):
        F.scaled_dot_product_attention(q, k, nerve.tensor(np.zeros((2, 3, 5, 7))))
    with pytest.raises(TypeError, match="mask must be boolean or floating"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), np.int64))


def _split_heads(qkv, heads):
    batch, length, width = qkv.shape
    dim = width // (3 * heads)
    parts = qkv.reshape(batch, length, 3, heads, dim).permute(2, 0, 3, 1, 4)
    return parts[0], parts[1], parts[2]


@pytest.mark.parametrize("case", ["plain", "causal", "mask"])
def test_packed_self_attention_equals_split_attend_merge(case):
    from nerve.ops.attention import packed_self_attention

    qkv = rand(2, 5, 3 * 6, seed=4)
    mask = rand(2, 1, 5, 5, seed=5) if case == "mask" else None

    def packed(qkv, *m):
        return packed_self_attention(qkv, 2, attn_mask=m[0] if m else None, is_causal=case == "causal")

    def reference(qkv, *m):
        q, k, v = _split_heads(qkv, 2)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=m[0] if m else None, is_causal=case == "causal")
        return out.transpose(1, 2).reshape(2, 5, 6)

    arrays = (qkv,) if mask is None else (qkv, mask)
    tensors = [nerve.tensor(a, requires_grad=True) for a in arrays]
    twins = [nerve.tensor(a, requires_grad=True) for a in arrays]
    out, expected = packed(*tensors), reference(*twins)
    np.testing.assert_allclose(out.data, expected.data, rtol=1e-12, atol=1e-12)
    w = rand(*out.shape, seed=6)
    (out * nerve.tensor(w)).sum().backward()
    (expected * nerve.tensor(w)).sum().backward()
    for a, b in zip(tensors, twins):
        np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-10, atol=1e-12)
    check_grad(packed, *arrays)


def test_packed_self_attention_gradcheck_with_dropout_mask():
    from nerve.ops.attention import PackedSelfAttention

    keep = (np.random.default_rng(2).random((2, 2, 5, 5)) > 0.3) / 0.7
    check_grad(lambda qkv: PackedSelfAttention.apply(qkv, heads=2, scale=0.5, causal=True, keep=keep),
               rand(2, 5, 12, seed=3))


def test_packed_self_attention_errors():
    from nerve.ops.attention import packed_self_attention

    with pytest.raises(ValueError, match=r"expected qkv of shape \(N, L, 3E\) with E divisible by num_heads=4, "
                                         r"got \(2, 5, 18\)"):
        packed_self_attention(nerve.zeros(2, 5, 18), 4)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(5, 4\) does not broadcast"):
        packed_self_attention(nerve.zeros(2, 5, 18), 3, attn_mask=np.ones((5, 4), bool))


def test_returned_weights_cannot_corrupt_backward():
    q, k, v = (nerve.tensor(a, requires_grad=True) for a in _qkv(dtype=np.float32))
    _, probs = F.scaled_dot_product_attention(q, k, v, return_weights=True)
    with pytest.raises(ValueError, match="read-only"):
        probs[...] = 0

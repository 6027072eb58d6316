"""GPT: parity with a PyTorch twin built from torch.nn layers, causality, gradients, generation, errors."""

import numpy as np
import pytest
import torch

import nerve
from nerve import nn
from nerve.models import GPT


class TorchGPT(torch.nn.Module):
    """The same architecture from torch.nn, with nerve's GPT parameter names."""

    def __init__(self, vocab, block, d_model, heads, layers):
        super().__init__()
        self.token_embedding = torch.nn.Embedding(vocab, d_model)
        self.position_embedding = torch.nn.Module()
        self.position_embedding.weight = torch.nn.Parameter(torch.randn(block, d_model))
        self.blocks = torch.nn.ModuleList([
            torch.nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout=0.0, activation="gelu",
                                             batch_first=True, norm_first=True) for _ in range(layers)])
        self.norm = torch.nn.LayerNorm(d_model)
        self.head = torch.nn.Linear(d_model, vocab, bias=False)

    def forward(self, ids):
        length = ids.shape[1]
        h = self.token_embedding(ids) + self.position_embedding.weight[:length]
        mask = torch.nn.Transformer.generate_square_subsequent_mask(length)
        for block in self.blocks:
            h = block(h, src_mask=mask, is_causal=True)
        return self.head(self.norm(h))


def _ids(*shape, vocab=11, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, shape)


def test_matches_a_torch_twin_forward_and_backward():
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        reference = TorchGPT(11, 8, 16, 2, 2)
        model = GPT(11, 8, d_model=16, n_head=2, n_layer=2, dropout=0.0)
        result = model.load_state_dict({k: nerve.tensor(v.detach().numpy()) for k, v in reference.state_dict().items()})
        assert not result.missing_keys and not result.unexpected_keys
        ids = _ids(3, 7)
        out = model(nerve.tensor(ids))
        expected = reference(torch.tensor(ids))
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-4, atol=2e-5)
        targets = _ids(3, 7, seed=1)
        nn.functional.cross_entropy(out.reshape(-1, 11), nerve.tensor(targets.reshape(-1))).backward()
        torch.nn.functional.cross_entropy(expected.reshape(-1, 11), torch.tensor(targets.reshape(-1))).backward()
        grads = dict(model.named_parameters())
        for name, p in reference.named_parameters():
            np.testing.assert_allclose(grads[name].grad.data, p.grad.numpy(), rtol=1e-3, atol=1e-5, err_msg=name)
    finally:
        torch.backends.mha.set_fastpath_enabled(True)


def test_is_causal():
    model = GPT(11, 8, d_model=16, n_head=2, n_layer=2, dropout=0.0).eval()
    ids = _ids(2, 8)
    changed = ids.copy()
    changed[:, 5:] = (changed[:, 5:] + 1) % 11
    a, b = model(nerve.tensor(ids)).data, model(nerve.tensor(changed)).data
    np.testing.assert_allclose(a[:, :5], b[:, :5], atol=1e-6)
    assert not np.allclose(a[:, 5:], b[:, 5:])


def test_float64_gradcheck_through_the_whole_model():
    model = GPT(5, 4, d_model=8, n_head=2, n_layer=1, dropout=0.0).to(np.float64)
    ids = nerve.tensor(_ids(2, 4, vocab=5))
    params = [model.head.weight, model.blocks[0].self_attn.in_proj_weight, model.position_embedding.weight]

    def loss(*_):
        return model(ids).sum() * 0.1 + (model(ids) ** 2).mean()

    assert nerve.autograd.gradcheck(loss, tuple(params), atol=1e-5, rtol=1e-3)


def test_learns_a_repeating_sequence():
    nerve.manual_seed(0)
    model = GPT(6, 12, d_model=32, n_head=2, n_layer=1, dropout=0.0)
    opt = nerve.optim.AdamW(model.parameters(), lr=1e-2)
    stream = np.tile(np.arange(6), 3)[:13]
    x, y = nerve.tensor(stream[None, :12]), nerve.tensor(stream[None, 1:13])
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x).reshape(-1, 6), y.reshape(-1))
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert first > 1.5 and loss.item() < 0.05
    # Greedy generation continues the pattern.
    np.testing.assert_array_equal(model.generate([0, 1, 2], 6, top_k=1), [3, 4, 5, 0, 1, 2])


def test_generate_is_seeded_and_crops_to_the_context():
    model = GPT(11, 4, d_model=16, n_head=2, n_layer=1)
    model.train()
    first = model.generate([1, 2, 3, 4, 5, 6], 10, temperature=0.9, top_p=0.9, generator=nerve.Generator(1))
    again = model.generate([1, 2, 3, 4, 5, 6], 10, temperature=0.9, top_p=0.9, generator=nerve.Generator(1))
    assert first.shape == (10,) and first.dtype == np.int64 and first.min() >= 0 and first.max() < 11
    np.testing.assert_array_equal(first, again)
    # the seed matters: a sampler ignoring its generator would give the same ids for every seed
    other = model.generate([1, 2, 3, 4, 5, 6], 10, temperature=0.9, top_p=0.9, generator=nerve.Generator(2))
    assert not np.array_equal(first, other)
    assert model.training  # mode restored
    # only the last block_size=4 ids are seen: a longer prompt continues as its last 4 ids do
    greedy = model.generate([1, 2, 3, 4], 5, top_k=1)
    np.testing.assert_array_equal(model.generate([9, 8, 1, 2, 3, 4], 5, top_k=1), greedy)


def test_generate_continues_each_row_of_a_batch_independently():
    # a (B, T) prompt used to be flattened into one sequence of B·T ids
    model = GPT(11, 4, d_model=16, n_head=2, n_layer=1)
    prompts = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    greedy = model.generate(prompts, 6, top_k=1)
    assert greedy.shape == (3, 6) and greedy.dtype == np.int64
    for row, out in zip(prompts, greedy, strict=True):
        np.testing.assert_array_equal(out, model.generate(row, 6, top_k=1))
    assert model.generate(nerve.tensor(prompts), 6, top_k=1).shape == (3, 6)  # a Tensor prompt too
    # one row draws from the generator exactly as the same 1-D prompt does
    one = model.generate(prompts[:1], 8, temperature=0.9, top_p=0.9, generator=nerve.Generator(3))
    np.testing.assert_array_equal(one, model.generate(prompts[0], 8, temperature=0.9, top_p=0.9,
                                                      generator=nerve.Generator(3))[None])
    # seeded batches reproduce, and identical prompts in one batch get their own draws
    same = np.array([[1, 2, 3]] * 4)
    first = model.generate(same, 10, temperature=1.5, generator=nerve.Generator(5))
    np.testing.assert_array_equal(first, model.generate(same, 10, temperature=1.5, generator=nerve.Generator(5)))
    assert len({tuple(r) for r in first}) > 1
    with pytest.raises(ValueError, match=r"^GPT\.generate: expected a prompt of shape \(T,\) or \(B, T\), got shape "
                                         r"\(1, 2, 3\)$"):
        model.generate(np.zeros((1, 2, 3), dtype=np.int64), 2)


def test_tied_weights_share_one_parameter():
    model = GPT(11, 4, d_model=16, n_head=2, n_layer=1, tie_weights=True)
    assert model.head.weight is model.token_embedding.weight
    assert len(list(model.parameters())) == len({id(p) for p in model.parameters()})


def test_errors():
    model = GPT(11, 4, d_model=16, n_head=2, n_layer=1)
    with pytest.raises(ValueError, match=r"GPT: sequence of length 5 is longer than the context \(block_size=4\)"):
        model(nerve.tensor(_ids(1, 5)))
    with pytest.raises(ValueError, match=r"GPT: expected token ids of shape \(N, L\), got \(5,\)"):
        model(nerve.tensor(_ids(5)))
    with pytest.raises(ValueError, match=r"prompt ids must be in \[0, 11\), got \[0, 12\]"):
        model.generate([0, 12], 3)
    with pytest.raises(ValueError, match=r"GPT\.generate: top_p must be in"):
        model.generate([0], 3, top_p=1.5)
    with pytest.raises(ValueError, match=r"embed_dim \(16\) must be divisible by num_heads \(3\)"):
        GPT(11, 4, d_model=16, n_head=3)

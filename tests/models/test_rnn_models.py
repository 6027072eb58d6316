"""CharRNN (sampling, state), RNNForecaster, BPTTLoader and the trainer's truncated BPTT."""

import numpy as np
import pytest
import torch

import nerve
from nerve import nn
from nerve.data import BPTTLoader
from nerve.models import CharRNN, RNNForecaster
from nerve.random import Generator
from nerve.train.trainer import Trainer

_TORCH_CELLS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}


class TorchCharRNN(torch.nn.Module):
    """CharRNN from torch.nn layers, with nerve's parameter names."""

    def __init__(self, vocab, emb, hidden, layers, cell):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, emb)
        self.rnn = _TORCH_CELLS[cell](emb, hidden, num_layers=layers, batch_first=True)
        self.head = torch.nn.Linear(hidden, vocab)

    def forward(self, ids, state=None):
        out, state = self.rnn(self.embedding(ids), state)
        return self.head(out), state


def _load_from_torch(model, reference):
    result = model.load_state_dict({k: v.detach().numpy().copy() for k, v in reference.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys


def _assert_grads_match(model, reference):
    grads = dict(model.named_parameters())
    assert set(grads) == {name for name, _ in reference.named_parameters()}
    for name, p in reference.named_parameters():
        np.testing.assert_allclose(grads[name].grad.data, p.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_char_rnn_matches_a_torch_twin_forward_and_backward_across_chunks(cell) -> None:
    # two layers in training mode (dropout 0); the second chunk starts from the first chunk's state, and the
    # loss reads both chunks and the final state, so gradients flow back through the carried state too
    torch.manual_seed(0)
    reference = TorchCharRNN(9, 5, 6, 2, cell).train()
    model = CharRNN(vocab_size=9, embedding_dim=5, hidden_size=6, num_layers=2, dropout=0.0, cell=cell).train()
    _load_from_torch(model, reference)
    ids = np.random.default_rng(0).integers(0, 9, (3, 8))
    n_out1, n_state = model(nerve.tensor(ids[:, :4]))
    n_out2, n_state = model(nerve.tensor(ids[:, 4:]), n_state)
    t_out1, t_state = reference(torch.tensor(ids[:, :4]))
    t_out2, t_state = reference(torch.tensor(ids[:, 4:]), t_state)
    n_states = n_state if isinstance(n_state, tuple) else (n_state,)
    t_states = t_state if isinstance(t_state, tuple) else (t_state,)
    for a, b in zip((n_out1, n_out2, *n_states), (t_out1, t_out2, *t_states), strict=True):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-5, atol=1e-6)
    w = np.random.default_rng(1).uniform(0.5, 1.5, n_out2.shape).astype(np.float32)
    n_loss = (n_out1 * nerve.tensor(w)).sum() + (n_out2 * nerve.tensor(w)).sum() + n_states[0].square().sum()
    t_loss = (t_out1 * torch.tensor(w)).sum() + (t_out2 * torch.tensor(w)).sum() + t_states[0].square().sum()
    n_loss.backward()
    t_loss.backward()
    _assert_grads_match(model, reference)


@pytest.mark.parametrize("season", [None, 4], ids=["naive", "seasonal"])
def test_forecaster_matches_torch_forward_and_backward(season) -> None:
    torch.manual_seed(0)
    rnn = torch.nn.LSTM(2, 6, num_layers=2, batch_first=True)
    head = torch.nn.Linear(6, 3)
    model = RNNForecaster(input_size=2, hidden_size=6, num_layers=2, horizon=3, target_index=1, season=season)
    model.train()
    _load_from_torch(model, torch.nn.ModuleDict({"rnn": rnn, "head": head}))
    x = np.random.default_rng(0).standard_normal((4, 9, 2)).astype(np.float32)
    xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, _ = rnn(xt)
    # the residual baseline: the target feature's last value, or its value one season before each step
    steps = [8, 8, 8] if season is None else [5, 6, 7]
    expected = head(out[:, -1]) + xt[:, steps, 1]
    got = model(xn)
    np.testing.assert_allclose(got.data, expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    w = np.random.default_rng(1).uniform(0.5, 1.5, got.shape).astype(np.float32)
    (got * nerve.tensor(w)).sum().backward()
    (expected * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xn.grad.data, xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    _assert_grads_match(model, torch.nn.ModuleDict({"rnn": rnn, "head": head}))


def test_bptt_loader_batches_continue_each_other() -> None:
    tokens = np.arange(23)
    loader = BPTTLoader(tokens, batch_size=2, seq_len=4)
    batches = list(loader)
    assert len(batches) == len(loader) == 3  # rows of 11: 4 + 4 + 3
    rows = np.concatenate([x.data for x, _ in batches], axis=1)
    np.testing.assert_array_equal(rows, [np.arange(11), np.arange(11, 22)])
    targets = np.concatenate([y.data for _, y in batches], axis=1)
    np.testing.assert_array_equal(targets, rows + 1)
    loader.load_state_dict({"batches_yielded": 2})
    np.testing.assert_array_equal(next(iter(loader))[0].data, batches[2][0].data)
    with pytest.raises(ValueError, match="too few"):
        BPTTLoader(np.arange(3), batch_size=4, seq_len=2)


def test_stateful_trainer_carries_the_state_and_cuts_the_graph() -> None:
    nerve.manual_seed(0)
    model = CharRNN(vocab_size=7, embedding_dim=4, hidden_size=8, num_layers=1, dropout=0.0)
    tokens = np.random.default_rng(0).integers(0, 7, 41)
    loader = BPTTLoader(tokens, batch_size=2, seq_len=5)

    def loss_fn(logits, y):
        return nn.functional.cross_entropy(logits.reshape(-1, 7), y.reshape(-1))

    trainer = Trainer(model, nerve.optim.SGD(model.parameters(), lr=0.0), loss_fn, progress=False, stateful=True)
    batches = list(loader)
    trainer.train_step(batches[0])
    trainer.train_step(batches[1])
    state = trainer._state
    assert all(not s.requires_grad and s._node is None for s in state)  # detached: no graph across batches
    # with lr 0 the carried state is the state after reading both chunks in one go
    with nerve.no_grad():
        _, whole = model(nerve.tensor(np.concatenate([batches[0][0].data, batches[1][0].data], axis=1)))
    for a, b in zip(state, whole):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-5, atol=1e-6)
    logs = trainer.evaluate(loader)
    assert trainer._state is state and logs["loss"] > 0  # evaluation used (and restored) its own state


def test_char_rnn_sampling_is_seeded_and_respects_top_k() -> None:
    nerve.manual_seed(1)
    model = CharRNN(vocab_size=12, embedding_dim=4, hidden_size=8, num_layers=2)
    a = model.sample([1, 2], 30, temperature=0.9, top_k=3, generator=Generator(5))
    b = model.sample([1, 2], 30, temperature=0.9, top_k=3, generator=Generator(5))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (30,) and a.dtype == np.int64
    # the seed matters: a sampler that ignored its generator (or the logits) would repeat itself
    c = model.sample([1, 2], 30, temperature=0.9, top_k=3, generator=Generator(6))
    assert not np.array_equal(a, c)
    ids = [1, 2]
    with nerve.no_grad():
        model.eval()
        for drawn in a:  # top_k=3: every draw is among the 3 likeliest ids given the ids before it
            logits, _ = model(nerve.tensor(np.array([ids])))
            assert drawn in np.argsort(logits.data[0, -1])[-3:]
            ids.append(int(drawn))
    greedy = model.sample([1, 2], 10, top_k=1, generator=Generator(0))
    # top_k=1 is greedy decoding: each id is the argmax given the ids so far
    ids = [1, 2]
    with nerve.no_grad():
        model.eval()
        for expected in greedy:
            logits, _ = model(nerve.tensor(np.array([ids])))
            assert int(np.argmax(logits.data[0, -1])) == expected
            ids.append(int(expected))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        model.sample([1], 3, temperature=0)
    with pytest.raises(ValueError, match=r"top_k must be in \[1, 12\]"):
        model.sample([1], 3, top_k=13)


def test_sampling_restores_training_mode() -> None:
    model = CharRNN(vocab_size=5, embedding_dim=3, hidden_size=4, num_layers=1)
    model.train()
    model.sample([0], 2)
    assert model.training


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_forecaster_shapes_and_residual_start(cell) -> None:
    model = RNNForecaster(input_size=1, hidden_size=6, horizon=3, cell=cell)
    x = nerve.randn(4, 9, 1)
    out = model(x)
    assert out.shape == (4, 3)
    # the residual head adds the window's last value: zeroing the head gives the naive forecast
    with nerve.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    np.testing.assert_allclose(model(x).data, np.repeat(x.data[:, -1], 3, axis=1))
    with pytest.raises(ValueError, match=r"RNNForecaster: expected input \(B, L, 1\), got shape \(4, 9, 2\)"):
        model(nerve.randn(4, 9, 2))
    with pytest.raises(ValueError, match=r"RNNForecaster: cell must be one of \['gru', 'lstm', 'rnn'\], got 'tr"):
        RNNForecaster(cell="transformer")


def test_stateful_evaluation_averages_over_characters_not_chunks() -> None:
    """The last BPTT chunk is shorter; the epoch loss must be the mean over every target character."""
    nerve.manual_seed(2)
    model = CharRNN(vocab_size=6, embedding_dim=3, hidden_size=5, num_layers=1, dropout=0.0)
    tokens = np.random.default_rng(4).integers(0, 6, 2 * 11 + 1)  # rows of 11: chunks of 4, 4 and 3
    loader = BPTTLoader(tokens, batch_size=2, seq_len=4)

    def loss_fn(logits, y):
        return nn.functional.cross_entropy(logits.reshape(-1, 6), y.reshape(-1))

    trainer = Trainer(model, nerve.optim.SGD(model.parameters(), lr=0.0), loss_fn, progress=False, stateful=True)
    logs = trainer.evaluate(loader)
    with nerve.no_grad():
        model.eval()
        logits, _ = model(nerve.tensor(loader.inputs))
        whole = loss_fn(logits, nerve.tensor(loader.targets)).item()
    assert logs["loss"] == pytest.approx(whole, rel=1e-5)

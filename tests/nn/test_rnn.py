"""RNN/LSTM/GRU modules against PyTorch with copied weights; masked and packed sequences; cells; errors."""

import numpy as np
import pytest
import torch

import nerve
from nerve.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

MODES = ["RNN", "RNN_relu", "LSTM", "GRU"]


def _pair(mode: str, **kwargs):
    """The same layer in both frameworks, nerve's weights copied from torch's."""
    name, extra = (mode, {}) if mode != "RNN_relu" else ("RNN", {"nonlinearity": "relu"})
    t = getattr(torch.nn, name)(**kwargs, **extra)
    n = getattr(nerve.nn, name)(**kwargs, **extra)
    result = n.load_state_dict({k: nerve.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys
    return n, t


def _states(mode: str, rng, layers: int, batch: int, hidden: int):
    shape = (layers, batch, hidden)
    h = rng.standard_normal(shape).astype(np.float32)
    if mode == "LSTM":
        c = rng.standard_normal(shape).astype(np.float32)
        return (nerve.tensor(h, requires_grad=True), nerve.tensor(c, requires_grad=True)), \
            (torch.tensor(h, requires_grad=True), torch.tensor(c, requires_grad=True))
    return nerve.tensor(h, requires_grad=True), torch.tensor(h, requires_grad=True)


def _flat(state):
    return list(state) if isinstance(state, tuple) else [state]


def _close(a, b, atol=2e-5):
    np.testing.assert_allclose(a.data if isinstance(a, nerve.Tensor) else a,
                               b.detach().numpy(), rtol=1e-4, atol=atol)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_matches_torch_outputs_states_and_every_gradient(mode, layers, bidirectional, batch_first) -> None:
    steps, batch, features, hidden = 5, 3, 4, 6
    n, t = _pair(mode, input_size=features, hidden_size=hidden, num_layers=layers, bidirectional=bidirectional,
                 batch_first=batch_first)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, steps, features) if batch_first else (steps, batch, features)).astype(np.float32)
    xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    hn_in, ht_in = _states(mode, rng, layers * (2 if bidirectional else 1), batch, hidden)
    out_n, state_n = n(xn, hn_in)
    out_t, state_t = t(xt, ht_in)
    _close(out_n, out_t)
    for a, b in zip(_flat(state_n), _flat(state_t)):
        _close(a, b)
    # a loss touching the outputs and every final state
    w = rng.uniform(0.5, 1.5, out_n.shape).astype(np.float32)
    loss_n = (out_n * nerve.tensor(w)).sum() + sum((s * s).sum() for s in _flat(state_n))
    loss_t = (out_t * torch.tensor(w)).sum() + sum((s * s).sum() for s in _flat(state_t))
    loss_n.backward()
    loss_t.backward()
    _close(xn.grad, xt.grad)
    for a, b in zip(_flat(hn_in), _flat(ht_in)):
        _close(a.grad, b.grad)
    tparams = dict(t.named_parameters())
    for name, p in n.named_parameters():
        _close(p.grad, tparams[name].grad, atol=1e-4)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_dropout_between_layers_only_in_training(mode) -> None:
    n = getattr(nerve.nn, mode)(3, 4, num_layers=2, dropout=0.5)
    x = nerve.randn(6, 2, 3)
    n.eval()
    first = n(x)[0].data
    np.testing.assert_array_equal(first, n(x)[0].data)
    n.train()
    nerve.manual_seed(0)
    assert not np.allclose(first, n(x)[0].data)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_masked_batch_equals_each_sequence_alone(mode, bidirectional) -> None:
    """Padding must not leak: each padded sequence gives what it gives alone, outputs, state and gradients."""
    name, extra = (mode, {}) if mode != "RNN_relu" else ("RNN", {"nonlinearity": "relu"})
    model = getattr(nerve.nn, name)(3, 5, num_layers=2, bidirectional=bidirectional, batch_first=True, **extra)
    lengths = np.array([6, 2, 4])
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 6, 3)).astype(np.float32)
    x[1, 2:] = np.nan  # garbage in the padding (even NaN) must not reach outputs or gradients
    xb = nerve.tensor(x, requires_grad=True)
    out, state = model(xb, lengths=lengths)
    (out.sum() + sum(s.sum() for s in _flat(state))).backward()
    grads_batched = {k: p.grad.data.copy() for k, p in model.named_parameters()}
    model.zero_grad()
    total = {k: 0 for k in grads_batched}
    for b, length in enumerate(lengths):
        xs = nerve.tensor(x[b : b + 1, :length], requires_grad=True)
        o, s = model(xs)
        np.testing.assert_allclose(out.data[b, :length], o.data[0], rtol=1e-5, atol=1e-6)
        assert np.all(out.data[b, length:] == 0)
        for sb, ss in zip(_flat(state), _flat(s)):
            np.testing.assert_allclose(sb.data[:, b], ss.data[:, 0], rtol=1e-5, atol=1e-6)
        (o.sum() + sum(q.sum() for q in _flat(s))).backward()
        np.testing.assert_allclose(xb.grad.data[b, :length], xs.grad.data[0], rtol=1e-5, atol=1e-6)
        assert np.all(xb.grad.data[b, length:] == 0)
    for k, p in model.named_parameters():
        total[k] = p.grad.data
    for k in grads_batched:
        assert np.isfinite(grads_batched[k]).all(), k
        np.testing.assert_allclose(grads_batched[k], total[k], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_packed_sequence_matches_torch(mode) -> None:
    n, t = _pair(mode, input_size=3, hidden_size=4, bidirectional=True, batch_first=True)
    lengths = [5, 3, 1, 4]
    x = np.random.default_rng(2).standard_normal((4, 5, 3)).astype(np.float32)
    xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    pn = pack_padded_sequence(xn, lengths, batch_first=True, enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    np.testing.assert_array_equal(pn.batch_sizes, pt.batch_sizes.numpy())
    _close(pn.data, pt.data)
    out_n, state_n = n(pn)
    out_t, state_t = t(pt)
    _close(out_n.data, out_t.data)
    padded_n, len_n = pad_packed_sequence(out_n, batch_first=True)
    padded_t, len_t = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=True)
    _close(padded_n, padded_t)
    np.testing.assert_array_equal(len_n, len_t.numpy())
    for a, b in zip(_flat(state_n), _flat(state_t)):
        _close(a, b)
    padded_n.sum().backward()
    padded_t.sum().backward()
    _close(xn.grad, xt.grad)
    tparams = dict(t.named_parameters())
    for name, p in n.named_parameters():
        _close(p.grad, tparams[name].grad, atol=1e-4)


def test_pack_padded_sequence_checks_sorting_and_lengths() -> None:
    x = nerve.randn(4, 2, 3)
    with pytest.raises(ValueError, match="not sorted in decreasing order"):
        pack_padded_sequence(x, [2, 4])
    with pytest.raises(ValueError, match=r"lengths must be in \[1, 4\].*max 5"):
        pack_padded_sequence(x, [5, 1])


@pytest.mark.parametrize("cell, options", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu", "bias": False}),
                                           ("LSTMCell", {}), ("LSTMCell", {"bias": False}), ("GRUCell", {}),
                                           ("GRUCell", {"bias": False})])
def test_cells_match_torch(cell, options) -> None:
    t = getattr(torch.nn, cell)(3, 4, **options)
    n = getattr(nerve.nn, cell)(3, 4, **options)
    n.load_state_dict({k: nerve.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    assert repr(n) == repr(t) and list(n.state_dict()) == list(t.state_dict())
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    h = rng.standard_normal((2, 4)).astype(np.float32)
    xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    # the state needs its gradient too: it is how a hand-written loop over steps backpropagates through time
    hx_n = (nerve.tensor(h, requires_grad=True), nerve.tensor(h * 0.5, requires_grad=True)) if cell == "LSTMCell" \
        else nerve.tensor(h, requires_grad=True)
    hx_t = (torch.tensor(h, requires_grad=True), torch.tensor(h * 0.5, requires_grad=True)) if cell == "LSTMCell" \
        else torch.tensor(h, requires_grad=True)
    out_n, out_t = n(xn, hx_n), t(xt, hx_t)
    for a, b in zip(_flat(out_n), _flat(out_t)):
        _close(a, b)
    sum((a * a).sum() for a in _flat(out_n)).backward()
    sum((a * a).sum() for a in _flat(out_t)).backward()
    _close(xn.grad, xt.grad)
    for a, b in zip(_flat(hx_n), _flat(hx_t)):
        _close(a.grad, b.grad)
    tparams = dict(t.named_parameters())
    for name, p in n.named_parameters():
        _close(p.grad, tparams[name].grad)
    # unbatched input and no state
    _close(_flat(n(nerve.tensor(x[0])))[0], _flat(t(torch.tensor(x[0])))[0])


def test_unbatched_sequence_matches_torch() -> None:
    n, t = _pair("GRU", input_size=2, hidden_size=3, num_layers=2)
    x = np.random.default_rng(4).standard_normal((5, 2)).astype(np.float32)
    xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_n, h_n = n(xn)
    out_t, h_t = t(xt)
    assert out_n.shape == tuple(out_t.shape) and h_n.shape == tuple(h_t.shape)
    _close(out_n, out_t)
    _close(h_n, h_t)
    (out_n.sum() + (h_n * h_n).sum()).backward()
    (out_t.sum() + (h_t * h_t).sum()).backward()
    _close(xn.grad, xt.grad)
    tparams = dict(t.named_parameters())
    for name, p in n.named_parameters():
        _close(p.grad, tparams[name].grad)


@pytest.mark.parametrize("mode", MODES)
def test_float64_without_bias_in_eval_mode_matches_torch(mode) -> None:
    """float64 (tight tolerance), bias=False and inter-layer dropout in eval mode, where it must be a no-op."""
    n, t = _pair(mode, input_size=3, hidden_size=4, num_layers=2, bias=False, dropout=0.5, bidirectional=True)
    n, t = n.double(), t.double()
    assert all(p.dtype == np.float64 for p in n.parameters()) and not any("bias" in k for k in n.state_dict())
    n.eval()
    t.eval()
    x = np.random.default_rng(10).standard_normal((6, 2, 3))
    xn, xt = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_n, state_n = n(xn)
    out_t, state_t = t(xt)
    loss_n = out_n.sum() + sum((s * s).sum() for s in _flat(state_n))
    loss_t = out_t.sum() + sum((s * s).sum() for s in _flat(state_t))
    loss_n.backward()
    loss_t.backward()
    tparams = dict(t.named_parameters())
    pairs = [(out_n, out_t), *zip(_flat(state_n), _flat(state_t)), (xn.grad, xt.grad),
             *((p.grad, tparams[k].grad) for k, p in n.named_parameters())]
    for a, b in pairs:
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda m: m(nerve.randn(2, 5, 4)), r"LSTM\(3, 6, batch_first=True\): expected input with 3 features per step, "
                                        r"got shape \(2, 5, 4\)"),
    (lambda m: m(nerve.randn(2, 5, 3), (nerve.zeros(1, 3, 6), nerve.zeros(1, 2, 6))),
     r"expected h0 of shape \(1, 2, 6\) \(num_layers \* num_directions, batch, hidden_size\), got \(1, 3, 6\)"),
    (lambda m: m(nerve.randn(2, 5, 3), nerve.zeros(1, 2, 6)), "expected hx to be a tuple"),
    (lambda m: m(nerve.randn(2, 5, 3), lengths=[5, 7]), r"lengths must be in \[1, 5\]"),
    (lambda m: m(nerve.randn(2, 5, 3), lengths=[5]), "got 1 lengths for a batch of 2"),
    (lambda m: m(nerve.randn(5, 3, 2, 1)), "expected a 3-D input"),
])
def test_bad_input_gets_a_clear_error(call, message) -> None:
    model = nerve.nn.LSTM(3, 6, batch_first=True)
    # a wrong kind of state is a TypeError (as in PyTorch), every wrong shape or length a ValueError
    with pytest.raises(TypeError if "tuple" in message else ValueError, match=message):
        call(model)


def test_embedding_matches_torch_with_padding_idx_and_max_norm() -> None:
    t = torch.nn.Embedding(10, 4, padding_idx=0, max_norm=1.0)
    n = nerve.nn.Embedding(10, 4, padding_idx=0, max_norm=1.0)
    n.load_state_dict({"weight": nerve.tensor(t.weight.detach().numpy())})
    idx = np.array([[1, 0, 3, 3], [9, 1, 0, 2]])
    out_n, out_t = n(nerve.tensor(idx)), t(torch.tensor(idx))
    _close(out_n, out_t)
    _close(n.weight, t.weight)  # max_norm renormalised the same rows in place
    w = np.random.default_rng(5).standard_normal(out_n.shape).astype(np.float32)
    (out_n * nerve.tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    _close(n.weight.grad, t.weight.grad)
    assert np.all(n.weight.grad.data[0] == 0)
    with pytest.raises(IndexError, match=r"Embedding\(10, 4, padding_idx=0, max_norm=1.0\): index 10 is out of"):
        n(nerve.tensor(np.array([10])))


def test_embedding_gradcheck() -> None:
    from conftest import check_grad

    from nerve.nn import functional as F

    idx = np.array([[0, 2, 2], [1, 0, 2]])
    check_grad(lambda w: F.embedding(nerve.tensor(idx), w), np.random.default_rng(6).standard_normal((3, 4)))


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_two_layer_bidirectional_module_gradcheck_float64(mode) -> None:
    """Float64 gradcheck through the whole module (layers, directions, concatenation, masks, h0)."""
    from conftest import check_grad

    nerve.manual_seed(0)
    model = getattr(nerve.nn, mode)(2, 3, num_layers=2, bidirectional=True, batch_first=True, dtype=nerve.float64)
    lengths = [4, 2]

    def fn(x, h0):
        state = (h0, h0 * 0.5) if mode == "LSTM" else h0
        out, final = model(x, state, lengths=lengths)
        finals = final if isinstance(final, tuple) else (final,)
        return out.sum() + sum((f * f).sum() for f in finals)

    rng = np.random.default_rng(7)
    check_grad(fn, rng.standard_normal((2, 4, 2)), rng.standard_normal((4, 2, 3)) * 0.5)


def test_pad_packed_sequence_pads_like_torch() -> None:
    x = np.random.default_rng(8).standard_normal((2, 4, 3)).astype(np.float32)
    x[1, 2:] = 7.0  # the input's own padding must not survive the round trip
    lengths = [4, 2]
    pn = pack_padded_sequence(nerve.tensor(x, requires_grad=True), lengths, batch_first=True)
    pt = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths), batch_first=True)
    for kwargs in ({}, {"padding_value": -1.0}, {"total_length": 6, "padding_value": 2.5}):
        out_n, len_n = pad_packed_sequence(pn, batch_first=True, **kwargs)
        out_t, len_t = torch.nn.utils.rnn.pad_packed_sequence(pt, batch_first=True, **kwargs)
        _close(out_n, out_t)
        np.testing.assert_array_equal(len_n, len_t.numpy())


def test_mismatched_dtypes_and_malformed_packed_input_are_rejected() -> None:
    model = nerve.nn.GRU(3, 4)
    with pytest.raises(TypeError, match=r"GRU\(3, 4\): expected a float32 input .* got float64"):
        model(nerve.randn(5, 2, 3, dtype=nerve.float64))
    with pytest.raises(TypeError, match="expected hx of dtype float32, got float64"):
        model(nerve.randn(5, 2, 3), nerve.zeros(1, 2, 4, dtype=nerve.float64))
    from nerve.nn.utils.rnn import PackedSequence

    with pytest.raises(ValueError, match="got 1 lengths for a batch of 2"):
        model(PackedSequence(nerve.randn(5, 2, 3), np.array([5])))
    with pytest.raises(ValueError, match="must hold a padded"):
        model(PackedSequence(nerve.randn(7, 3), np.array([4, 3])))
    with pytest.raises(TypeError, match=r"LSTMCell\(3, 4\): expected a float32 input"):
        nerve.nn.LSTMCell(3, 4)(nerve.randn(2, 3, dtype=nerve.float64))

"""MultiheadAttention and the Transformer layers against PyTorch with copied weights; positional encodings;
attention maps; errors."""

import re

import numpy as np
import pytest
import torch

import nerve
from nerve import nn
from nerve.analysis import attention_maps


@pytest.fixture(autouse=True)
def _no_torch_fast_path():
    # PyTorch's inference fast path returns nested tensors with zeros at padded positions; compare against
    # the reference math path.
    torch.backends.mha.set_fastpath_enabled(False)
    yield
    torch.backends.mha.set_fastpath_enabled(True)


def _copy(t_module, n_module):
    result = n_module.load_state_dict({k: nerve.tensor(v.detach().numpy()) for k, v in t_module.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys
    assert set(dict(n_module.named_parameters())) == set(dict(t_module.named_parameters()))


def _inputs(*shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _close(a, b, atol=2e-5, rtol=1e-4):
    a = a.data if isinstance(a, nerve.Tensor) else a
    np.testing.assert_allclose(a, b.detach().numpy(), rtol=rtol, atol=atol)


def _backward_and_compare(n_out, t_out, n_module, t_module, inputs, atol=2e-5, weights=None):
    """Backward from a weighted sum of the outputs (and of the attention weights, when given as a
    (nerve, torch) pair: they carry gradients in both libraries), then compare every gradient."""
    w = np.random.default_rng(9).uniform(0.5, 1.5, t_out.shape).astype(np.float32)
    n_loss, t_loss = (n_out * nerve.tensor(w)).sum(), (t_out * torch.tensor(w)).sum()
    if weights is not None:
        n_w, t_w = weights
        assert n_w.requires_grad and t_w.requires_grad
        u = np.random.default_rng(10).uniform(-1, 1, t_w.shape).astype(np.float32)
        n_loss, t_loss = n_loss + (n_w * nerve.tensor(u)).sum(), t_loss + (t_w * torch.tensor(u)).sum()
    n_loss.backward()
    t_loss.backward()
    for n_in, t_in in inputs:
        _close(n_in.grad, t_in.grad, atol=atol)
    n_params = dict(n_module.named_parameters())
    for name, p in t_module.named_parameters():
        _close(n_params[name].grad, p.grad, atol=atol)


def _masks(batch, length, source, kind, rng):
    if kind == "none":
        return None, None
    padding = np.zeros((batch, source), bool)
    padding[0, source - 2:] = True
    if kind == "padding":
        return padding, None
    attn = np.triu(np.ones((length, source), bool), k=1)
    if kind == "bool":
        return padding, attn
    if kind == "float":  # both masks float (PyTorch deprecates mixing kinds)
        scores = rng.standard_normal((length, source))
        return np.where(padding, -np.inf, 0).astype(np.float32), np.where(attn, -np.inf, scores).astype(np.float32)
    if kind == "per_head":  # (N·heads, L, S)
        return None, rng.random((batch * 2, length, source)) > 0.7


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("masks", ["none", "padding", "bool", "float", "per_head"])
@pytest.mark.parametrize("average", [True, False])
def test_multihead_self_attention_matches_torch(batch_first, masks, average):
    t = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    n = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    _copy(t, n)
    shape = (3, 5, 8) if batch_first else (5, 3, 8)
    nx, tx = _inputs(*shape)
    padding, attn = _masks(3, 5, 5, masks, np.random.default_rng(1))
    if masks == "per_head":
        attn[:, :, 0] = False  # keep every row attending somewhere (torch's weights are NaN otherwise)
    t_kw = {"key_padding_mask": None if padding is None else torch.tensor(padding),
            "attn_mask": None if attn is None else torch.tensor(attn)}
    n_kw = {"key_padding_mask": padding, "attn_mask": attn}
    t_out, t_w = t(tx, tx, tx, average_attn_weights=average, **t_kw)
    n_out, n_w = n(nx, nx, nx, average_attn_weights=average, **n_kw)
    _close(n_out, t_out)
    _close(n_w, t_w, atol=1e-6)
    _backward_and_compare(n_out, t_out, n, t, [(nx, tx)], weights=(n_w, t_w))


@pytest.mark.parametrize("options", [dict(kdim=5, vdim=3), dict(bias=False), dict(add_bias_kv=True),
                                     dict(add_zero_attn=True), dict(add_bias_kv=True, add_zero_attn=True)])
def test_multihead_cross_attention_options_match_torch(options):
    t = torch.nn.MultiheadAttention(8, 4, batch_first=True, **options)
    n = nn.MultiheadAttention(8, 4, batch_first=True, **options)
    _copy(t, n)
    nq, tq = _inputs(2, 4, 8, seed=1)
    nk, tk = _inputs(2, 6, options.get("kdim", 8), seed=2)
    nv, tv = _inputs(2, 6, options.get("vdim", 8), seed=3)
    padding = np.zeros((2, 6), bool)
    padding[1, 4:] = True
    t_out, t_w = t(tq, tk, tv, key_padding_mask=torch.tensor(padding))
    n_out, n_w = n(nq, nk, nv, key_padding_mask=padding)
    _close(n_out, t_out)
    _close(n_w, t_w, atol=1e-6)
    _backward_and_compare(n_out, t_out, n, t, [(nq, tq), (nk, tk), (nv, tv)], weights=(n_w, t_w))


def test_multihead_unbatched_matches_torch():
    t, n = torch.nn.MultiheadAttention(6, 3), nn.MultiheadAttention(6, 3)
    _copy(t, n)
    nx, tx = _inputs(4, 6)
    padding = np.array([False, False, True, False])
    t_out, t_w = t(tx, tx, tx, key_padding_mask=torch.tensor(padding))
    n_out, n_w = n(nx, nx, nx, key_padding_mask=padding)
    assert n_out.shape == (4, 6) and n_w.shape == (4, 4)
    _close(n_out, t_out)
    _close(n_w, t_w, atol=1e-6)
    _backward_and_compare(n_out, t_out, n, t, [(nx, tx)], weights=(n_w, t_w))


def test_multihead_dropout_is_active_only_in_training():
    n = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = nerve.randn(2, 5, 8)
    n.eval()
    first, _ = n(x, x, x)
    second, _ = n(x, x, x)
    np.testing.assert_array_equal(first.data, second.data)
    n.train()
    dropped, _ = n(x, x, x, need_weights=False)
    assert not np.allclose(dropped.data, first.data)


def test_multihead_initialisation_follows_torch():
    n = nn.MultiheadAttention(64, 4)
    bound = np.sqrt(6 / (64 + 3 * 64))  # Xavier-uniform over the (3E, E) in-projection
    w = n.in_proj_weight.data
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not n.in_proj_bias.data.any() and not n.out_proj.bias.data.any()


LAYER_OPTIONS = [dict(norm_first=False, activation="relu"), dict(norm_first=True, activation="gelu"),
                 dict(norm_first=False, activation="gelu", bias=False)]


@pytest.mark.parametrize("options", LAYER_OPTIONS)
@pytest.mark.parametrize("batch_first", [True, False])
def test_encoder_layer_matches_torch(options, batch_first):
    t = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=batch_first, **options)
    n = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=batch_first, **options)
    _copy(t, n)
    shape = (3, 5, 8) if batch_first else (5, 3, 8)
    nx, tx = _inputs(*shape)
    padding = np.zeros((3, 5), np.float32)
    padding[2, 3:] = -np.inf  # float like the causal mask (PyTorch deprecates mixing mask kinds)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    t_out = t(tx, src_mask=mask, src_key_padding_mask=torch.tensor(padding))
    n_out = n(nx, src_mask=mask.numpy(), src_key_padding_mask=padding)
    _close(n_out, t_out)
    _backward_and_compare(n_out, t_out, n, t, [(nx, tx)])


@pytest.mark.parametrize("options", LAYER_OPTIONS)
def test_decoder_layer_matches_torch(options):
    t = torch.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True, **options)
    n = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True, **options)
    _copy(t, n)
    nx, tx = _inputs(3, 5, 8, seed=1)
    nm, tm = _inputs(3, 7, 8, seed=2)
    memory_padding = np.zeros((3, 7), bool)
    memory_padding[0, 5:] = True
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    t_out = t(tx, tm, tgt_mask=mask, memory_key_padding_mask=torch.tensor(memory_padding), tgt_is_causal=True)
    n_out = n(nx, nm, tgt_mask=mask.numpy(), memory_key_padding_mask=memory_padding, tgt_is_causal=True)
    _close(n_out, t_out)
    _backward_and_compare(n_out, t_out, n, t, [(nx, tx), (nm, tm)])


def test_causal_flag_without_mask_equals_the_causal_mask():
    n = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    x = nerve.randn(2, 6, 8)
    with_mask = n(x, src_mask=nn.Transformer.generate_square_subsequent_mask(6)).data
    np.testing.assert_allclose(n(x, is_causal=True).data, with_mask, rtol=1e-6, atol=1e-6)
    # Causality: changing a later token does not change earlier outputs.
    y = x.data.copy()
    y[:, 4:] += 1.0
    np.testing.assert_allclose(n(nerve.tensor(y), is_causal=True).data[:, :4], with_mask[:, :4], atol=1e-6)


@pytest.mark.parametrize("train", [False, True])
def test_encoder_and_decoder_stacks_match_torch(train):
    enc_t = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
                                        2, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
    enc_n = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2,
                                  norm=nn.LayerNorm(8))
    dec_t = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
                                        2, norm=torch.nn.LayerNorm(8))
    dec_n = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2,
                                  norm=nn.LayerNorm(8))
    for t, n in ((enc_t, enc_n), (dec_t, dec_n)):
        _copy(t, n)
        t.train(train)
        n.train(train)
    assert len(enc_n.layers) == 2 and enc_n.layers[0] is not enc_n.layers[1]
    ns, ts = _inputs(2, 6, 8, seed=3)
    nt, tt = _inputs(2, 4, 8, seed=4)
    padding = np.zeros((2, 6), bool)
    padding[1, 4:] = True
    t_out = dec_t(tt, enc_t(ts, src_key_padding_mask=torch.tensor(padding)),
                  tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(4),
                  memory_key_padding_mask=torch.tensor(padding))
    n_out = dec_n(nt, enc_n(ns, src_key_padding_mask=padding),
                  tgt_mask=nn.Transformer.generate_square_subsequent_mask(4), memory_key_padding_mask=padding)
    _close(n_out, t_out)
    w = np.random.default_rng(9).uniform(0.5, 1.5, t_out.shape).astype(np.float32)
    (n_out * nerve.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    _close(ns.grad, ts.grad)
    _close(nt.grad, tt.grad)
    for t, n in ((enc_t, enc_n), (dec_t, dec_n)):
        n_params = dict(n.named_parameters())
        for name, p in t.named_parameters():
            _close(n_params[name].grad, p.grad, atol=3e-5)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")  # torch's note about its own fast path
def test_full_transformer_matches_torch():
    t = torch.nn.Transformer(8, 2, 2, 2, 16, dropout=0.0)
    n = nn.Transformer(8, 2, 2, 2, 16, dropout=0.0)
    _copy(t, n)
    ns, ts = _inputs(6, 2, 8, seed=5)
    nt, tt = _inputs(4, 2, 8, seed=6)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(4)
    t_out = t(ts, tt, tgt_mask=mask)
    n_out = n(ns, nt, tgt_mask=mask.numpy())
    _close(n_out, t_out)
    _backward_and_compare(n_out, t_out, n, t, [(ns, ts), (nt, tt)], atol=3e-5)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
@pytest.mark.parametrize("kind", ["attention", "encoder_layer", "decoder_layer", "transformer"])
def test_eval_mode_with_dropout_matches_torch(kind):
    """The tests above use dropout=0.0; with the default dropout, eval mode must switch every dropout off."""
    make = {"attention": lambda lib: lib.nn.MultiheadAttention(8, 2, dropout=0.5),
            "encoder_layer": lambda lib: lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5),
            "decoder_layer": lambda lib: lib.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.5),
            "transformer": lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16, dropout=0.5)}[kind]
    t, n = make(torch), make(nerve)
    _copy(t, n)
    t.eval()
    n.eval()
    nx, tx = _inputs(5, 2, 8, seed=7)
    nm, tm = _inputs(3, 2, 8, seed=8)
    args = {"attention": ((nx, nx, nx), (tx, tx, tx)), "encoder_layer": ((nx,), (tx,))}.get(kind, ((nx, nm), (tx, tm)))
    n_out, t_out = n(*args[0]), t(*args[1])
    if kind == "attention":
        n_out, t_out = n_out[0], t_out[0]
    _close(n_out, t_out)
    inputs = [(nx, tx)] if kind in ("attention", "encoder_layer") else [(nx, tx), (nm, tm)]
    _backward_and_compare(n_out, t_out, n, t, inputs, atol=3e-5)


def test_transformer_initialises_matrices_xavier_uniform():
    n = nn.Transformer(16, 2, 1, 1, 32)
    w = n.encoder.layers[0].linear1.weight.data  # (32, 16): Xavier bound sqrt(6 / 48)
    assert np.abs(w).max() <= np.sqrt(6 / 48) and np.abs(w).max() > 0.8 * np.sqrt(6 / 48)


def test_square_subsequent_mask_matches_torch():
    np.testing.assert_array_equal(nn.Transformer.generate_square_subsequent_mask(5).data,
                                  torch.nn.Transformer.generate_square_subsequent_mask(5).numpy())


def test_sinusoidal_encoding_values_and_shapes():
    pe = nn.SinusoidalPositionalEncoding(6, max_len=10)
    table = pe.pe.data
    assert table.shape == (10, 6) and table.dtype == np.float32
    p, i = 3, 1  # PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...)
    assert np.isclose(table[p, 2 * i], np.sin(p / 10000 ** (2 * i / 6)))
    assert np.isclose(table[p, 2 * i + 1], np.cos(p / 10000 ** (2 * i / 6)))
    x = nerve.zeros(2, 4, 6)
    np.testing.assert_array_equal(pe(x).data, np.broadcast_to(table[:4], (2, 4, 6)))
    seq_first = nn.SinusoidalPositionalEncoding(6, max_len=10, batch_first=False)
    np.testing.assert_array_equal(seq_first(nerve.zeros(4, 2, 6)).data[:, 1], table[:4])
    assert "pe" not in pe.state_dict()  # a fixed table is not saved
    assert nn.SinusoidalPositionalEncoding(5, max_len=3).pe.shape == (3, 5)  # odd width


def test_learned_positional_embedding_trains_and_saves():
    pe = nn.LearnedPositionalEmbedding(8, 4)
    x = nerve.randn(3, 5, 4)
    pe(x).sum().backward()
    np.testing.assert_array_equal(pe.weight.grad.data[:5], np.full((5, 4), 3.0, np.float32))
    assert not pe.weight.grad.data[5:].any()
    assert set(pe.state_dict()) == {"weight"}


@pytest.mark.parametrize("module", [nn.SinusoidalPositionalEncoding(4, max_len=6),
                                    nn.LearnedPositionalEmbedding(6, 4)])
def test_positional_errors(module):
    with pytest.raises(ValueError, match=r"sequence of length 7 is longer than the positional table \(max_len=6\)"):
        module(nerve.zeros(2, 7, 4))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, L, E\) or \(L, E\) with E=4, got \(2, 3, 5\)"):
        module(nerve.zeros(2, 3, 5))


def test_attention_maps_per_layer_and_head():
    model = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 3)
    model.train()
    x = nerve.randn(2, 5, 8)
    padding = np.zeros((2, 5), bool)
    padding[1, 3:] = True
    maps = attention_maps(model, x, src_key_padding_mask=padding)
    assert list(maps) == ["layers.0.self_attn", "layers.1.self_attn", "layers.2.self_attn"]
    for probs in maps.values():
        assert probs.shape == (2, 2, 5, 5)
        np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
        assert not probs[1, :, :, 3:].any()  # padded keys get no attention
    assert model.training  # mode restored
    assert all(not m.capture_attention and m.last_attention is None for m in model.modules()
               if isinstance(m, nn.MultiheadAttention))
    # The first layer's map is the one its attention module returns for the same input.
    layer = model.layers[0]
    layer.eval()
    _, weights = layer.self_attn(x, x, x, key_padding_mask=padding, average_attn_weights=False)
    np.testing.assert_allclose(maps["layers.0.self_attn"], weights.data, rtol=1e-6)
    with pytest.raises(ValueError, match="Linear has no MultiheadAttention layers"):
        attention_maps(nn.Linear(2, 2), nerve.zeros(1, 2))


def test_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads \(3\)"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads \(3\)"):
        nn.TransformerEncoderLayer(10, 3)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    x = nerve.randn(2, 5, 8)
    with pytest.raises(ValueError, match=r"MultiheadAttention\(embed_dim=8, num_heads=2\): expected query of shape "
                                         r"\(L, N, 8\).* got \(2, 5, 6\)"):
        mha(nerve.randn(2, 5, 6), x, x)
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(L, S\) = \(5, 5\) or \(N·num_heads, L, S\) "
                                         r"= \(4, 5, 5\), got \(5, 4\)"):
        mha(x, x, x, attn_mask=np.zeros((5, 4), bool))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(N, S\) = \(2, 5\), got \(5,\)"):
        mha(x, x, x, key_padding_mask=np.zeros(5, bool))
    with pytest.raises(ValueError, match="query and key have different batch sizes"):
        mha(x, nerve.randn(3, 5, 8), nerve.randn(3, 5, 8))
    with pytest.raises(TypeError, match="expected a float32 query to match the weights, got float64"):
        mha(nerve.tensor(np.zeros((2, 5, 8))), x, x)
    with pytest.raises(ValueError, match="activation must be 'relu', 'gelu' or a callable, got 'swish'"):
        nn.TransformerEncoderLayer(8, 2, activation="swish")
    model = nn.Transformer(8, 2, 1, 1, 16, batch_first=True)
    with pytest.raises(ValueError, match="src and tgt must have the same batch size"):
        model(nerve.randn(2, 5, 8), nerve.randn(3, 4, 8))


def test_integer_masks_name_the_layer_and_the_argument_as_torch_does():
    # the message used to be "attention mask must be boolean or floating", naming neither
    x = np.random.default_rng(0).standard_normal((2, 4, 8)).astype(np.float32)
    square, padding = np.zeros((4, 4), np.int64), np.zeros((2, 4), np.int64)
    mha = lambda lib: lib.nn.MultiheadAttention(8, 2, batch_first=True)  # noqa: E731
    layer = lambda lib: lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)  # noqa: E731
    decoder = lambda lib: lib.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True)  # noqa: E731
    cases = [
        ("MultiheadAttention(embed_dim=8, num_heads=2)", "attn_mask", lambda lib, x, m: mha(lib)(x, x, x, attn_mask=m),
         square),
        ("MultiheadAttention(embed_dim=8, num_heads=2)", "key_padding_mask",
         lambda lib, x, m: mha(lib)(x, x, x, key_padding_mask=m), padding),
        ("TransformerEncoderLayer", "src_mask", lambda lib, x, m: layer(lib)(x, src_mask=m), square),
        ("TransformerEncoderLayer", "src_key_padding_mask", lambda lib, x, m: layer(lib)(x, src_key_padding_mask=m),
         padding),
        ("TransformerEncoder", "mask", lambda lib, x, m: lib.nn.TransformerEncoder(layer(lib), 1)(x, mask=m), square),
        ("TransformerDecoderLayer", "memory_key_padding_mask",
         lambda lib, x, m: decoder(lib)(x, x, memory_key_padding_mask=m), padding),
    ]
    for where, name, call, mask in cases:
        with pytest.raises(TypeError, match=rf"^{re.escape(where)}: {name} must be boolean or floating, got dtype "
                                            rf"int64$"):
            call(nerve, nerve.tensor(x), nerve.tensor(mask))
        # torch's decoder layer leaves the check to its attention, which says key_padding_mask
        name = "key_padding_mask" if name == "memory_key_padding_mask" else name
        with pytest.raises(AssertionError, match=rf"^only bool and floating types of {name} are supported$"):
            call(torch, torch.tensor(x), torch.tensor(mask))
    with pytest.raises(TypeError, match=r"^scaled_dot_product_attention: attn_mask must be boolean or floating, got "
                                        r"dtype int64$"):
        nn.functional.scaled_dot_product_attention(nerve.tensor(x), nerve.tensor(x), nerve.tensor(x),
                                                   attn_mask=nerve.tensor(square))
    with pytest.raises(TypeError, match=r"^MultiheadAttention\(embed_dim=8, num_heads=2\): attn_mask of dtype "
                                        r"float64 does not match the query dtype float32$"):
        mha(nerve)(nerve.tensor(x), nerve.tensor(x), nerve.tensor(x), attn_mask=nerve.zeros(4, 4, dtype=nerve.float64))


def test_causal_flag_combines_with_a_padding_mask():
    t = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    n = nn.MultiheadAttention(8, 2, batch_first=True)
    _copy(t, n)
    nx, tx = _inputs(2, 5, 8)
    padding = np.zeros((2, 5), np.float32)
    padding[1, 3:] = -np.inf
    causal = torch.nn.Transformer.generate_square_subsequent_mask(5)
    t_out, _ = t(tx, tx, tx, key_padding_mask=torch.tensor(padding), attn_mask=causal, is_causal=True)
    n_out, _ = n(nx, nx, nx, key_padding_mask=padding, is_causal=True)  # no attn_mask: built from the flag
    _close(n_out, t_out)
    unmasked, _ = n(nx, nx, nx, key_padding_mask=padding)
    assert not np.allclose(unmasked.data, n_out.data)


def test_attention_maps_restore_each_submodules_mode():
    model = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2)
    model.train()
    model.layers[1].eval()
    attention_maps(model, nerve.randn(1, 3, 8))
    assert model.training and model.layers[0].training and not model.layers[1].training

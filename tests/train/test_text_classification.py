"""The pieces of the ``minilm-bbc`` recipe that need no download: words, TF-IDF, the BERT classifier, errors."""

from __future__ import annotations

import numpy as np
import pytest

import nerve
from nerve.cli import main
from nerve.models import BERT, BertConfig
from nerve.train.text_classification import BertClassifier, TfidfVectorizer, _linear_warmup_decay, words

TINY = BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
                  max_position_embeddings=16)


def test_words_are_lower_cased_with_apostrophe_suffixes() -> None:
    assert words("The firm's £1.13bn PROFIT, it's up 76%!") == ["the", "firm's", "1", "13bn", "profit", "it's",
                                                               "up", "76"]


def test_tfidf_matches_its_formula() -> None:
    docs = ["apple apple banana", "banana cherry", "cherry cherry cherry date"]
    vec = TfidfVectorizer(max_features=3).fit(docs)
    # document frequencies: banana 2, cherry 2, apple 1, date 1 -> the 3 most frequent, ties alphabetical
    assert vec.vocabulary == {"banana": 0, "cherry": 1, "apple": 2}
    idf = np.log(4 / np.array([3, 3, 2])) + 1
    np.testing.assert_allclose(vec.idf, idf, rtol=1e-6)
    x = vec.transform([*docs, "unknown words only"])
    row = np.array([1.0, 0.0, 1 + np.log(2)]) * idf
    np.testing.assert_allclose(x[0], row / np.linalg.norm(row), rtol=1e-6)
    np.testing.assert_allclose(x[2], [0, 1, 0], atol=1e-7)  # date is out of vocabulary
    assert x.dtype == np.float32 and not x[3].any()


def test_classifier_ignores_padding_columns_and_trains() -> None:
    model = BertClassifier(BERT(TINY, add_pooling_layer=False), num_classes=3, dropout=0.0)
    model.eval()
    ids = np.array([[2, 5, 7, 3, 0, 0, 0], [2, 9, 3, 0, 0, 0, 0]])
    logits = model(nerve.tensor(ids))
    assert logits.shape == (2, 3)
    np.testing.assert_allclose(logits.data, model(ids[:, :4]).data, rtol=1e-6, atol=1e-7)  # trimmed padding
    np.testing.assert_allclose(logits.data[1], model(ids[1:, :3]).data[0], rtol=1e-5, atol=1e-6)  # batch-independent
    model.train()
    opt = nerve.optim.AdamW(model.parameters(), lr=1e-2)
    y = nerve.tensor(np.array([0, 2]))
    losses = []
    for _ in range(5):
        loss = nerve.nn.functional.cross_entropy(model(ids), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_warmup_then_linear_decay() -> None:
    opt = nerve.optim.SGD([nerve.nn.Parameter(np.zeros(1, dtype=np.float32))], lr=1.0)
    sched = _linear_warmup_decay(opt, total=20)  # 2 warm-up steps
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    np.testing.assert_allclose(lrs[:4], [0.5, 1.0, 18 / 19, 17 / 19])
    assert lrs[-1] == pytest.approx(1 / 19) and opt.param_groups[0]["lr"] == 0.0


@pytest.mark.parametrize(("option", "message"), [
    ("variant=bert", "minilm-bbc: variant must be one of pretrained, scratch, bow, got 'bert'"),
    ("max_length=4", "minilm-bbc: max_length must be an integer in [8, 512] tokens, got 4"),
    ("vocab_size=0", "minilm-bbc: vocab_size must be a positive integer, got 0"),
])
def test_bad_options_fail_before_any_download(option, message, tmp_path, capsys) -> None:
    assert main(["train", "minilm-bbc", "--set", option, "--runs-dir", str(tmp_path / "runs"),
                 "--data-dir", str(tmp_path / "empty-cache")]) == 1
    assert capsys.readouterr().err.strip() == f"nerve: error: {message}"
    assert not (tmp_path / "runs").exists() and not (tmp_path / "empty-cache").exists()

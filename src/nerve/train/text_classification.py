"""Topic classification of BBC News articles: the ``minilm-bbc`` recipe and its two baselines.

Three variants share one split (BBC News without its 98 duplicate articles, stratified 70/10/20 % by topic, so
no test article is also a training article):

* ``pretrained`` (default): all-MiniLM-L6-v2 (a 6-layer BERT pretrained for sentence embeddings) fine-tuned
  end to end, with its mean pooling and a linear classification head, on each article's first ``max_length``
  WordPiece tokens;
* ``scratch``: the same architecture, tokenizer and head from a random initialisation, which shows what the
  pretraining contributes;
* ``bow``: a bag-of-words MLP: the ``vocab_size`` words in most training articles, TF-IDF weighted
  (``(1 + log tf) · idf``, rows L2-normalised), into ``hidden`` ReLU layers.

The transformers train with AdamW (no decay on biases and LayerNorm) and the usual BERT schedule: linear
warm-up over the first 10 % of steps, then linear decay to zero, stepped every batch.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nerve import nn, optim
from nerve.data import DataLoader, TensorDataset
from nerve.models.bert import BERT, mean_pool
from nerve.random import Generator
from nerve.tensor import Tensor

if TYPE_CHECKING:
    from nerve.train.recipes import Recipe, Setup

VARIANTS = ("pretrained", "scratch", "bow")
DEFAULT_LR = {"pretrained": 5e-5, "scratch": 3e-4, "bow": 2e-3}


class BertClassifier(nn.Module):
    """A BERT encoder, mean pooling over real tokens, dropout and a linear head: token ids to class logits.

    Padding is read from the ids (``pad_token_id``, 0 for BERT's [PAD]), so the model takes one input and
    fits the standard training loop. Columns that are padding in every row are cut off first: they change
    nothing but would cost compute.

    Args:
        bert: the encoder.
        num_classes: output logits.
        dropout: dropout probability on the pooled features (default 0.1, as BERT's classifiers).

    Shape:
        input_ids (N, L) int → logits (N, num_classes).
    """

    def __init__(self, bert: BERT, num_classes: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.bert = bert
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(bert.config.hidden_size, num_classes)
        # transformers' initialisation for heads: N(0, 0.02²), zero bias
        nn.init.normal_(self.classifier.weight, 0.0, bert.config.initializer_range)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, input_ids: Tensor | np.ndarray) -> Tensor:
        ids = input_ids.data if isinstance(input_ids, Tensor) else np.asarray(input_ids)
        mask = ids != self.bert.config.pad_token_id
        used = np.flatnonzero(mask.any(axis=0))
        length = int(used[-1]) + 1 if used.size else 1
        ids, mask = ids[:, :length], mask[:, :length]
        return self.classifier(self.dropout(mean_pool(self.bert(ids, mask), mask)))


# ----------------------------------------------------------------------------------- bag of words
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    """Lower-cased words: runs of letters and digits, with an apostrophe suffix kept (``it's``, ``firm's``)."""
    return _WORD.findall(text.lower())


class TfidfVectorizer:
    """TF-IDF features over a vocabulary of the ``max_features`` words in most training documents.

    ``x[d, w] = (1 + log tf(d, w)) · idf(w)`` for words present (0 otherwise), with
    ``idf(w) = log((1 + n) / (1 + df(w))) + 1``, then each row divided by its L2 norm: common words weigh
    less, and long articles do not get larger features than short ones.

    Args:
        max_features: vocabulary size (ties in document frequency broken alphabetically, so it is deterministic).
    """

    def __init__(self, max_features: int = 10000) -> None:
        if max_features < 1:
            raise ValueError(f"TfidfVectorizer: max_features must be positive, got {max_features}")
        self.max_features = max_features
        self.vocabulary: dict[str, int] = {}
        self.idf = np.zeros(0, dtype=np.float32)

    def fit(self, texts: Sequence[str]) -> TfidfVectorizer:
        df = Counter(w for t in texts for w in set(words(t)))
        ranked = sorted(df, key=lambda w: (-df[w], w))[: self.max_features]
        self.vocabulary = {w: i for i, w in enumerate(ranked)}
        counts = np.array([df[w] for w in ranked], dtype=np.float64)
        self.idf = (np.log((1 + len(texts)) / (1 + counts)) + 1).astype(np.float32)
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), vocabulary size) float32 features."""
        x = np.zeros((len(texts), len(self.vocabulary)), dtype=np.float32)
        for d, text in enumerate(texts):
            tf = Counter(i for w in words(text) if (i := self.vocabulary.get(w)) is not None)
            if tf:
                cols = np.fromiter(tf, dtype=np.int64, count=len(tf))
                x[d, cols] = 1 + np.log(np.fromiter(tf.values(), dtype=np.float32, count=len(tf)))
        x *= self.idf
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), np.float32(1e-12))
        return x


# ---------------------------------------------------------------------------------------- recipe
def _check(config: dict[str, Any]) -> str:
    variant = config["variant"]
    if variant not in VARIANTS:
        raise ValueError(f"minilm-bbc: variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    if not isinstance(config["max_length"], int) or not 8 <= config["max_length"] <= 512:
        raise ValueError(f"minilm-bbc: max_length must be an integer in [8, 512] tokens, got {config['max_length']!r}")
    if not isinstance(config["vocab_size"], int) or config["vocab_size"] < 1:
        raise ValueError(f"minilm-bbc: vocab_size must be a positive integer, got {config['vocab_size']!r}")
    return variant


def _linear_warmup_decay(opt: optim.Optimizer, total: int) -> optim.lr_scheduler.LambdaLR:
    """Step s (from 0) trains at lr × (s + 1)/w for the first w = 10 % of ``total`` steps, then at
    lr × (total - s)/(total - w + 1): linearly down, reaching 0 after the last step."""
    warmup = max(1, total // 10)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / (total - warmup + 1))

    return optim.lr_scheduler.LambdaLR(opt, factor)


def bbc_setup(recipe: Recipe, config: dict[str, Any]) -> Setup:
    """Data, model, optimizer and schedule of one ``minilm-bbc`` run (see the module docstring)."""
    from nerve import datasets
    from nerve.models.bert import BertConfig, load_tokenizer
    from nerve.train.recipes import Setup, mlp

    variant = _check(config)
    texts, labels, classes = datasets.bbc_news(config.get("data_dir"), drop_duplicates=True)
    splits = datasets.stratified_split(labels, config["val_fraction"], config["test_fraction"], config["seed"])
    lr = float(config["lr"] or DEFAULT_LR[variant])
    bs = config["batch_size"]
    if not isinstance(bs, int):
        raise ValueError(f"minilm-bbc: batch_size must be a positive integer, got {bs!r}")
    sizes = ", ".join(f"{len(s):,} {name}" for s, name in zip(splits, ("train", "validation", "test")))
    if variant == "bow":
        vectorizer = TfidfVectorizer(config["vocab_size"]).fit([texts[i] for i in splits[0]])
        x = vectorizer.transform(texts)
        model: nn.Module = mlp(x.shape[1], list(config["hidden"]), len(classes), config["dropout"])
        what = (f"bag-of-words MLP {'-'.join(map(str, [x.shape[1], *config['hidden'], len(classes)]))} "
                f"(TF-IDF of the {x.shape[1]:,} most frequent training words)")
        opt: optim.Optimizer = optim.AdamW(model.parameters(), lr=lr, weight_decay=config["weight_decay"])
        info_extra: dict[str, Any] = {"input_kind": "tfidf", "input_shape": [x.shape[1]]}
    else:
        folder = datasets.all_minilm_l6_v2(config.get("data_dir"))
        tokenizer = load_tokenizer(folder / "tokenizer.json", config["max_length"])
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]", length=config["max_length"])
        x = np.array([e.ids for e in tokenizer.encode_batch(texts)], dtype=np.int64)
        if variant == "pretrained":
            bert = BERT.from_pretrained(folder, add_pooling_layer=False)
        else:
            bert = BERT(BertConfig.from_json(folder / "config.json"), add_pooling_layer=False)
        model = BertClassifier(bert, len(classes), config["dropout"])
        what = (f"MiniLM-L6 ({'pretrained all-MiniLM-L6-v2' if variant == 'pretrained' else 'random init'}, "
                f"6 layers x 384) + mean pooling + linear head, first {config['max_length']} tokens")
        # no weight decay on biases and LayerNorm gains: pulling them toward zero only hurts
        decay = [p for name, p in model.named_parameters() if p.ndim >= 2 and "LayerNorm" not in name]
        others = [p for name, p in model.named_parameters() if p.ndim < 2 or "LayerNorm" in name]
        opt = optim.AdamW([{"params": decay, "weight_decay": config["weight_decay"]},
                           {"params": others, "weight_decay": 0.0}], lr=lr)
        info_extra = {"input_kind": "tokens", "input_shape": [config["max_length"]],
                      "tokens_truncated": float(np.mean(x[:, -1] != 0))}
    data = [TensorDataset(x[idx], labels[idx]) for idx in splits]
    train = DataLoader(data[0], batch_size=bs, shuffle=True, generator=Generator(config["seed"]))
    eval_bs = 64 if variant != "bow" else 512
    info = {"task": "classification", "class_names": classes, "variant": variant, "lr": lr,
            "splits": [len(s) for s in splits], **info_extra,
            "description": f"{what} on BBC News topics ({sizes} articles)"}
    return Setup(model=model, optimizer=opt, loss_fn=nn.CrossEntropyLoss(), train=train,
                 val=DataLoader(data[1], batch_size=eval_bs), test=DataLoader(data[2], batch_size=eval_bs),
                 info=info, scheduler=_linear_warmup_decay(opt, config["epochs"] * len(train)),
                 scheduler_interval="step", description=info["description"])

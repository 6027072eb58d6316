"""Vision Transformer (Dosovitskiy et al., 2020) with torchvision's module and parameter names.

An image is cut into P×P patches, each patch is projected to a ``hidden_dim`` vector (one strided
convolution does the cutting and the projection at once), a learned class token is put in front, learned
position embeddings are added, and a stack of pre-norm encoder blocks mixes the tokens:

    x = x + MHA(LN₁(x))          then          x = x + MLP(LN₂(x)),     MLP = Linear → GELU → Linear

The class token's final state (after one more LayerNorm) is classified by a linear head. Keys of
``state_dict()`` and their shapes equal torchvision's ``VisionTransformer`` (``conv_proj``, ``class_token``,
``encoder.pos_embedding``, ``encoder.layers.encoder_layer_{i}.{ln_1, self_attention, ln_2, mlp.0, mlp.3}``,
``encoder.ln``, ``heads.head``), so its weights load as-is.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Literal

import numpy as np

from nerve import nn
from nerve._dtypes import get_default_dtype
from nerve.ops.shape import cat
from nerve.tensor import Tensor

#: torchvision builds every LayerNorm of the ViT with this eps (PyTorch's default is 1e-5)
LAYER_NORM_EPS = 1e-6


class MLPBlock(nn.Sequential):
    """Linear(hidden → mlp_dim) → GELU → Dropout → Linear(mlp_dim → hidden) → Dropout.

    The linear layers sit at indices 0 and 3, as torchvision's ``mlp.0``/``mlp.3``.

    Shape: (..., in_dim) → (..., in_dim)
    """

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float = 0.0) -> None:
        super().__init__(nn.Linear(in_dim, mlp_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_dim, in_dim),
                         nn.Dropout(dropout))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # torchvision: Xavier-uniform weights, biases almost (not exactly) zero
        for linear in (self[0], self[3]):
            nn.init.xavier_uniform_(linear.weight)
            nn.init.normal_(linear.bias, std=1e-6)


class EncoderBlock(nn.Module):
    """One pre-norm transformer block: ``x + dropout(MHA(ln_1(x)))``, then ``x + mlp(ln_2(x))``.

    Args:
        num_heads: attention heads (``hidden_dim`` must be divisible by it).
        hidden_dim: token width D.
        mlp_dim: hidden width of the MLP.
        dropout: after attention and inside/after the MLP (default 0).
        attention_dropout: on the attention probabilities (default 0).

    Shape: (N, L, D) → (N, L, D)
    """

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float = 0.0,
                 attention_dropout: float = 0.0) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = nn.LayerNorm(hidden_dim, eps=LAYER_NORM_EPS)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads, dropout=attention_dropout,
                                                    batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = nn.LayerNorm(hidden_dim, eps=LAYER_NORM_EPS)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 3:
            raise ValueError(f"EncoderBlock: expected (batch, sequence, hidden_dim) tokens, got shape {tuple(x.shape)}")
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + self.dropout(y)
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    """Add learned position embeddings, apply ``num_layers`` encoder blocks, then a final LayerNorm.

    Args:
        seq_length: number of tokens the position table holds (patches + class token).
        num_layers, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout: as :class:`EncoderBlock`.

    Shape: (N, seq_length, D) → (N, seq_length, D)

    Attributes:
        pos_embedding: (1, seq_length, D), initialised N(0, 0.02²) as in BERT.
        layers: ``encoder_layer_0`` … ``encoder_layer_{num_layers-1}``.
        ln: the final LayerNorm.
    """

    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int, mlp_dim: int,
                 dropout: float = 0.0, attention_dropout: float = 0.0) -> None:
        super().__init__()
        self.seq_length = seq_length
        self.pos_embedding = nn.Parameter(np.empty((1, seq_length, hidden_dim), dtype=get_default_dtype()))
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.Sequential(OrderedDict(
            (f"encoder_layer_{i}", EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout, attention_dropout))
            for i in range(num_layers)))
        self.ln = nn.LayerNorm(hidden_dim, eps=LAYER_NORM_EPS)
        nn.init.normal_(self.pos_embedding, std=0.02)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 3 or x.shape[1:] != self.pos_embedding.shape[1:]:
            raise ValueError(f"Encoder: expected tokens of shape (N, {self.seq_length}, "
                             f"{self.pos_embedding.shape[2]}) to match the position table, got {tuple(x.shape)}")
        return self.ln(self.layers(self.dropout(x + self.pos_embedding)))


class ViT(nn.Module):
    """Vision Transformer: patchify by a strided convolution, class token, position embeddings, pre-norm
    encoder, linear head on the class token.

    Args:
        image_size: side of the (square) input image; must be divisible by ``patch_size``.
        patch_size: side P of a patch; the image becomes (image_size / P)² tokens plus the class token.
        num_layers: encoder blocks.
        num_heads: attention heads per block.
        hidden_dim: token width D (divisible by ``num_heads``).
        mlp_dim: hidden width of each block's MLP (ViT-B: 4·D).
        dropout: dropout on the embeddings, after attention and in the MLP (default 0).
        attention_dropout: dropout on the attention probabilities (default 0).
        num_classes: outputs (default 1000).
        representation_size: if set, a ``pre_logits`` Linear(D → size) + tanh before the head (ViT's
            pre-training head); default None, a single linear head.
        in_channels: image channels (default 3; torchvision's ViT is fixed at 3, so only 3-channel models
            share its ``conv_proj`` shape).

    Shape:
        - Input: (N, in_channels, image_size, image_size)
        - Output: (N, num_classes) logits

    Attributes follow torchvision: ``conv_proj`` (Conv2d, kernel = stride = P), ``class_token`` (1, 1, D),
    ``encoder`` (:class:`Encoder`, with ``pos_embedding`` (1, seq_length, D)), ``heads`` (``head``, and
    ``pre_logits``/``act`` with ``representation_size``).

    Example:
        >>> model = ViT(image_size=28, patch_size=7, num_layers=6, num_heads=4, hidden_dim=64, mlp_dim=128,
        ...             num_classes=10, in_channels=1)
        >>> model(nerve.randn(2, 1, 28, 28)).shape
        (2, 10)
    """

    def __init__(self, image_size: int, patch_size: int, num_layers: int, num_heads: int, hidden_dim: int,
                 mlp_dim: int, dropout: float = 0.0, attention_dropout: float = 0.0, num_classes: int = 1000,
                 representation_size: int | None = None, in_channels: int = 3) -> None:
        super().__init__()
        for name, value in (("image_size", image_size), ("patch_size", patch_size), ("num_layers", num_layers),
                            ("num_heads", num_heads), ("hidden_dim", hidden_dim), ("mlp_dim", mlp_dim),
                            ("num_classes", num_classes), ("in_channels", in_channels)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"ViT: {name} must be a positive integer, got {value!r}")
        if image_size % patch_size:
            raise ValueError(f"ViT: image_size ({image_size}) must be divisible by patch_size ({patch_size})")
        if hidden_dim % num_heads:
            raise ValueError(f"ViT: hidden_dim ({hidden_dim}) must be divisible by num_heads ({num_heads})")
        self.image_size, self.patch_size, self.in_channels = image_size, patch_size, in_channels
        self.hidden_dim, self.mlp_dim, self.num_classes = hidden_dim, mlp_dim, num_classes
        self.dropout, self.attention_dropout, self.representation_size = dropout, attention_dropout, \
            representation_size
        self.grid = image_size // patch_size  # patches per side
        self.seq_length = self.grid**2 + 1  # + the class token
        self.conv_proj = nn.Conv2d(in_channels, hidden_dim, kernel_size=patch_size, stride=patch_size)
        self.class_token = nn.Parameter(np.zeros((1, 1, hidden_dim), dtype=get_default_dtype()))
        self.encoder = Encoder(self.seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout,
                               attention_dropout)
        heads: OrderedDict[str, nn.Module] = OrderedDict()
        if representation_size is None:
            heads["head"] = nn.Linear(hidden_dim, num_classes)
        else:
            heads["pre_logits"] = nn.Linear(hidden_dim, representation_size)
            heads["act"] = nn.Tanh()
            heads["head"] = nn.Linear(representation_size, num_classes)
        self.heads = nn.Sequential(heads)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torchvision's initialisation of the parts it sets itself (the blocks keep their layers' own)."""
        # LeCun-normal patch projection: unit-variance pixels give unit-variance tokens
        fan_in = self.in_channels * self.patch_size**2
        nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
        nn.init.zeros_(self.conv_proj.bias)
        nn.init.zeros_(self.class_token)
        if self.representation_size is not None:
            pre = self.heads.pre_logits
            nn.init.trunc_normal_(pre.weight, std=math.sqrt(1 / pre.in_features))
            nn.init.zeros_(pre.bias)
        # a zero head starts every class at the same logit, so early steps shape the features, not the head
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)

    def _check_input(self, x: Tensor) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"ViT: expected a Tensor of images, got {type(x).__name__}")
        if x.ndim != 4:
            raise ValueError(f"ViT: expected images of shape (N, {self.in_channels}, {self.image_size}, "
                             f"{self.image_size}), got shape {tuple(x.shape)}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"ViT: expected {self.in_channels} input channels, got {x.shape[1]} (input shape "
                             f"{tuple(x.shape)})")
        h, w = x.shape[2:]
        if (h, w) != (self.image_size, self.image_size):
            tokens = (h // self.patch_size) * (w // self.patch_size) + 1
            raise ValueError(
                f"ViT: expected {self.image_size}x{self.image_size} images ({self.seq_length} tokens: "
                f"{self.grid}x{self.grid} patches of {self.patch_size}x{self.patch_size} + class token, the size "
                f"of the position table), got {h}x{w} (→ {tokens} tokens)")

    def patch_tokens(self, x: Tensor) -> Tensor:
        """Project the patches: (N, C, H, W) → (N, grid², D), row-major over the patch grid."""
        self._check_input(x)
        n = x.shape[0]
        x = self.conv_proj(x)  # (N, D, grid, grid)
        return x.reshape(n, self.hidden_dim, self.grid**2).permute(0, 2, 1)

    def forward(self, x: Tensor) -> Tensor:
        tokens = self.patch_tokens(x)
        cls = self.class_token.expand(tokens.shape[0], -1, -1)
        x = self.encoder(cat([cls, tokens], dim=1))
        return self.heads(x[:, 0])


def class_token_attention(model: ViT, images: Tensor, method: Literal["last", "rollout"] = "rollout") -> np.ndarray:
    """Where the class token looks: its attention over the patches, averaged over heads, as image-shaped maps.

    ``'last'`` reads the last block's attention. ``'rollout'`` (Abnar & Zuidema, 2020) follows attention
    through every block: each block's head-averaged matrix A becomes ½A + ½I (the residual path carries
    half of each token forward unchanged), rows are renormalised, and the product over blocks says how
    much each input token reaches the class token at the end.

    Args:
        model: a :class:`ViT`.
        images: (N, C, H, W) inputs the model accepts.
        method: ``'last'`` or ``'rollout'`` (default).

    Returns:
        (N, grid, grid) float array, grid = image_size / patch_size; each map sums to at most 1 (the rest of
        the class token's attention goes to itself).
    """
    from nerve.analysis import attention_maps

    if method not in ("last", "rollout"):
        raise ValueError(f"class_token_attention: method must be 'last' or 'rollout', got {method!r}")
    maps = [m.mean(axis=1) for m in attention_maps(model, images).values()]  # each (N, L, L)
    if method == "last":
        flow = maps[-1]
    else:
        eye = np.eye(maps[0].shape[-1], dtype=maps[0].dtype)
        flow = np.broadcast_to(eye, maps[0].shape)
        for attention in maps:
            mixed = 0.5 * attention + 0.5 * eye
            flow = (mixed / mixed.sum(axis=-1, keepdims=True)) @ flow
    return flow[:, 0, 1:].reshape(-1, model.grid, model.grid)

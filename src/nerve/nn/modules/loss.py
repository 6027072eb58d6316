"""Loss layers: each stores its options and calls the functional form in ``nerve.nn.functional``."""

from __future__ import annotations

from typing import Literal

from nerve.nn import functional as F
from nerve.nn.modules.module import Module
from nerve.tensor import Tensor

Reduction = Literal["mean", "sum", "none"]


class _Loss(Module):
    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__()
        F.check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class MSELoss(_Loss):
    """Mean squared error ``mean((input - target)^2)``: penalises large errors heavily (regression).

    Shape:
        input and target: any shape, the same for both; output: scalar, or the input's shape with 'none'.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error ``mean(|input - target|)``."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Quadratic for ``|d| < delta``, linear beyond: robust to outliers."""

    def __init__(self, reduction: Reduction = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """Huber loss divided by ``beta``: ``0.5 d^2 / beta`` for ``|d| < beta``, else ``|d| - beta / 2``."""

    def __init__(self, reduction: Reduction = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class CrossEntropyLoss(_Loss):
    """Cross-entropy between softmax(logits) and the targets: the standard classification loss.

    Args:
        weight: per-class weights of shape (C,).
        ignore_index: class-index targets equal to this contribute nothing (default -100).
        reduction: 'mean' (weighted mean over counted targets), 'sum' or 'none'.
        label_smoothing: mix the target with the uniform distribution by this amount.

    Shape:
        - input: (N, C), (C,) or (N, C, d1, ...) logits
        - target: class indices (N,), () or (N, d1, ...) (int64), or probabilities of the input's shape
        - output: scalar, or the target's shape with 'none'
    """

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100, reduction: Reduction = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (pair it with ``LogSoftmax``).

    Shape: as ``CrossEntropyLoss`` with class-index targets.
    """

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1]; log terms are clamped at -100 as in PyTorch.

    Shape: input and target of the same shape; output scalar, or that shape with 'none'.
    """

    def __init__(self, weight: Tensor | None = None, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one numerically stable expression.

    Args:
        pos_weight: weight of positive examples per class (broadcast over the last dim).
    """

    def __init__(self, weight: Tensor | None = None, reduction: Reduction = "mean",
                 pos_weight: Tensor | None = None) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence ``target * (log(target) - input)`` of log-probabilities ``input``.

    Args:
        reduction: 'batchmean' (sum / batch size: the KL divergence per sample), 'sum', 'none', or 'mean'
            (mean over all elements; PyTorch's default, which warns that it is not the KL divergence).
        log_target: the target is given as log-probabilities (default False).

    Shape: input and target of the same shape; output scalar, or that shape with 'none'.

    Example:
        >>> loss = nn.KLDivLoss(reduction="batchmean")
        >>> loss(F.log_softmax(logits, dim=1), target_probs)
    """

    def __init__(self, reduction: Literal["mean", "batchmean", "sum", "none"] = "mean",
                 log_target: bool = False) -> None:
        if reduction not in ("mean", "batchmean", "sum", "none"):
            raise ValueError(f"KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}")
        Module.__init__(self)  # _Loss's check knows no 'batchmean'
        self.reduction = reduction  # type: ignore[assignment]
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class MarginRankingLoss(_Loss):
    """max(0, -target · (input1 - input2) + margin), target 1 where input1 should rank higher, -1 otherwise.

    Shape: input1, input2 and target (N,) or (); output scalar, or (N,) with 'none'.
    """

    def __init__(self, margin: float = 0.0, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """max(d(anchor, positive) - d(anchor, negative) + margin, 0), d the pairwise p-norm distance.

    Args:
        margin: required gap between the distances (default 1.0).
        p: norm degree (default 2).
        eps: added to differences, as in ``PairwiseDistance`` (default 1e-6).
        swap: use min(d(a, n), d(p, n)) as the negative distance (default False).

    Shape: anchor, positive and negative (N, D) or (D,); output scalar, or (N,) with 'none'.
    """

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p, eps=self.eps,
                                     swap=self.swap, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """1 - cos(input1, input2) where target is 1, max(0, cos - margin) where target is -1.

    Shape: input1 and input2 (N, D) or (D,); target (N,) or (); output scalar, or (N,) with 'none'.
    """

    def __init__(self, margin: float = 0.0, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Negative log-likelihood of ``target`` under N(input, var): ``0.5 (log var + (input - target)^2 / var)``.

    Args:
        full: add the constant 0.5 log(2π) (default False).
        eps: floor on ``var`` (the gradient passes through it, as in PyTorch) (default 1e-6).

    Shape: input and target (N, *); var of the input's shape, its last dim 1, or without it; output scalar,
    or the input's shape with 'none'.
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self.full = full
        self.eps = eps

    def forward(self, input: Tensor, target: Tensor, var: Tensor | float) -> Tensor:
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps, reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    """Negative log-likelihood of counts under a Poisson distribution with rate ``exp(input)`` (or ``input``).

    Args:
        log_input: the input is the log of the rate: loss ``exp(input) - target · input`` (default True);
            otherwise ``input - target · log(input + eps)``.
        full: add Stirling's approximation of log(target!) where target > 1 (default False).
        eps: keeps log(input) finite when ``log_input`` is False (default 1e-8).

    Shape: input and target of the same shape; output scalar, or that shape with 'none'.
    """

    def __init__(self, log_input: bool = True, full: bool = False, eps: float = 1e-8,
                 reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full, eps=self.eps,
                                  reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """Two-class logistic loss ``log(1 + exp(-target · input))`` with targets 1 and -1.

    Shape: input and target of the same shape; output scalar, or that shape with 'none'.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_Loss):
    """Multi-label one-versus-all logistic loss: per sample, the mean over classes of
    ``-(t log σ(x) + (1 - t) log σ(-x))``.

    Args:
        weight: per-class weights of shape (C,) (a buffer).

    Shape: input and target (N, C) or (C,); output scalar, or (N,) (or ()) with 'none'.
    """

    def __init__(self, weight: Tensor | None = None, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight, reduction=self.reduction)


class MultiMarginLoss(_Loss):
    """Multi-class hinge loss: per sample ``Σ_{i≠y} w_y · max(0, margin - x[y] + x[i])^p / C``.

    Args:
        p: 1 or 2 (default 1).
        margin: the required gap between the target's score and every other (default 1).
        weight: per-class weights of shape (C,), applied by the target class (a buffer).

    Shape: input (N, C) or (C,); target (N,) or () int64 class indices; output scalar, or (N,) with 'none'.
    """

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                 reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 are supported, got p={p}")
        if weight is not None and weight.ndim != 1:
            raise ValueError(f"MultiMarginLoss: weight must be 1-D (C,), got shape {tuple(weight.shape)}")
        self.p = p
        self.margin = margin
        self.register_buffer("weight", weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin, weight=self.weight,
                                   reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """input where target is 1, ``max(0, margin - input)`` where target is -1: for learning embeddings from a
    distance (``input``) between pairs labelled similar (1) or dissimilar (-1).

    Shape: input and target of the same shape; output scalar, or that shape with 'none'.
    """

    def __init__(self, margin: float = 1.0, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss: every listed class should score at least 1 above every unlisted one;
    per sample ``Σ_j Σ_{i ∉ targets} max(0, 1 - (x[y_j] - x[i])) / C``.

    Shape: input (N, C) or (C,); target of the same shape, int64 class indices ended by -1; output scalar,
    or (N,) with 'none'.

    Example:
        >>> loss = nn.MultiLabelMarginLoss()
        >>> loss(nerve.tensor([[0.1, 0.2, 0.4, 0.8]]), nerve.tensor([[3, 0, -1, 1]]))  # classes 3 and 0
        tensor(0.85)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)

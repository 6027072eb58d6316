"""Metrics computed from model outputs and targets (NumPy in, float out)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import numpy as np

MetricFn = Callable[[np.ndarray, np.ndarray], float]


def accuracy(output: np.ndarray, target: np.ndarray) -> float:
    """Fraction of rows whose highest-scoring class is the target (logits or probabilities)."""
    return float((output.argmax(axis=-1) == target).mean())


def top_k_accuracy(output: np.ndarray, target: np.ndarray, k: int = 5) -> float:
    """Fraction of rows whose target is among the ``k`` highest-scoring classes."""
    if k >= output.shape[-1]:
        return 1.0
    top = np.argpartition(output, -k, axis=-1)[..., -k:]
    return float((top == target[..., None]).any(axis=-1).mean())


def perplexity(mean_loss: float) -> float:
    """``exp`` of the mean cross-entropy (nats per token): the effective number of equally likely choices.

    It is computed from the epoch's mean loss, not averaged over batches (the mean of exps is not the exp
    of the mean).
    """
    return float(np.exp(mean_loss)) if mean_loss < 700 else float("inf")


def _aligned(output: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 1) predictions against (n,) targets: compare element by element, never broadcast to (n, n)."""
    if output.shape != target.shape and output.size == target.size:
        return output.reshape(target.shape), target
    return output, target


def mse(output: np.ndarray, target: np.ndarray) -> float:
    output, target = _aligned(output, target)
    return float(np.mean((output - target) ** 2))


def mae(output: np.ndarray, target: np.ndarray) -> float:
    output, target = _aligned(output, target)
    return float(np.mean(np.abs(output - target)))


def confusion_matrix(predicted: np.ndarray, target: np.ndarray, num_classes: int) -> np.ndarray:
    """``m[i, j]`` counts samples of true class ``i`` predicted as class ``j``."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (target.astype(np.int64), predicted.astype(np.int64)), 1)
    return m


def rmse(output: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(mse(output, target)))


METRICS: dict[str, MetricFn] = {"accuracy": accuracy, "mse": mse, "mae": mae}
LOSS_METRICS: dict[str, Callable[[float], float]] = {"perplexity": perplexity}
_TOP_K = re.compile(r"top_?(\d+)(_accuracy)?$")


def resolve(metric: str | MetricFn) -> tuple[str, MetricFn | None]:
    """``(name, fn)`` of a metric name or function; ``fn`` is None for metrics derived from the mean loss.

    Names: ``accuracy``, ``topK_accuracy`` (e.g. ``top5_accuracy``), ``mse``, ``mae``, ``perplexity``.
    """
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    if metric in METRICS:
        return metric, METRICS[metric]
    if metric in LOSS_METRICS:
        return metric, None
    match = _TOP_K.match(metric) if isinstance(metric, str) else None
    if match:
        k = int(match.group(1))
        if k < 1:
            raise ValueError(f"metric {metric!r}: k must be at least 1")
        return f"top{k}_accuracy", functools.partial(top_k_accuracy, k=k)
    choices = sorted([*METRICS, *LOSS_METRICS, "top5_accuracy"])
    raise ValueError(f"unknown metric {metric!r}; choose from {choices} or pass a function f(output, target)")

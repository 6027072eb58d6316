"""Metrics computed from model outputs and targets (NumPy in, float out)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MetricFn = Callable[[np.ndarray, np.ndarray], float]


def accuracy(output: np.ndarray, target: np.ndarray) -> float:
    """Fraction of rows whose highest-scoring class is the target (logits or probabilities)."""
    return float((output.argmax(axis=-1) == target).mean())


def mse(output: np.ndarray, target: np.ndarray) -> float:
    return float(np.mean((output - target) ** 2))


def mae(output: np.ndarray, target: np.ndarray) -> float:
    return float(np.mean(np.abs(output - target)))


def confusion_matrix(predicted: np.ndarray, target: np.ndarray, num_classes: int) -> np.ndarray:
    """``m[i, j]`` counts samples of true class ``i`` predicted as class ``j``."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (target.astype(np.int64), predicted.astype(np.int64)), 1)
    return m


METRICS: dict[str, MetricFn] = {"accuracy": accuracy, "mse": mse, "mae": mae}


def resolve(metric: str | MetricFn) -> tuple[str, MetricFn]:
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {sorted(METRICS)} or pass a function")
    return metric, METRICS[metric]

"""PNG plots for run folders (matplotlib, imported lazily with the Agg backend; the ``[plot]`` extra)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_learning_curves(history: Mapping[str, Sequence[float]], path: str | Path) -> Path | None:
    """Training vs validation curves of every metric, best validation epoch marked; None without matplotlib."""
    plt = _pyplot()
    if plt is None:
        return None
    names = [k for k in history if not k.startswith("val_") and k != "lr"]
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False)
    best = None
    if history.get("val_loss"):
        best = int(np.nanargmin(history["val_loss"]))
    for ax, name in zip(axes[0], names):
        epochs = np.arange(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], marker="o", label=f"train {name}")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker="o", label=f"validation {name}")
        if best is not None:
            ax.axvline(best + 1, color="gray", linestyle="--", linewidth=1, label=f"best epoch ({best + 1})")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 2.5
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], path: str | Path,
                          title: str = "confusion matrix (test set)") -> Path | None:
    """Counts of true (rows) vs predicted (columns) classes; None without matplotlib."""
    plt = _pyplot()
    if plt is None:
        return None
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.55 * n))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), class_names)
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if matrix[i, j] > threshold else "black")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_forecast(times: Sequence[Any], values: np.ndarray, boundaries: tuple[int, int], forecast_times: Sequence[Any],
                  forecasts: Mapping[str, np.ndarray], path: str | Path, title: str = "") -> Path | None:
    """The series with its train/validation/test spans shaded, and each method's test forecasts over it.

    Args:
        times: (T,) labels of the series' steps (years, 'YYYY-MM').
        values: (T,) the series.
        boundaries: the first validation and first test index.
        forecast_times: (n,) labels of the forecast steps.
        forecasts: method name -> (n,) forecasts; ``'actual'`` is drawn from ``values``.
    """
    plt = _pyplot()
    if plt is None:
        return None
    x = np.arange(len(values))
    where = {t: i for i, t in enumerate(times)}
    fx = np.array([where[t] for t in forecast_times])
    fig, axes = plt.subplots(1, 2, figsize=(13, 4), gridspec_kw={"width_ratios": [2, 1]})
    for ax, start in zip(axes, (0, max(boundaries[0] - len(fx), 0))):
        ax.plot(x[start:], values[start:], color="black", linewidth=1.2, label="actual")
        ax.axvspan(boundaries[0] - 0.5, boundaries[1] - 0.5, color="tab:orange", alpha=0.08, label="validation")
        ax.axvspan(boundaries[1] - 0.5, len(values) - 0.5, color="tab:green", alpha=0.08, label="test")
        for name, f in forecasts.items():
            ax.plot(fx, f, marker=".", linewidth=1, label=name)
        ticks = np.linspace(start, len(values) - 1, 6).astype(int)
        ax.set_xticks(ticks, [str(times[i]) for i in ticks])
        ax.grid(alpha=0.3)
    axes[0].set_title(title or "forecasts on the test span")
    axes[1].set_title("validation and test spans")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

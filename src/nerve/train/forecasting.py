"""Scoring a forecaster on a held-out span against the naive and seasonal-naive baselines.

Every method forecasts the same targets from the same windows: the model from its (scaled) inputs, the
naive method by repeating each window's last observed value, the seasonal-naive one by repeating the value
one season earlier. MASE divides each method's MAE by the in-sample MAE of the (seasonal) naive forecast on
the training span, so all methods share one scale and a value below 1 beats that in-sample benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nerve.data.timeseries import mae, mase, naive_forecast, rmse, seasonal_naive_forecast


def baselines(inputs: np.ndarray, horizon: int, season: int) -> dict[str, np.ndarray]:
    """Naive and seasonal-naive forecasts (n, horizon) from window inputs (n, L) in the series' units."""
    return {"naive": naive_forecast(inputs, horizon, axis=1),
            "seasonal_naive": seasonal_naive_forecast(inputs, horizon, season, axis=1)}


def score(actual: np.ndarray, forecasts: Mapping[str, np.ndarray], train_series: np.ndarray,
          season: int) -> dict[str, dict[str, float]]:
    """MAE, RMSE and MASE (scaled by the in-sample ``season``-naive MAE of ``train_series``) per method."""
    return {name: {"mae": mae(actual, f), "rmse": rmse(actual, f), "mase": mase(actual, f, train_series, season)}
            for name, f in forecasts.items()}

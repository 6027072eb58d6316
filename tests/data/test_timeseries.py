"""Time-series tooling: time-ordered split, windows, leak-free evaluation windows, scalers, metrics, baselines."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from nerve.data import (
    MinMaxScaler,
    StandardScaler,
    mae,
    mase,
    naive_forecast,
    rmse,
    seasonal_naive_forecast,
    sliding_windows,
    split_by_time,
    windows_for_span,
)

# ------------------------------------------------------------------------------------------------ split


def test_split_by_time_counts_are_contiguous_views_in_order() -> None:
    series = np.arange(10)
    train, val, test = split_by_time(series, val_size=2, test_size=3)
    assert train.tolist() == [0, 1, 2, 3, 4] and val.tolist() == [5, 6] and test.tolist() == [7, 8, 9]
    assert all(np.shares_memory(part, series) for part in (train, val, test))


def test_split_by_time_fractions_round_to_nearest_and_keep_features() -> None:
    series = np.arange(60).reshape(30, 2)
    train, val, test = split_by_time(series, val_size=0.1, test_size=0.2)  # 0.1 * 30 = 3.0000000000000004
    assert (len(train), len(val), len(test)) == (21, 3, 6)
    assert val.shape == (3, 2) and val[0].tolist() == [42, 43]
    train, val, test = split_by_time(np.arange(7), val_size=0, test_size=0.01)  # positive fraction: >= 1 step
    assert (len(train), len(val), len(test)) == (6, 0, 1)


def test_split_by_time_errors() -> None:
    with pytest.raises(ValueError, match=r"split_by_time: val_size=5 \(5 steps\) and test_size=5 \(5 steps\) "
                                         r"leave 0 of the 10 steps for training"):
        split_by_time(np.arange(10), 5, 5)
    with pytest.raises(ValueError, match=r"leave -1 of the 3 steps"):
        split_by_time(np.arange(3), 0.5, 0.5)  # 2 + 2 of 3 steps
    with pytest.raises(ValueError, match=r"fractional test_size must be in \[0, 1\), got 1.5; pass an int"):
        split_by_time(np.arange(10), 1, 1.5)
    with pytest.raises(ValueError, match=r"expected val_size >= 0, got -1"):
        split_by_time(np.arange(10), -1, 2)
    with pytest.raises(TypeError, match=r"expected val_size as an int count or a float fraction, got bool"):
        split_by_time(np.arange(10), True, 2)
    with pytest.raises(ValueError, match=r"split_by_time: expected series of shape \(T, \*features\).*got a scalar"):
        split_by_time(np.float64(3.0), 0, 0)


# ---------------------------------------------------------------------------------------------- windows


def test_sliding_windows_exact_contents() -> None:
    x, y = sliding_windows(np.arange(10), input_length=3, horizon=2, step=2)
    assert x.tolist() == [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    assert y.tolist() == [[3, 4], [5, 6], [7, 8]]  # window 3 would need step 11: (10 - 5) // 2 + 1 = 3 windows
    assert x.dtype == y.dtype == np.arange(1).dtype
    x, y = sliding_windows(np.arange(5.0), input_length=4)  # exactly one window
    assert x.tolist() == [[0, 1, 2, 3]] and y.tolist() == [[4]]


def test_sliding_windows_keep_feature_axes() -> None:
    series = np.arange(12).reshape(6, 2)  # step t holds [2t, 2t + 1]
    x, y = sliding_windows(series, input_length=2, horizon=1)
    assert x.shape == (4, 2, 2) and y.shape == (4, 1, 2)
    assert x[1].tolist() == [[2, 3], [4, 5]] and y[1].tolist() == [[6, 7]]
    x, y = sliding_windows(np.zeros((8, 3, 4)), input_length=5, horizon=2)
    assert x.shape == (2, 5, 3, 4) and y.shape == (2, 2, 3, 4)


def test_sliding_windows_are_copies() -> None:
    series = np.arange(6.0)
    x, y = sliding_windows(series, input_length=2)
    assert x.flags.c_contiguous and not np.shares_memory(x, series) and not np.shares_memory(y, series)
    x[0, 1] = 100.0  # the same step appears in window 1; a view would change it there too
    assert x[1, 0] == 1.0 and series[1] == 1.0


def test_sliding_windows_errors() -> None:
    with pytest.raises(ValueError, match=r"sliding_windows: a series of 4 steps is too short for one window of "
                                         r"input_length \+ horizon = 3 \+ 2 = 5 steps"):
        sliding_windows(np.arange(4), input_length=3, horizon=2)
    with pytest.raises(ValueError, match=r"sliding_windows: expected input_length >= 1, got 0"):
        sliding_windows(np.arange(4), input_length=0)
    with pytest.raises(ValueError, match=r"expected step >= 1, got 0"):
        sliding_windows(np.arange(4), 1, step=0)
    with pytest.raises(TypeError, match=r"expected an int horizon, got float 1.0"):
        sliding_windows(np.arange(4), 1, horizon=1.0)  # type: ignore[arg-type]


def test_windows_for_span_inputs_reach_back_targets_stay_inside() -> None:
    series = np.arange(10)
    x, y = windows_for_span(series, start=7, stop=10, input_length=4)
    assert x.tolist() == [[3, 4, 5, 6], [4, 5, 6, 7], [5, 6, 7, 8]]
    assert y.tolist() == [[7], [8], [9]]
    x, y = windows_for_span(series, start=5, stop=8, input_length=2, horizon=2)
    assert x.tolist() == [[3, 4], [4, 5]] and y.tolist() == [[5, 6], [6, 7]]  # [7, 8] would cross stop
    # A span that starts before input_length steps of history exist: its first targets are skipped.
    x, y = windows_for_span(series, start=1, stop=6, input_length=3)
    assert x.tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]] and y.tolist() == [[3], [4], [5]]


def test_windows_for_span_from_zero_equals_sliding_windows() -> None:
    series = np.arange(40).reshape(20, 2)
    for step in (1, 3):
        x1, y1 = windows_for_span(series, 0, 15, input_length=4, horizon=2, step=step)
        x2, y2 = sliding_windows(series[:15], input_length=4, horizon=2, step=step)
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


def test_split_then_windows_never_leak_targets() -> None:
    # Values are their own time indices, so every window says which steps it touches.
    series = np.arange(100)
    train, val, test = split_by_time(series, val_size=0.2, test_size=0.2)
    t1, t2 = len(train), len(train) + len(val)
    L, H = 7, 3
    x_tr, y_tr = sliding_windows(train, L, H)
    x_va, y_va = windows_for_span(series, t1, t2, L, H)
    x_te, y_te = windows_for_span(series, t2, len(series), L, H)
    assert (t1, t2) == (60, 80)
    # Training windows see training steps only.
    assert x_tr.max() < t1 and y_tr.max() < t1
    # Evaluation targets lie inside their span, are every forecastable step, and are never a training input.
    assert set(y_va.ravel()) == set(val.tolist()) and set(y_te.ravel()) == set(test.tolist())
    assert not set(y_va.ravel()) & (set(x_tr.ravel()) | set(y_tr.ravel()))
    assert not set(y_te.ravel()) & (set(x_va.ravel()) | set(y_va.ravel()))
    # The first window of each span forecasts its first step from the real history just before it.
    assert x_va[0].tolist() == list(range(t1 - L, t1)) and y_va[0].tolist() == [t1, t1 + 1, t1 + 2]
    assert x_te[0].tolist() == list(range(t2 - L, t2)) and y_te[-1].tolist() == [97, 98, 99]
    assert len(y_va) == len(val) - H + 1


def test_windows_for_span_errors() -> None:
    with pytest.raises(ValueError, match=r"windows_for_span: expected 0 <= start < stop <= 10 \(the series' "
                                         r"length\), got start=8, stop=11"):
        windows_for_span(np.arange(10), 8, 11, input_length=2)
    with pytest.raises(ValueError, match=r"expected 0 <= start < stop"):
        windows_for_span(np.arange(10), 5, 5, input_length=2)
    with pytest.raises(ValueError, match=r"the span \[8, 10\) has no room for a window: its first target can start "
                                         r"at 8 .* must end by 10, but horizon=3"):
        windows_for_span(np.arange(10), 8, 10, input_length=2, horizon=3)
    with pytest.raises(ValueError, match=r"its first target can start at 6 \(needing input_length=6"):
        windows_for_span(np.arange(10), 0, 6, input_length=6)


# ---------------------------------------------------------------------------------------------- scalers


def test_standard_scaler_uses_training_statistics_and_round_trips() -> None:
    rng = np.random.default_rng(0)
    series = rng.normal(5.0, 3.0, size=(50, 3))
    train = series[:30]
    scaler = StandardScaler().fit(train)
    np.testing.assert_allclose(scaler.mean, train.mean(axis=0))
    np.testing.assert_allclose(scaler.scale, train.std(axis=0))
    z = scaler.transform(series)
    np.testing.assert_allclose(z[:30].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z[:30].std(axis=0), 1.0)
    np.testing.assert_allclose(scaler.inverse_transform(z), series, rtol=1e-12)
    np.testing.assert_allclose(StandardScaler().fit_transform(train), z[:30])
    # Windows (n, L, features) broadcast against the per-feature statistics.
    x, _ = sliding_windows(series, input_length=4)
    np.testing.assert_allclose(scaler.transform(x), sliding_windows(z, input_length=4)[0])


def test_standard_scaler_univariate_constant_and_dtypes() -> None:
    scaler = StandardScaler().fit(np.array([1, 2, 3, 4, 5]))
    assert scaler.mean.shape == () and scaler.mean == 3.0 and scaler.scale == pytest.approx(np.sqrt(2.0))
    out = scaler.transform(np.array([3], dtype=np.int64))
    assert out.dtype == np.float64 and out.tolist() == [0.0]
    out32 = scaler.transform(np.array([5.0, 1.0], dtype=np.float32))
    assert out32.dtype == np.float32  # no silent promotion to float64
    np.testing.assert_allclose(out32, [np.sqrt(2.0), -np.sqrt(2.0)], rtol=1e-6)
    constant = StandardScaler().fit(np.array([[2.0, 1.0], [2.0, 3.0]]))
    assert constant.scale.tolist() == [1.0, 1.0]  # no division by 0: the constant feature is only centred
    assert constant.transform(np.array([[2.0, 2.0]])).tolist() == [[0.0, 0.0]]


def test_min_max_scaler_maps_training_range_and_round_trips() -> None:
    series = np.array([[0.0, 10.0], [5.0, 20.0], [10.0, 30.0], [20.0, 0.0]])
    scaler = MinMaxScaler(feature_range=(-1.0, 1.0)).fit(series[:3])
    assert scaler.data_min.tolist() == [0.0, 10.0] and scaler.data_max.tolist() == [10.0, 30.0]
    z = scaler.transform(series)
    np.testing.assert_allclose(z, [[-1, -1], [0, 0], [1, 1], [3, -2]])  # no clipping outside the range
    np.testing.assert_allclose(scaler.inverse_transform(z), series)
    assert MinMaxScaler().fit_transform(np.array([4.0, 4.0])).tolist() == [0.0, 0.0]  # constant: range 1


def test_transform_before_fit_raises() -> None:
    for scaler in (StandardScaler(), MinMaxScaler()):
        name = type(scaler).__name__
        with pytest.raises(RuntimeError, match=rf"{name}\.transform: the scaler is not fitted; call fit"):
            scaler.transform(np.arange(3.0))
        with pytest.raises(RuntimeError, match=rf"{name}\.inverse_transform: the scaler is not fitted"):
            scaler.inverse_transform(np.arange(3.0))
        with pytest.raises(RuntimeError, match=rf"{name}\.state_dict: the scaler is not fitted"):
            scaler.state_dict()


def test_scaler_input_errors() -> None:
    scaler = StandardScaler().fit(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"StandardScaler\.transform: expected an array ending in the fitted "
                                         r"feature shape \(3,\), got shape \(4, 2\)"):
        scaler.transform(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"StandardScaler\.fit: the training span has 1 NaN or infinite values"):
        StandardScaler().fit(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match=r"MinMaxScaler\.fit: the training span is empty"):
        MinMaxScaler().fit(np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"MinMaxScaler: expected feature_range \(lo, hi\) with finite lo < hi, "
                                         r"got \(1.0, 0.0\)"):
        MinMaxScaler(feature_range=(1.0, 0.0))


@pytest.mark.parametrize("make", [StandardScaler, lambda: MinMaxScaler(feature_range=(-1.0, 1.0))])
def test_scaler_state_dict_round_trip(make: Callable[[], StandardScaler | MinMaxScaler]) -> None:
    series = np.random.default_rng(1).normal(size=(20, 2)) * [1.0, 50.0]
    scaler = make().fit(series[:15])
    state = scaler.state_dict()
    assert all(v.dtype == np.float64 for v in state.values())
    restored = StandardScaler() if isinstance(scaler, StandardScaler) else MinMaxScaler()  # default range
    restored.load_state_dict(state)
    np.testing.assert_array_equal(restored.transform(series), scaler.transform(series))
    # Through JSON (nested lists), as in a checkpoint config.
    again = type(restored)()
    again.load_state_dict(json.loads(json.dumps({k: v.tolist() for k, v in state.items()})))
    np.testing.assert_array_equal(again.inverse_transform(series), scaler.inverse_transform(series))
    first = next(iter(state))
    state[first] += 1.0  # the state dict holds copies: the scaler is unchanged
    np.testing.assert_array_equal(scaler.state_dict()[first], again.state_dict()[first])


def test_load_state_dict_errors() -> None:
    with pytest.raises(ValueError, match=r"StandardScaler\.load_state_dict: expected keys \['mean', 'scale'\]; "
                                         r"missing \['scale'\], unexpected \['std'\]"):
        StandardScaler().load_state_dict({"mean": 0.0, "std": 1.0})
    with pytest.raises(ValueError, match=r"share one feature shape, got \{'mean': \(2,\), 'scale': \(3,\)\}"):
        StandardScaler().load_state_dict({"mean": [0.0, 0.0], "scale": [1.0, 1.0, 1.0]})
    with pytest.raises(ValueError, match=r"'scale' must be positive"):
        StandardScaler().load_state_dict({"mean": 0.0, "scale": 0.0})
    with pytest.raises(ValueError, match=r"MinMaxScaler\.load_state_dict: 'data_min' exceeds 'data_max'"):
        MinMaxScaler().load_state_dict({"data_min": 2.0, "data_max": 1.0, "feature_range": [0.0, 1.0]})


# ------------------------------------------------------------------------------------ metrics, baselines


def test_mae_and_rmse_values() -> None:
    actual, forecast = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 1.0, 4.0])
    assert mae(actual, forecast) == 0.75
    assert rmse(actual, forecast) == pytest.approx(np.sqrt(5.0 / 4.0))
    assert mae([[1, 2]], [[1, 2]]) == 0.0 and isinstance(rmse([1], [2]), float)


def test_metrics_refuse_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match=r"mae: actual and forecast must have the same shape, got \(3, 1\) and "
                                         r"\(3,\)"):
        mae(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(ValueError, match=r"rmse: expected at least one value"):
        rmse([], [])


def test_mase_of_naive_forecast_on_training_series_is_one() -> None:
    y = np.cumsum(np.random.default_rng(2).normal(size=200))  # a random walk
    assert mase(y[1:], y[:-1], y) == pytest.approx(1.0)  # the one-step naive forecast, in sample
    months = np.arange(120)
    seasonal = 10 * np.sin(2 * np.pi * months / 12) + np.random.default_rng(3).normal(size=120)
    assert mase(seasonal[12:], seasonal[:-12], seasonal, season=12) == pytest.approx(1.0)
    # Hyndman & Koehler's scale: mean |y_t - y_{t-1}| of the training data = 1 for [0, 1, 2, 3].
    assert mase([5.0, 6.0], [4.0, 4.0], np.arange(4.0)) == pytest.approx(1.5)


def test_mase_errors() -> None:
    with pytest.raises(ValueError, match=r"mase: the training series' mean absolute difference at lag 2 is 0.0, "
                                         r"so MASE is undefined"):
        mase([1.0], [2.0], [1.0, 2.0, 1.0, 2.0], season=2)
    with pytest.raises(ValueError, match=r"mase: the scale needs a training series longer than season=12, got 12"):
        mase([1.0], [2.0], np.arange(12.0), season=12)
    with pytest.raises(ValueError, match=r"mase: actual and forecast must have the same shape"):
        mase([1.0, 2.0], [2.0], np.arange(12.0))


def test_naive_and_seasonal_naive_forecasts() -> None:
    history = np.array([1, 2, 3, 4, 5])
    assert naive_forecast(history, horizon=3).tolist() == [5, 5, 5]
    assert seasonal_naive_forecast(history, horizon=5, season=2).tolist() == [4, 5, 4, 5, 4]
    assert seasonal_naive_forecast(history, horizon=2, season=5).tolist() == [1, 2]
    assert seasonal_naive_forecast(history, horizon=2, season=1).tolist() == naive_forecast(history, 2).tolist()
    multi = np.arange(8).reshape(4, 2)
    assert naive_forecast(multi, 2).tolist() == [[6, 7], [6, 7]]


def test_baselines_on_window_inputs_match_target_shape() -> None:
    series = np.arange(30.0)
    x, y = sliding_windows(series, input_length=12, horizon=3)
    forecast = naive_forecast(x, horizon=3, axis=1)
    assert forecast.shape == y.shape and forecast[0].tolist() == [11.0, 11.0, 11.0]
    seasonal = seasonal_naive_forecast(x, horizon=3, season=4, axis=1)
    assert seasonal.shape == y.shape and seasonal[0].tolist() == [8.0, 9.0, 10.0]
    assert mae(y, forecast) == pytest.approx(2.0)  # errors 1, 2, 3 on a unit-slope line


def test_baseline_errors() -> None:
    with pytest.raises(ValueError, match=r"seasonal_naive_forecast: history has 3 steps on axis 0, fewer than "
                                         r"season=4"):
        seasonal_naive_forecast(np.arange(3), horizon=2, season=4)
    with pytest.raises(ValueError, match=r"naive_forecast: expected horizon >= 1, got 0"):
        naive_forecast(np.arange(3), horizon=0)
    with pytest.raises(ValueError, match=r"naive_forecast: history of shape \(0,\) has no step"):
        naive_forecast(np.arange(0), horizon=1)
    with pytest.raises(ValueError, match=r"naive_forecast: axis 1 is out of range for history of shape \(3,\)"):
        naive_forecast(np.arange(3), horizon=1, axis=1)

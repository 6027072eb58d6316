"""Time-series tooling: a split in time order, supervised windows, scalers, forecast metrics and baselines.

A series is an array ``(T, *features)`` with time on axis 0 (``(T,)`` for a univariate series). The pipeline
below keeps evaluation honest: the split is contiguous and unshuffled, the scaler sees the training span
only, training windows lie inside the training span, and each evaluation window's *targets* lie inside its
span while its *inputs* may reach back into the spans before it (that history is known at forecast time).
No target of a validation or test window is ever an input or target of a training window.

Example:
    >>> years, y = sunspots()                                            # (309,)
    >>> train, val, test = split_by_time(y, val_size=0.15, test_size=0.15)  # 217, 46, 46 years
    >>> scaler = StandardScaler().fit(train)
    >>> z = scaler.transform(y)
    >>> t1, t2 = len(train), len(train) + len(val)                       # span boundaries
    >>> x_train, y_train = sliding_windows(z[:t1], input_length=24, horizon=1)   # (193, 24), (193, 1)
    >>> x_val, y_val = windows_for_span(z, t1, t2, input_length=24)      # (46, 24), (46, 1)
    >>> x_test, y_test = windows_for_span(z, t2, len(z), input_length=24)
    >>> forecast = scaler.inverse_transform(predict(x_test))             # back to sunspot numbers
    >>> mase(scaler.inverse_transform(y_test), forecast, train)          # naive_forecast scores 1.41 here
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "MinMaxScaler",
    "StandardScaler",
    "mae",
    "mase",
    "naive_forecast",
    "rmse",
    "seasonal_naive_forecast",
    "sliding_windows",
    "split_by_time",
    "windows_for_span",
]


# --------------------------------------------------------------------------------------------- checks


def _series(fn: str, series: npt.ArrayLike, name: str = "series") -> np.ndarray:
    x = np.asarray(series)
    if x.ndim == 0:
        raise ValueError(f"{fn}: expected {name} of shape (T, *features) with time on axis 0, got a scalar")
    return x


def _int(fn: str, name: str, value: Any, minimum: int) -> int:
    # bool is an int subclass; True as a window length is a bug, not a 1.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{fn}: expected an int {name}, got {type(value).__name__} {value!r}")
    value = operator.index(value)
    if value < minimum:
        raise ValueError(f"{fn}: expected {name} >= {minimum}, got {value}")
    return value


def _span_size(fn: str, name: str, size: Any, n: int) -> int:
    """A span length from an int count (>= 0) or a float fraction in [0, 1) of ``n`` steps."""
    if isinstance(size, bool) or not isinstance(size, numbers.Real):
        raise TypeError(f"{fn}: expected {name} as an int count or a float fraction, got {type(size).__name__}")
    if isinstance(size, numbers.Integral):
        return _int(fn, name, size, 0)
    if not 0.0 <= size < 1.0:
        raise ValueError(f"{fn}: a fractional {name} must be in [0, 1), got {size}; pass an int for a count")
    # Nearest count, but never 0 for a positive fraction: asking for a span and getting none is a surprise.
    # (Not ceil: 0.1 * 30 is 3.0000000000000004 in floating point.)
    return max(1, round(size * n)) if size > 0 else 0


# -------------------------------------------------------------------------------------- split, windows


def split_by_time(series: npt.ArrayLike, val_size: int | float,
                  test_size: int | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a series into contiguous training, validation and test spans, in time order (no shuffling).

    The test span is the last ``test_size`` steps, validation the ``val_size`` steps before it, training
    everything earlier. Each span is a view of ``series`` (no copy). The boundaries are
    ``len(train)`` and ``len(train) + len(val)``; pass them to :func:`windows_for_span`.

    Args:
        series: array ``(T, *features)``, time on axis 0.
        val_size: an int number of steps (``0`` for no validation span) or a float fraction in [0, 1) of
            ``T``, rounded to the nearest count and at least 1 if positive.
        test_size: as ``val_size``.

    Returns:
        ``(train, val, test)`` with shapes ``(T_train, *features)``, ``(T_val, *features)``,
        ``(T_test, *features)``, ``T_train + T_val + T_test == T`` and ``T_train >= 1``.

    Raises:
        ValueError: the sizes leave no training data, or a size is negative or a fraction >= 1.

    Example:
        >>> train, val, test = split_by_time(np.arange(10), val_size=2, test_size=0.3)
        >>> train.tolist(), val.tolist(), test.tolist()
        ([0, 1, 2, 3, 4], [5, 6], [7, 8, 9])
    """
    x = _series("split_by_time", series)
    n = len(x)
    n_val = _span_size("split_by_time", "val_size", val_size, n)
    n_test = _span_size("split_by_time", "test_size", test_size, n)
    n_train = n - n_val - n_test
    if n_train < 1:
        raise ValueError(f"split_by_time: val_size={val_size!r} ({n_val} steps) and test_size={test_size!r} "
                         f"({n_test} steps) leave {n_train} of the {n} steps for training; expected at least 1")
    return x[:n_train], x[n_train:n_train + n_val], x[n_train + n_val:]


def sliding_windows(series: npt.ArrayLike, input_length: int, horizon: int = 1,
                    step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """All (input, target) pairs of consecutive steps: ``input_length`` steps in, the next ``horizon`` out.

    Window ``i`` starts at ``s = i * step``: ``inputs[i] = series[s : s + input_length]`` and
    ``targets[i] = series[s + input_length : s + input_length + horizon]``. The windows are read through a
    strided view and then copied, so the results own their memory (overlapping views would alias each other).

    Args:
        series: array ``(T, *features)``, time on axis 0.
        input_length: steps per input, >= 1.
        horizon: steps per target, >= 1 (default 1).
        step: distance between the starts of consecutive windows, >= 1 (default 1).

    Returns:
        ``(inputs, targets)``: ``(n, input_length, *features)`` and ``(n, horizon, *features)`` with
        ``n = (T - input_length - horizon) // step + 1``, in the dtype of ``series``.

    Raises:
        ValueError: ``T < input_length + horizon`` (not one window), or a length below 1.

    Example:
        >>> x, y = sliding_windows(np.arange(6), input_length=3, horizon=2)
        >>> x.tolist(), y.tolist()
        ([[0, 1, 2], [1, 2, 3]], [[3, 4], [4, 5]])
    """
    fn = "sliding_windows"
    x = _series(fn, series)
    input_length = _int(fn, "input_length", input_length, 1)
    horizon = _int(fn, "horizon", horizon, 1)
    step = _int(fn, "step", step, 1)
    width = input_length + horizon
    if len(x) < width:
        raise ValueError(f"{fn}: a series of {len(x)} steps is too short for one window of input_length + horizon "
                         f"= {input_length} + {horizon} = {width} steps")
    # (n, *features, width): sliding_window_view appends the window axis last; move it next to n.
    view = np.lib.stride_tricks.sliding_window_view(x, width, axis=0)[::step]
    view = np.moveaxis(view, -1, 1)
    return view[:, :input_length].copy(), view[:, input_length:].copy()


def windows_for_span(series: npt.ArrayLike, start: int, stop: int, input_length: int, horizon: int = 1,
                     step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Windows whose targets lie inside ``series[start:stop]`` and whose inputs are the steps just before them.

    For a validation or test span: the inputs may reach back before ``start`` (into the training span, the
    real history a forecaster would have) while every target stays inside the span, so nothing it is scored
    on was seen in training, and the span's first steps are forecast too. Targets start at
    ``t = max(start, input_length) + i * step`` (inputs need ``input_length`` earlier steps); window ``i`` is
    ``inputs[i] = series[t - input_length : t]``, ``targets[i] = series[t : t + horizon]``, for every ``t``
    with ``t + horizon <= stop``. With ``start = 0`` this is ``sliding_windows(series[:stop], ...)``.

    Args:
        series: the whole series ``(T, *features)``, time on axis 0.
        start, stop: the span ``[start, stop)``, ``0 <= start < stop <= T``.
        input_length, horizon, step: as in :func:`sliding_windows`.

    Returns:
        ``(inputs, targets)``: ``(n, input_length, *features)`` and ``(n, horizon, *features)``.

    Raises:
        ValueError: a span outside the series, or one with room for no target window.

    Example:
        >>> x, y = windows_for_span(np.arange(10), start=7, stop=10, input_length=4)
        >>> x.tolist(), y.tolist()
        ([[3, 4, 5, 6], [4, 5, 6, 7], [5, 6, 7, 8]], [[7], [8], [9]])
    """
    fn = "windows_for_span"
    x = _series(fn, series)
    start = _int(fn, "start", start, 0)
    stop = _int(fn, "stop", stop, 0)
    input_length = _int(fn, "input_length", input_length, 1)
    horizon = _int(fn, "horizon", horizon, 1)
    step = _int(fn, "step", step, 1)
    if not start < stop <= len(x):
        raise ValueError(f"{fn}: expected 0 <= start < stop <= {len(x)} (the series' length), "
                         f"got start={start}, stop={stop}")
    first = max(start, input_length)
    if first + horizon > stop:
        raise ValueError(f"{fn}: the span [{start}, {stop}) has no room for a window: its first target can start "
                         f"at {first} (needing input_length={input_length} earlier steps) and must end by {stop}, "
                         f"but horizon={horizon}")
    return sliding_windows(x[first - input_length:stop], input_length, horizon, step)


# ---------------------------------------------------------------------------------------------- scalers


class _Scaler:
    """Shared checks and state handling; subclasses define ``fit``, ``transform``, ``inverse_transform``."""

    _keys: tuple[str, ...] = ()

    def _fit_data(self, x: npt.ArrayLike) -> np.ndarray:
        a = _series(f"{type(self).__name__}.fit", x, "the training span").astype(np.float64)
        if len(a) == 0:
            raise ValueError(f"{type(self).__name__}.fit: the training span is empty")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{type(self).__name__}.fit: the training span has {int(np.sum(~np.isfinite(a)))} "
                             "NaN or infinite values; fill or drop them first")
        return a

    def _stats(self, method: str, x: npt.ArrayLike) -> tuple[np.ndarray, list[np.ndarray]]:
        """``x`` as a float array and the fitted statistics cast to its dtype, after checking its features."""
        fn = f"{type(self).__name__}.{method}"
        if getattr(self, self._keys[0]) is None:
            raise RuntimeError(f"{fn}: the scaler is not fitted; call fit(train_span) or load_state_dict first")
        a = np.asarray(x)
        # Keep float32 as float32 (no silent promotion); integers become float64.
        dtype = a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)
        a = a.astype(dtype, copy=False)
        features = getattr(self, self._keys[0]).shape
        if features and a.shape[a.ndim - len(features):] != features:
            raise ValueError(f"{fn}: expected an array ending in the fitted feature shape {features}, "
                             f"got shape {a.shape}")
        return a, [np.asarray(getattr(self, k), dtype=dtype) for k in self._keys]

    def fit_transform(self, x: npt.ArrayLike) -> np.ndarray:
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)  # type: ignore[attr-defined]

    def state_dict(self) -> dict[str, np.ndarray]:
        """The fitted statistics as float64 arrays, for a checkpoint."""
        if getattr(self, self._keys[0]) is None:
            raise RuntimeError(f"{type(self).__name__}.state_dict: the scaler is not fitted")
        return {k: np.array(getattr(self, k), dtype=np.float64) for k in self._keys}

    def load_state_dict(self, state: Mapping[str, npt.ArrayLike]) -> None:
        """Restore what :meth:`state_dict` returned (arrays or nested lists, e.g. from JSON)."""
        fn = f"{type(self).__name__}.load_state_dict"
        missing = [k for k in self._keys if k not in state]
        unexpected = [k for k in state if k not in self._keys]
        if missing or unexpected:
            raise ValueError(f"{fn}: expected keys {list(self._keys)}; missing {missing}, unexpected {unexpected}")
        arrays = {k: np.array(state[k], dtype=np.float64) for k in self._keys}
        self._check_state(fn, arrays)
        for k, v in arrays.items():
            setattr(self, k, v)

    def _check_state(self, fn: str, arrays: dict[str, np.ndarray]) -> None:
        shapes = {k: v.shape for k, v in arrays.items()}
        if len(set(shapes.values())) != 1:
            raise ValueError(f"{fn}: the statistics must share one feature shape, got {shapes}")
        if not all(np.all(np.isfinite(v)) for v in arrays.values()):
            raise ValueError(f"{fn}: the statistics must be finite")


class StandardScaler(_Scaler):
    """Standardise each feature with the training span's statistics: ``z = (x - mean) / scale``.

    ``mean`` and ``scale`` (the population standard deviation, ``ddof=0``, as scikit-learn) are taken over
    time (axis 0) by :meth:`fit`; a constant feature gets ``scale = 1``, so it is centred and not divided by 0.
    Fit on the training span only: statistics of the validation or test span would leak their level into
    training.

    Attributes:
        mean, scale: float64 arrays of the feature shape (``()`` for a univariate series); None until fitted.

    Shape:
        - ``fit(x)``: ``(T, *features)``.
        - ``transform(x)``, ``inverse_transform(x)``: any shape ending in ``features`` (a series, windows
          ``(n, L, *features)``, ...); float dtypes are kept, integers become float64.

    Example:
        >>> scaler = StandardScaler().fit(train)
        >>> z = scaler.transform(series)
        >>> np.allclose(scaler.inverse_transform(z), series)
        True
    """

    _keys = ("mean", "scale")

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def __repr__(self) -> str:
        return "StandardScaler()" if self.mean is None else f"StandardScaler(mean={self.mean}, scale={self.scale})"

    def fit(self, x: npt.ArrayLike) -> StandardScaler:
        """Learn ``mean`` and ``scale`` from the training span ``x`` ``(T, *features)``; returns self."""
        a = self._fit_data(x)
        self.mean = a.mean(axis=0)
        std = a.std(axis=0)
        self.scale = np.where(std > 0, std, 1.0)
        return self

    def transform(self, x: npt.ArrayLike) -> np.ndarray:
        """``(x - mean) / scale``."""
        a, (mean, scale) = self._stats("transform", x)
        return (a - mean) / scale

    def inverse_transform(self, z: npt.ArrayLike) -> np.ndarray:
        """``z * scale + mean``: model outputs back in the series' units."""
        a, (mean, scale) = self._stats("inverse_transform", z)
        return a * scale + mean

    def _check_state(self, fn: str, arrays: dict[str, np.ndarray]) -> None:
        super()._check_state(fn, arrays)
        if np.any(arrays["scale"] <= 0):
            raise ValueError(f"{fn}: 'scale' must be positive, got {arrays['scale']}")


class MinMaxScaler(_Scaler):
    """Map each feature's training range onto ``feature_range``: ``z = lo + (x - min) * (hi - lo) / (max - min)``.

    ``min`` and ``max`` are taken over time (axis 0) by :meth:`fit`; a constant feature gets a range of 1.
    Values outside the training range map outside ``feature_range`` (no clipping: a trend that leaves the
    training range must stay visible).

    Args:
        feature_range: ``(lo, hi)`` with ``lo < hi`` (default ``(0.0, 1.0)``). The state dict holds it beside
            ``data_min`` and ``data_max``, so loading restores it too.

    Attributes:
        data_min, data_max: float64 arrays of the feature shape (``()`` for a univariate series); None until
            fitted.

    Shape:
        - ``fit(x)``: ``(T, *features)``.
        - ``transform(x)``, ``inverse_transform(x)``: any shape ending in ``features``; float dtypes are kept,
          integers become float64.

    Example:
        >>> MinMaxScaler(feature_range=(-1.0, 1.0)).fit_transform(np.array([2.0, 4.0, 6.0]))
        array([-1.,  0.,  1.])
    """

    _keys = ("data_min", "data_max", "feature_range")

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        self.feature_range = self._range("MinMaxScaler", feature_range)
        self.data_min: np.ndarray | None = None
        self.data_max: np.ndarray | None = None

    def __repr__(self) -> str:
        lo, hi = self.feature_range
        fitted = "" if self.data_min is None else f", data_min={self.data_min}, data_max={self.data_max}"
        return f"MinMaxScaler(feature_range=({lo}, {hi}){fitted})"

    @staticmethod
    def _range(fn: str, feature_range: Any) -> np.ndarray:
        r = np.array(feature_range, dtype=np.float64)
        if r.shape != (2,) or not np.all(np.isfinite(r)) or not r[0] < r[1]:
            raise ValueError(f"{fn}: expected feature_range (lo, hi) with finite lo < hi, got {feature_range!r}")
        return r

    def fit(self, x: npt.ArrayLike) -> MinMaxScaler:
        """Learn ``data_min`` and ``data_max`` from the training span ``x`` ``(T, *features)``; returns self."""
        a = self._fit_data(x)
        self.data_min, self.data_max = a.min(axis=0), a.max(axis=0)
        return self

    def transform(self, x: npt.ArrayLike) -> np.ndarray:
        """``lo + (x - data_min) * (hi - lo) / (data_max - data_min)``."""
        a, (data_min, data_max, (lo, hi)) = self._stats("transform", x)
        return lo + (a - data_min) * ((hi - lo) / self._span(data_min, data_max))

    def inverse_transform(self, z: npt.ArrayLike) -> np.ndarray:
        """``data_min + (z - lo) * (data_max - data_min) / (hi - lo)``: model outputs back in the series' units."""
        a, (data_min, data_max, (lo, hi)) = self._stats("inverse_transform", z)
        return data_min + (a - lo) * (self._span(data_min, data_max) / (hi - lo))

    @staticmethod
    def _span(data_min: np.ndarray, data_max: np.ndarray) -> np.ndarray:
        return np.where(data_max > data_min, data_max - data_min, np.ones_like(data_min))

    def _check_state(self, fn: str, arrays: dict[str, np.ndarray]) -> None:
        self._range(fn, arrays["feature_range"])
        stats = {k: arrays[k] for k in ("data_min", "data_max")}
        super()._check_state(fn, stats)
        if np.any(stats["data_min"] > stats["data_max"]):
            raise ValueError(f"{fn}: 'data_min' exceeds 'data_max'")


# ------------------------------------------------------------------------------------ metrics, baselines


def _pair(fn: str, actual: npt.ArrayLike, forecast: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    a, f = np.asarray(actual, dtype=np.float64), np.asarray(forecast, dtype=np.float64)
    # No broadcasting: (n, 1) against (n,) would silently compare every pair.
    if a.shape != f.shape:
        raise ValueError(f"{fn}: actual and forecast must have the same shape, got {a.shape} and {f.shape}")
    if a.size == 0:
        raise ValueError(f"{fn}: expected at least one value, got empty arrays of shape {a.shape}")
    return a, f


def mae(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    """Mean absolute error, ``mean(|actual - forecast|)`` over all elements of two same-shape arrays."""
    a, f = _pair("mae", actual, forecast)
    return float(np.mean(np.abs(a - f)))


def rmse(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    """Root mean squared error, ``sqrt(mean((actual - forecast)^2))`` over all elements of two same-shape arrays."""
    a, f = _pair("rmse", actual, forecast)
    return float(np.sqrt(np.mean((a - f) ** 2)))


def mase(actual: npt.ArrayLike, forecast: npt.ArrayLike, train_series: npt.ArrayLike, season: int = 1) -> float:
    """Mean absolute scaled error (Hyndman & Koehler, 2006): MAE divided by the in-sample seasonal naive MAE.

    ``mase = mae(actual, forecast) / mean_t |y_t - y_{t-m}|``, the denominator over the training series
    ``y`` (``t = m .. T-1``, ``m = season``). Below 1: better than the one-step seasonal naive forecast on the
    training data; the naive forecast scored on the training series itself gives exactly 1. Scale-free, so it
    compares across series; for several features the scale is pooled over them.

    Args:
        actual, forecast: arrays of one shape (e.g. test targets and predictions), in the series' units.
        train_series: the training span ``(T, *features)``, time on axis 0.
        season: the seasonal period ``m`` (default 1: the plain naive forecast; 12 for monthly data).

    Raises:
        ValueError: shapes differ, the training series has ``season`` steps or fewer, or its seasonal
            differences are all 0 (MASE is then undefined).
    """
    a, f = _pair("mase", actual, forecast)
    season = _int("mase", "season", season, 1)
    train = _series("mase", train_series, "train_series").astype(np.float64)
    if len(train) <= season:
        raise ValueError(f"mase: the scale needs a training series longer than season={season}, "
                         f"got {len(train)} steps")
    scale = float(np.mean(np.abs(train[season:] - train[:-season])))
    if not scale > 0:  # also catches NaN
        raise ValueError(f"mase: the training series' mean absolute difference at lag {season} is {scale}, so "
                         "MASE is undefined (the series repeats exactly with that period, or has NaN)")
    return float(np.mean(np.abs(a - f))) / scale


def _history(fn: str, history: npt.ArrayLike, horizon: int, axis: int) -> tuple[np.ndarray, int, int]:
    h = _series(fn, history, "history")
    horizon = _int(fn, "horizon", horizon, 1)
    axis = _int(fn, "axis", axis, -h.ndim)
    if axis >= h.ndim:
        raise ValueError(f"{fn}: axis {axis} is out of range for history of shape {h.shape}")
    return h, horizon, axis % h.ndim


def naive_forecast(history: npt.ArrayLike, horizon: int, axis: int = 0) -> np.ndarray:
    """Repeat the last observed value: ``forecast[k] = history[T - 1]`` for ``k = 0 .. horizon - 1``.

    The baseline any forecaster must beat (and the denominator of :func:`mase` with ``season=1``).

    Args:
        history: ``(T, *features)``, or a batch such as window inputs ``(n, L, *features)`` with ``axis=1``.
        horizon: steps to forecast, >= 1.
        axis: the time axis of ``history`` (default 0).

    Returns:
        ``history``'s shape with the time axis of length ``horizon``: ``(horizon, *features)``, or
        ``(n, horizon, *features)`` for window inputs, which is the shape of their targets.

    Example:
        >>> naive_forecast(np.array([1.0, 2.0, 3.0]), horizon=2)
        array([3., 3.])
    """
    h, horizon, axis = _history("naive_forecast", history, horizon, axis)
    if h.shape[axis] == 0:
        raise ValueError(f"naive_forecast: history of shape {h.shape} has no step on axis {axis}")
    return np.take(h, np.full(horizon, h.shape[axis] - 1), axis=axis)


def seasonal_naive_forecast(history: npt.ArrayLike, horizon: int, season: int, axis: int = 0) -> np.ndarray:
    """Repeat the last observed season: ``forecast[k] = history[T - season + (k mod season)]``.

    For monthly data with ``season=12``, every month is forecast by the same month of the last year.

    Args:
        history: ``(T, *features)`` with ``T >= season``, or a batch of window inputs with ``axis=1``.
        horizon: steps to forecast, >= 1.
        season: the seasonal period, >= 1 (``season=1`` is :func:`naive_forecast`).
        axis: the time axis of ``history`` (default 0).

    Returns:
        ``history``'s shape with the time axis of length ``horizon``.

    Example:
        >>> seasonal_naive_forecast(np.array([1, 2, 3, 4, 5]), horizon=5, season=2)
        array([4, 5, 4, 5, 4])
    """
    fn = "seasonal_naive_forecast"
    h, horizon, axis = _history(fn, history, horizon, axis)
    season = _int(fn, "season", season, 1)
    if h.shape[axis] < season:
        raise ValueError(f"{fn}: history has {h.shape[axis]} steps on axis {axis}, fewer than season={season}")
    return np.take(h, h.shape[axis] - season + np.arange(horizon) % season, axis=axis)

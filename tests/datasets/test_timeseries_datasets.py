"""sunspots (statsmodels wheel) and air_passengers (pmdarima wheel): parsers, caches and the data itself.

Tests marked ``download`` fetch the pinned wheels (12 MB and 0.7 MB) once into the default cache
(``$NERVE_DATA`` or ``~/.cache/nerve``); later runs read the small ``.npz`` files only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nerve.data import mae, mase, seasonal_naive_forecast
from nerve.datasets import air_passengers, sunspots, timeseries

# Box & Jenkins (1976) Series G, monthly international airline passengers (thousands), 1949-01 .. 1960-12.
SERIES_G = [
    112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118, 115, 126, 141, 135, 125, 149, 170, 170, 158, 133,
    114, 140, 145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166, 171, 180, 193, 181, 183, 218, 230, 242,
    209, 191, 172, 194, 196, 196, 236, 235, 229, 243, 264, 272, 237, 211, 180, 201, 204, 188, 235, 227, 234, 264,
    302, 293, 259, 229, 203, 229, 242, 233, 267, 269, 270, 315, 364, 347, 312, 274, 237, 278, 284, 277, 317, 313,
    318, 374, 413, 405, 355, 306, 271, 306, 315, 301, 356, 348, 355, 422, 465, 467, 404, 347, 305, 336, 340, 318,
    362, 348, 363, 435, 491, 505, 404, 359, 310, 337, 360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405,
    417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432,
]


def _source(values: list[int] | str, prelude: str = "") -> bytes:
    """A file shaped like pmdarima's airpassengers.py around ``values``."""
    return (f"import numpy as np\n{prelude}\n\ndef load_airpassengers(as_series=False, dtype=float):\n"
            f"    '''Docs with an example list [1, 2, 3].'''\n"
            f"    rslt = np.array({values}).astype(dtype)\n    return rslt\n").encode()


# ---------------------------------------------------------------------------------------- offline checks


def test_air_passengers_source_is_parsed_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    source = _source(SERIES_G, prelude=f"open({str(marker)!r}, 'w').write('x')\nraise SystemExit(1)")
    months, values = timeseries.parse_air_passengers_source(source)
    assert not marker.exists()  # the file's top-level code never ran
    assert values.tolist() == SERIES_G and values.dtype == np.float64
    assert months.dtype == np.dtype("<U7") and months[0] == "1949-01" and months[12] == "1950-01"
    assert months[-1] == "1960-12" and len(set(months.tolist())) == 144


def test_air_passengers_source_errors() -> None:
    with pytest.raises(RuntimeError, match=r"gives \(count, first, last, sum\) = \(144, 112, 433, 40364\), "
                                           r"expected \(144, 112, 432, 40363\)"):
        timeseries.parse_air_passengers_source(_source([*SERIES_G[:-1], 433]))
    with pytest.raises(RuntimeError, match=r"holds something other than integer literals"):
        timeseries.parse_air_passengers_source(_source("[112, __import__('os').getpid()]"))
    with pytest.raises(RuntimeError, match=r"expected one list literal assigned to `rslt`.*found 0"):
        timeseries.parse_air_passengers_source(b"def load_airpassengers():\n    return 1\n")


def test_sunspots_csv_parser() -> None:
    rows = "".join(f"{year},{year - 1700}.5\n" for year in range(1700, 2009))
    years, values = timeseries.parse_sunspots_csv(f'"YEAR","SUNACTIVITY"\n{rows}'.encode())
    assert years.dtype == np.int64 and years[[0, -1]].tolist() == [1700, 2008]
    assert values.dtype == np.float64 and values[:2].tolist() == [0.5, 1.5]
    with pytest.raises(RuntimeError, match=r"is not a YEAR,SUNACTIVITY table"):
        timeseries.parse_sunspots_csv(f"YEAR,SPOTS\n{rows}".encode())
    with pytest.raises(RuntimeError, match=r"does not hold one non-negative value per year 1700-2008; got 308 rows"):
        timeseries.parse_sunspots_csv(f'"YEAR","SUNACTIVITY"\n{rows.split(chr(10), 1)[1]}'.encode())


def test_missing_cache_without_download(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"sunspots: no cached dataset at .*sunspots\.npz; pass download=True"):
        sunspots(root=tmp_path, download=False)
    with pytest.raises(RuntimeError, match=r"air_passengers: no cached dataset at .*air_passengers\.npz"):
        air_passengers(root=tmp_path, download=False)


def test_invalid_cache_is_reported(tmp_path: Path) -> None:
    np.savez(tmp_path / "sunspots.npz", years=np.arange(10), values=np.zeros(10))
    with pytest.raises(RuntimeError, match=r"sunspots: .*sunspots\.npz holds years \(10,\) int64, expected shape "
                                           r"\(309,\).*delete it to download again"):
        sunspots(root=tmp_path)
    np.savez(tmp_path / "air_passengers.npz", values=np.zeros(144))
    with pytest.raises(RuntimeError, match=r"holds months no such array"):
        air_passengers(root=tmp_path)


def test_cache_is_read_without_downloading(tmp_path: Path) -> None:
    months = np.arange(np.datetime64("1949-01"), np.datetime64("1961-01")).astype("U7")
    np.savez(tmp_path / "air_passengers.npz", months=months, values=np.arange(144.0))
    got_months, values = air_passengers(root=tmp_path, download=False)
    assert got_months.tolist() == months.tolist() and values.tolist() == list(range(144))


# ----------------------------------------------------------------------------------------- the real data


@pytest.mark.download
def test_sunspots_known_values() -> None:
    years, values = sunspots()
    assert years.shape == values.shape == (309,)
    assert years.dtype == np.int64 and values.dtype == np.float64
    assert years.tolist() == list(range(1700, 2009))
    assert values[:5].tolist() == [5.0, 11.0, 16.0, 23.0, 36.0]
    assert values[-1] == 2.9 and values.sum() == pytest.approx(15373.4)
    assert values.max() == 190.2 and years[values.argmax()] == 1957  # the largest cycle on record
    assert years[values == 0].tolist() == [1711, 1712, 1810]  # Maunder and Dalton minima


@pytest.mark.download
def test_air_passengers_is_series_g() -> None:
    months, values = air_passengers()
    assert values.tolist() == SERIES_G and values.dtype == np.float64
    assert values[0] == 112 and values[-1] == 432 and values.sum() == 40363
    assert months[0] == "1949-01" and months[-1] == "1960-12" and months.shape == (144,)
    assert (months.astype("datetime64[M]") == np.arange("1949-01", "1961-01", dtype="datetime64[M]")).all()


@pytest.mark.download
def test_air_passengers_seasonal_naive_baseline() -> None:
    _, values = air_passengers()
    history, actual = values[:-12], values[-12:]
    forecast = seasonal_naive_forecast(history, horizon=12, season=12)  # 1960 forecast by 1959
    assert forecast.tolist() == SERIES_G[-24:-12]
    assert mae(actual, forecast) == pytest.approx(47.8333333)
    assert mase(actual, forecast, history, season=12) == pytest.approx(1.5708812)

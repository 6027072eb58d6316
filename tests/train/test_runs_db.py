import json
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from nerve.train.runs_db import (
    SCHEMA_VERSION,
    RunIndex,
    RunNotFound,
    RunRecord,
    best_epoch,
    format_comparison,
    format_runs_table,
)

VAL_LOSS = [0.5, 0.3, 0.4]  # best epoch is 2


def make_run(root: Path, name: str, *, config: dict | None = None, results: bool = True,
             test_accuracy: float = 0.9818) -> Path:
    """A fake run folder as `nerve train` writes it."""
    run = root / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"recipe": "mnist-mlp", "lr": 0.01, "batch_size": 64,
                                                 **(config or {})}))
    metrics = [{"epoch": e, "time_s": 1.5 * e, "loss": 1.0 / e, "accuracy": 0.8 + 0.05 * e,
                "val_loss": VAL_LOSS[e - 1], "val_accuracy": 0.85 + 0.03 * e, "lr": 0.01} for e in (1, 2, 3)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics))
    if results:
        (run / "results.json").write_text(json.dumps({
            "test": {"loss": 0.07, "accuracy": test_accuracy}, "epochs": 3, "train_seconds": 4.5,
            "seconds_per_epoch": 1.5, "final": metrics[-1], "stop_reason": None}))
    return run


def test_register_finish_round_trip(tmp_path):
    index = RunIndex(tmp_path)
    run = make_run(tmp_path, "mnist-mlp-20240501-120301", results=False)
    index.register(run, "mnist-mlp", {"recipe": "mnist-mlp", "lr": 0.01, "optim": {"name": "adam"}})
    assert (tmp_path / "runs.db").is_file()

    record = index.get("mnist-mlp-20240501-120301")
    assert isinstance(record, RunRecord)
    assert (record.name, record.path, record.recipe, record.status) == (run.name, run.resolve(), "mnist-mlp",
                                                                         "running")
    assert record.config == {"recipe": "mnist-mlp", "lr": 0.01, "optim": {"name": "adam"}}
    assert record.finished is None

    final = {"loss": np.float32(0.25), "accuracy": 0.95, "val_loss": 0.3}  # NumPy scalars from logs are stored
    index.finish(run, "finished", 3, final=final, test={"loss": 0.07, "accuracy": 0.9818})
    record = index.get(run.name)
    assert record.status == "finished" and record.epochs == 3
    assert record.final == {"loss": 0.25, "accuracy": 0.95, "val_loss": 0.3}
    assert record.test == {"loss": 0.07, "accuracy": 0.9818}
    assert record.best == {"epoch": 2, "val_loss": 0.3, "val_accuracy": pytest.approx(0.91)}
    assert record.finished is not None and record.finished >= record.created
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT path FROM runs").fetchone()[0] == run.name  # relative inside the root
    conn.close()


def test_runs_are_newest_first(tmp_path):
    index = RunIndex(tmp_path)
    names = ["a-run", "b-run", "c-run"]
    for name in names:
        index.register(make_run(tmp_path, name), "mnist-mlp", {})
    assert [r.name for r in index.runs()] == names[::-1]


def test_reregister_updates_and_keeps_created(tmp_path):
    index = RunIndex(tmp_path)
    run = make_run(tmp_path, "resumed")
    index.register(run, "mnist-mlp", {"lr": 0.1})
    index.finish(run, "interrupted", 1, final={"loss": 1.0}, test=None)
    created = index.get("resumed").created

    index.register(run, "mnist-cnn", {"lr": 0.05})
    record = index.get("resumed")
    assert (record.status, record.recipe, record.config, record.created) == ("running", "mnist-cnn", {"lr": 0.05},
                                                                             created)
    assert record.finished is None
    assert len(index.runs()) == 1


def test_get_by_prefix_path_and_clear_errors(tmp_path):
    index = RunIndex(tmp_path)
    for name in ("mnist-mlp-20240501", "mnist-mlp-20240502", "cifar-resnet-20240501"):
        index.register(make_run(tmp_path, name), name.rsplit("-", 1)[0], {})

    assert index.get("cifar").name == "cifar-resnet-20240501"
    assert index.get("mnist-mlp-20240502").name == "mnist-mlp-20240502"
    assert index.get(tmp_path / "mnist-mlp-20240501").name == "mnist-mlp-20240501"
    with pytest.raises(RunNotFound, match=r"'mnist' is ambiguous: it matches mnist-mlp-20240502, mnist-mlp-20240501"):
        index.get("mnist")
    with pytest.raises(RunNotFound, match=r"no run named 'mnsit-mlp'.*did you mean mnist-mlp-2024050"):
        index.get("mnsit-mlp")
    with pytest.raises(LookupError, match=r"no run named 'zzz'.*known runs: cifar-resnet-20240501"):
        index.get("zzz")
    with pytest.raises(RunNotFound, match="no run folder at"):
        index.get(tmp_path / "nope")
    with pytest.raises(RunNotFound, match="the index is empty"):
        RunIndex(tmp_path / "empty").get("x")


def test_run_outside_root_is_stored_absolute_and_found_by_path(tmp_path):
    index = RunIndex(tmp_path / "runs")
    run = make_run(tmp_path / "elsewhere", "far-away")
    index.register(run, "mnist-mlp", {})
    assert index.get("far").path == run.resolve()
    # a run folder the index never saw is still found by its path
    other = make_run(tmp_path / "elsewhere", "never-registered")
    record = index.get(other)
    assert (record.name, record.status, record.test["accuracy"]) == ("never-registered", "finished", 0.9818)


def test_scan_finds_folders_unknown_to_the_index(tmp_path):
    make_run(tmp_path, "copied-finished", test_accuracy=0.97)
    make_run(tmp_path, "copied-partial", results=False)
    (tmp_path / "not-a-run").mkdir()  # no config.json
    index = RunIndex(tmp_path)
    assert index.scan() == 2
    assert index.scan() == 0

    by_name = {r.name: r for r in index.runs()}
    assert set(by_name) == {"copied-finished", "copied-partial"}
    assert by_name["copied-finished"].status == "finished" and by_name["copied-finished"].test["accuracy"] == 0.97
    assert by_name["copied-finished"].epochs == 3 and by_name["copied-finished"].best["epoch"] == 2
    assert (by_name["copied-partial"].status, by_name["copied-partial"].epochs) == ("unknown", 3)
    assert by_name["copied-partial"].final["epoch"] == 3  # the last metrics.jsonl line

    # results.json appearing later refreshes an 'unknown' entry
    (tmp_path / "copied-partial" / "results.json").write_text(json.dumps({"test": {"accuracy": 0.5}, "epochs": 3}))
    assert index.get("copied-partial").status == "finished"


def test_runs_lists_folders_after_the_db_is_deleted(tmp_path):
    index = RunIndex(tmp_path)
    for name in ("old", "new"):
        run = make_run(tmp_path, name)
        index.register(run, "mnist-mlp", {})
        index.finish(run, "stopped", 3, final=None, test=None)
    os.utime(tmp_path / "old" / "config.json", (1_000_000_000, 1_000_000_000))  # created is the config's mtime
    (tmp_path / "runs.db").unlink()

    records = RunIndex(tmp_path).runs()
    assert [r.name for r in records] == ["new", "old"]
    assert all(r.status == "finished" for r in records)  # a status from the folder: results.json exists
    assert records[0].test == {"loss": 0.07, "accuracy": 0.9818}


def test_deleted_run_folder_leaves_the_listing(tmp_path):
    index = RunIndex(tmp_path)
    for name in ("keep", "drop"):
        index.register(make_run(tmp_path, name), "mnist-mlp", {})
    for path in sorted((tmp_path / "drop").iterdir()):
        path.unlink()
    (tmp_path / "drop").rmdir()
    assert [r.name for r in index.runs()] == ["keep"]


def test_finish_validates_its_arguments(tmp_path):
    index = RunIndex(tmp_path)
    run = make_run(tmp_path, "r")
    with pytest.raises(ValueError, match="status must be one of 'finished', 'stopped', 'failed', 'interrupted', "
                                         "got 'done'"):
        index.finish(run, "done", 3)
    with pytest.raises(ValueError, match="epochs must be a non-negative int"):
        index.finish(run, "finished", -1)
    with pytest.raises(TypeError, match="test must be a mapping"):
        index.finish(run, "finished", 3, test=[0.9])
    with pytest.raises(TypeError, match="config must be a mapping"):
        index.register(run, "mnist-mlp", ["lr", 0.1])


def test_finish_adds_a_run_that_was_never_registered(tmp_path):
    run = make_run(tmp_path, "unregistered")
    RunIndex(tmp_path).finish(run, "failed", 2, final={"loss": float("nan")}, test=None)
    record = RunIndex(tmp_path).get("unregistered")
    assert (record.status, record.epochs, record.recipe) == ("failed", 2, "mnist-mlp")
    assert np.isnan(record.final["loss"])


def test_bad_or_newer_database_is_a_clear_error(tmp_path):
    (tmp_path / "runs.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RuntimeError, match=r"not a readable run index.*delete it"):
        RunIndex(tmp_path).runs()
    (tmp_path / "runs.db").unlink()
    conn = sqlite3.connect(tmp_path / "runs.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this nerve"):
        RunIndex(tmp_path).runs()


def test_two_indexes_write_the_same_db_concurrently(tmp_path):
    # Two RunIndex objects with their own connections lock the file as two processes would.
    first, second = RunIndex(tmp_path), RunIndex(tmp_path)
    errors = []

    def work(index, prefix):
        try:
            for i in range(10):
                run = tmp_path / f"{prefix}-{i}"
                run.mkdir()
                (run / "config.json").write_text("{}")
                index.register(run, "mnist-mlp", {"i": i})
                index.finish(run, "finished", 1, final={"loss": 0.1}, test={"accuracy": 0.9})
                index.runs()
        except Exception as e:  # surfaced in the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(first, "a")), threading.Thread(target=work, args=(second, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(first.runs()) == 20 and all(r.status == "finished" for r in second.runs())


def test_a_write_waits_for_another_writers_transaction(tmp_path):
    index = RunIndex(tmp_path)
    index.register(make_run(tmp_path, "first"), "mnist-mlp", {})
    blocker = sqlite3.connect(tmp_path / "runs.db", isolation_level=None, check_same_thread=False)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock ...
        release = threading.Timer(0.2, blocker.commit)  # ... for a moment
        release.start()
        RunIndex(tmp_path).register(make_run(tmp_path, "second"), "mnist-mlp", {})
        release.join()
    finally:
        blocker.close()
    assert [r.name for r in index.runs()] == ["second", "first"]


def test_best_epoch_prefers_the_recorded_one():
    metrics = [{"epoch": e, "val_loss": v} for e, v in zip((1, 2, 3), VAL_LOSS)]
    assert best_epoch(metrics) == {"epoch": 2, "val_loss": 0.3}
    assert best_epoch(metrics, {"best_epoch": 3}) == {"epoch": 3, "val_loss": 0.4}
    assert best_epoch([{"epoch": 1, "loss": 0.1}]) == {}


def test_format_runs_table(tmp_path):
    index = RunIndex(tmp_path)
    long_name = "cifar10-resnet18-with-a-very-long-description-20240501-120301"
    for name, acc in (("mnist-mlp-20240501-120301", 0.9818), (long_name, 0.9)):
        run = make_run(tmp_path, name, test_accuracy=acc)
        index.register(run, "mnist-mlp", {})
        index.finish(run, "finished", 3, final=None, test={"loss": 0.07, "accuracy": acc})
    index.register(make_run(tmp_path, "running-run", results=False), "mnist-mlp", {})

    table = format_runs_table(index.runs())
    lines = table.splitlines()
    assert lines[0].split() == ["NAME", "RECIPE", "STATUS", "EPOCHS", "TEST", "BEST", "VAL", "CREATED"]
    assert "mnist-mlp-20240501-120301" in table and "running-run" in table
    assert "98.18%" in table and "90.00%" in table
    assert "91.00% @2" in table  # best validation accuracy and its epoch
    assert max(map(len, lines)) <= 100
    assert "cifar10-resnet18-…-20240501-120301" in table  # shortened in the middle: both ends stay readable
    assert format_runs_table([]) == "no runs"


def test_format_comparison_shows_differences(tmp_path):
    index = RunIndex(tmp_path)
    a = make_run(tmp_path, "run-a", config={"lr": 0.01, "optim": {"name": "adam"}}, test_accuracy=0.9818)
    b = make_run(tmp_path, "run-b", config={"lr": 0.001, "optim": {"name": "sgd"}}, test_accuracy=0.9850)
    index.scan()
    text = format_comparison(index.get("run-a"), index.get("run-b"))
    assert "A: run-a" in text and "B: run-b" in text
    assert "config: 2 differ, 2 same" in text
    lr_line = next(line for line in text.splitlines() if line.strip().startswith("lr "))
    assert lr_line.split() == ["lr", "0.01", "0.001"]
    assert any(line.split() == ["optim.name", "adam", "sgd"] for line in text.splitlines())
    assert "batch_size" not in text  # identical values are only counted ...
    test_line = [line for line in text.splitlines() if "98.18%" in line]
    assert test_line and test_line[-1].split() == ["accuracy", "98.18%", "98.50%", "+0.32", "pp"]
    assert "batch_size" in format_comparison(index.get(a.name), index.get(b.name), show_same=True)  # ... or shown

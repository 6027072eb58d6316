"""Real-data results of the sequence recipes through the ``nerve`` command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from nerve.cli import main


def _train(recipe: str, runs: Path, *options: str) -> tuple[dict, Path]:
    assert main(["train", recipe, "--runs-dir", str(runs), "--no-progress", *options]) == 0
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    for name in ("learning_curves.png", "model.safetensors", "report.html"):
        assert (run / name).stat().st_size > 0, name
    return json.loads((run / "results.json").read_text()), run


@pytest.mark.download
@pytest.mark.parametrize("recipe, horizon, test_steps", [("lstm-sunspots", 1, 30), ("gru-airpassengers", 12, 12)])
@pytest.mark.parametrize("seed", [0, 1])
def test_forecasters_beat_naive_and_seasonal_naive_on_the_held_out_span(tmp_path, recipe, horizon, test_steps,
                                                                        seed) -> None:
    """Seconds each: MASE on the final 30 years / 12 months below both baselines, for two seeds."""
    results, run = _train(recipe, tmp_path, "--seed", str(seed))
    scores = results["forecast"]
    assert scores["model"]["mase"] < scores["naive"]["mase"], scores
    assert scores["model"]["mase"] < scores["seasonal_naive"]["mase"], scores
    with open(run / "forecast.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == test_steps and set(rows[0]) == {"time", "actual", "model", "naive", "seasonal_naive"}
    assert (run / "forecast.png").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.download
def test_char_lstm_on_shakespeare_reaches_1_6_nats_per_char(tmp_path) -> None:
    results, run = _train("charrnn-shakespeare", tmp_path)
    assert results["final"]["val_loss"] <= 1.6, results["final"]
    sample = (run / "sample.txt").read_text()
    assert sample.startswith("ROMEO:") and len(sample) > 500

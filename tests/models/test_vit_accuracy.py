"""Real-data accuracy of the ``vit-mnist`` recipe through the ``nerve`` command, with its attention figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nerve.cli import main


@pytest.mark.slow
@pytest.mark.download
def test_vit_mnist_reaches_97_5_percent(tmp_path: Path) -> None:
    assert main(["train", "vit-mnist", "--runs-dir", str(tmp_path), "--no-progress"]) == 0
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    for name in ("learning_curves.png", "confusion_matrix.png", "attention.png", "model.safetensors", "report.html"):
        assert (run / name).stat().st_size > 0, name
    results = json.loads((run / "results.json").read_text())
    assert results["test"]["accuracy"] >= 0.975, results

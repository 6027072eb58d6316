"""Real-data result of the ``gpt-shakespeare`` recipe through the ``nerve`` command (``pytest -m long``)."""

from __future__ import annotations

import json

import pytest

from nerve.cli import main


@pytest.mark.long
@pytest.mark.download
def test_char_gpt_on_shakespeare_reaches_1_6_nats_per_char(tmp_path) -> None:
    """The default recipe (4 blocks x 192, context 128, two passes over the 5 M-character corpus, about 30
    minutes on 2 cores): validation cross-entropy at most 1.6 nats/char (1.53 measured), and a sample."""
    assert main(["train", "gpt-shakespeare", "--runs-dir", str(tmp_path), "--no-progress"]) == 0
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    results = json.loads((run / "results.json").read_text())
    assert results["final"]["val_loss"] <= 1.6, results["final"]
    sample = (run / "sample.txt").read_text()
    assert sample.startswith("ROMEO:") and len(sample) > 500

"""Real-data accuracy of the CNN recipes through the ``nerve`` command, and the transfer-learning demo."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from nerve.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _train(recipe: str, runs: Path) -> dict:
    assert main(["train", recipe, "--runs-dir", str(runs), "--no-progress"]) == 0
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    for name in ("learning_curves.png", "confusion_matrix.png", "model.safetensors", "report.html"):
        assert (run / name).stat().st_size > 0, name
    return json.loads((run / "results.json").read_text())


@pytest.mark.slow
@pytest.mark.download
def test_lenet_mnist_reaches_99_percent(tmp_path: Path) -> None:
    results = _train("lenet-mnist", tmp_path)
    assert results["test"]["accuracy"] >= 0.99, results


@pytest.mark.slow
@pytest.mark.download
def test_resnet_mnist_with_augmentation_reaches_99_3_percent(tmp_path: Path) -> None:
    results = _train("resnet-mnist", tmp_path)
    assert results["test"]["accuracy"] >= 0.993, results


@pytest.mark.download
def test_transfer_from_digits_0_4_beats_training_from_scratch_on_5_9() -> None:
    spec = importlib.util.spec_from_file_location("transfer_mnist", ROOT / "examples" / "transfer_mnist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    r = module.run(shots=10, pretrain_epochs=2, finetune_epochs=60, seed=0)
    assert r["pretrain_accuracy_0_4"] >= 0.98, r
    # 50 labels of 5-9: features learned on 0-4 must be worth more than starting from nothing
    assert r["frozen"] > r["scratch"] + 0.02, r
    assert r["fine_tuned"] > r["scratch"] + 0.02, r

import json

import pytest

from nerve.cli import main


@pytest.mark.slow
@pytest.mark.download
def test_nerve_train_default_reaches_98_percent_on_mnist(tmp_path, capsys):
    """The README's main job: `nerve train` (MLP 784-256-128-10, Adam, 10 epochs) on the full MNIST."""
    assert main(["train", "--runs-dir", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy:" in out
    (run,) = list(tmp_path.iterdir())
    results = json.loads((run / "results.json").read_text())
    assert results["epochs"] == 10
    assert results["test"]["accuracy"] >= 0.98, results
    for name in ("config.json", "metrics.jsonl", "model.safetensors", "learning_curves.png", "confusion_matrix.png"):
        assert (run / name).stat().st_size > 0, name
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 10
    assert (run / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.download
def test_one_epoch_run_writes_a_loadable_model(tmp_path):
    import numpy as np

    import nerve
    from nerve.datasets import MNIST
    from nerve.io import load
    from nerve.train.recipes import RECIPES

    assert main(["train", "mlp-mnist", "--epochs", "1", "--runs-dir", str(tmp_path), "--no-progress"]) == 0
    (run,) = list(tmp_path.iterdir())
    config = dict(RECIPES["mlp-mnist"].defaults, epochs=1)
    model = RECIPES["mlp-mnist"].build(config).model
    model.load_state_dict(load(run / "model.safetensors"))
    model.eval()
    x, y = MNIST(train=False).get_batch(np.arange(1000))
    with nerve.no_grad():
        accuracy = float((model(x).argmax(1) == y).float().mean().item())
    assert accuracy > 0.9


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "no-such-recipe"], "unknown recipe 'no-such-recipe'; available: mlp-mnist"),
        (["train", "--lr", "-1"], "--lr must be positive, got -1.0"),
        (["train", "--epochs", "0"], "--epochs must be at least 1, got 0"),
        (["train", "--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    ],
)
def test_bad_input_exits_nonzero_with_one_line(argv, message, capsys, tmp_path):
    assert main([*argv, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"nerve: error: {message}"]
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_recipes_lists_the_default(capsys):
    assert main(["recipes"]) == 0
    assert "mlp-mnist" in capsys.readouterr().out

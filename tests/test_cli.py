import json

import pytest

from nerve.cli import main

RECIPE_NAMES = ", ".join(sorted([
    "charrnn-shakespeare", "gpt-shakespeare", "gru-airpassengers", "lenet-mnist", "lstm-sunspots", "mlp", "mlp-mnist",
    "resnet-mnist",
    "vit-mnist",
    "minilm-bbc",
]))


@pytest.mark.download
def test_nerve_train_default_reaches_98_percent_on_mnist(tmp_path, capsys):
    """The README's main job: `nerve train` (MLP 784-256-128-10, Adam, 10 epochs) on the full MNIST."""
    assert main(["train", "--runs-dir", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy:" in out
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]  # beside runs.db
    results = json.loads((run / "results.json").read_text())
    assert results["epochs"] == 10
    assert results["test"]["accuracy"] >= 0.98, results
    for name in ("config.json", "metrics.jsonl", "model.safetensors", "learning_curves.png", "confusion_matrix.png"):
        assert (run / name).stat().st_size > 0, name
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 10
    assert (run / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.download
def test_one_epoch_run_writes_a_loadable_model_and_is_listed(tmp_path, capsys):
    import numpy as np

    import nerve
    from nerve.datasets import MNIST
    from nerve.io import load
    from nerve.train.recipes import RECIPES

    assert main(["train", "mlp-mnist", "--epochs", "1", "--runs-dir", str(tmp_path), "--no-progress"]) == 0
    (run,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    recipe = RECIPES["mlp-mnist"]
    model = recipe.model(dict(recipe.defaults), json.loads((run / "data.json").read_text()))
    model.load_state_dict(load(run / "model.safetensors"))
    model.eval()
    x, y = MNIST(train=False).get_batch(np.arange(1000))
    with nerve.no_grad():
        accuracy = float((model(x).argmax(1) == y).float().mean().item())
    assert accuracy > 0.9
    for name in ("report.html", "checkpoints/last.json", "checkpoints/best.json", "data.json"):
        assert (run / name).is_file(), name
    capsys.readouterr()
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert run.name in listing and "finished" in listing


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "no-such-recipe"], f"unknown recipe 'no-such-recipe'; available: {RECIPE_NAMES}"),
        (["train", "mlp-mnst"], f"unknown recipe 'mlp-mnst' (did you mean 'mlp-mnist'?); available: {RECIPE_NAMES}"),
        (["train", "--lr", "-1"], "command line: lr = -1.0 is out of range, expected a positive number"),
        (["train", "--epochs", "0"], "command line: epochs = 0 is out of range, expected a positive integer"),
        (["train", "--batch-size", "0"], "command line: batch_size = 0 is out of range, expected a positive "
                                         "integer or 'full'"),
        (["train", "--lr", "abc"], "argument --lr: invalid float value: 'abc' (see `nerve train --help`)"),
        (["train", "--set", "hiden=[10]"], "command line: unknown key 'hiden' for recipe 'mlp-mnist'; did you "
                                           "mean 'hidden'?"),
        (["train", "--set", "dropout=1.5"], "command line: dropout = 1.5 is out of range, expected a probability "
                                            "in [0, 1)"),
        (["train", "--set", "hidden=64"], "command line: hidden = 64 is int, expected a list"),
        (["train", "mlp"], "recipe 'mlp' needs 'data': set it in a config file or with --data ..."),
        (["train", "missing.toml"], "config file not found: missing.toml"),
        (["evaluate", "nope"], "no run 'nope': it is not a run folder and there is no runs folder"),
        (["frobnicate"], "argument command: invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_exits_nonzero_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*argv, *(["--runs-dir", str(tmp_path / "runs")] if argv[0] in ("train", "evaluate") else [])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"nerve: error: {message}"), err
    assert not (tmp_path / "runs").exists()  # nothing half-written


def test_recipes_lists_every_recipe_with_its_description(capsys):
    assert main(["recipes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == RECIPE_NAMES.split(", ")  # sorted, the default included
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)
    assert "MLP 784-256-128-10" in next(line for line in lines if line.startswith("mlp-mnist "))

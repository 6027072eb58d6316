"""The workflow through the `nerve` command on small generated files: CSV, image folder and .npz data, TOML
configs, resume after an interrupt, evaluate, predict, runs, summary, TensorBoard."""

import csv
import json
import struct

import numpy as np
import pytest

from nerve.cli import main


def _write_csv(path, n=240, seed=0, regression=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4))
    names = np.array(["adelie", "gentoo", "chinstrap"])
    score = x[:, 0] * 2 + x[:, 1]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["bill", "flipper", "mass", "noise", "species"])
        for row, s in zip(x, score):
            label = f"{s + 0.1 * row[3]:.5f}" if regression else names[np.digitize(s, [-1.0, 1.0])]
            w.writerow([*(f"{v:.5f}" for v in row), label])
    return path


def _write_images(root, per_class=12, seed=0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    for label, base in (("dark", 40), ("light", 210)):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            img = np.clip(base + rng.normal(0, 25, (8, 8)), 0, 255).astype(np.uint8)
            Image.fromarray(img, mode="L").save(root / label / f"{i}.png")
    return root


def _read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _run_dir(runs):
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    return run


def test_csv_classifier_trains_end_to_end_and_predicts(tmp_path, capsys):
    data = _write_csv(tmp_path / "penguins.csv")
    runs = tmp_path / "runs"
    argv = ["train", "mlp", "--data", str(data), "--target", "species", "--epochs", "15", "--lr", "0.01",
            "--runs-dir", str(runs), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    run = _run_dir(runs)
    results = json.loads((run / "results.json").read_text())
    assert results["test"]["accuracy"] >= 0.85, results  # a nearly linear 3-class problem
    assert "test accuracy:" in out
    info = json.loads((run / "data.json").read_text())
    assert info["class_names"] == ["adelie", "chinstrap", "gentoo"] and info["feature_names"][0] == "bill"
    for name in ("learning_curves.png", "confusion_matrix.png", "report.html", "metrics.jsonl"):
        assert (run / name).stat().st_size > 0, name

    assert main(["predict", str(run), str(data), "--output", str(tmp_path / "pred.csv")]) == 0
    rows = _read_rows(tmp_path / "pred.csv")
    truth = [r["species"] for r in _read_rows(data)]
    assert len(rows) == 240
    assert np.mean([r["prediction"] == t for r, t in zip(rows, truth)]) >= 0.85

    capsys.readouterr()
    assert main(["evaluate", run.name, "--runs-dir", str(runs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith(f"{run.name} (final weights) test:") and "48 samples" in lines[1]


def test_csv_regression_reports_loss_and_mae(tmp_path, capsys):
    data = _write_csv(tmp_path / "r.csv", regression=True)
    runs = tmp_path / "runs"
    assert main(["train", "mlp", "--data", str(data), "--target", "species", "--epochs", "20", "--lr", "0.01",
                 "--runs-dir", str(runs), "--no-progress"]) == 0
    out = capsys.readouterr().out
    results = json.loads((_run_dir(runs) / "results.json").read_text())
    assert "test loss:" in out and "mae" in results["test"]
    assert results["test"]["mae"] < 0.5  # targets have std ~2.2
    assert not (_run_dir(runs) / "confusion_matrix.png").exists()


def test_image_folder_trains_end_to_end_from_a_toml_config(tmp_path, capsys):
    _write_images(tmp_path / "shades")
    config = tmp_path / "shades.toml"
    config.write_text('recipe = "mlp"\ndata = "shades"\nepochs = 8\nlr = 0.01\nhidden = [16]\n'
                      "val_fraction = 0.25\ntest_fraction = 0.25\n")
    runs = tmp_path / "runs"
    assert main(["train", str(config), "--runs-dir", str(runs), "--no-progress"]) == 0
    run = _run_dir(runs)
    results = json.loads((run / "results.json").read_text())
    assert results["test"]["accuracy"] == 1.0  # dark vs light squares
    saved = json.loads((run / "config.json").read_text())
    assert saved["recipe"] == "mlp" and saved["hidden"] == [16] and saved["data"] == str(tmp_path / "shades")
    capsys.readouterr()
    assert main(["predict", str(run), str(tmp_path / "shades" / "light" / "0.png")]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("0,light,")


def test_npz_data_and_summary(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 3)).astype(np.float32)
    np.savez(tmp_path / "d.npz", X=x, y=(x[:, 0] > 0).astype(np.int64))
    assert main(["summary", "mlp", "--data", str(tmp_path / "d.npz"), "--set", "hidden=[8]"]) == 0
    out = capsys.readouterr().out
    assert "Linear" in out and "[1, 8]" in out and "50 parameters" in out  # 3*8+8 + 8*2+2


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('recipe = "mlp"\ndata = "d.csv"\ntarget = "species"\nepochz = 3\n',
         "unknown key 'epochz' for recipe 'mlp'; did you mean 'epochs'?"),
        ('recipe = "mlp"\ndata = "d.csv"\ntarget = "species"\nlr = -0.1\n',
         "lr = -0.1 is out of range, expected a positive number"),
        ('recipe = "mlp"\ndata = "d.csv"\ntarget = "species"\nepochs = "ten"\n',
         "epochs = 'ten' is str, expected an integer"),
        ('data = "d.csv"\n', 'missing recipe = "<name>"'),
        ('recipe = "mlp"\ndata = [\n', "invalid TOML"),
    ],
)
def test_bad_config_files_exit_2_with_one_line(tmp_path, capsys, config, message):
    _write_csv(tmp_path / "d.csv", n=30)
    path = tmp_path / "c.toml"
    path.write_text(config)
    assert main(["train", str(path), "--runs-dir", str(tmp_path / "runs"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and str(path) in err[0], err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target", "specie"], "target column 'specie' not found"),
        (["--target", "species", "--data", "nothing.csv"], "nothing.csv does not exist"),
    ],
)
def test_bad_data_exits_nonzero_with_one_line(tmp_path, capsys, extra, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_csv(tmp_path / "d.csv", n=30)
    assert main(["train", "mlp", "--data", "d.csv", *extra, "--runs-dir", "runs", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nerve: error:") and message in err[0], err
    assert not (tmp_path / "runs").exists()


def test_interrupted_run_resumes_to_the_same_weights_as_an_uninterrupted_one(tmp_path, capsys, monkeypatch):
    from nerve.io import load
    from nerve.train import Trainer, load_checkpoint

    data = _write_csv(tmp_path / "d.csv")
    common = ["train", "mlp", "--data", str(data), "--target", "species", "--epochs", "4", "--no-progress",
              "--set", "patience=100"]
    assert main([*common, "--runs-dir", str(tmp_path / "straight")]) == 0

    real_step = Trainer.train_step

    def interrupt_in_epoch_3(self, batch):
        if self.epoch == 2 and self.global_step == 12:  # 5 steps per epoch: mid-way through epoch 3
            raise KeyboardInterrupt
        return real_step(self, batch)

    monkeypatch.setattr(Trainer, "train_step", interrupt_in_epoch_3)
    assert main([*common, "--runs-dir", str(tmp_path / "broken")]) == 130
    monkeypatch.setattr(Trainer, "train_step", real_step)
    run = _run_dir(tmp_path / "broken")
    capsys.readouterr()
    assert main(["runs", "--runs-dir", str(tmp_path / "broken")]) == 0
    assert "interrupted" in capsys.readouterr().out
    assert main(["resume", run.name, "--runs-dir", str(tmp_path / "broken"), "--no-progress"]) == 0
    assert "resuming" in capsys.readouterr().out

    # model.safetensors holds the best epoch's weights (early stopping restores them), which might predate
    # the interruption; the last checkpoint holds the weights after the final step.
    straight = load_checkpoint(_run_dir(tmp_path / "straight") / "checkpoints" / "last")
    resumed = load_checkpoint(run / "checkpoints" / "last")
    assert resumed["global_step"] == straight["global_step"] == 20
    for k, v in straight["model"].items():
        np.testing.assert_array_equal(resumed["model"][k], v, err_msg=k)
    for k, v in load(_run_dir(tmp_path / "straight") / "model.safetensors").items():
        np.testing.assert_array_equal(load(run / "model.safetensors")[k].data, v.data, err_msg=k)
    epochs = [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3, 4]


def test_runs_compare_and_tensorboard_event_files(tmp_path, capsys):
    data = _write_csv(tmp_path / "d.csv", n=60)
    runs = tmp_path / "runs"
    for lr, name in (("0.01", "fast"), ("0.001", "slow")):
        assert main(["train", "mlp", "--data", str(data), "--target", "species", "--epochs", "2", "--lr", lr,
                     "--name", name, "--runs-dir", str(runs), "--no-progress", "--tensorboard"]) == 0
    fast = next(p for p in runs.iterdir() if p.name.startswith("fast"))
    (events,) = fast.glob("events.out.tfevents.*")
    # every metric of every epoch is in the event file, with the value metrics.jsonl holds
    scalars = {(v.tag, e.step): v.simple_value for e in _read_events(events) for v in e.summary.value}
    for record in map(json.loads, (fast / "metrics.jsonl").read_text().splitlines()):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
            tag = f"{key.removeprefix('val_')}/{'validation' if key.startswith('val_') else 'train'}"
            assert scalars[tag, record["epoch"]] == pytest.approx(record[key], rel=1e-6), (tag, record)
    capsys.readouterr()
    assert main(["runs", "--runs-dir", str(runs), "--compare", "fast", "slow"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split() == ["lr", "0.01", "0.001"] for line in lines), lines
    assert main(["runs", "--runs-dir", str(runs), "--compare", "fast", "nope"]) == 2
    assert "no run named 'nope'" in capsys.readouterr().err


def _read_events(path):
    """The Event protos of a TensorBoard file (TFRecord: length, its crc, the record, its crc)."""
    from tensorboardX.proto.event_pb2 import Event

    raw, pos, events = path.read_bytes(), 0, []
    while pos < len(raw):
        (length,) = struct.unpack_from("<Q", raw, pos)
        events.append(Event.FromString(raw[pos + 12 : pos + 12 + length]))
        pos += 12 + length + 4
    return events

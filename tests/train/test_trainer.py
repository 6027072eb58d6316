import io
import json
import math

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.data import DataLoader, TensorDataset
from nerve.train import Callback, Trainer
from nerve.train.run import RunLogger


def _blobs(n=256, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.0]], dtype=np.float32)
    x = centers[y] + 0.5 * rng.standard_normal((n, 2)).astype(np.float32)
    return TensorDataset(x, y)


def _trainer(**kwargs):
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = nerve.optim.Adam(model.parameters(), lr=0.05)
    return Trainer(model, opt, nn.CrossEntropyLoss(), metrics=["accuracy"], progress=False, **kwargs)


def test_fit_learns_and_history_records_every_epoch():
    data = DataLoader(_blobs(), batch_size=32, shuffle=True)
    trainer = _trainer()
    before = trainer.evaluate(data)["loss"]
    history = trainer.fit(data, epochs=5, val=DataLoader(_blobs(seed=1), batch_size=64))
    assert history.epoch == [0, 1, 2, 3, 4]
    assert len(history.history["loss"]) == 5 and len(history.history["val_accuracy"]) == 5
    assert history.history["loss"][-1] < before / 3
    assert history.history["val_accuracy"][-1] > 0.95


def test_epoch_metrics_are_sample_weighted_means():
    # 10 samples in batches of 4, 4, 2: the epoch accuracy must equal the accuracy over all 10
    ds = _blobs(n=10)
    trainer = _trainer()
    logs = trainer.evaluate(DataLoader(ds, batch_size=4))
    x, y = ds.get_batch(np.arange(10))
    with nerve.no_grad():
        out = trainer.model(x)
    assert logs["accuracy"] == pytest.approx(float((out.data.argmax(1) == y.data).mean()))
    assert logs["loss"] == pytest.approx(nn.functional.cross_entropy(out, y).item(), rel=1e-5)


def test_callback_hooks_run_in_keras_order_and_can_stop_training():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            events.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            events.append(f"epoch_begin{epoch}")

        def on_epoch_end(self, epoch, logs=None):
            events.append(f"epoch_end{epoch}")
            if epoch == 1:
                self.trainer.stop_training = True

        def on_train_end(self, logs=None):
            events.append("train_end")

    trainer = _trainer(callbacks=[Recorder()])
    trainer.fit(DataLoader(_blobs(n=32), batch_size=16), epochs=10)
    assert events == ["train_begin", "epoch_begin0", "epoch_end0", "epoch_begin1", "epoch_end1", "train_end"]


def test_on_train_end_runs_even_when_a_step_raises():
    ended = []

    class End(Callback):
        def on_train_end(self, logs=None):
            ended.append(True)

    class Broken(Trainer):
        def train_step(self, batch):
            raise RuntimeError("boom")

    model = nn.Linear(2, 3)
    trainer = Broken(model, nerve.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), progress=False,
                     callbacks=[End()])
    with pytest.raises(RuntimeError, match="boom"):
        trainer.fit(DataLoader(_blobs(n=8), batch_size=4), epochs=1)
    assert ended == [True]


def test_nan_loss_stops_training_with_a_clear_reason():
    trainer = _trainer()
    trainer.optimizer.param_groups[0]["lr"] = 1e30  # diverges to inf/nan within a few steps
    with np.errstate(all="ignore"):
        history = trainer.fit(DataLoader(_blobs(), batch_size=8), epochs=3)
    assert trainer.stop_reason is not None
    assert "epoch 1" in trainer.stop_reason and "step" in trainer.stop_reason
    assert len(history.epoch) == 1
    assert not math.isfinite(history.history["loss"][0]) or history.history["loss"][0] > 1e3


def test_scheduler_steps_per_epoch_and_the_lr_used_in_each_epoch_is_logged():
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = nerve.optim.Adam(model.parameters(), lr=0.05)
    sched = nerve.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    trainer = Trainer(model, opt, nn.CrossEntropyLoss(), scheduler=sched, progress=False)
    history = trainer.fit(DataLoader(_blobs(n=32), batch_size=16), epochs=3)
    assert history.history["lr"] == pytest.approx([0.05, 0.025, 0.0125])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.00625)


def test_scheduler_can_step_every_batch():
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = nerve.optim.Adam(model.parameters(), lr=0.05)
    sched = nerve.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    trainer = Trainer(model, opt, nn.CrossEntropyLoss(), scheduler=sched, scheduler_interval="step", progress=False)
    history = trainer.fit(DataLoader(_blobs(n=32), batch_size=16), epochs=2)  # 2 steps per epoch
    assert history.history["lr"] == pytest.approx([0.05, 0.0125])  # the lr each epoch started with
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05 * 0.5**4)


def test_progress_bar_off_a_terminal_prints_one_line_per_epoch():
    from nerve.train import ProgressBar

    out = io.StringIO()
    trainer = _trainer(callbacks=[ProgressBar(file=out, live=False)])
    trainer.fit(DataLoader(_blobs(n=64), batch_size=16), epochs=3)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3") and "loss" in lines[0] and "samples/s" in lines[0]


def test_run_logger_writes_config_metrics_and_curves(tmp_path):
    logger = RunLogger(tmp_path / "run", {"lr": 0.05})
    trainer = _trainer(callbacks=[logger])
    trainer.fit(DataLoader(_blobs(n=64), batch_size=16), epochs=2, val=DataLoader(_blobs(n=32, seed=3), batch_size=32))
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == {"lr": 0.05}
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(records[0])
    png = (tmp_path / "run" / "learning_curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_predict_returns_outputs_in_order_without_changing_mode():
    ds = _blobs(n=20)
    trainer = _trainer()
    trainer.model.train()
    out = trainer.predict(DataLoader(ds, batch_size=7))
    assert out.shape == (20, 3)
    assert trainer.model.training
    with nerve.no_grad():
        np.testing.assert_allclose(out, trainer.model(ds.get_batch(np.arange(20))[0]).data, rtol=1e-6)


def test_batches_that_are_not_input_target_pairs_are_refused_naming_the_batch():
    # a loader of bare tensors used to be indexed as rows: batch[0] and batch[1] became x and y
    trainer = _trainer()
    with pytest.raises(TypeError, match=r"^Trainer: expected each batch to be an \(inputs, targets\) pair, got a "
                                        r"Tensor of shape \(4, 2\); yield \(x, y\) from the loader \(e\.g\. a "
                                        r"TensorDataset of inputs and targets\), or use Trainer\.predict for inputs "
                                        r"alone$"):
        trainer.fit([nerve.randn(4, 2)], epochs=1)
    x, y = nerve.randn(4, 2), nerve.tensor([0, 1, 2, 0])
    for batch, n in [((x,), 1), ((x, y, y), 3)]:
        with pytest.raises(ValueError, match=rf"^Trainer: expected each batch to be an \(inputs, targets\) pair, got "
                                             rf"a tuple of length {n}; override train_step and eval_step to use other "
                                             rf"batch layouts$"):
            trainer.fit([batch], epochs=1)
    with pytest.raises(ValueError, match=r"^Trainer: expected each batch .* got a list of length 1;"):
        trainer.evaluate([[x]])
    assert trainer.fit([[x, y]], epochs=1).epoch == [0]  # a list pair is a pair


def test_loss_given_by_name_as_fit_takes_it_and_bad_losses_fail_at_construction():
    model = nn.Linear(2, 3)
    opt = nerve.optim.SGD(model.parameters(), lr=0.1)
    trainer = Trainer(model, opt, "cross_entropy", progress=False)
    assert isinstance(trainer.loss_fn, nn.CrossEntropyLoss)
    x, y = nerve.randn(4, 2), nerve.tensor([0, 1, 2, 0])
    assert trainer.evaluate([(x, y)])["loss"] == pytest.approx(nn.functional.cross_entropy(model(x), y).item())
    with pytest.raises(ValueError, match=r"^Trainer: unknown loss 'crossentropy'; choose from \['bce', "
                                         r"'bce_with_logits', 'cross_entropy', 'huber', 'l1', 'mse', 'nll'\] or pass "
                                         r"a function$"):
        Trainer(model, opt, "crossentropy")
    with pytest.raises(TypeError, match=r"^Trainer: loss_fn must be a name from \['bce', 'bce_with_logits', "
                                        r"'cross_entropy', 'huber', 'l1', 'mse', 'nll'\] or a function "
                                        r"loss\(output, target\), got int$"):
        Trainer(model, opt, 3)
    with pytest.raises(TypeError, match=r"^Trainer: loss_fn is the class CrossEntropyLoss, expected an instance; "
                                        r"pass CrossEntropyLoss\(\)$"):
        Trainer(model, opt, nn.CrossEntropyLoss)

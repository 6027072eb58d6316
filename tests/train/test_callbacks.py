"""Callbacks: early stopping, NaN guard, LR scheduling, gradient clipping; metrics; descent flavours."""

import math
import re

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.data import DataLoader, TensorDataset
from nerve.train import (
    Callback,
    EarlyStopping,
    GradientClipping,
    LearningRateScheduler,
    Trainer,
    make_loader,
    perplexity,
    top_k_accuracy,
)


def _blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.0]], dtype=np.float32)
    return TensorDataset(centers[y] + 0.7 * rng.standard_normal((n, 2)).astype(np.float32), y)


def _trainer(lr=0.05, **kwargs):
    nerve.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    return Trainer(model, nerve.optim.SGD(model.parameters(), lr=lr), nn.CrossEntropyLoss(),
                   metrics=["accuracy"], progress=False, **kwargs)


class _ScriptedVal(Callback):
    """Overwrite val_loss with a scripted sequence (so the best epoch is known) and snapshot each epoch."""

    def __init__(self, values, key="val_loss"):
        self.values, self.key = values, key
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.weights.append({k: v.data.copy() for k, v in self.trainer.model.state_dict().items()})


def _fit_with_script(values, epochs, patience, monitor="val_loss", **kwargs):
    script = _ScriptedVal(values, monitor)
    stopper = EarlyStopping(monitor=monitor, patience=patience, **kwargs)
    trainer = _trainer(callbacks=[script, stopper])  # the script runs first, so the stopper sees its value
    trainer.fit(DataLoader(_blobs(), batch_size=30), epochs=epochs)
    return trainer, script, stopper


def _assert_weights(trainer, expected):
    for k, v in trainer.model.state_dict().items():
        np.testing.assert_array_equal(v.data, expected[k], err_msg=k)


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch():
    trainer, script, stopper = _fit_with_script([1.0, 0.5, 0.7, 0.6, 0.55, 0.9, 0.1], epochs=7, patience=2)
    assert len(trainer.history.epoch) == 4  # epoch index 1 was best; 2 and 3 did not improve; stop at 3
    assert stopper.best_epoch == 1 and stopper.best == 0.5
    assert "early stopping: val_loss has not improved for 2 epochs" in trainer.stop_reason
    assert trainer.restored_epoch == 1
    _assert_weights(trainer, script.weights[1])


def test_early_stopping_restores_best_weights_when_the_epochs_run_out():
    trainer, script, _ = _fit_with_script([1.0, 0.4, 0.6, 0.8], epochs=4, patience=10)
    assert len(trainer.history.epoch) == 4 and trainer.stop_reason is None
    _assert_weights(trainer, script.weights[1])


def test_early_stopping_min_delta_and_max_mode():
    _, _, stopper = _fit_with_script([1.0, 0.99, 0.98, 0.97], epochs=4, patience=10, min_delta=0.05)
    assert stopper.best_epoch == 0  # improvements of 0.01 do not count
    assert EarlyStopping(monitor="val_accuracy").tracker.mode == "max"
    # max mode: a rising accuracy improves, a falling one does not (min mode would keep epoch 0, stop at 2)
    trainer, script, stopper = _fit_with_script(
        [0.5, 0.9, 0.8, 0.2, 0.95], epochs=5, patience=2, monitor="val_accuracy"
    )
    assert len(trainer.history.epoch) == 4 and stopper.best_epoch == 1 and stopper.best == 0.9
    _assert_weights(trainer, script.weights[1])


def test_early_stopping_ignores_the_warm_up_epochs():
    # start_from_epoch=2: the lowest value, epoch 0's 0.1, is not monitored; the best is epoch 3's 0.5
    _, _, stopper = _fit_with_script([0.1, 0.2, 0.6, 0.5, 0.7], epochs=5, patience=10, start_from_epoch=2)
    assert stopper.best_epoch == 3 and stopper.best == 0.5


def test_early_stopping_restores_best_weights_when_the_loss_becomes_nan():
    class Explode(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                self.trainer.optimizer.param_groups[0]["lr"] = 1e30

    script = _ScriptedVal([0.5, 0.6, 0.7, 0.8, 0.9])
    trainer = _trainer(callbacks=[script, EarlyStopping(patience=10), Explode()])
    with np.errstate(all="ignore"):
        trainer.fit(DataLoader(_blobs(), batch_size=10), epochs=5)
    assert trainer.failed and "loss became" in trainer.stop_reason
    _assert_weights(trainer, script.weights[0])
    assert all(np.isfinite(p.data).all() for p in trainer.model.parameters())


def test_early_stopping_names_a_missing_monitor():
    trainer = _trainer(callbacks=[EarlyStopping(monitor="val_loss")])
    with pytest.raises(ValueError, match=r"EarlyStopping: monitored quantity 'val_loss' is not in the epoch logs "
                                         r"\(available: accuracy, loss, lr\); pass val= to fit"):
        trainer.fit(DataLoader(_blobs(), batch_size=30), epochs=2)


def test_nan_loss_stops_training_naming_epoch_step_and_loss():
    trainer = _trainer(lr=1e30)
    with np.errstate(all="ignore"):
        history = trainer.fit(DataLoader(_blobs(), batch_size=10), epochs=3, val=DataLoader(_blobs(30, 1)))
    assert trainer.failed
    assert re.fullmatch(
        r"loss became (nan|-?inf) at epoch 1, step (\d+) \(global step \2\): training stopped "
        r"\(try a lower learning rate or gradient clipping\)",
        trainer.stop_reason,
    ), trainer.stop_reason
    assert len(history.epoch) == 1 and "val_loss" not in history.history  # no validation of a diverged model


def test_on_train_end_runs_even_when_a_step_raises():
    ended = []

    class Record(Callback):
        def on_train_end(self, logs=None):
            ended.append(True)

    def bad_loss(out, y):
        raise RuntimeError("boom")

    trainer = _trainer(callbacks=[Record()])
    trainer.loss_fn = bad_loss
    with pytest.raises(RuntimeError, match="boom"):
        trainer.fit(DataLoader(_blobs(), batch_size=30), epochs=2)
    assert ended == [True]


def test_learning_rate_scheduler_accepts_a_keras_style_function():
    sched = LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5**epoch)
    trainer = _trainer(callbacks=[sched])
    history = trainer.fit(DataLoader(_blobs(), batch_size=30), epochs=3)
    # the function runs at epoch begin; the logged lr is the one the epoch trained with
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.025])


def test_reduce_lr_on_plateau_is_stepped_with_the_validation_loss():
    trainer = _trainer()
    plateau = nerve.optim.lr_scheduler.ReduceLROnPlateau(trainer.optimizer, patience=0, factor=0.5)
    script = _ScriptedVal([1.0, 1.0, 1.0])
    trainer.callbacks.callbacks[2:2] = [script, LearningRateScheduler(plateau)]
    trainer.callbacks.set_trainer(trainer)
    trainer.fit(DataLoader(_blobs(), batch_size=30), epochs=3)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.05 * 0.25)


def test_gradient_clipping_bounds_the_norm_before_the_step():
    norms = []

    class Probe(Callback):
        def on_before_optimizer_step(self):
            g = np.concatenate([p.grad.data.ravel() for p in self.trainer.model.parameters()])
            norms.append(float(np.linalg.norm(g)))

    trainer = _trainer(grad_clip_norm=0.01, callbacks=[Probe()])
    clip = next(c for c in trainer.callbacks.callbacks if isinstance(c, GradientClipping))
    trainer.fit(DataLoader(_blobs(), batch_size=30), epochs=1)
    assert clip.last_norm > 0.01  # the raw norm was larger ...
    assert max(norms) == pytest.approx(0.01, rel=1e-5)  # ... and the step saw it clipped

    values = []

    class ProbeValue(Callback):
        def on_before_optimizer_step(self):
            values.append(max(float(np.abs(p.grad.data).max()) for p in self.trainer.model.parameters()))

    trainer = _trainer(grad_clip_value=1e-3, callbacks=[ProbeValue()])
    trainer.fit(DataLoader(_blobs(), batch_size=30), epochs=1)
    assert max(values) <= np.float32(1e-3)
    assert max(values) == pytest.approx(1e-3)  # larger elements existed and were clipped: the bound was active
    with pytest.raises(ValueError, match="GradientClipping: max_norm must be positive, got -1"):
        GradientClipping(max_norm=-1)


@pytest.mark.parametrize("batch_size, steps", [("full", 1), (1, 120), (32, 4)],
                         ids=["batch", "stochastic", "mini-batch"])
def test_fit_on_a_dataset_selects_the_flavour_of_gradient_descent(batch_size, steps):
    trainer = _trainer(lr=0.01)
    trainer.fit(_blobs(), epochs=2, batch_size=batch_size)
    assert trainer.steps_per_epoch == steps and trainer.global_step == 2 * steps


def test_make_loader_rejects_bad_batch_sizes():
    with pytest.raises(ValueError, match="batch_size must be a positive integer or 'full', got 0"):
        make_loader(_blobs(), 0)
    with pytest.raises(ValueError, match="got 'half'"):
        make_loader(_blobs(), "half")


def test_top_k_accuracy_and_perplexity_metrics():
    out = np.array([[0.1, 0.5, 0.4], [0.8, 0.15, 0.05], [0.2, 0.3, 0.5]])
    target = np.array([2, 2, 0])
    assert top_k_accuracy(out, target, k=1) == pytest.approx(0.0)
    assert top_k_accuracy(out, target, k=2) == pytest.approx(1 / 3)
    assert top_k_accuracy(out, target, k=3) == 1.0
    assert perplexity(math.log(7.0)) == pytest.approx(7.0)
    trainer = _trainer()
    trainer.metrics = []
    trainer.loss_metrics = ["perplexity"]
    logs = trainer.evaluate(DataLoader(_blobs(), batch_size=7))
    assert logs["perplexity"] == pytest.approx(math.exp(logs["loss"]))  # exp of the mean, not mean of exps


def test_metric_names_resolve_and_unknown_names_are_listed():
    nerve.manual_seed(0)
    model = nn.Linear(2, 3)
    trainer = Trainer(model, nerve.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(),
                      metrics=["top2", "perplexity"], progress=False)
    assert [n for n, _ in trainer.metrics] == ["top2_accuracy"] and trainer.loss_metrics == ["perplexity"]
    with pytest.raises(ValueError, match="unknown metric 'acuracy'; choose from"):
        Trainer(model, trainer.optimizer, nn.CrossEntropyLoss(), metrics=["acuracy"])


def test_regression_metrics_do_not_broadcast_n_by_one_against_n():
    from nerve.train.metrics import mae, mse

    out = np.array([[1.0], [2.0], [3.0]])
    target = np.array([1.0, 2.0, 5.0])
    assert mse(out, target) == pytest.approx(4 / 3) and mae(out, target) == pytest.approx(2 / 3)


def test_keras_style_fit_in_one_call():
    from nerve.train import fit

    nerve.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    history = fit(model, _blobs(), epochs=5, lr=0.02, metrics=["accuracy"], val=_blobs(60, seed=1),
                  batch_size=16, progress=False)
    assert history.history["val_accuracy"][-1] > 0.9 and history.trainer.global_step == 5 * 8
    with pytest.raises(ValueError, match="fit: unknown optimizer 'adamm'"):
        fit(model, _blobs(), optimizer="adamm")
    with pytest.raises(ValueError, match="fit: unknown loss 'xent'"):
        fit(model, _blobs(), loss="xent")

"""Checkpoints: exact resume, crash safety (kill -9 mid-write), corruption detection."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.data import DataLoader, TensorDataset
from nerve.io import CheckpointError
from nerve.train import Callback, EarlyStopping, ModelCheckpoint, Trainer, load_checkpoint, save_checkpoint


def _data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64) + (x[:, 3] > 1)
    return TensorDataset(x, y)


def _setup(seed, own_generator=True):
    """A run with every source of state a resume must restore: dropout (global RNG), a shuffled loader,
    Adam moments, a per-step LR schedule and early-stopping patience."""
    nerve.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
    opt = nerve.optim.Adam(model.parameters(), lr=0.01)
    sched = nerve.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.7)
    gen = nerve.Generator(123) if own_generator else None
    loader = DataLoader(_data(), batch_size=16, shuffle=True, generator=gen)
    val = DataLoader(_data(40, seed=1), batch_size=40)
    stopper = EarlyStopping(monitor="val_loss", patience=10)
    trainer = Trainer(model, opt, nn.CrossEntropyLoss(), metrics=["accuracy"], scheduler=sched,
                      scheduler_interval="step", callbacks=[stopper], progress=False)
    return trainer, loader, val


class _StopAt(Callback):
    def __init__(self, step, path):
        self.step, self.path = step, path

    def on_train_batch_end(self, batch, logs=None):
        if self.trainer.global_step == self.step:
            self.trainer.save_checkpoint(self.path)
            self.trainer.stop_training = True


def _params(trainer):
    return {k: v.data.copy() for k, v in trainer.model.state_dict().items()}


@pytest.mark.parametrize("own_generator", [True, False], ids=["loader-generator", "global-generator"])
@pytest.mark.parametrize("stop_step", [7, 10], ids=["mid-epoch", "epoch-boundary"])
def test_resume_is_bit_exact(tmp_path, own_generator, stop_step):
    epochs = 4  # 5 batches per epoch: 20 steps
    straight, loader, val = _setup(0, own_generator)
    straight.fit(loader, epochs=epochs, val=val)

    first, loader, val = _setup(0, own_generator)
    first.callbacks.callbacks.append(_StopAt(stop_step, tmp_path / "ckpt"))
    first.callbacks.set_trainer(first)
    first.fit(loader, epochs=epochs, val=val)
    assert first.global_step == stop_step

    # a fresh process would build everything anew, with other initial weights and RNG states
    resumed, loader, val = _setup(99, own_generator)
    resumed.load_checkpoint(tmp_path / "ckpt")
    history = resumed.fit(loader, epochs=epochs, val=val)

    assert resumed.global_step == straight.global_step == 20
    for k, v in _params(straight).items():
        np.testing.assert_array_equal(_params(resumed)[k], v, err_msg=k)
    assert history.history == straight.history.history  # partial-epoch averages were restored too
    assert resumed.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]


def test_model_checkpoint_writes_best_and_last_and_last_resumes(tmp_path):
    trainer, loader, val = _setup(0)
    ckpt = ModelCheckpoint(tmp_path / "checkpoints", monitor="val_accuracy", config={"lr": 0.01})
    trainer.callbacks.callbacks.append(ckpt)
    trainer.callbacks.set_trainer(trainer)
    trainer.fit(loader, epochs=3, val=val)
    last = load_checkpoint(tmp_path / "checkpoints" / "last")
    best = load_checkpoint(tmp_path / "checkpoints" / "best.json")
    assert last["epoch"] == 3 and last["config"] == {"lr": 0.01}
    accs = trainer.history.history["val_accuracy"]
    assert best["epoch"] == int(np.argmax(accs)) + 1  # first epoch reaching the max
    assert ckpt.tracker.best == max(accs)
    # only the committed tensors file of each checkpoint remains
    assert len(list((tmp_path / "checkpoints").glob("last.*.safetensors"))) == 1


def test_checkpoint_round_trips_nested_state_with_arrays_ints_and_tuples(tmp_path):
    state = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "n": {3: np.ones(2), "x": (1, 2.5, "s")},
             "none": None, "inf": float("inf"), "t": nerve.tensor([1.0, 2.0])}
    save_checkpoint(tmp_path / "c", state)
    out = load_checkpoint(tmp_path / "c")
    np.testing.assert_array_equal(out["a"], state["a"])
    assert out["a"].dtype == np.float32
    np.testing.assert_array_equal(out["n"][3], np.ones(2))
    assert out["n"]["x"] == (1, 2.5, "s") and out["none"] is None and out["inf"] == float("inf")
    np.testing.assert_array_equal(out["t"], [1.0, 2.0])


def test_unstorable_state_is_a_clear_error(tmp_path):
    with pytest.raises(TypeError, match="cannot store a object at 'bad'"):
        save_checkpoint(tmp_path / "c", {"bad": object()})


def _flip_byte(path, offset):
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("where", ["tensors-payload", "tensors-header", "sidecar-value", "truncated-tensors",
                                   "truncated-sidecar", "missing-tensors"])
def test_corruption_is_detected_and_nothing_is_loaded(tmp_path, where):
    trainer, loader, val = _setup(0)
    trainer.fit(loader, epochs=1, val=val)
    trainer.save_checkpoint(tmp_path / "c")
    tensors = next(tmp_path.glob("c.*.safetensors"))
    sidecar = tmp_path / "c.json"
    if where == "tensors-payload":
        _flip_byte(tensors, tensors.stat().st_size - 5)
    elif where == "tensors-header":
        _flip_byte(tensors, 20)
    elif where == "sidecar-value":  # still valid JSON: the epoch counter 1 -> 0
        text = sidecar.read_text()
        assert '"epoch": 1' in text
        sidecar.write_text(text.replace('"epoch": 1', '"epoch": 0', 1))
    elif where == "truncated-tensors":
        tensors.write_bytes(tensors.read_bytes()[:-100])
    elif where == "truncated-sidecar":
        sidecar.write_bytes(sidecar.read_bytes()[:50])
    else:
        tensors.unlink()

    fresh, _, _ = _setup(5)
    before = _params(fresh)
    # the error names the damaged file and what is wrong with it
    expected = {
        "sidecar-value": r"c\.json: checksum mismatch, the checkpoint sidecar is corrupted",
        "truncated-sidecar": r"c\.json: corrupted or truncated checkpoint sidecar",
        "missing-tensors": rf"c\.json: its tensors file {re.escape(tensors.name)} is missing",
    }.get(where, rf"{re.escape(tensors.name)}: checksum mismatch, the tensors file is truncated or corrupted")
    with pytest.raises(CheckpointError, match=expected):
        fresh.load_checkpoint(tmp_path / "c")
    for k, v in before.items():  # nothing was half-loaded
        np.testing.assert_array_equal(_params(fresh)[k], v)
    assert fresh.epoch == 0


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "nothing")


def test_crash_between_tensors_and_sidecar_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    save_checkpoint(tmp_path / "c", {"version": 1, "w": np.full(10, 1.0)})
    import nerve.train.checkpoint as ckpt_mod

    real = ckpt_mod.atomic_write_bytes

    def crash_on_sidecar(path, payload):
        if str(path).endswith(".json"):
            raise KeyboardInterrupt("simulated crash")
        real(path, payload)

    monkeypatch.setattr(ckpt_mod, "atomic_write_bytes", crash_on_sidecar)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "c", {"version": 2, "w": np.full(10, 2.0)})
    monkeypatch.undo()
    out = load_checkpoint(tmp_path / "c")
    assert out["version"] == 1 and (out["w"] == 1.0).all()


_WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from nerve.train.checkpoint import save_checkpoint
    path = sys.argv[1]
    v = 0
    while True:
        v += 1
        # ~16 MB per checkpoint so that a kill often lands mid-write
        save_checkpoint(path, {"version": v, "w": np.full(4_000_000, float(v), np.float32)})
        print(v, flush=True)
""")


def test_kill_9_during_checkpoint_writes_leaves_a_loadable_checkpoint(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    rng = np.random.default_rng(0)
    for trial in range(4):
        proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "c")], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout.readline().strip() == "1"  # one checkpoint is committed
        time.sleep(float(rng.uniform(0.0, 0.3)))  # then kill at a random point of a later write
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        out = load_checkpoint(tmp_path / "c")
        assert out["version"] >= 1, trial
        assert (out["w"] == float(out["version"])).all()  # tensors and sidecar belong to the same save
    save_checkpoint(tmp_path / "c", {"version": 0})  # the next save clears what the killed writers left
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 3 and "c.json" in names and "writer.py" in names, names  # + one tensors file


def test_sidecar_is_plain_json_naming_its_tensors_file(tmp_path):
    save_checkpoint(tmp_path / "c", {"epoch": 3, "w": np.zeros(2)})
    sidecar = json.loads((tmp_path / "c.json").read_text())
    body = sidecar["body"]
    assert body["format"] == "nerve-checkpoint" and body["state"]["epoch"] == 3
    assert (tmp_path / body["tensors"]["file"]).exists()

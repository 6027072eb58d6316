import numpy as np
import pytest

import nerve
from nerve import nn
from nerve.io import CheckpointError, load, read_metadata, save


def test_round_trip_restores_model_exactly(tmp_path):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    path = tmp_path / "m.safetensors"
    save(model.state_dict(), path, metadata={"recipe": "demo"})
    other = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    other.load_state_dict(load(path))
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=k)
    assert read_metadata(path)["recipe"] == "demo"


def test_flipped_byte_is_detected(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"w": nerve.randn(10, 10)}, path)
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0x01  # inside the tensor payload
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load(path)


def test_truncated_file_is_detected(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"w": nerve.randn(10, 10)}, path)
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(CheckpointError, match=r"truncated|corrupted"):
        load(path)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load(tmp_path / "nope.safetensors")


def test_failed_write_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    save({"w": nerve.ones(3)}, path)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError, match="disk full"):
        save({"w": nerve.zeros(3)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(load(path)["w"].data, np.ones(3, dtype=np.float32))
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temp file left behind


def test_loads_files_written_by_torch(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    t = torch.nn.Linear(3, 2)
    save_file(t.state_dict(), str(tmp_path / "t.safetensors"))
    n = nn.Linear(3, 2)
    n.load_state_dict(load(tmp_path / "t.safetensors"))
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(n(nerve.tensor(x)).data, t(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-6)

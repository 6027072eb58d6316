import re

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
    assert not np.array_equal(other[0].weight.data, model[0].weight.data)  # else the comparison below is vacuous
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


@pytest.mark.parametrize("keep", [50, -4], ids=["in-header", "in-payload"])
def test_truncated_file_is_detected(tmp_path, keep):
    path = tmp_path / "m.safetensors"
    save({"w": nerve.randn(10, 10)}, path)
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(CheckpointError, match=r"m\.safetensors: unreadable or truncated"):
        load(path)


def test_round_trip_keeps_dtypes_and_shapes(tmp_path):
    state = {
        "f64": np.arange(6, dtype=np.float64).reshape(2, 3),
        "count": np.array(7, dtype=np.int64),
        "transposed": np.arange(12, dtype=np.float32).reshape(3, 4).T,
        "mask": np.array([True, False]),
        "empty": np.zeros((0, 3), np.float32),
        "half": np.arange(4, dtype=np.float16),
        "tensor": nerve.randn(2, 2),
    }
    path = tmp_path / "m.safetensors"
    save(state, path, metadata={"epoch": 3})
    out = load(path)
    assert sorted(out) == sorted(state)
    for k, v in state.items():
        expected = v.data if isinstance(v, nerve.Tensor) else v
        assert isinstance(out[k], nerve.Tensor) and out[k].dtype == expected.dtype, k
        assert out[k].shape == expected.shape, k  # a 0-d count stays 0-d, a transposed view keeps its shape
        np.testing.assert_array_equal(out[k].data, expected, err_msg=k)
    assert read_metadata(path)["epoch"] == "3"  # metadata values are stored as strings


def test_not_a_checkpoint_and_bad_keys_are_clear_errors(tmp_path):
    path = tmp_path / "notes.safetensors"
    path.write_bytes(b"just some text, not a checkpoint")
    with pytest.raises(CheckpointError, match=r"notes\.safetensors: unreadable or truncated"):
        load(path)
    with pytest.raises(CheckpointError, match=r"notes\.safetensors: not a safetensors file \(bad header length"):
        read_metadata(path)
    with pytest.raises(TypeError, match=r"^nerve\.io\.save: dict keys must be strings or ints, got float at 'a'"):
        save({"a": {1.5: np.zeros(2)}}, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match=r"^nerve\.io\.save: keys 1 and '1' of one dict at 'a' would collide"):
        save({"a": {"1": np.zeros(2), 1: np.zeros(2)}}, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match=r"^nerve\.io\.save: cannot store a Linear at 'model' \(tensors, arrays"):
        save({"model": nn.Linear(2, 2)}, tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


def test_verify_false_skips_only_the_checksum(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"w": np.ones(4, np.float32)}, path)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load(path)  # verification is the default
    w = load(path, verify=False)["w"].data
    assert w[:3].tolist() == [1.0, 1.0, 1.0] and w[3] != 1.0


def test_overwrite_keeps_the_file_mode(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"w": nerve.ones(3)}, path)
    path.chmod(0o640)
    save({"w": nerve.zeros(3)}, path)  # the temp file renamed over it must not reset the permissions
    assert path.stat().st_mode & 0o777 == 0o640
    np.testing.assert_array_equal(load(path)["w"].data, np.zeros(3, np.float32))


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load(tmp_path / "nope.safetensors")


def test_a_directory_is_a_checkpoint_error_naming_the_path(tmp_path):
    # a raw IsADirectoryError escaped before, outside the CheckpointError family callers catch
    folder = tmp_path / "run"
    folder.mkdir()
    for read in (load, read_metadata):
        with pytest.raises(CheckpointError, match=rf"^{re.escape(str(folder))}: is a directory, not a checkpoint "
                                                  rf"file$"):
            read(folder)


def test_save_of_something_other_than_a_dict_names_what_it_got(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match=r"^nerve\.io\.save: expected a dict of names to tensors \(e\.g\. "
                                        r"model\.state_dict\(\)\) or a dict or list holding tensors, got int$"):
        save(3, path)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^nerve\.io\.save: expected a dict of names to tensors \(e\.g\. "
                                        r"model\.state_dict\(\)\) or a dict or list holding tensors, got Linear; "
                                        r"pass model\.state_dict\(\)$"):
        save(nn.Linear(2, 2), path)  # type: ignore[arg-type]
    assert not path.exists()


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


def test_a_torch_style_checkpoint_round_trips_exactly(tmp_path):
    """``nerve.save({"model": ..., "optimizer": opt.state_dict(), "epoch": 3, ...})`` as with torch.save: nested
    dicts (int keys too), lists, tuples, numbers, strings and None come back as they went in, arrays as tensors,
    and the optimizer resumes from the loaded state exactly."""
    model = nn.Linear(3, 2)
    opt = nerve.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        model(nerve.randn(4, 3)).pow(2).mean().backward()
        opt.step()
    ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "best": None,
            "history": [0.5, 0.25], "shape": (2, 3), "note": "a.b", "tags": {1: "one", "2": "two"}}
    path = tmp_path / "ckpt.safetensors"
    nerve.save(ckpt, path)
    back = nerve.load(path, map_location="cpu", weights_only=True)

    def same(a, b):
        if isinstance(a, nerve.Tensor):
            assert isinstance(b, nerve.Tensor) and b.dtype == a.dtype and b.shape == a.shape
            np.testing.assert_array_equal(b.numpy(), a.numpy())
        elif isinstance(a, dict):
            assert type(b) is dict and list(b) == list(a)
            for k in a:
                same(a[k], b[k])
        elif isinstance(a, list | tuple):
            assert type(b) is type(a) and len(b) == len(a)
            for x, y in zip(a, b):
                same(x, y)
        else:
            assert type(b) is type(a) and b == a

    same(ckpt, back)
    resumed_model = nn.Linear(3, 2)
    resumed_model.load_state_dict(back["model"])
    resumed = nerve.optim.Adam(resumed_model.parameters(), lr=0.5)
    resumed.load_state_dict(back["optimizer"])
    x = nerve.randn(4, 3)
    for m, o in ((model, opt), (resumed_model, resumed)):
        o.zero_grad()
        m(x).pow(2).mean().backward()
        o.step()
    np.testing.assert_array_equal(resumed_model.weight.numpy(), model.weight.numpy())


def test_checkpoints_go_to_file_objects_and_their_structure_is_checksummed(tmp_path):
    import io

    buffer = io.BytesIO()
    nerve.save({"w": [nerve.ones(2), 4]}, buffer)
    buffer.seek(0)
    back = nerve.load(buffer)
    assert back["w"][1] == 4 and back["w"][0].tolist() == [1.0, 1.0]
    path = tmp_path / "c.safetensors"
    nerve.save({"w": [nerve.ones(2), 4]}, path)
    tampered = path.read_bytes().replace(b'4]', b'5]')  # the structure lives in the header, outside the arrays
    assert tampered != path.read_bytes()
    path.write_bytes(tampered)
    with pytest.raises(CheckpointError, match=r"c\.safetensors: checksum mismatch"):
        nerve.load(path)
    with pytest.raises(ValueError, match=r"^nerve\.io\.load: nerve runs on the CPU only \(NumPy\), got device 'cuda'"):
        nerve.load(path, map_location="cuda")


def test_a_state_dict_stays_plain_safetensors_for_other_tools(tmp_path):
    from safetensors.numpy import load_file

    path = tmp_path / "m.safetensors"
    nerve.save(nn.Linear(3, 2).state_dict(), path)
    assert sorted(load_file(path)) == ["bias", "weight"]
    assert "nerve.tree" not in read_metadata(path)


def test_torch_map_location_forms_and_reserved_keys(tmp_path):
    path = tmp_path / "m.safetensors"
    nerve.save({"a": nerve.ones(2)}, path)
    for where in ("cpu", nerve.device("cpu"), {"cuda:0": "cpu"}, lambda storage, location: storage):
        assert nerve.load(path, map_location=where)["a"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match=r"^nerve\.io\.load: nerve runs on the CPU only \(NumPy\), got device "
                                         r"'cuda:0'"):
        nerve.load(path, map_location={"cpu": "cuda:0"})
    with pytest.raises(TypeError, match=r"^nerve\.io\.save: the key '__tuple__' at 'user' is reserved"):
        nerve.save({"user": {"__tuple__": [1, 2]}}, tmp_path / "x.safetensors")

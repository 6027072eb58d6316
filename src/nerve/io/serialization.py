"""Saving and loading as safetensors, atomically and verified: ``nerve.save`` / ``nerve.load``.

A file is written to a temporary name in the same directory, flushed to disk and renamed over the
target, so a crash mid-write leaves the previous file intact. The SHA-256 of the tensor payload is
stored in the safetensors metadata and checked on load, so a truncated or corrupted file raises a clear
error instead of yielding a half-loaded model.

A flat dict of tensors (a ``state_dict``) is stored as plain safetensors that any tool reads. Anything else
PyTorch users pass to ``torch.save`` (``{"model": ..., "optimizer": opt.state_dict(), "epoch": 3}``: nested
dicts, lists, tuples, numbers, strings, None) is stored the same way with its structure as JSON in the header,
arrays replaced by references, and comes back as it went in. No pickle: loading never runs code.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from nerve._device import check_cpu
from nerve.tensor import Tensor, _wrap

_CHECKSUM_KEY = "nerve.sha256"
_TREE_KEY = "nerve.tree"  # the structure of a non-flat object, as JSON
_TENSOR = "__tensor__"
_TUPLE = "__tuple__"
_INT_KEYS = "__int_keys__"  # JSON object keys are strings; remember which dicts had int keys
_RESERVED = (_TENSOR, _TUPLE, _INT_KEYS)


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted or not a nerve/safetensors file."""


def _contiguous(a: np.ndarray) -> np.ndarray:
    # not np.ascontiguousarray: it turns 0-d arrays (e.g. BatchNorm's num_batches_tracked) into shape (1,)
    return a if a.flags.c_contiguous else a.copy(order="C")


def _digest(arrays: Mapping[str, np.ndarray], tree: str = "") -> str:
    h = hashlib.sha256(tree.encode())
    for name in sorted(arrays):
        a = _contiguous(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def split_arrays(obj: Any, arrays: dict[str, np.ndarray], where: str, prefix: str = "") -> Any:
    """``obj`` with every tensor/array replaced by a reference ``{"__tensor__": key}``, the arrays collected in
    ``arrays`` under dotted keys; JSON-ready. ``where`` names the caller in errors."""
    if isinstance(obj, Tensor):
        obj = obj.data
    if isinstance(obj, np.ndarray):
        key = prefix or "value"
        if key in arrays:  # dotted paths can collide ({"a.b": x, "a": {"b": y}})
            key = f"{key}#{len(arrays)}"
        arrays[key] = _contiguous(obj)
        return {_TENSOR: key}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str | int) or isinstance(k, bool):
                raise TypeError(f"{where}: dict keys must be strings or ints, got {type(k).__name__} at {prefix!r}")
            if str(k) in out:
                raise TypeError(f"{where}: keys {k!r} and {str(k)!r} of one dict at {prefix!r} would collide")
            if k in _RESERVED:
                raise TypeError(f"{where}: the key {k!r} at {prefix or 'the top level'!r} is reserved for the file's "
                                "structure; rename it")
            out[str(k)] = split_arrays(v, arrays, where, f"{prefix}.{k}" if prefix else str(k))
        int_keys = [str(k) for k in obj if isinstance(k, int)]
        if int_keys:
            out[_INT_KEYS] = int_keys
        return out
    if isinstance(obj, tuple | list):
        items = [split_arrays(v, arrays, where, f"{prefix}.{i}" if prefix else str(i)) for i, v in enumerate(obj)]
        return {_TUPLE: items} if isinstance(obj, tuple) else items
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise TypeError(f"{where}: cannot store a {type(obj).__name__} at {prefix or 'the top level'!r} (tensors, "
                    "arrays, numbers, strings, None, and lists, tuples and dicts of them)")


def join_arrays(tree: Any, arrays: Mapping[str, Any]) -> Any:
    """The inverse of :func:`split_arrays`: references replaced by ``arrays[key]``."""
    if isinstance(tree, dict):
        if set(tree) == {_TUPLE}:
            return tuple(join_arrays(v, arrays) for v in tree[_TUPLE])
        if set(tree) == {_TENSOR}:
            try:
                return arrays[tree[_TENSOR]]
            except KeyError:
                raise CheckpointError(f"checkpoint: tensor {tree[_TENSOR]!r} is missing from the file") from None
        int_keys = set(tree.get(_INT_KEYS, ()))
        return {(int(k) if k in int_keys else k): join_arrays(v, arrays) for k, v in tree.items() if k != _INT_KEYS}
    if isinstance(tree, list):
        return [join_arrays(v, arrays) for v in tree]
    return tree


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


def save(obj: Any, f: str | os.PathLike[str] | BinaryIO, metadata: Mapping[str, str] | None = None) -> None:
    """Save tensors as a safetensors file, atomically, with a checksum (``nerve.save``, like ``torch.save``).

    Args:
        obj: a ``state_dict`` (a flat dict of names to tensors/arrays: plain safetensors, readable by any tool),
            or any nest of dicts, lists and tuples of tensors, arrays, numbers, strings and None, such as
            ``{"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}``.
        f: destination path (``.safetensors``), or a writable binary file object (written, not atomically).
        metadata: extra string key/values stored in the header.
    """
    from safetensors.numpy import save as st_save

    if not isinstance(obj, Mapping | list | tuple):  # else "'Linear' object has no attribute 'items'"
        hint = "; pass model.state_dict()" if hasattr(obj, "state_dict") else ""
        raise TypeError(f"nerve.io.save: expected a dict of names to tensors (e.g. model.state_dict()) or a dict or "
                        f"list holding tensors, got {type(obj).__name__}{hint}")
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    flat = isinstance(obj, Mapping) and all(isinstance(k, str) for k in obj) and all(
        isinstance(v, Tensor | np.ndarray) for v in obj.values())
    if flat:
        arrays = {k: _contiguous(v.data if isinstance(v, Tensor) else v) for k, v in obj.items()}
        tree = ""
    else:
        arrays = {}
        tree = json.dumps(split_arrays(obj, arrays, "nerve.io.save"), separators=(",", ":"))
        meta[_TREE_KEY] = tree
    meta[_CHECKSUM_KEY] = _digest(arrays, tree)
    payload = st_save(arrays, metadata=meta)
    if hasattr(f, "write"):
        f.write(payload)
    else:
        atomic_write_bytes(f, payload)


def _header_metadata(head: bytes, path: Path) -> dict[str, str]:
    """The string metadata in the header at the start of safetensors bytes ``head``."""
    n = int.from_bytes(head[:8], "little")
    if n <= 0 or n > 100_000_000:
        raise CheckpointError(f"{path}: not a safetensors file (bad header length {n})")
    try:
        header = json.loads(head[8 : 8 + n])
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: corrupted safetensors header ({e})") from None
    return dict(header.get("__metadata__") or {})


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The string metadata of a safetensors file header."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            head = n.to_bytes(8, "little") + (f.read(n) if 0 < n <= 100_000_000 else b"")
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {path}") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file") from None
    return _header_metadata(head, path)


def _check_map_location(map_location: Any) -> None:
    """torch.load's forms: a device or string, a dict of device renames, or a function; everything loads to the
    CPU, so a dict must map to the CPU and a function is not called."""
    if callable(map_location):
        return
    targets = map_location.values() if isinstance(map_location, Mapping) else [map_location]
    for target in targets:
        check_cpu(target, "nerve.io.load")


def load(f: str | os.PathLike[str] | BinaryIO, verify: bool = True, *, map_location: Any = None,
         weights_only: bool | None = None) -> Any:
    """Load what :func:`save` wrote: a dict of tensors, or the nested object as it was saved (arrays as tensors).
    nerve's checksum is verified when present (``nerve.load``, like ``torch.load``).

    Files written by other tools (e.g. PyTorch's ``safetensors.torch.save_file``) have no checksum and load
    unverified. ``map_location`` may only name the CPU; ``weights_only`` is accepted for torch code and changes
    nothing (loading never unpickles, so it is always safe).

    Raises:
        CheckpointError: the file is missing, truncated, corrupted, or fails its checksum.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    _check_map_location(map_location)
    if hasattr(f, "read"):
        path, payload = Path(getattr(f, "name", "<file object>")), f.read()
    else:
        path = Path(f)
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
    meta = _header_metadata(payload, path)
    tree = meta.get(_TREE_KEY, "")
    expected = meta.get(_CHECKSUM_KEY)
    if verify and expected is not None and _digest(arrays, tree) != expected:
        raise CheckpointError(f"{path}: checksum mismatch, the file is corrupted (expected sha256 {expected[:12]}...)")
    tensors = {k: _wrap(v) for k, v in arrays.items()}
    if not tree:
        return tensors
    try:
        return join_arrays(json.loads(tree), tensors)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path}: corrupted structure in the header ({e})") from None

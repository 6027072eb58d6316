"""Training checkpoints: tensors in safetensors, everything else in a checksummed JSON sidecar.

A checkpoint named ``dir/last`` is two files:

* ``dir/last.<token>.safetensors`` — every array (model weights, optimizer moments, saved best weights);
* ``dir/last.json`` — the sidecar: epoch/step counters, optimizer and scheduler hyperparameters, RNG
  states, callback states, config, and the name and SHA-256 of the tensors file. Arrays inside the state
  are replaced by ``{"__tensor__": key}`` references into the tensors file.

The sidecar is the commit record. Saving writes a *new* tensors file first, then atomically replaces the
sidecar (temp file, fsync, rename), and only then deletes the old tensors file. A crash or ``kill -9`` at
any point therefore leaves a sidecar that names a complete tensors file: the previous checkpoint or the
new one, never a mixture. Loading checks the sidecar's own checksum and the tensors file's SHA-256 before
anything is restored, so a truncated or flipped byte gives a :class:`CheckpointError`, never a half-loaded
model.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nerve.io.serialization import CheckpointError, atomic_write_bytes, join_arrays, split_arrays

FORMAT = "nerve-checkpoint"
VERSION = 1


def _paths(path: str | os.PathLike[str]) -> tuple[Path, str]:
    """``(directory, stem)`` of a checkpoint given as ``dir/last`` or ``dir/last.json``."""
    p = Path(path)
    if p.suffix == ".json":
        p = p.with_suffix("")
    return p.parent, p.name


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    directory, stem = _paths(path)
    return directory / f"{stem}.json"


def exists(path: str | os.PathLike[str]) -> bool:
    return sidecar_path(path).is_file()


def _body_digest(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, Any]) -> Path:
    """Write ``state`` (a nested dict of arrays, numbers, strings, lists) as a checkpoint; returns the sidecar.

    Args:
        path: ``dir/name`` (or ``dir/name.json``); the directory is created if needed.
        state: e.g. ``{"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}``.
    """
    from safetensors.numpy import save as st_save

    directory, stem = _paths(path)
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    body = {"format": FORMAT, "version": VERSION, "state": split_arrays(dict(state), arrays, "save_checkpoint")}
    payload = st_save(arrays) if arrays else st_save({"__empty__": np.zeros(0, np.float32)})
    tensors_name = f"{stem}.{secrets.token_hex(4)}.safetensors"
    atomic_write_bytes(directory / tensors_name, payload)
    body["tensors"] = {"file": tensors_name, "sha256": hashlib.sha256(payload).hexdigest(), "bytes": len(payload)}
    sidecar = {"sha256": _body_digest(body), "body": body}
    target = directory / f"{stem}.json"
    atomic_write_bytes(target, (json.dumps(sidecar, indent=1, sort_keys=True) + "\n").encode())
    # Only now is the new pair committed; older tensors files of this checkpoint are garbage, and so are
    # temp files left by a writer that was killed mid-write.
    for old in [*directory.glob(f"{stem}.*.safetensors"), *directory.glob(f".{stem}.*.tmp")]:
        if old.name != tensors_name:
            try:
                old.unlink()
            except OSError:
                pass
    return target


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and verify a checkpoint written by :func:`save_checkpoint`; returns its state.

    Raises:
        CheckpointError: missing files, truncation, corruption (checksum mismatch) or an unknown format.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    target = sidecar_path(path)
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint not found: {target}") from None
    try:
        sidecar = json.loads(raw)
        body, digest = sidecar["body"], sidecar["sha256"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise CheckpointError(f"{target}: corrupted or truncated checkpoint sidecar ({e})") from None
    if _body_digest(body) != digest:
        raise CheckpointError(f"{target}: checksum mismatch, the checkpoint sidecar is corrupted")
    if body.get("format") != FORMAT or body.get("version") != VERSION:
        raise CheckpointError(f"{target}: not a {FORMAT} v{VERSION} file (format {body.get('format')!r}, "
                              f"version {body.get('version')!r})")
    tensors_path = target.parent / body["tensors"]["file"]
    try:
        payload = tensors_path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{target}: its tensors file {tensors_path.name} is missing") from None
    if len(payload) != body["tensors"]["bytes"] or hashlib.sha256(payload).hexdigest() != body["tensors"]["sha256"]:
        raise CheckpointError(f"{tensors_path}: checksum mismatch, the tensors file is truncated or corrupted "
                              f"({len(payload)} bytes, expected {body['tensors']['bytes']})")
    try:
        arrays = st_load(payload)
    except (SafetensorError, ValueError, OSError) as e:
        raise CheckpointError(f"{tensors_path}: unreadable safetensors file ({e})") from None
    return join_arrays(body["state"], arrays)

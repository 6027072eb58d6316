"""Saving and loading: safetensors state dicts (atomic, checksummed)."""

from nerve.io.serialization import CheckpointError, atomic_write_bytes, load, read_metadata, save

__all__ = ["CheckpointError", "atomic_write_bytes", "load", "read_metadata", "save"]

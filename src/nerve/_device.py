"""Devices: nerve computes on the CPU (NumPy) only, but accepts PyTorch's device arguments so that code written
for ``device = "cuda" if torch.cuda.is_available() else "cpu"`` runs unchanged, and says clearly when asked for
anything else."""

from __future__ import annotations

from typing import Any

#: Device types PyTorch code commonly names; all but "cpu" are rejected when data would move there.
DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta")


class device:
    """A device descriptor, as ``torch.device``: ``nerve.device("cpu")``, ``nerve.device("cuda", 0)``.

    It compares equal to its string form (``x.device == "cpu"``). Only "cpu" can hold tensors.
    """

    __slots__ = ("index", "type")

    def __init__(self, type: str | device, index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got {type!r}")
        name, _, number = type.partition(":")
        if name not in DEVICE_TYPES:
            raise ValueError(f"device: expected one of {', '.join(DEVICE_TYPES)} at the start of the device "
                             f"string, got {type!r}")
        if number:
            if index is not None or not number.isdigit():
                raise ValueError(f"device: invalid device string {type!r}")
            index = int(number)
        self.type, self.index = name, index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except ValueError:
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def is_device(value: Any) -> bool:
    """Whether ``value`` names a device (a :class:`device` or a string such as 'cpu' or 'cuda:1')."""
    return isinstance(value, device) or (isinstance(value, str) and value.partition(":")[0] in DEVICE_TYPES)


def check_cpu(value: Any, where: str) -> None:
    """Accept ``None`` and the CPU; reject other devices naming ``where`` and the device asked for."""
    if value is not None and device(value).type != "cpu":
        raise ValueError(f"{where}: nerve runs on the CPU only (NumPy), got device {str(value)!r}")

"""``Parameter``: a tensor that a ``Module`` registers as learnable when assigned as an attribute."""

from __future__ import annotations

from typing import Any

import numpy as np

from nerve.tensor import Tensor, _to_array


class Parameter(Tensor):
    """A leaf tensor with ``requires_grad=True`` by default, registered by ``Module.__setattr__``.

    Args:
        data: a tensor or array (shared, not copied); empty float32 when omitted.
        requires_grad: whether optimizers should update it.
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        arr = np.empty(0, dtype=np.float32) if data is None else _to_array(data)
        super().__init__(arr, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (Parameter, (self.data, self.requires_grad))

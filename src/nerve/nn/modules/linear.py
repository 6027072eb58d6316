"""Dense layers: ``Linear``, ``Identity``, ``Flatten``, ``Unflatten``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nerve._dtypes import as_dtype, get_default_dtype
from nerve.nn import functional as F
from nerve.nn import init
from nerve.nn.modules.module import Module
from nerve.nn.parameter import Parameter
from nerve.tensor import Tensor


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed head)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Linear(Module):
    r"""Fully connected layer: :math:`y = x W^T + b`.

    Each output neuron computes a weighted sum of all inputs plus a bias (the seed's artificial neuron,
    before its activation).

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias (default True).
        dtype: parameter dtype (default float32).

    Shape:
        - Input: (*, in_features)
        - Output: (*, out_features)

    Attributes:
        weight: (out_features, in_features), initialised U(-1/sqrt(in), 1/sqrt(in)) as in PyTorch
            (kaiming_uniform with a = sqrt(5)).
        bias: (out_features,), U(-1/sqrt(in), 1/sqrt(in)).

    Example:
        >>> fc = nn.Linear(20, 30)
        >>> fc(nerve.randn(128, 20)).shape
        (128, 30)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        if in_features < 0 or out_features < 0:
            raise ValueError(f"Linear: sizes must be non-negative, got in={in_features}, out={out_features}")
        self.in_features = in_features
        self.out_features = out_features
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dt))
        self.bias = Parameter(np.empty(out_features, dtype=dt)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        name = f"Linear(in_features={self.in_features}, out_features={self.out_features})"
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(x).__name__}")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{name}: input of shape {tuple(x.shape)} has last dim {x.shape[-1] if x.ndim else None}, "
                f"expected {self.in_features}"
            )
        if x.dtype != self.weight.dtype:
            raise TypeError(
                f"{name}: input of dtype {x.dtype} and shape {tuple(x.shape)}, but the weight of shape "
                f"{tuple(self.weight.shape)} is {self.weight.dtype}; convert the input with "
                f".to({self.weight.dtype}) or the layer with .to({x.dtype})"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Flatten dims ``start_dim..end_dim`` (default: all but the batch dim).

    Shape:
        - Input: (N, *dims)
        - Output: (N, prod(dims)) with the defaults
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        return x.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Bilinear(Module):
    r"""Bilinear layer: :math:`y_o = x_1^T A_o x_2 + b_o` for each output feature o.

    Args:
        in1_features: size of each first input sample.
        in2_features: size of each second input sample.
        out_features: size of each output sample.
        bias: learn an additive bias (default True).
        dtype: parameter dtype (default float32).

    Shape:
        - Input: (*, in1_features) and (*, in2_features) with the same leading dims
        - Output: (*, out_features)

    Attributes:
        weight: (out_features, in1_features, in2_features), U(-1/sqrt(in1), 1/sqrt(in1)) as in PyTorch.
        bias: (out_features,), the same bound.

    Example:
        >>> m = nn.Bilinear(20, 30, 40)
        >>> m(nerve.randn(128, 20), nerve.randn(128, 30)).shape
        (128, 40)
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        if min(in1_features, in2_features, out_features) < 0:
            raise ValueError(f"Bilinear: sizes must be non-negative, got in1={in1_features}, in2={in2_features}, "
                             f"out={out_features}")
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        self.weight = Parameter(np.empty((out_features, in1_features, in2_features), dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.in1_features) if self.in1_features > 0 else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear_checked(input1, input2, self.weight, self.bias, f"Bilinear({self.extra_repr()})")

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")

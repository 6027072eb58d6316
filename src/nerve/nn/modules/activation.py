"""Activation layers. Each wraps the functional form in ``nerve.nn.functional``.

Without a non-linearity between them, stacked linear layers collapse into one linear map; these supply it.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from nerve._dtypes import as_dtype, get_default_dtype
from nerve.nn import functional as F
from nerve.nn import init
from nerve.nn.modules.module import Module
from nerve.nn.parameter import Parameter
from nerve.tensor import Tensor


def _inplace_repr(inplace: bool, sep: str = "") -> str:
    return f"{sep}inplace=True" if inplace else ""


class ReLU(Module):
    """max(0, x): cheap, and its gradient does not vanish for x > 0.

    ``inplace`` (here and on every activation that has it) is accepted for PyTorch compatibility: the result
    is the same, returned as a new tensor.

    Shape: any; output has the input's shape.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class LeakyReLU(Module):
    """x for x > 0, ``negative_slope * x`` otherwise (keeps a gradient for negative inputs)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_repr(self.inplace, ', ')}"


class ELU(Module):
    """x for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_repr(self.inplace, ', ')}"


class GELU(Module):
    """x * Phi(x), Phi the standard normal CDF; ``approximate='tanh'`` uses the tanh formula."""

    def __init__(self, approximate: Literal["none", "tanh"] = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """1 / (1 + exp(-x)), in (0, 1): a probability for binary outputs."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """Hyperbolic tangent, in (-1, 1), zero-centred."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, a smooth ReLU; linear above ``threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class SiLU(Module):
    """x * sigmoid(x) (swish)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.silu(x)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class Hardtanh(Module):
    """Clamp to ``[min_val, max_val]``."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if max_val <= min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_repr(self.inplace, ', ')}"


class ReLU6(Hardtanh):
    """min(max(0, x), 6)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)  # the bounds are fixed, so PyTorch prints just ``ReLU6()``


class _AlongDim(Module):
    """Softmax, LogSoftmax and Softmin: a normalisation along ``dim``, which must be given (PyTorch guesses it
    with a deprecation warning; nerve asks)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    @staticmethod
    def _fn(x: Tensor, dim: int) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        if self.dim is None:
            name = type(self).__name__
            raise ValueError(f"{name}: pass dim explicitly, e.g. nn.{name}(dim=-1)")
        return self._fn(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """exp(x) / sum(exp(x)) along ``dim``: a probability distribution over classes.

    Shape: any; output has the input's shape and sums to 1 along ``dim``.
    """

    _fn = staticmethod(F.softmax)


class LogSoftmax(_AlongDim):
    """log(softmax(x)) along ``dim``, computed stably."""

    _fn = staticmethod(F.log_softmax)


class Softmin(_AlongDim):
    """exp(-x) / sum(exp(-x)) along ``dim``: softmax of the negated input, weighting small values most.

    Shape: any; output has the input's shape and sums to 1 along ``dim``.
    """

    _fn = staticmethod(F.softmin)


class PReLU(Module):
    """x for x > 0, ``weight * x`` otherwise, the slope learned: one for all channels or one per channel.

    Args:
        num_parameters: 1 (one shared slope) or the number of channels C (dim 1 of the input) (default 1).
        init: initial slope (default 0.25).
        dtype: parameter dtype (default float32).

    Shape: (N, C, *) or any shape when ``num_parameters`` is 1; output has the input's shape.

    Example:
        >>> nn.PReLU(3)(nerve.randn(2, 3, 4)).shape
        (2, 3, 4)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype: Any = None) -> None:
        super().__init__()
        if num_parameters <= 0:
            raise ValueError(f"PReLU: num_parameters must be positive, got {num_parameters}")
        self.num_parameters = num_parameters
        self.init = init
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        self.weight = Parameter(np.empty(num_parameters, dtype=dt))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, x: Tensor) -> Tensor:
        if self.num_parameters > 1 and (x.ndim < 2 or x.shape[1] != self.num_parameters):
            c = self.num_parameters
            raise ValueError(f"PReLU(num_parameters={c}): expected input with {c} channels (N, {c}, *), "
                             f"got shape {tuple(x.shape)}")
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class SELU(Module):
    """scale * elu(x, alpha) with scale ≈ 1.0507, alpha ≈ 1.6733 (self-normalising networks).

    Shape: any; output has the input's shape.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.selu(x)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class CELU(Module):
    """x for x > 0, ``alpha * (exp(x / alpha) - 1)`` otherwise (continuously differentiable ELU).

    Shape: any; output has the input's shape.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if alpha == 0:
            raise ValueError("CELU: alpha must be non-zero (it divides the input), got 0")
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.celu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_repr(self.inplace, ', ')}"


class Mish(Module):
    """x * tanh(softplus(x)): smooth and non-monotonic.

    Shape: any; output has the input's shape.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.mish(x)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class Hardswish(Module):
    """x * relu6(x + 3) / 6: a cheap piecewise approximation of SiLU (MobileNetV3).

    Shape: any; output has the input's shape.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.hardswish(x)


class Hardsigmoid(Module):
    """relu6(x + 3) / 6: a piecewise-linear sigmoid.

    Shape: any; output has the input's shape.
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.hardsigmoid(x)


class LogSigmoid(Module):
    """log(sigmoid(x)), computed as -softplus(-x) so it stays finite for large negative x.

    Shape: any; output has the input's shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.logsigmoid(x)


class Softsign(Module):
    """x / (1 + |x|), in (-1, 1).

    Shape: any; output has the input's shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.softsign(x)


class GLU(Module):
    """Gated linear unit: ``a * sigmoid(b)`` with a, b the two halves of the input along ``dim``.

    Shape: (*, 2N, *) → (*, N, *), halving ``dim``.
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Threshold(Module):
    """x where x > ``threshold``, ``value`` elsewhere.

    Args:
        threshold: the cut-off.
        value: what replaces the elements at or below it.

    Shape: any; output has the input's shape.

    Example:
        >>> nn.Threshold(0.1, 20.0)(nerve.tensor([-1.0, 0.1, 0.5])).tolist()
        [20.0, 20.0, 0.5]
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.threshold(x, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{_inplace_repr(self.inplace, ', ')}"


class Hardshrink(Module):
    """x where |x| > ``lambd``, 0 elsewhere.

    Shape: any; output has the input's shape.
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, x: Tensor) -> Tensor:
        return F.hardshrink(x, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Module):
    """Soft thresholding: x - lambd above ``lambd``, x + lambd below ``-lambd``, 0 between.

    Args:
        lambd: the non-negative threshold (default 0.5).

    Shape: any; output has the input's shape.
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        if lambd < 0:
            raise ValueError(f"Softshrink: lambd must be non-negative, got {lambd}")
        self.lambd = lambd

    def forward(self, x: Tensor) -> Tensor:
        return F.softshrink(x, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Tanhshrink(Module):
    """x - tanh(x).

    Shape: any; output has the input's shape.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.tanhshrink(x)


class RReLU(Module):
    """Randomized leaky ReLU (Xu et al., 2015): x for x > 0, ``a · x`` otherwise.

    In training each element draws its own slope ``a ~ U(lower, upper)`` (from nerve's seeded generator); in
    eval mode ``a = (lower + upper) / 2``, a plain leaky ReLU.

    Args:
        lower: lower bound of the slope (default 1/8).
        upper: upper bound of the slope (default 1/3).

    Shape: any; output has the input's shape.
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False) -> None:
        super().__init__()
        if lower > upper:
            raise ValueError(f"RReLU: lower bound ({lower}) must be at most the upper bound ({upper})")
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.rrelu(x, self.lower, self.upper, self.training)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}{_inplace_repr(self.inplace, ', ')}"


class Softmax2d(Module):
    """Softmax over the channels at every spatial position: a distribution over classes per pixel.

    Shape: (N, C, H, W) or (C, H, W); output of the same shape, summing to 1 along C.
    """

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.ndim not in (3, 4):
            got = f"shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"Softmax2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got {got}")
        return F.softmax(x, -3)

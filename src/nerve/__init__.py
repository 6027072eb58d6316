"""nerve: a deep-learning library written from scratch on NumPy, with PyTorch's names and semantics.

    >>> import nerve
    >>> x = nerve.randn(4, 3, requires_grad=True)
    >>> loss = (x.relu() ** 2).mean()
    >>> loss.backward()
    >>> x.grad.shape
    (4, 3)
"""

from __future__ import annotations

# First, before any large array exists: tunes glibc's malloc thresholds (see _allocator for why and the opt-out).
from nerve import _allocator

# The Tensor class comes first: the op modules import it, and tensor.py imports them back at its end.
from nerve.tensor import Tensor

# isort: split
from nerve import _dtypes, autograd, backends, cuda, data, datasets, io, nn, optim
from nerve._device import device
from nerve._dtypes import (
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
)
from nerve.autograd import functional as _autograd_functional  # makes nerve.autograd.functional available
from nerve.autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from nerve.creation import (
    arange,
    as_tensor,
    bernoulli,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from nerve.io.serialization import load, save
from nerve.ops.activation import erf, log_softmax, relu, sigmoid, softmax, tanh
from nerve.ops.elementwise import (
    abs,
    acos,
    add,
    addcdiv,
    addcmul,
    arccos,
    arcsin,
    arctan,
    arctan2,
    asin,
    atan,
    atan2,
    ceil,
    clamp,
    clip,
    clone,
    cos,
    cosh,
    div,
    eq,
    exp,
    exp2,
    expm1,
    floor,
    frac,
    ge,
    gt,
    hypot,
    isfinite,
    isinf,
    isnan,
    le,
    lerp,
    log,
    log1p,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    logit,
    lt,
    maximum,
    minimum,
    mul,
    nan_to_num,
    ne,
    neg,
    pow,
    reciprocal,
    round,
    rsqrt,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    sub,
    trunc,
)
from nerve.ops.index import (
    argwhere,
    index_add,
    index_select,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    take_along_dim,
    where,
)
from nerve.ops.linalg import (
    diag,
    diagonal,
    dot,
    einsum,
    ger,
    matmul,
    outer,
    trace,
    tril,
    triu,
)
from nerve.ops.reduce import (
    all,
    allclose,
    amax,
    amin,
    any,
    argmax,
    argmin,
    argsort,
    count_nonzero,
    cumprod,
    cumsum,
    equal,
    gather,
    isclose,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    sort,
    std,
    sum,
    topk,
    var,
)
from nerve.ops.shape import (
    broadcast_to,
    cat,
    chunk,
    column_stack,
    concat,
    concatenate,
    expand,
    flatten,
    flip,
    hstack,
    movedim,
    narrow,
    pad,
    permute,
    repeat,
    repeat_interleave,
    reshape,
    roll,
    split,
    squeeze,
    stack,
    swapaxes,
    swapdims,
    transpose,
    unbind,
    unflatten,
    unsqueeze,
    vstack,
)
from nerve.random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state

__version__ = "0.1.0"


def is_tensor(obj: object) -> bool:
    return isinstance(obj, Tensor)


def numel(x: Tensor) -> int:
    return x.numel()


def mm(a: Tensor, b: Tensor) -> Tensor:
    return matmul(a, b)


bmm = mm

# PyTorch's dtype aliases; assigned last because they shadow builtins in this namespace.
float = float32
double = float64
half = float16
long = int64
int = int32
bool = _dtypes.bool_

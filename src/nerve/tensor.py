"""``Tensor``: a NumPy array plus what reverse-mode differentiation needs.

A tensor holds ``data`` (an ``np.ndarray``), ``requires_grad``, ``grad`` (accumulated by ``backward``) and
``_node``, the :class:`~nerve.autograd.Function` that produced it (``None`` for leaves). Operators and
methods delegate to the primitives in :mod:`nerve.ops`; this file holds no math of its own.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from nerve._device import CPU, check_cpu, device, is_device
from nerve._dtypes import as_dtype, get_default_dtype
from nerve.autograd import engine, higher_order
from nerve.autograd.function import _install_tensor_factory
from nerve.autograd.grad_mode import grad_mode
from nerve.utils.hooks import RemovableHandle

if TYPE_CHECKING:
    from nerve.autograd.function import Function


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert user data to an array: Python floats take the default dtype, ints int64 (PyTorch rules)."""
    if isinstance(data, Tensor):
        arr = data.data
    elif isinstance(data, np.ndarray | np.generic):
        arr = np.asarray(data)
    else:
        arr = np.asarray(data)
        if arr.dtype == np.float64 and dtype is None:
            arr = arr.astype(get_default_dtype())
        elif arr.dtype.kind == "O":
            raise TypeError(f"cannot make a tensor from {type(data).__name__} (object array)")
        elif arr.dtype.kind == "U" or arr.dtype.kind == "S":
            raise TypeError(f"cannot make a tensor from strings: {data!r:.60}")
    if dtype is not None:
        arr = arr.astype(as_dtype(dtype), copy=False)
    return arr


_new = object.__new__


def _wrap(data: np.ndarray) -> Tensor:
    """A constant tensor around ``data`` (no copy, no checks): the hot-path constructor."""
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = False
    t._node = None
    t._hooks = None
    return t


class Tensor:
    """A multi-dimensional array that records operations for automatic differentiation.

    Args:
        data: array-like (NumPy array, nested lists, scalar). NumPy arrays are used without copying.
        dtype: element type; default keeps an array's dtype, and gives Python floats float32.
        requires_grad: record operations on this tensor so ``backward`` computes ``.grad`` for it.

    Example:
        >>> x = nerve.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4., 6.])
    """

    __slots__ = ("__weakref__", "_hooks", "_node", "data", "grad", "requires_grad")
    # NumPy must hand ``ndarray <op> Tensor`` to the Tensor's reflected operator instead of looping over it.
    __array_ufunc__ = None

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        self.data = _to_array(data, dtype)
        self.grad: Tensor | None = None
        self._node: Function | None = None
        self._hooks: dict[int, Callable[[np.ndarray], np.ndarray]] | None = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def device(self) -> device:
        return CPU

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation (inputs, parameters)."""
        return self._node is None

    @property
    def grad_fn(self) -> Function | None:
        return self._node

    @property
    def T(self) -> Tensor:
        return permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        return transpose(self, -2, -1)

    def size(self, dim: int | None = None) -> Any:
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def element_size(self) -> int:
        return self.data.itemsize

    def is_floating_point(self) -> bool:
        return self.data.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        return bool(self.data.flags.c_contiguous)

    # ------------------------------------------------------------------------------ conversion, repr
    def numpy(self) -> np.ndarray:
        """The underlying array (shared memory, as in PyTorch)."""
        return self.data

    def item(self) -> Any:
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to a number, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __repr__(self) -> str:
        body = np.array2string(
            self.data, separator=", ", prefix="tensor(", precision=4, suppress_small=True, threshold=1000
        )
        extras = []
        if self.data.dtype not in (get_default_dtype(), np.dtype(np.int64), np.dtype(np.bool_)):
            extras.append(f"dtype={self.data.dtype}")
        if self._node is not None:
            extras.append(f"grad_fn={self._node!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous; use .any() or .all()"
            )
        return bool(self.data.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    __hash__ = object.__hash__

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (_rebuild, (self.data, self.requires_grad))

    # ---------------------------------------------------------------------------------- dtype
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """Convert dtype (``x.to(nerve.float64)``, ``x.to(other)``); devices other than 'cpu' are rejected."""
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("copy", None)
        device = kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"to: unexpected arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.data.dtype
            elif is_device(a):
                device = a
            else:
                dtype = a
        check_cpu(device, "to")
        return self if dtype is None else cast(self, dtype)

    def type(self, dtype: Any = None) -> Any:
        return str(self.data.dtype) if dtype is None else self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.data.dtype)

    def float(self) -> Tensor:
        return cast(self, np.float32)

    def double(self) -> Tensor:
        return cast(self, np.float64)

    def half(self) -> Tensor:
        return cast(self, np.float16)

    def long(self) -> Tensor:
        return cast(self, np.int64)

    def int(self) -> Tensor:
        return cast(self, np.int32)

    def bool(self) -> Tensor:
        return cast(self, np.bool_)

    def cuda(self, *args: Any, **kwargs: Any) -> Tensor:
        raise RuntimeError("cuda: nerve runs on the CPU only (NumPy); drop .cuda() or use .to('cpu')")

    @property
    def is_cuda(self) -> bool:
        return False

    def cpu(self) -> Tensor:
        return self

    def contiguous(self) -> Tensor:
        return self if self.data.flags.c_contiguous else clone(self)

    def clone(self) -> Tensor:
        return clone(self)

    # -------------------------------------------------------------------------------- autograd
    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory)."""
        return _wrap(self.data)

    def detach_(self) -> Tensor:
        self._node = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_(False) only applies to leaf tensors; use .detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        Args:
            gradient: d(loss)/d(self); may be omitted only when ``self`` has a single element.
            retain_graph: keep saved arrays so the graph can be walked again (default False frees them).
            create_graph: record the backward pass as a graph, so the leaves' ``.grad`` can be differentiated
                again (higher-order gradients; implies ``retain_graph``).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad: no input had requires_grad=True, "
                "or it was computed under no_grad()"
            )
        if gradient is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward: gradient can be implied only for a single-element output, but this tensor "
                    f"has shape {self.shape}; pass gradient= of that shape (or reduce it, e.g. .sum())"
                )
            seed = np.ones_like(self.data)
        else:
            seed = gradient.data if isinstance(gradient, Tensor) else np.asarray(gradient)
            if seed.shape != self.data.shape:
                raise ValueError(f"backward: gradient has shape {seed.shape}, expected the output's shape {self.shape}")
            seed = seed.astype(self.data.dtype, copy=False)
        if create_graph:
            seed_tensor = gradient if isinstance(gradient, Tensor) and gradient.data is seed else _wrap(seed)
            higher_order.run_backward_graph([self], [seed_tensor])
            return
        engine.run_backward([self], [seed], retain_graph=bool(retain_graph))

    def _accumulate_grad(self, g: np.ndarray, owned: bool = False) -> None:
        """Add ``g`` into ``.grad``; ``owned`` says no one else references ``g``, so it needs no copy."""
        if self._hooks:
            for hook in self._hooks.values():
                out = hook(g)
                owned = owned and out is g
                g = out
        if self.grad is None:
            # copy unless owned: ``g`` may alias another gradient, and ``.grad`` is later updated in place
            self.grad = _wrap(g if owned and g.flags.writeable else np.array(g, dtype=self.data.dtype, copy=True))
        else:
            self.grad.data += g

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")

        def on_array(g: np.ndarray) -> np.ndarray:
            out = hook(_wrap(g))
            return g if out is None else out.data

        if self._node is None:
            if self._hooks is None:
                self._hooks = {}
            hooks = self._hooks
        else:
            if self._node.hooks is None:
                self._node.hooks = {}
            hooks = self._node.hooks
        handle = RemovableHandle(hooks)
        hooks[handle.id] = on_array
        if "retain_grad" in hooks:  # as in torch, .grad keeps the gradient after every hook has run
            hooks["retain_grad"] = hooks.pop("retain_grad")
        return handle

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves keep it anyway)."""
        if self._node is None:
            return
        if self._node.hooks and "retain_grad" in self._node.hooks:
            return
        ref = weakref.ref(self)

        def keep(g: np.ndarray) -> np.ndarray:
            t = ref()
            if t is not None:
                if t.grad is None:
                    t.grad = _wrap(np.array(g, copy=True))
                else:
                    t.grad.data += g
            return g

        if self._node.hooks is None:
            self._node.hooks = {}
        self._node.hooks["retain_grad"] = keep

    @property
    def retains_grad(self) -> bool:
        return bool(self._node is not None and self._node.hooks and "retain_grad" in self._node.hooks)

    # ------------------------------------------------------------------------------- operators
    def __add__(self, other: Any) -> Tensor:
        return add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return div(other, self)

    def __floordiv__(self, other: Any) -> Tensor:
        return floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return floor_divide(other, self)

    def __mod__(self, other: Any) -> Tensor:
        return remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return remainder(other, self)

    # Augmented assignment, as in PyTorch: in place when no graph is being built (``p -= lr * p.grad`` under
    # no_grad updates the parameter itself), an error on a leaf that requires grad, and otherwise the
    # out-of-place op rebound to the name (``out += identity`` in a forward), since nerve's graph has no
    # in-place nodes.
    def _augmented(self, other: Any, inplace: Callable[..., Tensor], op: Callable[..., Tensor]) -> Tensor:
        other_in_graph = isinstance(other, Tensor) and other.requires_grad
        if grad_mode.enabled and (self.requires_grad or other_in_graph) and not (self.requires_grad and self.is_leaf):
            return op(self, other)
        return inplace(other)

    def __iadd__(self, other: Any) -> Tensor:
        return self._augmented(other, self.add_, add)

    def __isub__(self, other: Any) -> Tensor:
        return self._augmented(other, self.sub_, sub)

    def __imul__(self, other: Any) -> Tensor:
        return self._augmented(other, self.mul_, mul)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._augmented(other, self.div_, div)

    def __pow__(self, exponent: Any) -> Tensor:
        return pow(self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return pow(base, self)

    def __matmul__(self, other: Tensor) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(Tensor(other), self)

    def __neg__(self) -> Tensor:
        return neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return abs(self)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return eq(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ne(self, other)

    def __lt__(self, other: Any) -> Tensor:
        return lt(self, other)

    def __le__(self, other: Any) -> Tensor:
        return le(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return gt(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return ge(self, other)

    def __and__(self, other: Any) -> Tensor:
        return logical_and(self, other) if self.data.dtype == np.bool_ else _int_op(self, other, np.bitwise_and)

    def __or__(self, other: Any) -> Tensor:
        return logical_or(self, other) if self.data.dtype == np.bool_ else _int_op(self, other, np.bitwise_or)

    def __xor__(self, other: Any) -> Tensor:
        return logical_xor(self, other) if self.data.dtype == np.bool_ else _int_op(self, other, np.bitwise_xor)

    def __invert__(self) -> Tensor:
        return _wrap(np.invert(self.data))

    def __getitem__(self, index: Any) -> Tensor:
        return getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check_inplace("__setitem__")
        idx = _as_index(index)
        self.data[idx if len(idx) != 1 else idx[0]] = value.data if isinstance(value, Tensor) else value

    # ---------------------------------------------------------------------------- in-place (no grad)
    def _check_inplace(self, op: str, *sources: Any) -> None:
        """In-place writes must not change what the graph recorded, nor take values the graph should track."""
        if self._node is not None:  # even under no_grad: backward would read the changed array (no versioning)
            raise RuntimeError(f"{op}: in-place operations on tensors recorded in the graph are not supported; "
                               "use the out-of-place op")
        if grad_mode.enabled and self.requires_grad:
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad is being modified in place; "
                "do it under nerve.no_grad() (as optimizers and initialisers do)"
            )
        if grad_mode.enabled and True in [isinstance(s, Tensor) and s.requires_grad for s in sources]:
            raise RuntimeError(f"{op}: the values written require grad, and nerve's graph has no in-place nodes; "
                               "use the out-of-place op to keep their gradient")

    def _inplace(self, op: str, value: np.ndarray, *sources: Any, same_kind: bool = False) -> Tensor:
        self._check_inplace(op, *sources)
        value = np.asarray(value)
        if same_kind and not np.can_cast(value.dtype, self.data.dtype, "same_kind"):
            raise RuntimeError(f"{op}: the result type {value.dtype} can't be cast to this tensor's dtype "
                               f"{self.data.dtype} in place (as in PyTorch); use the out-of-place op")
        self.data[...] = value
        return self

    def zero_(self) -> Tensor:
        return self._inplace("zero_", np.zeros((), dtype=self.data.dtype))

    def fill_(self, value: Any) -> Tensor:
        return self._inplace("fill_", np.asarray(_raw(value), dtype=self.data.dtype))

    def copy_(self, src: Any) -> Tensor:
        return self._inplace("copy_", np.asarray(_raw(src)).astype(self.data.dtype, copy=False))

    def add_(self, other: Any, *, alpha: float = 1) -> Tensor:
        value = self.data + _raw(other) * alpha if alpha != 1 else self.data + _raw(other)
        return self._inplace("add_", value, other, same_kind=True)

    def sub_(self, other: Any, *, alpha: float = 1) -> Tensor:
        return self._inplace("sub_", self.data - _raw(other) * alpha, other, same_kind=True)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace("mul_", self.data * _raw(other), other, same_kind=True)

    def div_(self, other: Any) -> Tensor:
        return self._inplace("div_", self.data / _raw(other), other, same_kind=True)

    def clamp_(self, min: float | None = None, max: float | None = None) -> Tensor:
        return self._inplace("clamp_", np.clip(self.data, min, max))

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
        return self._inplace("uniform_", _rng(generator).uniform(a, b, self.data.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        return self._inplace("normal_", _rng(generator).normal(mean, std, self.data.shape))

    def bernoulli_(self, p: float = 0.5, *, generator: Any = None) -> Tensor:
        return self._inplace("bernoulli_", _rng(generator).random(self.data.shape) < p)

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        """Write ``value`` where the bool ``mask`` (broadcast to this tensor's shape) holds."""
        m = np.asarray(_raw(mask))
        if m.dtype != np.bool_:
            raise TypeError(f"masked_fill_: mask must be a bool tensor, got dtype {m.dtype}")
        try:
            fits = np.broadcast_shapes(m.shape, self.data.shape) == self.data.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"masked_fill_: mask of shape {m.shape} does not broadcast to the tensor's shape "
                             f"{self.data.shape}")
        return self._inplace("masked_fill_", np.where(m, np.asarray(_raw(value), dtype=self.data.dtype), self.data),
                             value)

    def scatter_(self, dim: int, index: Tensor, src: Any) -> Tensor:
        """In-place ``scatter``; ``src`` may be a scalar (``one_hot.scatter_(1, labels[:, None], 1.0)``)."""
        self._check_inplace("scatter_", src)
        src = src.detach() if isinstance(src, Tensor) else src
        return self._inplace("scatter_", _scatter(self.detach(), dim, index, src, "scatter_", False).data)

    def scatter_add_(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        """In-place ``scatter_add``."""
        self._check_inplace("scatter_add_", src)
        src = src.detach() if isinstance(src, Tensor) else src
        return self._inplace("scatter_add_", _scatter(self.detach(), dim, index, src, "scatter_add_", True).data)

    # ------------------------------------------------------------------------ methods -> ops
    def add(self, other: Any, *, alpha: float = 1) -> Tensor:
        return add(self, other, alpha=alpha)

    def sub(self, other: Any, *, alpha: float = 1) -> Tensor:
        return sub(self, other, alpha=alpha)

    def mul(self, other: Any) -> Tensor:
        return mul(self, other)

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        return div(self, other, rounding_mode=rounding_mode)

    def neg(self) -> Tensor:
        return neg(self)

    def pow(self, exponent: Any) -> Tensor:
        return pow(self, exponent)

    def exp(self) -> Tensor:
        return exp(self)

    def log(self) -> Tensor:
        return log(self)

    def log1p(self) -> Tensor:
        return log1p(self)

    def sqrt(self) -> Tensor:
        return sqrt(self)

    def rsqrt(self) -> Tensor:
        return rsqrt(self)

    def abs(self) -> Tensor:
        return abs(self)

    def sin(self) -> Tensor:
        return sin(self)

    def cos(self) -> Tensor:
        return cos(self)

    def expm1(self) -> Tensor:
        return expm1(self)

    def exp2(self) -> Tensor:
        return exp2(self)

    def log2(self) -> Tensor:
        return log2(self)

    def log10(self) -> Tensor:
        return log10(self)

    def atan(self) -> Tensor:
        return atan(self)

    def asin(self) -> Tensor:
        return asin(self)

    def acos(self) -> Tensor:
        return acos(self)

    arctan, arcsin, arccos = atan, asin, acos

    def sinh(self) -> Tensor:
        return sinh(self)

    def cosh(self) -> Tensor:
        return cosh(self)

    def atan2(self, other: Any) -> Tensor:
        return atan2(self, other)

    arctan2 = atan2

    def hypot(self, other: Any) -> Tensor:
        return hypot(self, other)

    def logit(self, eps: float | None = None) -> Tensor:
        return logit(self, eps)

    def lerp(self, end: Tensor, weight: Any) -> Tensor:
        return lerp(self, end, weight)

    def addcmul(self, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
        return addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
        return addcdiv(self, tensor1, tensor2, value=value)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        return nan_to_num(self, nan, posinf, neginf)

    def square(self) -> Tensor:
        return square(self)

    def reciprocal(self) -> Tensor:
        return reciprocal(self)

    def sign(self) -> Tensor:
        return sign(self)

    def floor(self) -> Tensor:
        return floor(self)

    def trunc(self) -> Tensor:
        return trunc(self)

    def frac(self) -> Tensor:
        return frac(self)

    def ceil(self) -> Tensor:
        return ceil(self)

    def round(self, decimals: int = 0) -> Tensor:
        return round(self, decimals)

    def clamp(self, min: float | None = None, max: float | None = None) -> Tensor:
        return clamp(self, min, max)

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        return maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return minimum(self, other)

    def eq(self, other: Any) -> Tensor:
        return eq(self, other)

    def ne(self, other: Any) -> Tensor:
        return ne(self, other)

    def lt(self, other: Any) -> Tensor:
        return lt(self, other)

    def le(self, other: Any) -> Tensor:
        return le(self, other)

    def gt(self, other: Any) -> Tensor:
        return gt(self, other)

    def ge(self, other: Any) -> Tensor:
        return ge(self, other)

    def isnan(self) -> Tensor:
        return isnan(self)

    def isinf(self) -> Tensor:
        return isinf(self)

    def isfinite(self) -> Tensor:
        return isfinite(self)

    def logical_not(self) -> Tensor:
        return logical_not(self)

    def where(self, condition: Any, other: Any) -> Tensor:
        return where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """Replace elements where ``mask`` is True by ``value`` (gradient flows to the rest)."""
        return where(mask, _wrap(np.asarray(_raw(value), dtype=self.data.dtype)), self)

    def relu(self) -> Tensor:
        return relu(self)

    def sigmoid(self) -> Tensor:
        return sigmoid(self)

    def tanh(self) -> Tensor:
        return tanh(self)

    def erf(self) -> Tensor:
        return erf(self)

    def softmax(self, dim: int) -> Tensor:
        return softmax(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        return log_softmax(self, dim)

    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return sum(self, dim, keepdim, dtype=dtype)

    def mean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return mean(self, dim, keepdim, dtype=dtype)

    def var(self, dim: Any = None, *, correction: float = 1, keepdim: bool = False,
            unbiased: bool | None = None) -> Tensor:
        return var(self, dim, correction=correction, keepdim=keepdim, unbiased=unbiased)

    def std(self, dim: Any = None, *, correction: float = 1, keepdim: bool = False,
            unbiased: bool | None = None) -> Tensor:
        return std(self, dim, correction=correction, keepdim=keepdim, unbiased=unbiased)

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        return max(self, dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        return min(self, dim, keepdim)

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return amax(self, dim, keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return amin(self, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return argmax(self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return argmin(self, dim, keepdim)

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        return logsumexp(self, dim, keepdim)

    def cumsum(self, dim: int) -> Tensor:
        return cumsum(self, dim)

    def norm(self, p: Any = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
        return norm(self, p, dim, keepdim)

    def all(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return all(self, dim, keepdim)

    def any(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return any(self, dim, keepdim)

    def gather(self, dim: int, index: Tensor) -> Tensor:
        return gather(self, dim, index)

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        return index_select(self, dim, index)

    def index_add(self, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
        return index_add(self, dim, index, source, alpha=alpha)

    def scatter(self, dim: int, index: Tensor, src: Any) -> Tensor:
        return scatter(self, dim, index, src)

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return scatter_add(self, dim, index, src)

    def take_along_dim(self, indices: Tensor, dim: int | None = None) -> Tensor:
        return take_along_dim(self, indices, dim)

    def masked_select(self, mask: Tensor) -> Tensor:
        return masked_select(self, mask)

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        return nonzero(self, as_tuple=as_tuple)

    def argwhere(self) -> Tensor:
        return argwhere(self)

    def count_nonzero(self, dim: Any = None) -> Tensor:
        return count_nonzero(self, dim)

    def prod(self, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return prod(self, dim, keepdim, dtype=dtype)

    def cumprod(self, dim: int, *, dtype: Any = None) -> Tensor:
        return cumprod(self, dim, dtype=dtype)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        return sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        return argsort(self, dim, descending, stable)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        return topk(self, k, dim, largest, sorted)

    def isclose(self, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
        return isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Any:
        return allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other: Tensor) -> Any:
        return equal(self, other)

    def matmul(self, other: Tensor) -> Tensor:
        return matmul(self, other)

    mm = matmul
    bmm = matmul

    def outer(self, vec2: Tensor) -> Tensor:
        return outer(self, vec2)

    ger = outer

    def dot(self, tensor: Tensor) -> Tensor:
        return dot(self, tensor)

    def tril(self, diagonal: int = 0) -> Tensor:
        return tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return triu(self, diagonal)

    def diag(self, diagonal: int = 0) -> Tensor:
        return diag(self, diagonal)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        return diagonal(self, offset, dim1, dim2)

    def trace(self) -> Tensor:
        return trace(self)

    def reshape(self, *shape: Any) -> Tensor:
        return reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        """:meth:`reshape` that must not copy: the result shares this tensor's memory (writes reach both), as
        in PyTorch, where a layout that needs a copy (e.g. ``x.t().view(-1)``) is an error."""
        out = reshape(self, *shape)
        if self.data.size and not np.may_share_memory(out.data, self.data):
            raise RuntimeError(
                f"view: shape {tuple(shape_arg(shape))} cannot view a tensor of shape {tuple(self.shape)} with "
                f"strides {tuple(s // self.data.itemsize for s in self.data.strides)} without copying; "
                "use .reshape(...), which copies when it must"
            )
        return out

    def view_as(self, other: Tensor) -> Tensor:
        return reshape(self, other.shape)

    reshape_as = view_as

    def permute(self, *args: Any, dims: Any = None) -> Tensor:
        return permute(self, *args, dims=dims)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return transpose(self, dim0, dim1)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with <= 2 dims, got {self.ndim}; use transpose(dim0, dim1)")
        return transpose(self, 0, 1) if self.ndim == 2 else self

    def movedim(self, source: int, destination: int) -> Tensor:
        return movedim(self, source, destination)

    def expand(self, *sizes: Any) -> Tensor:
        return expand(self, *sizes)

    def expand_as(self, other: Tensor) -> Tensor:
        return expand(self, other.shape)

    def squeeze(self, dim: Any = None) -> Tensor:
        return squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return unsqueeze(self, dim)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return flatten(self, start_dim, end_dim)

    def unflatten(self, dim: int, sizes: Any) -> Tensor:
        return unflatten(self, dim, sizes)

    def repeat(self, *sizes: Any) -> Tensor:
        return repeat(self, *sizes)

    def flip(self, dims: Any) -> Tensor:
        return flip(self, dims)

    def split(self, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return chunk(self, chunks, dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        return unbind(self, dim)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        return roll(self, shifts, dims)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        return narrow(self, dim, start, length)

    def repeat_interleave(self, repeats: Any, dim: int | None = None, *, output_size: int | None = None) -> Tensor:
        return repeat_interleave(self, repeats, dim, output_size=output_size)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return transpose(self, axis0, axis1)

    def swapdims(self, dim0: int, dim1: int) -> Tensor:
        return transpose(self, dim0, dim1)

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        return unfold(self, dimension, size, step)

    # new_*: this tensor's dtype unless ``dtype`` says otherwise, as in torch
    def new_tensor(self, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        return _new_like(self, np.array, _raw(data), dtype, device, requires_grad, "new_tensor")

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        return _new_like(self, np.zeros, shape_arg(size), dtype, device, requires_grad, "new_zeros")

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        return _new_like(self, np.ones, shape_arg(size), dtype, device, requires_grad, "new_ones")

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        return _new_like(self, np.empty, shape_arg(size), dtype, device, requires_grad, "new_empty")

    def new_full(self, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
        fill = lambda shape, dtype: np.full(shape, fill_value, dtype=dtype)  # noqa: E731
        return _new_like(self, fill, shape_arg((size,)), dtype, device, requires_grad, "new_full")


def _rebuild(data: np.ndarray, requires_grad: bool) -> Tensor:
    t = _wrap(data)
    t.requires_grad = requires_grad
    return t


def _raw(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def _new_like(like: Tensor, fill: Callable[..., np.ndarray], arg: Any, dtype: Any, device: Any, requires_grad: bool,
              op: str) -> Tensor:
    """``fill(arg, dtype=...)`` as a new tensor of ``like``'s dtype (unless ``dtype`` is given), as ``new_*``."""
    check_cpu(device, op)
    t = _wrap(fill(arg, dtype=like.data.dtype if dtype is None else as_dtype(dtype)))
    return t.requires_grad_(True) if requires_grad else t


def _int_op(a: Tensor, b: Any, fn: Any) -> Tensor:
    return _wrap(np.asarray(fn(a.data, _raw(b))))


def _rng(generator: Any) -> np.random.Generator:
    from nerve.random import resolve_generator

    return resolve_generator(generator)


_install_tensor_factory(_wrap)

# Operators resolve these names at call time; importing them last lets the op modules import Tensor.
from nerve.ops._util import shape_arg  # noqa: E402
from nerve.ops.activation import erf, log_softmax, relu, sigmoid, softmax, tanh  # noqa: E402
from nerve.ops.elementwise import (  # noqa: E402
    abs,
    acos,
    add,
    addcdiv,
    addcmul,
    asin,
    atan,
    atan2,
    cast,
    ceil,
    clamp,
    clone,
    cos,
    cosh,
    div,
    eq,
    exp,
    exp2,
    expm1,
    floor,
    floor_divide,
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
    remainder,
    round,
    rsqrt,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    sub,
    trunc,
    where,
)
from nerve.ops.index import (  # noqa: E402
    _scatter,
    argwhere,
    index_add,
    index_select,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    take_along_dim,
)
from nerve.ops.linalg import (  # noqa: E402
    diag,
    diagonal,
    dot,
    matmul,
    outer,
    trace,
    tril,
    triu,
)
from nerve.ops.reduce import (  # noqa: E402
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
from nerve.ops.shape import (  # noqa: E402
    _as_index,
    chunk,
    expand,
    flatten,
    flip,
    getitem,
    movedim,
    narrow,
    permute,
    repeat,
    repeat_interleave,
    reshape,
    roll,
    split,
    squeeze,
    transpose,
    unbind,
    unflatten,
    unfold,
    unsqueeze,
)

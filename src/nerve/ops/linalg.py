"""Matrix products: ``matmul`` (PyTorch's 1-D, 2-D and batched broadcasting cases), fused ``linear``, ``einsum``,
and the matrix helpers built on them (``outer``, ``dot``, ``tril``/``triu``, ``diag``/``diagonal``, ``trace``).

``linear`` is a primitive rather than ``x @ W.T + b`` because it is the hot path of every dense network:
fused, its forward is one GEMM plus an in-place bias add, and its backward is two GEMMs and a column sum
over a 2-D view of the batch, skipping the input gradient when the input needs none (the data batch).
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.higher_order import backward_by_composite
from nerve.ops._util import binary_operands, normalize_dim, sum_to, unbroadcast
from nerve.ops.elementwise import mul, where
from nerve.ops.reduce import sum
from nerve.ops.shape import GetItem, PlaceAt, expand, unsqueeze
from nerve.tensor import Tensor, _wrap


class MatMul(Function):
    fresh_grads = True  # every gradient is a new GEMM output (or its column sum)

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.saved = (a, b)
        if b.ndim == 2 and a.ndim > 2:
            # (..., n, k) @ (k, m): one GEMM over the flattened batch instead of a loop of small ones
            return (a.reshape(-1, a.shape[-1]) @ b).reshape(*a.shape[:-1], b.shape[-1])
        return np.matmul(a, b)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        # Promote 1-D operands to matrices (as the forward did implicitly) so one rule covers all cases.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if b.ndim == 1:  # first: for 1-D @ 1-D the 0-d gradient becomes (1,) and then (1, 1)
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        ga = gb = None
        if b2.ndim == 2 and a2.ndim > 2:
            g_flat = g2.reshape(-1, g2.shape[-1])
            if need_a:
                ga = (g_flat @ b2.T).reshape(a.shape)
            if need_b:
                gb = (a2.reshape(-1, a2.shape[-1]).T @ g_flat).reshape(b.shape)
            return (ga, gb)
        if need_a:
            ga = unbroadcast(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if need_b:
            gb = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b.shape)
        return (ga, gb)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.parents
        need_a, need_b = self.needs_input_grad
        a2 = unsqueeze(a, 0) if a.ndim == 1 else a
        b2 = unsqueeze(b, 1) if b.ndim == 1 else b
        g2 = unsqueeze(g, -1) if b.ndim == 1 else g
        g2 = unsqueeze(g2, -2) if a.ndim == 1 else g2
        ga = sum_to(MatMul.apply(g2, b2.transpose(-1, -2)), a2.shape).reshape(a.shape) if need_a else None
        gb = sum_to(MatMul.apply(a2.transpose(-1, -2), g2), b2.shape).reshape(b.shape) if need_b else None
        return (ga, gb)


class Linear(Function):
    """``y = x @ weight.T + bias`` for x of shape (*, in_features)."""
    fresh_grads = True  # every gradient is a new GEMM output (or its column sum)

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        out = x2 @ w.T
        if b is not None:
            out += b
        self.saved = (x2, w)
        self.x_shape = x.shape
        return out.reshape(*x.shape[:-1], w.shape[0]) if x.ndim != 2 else out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x2, w = self.saved
        needs = self.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        gx = (g2 @ w).reshape(self.x_shape) if needs[0] else None
        gw = g2.T @ x2 if needs[1] else None
        if len(needs) == 3:
            return (gx, gw, g2.sum(axis=0) if needs[2] else None)
        return (gx, gw)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x, w = self.parents[:2]
        needs = self.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1])
        gx = MatMul.apply(g2, w).reshape(x.shape) if needs[0] else None
        gw = MatMul.apply(g2.transpose(0, 1), x.reshape(-1, x.shape[-1])) if needs[1] else None
        if len(needs) == 3:
            return (gx, gw, sum(g2, 0) if needs[2] else None)
        return (gx, gw)


class Einsum(Function):
    """``np.einsum`` over explicit subscripts (no ellipsis, sizes already broadcast: see :func:`einsum`).

    The VJP of operand k is the einsum of the output gradient with the other operands, written to k's
    subscripts. Two cases need more than that: a subscript found only in operand k (summed away, e.g. ``ij->i``)
    gets the gradient broadcast along it, and a repeated subscript (a diagonal, e.g. ``ii->i``) scatters the
    gradient back onto that diagonal of zeros.
    """

    def forward(self, *arrays: np.ndarray, inputs: tuple[str, ...], output: str) -> np.ndarray:
        self.saved = arrays
        self.inputs, self.output = inputs, output
        self.sizes = {c: n for subs, a in zip(inputs, arrays) for c, n in zip(subs, a.shape)}
        # NOTE: optimize=True lets NumPy contract pairwise with BLAS (tensordot) in the cheapest order
        return np.einsum(f"{','.join(inputs)}->{output}", *arrays, optimize=len(arrays) > 1)

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        arrays = self.saved
        grads: list[np.ndarray | None] = []
        for k, need in enumerate(self.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            others, (subs, target, reachable), equation = self._plan(k)
            gk = np.einsum(equation, g, *(arrays[i] for i in others), optimize=len(others) > 0)
            if reachable != target:  # subscripts summed inside operand k alone: d(sum)/dx = 1 along them
                shape = [self.sizes[c] if c in reachable else 1 for c in target]
                gk = np.broadcast_to(gk.reshape(shape), [self.sizes[c] for c in target])
            if target != subs:  # a repeated subscript reads a diagonal: write the gradient back onto it
                full = np.zeros(arrays[k].shape, dtype=g.dtype)
                full[self._diagonal_index(gk.shape, subs, target)] = gk
                gk = full
            grads.append(gk)
        return tuple(grads)

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        grads: list[Tensor | None] = []
        for k, need in enumerate(self.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            others, (subs, target, reachable), _ = self._plan(k)
            gk = Einsum.apply(g, *(self.parents[i] for i in others),
                              inputs=(self.output, *(self.inputs[i] for i in others)), output=reachable)
            if reachable != target:
                shape = tuple(self.sizes[c] if c in reachable else 1 for c in target)
                gk = expand(gk.reshape(shape), *(self.sizes[c] for c in target))
            if target != subs:
                gk = PlaceAt.apply(gk, shape=self.parents[k].shape, index=self._diagonal_index(gk.shape, subs, target),
                                   accumulate=False)
            grads.append(gk)
        return tuple(grads)

    def _plan(self, k: int) -> tuple[list[int], tuple[str, str, str], str]:
        """For operand k: the other operands, (its subscripts, them without repeats, those the output or another
        operand carries) and the einsum equation of its gradient."""
        subs = self.inputs[k]
        others = [i for i in range(len(self.inputs)) if i != k]
        seen = set(self.output).union(*(self.inputs[i] for i in others))
        target = "".join(dict.fromkeys(subs))  # unique subscripts, in order
        reachable = "".join(c for c in target if c in seen)
        equation = ",".join([self.output, *(self.inputs[i] for i in others)]) + "->" + reachable
        return others, (subs, target, reachable), equation

    @staticmethod
    def _diagonal_index(shape: tuple[int, ...], subs: str, target: str) -> tuple[np.ndarray, ...]:
        """Where an operand with repeated subscripts ``subs`` holds the elements of a ``target``-shaped array."""
        grid = np.indices(shape, sparse=True)
        return tuple(grid[target.index(c)] for c in subs)


class Diagonal(Function):
    """The ``offset`` diagonal of the (dim1, dim2) planes, as a new last dim; backward writes it into zeros."""

    def forward(self, x: np.ndarray, offset: int, dim1: int, dim2: int) -> np.ndarray:
        self.shape, self.args = x.shape, (offset, dim1, dim2)
        return np.diagonal(x, offset, dim1, dim2).copy()  # NumPy's diagonal view is read-only

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        offset, dim1, dim2 = self.args
        gx = np.zeros(self.shape, dtype=g.dtype)
        planes = np.moveaxis(gx, (dim1, dim2), (-2, -1))  # a writable view of gx
        n = g.shape[-1]
        planes[..., np.arange(n) + max(-offset, 0), np.arange(n) + max(offset, 0)] = g
        return (gx,)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        offset, dim1, dim2 = self.args
        rest = [d for d in range(len(self.shape)) if d not in (dim1, dim2)]
        n = g.shape[-1]
        index = (Ellipsis, np.arange(n) + max(-offset, 0), np.arange(n) + max(offset, 0))

        def composite(x: Tensor) -> Tensor:  # the diagonal read off planes moved last
            return GetItem.apply(x.permute(*rest, dim1, dim2), index=index, accumulate=False)

        return backward_by_composite(self, g, composite)


class DiagEmbed(Function):
    """A vector placed on the ``offset`` diagonal of a square matrix of zeros (the VJP reads that diagonal)."""

    def forward(self, x: np.ndarray, offset: int) -> np.ndarray:
        self.offset = offset
        n = x.shape[0] + abs(offset)
        out = np.zeros((n, n), dtype=x.dtype)
        out[np.arange(x.shape[0]) + max(-offset, 0), np.arange(x.shape[0]) + max(offset, 0)] = x
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray]:
        return (np.diagonal(g, self.offset).copy(),)

    def backward_graph(self, g: Tensor) -> tuple[Tensor]:
        return (Diagonal.apply(g, offset=self.offset, dim1=0, dim2=1),)


def _describe(t: Tensor) -> str:
    return f"{tuple(t.shape)} ({t.data.dtype})"


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with PyTorch's semantics.

    1-D @ 1-D is a dot product, 2-D @ 1-D a matrix-vector product, 1-D @ 2-D a vector-matrix product,
    and N-D operands are stacks of matrices whose batch dims broadcast.

    Shape:
        a: (*, n, k) or (k,);  b: (*, k, m) or (k,);  out: (*, n, m) with 1-D dims dropped.
    """
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul: expected two tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"matmul: both operands need at least 1 dimension, got shapes {_describe(a)} and {_describe(b)}"
        )
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(
            f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied: the last dim of the "
            f"first ({k_a}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} dim of the second ({k_b})"
        )
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(
                f"matmul: batch dims {tuple(a.shape[:-2])} and {tuple(b.shape[:-2])} of shapes "
                f"{tuple(a.shape)} and {tuple(b.shape)} do not broadcast"
            ) from None
    a, b = binary_operands(a, b)
    if a.data.dtype.kind != "f":
        raise TypeError(f"matmul: expected floating-point tensors, got {_describe(a)} and {_describe(b)}")
    return MatMul.apply(a, b)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias``.

    Shape:
        x: (*, in_features);  weight: (out_features, in_features);  bias: (out_features,);
        out: (*, out_features).
    """
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {tuple(weight.shape)}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {tuple(x.shape)} has last dim {x.shape[-1] if x.ndim else None}, "
            f"expected in_features={weight.shape[1]} (weight shape {tuple(weight.shape)})"
        )
    if x.data.dtype != weight.data.dtype:
        raise TypeError(
            f"linear: input dtype {x.data.dtype} does not match weight dtype {weight.data.dtype}; "
            f"convert the input with .to({weight.data.dtype}) or the module with .to(dtype)"
        )
    if bias is None:
        return Linear.apply(x, weight)
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    if bias.data.dtype != weight.data.dtype:
        raise TypeError(f"linear: bias dtype {bias.data.dtype} does not match weight dtype {weight.data.dtype}")
    return Linear.apply(x, weight, bias)


def einsum(equation: str, *operands: Tensor | Sequence[Tensor]) -> Tensor:
    """Einstein summation, as ``torch.einsum``: ``einsum("bij,bjk->bik", a, b)`` or ``einsum(eq, [a, b])``.

    Subscripts are letters; each operand may hold one ``...`` standing for its remaining dims, which broadcast
    across operands (aligned from the right) like all dims of size 1. Without ``->`` the output is ``...``
    followed by the subscripts that appear once, in alphabetical order (upper case first). A subscript repeated
    within one operand takes its diagonal (``"ii->i"``; ``"ii"`` is the trace). Differentiable in every operand.

    Shape:
        operands: as the equation names them;  out: one dim per output subscript.
    """
    if not isinstance(equation, str):
        raise TypeError(f"einsum: equation must be a str, got {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: expected at least one operand tensor")
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum: operand {i} must be a nerve.Tensor, got {type(t).__name__}")
    tensors: list[Tensor] = list(operands)  # type: ignore[arg-type]
    dtypes = [t.data.dtype for t in tensors]
    if len(set(dtypes)) > 1:
        raise TypeError(f"einsum: operands must share one dtype, got {', '.join(map(str, dtypes))}")
    inputs, output, ellipsis = _parse_einsum(equation, [tuple(t.shape) for t in tensors])
    sizes: dict[str, int] = {}
    for i, (subs, t) in enumerate(zip(inputs, tensors)):
        own: dict[str, int] = {}
        for c, n in zip(subs, t.shape):
            label = "an ellipsis dim" if c in ellipsis else f"subscript {c!r}"
            if own.setdefault(c, n) != n:
                raise ValueError(f"einsum: {label} is repeated in operand {i} with sizes {own[c]} and {n}; taking "
                                 "a diagonal needs equal sizes")
            m = sizes.get(c, 1)
            if n != m and 1 not in (n, m):
                raise ValueError(f"einsum: {label} has size {n} in operand {i} but {m} in an earlier operand; "
                                 "sizes must match or be 1")
            sizes[c] = n if m == 1 else m
    # Size-1 dims broadcast by an expand (whose VJP sums back), so the primitive sees consistent sizes only.
    tensors = [expand(t, [sizes[c] for c in subs]) for t, subs in zip(tensors, inputs)]
    return Einsum.apply(*tensors, inputs=tuple(inputs), output=output)


def _parse_einsum(equation: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str, str]:
    """Explicit letter subscripts per operand, the output's, and the letters invented for ``...``."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: equation {equation!r} names {len(terms)} operand(s) but {len(shapes)} "
                         "tensor(s) were given")
    for term in [*terms, rhs]:
        bad = [c for c in term.replace("...", "", 1) if c not in string.ascii_letters]
        if bad:
            raise ValueError(f"einsum: invalid subscript {bad[0]!r} in {equation!r}; subscripts must be letters "
                             "a-z or A-Z, with at most one '...' per operand")
    n_ellipsis: list[int] = []
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        named = len(term.replace("...", ""))
        if ("..." in term and len(shape) < named) or ("..." not in term and len(shape) != named):
            raise ValueError(f"einsum: operand {i} has {len(shape)} dim(s) {shape} but its subscripts {term!r} "
                             f"name {named}{'' if '...' in term else ' (use ... for the rest)'}")
        n_ellipsis.append(len(shape) - named if "..." in term else 0)
    unused = [c for c in string.ascii_letters if c not in eq]
    if max(n_ellipsis) > len(unused):
        raise ValueError(f"einsum: '...' covers {max(n_ellipsis)} dims but only {len(unused)} letters are unused")
    ellipsis = "".join(unused[: max(n_ellipsis)])
    inputs = [t.replace("...", ellipsis[len(ellipsis) - n :]) for t, n in zip(terms, n_ellipsis)]
    letters = "".join(terms).replace("...", "")
    if not arrow:
        once = sorted(c for c in set(letters) if letters.count(c) == 1)
        return inputs, ellipsis + "".join(once), ellipsis
    for c in rhs.replace("...", ""):
        if c not in letters:
            raise ValueError(f"einsum: output subscript {c!r} of {equation!r} appears in no operand")
        if rhs.count(c) > 1:
            raise ValueError(f"einsum: output subscript {c!r} appears more than once in {equation!r}")
    # NOTE: as in torch, an output without '...' sums the ellipsis dims away
    return inputs, rhs.replace("...", ellipsis), ellipsis


def _check_1d(op: str, **tensors: Tensor) -> None:
    for name, t in tensors.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a nerve.Tensor, got {type(t).__name__}")
        if t.ndim != 1:
            raise ValueError(f"{op}: expected 1-D tensors, got {name} of shape {tuple(t.shape)}")


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product ``out[i, j] = input[i] * vec2[j]`` (dtypes promote as in ``mul``).

    Shape:
        input: (n,);  vec2: (m,);  out: (n, m).
    """
    _check_1d("outer", input=input, vec2=vec2)
    return mul(unsqueeze(input, 1), unsqueeze(vec2, 0))


ger = outer


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same size and dtype (a 0-d tensor).

    Shape:
        input: (n,);  tensor: (n,);  out: ().
    """
    _check_1d("dot", input=input, tensor=tensor)
    if input.shape != tensor.shape:
        raise ValueError(f"dot: sizes must match, got shapes {tuple(input.shape)} and {tuple(tensor.shape)}")
    if input.data.dtype != tensor.data.dtype:
        raise TypeError(f"dot: expected both tensors to have the same dtype, got {_describe(input)} and "
                        f"{_describe(tensor)}")
    return einsum("i,i->", input, tensor)


def _triangle(x: Tensor, keep: np.ndarray) -> Tensor:
    # NOTE: where(), not x * mask: 0 * inf would put NaN above/below the kept triangle
    return where(_wrap(keep), x, _wrap(np.zeros((), x.data.dtype)))  # a typed zero keeps bool and int dtypes


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Lower triangle of the last two dims: elements with ``col - row <= diagonal`` kept, the rest zeroed.

    Shape:
        input: (*, n, m);  out: (*, n, m).
    """
    if input.ndim < 2:
        raise ValueError(f"tril: expected a tensor with at least 2 dims, got shape {tuple(input.shape)}")
    return _triangle(input, np.tri(*input.shape[-2:], k=diagonal, dtype=bool))


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Upper triangle of the last two dims: elements with ``col - row >= diagonal`` kept, the rest zeroed.

    Shape:
        input: (*, n, m);  out: (*, n, m).
    """
    if input.ndim < 2:
        raise ValueError(f"triu: expected a tensor with at least 2 dims, got shape {tuple(input.shape)}")
    return _triangle(input, ~np.tri(*input.shape[-2:], k=diagonal - 1, dtype=bool))


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset`` diagonal (above the main one when positive) of the planes spanned by ``dim1`` and ``dim2``.

    Shape:
        input: (*);  out: the other dims, then the diagonal's length (0 when ``offset`` is past the edge).
    """
    if input.ndim < 2:
        raise ValueError(f"diagonal: expected a tensor with at least 2 dims, got shape {tuple(input.shape)}")
    d1 = normalize_dim(dim1, input.ndim, "diagonal")
    d2 = normalize_dim(dim2, input.ndim, "diagonal")
    if d1 == d2:
        raise ValueError(f"diagonal: dim1 and dim2 must be different dims, got {dim1} and {dim2}")
    return Diagonal.apply(input, offset=int(offset), dim1=d1, dim2=d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D tensor as the ``diagonal`` diagonal of a square matrix, or the ``diagonal`` diagonal of a matrix.

    Shape:
        input: (n,) -> out: (n + |diagonal|, n + |diagonal|);  input: (n, m) -> out: (length of that diagonal,).
    """
    if input.ndim == 1:
        return DiagEmbed.apply(input, offset=int(diagonal))
    if input.ndim == 2:
        return Diagonal.apply(input, offset=int(diagonal), dim1=0, dim2=1)
    raise ValueError(f"diag: expected a 1-D or 2-D tensor, got shape {tuple(input.shape)}")


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix (integer matrices give int64, as ``sum``).

    Shape:
        input: (n, m);  out: ().
    """
    if input.ndim != 2:
        raise ValueError(f"trace: expected a 2-D tensor (a matrix), got shape {tuple(input.shape)}")
    return sum(Diagonal.apply(input, offset=0, dim1=0, dim2=1))

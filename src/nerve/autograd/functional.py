"""Higher-level autograd on functions, as ``torch.autograd.functional``: ``vjp``, ``jvp``, ``jacobian``,
``hessian``, ``vhp`` and ``hvp``.

Each takes ``func(*inputs)`` and its inputs (a tensor or a tuple of tensors) and works on detached copies of
the inputs, so the caller's graph is not touched (unless ``create_graph=True``, which keeps the result
differentiable with respect to the original inputs). Results follow the inputs' structure: a tensor for a
tensor, a tuple for a tuple. Forward-mode products (``jvp``) use the double-VJP identity
``Jv = d/du (uᵀJ) v``, and everything second-order goes through ``create_graph=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nerve.autograd import grad as _grad
from nerve.autograd.grad_mode import enable_grad
from nerve.ops.shape import stack
from nerve.tensor import Tensor, _wrap

Inputs = Tensor | tuple[Tensor, ...]


def _as_tuple(value: Any, what: str, fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    is_tuple = isinstance(value, tuple | list)
    items = tuple(value) if is_tuple else (value,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: {what} must be a Tensor or a tuple of Tensors, but element {i} is a "
                            f"{type(t).__name__}")
    return is_tuple, items


def _prepare(inputs: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    """Inputs that require grad: the originals viewed (graph kept) with create_graph, else detached copies."""
    prepared = []
    for t in inputs:
        if create_graph and t.requires_grad:
            prepared.append(t.view_as(t))
        else:
            prepared.append(t.detach().requires_grad_(True))
    return tuple(prepared)


def _finish(values: tuple[Tensor, ...], is_tuple: bool, create_graph: bool) -> Any:
    values = values if create_graph else tuple(v.detach() for v in values)
    return values if is_tuple else values[0]


def _vectors(v: Any, like: tuple[Tensor, ...], what: str, fn: str) -> tuple[Tensor, ...]:
    """``v`` as one tensor per entry of ``like`` (``None`` allowed only for a single one-element tensor)."""
    if v is None:
        if len(like) != 1 or like[0].data.size != 1:
            raise RuntimeError(f"{fn}: the vector v can only be None if the {what} is a single Tensor with a "
                               "single element")
        return (_wrap(np.ones_like(like[0].data)),)
    _, vs = _as_tuple(v, "v", fn)
    if len(vs) != len(like):
        raise RuntimeError(f"{fn}: v has {len(vs)} entries, but the {what} has {len(like)}")
    for i, (a, b) in enumerate(zip(vs, like)):
        if a.shape != b.shape:
            raise RuntimeError(f"{fn}: entry {i} of v has shape {tuple(a.shape)}, but the {what} has shape "
                               f"{tuple(b.shape)}")
    return vs


def _grads(outputs: tuple[Tensor, ...], inputs: tuple[Tensor, ...], seeds: tuple[Tensor, ...] | None,
           create_graph: bool, strict: bool, fn: str, retain: bool = True) -> tuple[Tensor, ...]:
    """d(outputs · seeds)/d(inputs), zeros for inputs the outputs do not depend on (an error when strict)."""
    live = [o for o in outputs if o.requires_grad]
    live_seeds = None if seeds is None else [s for o, s in zip(outputs, seeds) if o.requires_grad]
    found: tuple[Tensor | None, ...] = (None,) * len(inputs)
    if live:
        found = _grad(live, list(inputs), grad_outputs=live_seeds, retain_graph=retain, create_graph=create_graph,
                      allow_unused=True)
    result = []
    for i, (g, t) in enumerate(zip(found, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn}: the output of the user-provided function is independent of input {i}. "
                                   "This is not allowed in strict mode.")
            g = _wrap(np.zeros_like(t.data))
        result.append(g)
    return tuple(result)


def _call(func: Callable[..., Any], inputs: tuple[Tensor, ...], fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    with enable_grad():
        return _as_tuple(func(*inputs), "the output of the user-provided function", fn)


def vjp(func: Callable[..., Any], inputs: Inputs, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(*inputs), vᵀ J)``: the vector-Jacobian product of ``func`` at ``inputs``."""
    is_tuple, xs = _as_tuple(inputs, "inputs", "vjp")
    xs = _prepare(xs, create_graph)
    out_tuple, outs = _call(func, xs, "vjp")
    seeds = _vectors(v, outs, "output of the user-provided function", "vjp")
    products = _grads(outs, xs, seeds, create_graph, strict, "vjp")
    return _finish(outs, out_tuple, create_graph), _finish(products, is_tuple, create_graph)


def jvp(func: Callable[..., Any], inputs: Inputs, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(*inputs), J v)``: the Jacobian-vector product, by differentiating ``uᵀJ`` in ``u``."""
    _, xs = _as_tuple(inputs, "inputs", "jvp")
    xs = _prepare(xs, create_graph)
    tangents = _vectors(v, xs, "input", "jvp")
    out_tuple, outs = _call(func, xs, "jvp")
    dummies = tuple(_wrap(np.zeros_like(o.data)).requires_grad_(True) for o in outs)
    pulled = _grads(outs, xs, dummies, True, strict, "jvp")  # uᵀJ, linear in u
    products = _grads(pulled, dummies, tangents, create_graph, strict, "jvp")
    return _finish(outs, out_tuple, create_graph), _finish(products, out_tuple, create_graph)


def jacobian(func: Callable[..., Any], inputs: Inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs``, one VJP per output element.

    Shape: ``jac[i][j]`` has shape ``outputs[i].shape + inputs[j].shape``; a tensor (not a tuple) where the
    inputs or the outputs were a single tensor, as in PyTorch. ``vectorize`` is accepted and ignored (the rows
    are computed one at a time either way); only ``strategy="reverse-mode"`` is supported.
    """
    if strategy != "reverse-mode":
        raise ValueError(f"jacobian: only strategy='reverse-mode' is supported, got {strategy!r}")
    is_tuple, xs = _as_tuple(inputs, "inputs", "jacobian")
    xs = _prepare(xs, create_graph)
    out_tuple, outs = _call(func, xs, "jacobian")
    blocks = []
    for out in outs:
        rows: list[tuple[Tensor, ...]] = []
        for k in range(out.data.size):
            seed = np.zeros(out.data.size, dtype=out.data.dtype)
            seed[k] = 1
            rows.append(_grads((out,), xs, (_wrap(seed.reshape(out.shape)),), create_graph, strict, "jacobian"))
        per_input = []
        for j, x in enumerate(xs):
            if rows:
                block = stack([r[j] for r in rows]).reshape(*out.shape, *x.shape)
            else:
                block = _wrap(np.zeros((*out.shape, *x.shape), dtype=x.data.dtype))
            per_input.append(block if create_graph else block.detach())
        blocks.append(tuple(per_input) if is_tuple else per_input[0])
    return tuple(blocks) if out_tuple else blocks[0]


def hessian(func: Callable[..., Any], inputs: Inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a scalar ``func`` at ``inputs``: ``hess[i][j]`` of shape ``inputs[i].shape + inputs[j].shape``
    (a tensor for a single input)."""
    is_tuple, xs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*args: Tensor) -> tuple[Tensor, ...]:
        out = _scalar_output(func, args, "hessian")
        return _grads((out,), args, None, True, strict, "hessian")

    result = jacobian(gradient, xs, create_graph=create_graph, strict=strict, strategy=outer_jacobian_strategy)
    return result if is_tuple else result[0][0]


def vhp(func: Callable[..., Any], inputs: Inputs, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(*inputs), vᵀ H)`` for a scalar ``func``: a second backward through the gradient."""
    return _vector_hessian(func, inputs, v, create_graph, strict, "vhp")


def hvp(func: Callable[..., Any], inputs: Inputs, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(*inputs), H v)`` for a scalar ``func``. The Hessian of a twice-differentiable function is
    symmetric, so this is :func:`vhp` (PyTorch computes it by a double-VJP instead; results agree to rounding)."""
    return _vector_hessian(func, inputs, v, create_graph, strict, "hvp")


def _vector_hessian(func: Callable[..., Any], inputs: Inputs, v: Any, create_graph: bool, strict: bool,
                    fn: str) -> tuple[Any, Any]:
    is_tuple, xs = _as_tuple(inputs, "inputs", fn)
    xs = _prepare(xs, create_graph)
    vs = _vectors(v, xs, "input", fn)
    out = _scalar_output(func, xs, fn)
    gradient = _grads((out,), xs, None, True, strict, fn)
    products = _grads(gradient, xs, vs, create_graph, strict, fn)
    return _finish((out,), False, create_graph), _finish(products, is_tuple, create_graph)


def _scalar_output(func: Callable[..., Any], inputs: tuple[Tensor, ...], fn: str) -> Tensor:
    with enable_grad():
        out = func(*inputs)
    if isinstance(out, tuple | list) and len(out) == 1:
        out = out[0]
    if not isinstance(out, Tensor) or out.data.size != 1:
        raise RuntimeError(f"{fn}: the function should return a single Tensor with a single element, got "
                           f"{tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__}")
    return out


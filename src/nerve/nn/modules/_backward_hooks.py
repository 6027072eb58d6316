"""Module backward hooks: the graph nodes behind ``register_full_backward_hook`` and its pre-hook.

A hook wants the gradients of *all* a module's outputs (or inputs) at once, but nerve's nodes have one output
each, and the engine reaches the nodes of a module's several outputs one at a time. So each call of a hooked
module threads its tensors through two kinds of identity node:

* a :class:`_Gate` takes every tensor of the group (the outputs, or the inputs) and yields a 0-d token;
* a :class:`_Relay` per tensor passes the tensor's array on unchanged, and has the token as a second parent.

In backward each relay files the gradient it receives with the call's :class:`BackwardHook` and sends only a
zero to the token. The gate consumes the token, so the engine reaches it after every relay that receives a
gradient; by then the group's gradients are complete, the hooks run on them, and the gate hands the (possibly
replaced) gradients to the group's tensors. Outputs: the pre-hooks run on the output gradients. Inputs: the
hooks run on the input gradients with the output gradients. Arrays are not copied in either direction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.grad_mode import grad_mode
from nerve.tensor import Tensor, _wrap

_TOKEN_DTYPE = np.float32


class _Gate(Function):
    """``token = 0``: orders the gradients of a group of tensors before the group's hooks run."""

    def forward(self, *arrays: np.ndarray, group: _Group) -> np.ndarray:
        self.group = group
        return np.zeros((), _TOKEN_DTYPE)

    def backward(self, grad: np.ndarray) -> tuple[np.ndarray | None, ...]:
        return self.group.release()


class _Relay(Function):
    """``out = x``; its gradient goes to the group's gate (as a zero on the token), not straight to ``x``."""

    def forward(self, x: np.ndarray, token: np.ndarray, *, group: _Group, slot: int) -> np.ndarray:
        self.group, self.slot = group, slot
        return x

    def backward(self, grad: np.ndarray) -> tuple[None, np.ndarray]:
        self.group.grads[self.slot] = grad
        return None, np.zeros((), _TOKEN_DTYPE)

    def backward_graph(self, grad: Tensor) -> tuple[Tensor | None, ...]:
        raise NotImplementedError("module full backward hooks do not support higher-order gradients "
                                  "(create_graph=True); remove the hooks, or use tensor hooks (register_hook)")


class _Group:
    """The tensors of one side (inputs or outputs) of one module call, and what their gate does in backward."""

    def __init__(self, size: int, slots: list[int], on_grads: Callable[[list[np.ndarray | None]], list]) -> None:
        self.size, self.slots, self.on_grads = size, slots, on_grads
        self.grads: dict[int, np.ndarray] = {}

    def release(self) -> tuple[np.ndarray | None, ...]:
        """The group's gradients (None where nothing reached a tensor), after the hooks; one per gated tensor."""
        grads = [self.grads.get(slot) for slot in range(self.size)]
        self.grads = {}  # a retained graph can be walked again
        grads = self.on_grads(grads)
        return tuple(grads[slot] for slot in self.slots)

    def thread(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        """``values`` with each gated tensor replaced by its relay."""
        tensors = [values[slot] for slot in self.slots]
        token = _Gate.apply(*tensors, group=self)
        threaded = list(values)
        for slot, t in zip(self.slots, tensors):
            threaded[slot] = _Relay.apply(t, token, group=self, slot=slot)
        return tuple(threaded)


def _grad_slots(values: Iterable[Any]) -> list[int]:
    return [i for i, v in enumerate(values) if isinstance(v, Tensor) and v.requires_grad]


class BackwardHook:
    """One call of a module with full backward hooks: wraps its inputs before ``forward``, its outputs after.

    Mirrors PyTorch: ``grad_input`` and ``grad_output`` have one entry per positional argument and per
    top-level output (a lone tensor output counts as a 1-tuple), ``None`` for non-tensors and for tensors
    that received no gradient. Keyword arguments are not hooked.
    """

    def __init__(self, module: Any, hooks: list[Callable], pre_hooks: list[Callable]) -> None:
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.n_inputs = 0
        self.inputs_gated = False
        self.grad_outputs: list[np.ndarray | None] = []

    def setup_inputs(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        self.n_inputs = len(args)
        slots = _grad_slots(args)
        if not (self.hooks and slots and grad_mode.enabled):
            return args
        self.inputs_gated = True
        return _Group(len(args), slots, self._on_input_grads).thread(args)

    def setup_outputs(self, out: Any) -> Any:
        single = not isinstance(out, tuple)
        outputs = (out,) if single else out
        slots = _grad_slots(outputs)
        if not (slots and grad_mode.enabled):
            return out
        threaded = _Group(len(outputs), slots, self._on_output_grads).thread(outputs)
        return threaded[0] if single else type(out)(*threaded) if hasattr(out, "_fields") else threaded

    # ---- backward
    def _on_output_grads(self, grads: list[np.ndarray | None]) -> list[np.ndarray | None]:
        for hook in self.pre_hooks:
            result = hook(self.module, _as_tensors(grads))
            if result is not None:
                grads = _as_arrays(result, grads, "register_full_backward_pre_hook", "grad_output", self.module)
        self.grad_outputs = grads
        if self.hooks and not self.inputs_gated:  # no input needs a gradient: PyTorch calls the hooks now
            self._run_hooks([None] * self.n_inputs)
        return grads

    def _on_input_grads(self, grads: list[np.ndarray | None]) -> list[np.ndarray | None]:
        return self._run_hooks(grads)

    def _run_hooks(self, grads: list[np.ndarray | None]) -> list[np.ndarray | None]:
        grad_outputs = _as_tensors(self.grad_outputs)
        for hook in self.hooks:
            result = hook(self.module, _as_tensors(grads), grad_outputs)
            if result is not None:
                grads = _as_arrays(result, grads, "register_full_backward_hook", "grad_input", self.module)
        return grads


def _as_tensors(grads: list[np.ndarray | None]) -> tuple[Tensor | None, ...]:
    return tuple(None if g is None else _wrap(g) for g in grads)


def _as_arrays(result: Any, before: list[np.ndarray | None], where: str, what: str,
               module: Any) -> list[np.ndarray | None]:
    """A hook's replacement gradients, checked against the ones it was given."""
    name = type(module).__name__
    if isinstance(result, Tensor):
        result = (result,)
    if not isinstance(result, (tuple, list)) or len(result) != len(before):
        got = f"{len(result)} entries" if isinstance(result, (tuple, list)) else type(result).__name__
        raise RuntimeError(f"{name} {where}: the hook returned {got}; expected None or a tuple of {len(before)} "
                           f"{what} entries (Tensor or None)")
    arrays: list[np.ndarray | None] = []
    for i, (new, old) in enumerate(zip(result, before)):
        if new is None:
            arrays.append(None)
            continue
        if not isinstance(new, Tensor):
            raise RuntimeError(f"{name} {where}: {what}[{i}] returned by the hook is a {type(new).__name__}; "
                               "expected a Tensor or None")
        if old is not None and (new.shape != old.shape or new.dtype != old.dtype):
            raise RuntimeError(f"{name} {where}: {what}[{i}] returned by the hook has shape {tuple(new.shape)} "
                               f"and dtype {new.dtype}; expected shape {old.shape} and dtype {old.dtype}")
        arrays.append(new.data)
    return arrays

"""The optimizer base: parameter groups, per-parameter state, and flat buffers for vectorised updates.

PyTorch's outer interface (``param_groups``, ``state``, ``zero_grad``, ``step``, ``state_dict``) over a
layout built for NumPy: each group's parameters become views into one contiguous buffer, and each state
(e.g. Adam's moments) is one buffer of the same layout. When every parameter of a group has a gradient
(the usual case), ``step`` gathers the gradients with one ``np.concatenate`` and applies the update rule
once to the whole buffer: a dozen array operations per step instead of a dozen per parameter. Otherwise
it applies the same rule parameter by parameter on views of the same buffers, skipping parameters
without gradients as PyTorch does. A subclass writes only ``_update`` (the rule, on arrays) and, when
its state does not start at zero, ``_initial_state``. Per-parameter scalars (NAdam's ``mu_product``) live
in ``_scalar_state``: one float32 per parameter, as PyTorch keeps them, passed to ``_update`` as 0-d arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import numpy as np

from nerve.autograd.grad_mode import enable_grad
from nerve.nn.modules.module import Module
from nerve.tensor import Tensor, _wrap

ParamsT = Iterable[Tensor] | Iterable[tuple[str, Tensor]] | Iterable[dict[str, Any]]


class _GroupBuffers:
    """One group's parameters as views of a flat buffer, its state buffers, and per-parameter step counts."""

    def __init__(self, params: list[Tensor]) -> None:
        self.params = params
        self.sizes = [p.data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        dtypes = {p.data.dtype for p in params}
        self.dtype = dtypes.pop() if len(dtypes) == 1 else None
        self.flat: np.ndarray | None = None
        self.grad: np.ndarray | None = None
        if self.dtype is not None:
            self.flat = np.empty(int(self.offsets[-1]), dtype=self.dtype)
            self.grad = np.empty_like(self.flat)
            for i, p in enumerate(params):
                view = self._slice(self.flat, i)
                view[...] = p.data
                p.data = view
        self.views = [p.data for p in params]
        # scratch space for the update rule's temporaries, so a step allocates nothing
        self.scratch = np.empty_like(self.flat) if self.flat is not None else None
        self.state: dict[str, np.ndarray | list[np.ndarray]] = {}
        self.steps = np.zeros(len(params), dtype=np.int64)
        self.scalars: dict[str, np.ndarray] = {}

    def scalar_array(self, name: str, fill: float) -> np.ndarray:
        """The per-parameter scalar state ``name``: one float32 per parameter (PyTorch's scalar dtype)."""
        if name not in self.scalars:
            self.scalars[name] = np.full(len(self.params), fill, dtype=np.float32)
        return self.scalars[name]

    def _slice(self, flat: np.ndarray, i: int) -> np.ndarray:
        return flat[self.offsets[i] : self.offsets[i + 1]].reshape(self.params[i].data.shape)

    def reattach(self) -> None:
        """Re-link parameters whose ``.data`` was replaced (e.g. by assignment) to their view, copying values."""
        for i, (p, view) in enumerate(zip(self.params, self.views)):
            if p.data is view:
                continue
            if p.data.shape != view.shape or p.data.dtype != view.dtype:
                raise RuntimeError(
                    f"optimizer: parameter {i} changed from {view.shape} {view.dtype} to {p.data.shape} "
                    f"{p.data.dtype} after the optimizer was created; create the optimizer after "
                    "model.to(dtype) or reshaping parameters"
                )
            view[...] = p.data
            p.data = view

    def state_arrays(self, name: str, fill: float) -> tuple[np.ndarray | None, list[np.ndarray]]:
        """The flat state buffer ``name`` (None without a flat layout) and its per-parameter views."""
        if name + "/views" not in self.state:  # NOTE: without a flat layout only the views are stored
            if self.flat is not None:
                flat = np.full(self.flat.shape, fill, dtype=self.dtype)
                self.state[name] = flat
                self.state[name + "/views"] = [self._slice(flat, i) for i in range(len(self.params))]
            else:
                self.state[name + "/views"] = [np.full(p.data.shape, fill, dtype=p.data.dtype) for p in self.params]
        views: list[np.ndarray] = self.state[name + "/views"]  # type: ignore[assignment]
        return self.state.get(name), views  # type: ignore[return-value]


class Optimizer:
    """Base class of optimizers.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs (``model.named_parameters()``: the names
            are kept in each group's ``param_names``, as in PyTorch), or of dicts
            ``{"params": [...], **hyperparameters}`` (groups).
        defaults: default hyperparameters of every group.
    """

    _counts_steps = True
    #: per-parameter scalar states and their initial values (e.g. ``{"mu_product": 1.0}``)
    _scalar_state: ClassVar[dict[str, float]] = {}

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of tensors or dicts, got a single Tensor; "
                "pass model.parameters() or [tensor]"
            )
        if isinstance(params, Module):  # iterating a Module fails with "'Linear' object is not iterable"
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of tensors or dicts, got a Module "
                f"({type(params).__name__}); pass model.parameters()"
            )
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self._buffers: list[_GroupBuffers] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (e.g. a smaller lr for a backbone)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"add_param_group: expected a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        named = [isinstance(p, tuple) for p in params]
        names = None
        if any(named):
            if not all(named):
                raise ValueError(
                    f"{type(self).__name__}: a parameter group mixes (name, tensor) pairs and bare tensors; "
                    "pass model.named_parameters() or model.parameters(), not both"
                )
            if any(len(p) != 2 for p in params):
                raise TypeError(f"{type(self).__name__}: named parameters must be (name, tensor) pairs")
            names = [name for name, _ in params]
            params = [p for _, p in params]
        if self.param_groups and ("param_names" in self.param_groups[0]) != (names is not None):
            have = "with" if names is not None else "without"
            others = "without" if names is not None else "with"
            raise ValueError(
                f"{type(self).__name__}: cannot add a parameter group {have} names to groups {others} names; "
                "use named_parameters() for every group or for none"
            )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        ids = set()
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: can only optimize Tensors, got {type(p).__name__}")
            if p._node is not None:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf tensor")
            if p.data.dtype.kind != "f":
                raise TypeError(f"{type(self).__name__}: can only optimize floating-point tensors, got {p.dtype}")
            if id(p) in seen or id(p) in ids:
                raise ValueError(f"{type(self).__name__}: a parameter appears more than once in the parameter groups")
            ids.add(id(p))
        hyper = {k: v for k, v in param_group.items() if k not in ("params", "param_names")}
        group = {**self.defaults, **hyper, "params": params}
        if names is not None:
            group["param_names"] = names
        self._check_hyperparameters(group)
        self.param_groups.append(group)
        self._buffers.append(_GroupBuffers(params))
        for name in self._eager_state_names(group):
            self._buffers[-1].state_arrays(name, self._initial_state(group, name))

    def _check_options(self, betas: tuple[float, float] | None = None, **nonnegative: float) -> None:
        """Constructor checks the Adam family shares: betas in [0, 1), and the named options >= 0."""
        name = type(self).__name__
        if betas is not None and not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"{name}: invalid betas {betas} (each must be in [0, 1))")
        for option, value in nonnegative.items():
            if value < 0:
                raise ValueError(f"{name}: invalid {option} {value} (must be >= 0)")

    # ------------------------------------------------------------------------ the algorithm's part
    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        if group["lr"] < 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {group['lr']} (must be >= 0)")

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ()

    def _eager_state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        """States created at construction rather than on the first step (Adagrad's sum)."""
        return ()

    def _initial_state(self, group: dict[str, Any], name: str) -> float:
        return 0.0

    def _update(self, group: dict[str, Any], param: np.ndarray, grad: np.ndarray,
                state: dict[str, np.ndarray], step: int, tmp: np.ndarray) -> None:
        """Apply one update in place to ``param`` (and ``state``); ``step`` counts from 1.

        ``tmp`` is scratch space of ``param``'s shape with undefined contents, for temporaries: writing
        them there (``out=``) instead of allocating keeps a step of a large model fast.
        """
        raise NotImplementedError

    # --------------------------------------------------------------------------------- the loop
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset gradients (to None by default, which also skips a parameter in the next step if unused)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; ``closure`` re-evaluates the loss if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group, buf in zip(self.param_groups, self._buffers):
            buf.reattach()
            names = self._state_names(group)
            params = buf.params
            steps = buf.steps
            scalars = {n: buf.scalar_array(n, fill) for n, fill in self._scalar_state.items()}
            if (buf.flat is not None and all(p.grad is not None for p in params) and steps.min() == steps.max()
                    and all(a.min() == a.max() for a in scalars.values())):
                np.concatenate([p.grad.data.reshape(-1) for p in params], out=buf.grad)
                fill = {n: buf.state_arrays(n, self._initial_state(group, n))[0] for n in names}
                fill.update({n: a[:1].reshape(()) for n, a in scalars.items()})  # 0-d views, written back below
                steps += 1
                self._update(group, buf.flat, buf.grad, fill, int(steps[0]), buf.scratch)  # type: ignore[arg-type]
                for a in scalars.values():
                    a[1:] = a[0]
                continue
            views = {n: buf.state_arrays(n, self._initial_state(group, n))[1] for n in names}
            for i, p in enumerate(params):
                if p.grad is None:
                    continue
                steps[i] += 1
                tmp = buf._slice(buf.scratch, i) if buf.scratch is not None else np.empty_like(p.data)
                state = {n: v[i] for n, v in views.items()}
                state.update({n: a[i : i + 1].reshape(()) for n, a in scalars.items()})
                self._update(group, p.data, p.grad.data, state, int(steps[i]), tmp)
        return loss

    # ------------------------------------------------------------------------------------ state
    @property
    def state(self) -> dict[Tensor, dict[str, Any]]:
        """Per-parameter state of stepped parameters (arrays are live views of the optimizer's buffers)."""
        out: dict[Tensor, dict[str, Any]] = {}
        for group, buf in zip(self.param_groups, self._buffers):
            names = [n for n in self._state_names(group) + self._eager_state_names(group) if n + "/views" in buf.state]
            for i, p in enumerate(buf.params):
                if buf.steps[i] == 0 and not self._eager_state_names(group):
                    continue
                entry: dict[str, Any] = {}
                if self._counts_steps:
                    entry["step"] = _wrap(np.asarray(float(buf.steps[i]), dtype=np.float32))
                for n, fill in self._scalar_state.items():
                    entry[n] = _wrap(np.asarray(buf.scalar_array(n, fill)[i]))
                for n in dict.fromkeys(names):
                    entry[n] = _wrap(buf.state[n + "/views"][i])  # type: ignore[index]
                if entry:  # stateless updates (SGD without momentum) leave no entry, as in PyTorch
                    out[p] = entry
        return out

    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}`` as in PyTorch."""
        index = 0
        groups = []
        ids: dict[int, int] = {}
        for group in self.param_groups:
            entry = {k: v for k, v in group.items() if k != "params"}
            entry["params"] = list(range(index, index + len(group["params"])))
            for p in group["params"]:
                ids[id(p)] = index
                index += 1
            groups.append(entry)
        state = {ids[id(p)]: s for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state saved by ``state_dict`` (values are copied in)."""
        groups = state_dict.get("param_groups")
        if not isinstance(groups, list) or len(groups) != len(self.param_groups):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the state dict has "
                f"{len(groups) if isinstance(groups, list) else 'no'} parameter groups, the optimizer has "
                f"{len(self.param_groups)}"
            )
        for k, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: group {k} has {len(saved['params'])} parameters in "
                    f"the state dict but {len(group['params'])} in the optimizer"
                )
        saved_state = state_dict.get("state", {})
        # check every entry before changing anything, so a failed load leaves the optimizer as it was
        plan = []
        for saved, group, buf in zip(groups, self.param_groups, self._buffers):
            # NOTE: saved names replace the optimizer's, and a state dict without names keeps them (as PyTorch)
            hyper = {key: (tuple(v) if isinstance(v, list) and key != "param_names" else v)
                     for key, v in saved.items() if key != "params"}
            merged = {**group, **hyper}
            names = self._state_names(merged) + self._eager_state_names(merged)
            entries = []
            for i, key in enumerate(saved["params"]):
                entry = saved_state.get(key, saved_state.get(str(key)))
                if entry is None:
                    entries.append((0, {}, dict(self._scalar_state)))
                    continue
                scalars = {n: float(np.asarray(entry[n].data if isinstance(entry[n], Tensor) else entry[n]))
                           if entry.get(n) is not None else fill for n, fill in self._scalar_state.items()}
                step = entry.get("step", 1)
                arrays = {}
                for n in dict.fromkeys(names):
                    if n not in entry or entry[n] is None:
                        continue
                    value = entry[n]
                    arr = value.data if isinstance(value, Tensor) else np.asarray(value)
                    if arr.shape != buf.params[i].data.shape:
                        raise ValueError(
                            f"{type(self).__name__}.load_state_dict: state '{n}' of parameter {key} has shape "
                            f"{arr.shape}, the parameter has {buf.params[i].data.shape}"
                        )
                    arrays[n] = arr
                entries.append((int(float(step.item() if isinstance(step, Tensor) else step)), arrays, scalars))
            plan.append((group, buf, hyper, entries))
        for group, buf, hyper, entries in plan:
            group.update(hyper)
            for i, (step, arrays, scalars) in enumerate(entries):
                buf.steps[i] = step
                for n, value in scalars.items():
                    buf.scalar_array(n, self._scalar_state[n])[i] = value
                for n, arr in arrays.items():
                    buf.state_arrays(n, self._initial_state(group, n))[1][i][...] = arr

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(k for k in group if k != "params"):
                lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)

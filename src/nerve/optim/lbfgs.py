"""L-BFGS: quasi-Newton steps from a short history of gradient differences, with an optional Wolfe line search.

The algorithm, its stopping rules and its state follow PyTorch's ``torch.optim.LBFGS`` (itself after Mark
Schmidt's minFunc), so a run takes the same iterates and counts the same function evaluations. All
parameters are treated as one flat vector; scalars (step length, curvatures) are NumPy scalars of the
parameters' dtype, so float32 runs round where PyTorch's 0-d tensors do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from nerve.autograd.grad_mode import enable_grad
from nerve.optim.optimizer import Optimizer, ParamsT
from nerve.tensor import Tensor, _wrap

#: keys of the state that hold one flat vector each, and those that hold a list of them
_VECTORS = ("d", "prev_flat_grad")
_VECTOR_LISTS = ("old_dirs", "old_stps")


def _cubic_minimum(x1: Any, f1: Any, g1: Any, x2: Any, f2: Any, g2: Any,
                   bounds: tuple[Any, Any] | None = None) -> Any:
    """The minimiser of the cubic through two points with values ``f`` and slopes ``g``, clipped to ``bounds``
    (default: the interval between the points); the middle of the bounds when the cubic has no minimum."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if not d2_square >= 0:  # NOTE: written so that NaN also takes the midpoint
        return (lo + hi) / 2.0
    d2 = np.sqrt(d2_square)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


class _Point:
    """One trial of the line search: step length ``t``, loss ``f``, flat gradient ``g``, slope ``gtd`` along d."""

    __slots__ = ("f", "g", "gtd", "t")

    def __init__(self, t: Any, f: float, g: np.ndarray, gtd: Any) -> None:
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def _strong_wolfe(evaluate: Callable[[Any], tuple[float, np.ndarray]], d: np.ndarray, t: Any, f: float,
                  g: np.ndarray, gtd: Any, c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9,
                  max_ls: int = 25) -> tuple[float, np.ndarray, Any, int]:
    """Line search for a step ``t`` along ``d`` meeting the strong Wolfe conditions (Nocedal & Wright, Alg. 3.5/3.6).

    ``evaluate(t)`` returns the loss and flat gradient at ``x + t d``; ``f``, ``g``, ``gtd`` describe ``x``.
    First brackets an interval holding an acceptable step, extrapolating with cubic interpolation, then
    zooms into it. Returns the loss, gradient and step of the best point found, and the evaluation count.
    """
    d_norm = np.abs(d).max()
    start = _Point(0, f, g, gtd)
    f_new, g_new = evaluate(t)
    evals = 1
    new = _Point(t, f_new, g_new, g_new.dot(d))
    prev = start
    bracket: list[_Point] = []
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if new.f > f + c1 * new.t * gtd or (ls_iter > 1 and new.f >= prev.f):
            bracket = [prev, new]  # too long a step, or worse than the last: the minimum lies in between
            break
        if abs(new.gtd) <= -c2 * gtd:
            bracket = [new]  # both conditions hold
            done = True
            break
        if new.gtd >= 0:
            bracket = [prev, new]  # the slope turned: a minimum in between
            break
        # still descending: extrapolate, at least 1% beyond and at most 10 times the current step
        t_next = _cubic_minimum(prev.t, prev.f, prev.gtd, new.t, new.f, new.gtd,
                                bounds=(new.t + 0.01 * (new.t - prev.t), new.t * 10))
        prev = new
        f_new, g_new = evaluate(t_next)
        evals += 1
        new = _Point(t_next, f_new, g_new, g_new.dot(d))
        ls_iter += 1
    if ls_iter == max_ls:
        bracket = [start, new]  # no bracket within max_ls trials: keep the better of the start and the last

    # zoom: shrink the bracket until a point meets the conditions; ``low`` is the end with the lower loss
    insufficient_progress = False
    low, high = (0, 1) if bracket[0].f <= bracket[-1].f else (1, 0)
    while not done and ls_iter < max_ls:
        a, b = bracket
        if abs(b.t - a.t) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(a.t, a.f, a.gtd, b.t, b.f, b.gtd)
        # a trial too close to an end twice in a row (or outside) moves to 10% of the bracket from that end
        left, right = min(a.t, b.t), max(a.t, b.t)
        eps = 0.1 * (right - left)
        if min(right - t, t - left) < eps:
            if insufficient_progress or t >= right or t <= left:
                t = right - eps if abs(t - right) < abs(t - left) else left + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(t)
        evals += 1
        ls_iter += 1
        new = _Point(t, f_new, g_new, g_new.dot(d))
        if new.f > f + c1 * t * gtd or new.f >= bracket[low].f:
            bracket[high] = new  # no sufficient decrease, or not below the low end: the new high end
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            if abs(new.gtd) <= -c2 * gtd:
                done = True
            elif new.gtd * (bracket[high].t - bracket[low].t) >= 0:
                bracket[high] = bracket[low]  # the slope points away from the high end: keep the minimum inside
            bracket[low] = new
    best = bracket[low]
    return best.f, best.g, best.t, evals


class LBFGS(Optimizer):
    r"""Limited-memory BFGS (Liu & Nocedal, 1989), as PyTorch implements it.

    Each ``step(closure)`` runs up to ``max_iter`` iterations. An iteration turns the gradient :math:`g` into
    a direction :math:`d = -H g` with the two-loop recursion over the last ``history_size`` pairs
    :math:`s = \theta_{k+1} - \theta_k`, :math:`y = g_{k+1} - g_k` (a pair is kept when :math:`y^\top s >
    10^{-10}`) and the initial scaling :math:`H_0 = y^\top s / y^\top y`:

    .. math::
        q &\leftarrow -g; \quad \alpha_i = \rho_i s_i^\top q, \;\; q \leftarrow q - \alpha_i y_i
            \quad (i = k-1, \dots, k-m), \qquad \rho_i = 1 / y_i^\top s_i \\
        r &\leftarrow H_0 q; \quad \beta_i = \rho_i y_i^\top r, \;\; r \leftarrow r + (\alpha_i - \beta_i) s_i
            \quad (i = k-m, \dots, k-1); \qquad d = r

    then moves :math:`\theta \leftarrow \theta + t d` with :math:`t = \text{lr}` (the very first step:
    :math:`\min(1, 1/\lVert g \rVert_1)\,\text{lr}`), or with the step a strong-Wolfe line search finds from
    there. It stops when :math:`\max|g| \le` ``tolerance_grad``, when the step, the loss change or the
    directional derivative falls below ``tolerance_change``, or after ``max_eval`` closure calls.

    The closure must clear the gradients, compute the loss, call ``backward()`` and return the loss; it may be
    called several times per step. All parameters form one group; the state (history, last direction, counts)
    is kept under the first parameter, as in PyTorch, and survives ``state_dict``/``load_state_dict``.

    Args:
        params: parameters or named parameters (a single group).
        lr: step length (default 1).
        max_iter: iterations per ``step`` (default 20).
        max_eval: closure calls per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when the largest gradient entry is at most this (default 1e-7).
        tolerance_change: stop when the step or the loss changes by less than this (default 1e-9).
        history_size: number of :math:`(s, y)` pairs kept (default 100).
        line_search_fn: ``None`` (fixed step ``lr``) or ``"strong_wolfe"``.

    Example::

        >>> opt = LBFGS(model.parameters(), line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = loss_fn(model(x), y)
        ...     loss.backward()
        ...     return loss
        >>> opt.step(closure)
    """

    def __init__(self, params: ParamsT, lr: float = 1.0, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: Literal["strong_wolfe"] | None = None) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4 if isinstance(max_iter, int) else max_iter
        self._state: dict[str, Any] = {}
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if self.param_groups:
            raise ValueError("LBFGS: parameter groups are not supported (all parameters are one vector with one "
                             "set of options); pass a single list of parameters")
        super().add_param_group(param_group)

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        super()._check_hyperparameters(group)
        for option in ("max_iter", "max_eval", "history_size"):
            value = group[option]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"LBFGS: invalid {option} {value!r} (expected an integer >= 1)")
        for option in ("tolerance_grad", "tolerance_change"):
            if not group[option] >= 0:
                raise ValueError(f"LBFGS: invalid {option} {group[option]} (must be >= 0)")
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: invalid line_search_fn {group['line_search_fn']!r} "
                             "(expected None or 'strong_wolfe')")

    # ------------------------------------------------------------------ the parameters as one vector
    def _flat_grad(self) -> np.ndarray:
        """The gradients of all parameters, concatenated (zeros for a parameter without one)."""
        return np.concatenate([p.grad.data.reshape(-1) if p.grad is not None else np.zeros(p.data.size, p.data.dtype)
                               for p in self._params])

    def _move(self, t: Any, d: np.ndarray) -> None:
        """``θ <- θ + t d`` on every parameter."""
        offset = 0
        for p in self._params:
            n = p.data.size
            p.data += t * d[offset : offset + n].reshape(p.data.shape)
            offset += n

    def _evaluate(self, closure: Callable[[], Any]) -> tuple[float, np.ndarray]:
        with enable_grad():
            loss = float(closure())
        return loss, self._flat_grad()

    # ------------------------------------------------------------------------------------ the step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss the first closure call returned."""
        if closure is None:
            raise TypeError("LBFGS.step: a closure is required (it must clear the gradients, compute the loss, "
                            "call backward() and return the loss)")
        self._buffers[0].reattach()
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        state = self._state
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        flat_grad = self._flat_grad()
        current_evals = 1
        state["func_evals"] += 1
        if np.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss  # already optimal

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # ---- direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                h_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:  # keep the pair only where the curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / y.dot(y)
                al = state.setdefault("al", [None] * history_size)
                q = -flat_grad  # the two-loop recursion, in place on one buffer
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q -= al[i] * old_dirs[i]
                d = r = q * h_diag
                for i in range(len(old_dirs)):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            # ---- step length
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:
                break  # not a descent direction (to working precision)
            evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                x = [p.data.copy() for p in self._params]

                def evaluate(step: Any, x: list[np.ndarray] = x, d: np.ndarray = d) -> tuple[float, np.ndarray]:
                    self._move(step, d)
                    result = self._evaluate(closure)
                    for p, value in zip(self._params, x):
                        np.copyto(p.data, value)
                    return result

                loss, flat_grad, t, evals = _strong_wolfe(evaluate, d, t, loss, flat_grad, gtd,
                                                          max_ls=max_eval - current_evals)
                self._move(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._move(t, d)
                opt_cond = False
                if n_iter != max_iter:  # NOTE: the last iteration's point is not evaluated (saves a closure call)
                    loss, flat_grad = self._evaluate(closure)
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    evals = 1
            current_evals += evals
            state["func_evals"] += evals

            # ---- stopping rules
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break  # no progress

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    # ------------------------------------------------------------------------------------ state
    @property
    def state(self) -> dict[Tensor, dict[str, Any]]:
        """``{first parameter: {...}}`` once a step ran: ``func_evals``, ``n_iter``, the last direction ``d`` and
        step ``t``, the history ``old_dirs``/``old_stps``/``ro``, ``H_diag``, ``prev_flat_grad``, ``prev_loss``
        (and the scratch ``al``), with arrays as tensors sharing memory."""
        return {self._params[0]: {k: _export(v, copy=False) for k, v in self._state.items()}} if self._state else {}

    def state_dict(self) -> dict[str, Any]:
        """As PyTorch's: ``{'state': {0: {...}}, 'param_groups': [{...}]}``; the state is a copy."""
        out = super().state_dict()
        out["state"] = {0: {k: _export(v, copy=True) for k, v in self._state.items()}} if self._state else {}
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state saved by ``state_dict`` (nerve's, or PyTorch's with tensors as arrays)."""
        groups = state_dict.get("param_groups")
        if not isinstance(groups, list) or len(groups) != 1:
            raise ValueError(f"LBFGS.load_state_dict: expected one parameter group, got "
                             f"{len(groups) if isinstance(groups, list) else 'none'}")
        saved = groups[0]
        if len(saved["params"]) != len(self._params):
            raise ValueError(f"LBFGS.load_state_dict: the state dict has {len(saved['params'])} parameters, the "
                             f"optimizer has {len(self._params)}")
        hyper = {k: v for k, v in saved.items() if k != "params"}
        group = {**self.param_groups[0], **hyper}
        self._check_hyperparameters(group)
        states = state_dict.get("state", {})
        key = saved["params"][0]
        entry = states.get(key, states.get(str(key), {}))
        numel = sum(p.data.size for p in self._params)
        dtype = np.result_type(*(p.data.dtype for p in self._params))
        loaded = {k: _import(v, dtype) for k, v in entry.items()}
        vectors = [(k, loaded.get(k)) for k in _VECTORS]
        vectors += [(k, v) for k in _VECTOR_LISTS for v in loaded.get(k) or []]
        for k, v in vectors:
            if v is not None and np.shape(v) != (numel,):
                raise ValueError(f"LBFGS.load_state_dict: state '{k}' has shape {np.shape(v)}, expected "
                                 f"({numel},) for {numel} parameter entries")
        self.param_groups[0].update(hyper)
        self._state = loaded


def _export(value: Any, copy: bool) -> Any:
    """State value -> state-dict value: arrays and NumPy scalars as tensors, lists element-wise."""
    if isinstance(value, list):
        return [_export(v, copy) for v in value]
    if isinstance(value, np.ndarray | np.generic):
        return _wrap(np.array(value) if copy or isinstance(value, np.generic) else value)
    return value


def _import(value: Any, dtype: np.dtype) -> Any:
    """State-dict value -> state value: arrays (and 0-d ones as scalars) of the parameters' floating dtype."""
    if isinstance(value, list | tuple):
        return [_import(v, dtype) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    arr = np.array(value.data if isinstance(value, Tensor) else value)
    if arr.dtype.kind == "f":
        arr = arr.astype(dtype)
    elif arr.ndim == 0 and arr.dtype.kind in "iu":
        return int(arr)
    return arr[()] if arr.ndim == 0 else arr

"""Recurrent layers as fused primitives: one node runs an Elman RNN, LSTM or GRU over a whole sequence.

Composed from matmul and elementwise nodes, a 50-step LSTM would build ~20 graph nodes per step, each
keeping its own copies and paying Python overhead in backward. Fused, the work is split by what depends on
the recurrence:

* the input projections of all time steps are one GEMM before the loop, ``X (T·B, I) @ W_ihᵀ``;
* the loop does only what must be sequential: ``h @ W_hhᵀ`` and the gate arithmetic, in place;
* backpropagation through time runs the loop in reverse for the gate gradients only; the weight gradients
  and the input gradient are then single GEMMs over all steps (``dGatesᵀ @ H_prev``, ``dGates @ W_ih``).

Gate order and formulas are PyTorch's (LSTM i, f, g, o; GRU r, z, n with ``r ⊙ (W_hn h + b_hn)``), so
PyTorch weights load unchanged. Sequences are time-major, (T, B, features).

Variable lengths: ``mask`` (T, B) marks the valid steps. A masked step leaves the state unchanged and
outputs zeros, so the final state is the one after each sequence's own last step; a reverse direction
starts from its initial state at each sequence's own last step. Gradients of masked steps are zero.

Each primitive has one output: the step outputs with the final state(s) appended along time,
(T + 1, B, H) for RNN and GRU and (T + 2, B, H) for LSTM (h_n, then c_n); the caller slices them apart.
"""

from __future__ import annotations

import numpy as np

from nerve.autograd.function import Function


def _sigmoid_(a: np.ndarray) -> np.ndarray:
    """In-place logistic function as ``(tanh(a/2) + 1) / 2``: no overflow for large |a|, three passes."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _input_projection(x: np.ndarray, w_ih: np.ndarray, bias: np.ndarray | None, mask: np.ndarray | None,
                      scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(x (T, B, I) @ W_ihᵀ + bias) · scale`` for every step at once: (T, B, G·H), and the GEMM's left operand.

    The bias rides in the GEMM as an extra input column of ones, and ``scale`` in its right operand, so the
    (T·B, G·H) result takes no further passes; backward gets dW_ih and the bias gradient from one GEMM too.
    Padded steps (``mask`` False) read zeros: whatever the padding holds (NaN included) never reaches a
    gradient, as in PyTorch's packed path, which never reads it.
    """
    t, b, i = x.shape
    inputs = np.empty((t * b, i + (bias is not None)), dtype=x.dtype)
    inputs[:, :i] = x.reshape(t * b, i) if mask is None else np.where(mask[..., None], x, 0).reshape(t * b, i)
    weights = np.empty((inputs.shape[1], w_ih.shape[0]), dtype=x.dtype)
    weights[:i] = w_ih.T
    if bias is not None:
        inputs[:, i] = 1
        weights[i] = bias
    if scale is not None:
        weights *= scale
    return (inputs @ weights).reshape(t, b, -1), inputs


def _transposed(w: np.ndarray) -> np.ndarray:
    """``wᵀ`` as a contiguous copy: the per-step ``h @ W_hhᵀ`` (e.g. 32×128 @ 128×512) ran 25 % faster in
    OpenBLAS on a contiguous right operand than on the transposed view."""
    return np.ascontiguousarray(w.T)


def _emit(out: np.ndarray, t: int, h_new: np.ndarray, h: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Write step t's output and return the state the next step starts from: on padded steps (``mask``
    False) the output is zero and the state stays ``h``."""
    if mask is None:
        out[t] = h_new
        return out[t]
    keep = mask[t][:, None]
    out[t] = np.where(keep, h_new, 0)
    return np.where(keep, h_new, h)


def _steps(length: int, reverse: bool) -> range:
    return range(length - 1, -1, -1) if reverse else range(length)


def _finish_grads(inputs: np.ndarray, x_shape: tuple[int, ...], w_ih: np.ndarray, d_proj: np.ndarray,
                  needs: tuple[bool, ...], has_bias: bool) -> tuple[np.ndarray | None, ...]:
    """dx, dW_ih and the input-side bias gradient from the projections' gradient (T, B, G·H), one GEMM each."""
    d2 = d_proj.reshape(-1, d_proj.shape[2])
    dx = (d2 @ w_ih).reshape(x_shape) if needs[0] else None
    dw_ih = db = None
    if needs[-4 if has_bias else -2] or has_bias:
        full = d2.T @ inputs  # (G·H, I [+ 1]): the weight gradient, and the bias gradient in the ones column
        dw_ih = np.ascontiguousarray(full[:, : x_shape[2]])
        db = full[:, x_shape[2]].copy() if has_bias else None
    return dx, dw_ih, db


class RNNLayer(Function):
    """``h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)`` over a sequence; act is tanh or relu.

    Inputs: x (T, B, I), h0 (B, H), w_ih (H, I), w_hh (H, H)[, b_ih (H,), b_hh (H,)].
    Output: (T + 1, B, H): the h_t, then h_n.
    """

    fresh_grads = True

    def forward(self, x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, *biases: np.ndarray,
                nonlinearity: str, reverse: bool, mask: np.ndarray | None) -> np.ndarray:
        steps, batch, _ = x.shape
        hidden = h0.shape[1]
        proj, inputs = _input_projection(x, w_ih, biases[0] + biases[1] if biases else None, mask)
        out = np.empty((steps + 1, batch, hidden), dtype=x.dtype)
        w_hh_t = _transposed(w_hh)
        product = np.empty((batch, hidden), dtype=x.dtype)
        h = h0
        for t in _steps(steps, reverse):
            a = proj[t]
            a += np.matmul(h, w_hh_t, out=product)
            h_new = np.tanh(a, out=a) if nonlinearity == "tanh" else np.maximum(a, 0, out=a)
            h = _emit(out, t, h_new, h, mask)
        out[steps] = h
        # ``proj`` now holds the activations h_t (before masking); backward needs them and h_{t-1}
        self.saved = (inputs, x.shape, h0, w_ih, w_hh, proj, out)
        self.options = (nonlinearity, reverse, mask, bool(biases))
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        inputs, x_shape, h0, w_ih, w_hh, act, out = self.saved
        nonlinearity, reverse, mask, has_bias = self.options
        steps = x_shape[0]
        d_pre = np.empty_like(act)
        h_prev = np.empty_like(act)
        dh = g[steps].copy()
        order = _steps(steps, reverse)
        previous = h0
        for t in order:  # the state each step started from, in the same order as forward
            h_prev[t] = previous
            previous = out[t] if mask is None else np.where(mask[t][:, None], out[t], previous)
        for t in reversed(order):
            d = dh + g[t]
            d *= (1 - act[t] * act[t]) if nonlinearity == "tanh" else (act[t] > 0)
            if mask is not None:
                keep = mask[t][:, None]
                d[~mask[t]] = 0  # select, not multiply: a NaN times 0 stays NaN
                dh = np.where(keep, d @ w_hh, dh)
            else:
                dh = d @ w_hh
            d_pre[t] = d
        needs = self.needs_input_grad
        dx, dw_ih, db = _finish_grads(inputs, x_shape, w_ih, d_pre, needs, has_bias)
        dw_hh = d_pre.reshape(-1, d_pre.shape[2]).T @ h_prev.reshape(-1, h_prev.shape[2]) if needs[3] else None
        grads = (dx, dh if needs[1] else None, dw_ih, dw_hh)
        return (*grads, db, db.copy()) if has_bias else grads  # two leaves must not share one array


class LSTMLayer(Function):
    """Long short-term memory over a sequence, PyTorch's gate order (i, f, g, o)::

        i, f, o = σ(·),  g = tanh(·)  of  W_ih x_t + b_ih + W_hh h_{t−1} + b_hh
        c_t = f ⊙ c_{t−1} + i ⊙ g,    h_t = o ⊙ tanh(c_t)

    Inputs: x (T, B, I), h0 (B, H), c0 (B, H), w_ih (4H, I), w_hh (4H, H)[, b_ih (4H,), b_hh (4H,)].
    Output: (T + 2, B, H): the h_t, then h_n, then c_n.
    """

    fresh_grads = True

    # Internally the gates are kept in the order (f, o, i, g), not PyTorch's (i, f, g, o): the three sigmoid
    # gates are then one contiguous block, and i and g are neighbours, so a step takes 25 % fewer NumPy calls
    # (e.g. dL/di and dL/dg are one product of dL/dc with the swapped [g, i] block). The weights' rows are
    # permuted on the way in and their gradients' rows back on the way out.

    def forward(self, x: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
                *biases: np.ndarray, reverse: bool, mask: np.ndarray | None) -> np.ndarray:
        steps, batch, _ = x.shape
        hidden = h0.shape[1]
        perm = _lstm_order(hidden)
        # σ(v) = (tanh(v/2) + 1) / 2: with the f, o, i pre-activations halved up front (in the projections and
        # in the recurrent weights), one tanh over all four gates and one affine fix make each step's gates.
        half = np.full(4 * hidden, 0.5, dtype=x.dtype)
        half[3 * hidden :] = 1
        bias = (biases[0] + biases[1])[perm] if biases else None
        w_ih, w_hh = w_ih[perm], w_hh[perm]
        gates, inputs = _input_projection(x, w_ih, bias, mask, half)
        w_hh_t = np.ascontiguousarray(w_hh.T * half)
        cells = np.empty((steps, batch, hidden), dtype=x.dtype)  # c_t
        tanh_cells = np.empty((steps, batch, hidden), dtype=x.dtype)  # tanh(c_t), for backward
        out = np.empty((steps + 2, batch, hidden), dtype=x.dtype)
        product = np.empty((batch, 4 * hidden), dtype=x.dtype)
        scratch = np.empty((batch, hidden), dtype=x.dtype)
        h, c = h0, c0
        for t in _steps(steps, reverse):
            a = gates[t]
            a += np.matmul(h, w_hh_t, out=product)
            np.tanh(a, out=a)
            sig = a[:, : 3 * hidden]
            sig *= 0.5
            sig += 0.5
            f, o, i, gg = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
            c_new = cells[t]
            np.multiply(f, c, out=c_new)
            c_new += np.multiply(i, gg, out=scratch)
            if mask is None:
                np.multiply(o, np.tanh(c_new, out=tanh_cells[t]), out=out[t])
                h = out[t]
            else:
                keep = mask[t][:, None]
                c_new[...] = np.where(keep, c_new, c)
                h_new = o * np.tanh(c_new, out=tanh_cells[t])
                out[t] = np.where(keep, h_new, 0)
                h = np.where(keep, h_new, h)
            c = c_new
        out[steps] = h
        out[steps + 1] = c
        self.saved = (inputs, x.shape, h0, c0, w_ih, w_hh, gates, cells, tanh_cells, out)
        self.options = (reverse, mask, bool(biases))
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        inputs, x_shape, h0, c0, w_ih, w_hh, gates, cells, tanh_cells, out = self.saved
        reverse, mask, has_bias = self.options
        steps, batch, hidden = cells.shape
        d_gates = np.empty_like(gates)
        order = _steps(steps, reverse)
        previous, c_prev = h0, {}
        h_prev: dict[int, np.ndarray] = {}
        c_last = c0
        for t in order:  # h_{t-1} and c_{t-1} as each step saw them (masked steps carry the state over)
            h_prev[t] = previous
            c_prev[t] = c_last
            c_last = cells[t]
            previous = out[t] if mask is None else np.where(mask[t][:, None], out[t], previous)
        dh = g[steps].copy()
        dc = g[steps + 1].copy()
        slope = np.empty((batch, 4 * hidden), dtype=gates.dtype)  # each gate's derivative at its pre-activation
        # steps whose outputs get a gradient (a sequence-to-one head uses only the last): skip adding zeros
        graded = g[:steps].reshape(steps, -1).any(axis=1)
        for t in reversed(order):
            a = gates[t]
            f, o, _, gg = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
            tanh_c = tanh_cells[t]
            d_h = dh + g[t] if graded[t] else dh
            d_c = np.multiply(tanh_c, tanh_c)
            np.subtract(1, d_c, out=d_c)
            d_c *= o
            d_c *= d_h
            d_c += dc
            np.subtract(1, a, out=slope)
            slope *= a  # s(1 - s) for f, o, i ...
            np.multiply(gg, gg, out=slope[:, 3 * hidden :])
            np.subtract(1, slope[:, 3 * hidden :], out=slope[:, 3 * hidden :])  # ... and 1 - g² for g
            d = d_gates[t]
            np.multiply(d_c, c_prev[t], out=d[:, :hidden])
            np.multiply(d_h, tanh_c, out=d[:, hidden : 2 * hidden])
            # [dL/di, dL/dg] = dL/dc ⊙ [g, i]: the (i, g) block read with its two halves swapped
            np.multiply(d_c[:, None, :], a[:, 2 * hidden :].reshape(batch, 2, hidden)[:, ::-1],
                        out=d[:, 2 * hidden :].reshape(batch, 2, hidden))
            d *= slope
            if mask is not None:
                keep = mask[t][:, None]
                d[~mask[t]] = 0  # select, not multiply: a NaN times 0 stays NaN
                dh = np.where(keep, d @ w_hh, dh)
                dc = np.where(keep, d_c * f, dc)
            else:
                dh = d @ w_hh
                dc = d_c * f
        needs = self.needs_input_grad
        back = np.argsort(_lstm_order(hidden))  # rows back to PyTorch's (i, f, g, o)
        dx, dw_ih, db = _finish_grads(inputs, x_shape, w_ih, d_gates, needs, has_bias)
        dw_hh = None
        if needs[4]:  # Σ_t dGates_tᵀ h_{t-1} as one GEMM over the steps whose h_{t-1} is an output
            first = order[0]
            d2 = d_gates.reshape(steps, batch, 4 * hidden)
            dw_hh = d2[first].T @ h_prev[first]
            if steps > 1:
                rest = slice(1, steps) if not reverse else slice(0, steps - 1)
                previous_outputs = out[0 : steps - 1] if not reverse else out[1:steps]
                if mask is None:
                    dw_hh += d2[rest].reshape(-1, 4 * hidden).T @ previous_outputs.reshape(-1, hidden)
                else:
                    stacked = np.stack([h_prev[t] for t in range(steps)])[rest]
                    dw_hh += d2[rest].reshape(-1, 4 * hidden).T @ stacked.reshape(-1, hidden)
            dw_hh = dw_hh[back]
        if dw_ih is not None:
            dw_ih = dw_ih[back]
        if db is not None:
            db = db[back]
        grads = (dx, dh if needs[1] else None, dc if needs[2] else None, dw_ih, dw_hh)
        return (*grads, db, db.copy()) if has_bias else grads  # two leaves must not share one array


def _lstm_order(hidden: int) -> np.ndarray:
    """Row permutation from PyTorch's gate blocks (i, f, g, o) to the internal (f, o, i, g)."""
    blocks = np.arange(4 * hidden).reshape(4, hidden)
    return blocks[[1, 3, 0, 2]].reshape(-1)


class GRULayer(Function):
    """Gated recurrent unit over a sequence, PyTorch's formulation (gate order r, z, n)::

        r = σ(W_ir x + b_ir + W_hr h + b_hr),   z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

    Inputs: x (T, B, I), h0 (B, H), w_ih (3H, I), w_hh (3H, H)[, b_ih (3H,), b_hh (3H,)].
    Output: (T + 1, B, H): the h_t, then h_n.
    """

    fresh_grads = True

    def forward(self, x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, *biases: np.ndarray,
                reverse: bool, mask: np.ndarray | None) -> np.ndarray:
        steps, batch, _ = x.shape
        hidden = h0.shape[1]
        b_ih, b_hh = biases if biases else (None, None)
        gates, inputs = _input_projection(x, w_ih, b_ih, mask)  # becomes (r, z, n) activations
        hn = np.empty((steps, batch, hidden), dtype=x.dtype)  # W_hn h + b_hn, needed by backward
        out = np.empty((steps + 1, batch, hidden), dtype=x.dtype)
        w_hh_t = _transposed(w_hh)
        h = h0
        for t in _steps(steps, reverse):
            a = gates[t]
            rec = h @ w_hh_t
            if b_hh is not None:
                rec += b_hh
            a[:, : 2 * hidden] += rec[:, : 2 * hidden]
            _sigmoid_(a[:, : 2 * hidden])
            r, z, n = a[:, :hidden], a[:, hidden : 2 * hidden], a[:, 2 * hidden :]
            hn[t] = rec[:, 2 * hidden :]
            n += r * hn[t]
            np.tanh(n, out=n)
            h_new = n + z * (h - n)
            h = _emit(out, t, h_new, h, mask)
        out[steps] = h
        self.saved = (inputs, x.shape, h0, w_ih, w_hh, gates, hn, out)
        self.options = (reverse, mask, bool(biases))
        return out

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        inputs, x_shape, h0, w_ih, w_hh, gates, hn, out = self.saved
        reverse, mask, has_bias = self.options
        steps, _, hidden = hn.shape
        d_in = np.empty_like(gates)  # gradient of the input projections
        d_rec = np.empty_like(gates)  # gradient of W_hh h + b_hh
        h_prev = np.empty_like(hn)
        order = _steps(steps, reverse)
        previous = h0
        for t in order:
            h_prev[t] = previous
            previous = out[t] if mask is None else np.where(mask[t][:, None], out[t], previous)
        dh = g[steps].copy()
        graded = g[:steps].reshape(steps, -1).any(axis=1)  # steps whose outputs get a gradient
        for t in reversed(order):
            a = gates[t]
            r, z, n = a[:, :hidden], a[:, hidden : 2 * hidden], a[:, 2 * hidden :]
            d_h = dh + g[t] if graded[t] else dh
            di, dr_ = d_in[t], d_rec[t]
            dn = di[:, 2 * hidden :]
            np.multiply(d_h, 1 - z, out=dn)
            dn *= 1 - n * n  # gradient of n's pre-activation
            np.multiply(d_h, h_prev[t] - n, out=di[:, hidden : 2 * hidden])
            di[:, hidden : 2 * hidden] *= z * (1 - z)
            np.multiply(dn, hn[t], out=di[:, :hidden])
            di[:, :hidden] *= r * (1 - r)
            dr_[:, : 2 * hidden] = di[:, : 2 * hidden]
            np.multiply(dn, r, out=dr_[:, 2 * hidden :])
            if mask is not None:
                keep = mask[t][:, None]
                di[~mask[t]] = 0
                dr_[~mask[t]] = 0
                dh = np.where(keep, d_h * z + dr_ @ w_hh, dh)
            else:
                dh = d_h * z + dr_ @ w_hh
        needs = self.needs_input_grad
        dx, dw_ih, db_ih = _finish_grads(inputs, x_shape, w_ih, d_in, needs, has_bias)
        dw_hh = d_rec.reshape(-1, 3 * hidden).T @ h_prev.reshape(-1, hidden) if needs[3] else None
        grads = (dx, dh if needs[1] else None, dw_ih, dw_hh)
        if not has_bias:
            return grads
        return (*grads, db_ih, d_rec.reshape(-1, 3 * hidden).sum(axis=0))

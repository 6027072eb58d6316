"""Recurrent layers as fused primitives: one node runs an Elman RNN, LSTM or GRU over a whole sequence.

Composed from matmul and elementwise nodes, a 50-step LSTM would build ~20 graph nodes per step, each
keeping its own copies and paying Python overhead in backward. Fused, the work is split by what depends on
the recurrence:

* the input projections of all time steps are computed before the loop, ``X (T·B, I) @ W_ihᵀ`` (one GEMM;
  T small ones for the LSTM, which wants them feature-major);
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

import functools
import itertools

import numpy as np

from nerve.autograd.function import Function
from nerve.autograd.higher_order import backward_by_composite
from nerve.ops.activation import ReLU, Sigmoid, Tanh
from nerve.ops.elementwise import Where
from nerve.ops.linalg import MatMul
from nerve.ops.shape import GetItem, stack
from nerve.tensor import Tensor, _wrap


def _sigmoid_(a: np.ndarray) -> np.ndarray:
    """In-place logistic function as ``(tanh(a/2) + 1) / 2``: no overflow for large |a|, three passes."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _input_projection(x: np.ndarray, w_ih: np.ndarray, bias: np.ndarray | None, mask: np.ndarray | None,
                      scale: np.ndarray | None = None, feature_major: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(x (T, B, I) @ W_ihᵀ + bias) · scale`` for every step at once: (T, B, G·H), or (T, G·H, B) with
    ``feature_major``, and the GEMM's left operand (T·B, I [+ 1]).

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
    if feature_major:  # T GEMMs (G·H, I) @ (I, B) write the layout directly; transposing after costs 2x more
        return np.matmul(weights.T, inputs.reshape(t, b, -1).transpose(0, 2, 1)), inputs
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


def _finish_grads(inputs: np.ndarray, x_shape: tuple[int, ...], w_ih: np.ndarray, d2: np.ndarray,
                  needs: tuple[bool, ...], has_bias: bool) -> tuple[np.ndarray | None, ...]:
    """dx, dW_ih and the input-side bias gradient from the projections' gradient d2 (T·B, G·H), one GEMM each."""
    dx = (d2 @ w_ih).reshape(x_shape) if needs[0] else None
    dw_ih = db = None
    if needs[-4 if has_bias else -2] or has_bias:
        full = d2.T @ inputs  # (G·H, I [+ 1]): the weight gradient, and the bias gradient in the ones column
        dw_ih = np.ascontiguousarray(full[:, : x_shape[2]])
        db = full[:, x_shape[2]].copy() if has_bias else None
    return dx, dw_ih, db


# --- the layers as composites of differentiable primitives (``backward_graph``: higher-order gradients) -------


def _projection_graph(x: Tensor, w_ih: Tensor, bias: Tensor | None, mask: np.ndarray | None) -> Tensor:
    """``x @ W_ihᵀ + bias`` for every step, padded steps reading zeros (as :func:`_input_projection`)."""
    if mask is not None:
        x = Where.apply(x, _wrap(np.zeros((), x.data.dtype)), cond=mask[..., None])
    proj = MatMul.apply(x, w_ih.transpose(0, 1))
    return proj if bias is None else proj + bias


def _emit_graph(outputs: list, t: int, h_new: Tensor, h: Tensor, mask: np.ndarray | None) -> Tensor:
    """:func:`_emit` as differentiable ops: record step t's output, return the next state."""
    if mask is None:
        outputs[t] = h_new
        return h_new
    keep = mask[t][:, None]
    outputs[t] = Where.apply(h_new, _wrap(np.zeros((), h_new.data.dtype)), cond=keep)
    return Where.apply(h_new, h, cond=keep)


def _gate(a: Tensor, k: int, hidden: int) -> Tensor:
    """Gate block k (hidden columns) of stacked pre-activations (B, G·H)."""
    return GetItem.apply(a, index=(slice(None), slice(k * hidden, (k + 1) * hidden)), accumulate=False)


def _rnn_graph(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, *biases: Tensor, nonlinearity: str,
               reverse: bool, mask: np.ndarray | None) -> Tensor:
    proj = _projection_graph(x, w_ih, biases[0] + biases[1] if biases else None, mask)
    outputs: list = [None] * x.shape[0]
    h = h0
    for t in _steps(x.shape[0], reverse):
        a = proj[t] + MatMul.apply(h, w_hh.transpose(0, 1))
        h = _emit_graph(outputs, t, Tanh.apply(a) if nonlinearity == "tanh" else ReLU.apply(a), h, mask)
    return stack([*outputs, h])


def _lstm_graph(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, *biases: Tensor, reverse: bool,
                mask: np.ndarray | None) -> Tensor:
    hidden = h0.shape[1]
    proj = _projection_graph(x, w_ih, biases[0] + biases[1] if biases else None, mask)
    outputs: list = [None] * x.shape[0]
    h, c = h0, c0
    for t in _steps(x.shape[0], reverse):
        a = proj[t] + MatMul.apply(h, w_hh.transpose(0, 1))
        i, f, o = (Sigmoid.apply(_gate(a, k, hidden)) for k in (0, 1, 3))
        c_new = f * c + i * Tanh.apply(_gate(a, 2, hidden))
        if mask is not None:
            c_new = Where.apply(c_new, c, cond=mask[t][:, None])
        h, c = _emit_graph(outputs, t, o * Tanh.apply(c_new), h, mask), c_new
    return stack([*outputs, h, c])


def _gru_graph(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, *biases: Tensor, reverse: bool,
               mask: np.ndarray | None) -> Tensor:
    hidden = h0.shape[1]
    b_ih, b_hh = biases if biases else (None, None)
    proj = _projection_graph(x, w_ih, b_ih, mask)
    outputs: list = [None] * x.shape[0]
    h = h0
    for t in _steps(x.shape[0], reverse):
        rec = MatMul.apply(h, w_hh.transpose(0, 1))
        rec = rec if b_hh is None else rec + b_hh
        r, z = (Sigmoid.apply(_gate(proj[t], k, hidden) + _gate(rec, k, hidden)) for k in (0, 1))
        n = Tanh.apply(_gate(proj[t], 2, hidden) + r * _gate(rec, 2, hidden))
        h = _emit_graph(outputs, t, n + z * (h - n), h, mask)
    return stack([*outputs, h])


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

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        nonlinearity, reverse, mask, _ = self.options
        return backward_by_composite(self, g, functools.partial(_rnn_graph, nonlinearity=nonlinearity,
                                                                reverse=reverse, mask=mask))

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
        dx, dw_ih, db = _finish_grads(inputs, x_shape, w_ih, d_pre.reshape(-1, d_pre.shape[2]), needs,
                                        has_bias)
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

    # Two internal choices, each measured on W4 (batch 32, hidden 128), where the per-step work is small enough
    # that layout and call count decide the speed:
    # * Feature-major: the gates of a step are (4H, B) and the states (H, B), so every gate is a contiguous
    #   block of rows. The step GEMM W_hh (4H, H) @ h (H, B) ran 24 µs against 34 µs for h @ W_hhᵀ, and
    #   elementwise passes over a gate 1.3-3x faster than over a column block of a (B, 4H) array.
    # * Gate order (o, f, i, g), not PyTorch's (i, f, g, o): the three sigmoid gates are one block, and so are
    #   the three gates whose gradient is a multiple of dL/dc (f, i, g), which backward scales in one call.
    # The weights' rows are permuted on the way in and their gradients' rows back on the way out; outputs and
    # incoming gradients are transposed once per sequence.

    def forward(self, x: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
                *biases: np.ndarray, reverse: bool, mask: np.ndarray | None) -> np.ndarray:
        steps, batch, _ = x.shape
        hidden = h0.shape[1]
        perm = _lstm_order(hidden)
        # σ(v) = (tanh(v/2) + 1) / 2: with the o, f, i pre-activations halved up front (in the projections and
        # in the recurrent weights), one tanh over all four gates and one affine fix make each step's gates.
        half = np.full(4 * hidden, 0.5, dtype=x.dtype)
        half[3 * hidden :] = 1
        bias = (biases[0] + biases[1])[perm] if biases else None
        w_ih, w_hh = w_ih[perm], w_hh[perm]
        gates, inputs = _input_projection(x, w_ih, bias, mask, half, feature_major=True)  # (T, 4H, B)
        w_hh_half = w_hh * half[:, None]
        cells = np.empty((steps, hidden, batch), dtype=x.dtype)  # c_t
        tanh_cells = np.empty((steps, hidden, batch), dtype=x.dtype)  # tanh(c_t), for backward
        states = np.empty((steps, hidden, batch), dtype=x.dtype)  # the outputs h_t
        product = np.empty((4 * hidden, batch), dtype=x.dtype)
        scratch = np.empty((hidden, batch), dtype=x.dtype)
        h, c = np.ascontiguousarray(h0.T), np.ascontiguousarray(c0.T)
        for t in _steps(steps, reverse):
            a = gates[t]
            a += np.matmul(w_hh_half, h, out=product)
            np.tanh(a, out=a)
            sig = a[: 3 * hidden]
            sig *= 0.5
            sig += 0.5
            o, f, i, gg = a.reshape(4, hidden, batch)
            c_new = cells[t]
            np.multiply(f, c, out=c_new)
            c_new += np.multiply(i, gg, out=scratch)
            if mask is None:
                h = np.multiply(o, np.tanh(c_new, out=tanh_cells[t]), out=states[t])
            else:
                keep = mask[t]
                c_new[...] = np.where(keep, c_new, c)
                h_new = o * np.tanh(c_new, out=tanh_cells[t])
                states[t] = np.where(keep, h_new, 0)
                h = np.where(keep, h_new, h)
            c = c_new
        out = np.empty((steps + 2, batch, hidden), dtype=x.dtype)
        out[:steps] = states.transpose(0, 2, 1)
        out[steps] = h.T
        out[steps + 1] = c.T
        self.saved = (inputs, x.shape, h0, c0, w_ih, w_hh, gates, cells, tanh_cells, out)
        self.options = (reverse, mask, bool(biases))
        return out

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        reverse, mask, _ = self.options
        return backward_by_composite(self, g, functools.partial(_lstm_graph, reverse=reverse, mask=mask))

    def backward(self, g: np.ndarray) -> tuple[np.ndarray | None, ...]:
        inputs, x_shape, h0, c0, w_ih, w_hh, gates, cells, tanh_cells, out = self.saved
        reverse, mask, has_bias = self.options
        steps, hidden, batch = cells.shape
        order = _steps(steps, reverse)
        # Every factor that depends only on the forward pass is computed for all steps at once, so that a step
        # of the recurrence below is 7 NumPy calls (it was 16; at batch 32 a call costs more in overhead than
        # in arithmetic). d_gates starts as dGates/dh_t (o) and dGates/dc_t (f, i, g), then is scaled in place
        # by dL/dh_t and dL/dc_t step by step.
        blocks = gates.reshape(steps, 4, hidden, batch)
        d_gates = np.subtract(1, gates)
        d_gates *= gates  # s(1 - s) for o, f, i ...
        d_blocks = d_gates.reshape(steps, 4, hidden, batch)
        np.multiply(blocks[:, 3], blocks[:, 3], out=d_blocks[:, 3])
        np.subtract(1, d_blocks[:, 3], out=d_blocks[:, 3])  # ... and 1 - g² for g
        d_blocks[:, 0] *= tanh_cells  # h = o tanh(c)
        c_before = np.empty_like(cells)  # c_{t-1}; a masked step stored the state it carried over in cells[t]
        if reverse:
            c_before[-1], c_before[:-1] = c0.T, cells[1:]
        else:
            c_before[0], c_before[1:] = c0.T, cells[:-1]
        d_blocks[:, 1] *= c_before  # c = f c_{t-1} + i g
        d_blocks[:, 2:] *= blocks[:, 3:1:-1]  # dc/di = g, dc/dg = i
        dc_dh = np.multiply(tanh_cells, tanh_cells)
        np.subtract(1, dc_dh, out=dc_dh)
        dc_dh *= blocks[:, 0]  # dh_t/dc_t through tanh: o (1 - tanh² c)
        w_hh_t = np.ascontiguousarray(w_hh.T)  # (H, 4H) @ (4H, B) ran 26 µs; on the transposed view, 30 µs
        dh = np.ascontiguousarray(g[steps].T)
        dc = np.ascontiguousarray(g[steps + 1].T)
        # steps whose outputs get a gradient (a sequence-to-one head uses only the last): skip adding zeros
        graded = g[:steps].reshape(steps, -1).any(axis=1)
        for t in reversed(order):
            d = d_blocks[t]
            d_h = dh + g[t].T if graded[t] else dh
            d_c = np.multiply(dc_dh[t], d_h)
            d_c += dc
            d[0] *= d_h
            d[1:] *= d_c
            if mask is not None:
                keep = mask[t]
                d[:, :, ~keep] = 0  # select, not multiply: a NaN times 0 stays NaN
                dh = np.where(keep, w_hh_t @ d_gates[t], dh)
                dc = np.where(keep, d_c * blocks[t, 1], dc)
            else:
                dh = np.matmul(w_hh_t, d_gates[t])
                dc = d_c * blocks[t, 1]
        needs = self.needs_input_grad
        back = np.argsort(_lstm_order(hidden))  # rows back to PyTorch's (i, f, g, o)
        # (4H, T·B) for the GEMMs over all steps, columns in the (t, b) order of ``inputs``
        d_all = np.ascontiguousarray(d_gates.transpose(1, 0, 2)).reshape(4 * hidden, steps * batch)
        dx, dw_ih, db = _finish_grads(inputs, x_shape, w_ih, d_all.T, needs, has_bias)
        dw_hh = None
        if needs[4]:  # Σ_t dGates_t h_{t-1}ᵀ as one GEMM
            h_before = np.empty((steps, batch, hidden), dtype=out.dtype)  # h_{t-1} as each step saw it
            h_before[order[0]] = h0
            if mask is None:
                h_before[order[1:]] = out[order[:-1]]
            else:
                for previous, t in itertools.pairwise(order):  # a masked step carried h over: look back past it
                    h_before[t] = np.where(mask[previous][:, None], out[previous], h_before[previous])
            dw_hh = (d_all @ h_before.reshape(steps * batch, hidden))[back]
        if dw_ih is not None:
            dw_ih = dw_ih[back]
        if db is not None:
            db = db[back]
        grads = (dx, dh.T if needs[1] else None, dc.T if needs[2] else None, dw_ih, dw_hh)
        return (*grads, db, db.copy()) if has_bias else grads  # two leaves must not share one array


def _lstm_order(hidden: int) -> np.ndarray:
    """Row permutation from PyTorch's gate blocks (i, f, g, o) to the internal (o, f, i, g)."""
    blocks = np.arange(4 * hidden).reshape(4, hidden)
    return blocks[[3, 1, 0, 2]].reshape(-1)


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

    def backward_graph(self, g: Tensor) -> tuple[Tensor | None, ...]:
        reverse, mask, _ = self.options
        return backward_by_composite(self, g, functools.partial(_gru_graph, reverse=reverse, mask=mask))

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
        dx, dw_ih, db_ih = _finish_grads(inputs, x_shape, w_ih, d_in.reshape(-1, d_in.shape[2]), needs,
                                           has_bias)
        dw_hh = d_rec.reshape(-1, 3 * hidden).T @ h_prev.reshape(-1, hidden) if needs[3] else None
        grads = (dx, dh if needs[1] else None, dw_ih, dw_hh)
        if not has_bias:
            return grads
        return (*grads, db_ih, d_rec.reshape(-1, 3 * hidden).sum(axis=0))

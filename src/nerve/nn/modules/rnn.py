"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` (multi-layer, bidirectional) and their single-step cells.

Parameter names, shapes, gate order and initialisation are PyTorch's, so a PyTorch state dict loads as is:
``weight_ih_l{k}`` (G·H, in), ``weight_hh_l{k}`` (G·H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G·H,), with a
``_reverse`` suffix for the backward direction, G = 1 (RNN), 4 (LSTM, i f g o) or 3 (GRU, r z n); every
parameter starts uniform in ±1/√H. Each (layer, direction) runs as one fused primitive from
:mod:`nerve.ops.rnn`; a cell is that primitive over a sequence of length one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nerve._dtypes import as_dtype, get_default_dtype
from nerve.nn import functional as F
from nerve.nn import init
from nerve.nn.modules.module import Module
from nerve.nn.parameter import Parameter
from nerve.nn.utils.rnn import PackedSequence, _lengths_array
from nerve.ops.rnn import GRULayer, LSTMLayer, RNNLayer
from nerve.ops.shape import cat, squeeze, stack, transpose, unsqueeze
from nerve.tensor import Tensor

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """Shared structure of RNN, LSTM and GRU: parameters per layer and direction, input/state handling."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        if hidden_size < 1 or input_size < 1 or num_layers < 1:
            raise ValueError(f"{name}: input_size, hidden_size and num_layers must be positive, got "
                             f"{input_size}, {hidden_size}, {num_layers}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        self.proj_size = 0
        dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
        gates = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                setattr(self, "weight_ih" + suffix, Parameter(np.empty((gates, layer_input), dtype=dt)))
                setattr(self, "weight_hh" + suffix, Parameter(np.empty((gates, hidden_size), dtype=dt)))
                if bias:
                    setattr(self, "bias_ih" + suffix, Parameter(np.empty(gates, dtype=dt)))
                    setattr(self, "bias_hh" + suffix, Parameter(np.empty(gates, dtype=dt)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self) -> None:
        """A no-op kept for PyTorch code that calls it (it compacts cuDNN weights; nerve has nothing to compact)."""

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _layer_params(self, layer: int, direction: int) -> list[Tensor]:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        return [getattr(self, n + suffix) for n in names]

    def _check_state(self, h: Tensor, batch: int | None, what: str) -> None:
        layers = self.num_layers * self.num_directions
        expected = (layers, self.hidden_size) if batch is None else (layers, batch, self.hidden_size)
        if not isinstance(h, Tensor):
            raise TypeError(f"{self!r}: expected {what} to be a Tensor, got {type(h).__name__}")
        if tuple(h.shape) != expected:
            raise ValueError(f"{self!r}: expected {what} of shape {expected} (num_layers * num_directions, "
                             f"{'' if batch is None else 'batch, '}hidden_size), got {tuple(h.shape)}")
        if h.data.dtype != self.weight_ih_l0.data.dtype:
            raise TypeError(f"{self!r}: expected {what} of dtype {self.weight_ih_l0.data.dtype}, got {h.data.dtype}")

    def forward(self, input: Tensor | PackedSequence, hx: Any = None,
                lengths: Any = None) -> tuple[Tensor | PackedSequence, Any]:
        """Run the sequence through every layer.

        Args:
            input: (T, B, input_size), or (B, T, input_size) with ``batch_first``, or unbatched (T, input_size),
                or a :class:`~nerve.nn.utils.rnn.PackedSequence`.
            hx: initial state (num_layers · num_directions, B, H), zeros if omitted; for LSTM a pair (h0, c0).
            lengths: valid steps per sequence (B,) for a padded batch (nerve's shorthand for packing it):
                padded steps leave the state unchanged and output zeros.

        Returns:
            output (T, B, num_directions · H) (batch-first if so built, packed if the input was) and h_n, or
            (h_n, c_n) for LSTM, each (num_layers · num_directions, B, H).
        """
        packed = isinstance(input, PackedSequence)
        if packed:
            if lengths is not None:
                raise ValueError(f"{self!r}: pass lengths either in the PackedSequence or as lengths=, not both")
            x = input.padded
            if not isinstance(x, Tensor) or x.ndim != 3:
                raise ValueError(f"{self!r}: a PackedSequence must hold a padded (T, B, {self.input_size}) batch "
                                 "(build it with pack_padded_sequence)")
            lens = _lengths_array(input.lengths, x.shape[1], x.shape[0], repr(self))
        else:
            x, lens = input, None
            if not isinstance(x, Tensor):
                raise TypeError(f"{self!r}: expected a Tensor or PackedSequence input, got {type(x).__name__}")
            if x.ndim not in (2, 3):
                raise ValueError(f"{self!r}: expected a 3-D input ({'B, T' if self.batch_first else 'T, B'}, "
                                 f"{self.input_size}) or an unbatched 2-D one (T, {self.input_size}), got shape "
                                 f"{tuple(x.shape)}")
        unbatched = not packed and x.ndim == 2
        if unbatched:
            x = unsqueeze(x, 1)
        elif self.batch_first and not packed:
            x = transpose(x, 0, 1)
        steps, batch, features = x.shape
        if features != self.input_size:
            raise ValueError(f"{self!r}: expected input with {self.input_size} features per step, got shape "
                             f"{tuple(input.shape if not packed else x.shape)}")
        if steps == 0:
            raise ValueError(f"{self!r}: got an empty sequence (length 0)")
        dtype = self.weight_ih_l0.data.dtype
        if x.data.dtype != dtype:
            raise TypeError(f"{self!r}: expected a {dtype} input (the dtype of the layer's weights), got "
                            f"{x.data.dtype}; convert one of them")
        if lengths is not None:
            if unbatched:
                raise ValueError(f"{self!r}: lengths need a batched input")
            lens = _lengths_array(lengths, batch, steps, repr(self))
        mask = None if lens is None or np.all(lens == steps) else np.arange(steps)[:, None] < lens[None, :]
        h0, c0 = self._initial_state(hx, x, batch, unbatched)
        output, finals = self._run(x, h0, c0, mask)
        if packed:
            output = PackedSequence(output, lens)
        elif unbatched:
            output = squeeze(output, 1)
            finals = [squeeze(f, 1) for f in finals]
        elif self.batch_first:
            output = transpose(output, 0, 1)
        return output, (tuple(finals) if self.mode == "LSTM" else finals[0])

    def _initial_state(self, hx: Any, x: Tensor, batch: int, unbatched: bool) -> tuple[Tensor, Tensor | None]:
        layers = self.num_layers * self.num_directions
        if hx is None:
            zeros = Tensor(np.zeros((layers, batch, self.hidden_size), dtype=x.data.dtype))
            return zeros, (zeros if self.mode == "LSTM" else None)
        if self.mode == "LSTM":
            if not isinstance(hx, tuple | list) or len(hx) != 2:
                raise TypeError(f"{self!r}: expected hx to be a tuple (h0, c0), got {type(hx).__name__}")
            h0, c0 = hx
            for t, what in ((h0, "h0"), (c0, "c0")):
                self._check_state(t, None if unbatched else batch, what)
        else:
            if isinstance(hx, tuple | list):
                raise TypeError(f"{self!r}: expected hx to be a Tensor, got a {type(hx).__name__}")
            h0, c0 = hx, None
            self._check_state(h0, None if unbatched else batch, "hx")
        if unbatched:
            h0 = unsqueeze(h0, 1)
            c0 = unsqueeze(c0, 1) if c0 is not None else None
        return h0, c0

    def _run(self, x: Tensor, h0: Tensor, c0: Tensor | None, mask: np.ndarray | None) -> tuple[Tensor, list[Tensor]]:
        steps = x.shape[0]
        h_n: list[Tensor] = []
        c_n: list[Tensor] = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                params = self._layer_params(layer, direction)
                reverse = direction == 1
                if self.mode == "LSTM":
                    assert c0 is not None
                    result = LSTMLayer.apply(layer_input, h0[index], c0[index], *params, reverse=reverse, mask=mask)
                    c_n.append(result[steps + 1])
                elif self.mode == "GRU":
                    result = GRULayer.apply(layer_input, h0[index], *params, reverse=reverse, mask=mask)
                else:
                    nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
                    result = RNNLayer.apply(layer_input, h0[index], *params, nonlinearity=nonlinearity,
                                            reverse=reverse, mask=mask)
                outputs.append(result[:steps])
                h_n.append(result[steps])
            layer_input = outputs[0] if len(outputs) == 1 else cat(outputs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        finals = [stack(h_n)] + ([stack(c_n)] if self.mode == "LSTM" else [])
        return layer_input, finals

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)`` (or relu), stacked ``num_layers`` deep.

    Shape: input (T, B, input_size) (or (B, T, ·) with ``batch_first``) → output (T, B, D·hidden_size),
    h_n (num_layers·D, B, hidden_size), D = 2 if bidirectional else 1.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, dtype)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o decide what the cell state forgets, stores and outputs.

    Shape: input (T, B, input_size) → output (T, B, D·hidden_size), (h_n, c_n) each
    (num_layers·D, B, hidden_size).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, dtype: Any = None) -> None:
        if proj_size:
            raise NotImplementedError("LSTM: proj_size is not supported")
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype)


class GRU(RNNBase):
    """Gated recurrent unit: a reset gate r and an update gate z interpolate between h_{t−1} and a candidate n.

    Shape: input (T, B, input_size) → output (T, B, D·hidden_size), h_n (num_layers·D, B, hidden_size).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype)


class RNNCellBase(Module):
    """One time step; parameters ``weight_ih`` (G·H, in), ``weight_hh`` (G·H, H), ``bias_ih``, ``bias_hh``."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"{type(self).__name__}: input_size and hidden_size must be positive, got "
                             f"{input_size} and {hidden_size}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        dt = as_dtype(dtype) if dtype is not None else get_default_dtype()
        g = self.gates * hidden_size
        self.weight_ih = Parameter(np.empty((g, input_size), dtype=dt))
        self.weight_hh = Parameter(np.empty((g, hidden_size), dtype=dt))
        if bias:
            self.bias_ih = Parameter(np.empty(g, dtype=dt))
            self.bias_hh = Parameter(np.empty(g, dtype=dt))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _params(self) -> list[Tensor]:
        return [self.weight_ih, self.weight_hh] + ([self.bias_ih, self.bias_hh] if self.bias else [])

    def _prepare(self, input: Tensor, hx: Tensor | None, what: str = "hx") -> tuple[Tensor, Tensor, bool]:
        """(1, B, in) sequence of one step, (B, H) state, and whether the input was unbatched."""
        if not isinstance(input, Tensor) or input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"{self!r}: expected input (B, {self.input_size}) or ({self.input_size},), got {shape}")
        if input.data.dtype != self.weight_ih.data.dtype:
            raise TypeError(f"{self!r}: expected a {self.weight_ih.data.dtype} input (the weights' dtype), got "
                            f"{input.data.dtype}")
        unbatched = input.ndim == 1
        x = unsqueeze(input, 0) if unbatched else input
        batch = x.shape[0]
        if hx is None:
            h = Tensor(np.zeros((batch, self.hidden_size), dtype=x.data.dtype))
        else:
            h = unsqueeze(hx, 0) if unbatched and hx.ndim == 1 else hx
            if tuple(h.shape) != (batch, self.hidden_size) or h.data.dtype != x.data.dtype:
                raise ValueError(f"{self!r}: expected {what} of shape {(batch, self.hidden_size)} and dtype "
                                 f"{x.data.dtype}, got {tuple(hx.shape)} ({hx.data.dtype})")
        return unsqueeze(x, 0), h, unbatched

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    """``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or relu). Shape: input (B, in), hx (B, H) → (B, H)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, unbatched = self._prepare(input, hx)
        out = RNNLayer.apply(x, h, *self._params(), nonlinearity=self.nonlinearity, reverse=False, mask=None)[1]
        return squeeze(out, 0) if unbatched else out

    def extra_repr(self) -> str:  # as in PyTorch; it also names a relu cell in error messages
        return super().extra_repr() + ("" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity}")


class LSTMCell(RNNCellBase):
    """One LSTM step. Shape: input (B, in), hx = (h, c) each (B, H) → (h', c')."""

    gates = 4

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        if hx is not None and (not isinstance(hx, tuple | list) or len(hx) != 2):
            raise TypeError(f"{self!r}: expected hx to be a tuple (h, c), got {type(hx).__name__}")
        x, h, unbatched = self._prepare(input, None if hx is None else hx[0], "h")
        _, c, _ = self._prepare(input, None if hx is None else hx[1], "c")
        out = LSTMLayer.apply(x, h, c, *self._params(), reverse=False, mask=None)
        h_new, c_new = out[1], out[2]
        return (squeeze(h_new, 0), squeeze(c_new, 0)) if unbatched else (h_new, c_new)


class GRUCell(RNNCellBase):
    """One GRU step. Shape: input (B, in), hx (B, H) → (B, H)."""

    gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, unbatched = self._prepare(input, hx)
        out = GRULayer.apply(x, h, *self._params(), reverse=False, mask=None)[1]
        return squeeze(out, 0) if unbatched else out

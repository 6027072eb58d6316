"""Float64 gradchecks of the fused recurrent primitives (every input, both directions, with and without a mask)."""

import numpy as np
import pytest
from conftest import check_grad

from nerve.ops.rnn import GRULayer, LSTMLayer, RNNLayer

T, B, I, H = 4, 3, 2, 3
MASK = np.arange(T)[:, None] < np.array([4, 2, 1])[None, :]  # sequences of lengths 4, 2, 1


def _arrays(gates: int, states: int, bias: bool, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((T, B, I))] + [rng.standard_normal((B, H)) * 0.5 for _ in range(states)]
    arrays += [rng.standard_normal((gates * H, I)) * 0.5, rng.standard_normal((gates * H, H)) * 0.5]
    if bias:
        arrays += [rng.standard_normal(gates * H) * 0.5, rng.standard_normal(gates * H) * 0.5]
    return arrays


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("mask", [None, MASK], ids=["full", "masked"])
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_layer_gradcheck(reverse, mask, bias) -> None:
    check_grad(lambda *a: LSTMLayer.apply(*a, reverse=reverse, mask=mask), *_arrays(4, 2, bias))


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("mask", [None, MASK], ids=["full", "masked"])
@pytest.mark.parametrize("bias", [True, False])
def test_gru_layer_gradcheck(reverse, mask, bias) -> None:
    check_grad(lambda *a: GRULayer.apply(*a, reverse=reverse, mask=mask), *_arrays(3, 1, bias))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("mask", [None, MASK], ids=["full", "masked"])
def test_rnn_layer_gradcheck(nonlinearity, reverse, mask) -> None:
    check_grad(lambda *a: RNNLayer.apply(*a, nonlinearity=nonlinearity, reverse=reverse, mask=mask),
               *_arrays(1, 1, True, seed=1))


def test_masked_steps_output_zero_and_keep_the_state() -> None:
    import nerve

    arrays = [nerve.tensor(a) for a in _arrays(4, 2, True)]
    out = LSTMLayer.apply(*arrays, reverse=False, mask=MASK).data
    assert np.all(out[:T][~MASK] == 0)
    # sequence 1 (length 2): h_n is its output at step 1
    np.testing.assert_array_equal(out[T, 1], out[1, 1])

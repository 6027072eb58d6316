"""The PyTorch oracle itself (``compare_with_torch`` in conftest) must fail when nerve is wrong."""

import numpy as np
import pytest
from conftest import compare_with_torch


def _x() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)


def test_passes_when_forward_and_backward_agree():
    compare_with_torch(lambda lib, x: (x * 2).sum(dim=1), _x())


def test_fails_when_nerve_drops_the_graph():
    def fn(lib, x):
        out = x * 2
        return out.detach() if lib.__name__ == "nerve" else out

    with pytest.raises(AssertionError, match="requires_grad False != torch True"):
        compare_with_torch(fn, _x())


def test_fails_when_only_the_gradient_differs():
    def fn(lib, x):
        if lib.__name__ == "nerve":  # same values, gradient scaled by 3 through a detached correction
            return x * 3 - (x * 2).detach()
        return x

    with pytest.raises(AssertionError, match="gradient of input 0 differs"):
        compare_with_torch(fn, _x())


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda lib, x: x * (2.001 if lib.__name__ == "nerve" else 2), "forward differs from torch"),
        (lambda lib, x: x.double() if lib.__name__ == "nerve" else x, "dtype float64 != torch float32"),
        (lambda lib, x: x[None] if lib.__name__ == "nerve" else x, r"shape \(1, 3, 4\) != torch \(3, 4\)"),
        (lambda lib, x: (x, x) if lib.__name__ == "nerve" else (x,), "assert 2 == 1"),  # number of outputs
    ],
    ids=["value", "dtype", "shape", "outputs"],
)
def test_fails_when_the_forward_differs(fn, message):
    with pytest.raises(AssertionError, match=message):
        compare_with_torch(fn, _x())


def test_fails_when_nerve_gives_no_gradient_to_an_input_torch_differentiates():
    def fn(lib, x, y):
        return x * 2 + (y.detach() if lib.__name__ == "nerve" else y)

    with pytest.raises(AssertionError, match="input 1: nerve produced no gradient"):
        compare_with_torch(fn, _x(), _x())

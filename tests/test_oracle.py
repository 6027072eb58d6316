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

"""``gradcheck`` itself: it must pass correct VJPs and fail wrong ones (a check that cannot fail is a defect)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import check_grad, rand

import nerve
from nerve.autograd import Function, GradcheckError, gradcheck


class Cube(Function):
    def forward(self, x):
        self.saved = (x,)
        return x**3

    def backward(self, g):
        (x,) = self.saved
        return (g * 3 * x**2,)


class WrongCube(Cube):
    def backward(self, g):
        (x,) = self.saved
        return (g * 2 * x**2,)  # wrong factor


class IgnoresIncomingGrad(Cube):
    def backward(self, g):
        (x,) = self.saved
        return (3 * x**2,)  # right Jacobian, but drops g: a plain .sum() check could not see this


class WrongSecondInput(Function):
    def forward(self, a, b):
        self.saved = (a, b)
        return a * b

    def backward(self, g):
        _, b = self.saved
        return (g * b, g * b)  # the second input's VJP should be g * a


class SwapsElements(Function):
    """Right values, wrong positions: catches a VJP that flattens or transposes by mistake."""

    def forward(self, x):
        return x * 2

    def backward(self, g):
        return (np.ascontiguousarray(g[::-1]) * 2,)


def _x(*shape):
    return nerve.tensor(rand(*shape, low=0.5, high=2.0), requires_grad=True)


def test_passes_a_correct_vjp():
    assert gradcheck(Cube.apply, (_x(2, 3),))


@pytest.mark.parametrize("fn", [WrongCube.apply, IgnoresIncomingGrad.apply, SwapsElements.apply],
                         ids=["wrong_factor", "ignores_incoming_grad", "swapped_elements"])
def test_fails_a_wrong_vjp(fn):
    with pytest.raises(GradcheckError, match=r"gradient of input 0 \(shape \(3,\)\) disagrees at index"):
        gradcheck(fn, (_x(3),))
    assert gradcheck(fn, (_x(3),), raise_exception=False) is False


def test_fails_when_only_the_second_input_is_wrong():
    a, b = _x(3), nerve.tensor(rand(3, seed=7, low=0.5, high=2.0), requires_grad=True)
    with pytest.raises(GradcheckError, match="gradient of input 1"):
        gradcheck(WrongSecondInput.apply, (a, b))
    b.requires_grad = False  # only the checked inputs matter
    assert gradcheck(WrongSecondInput.apply, (a, b))


def test_check_grad_helper_fails_a_wrong_vjp():
    with pytest.raises(GradcheckError, match=r"gradient of input 0 \(shape \(2, 2\)\) disagrees"):
        check_grad(WrongCube.apply, rand(2, 2, low=0.5, high=2.0))


def test_fails_when_backward_gives_no_gradient():
    class Detached(Function):
        def forward(self, x):
            return x * 2

        def backward(self, g):
            return (None,)

    with pytest.raises(GradcheckError, match=r"gradient of input 0 .*: analytical 0, numerical"):
        gradcheck(Detached.apply, (_x(2),))


def test_fails_on_a_wrong_multi_output_gradient():
    with pytest.raises(GradcheckError, match="gradient of input 0"):
        gradcheck(lambda x: (Cube.apply(x), WrongCube.apply(x)), (_x(2),))
    assert gradcheck(lambda x: (Cube.apply(x), x.max(0)), (_x(3),))


def test_leaves_no_gradient_behind():
    x = _x(3)
    gradcheck(lambda t: t * t, (x,))
    assert x.grad is None


def test_input_validation():
    with pytest.raises(TypeError, match="gradcheck: inputs that require grad must be float64, got float32"):
        gradcheck(lambda t: t * 2.0, (nerve.ones(2, requires_grad=True),))
    with pytest.raises(ValueError, match="gradcheck: no input requires grad"):
        gradcheck(lambda t: t * 2.0, (nerve.ones(2, dtype=nerve.float64),))
    with pytest.raises(GradcheckError, match="no output depends on an input that requires grad"):
        gradcheck(lambda t: nerve.ones(2, dtype=nerve.float64), (_x(2),))


def test_accepts_a_single_tensor_and_non_tensor_arguments():
    assert gradcheck(lambda t, k: t * k, (_x(3), 2.0))
    assert gradcheck(lambda t: t.exp(), _x(2))


def test_fails_on_a_nan_gradient():
    class NanGrad(Cube):
        def backward(self, g):
            return (g * np.nan,)

    with pytest.raises(GradcheckError, match="analytical nan"):
        gradcheck(NanGrad.apply, (_x(2),))

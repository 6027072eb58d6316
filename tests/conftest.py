"""Shared test helpers: float64 gradient checks and PyTorch-as-oracle comparisons.

``check_grad(fn, *arrays)`` runs nerve's gradcheck in float64 (weighted-sum cotangent, see
``nerve.autograd.gradcheck``). ``compare_with_torch(fn, *arrays)`` runs the *same* lambda on nerve
tensors and on torch tensors (the lambda receives the library module as its first argument) and
compares outputs, shapes, dtypes and input gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nerve

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

RTOL32, ATOL32 = 1e-5, 1e-6


@pytest.fixture(autouse=True)
def _seed() -> None:
    nerve.manual_seed(0)
    torch.manual_seed(0)


def rand(*shape: int, seed: int = 0, low: float = -2.0, high: float = 2.0, dtype: Any = np.float64) -> np.ndarray:
    """Uniform test data; float64 unless asked (gradchecks need float64)."""
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)


def away_from(x: np.ndarray, points: tuple[float, ...] = (0.0,), margin: float = 0.05) -> np.ndarray:
    """Push values at least ``margin`` away from kinks (e.g. ReLU at 0) so finite differences are valid."""
    x = x.copy()
    for p in points:
        close = np.abs(x - p) < margin
        x[close] = p + np.where(x[close] >= p, margin, -margin) * 2
    return x


def check_grad(fn: Callable[..., nerve.Tensor], *arrays: np.ndarray, atol: float = 1e-5, rtol: float = 1e-3,
               requires_grad: tuple[bool, ...] | None = None) -> None:
    """Float64 gradcheck of ``fn`` over ``arrays`` (all require grad unless ``requires_grad`` says)."""
    flags = requires_grad or (True,) * len(arrays)
    inputs = [nerve.tensor(np.asarray(a, dtype=np.float64), requires_grad=f) for a, f in zip(arrays, flags)]
    assert nerve.autograd.gradcheck(fn, tuple(inputs), atol=atol, rtol=rtol)


def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, nerve.Tensor):
        return x.data
    return x.detach().numpy()


def compare_with_torch(fn: Callable[..., Any], *arrays: np.ndarray, rtol: float = RTOL32,
                       atol: float = ATOL32, grad: bool = True, requires_grad: tuple[bool, ...] | None = None,
                       seed: int = 1) -> None:
    """Run ``fn(lib, *tensors)`` with lib = nerve and lib = torch; compare values, dtypes and gradients.

    Outputs may be a tensor or a tuple of tensors. Gradients are taken of ``sum(out * w)`` with the same
    random ``w`` on both sides, for every floating input (or those flagged in ``requires_grad``).
    """
    flags = requires_grad or tuple(np.asarray(a).dtype.kind == "f" for a in arrays)
    n_in = [nerve.tensor(np.array(a), requires_grad=f and grad) for a, f in zip(arrays, flags)]
    t_in = [torch.tensor(np.array(a), requires_grad=f and grad) for a, f in zip(arrays, flags)]
    n_out = fn(nerve, *n_in)
    t_out = fn(torch, *t_in)
    n_outs = n_out if isinstance(n_out, tuple | list) else (n_out,)
    t_outs = t_out if isinstance(t_out, tuple | list) else (t_out,)
    assert len(n_outs) == len(t_outs)
    rng = np.random.default_rng(seed)
    n_loss = t_loss = None
    for no, to in zip(n_outs, t_outs):
        a, b = _to_numpy(no), _to_numpy(to)
        assert a.shape == b.shape, f"shape {a.shape} != torch {b.shape}"
        assert a.dtype == b.dtype, f"dtype {a.dtype} != torch {b.dtype}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg="forward differs from torch")
        if isinstance(no, nerve.Tensor) and isinstance(to, torch.Tensor):
            # an output that lost its graph on one side would otherwise skip the gradient comparison silently
            assert no.requires_grad == to.requires_grad, (
                f"output requires_grad {no.requires_grad} != torch {to.requires_grad}")
        if grad and a.dtype.kind == "f" and no.requires_grad:
            w = rng.uniform(0.5, 1.5, a.shape).astype(a.dtype)
            nl = (no * nerve.tensor(w)).sum()
            tl = (to * torch.tensor(w)).sum()
            n_loss = nl if n_loss is None else n_loss + nl
            t_loss = tl if t_loss is None else t_loss + tl
    if n_loss is None:
        return
    n_loss.backward()
    t_loss.backward()
    for i, (nt, tt) in enumerate(zip(n_in, t_in)):
        if not nt.requires_grad:
            continue
        if tt.grad is None:
            assert nt.grad is None or not np.any(nt.grad.data), f"input {i}: torch has no gradient, nerve does"
            continue
        assert nt.grad is not None, f"input {i}: nerve produced no gradient"
        np.testing.assert_allclose(nt.grad.data, tt.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i} differs from torch")


_TORCHVISION_SCHEMAS: list[Any] = []  # keeps the shim's op definitions alive (a dropped Library un-registers them)


def import_torchvision() -> Any:
    """``torchvision`` (or None when it is not installed), importable beside the CPU-only torch.

    PyPI's torchvision wheels are linked against CUDA torch, so beside torch+cpu their C++ ops never load and
    ``import torchvision`` fails registering fake kernels for ``nms``/``qnms``. Declaring those two schemas first
    lets the import go on: the tests use only its pure-Python models (and transformers imports torchvision
    whenever it is installed), and nothing calls the ops.
    """
    try:
        import torchvision
    except ModuleNotFoundError:
        return None
    except RuntimeError:
        if not _TORCHVISION_SCHEMAS:
            library = torch.library.Library("torchvision", "FRAGMENT")
            for op in ("nms", "qnms"):
                library.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            _TORCHVISION_SCHEMAS.append(library)
        import torchvision
    return torchvision

"""Whether operations record a graph for backpropagation (``no_grad``, ``enable_grad``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _GradMode:
    # NOTE: a plain global, not thread-local: nerve runs one training loop per process (data parallelism
    # is across processes over MPI), and a thread-local lookup would sit on the hot path of every op.
    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = True


grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when new operations record the graph that ``backward`` walks."""
    return grad_mode.enabled


class set_grad_enabled:
    """Context manager (and decorator) setting whether operations record a graph."""

    def __init__(self, mode: bool) -> None:
        self.prev = grad_mode.enabled
        self.mode = bool(mode)
        grad_mode.enabled = self.mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        grad_mode.enabled = self.prev


class _GradModeContext:
    mode: bool = True

    def __enter__(self) -> None:
        self.prev = grad_mode.enabled
        grad_mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        grad_mode.enabled = self.prev

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeContext):
    """Disable graph recording: results of operations have ``requires_grad=False``.

    Use it for inference and for in-place parameter updates. Also works as a decorator.

    Example:
        >>> with nerve.no_grad():
        ...     y = model(x)
    """

    mode = False


class enable_grad(_GradModeContext):
    """Re-enable graph recording inside a ``no_grad`` block. Also works as a decorator."""

    mode = True


inference_mode = no_grad

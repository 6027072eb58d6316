"""Whether operations record a graph for backpropagation (``no_grad``, ``enable_grad``)."""

from __future__ import annotations

import functools
import inspect
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


class _GradModeContext:
    """Base of the grad-mode switches: a context manager, and a decorator with or without parentheses
    (``@nerve.no_grad`` and ``@nerve.no_grad()`` alike, as in PyTorch)."""

    mode: bool | None = True  # None: leave the mode as it is

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and callable(args[0]) and not isinstance(args[0], bool):
            return cls()(args[0])  # used as a bare decorator
        return super().__new__(cls)

    def _clone(self) -> _GradModeContext:
        return self.__class__()

    def __enter__(self) -> None:
        self.prev = grad_mode.enabled
        if self.mode is not None:
            grad_mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        grad_mode.enabled = self.prev

    def __call__(self, fn: F) -> F:
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}: a decorator needs a function, got {type(fn).__name__}")

        if inspect.isgeneratorfunction(fn):
            return self._wrap_generator(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._clone():  # a fresh context per call, so nested and recursive calls restore correctly
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def _wrap_generator(self, fn: F) -> F:
        """A generator runs its body between yields, so the mode is set around each resumption (as PyTorch
        does), not around the call, which only creates the generator."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            generator = fn(*args, **kwargs)
            try:
                with self._clone():
                    response = generator.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self._clone():
                            generator.close()
                        raise
                    except BaseException as error:
                        with self._clone():
                            response = generator.throw(error)
                    else:
                        with self._clone():
                            response = generator.send(request)
            except StopIteration as done:  # the body returned: hand its value on (PEP 479)
                return done.value

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


class inference_mode(_GradModeContext):
    """``no_grad`` under PyTorch's inference-mode name (nerve has no separate inference tensors);
    ``inference_mode(False)`` leaves the grad mode as it is."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = False if mode else None

    def _clone(self) -> inference_mode:
        return inference_mode(self.mode is not None)


class set_grad_enabled(_GradModeContext):
    """Set whether operations record a graph: called on its own it switches the mode (until switched back), as a
    context manager it restores the previous mode on exit, as a decorator it applies to each call only."""

    def __init__(self, mode: bool) -> None:
        self.prev = grad_mode.enabled
        self.mode = bool(mode)
        grad_mode.enabled = self.mode

    def _clone(self) -> set_grad_enabled:
        return set_grad_enabled(self.mode)

    def __enter__(self) -> None:
        return None  # the mode was set on construction; prev is what it was then

    def __call__(self, fn: F) -> F:
        grad_mode.enabled = self.prev  # decorating must not switch the mode for the rest of the program
        return super().__call__(fn)

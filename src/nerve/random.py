"""Random number generation: one seeded NumPy generator behind everything nerve draws.

``nerve.manual_seed(s)`` reseeds it, so initialisation, dropout masks, shuffling and ``randn`` are all
reproducible from one call. A ``nerve.Generator`` gives an independent stream (e.g. for a DataLoader).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Generator:
    """An independent random stream (PCG64), seeded with ``manual_seed``."""

    def __init__(self, seed: int | None = None) -> None:
        self._seed = 0 if seed is None else int(seed)
        self.np = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self.np = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict[str, Any]:
        return self.np.bit_generator.state

    def set_state(self, state: dict[str, Any]) -> None:
        self.np.bit_generator.state = state


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed everything nerve draws (initialisation, dropout, shuffling, ``randn``...)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed from OS entropy; returns the seed used."""
    s = int(np.random.SeedSequence().entropy % (2**63))
    default_generator.manual_seed(s)
    return s


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict[str, Any]:
    return default_generator.get_state()


def set_rng_state(state: dict[str, Any]) -> None:
    default_generator.set_state(state)


def resolve_generator(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator to draw from: the given one, or the global default."""
    if generator is None:
        return default_generator.np
    if isinstance(generator, Generator):
        return generator.np
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"expected a nerve.Generator, got {type(generator).__name__}")

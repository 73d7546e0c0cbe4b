"""Per-sample random draws keyed by (seed, index).

Philox is counter-based: keying it with (seed, index) gives each sample its own stream with no
SeedSequence hashing, and handing out uniforms from a pre-drawn block costs a fraction of a numpy call
per draw. Samples draw a few dozen numbers, so this is most of the sampling time saved.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np

BLOCK = 64
MASK64 = (1 << 64) - 1


class Draws:
    """The random numbers of one sample, in a fixed order. Not thread-safe: one per thread or process."""

    def __init__(self) -> None:
        self._gen = np.random.Generator(np.random.Philox(key=0))
        self._bitgen = self._gen.bit_generator
        self._state = self._bitgen.state
        self._u: list[float] = []
        self._i = 0

    def start(self, seed: int, index: int) -> Draws:
        """Rewind to the beginning of sample (seed, index)'s stream."""
        st = self._state
        st["state"]["counter"] = np.zeros(4, np.uint64)
        st["state"]["key"] = np.array([int(seed) & MASK64, int(index) & MASK64], np.uint64)
        st["buffer_pos"] = 4
        st["has_uint32"] = 0
        self._bitgen.state = st
        self._u = self._gen.random(BLOCK).tolist()
        self._i = 0
        return self

    def random(self) -> float:
        """Uniform in [0, 1)."""
        if self._i == len(self._u):
            self._u = self._gen.random(BLOCK).tolist()
            self._i = 0
        u = self._u[self._i]
        self._i += 1
        return u

    def take(self, n: int) -> list[float]:
        """The next `n` uniforms at once: one slice where n calls of `random` would cost n method calls."""
        i, u = self._i, self._u
        if i + n <= len(u):
            self._i = i + n
            return u[i : i + n]
        return [self.random() for _ in range(n)]

    def uniform(self, lo: float, hi: float) -> float:
        return between(self.random(), lo, hi)

    def integers(self, lo: int, hi: int) -> int:
        """Integer in [lo, hi)."""
        return integer(self.random(), lo, hi)

    def choice(self, cumulative: Sequence[float]) -> int:
        """Index drawn with probabilities given as cumulative weights (last = total)."""
        return pick(cumulative, self.random())


def between(u: float, lo: float, hi: float) -> float:
    """The uniform `u` in [0, 1) moved to [lo, hi): for draws taken several at a time (`Draws.take`)."""
    return lo + (hi - lo) * u


def integer(u: float, lo: int, hi: int) -> int:
    """The uniform `u` in [0, 1) as an integer in [lo, hi)."""
    return lo + min(int(u * (hi - lo)), hi - lo - 1)


def pick(cumulative: Sequence[float], u: float) -> int:
    """Index chosen by the uniform `u` in [0, 1) with probabilities given as cumulative weights."""
    return min(bisect.bisect_right(cumulative, u * cumulative[-1]), len(cumulative) - 1)


def cumulative(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    if not out or not math.isfinite(total) or total <= 0:
        raise ValueError("weights must have a positive finite sum")
    return out

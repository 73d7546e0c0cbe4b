"""Per-sample random draws keyed by (seed, index), in one sub-stream per component.

Philox is counter-based: keying it with (seed, index) gives each sample its own stream with no
SeedSequence hashing, and its counter's high words give each component a stream of its own. Handing out
uniforms from a pre-drawn block costs a fraction of a numpy call per draw; samples draw about a hundred.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np

from synth.errors import SynthError

#: uniforms a sub-stream draws at a time once its reserved ones are used
BLOCK = 64
MASK64 = (1 << 64) - 1


class Draws:
    """The random numbers of one sample, split into named sub-streams, one per component. Each stream has its
    reserved uniforms in the sample's first block, in the order of `layout`, then blocks of its own: a
    component's draws depend on nothing but (seed, index) and its name, so adding, removing or changing one
    never shifts another's. `layout` only grows at its end. Not thread-safe: one per thread or process."""

    def __init__(self, layout: dict[str, int]) -> None:
        self._gen = np.random.Generator(np.random.Philox(key=0))
        self._bitgen = self._gen.bit_generator
        self._state = self._bitgen.state
        self._slots: dict[str, tuple[int, int, int]] = {}  # name -> (stream id, start, end)
        start = 0
        for k, (name, n) in enumerate(layout.items()):
            self._slots[name] = (k + 1, start, start + n)
            start += n
        self._total = start
        self._u: list[float] = []
        self._key = (0, 0)

    def start(self, seed: int, index: int) -> Draws:
        """Draw the reserved uniforms of sample (seed, index)."""
        self._key = (int(seed) & MASK64, int(index) & MASK64)
        self._u = self._block(0, 0, self._total)
        return self

    def stream(self, name: str) -> Uniforms:
        """The uniforms of component `name` for the sample `start` began, as many as it asks for."""
        k, a, b = self._slots[name]
        return Uniforms(self, k, self._u[a:b])

    def reserved(self, name: str) -> list[float]:
        """Component `name`'s reserved uniforms, for one that draws a fixed number: a list, without a stream."""
        _, a, b = self._slots[name]
        return self._u[a:b]

    def _block(self, stream: int, round_: int, n: int) -> list[float]:
        """`n` uniforms of Philox keyed by the sample, from the counter (0, 0, round, stream): stream 0 is the
        reserved block, stream k its k-th sub-stream's overflow."""
        st = self._state
        st["state"]["counter"] = np.array([0, 0, round_, stream], np.uint64)
        st["state"]["key"] = np.array(self._key, np.uint64)
        st["buffer_pos"] = 4
        st["has_uint32"] = 0
        self._bitgen.state = st
        return self._gen.random(n).tolist()


class Uniforms:
    """One component's uniforms of one sample, handed out in order."""

    __slots__ = ("_draws", "_stream", "_u", "_i", "_round")

    def __init__(self, draws: Draws, stream: int, reserved: list[float]):
        self._draws, self._stream, self._u, self._i, self._round = draws, stream, reserved, 0, 0

    def random(self) -> float:
        """Uniform in [0, 1)."""
        if self._i == len(self._u):
            self._round += 1
            self._u = self._draws._block(self._stream, self._round, BLOCK)
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


def check_seed(seed: int, flag: str = "--seed") -> None:
    """Seeds are 64-bit: one outside 0 to 2**64 - 1 would silently repeat another's samples."""
    if not 0 <= seed <= MASK64:
        raise SynthError(f"{flag} {seed}: give a seed from 0 to {MASK64}")


def cumulative(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    if not out or not math.isfinite(total) or total <= 0:
        raise ValueError("weights must have a positive finite sum")
    return out

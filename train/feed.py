"""The training feed: the stream's batches per curriculum phase, as the step's tensors, in bursts or beside it.

How rendering shares the CPU with the step: in bursts while the step waits (no GPU), or beside it (a GPU).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import tensorflow as tf

from synth.batch import batches
from synth.config import SynthConfig
from synth.errors import SynthError
from synth.pool import default_workers
from train.config import FEEDS, FitConfig, TrainConfig
from train.data import curriculum
from train.distribute import Replicas
from train.prefetch import prefetch


def feed_mode(t: TrainConfig) -> str:
    """"burst" or "overlap": what `auto` means here is whether TensorFlow sees a GPU to run the step on."""
    if t.feed not in FEEDS:
        raise SynthError(f"--feed {t.feed!r} is not a feed; choose one of {', '.join(FEEDS)}")
    if t.feed != "auto":
        return t.feed
    return "overlap" if tf.config.list_physical_devices("GPU") else "burst"


def start_workers(t: TrainConfig, burst: bool) -> int:
    """Render workers a feed starts with: --workers, else every core for a burst feed, else one beside the step
    (which `Feed` adds to while the step waits)."""
    return t.workers if t.workers is not None else default_workers() if burst else 1


def training_batches(cfg: FitConfig, data: SynthConfig, start_step: int, burst: bool, reps: Replicas | None = None,
                     workers: int | None = None) -> Iterator[dict[str, Any]]:
    """The stream's batches as numpy arrays, uint8 images that the step makes float: tf.data's threads beside the
    step cost it more than the rendering does (paired rounds in docs/benchmarks.md). With replicas, this
    worker's slice of each global batch (`train.distribute`). `workers`: default `start_workers`."""
    t = cfg.train
    reps = reps or Replicas()
    if t.ray:  # --workers sizes a local Ray instance (default: every core)
        workers = t.workers
    elif workers is None:
        workers = start_workers(t, burst)
    size, per_step = reps.local * t.batch_size, reps.total * t.batch_size
    step = start_step
    for end, phase in curriculum(cfg, data):
        if step >= end:
            continue
        # niced workers: beside the step, it keeps the cores and rendering fills its threads' waits
        for batch in batches(phase, seed=t.seed, batch_size=size, start=step * per_step, count=(end - step) * per_step,
                             workers=workers, nice=19, burst=burst, ray=t.ray, shard=reps.shard):
            yield batch
            step += 1


#: what the training step takes of a batch, in its argument order
STEP_KEYS = ("image", "label", "label_length", "width")


def step_inputs(batches: Iterator[dict[str, Any]], ahead: bool = True) -> Iterator[tuple[tf.Tensor, ...]]:
    """The step's arguments as tensors: fetched and converted on a thread while the previous step runs (`ahead`),
    or when the step asks, for a burst feed, whose workers must not be set rendering beside the step."""
    if ahead:
        return prefetch(batches, _tensors)
    return _converted(batches)


#: the share of a window's time the step may wait on data before a growing feed adds render workers (the GPU
#: target: the fed step at 95% or more of the in-memory step's speed)
WAIT_LIMIT = 0.05


class Feed:
    """The step's inputs from step `step` on, timing how long the step waits for them.

    `open_at(step, workers)` opens the inputs from a step with that many render workers. A growing feed (the
    overlapped feed of a GPU, its workers not given) is opened again at the current step with more workers when
    a window shows the step waiting on data: the stream is indexed, so the samples stay the same. It leaves a
    core to the trainer (`most` workers)."""

    def __init__(self, open_at: Callable[[int, int], Iterator[tuple[tf.Tensor, ...]]], step: int, workers: int,
                 grow: bool = False, most: int | None = None):
        self.open_at, self.step, self.workers, self.grow = open_at, step, workers, grow
        self.most = max(1, default_workers() - 1) if most is None else most
        self.inputs = open_at(step, workers)
        self.waited = 0.0
        self.fresh = True  # the first window after opening holds the workers' start: not a measure
        self.told = False

    def __iter__(self) -> Feed:
        return self

    def __next__(self) -> tuple[tf.Tensor, ...]:
        t0 = time.perf_counter()
        inputs = next(self.inputs)
        self.waited += time.perf_counter() - t0
        self.step += 1
        return inputs

    def window(self, seconds: float, more: bool = True) -> tuple[float, str | None]:
        """The share of the last `seconds` the step waited on data, and what to say of it (a feed widened, or one
        that cannot keep up); starts the next window. `more`: steps follow (the last window widens nothing)."""
        share, self.waited = min(1.0, self.waited / max(seconds, 1e-9)), 0.0
        if self.fresh or share <= WAIT_LIMIT or not more:
            self.fresh = False
            return share, None
        if self.grow and self.workers < self.most:
            # the feed delivered (1 - share) of what the step could take: as many more workers, and a tenth
            want = min(self.most, max(self.workers + 1, math.ceil(1.1 * self.workers / max(1.0 - share, 0.05))))
            note = (f"the step waited on data {share:.0%} of the time with {self.workers} render worker"
                    f"{'s' if self.workers > 1 else ''}: now {want}")
            self.close()
            self.inputs, self.workers, self.fresh = self.open_at(self.step, want), want, True
            return share, note
        if self.grow and not self.told:
            self.told = True
            return share, (f"the step waits on data {share:.0%} of the time with {self.workers} render worker"
                           f"{'s' if self.workers > 1 else ''} (every core but the trainer's): render on more machines "
                           "with --ray ADDRESS")
        return share, None

    def close(self) -> None:
        close = getattr(self.inputs, "close", None)
        if close is not None:
            close()


def _tensors(batch: dict[str, Any]) -> tuple[tf.Tensor, ...]:
    return tuple(tf.constant(batch[k]) for k in STEP_KEYS)


def _converted(batches: Iterator[dict[str, Any]]) -> Iterator[tuple[tf.Tensor, ...]]:
    with closing(batches):  # closing this closes the feed, and so its workers
        for b in batches:
            yield _tensors(b)

"""The training feed: the stream's batches per curriculum phase, as the step's tensors, in bursts or beside it.

How rendering shares the CPU with the step: in bursts while the step waits (no GPU), or beside it (a GPU).
"""

from __future__ import annotations

from collections.abc import Iterator
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


def training_batches(cfg: FitConfig, data: SynthConfig, start_step: int, burst: bool, reps: Replicas | None = None
                     ) -> Iterator[dict[str, Any]]:
    """The stream's batches as numpy arrays, uint8 images that the step makes float: tf.data's threads beside the
    step cost it more than the rendering does (paired rounds in docs/benchmarks.md). With replicas, this
    worker's slice of each global batch (`train.distribute`)."""
    t = cfg.train
    reps = reps or Replicas()
    workers = t.workers if t.workers is not None else default_workers() if burst else 1
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


def _tensors(batch: dict[str, Any]) -> tuple[tf.Tensor, ...]:
    return tuple(tf.constant(batch[k]) for k in STEP_KEYS)


def _converted(batches: Iterator[dict[str, Any]]) -> Iterator[tuple[tf.Tensor, ...]]:
    with closing(batches):  # closing this closes the feed, and so its workers
        for b in batches:
            yield _tensors(b)

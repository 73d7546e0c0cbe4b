"""The tf.data face of the renderer: an endless, deterministic, parallel stream, and the reader of datasets.

Both yield the same element structure (see `element_spec`), so training and evaluation take either.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import tensorflow as tf

from synth.batch import render_range, run_ordered
from synth.config import SynthConfig
from synth.errors import SynthError
from synth.malloc import reuse_large_buffers
from synth.sample import Renderer

#: rendering granularity of an unbatched stream: big enough to amortize inter-process transfer
CHUNK = 64
#: image bytes per message from the render workers for a batched fixed-width stream, split into batches
#: by `rebatch`: each element through `from_generator` costs the main process about 0.5 ms whatever its
#: size. Kept under the 1 MiB result pipes (`synth.batch._widen`), or a worker would stall in send()
MESSAGE_BYTES = 768 << 10

KEYS = ("image", "width", "label", "label_length", "text", "font")


def element_spec(height: int, width: int | None, max_len: int, batched: bool) -> dict[str, tf.TensorSpec]:
    """What an element looks like: `label` is int32 padded with 0 (the CTC blank, `synth.alphabet.PAD`);
    `width` is each image's true width (images of a batch are right-padded to the widest)."""
    b = (None,) if batched else ()
    return {
        "image": tf.TensorSpec(b + (height, width, 1), tf.float32),
        "width": tf.TensorSpec(b, tf.int32),
        "label": tf.TensorSpec(b + (max_len,), tf.int32),
        "label_length": tf.TensorSpec(b, tf.int32),
        "text": tf.TensorSpec(b, tf.string),
        "font": tf.TensorSpec(b, tf.string),
    }


def as_dataset(batches: Callable[[], Iterator[dict[str, Any]]], height: int, width: int | None, max_len: int,
                batch_size: int | None, rebatch: bool = False) -> tf.data.Dataset:
    """Numpy batches (uint8 images, see `synth.batch.collate`) -> a dataset of float images in [0, 1].

    `rebatch`: the numpy batches are larger than `batch_size` (several batches in one message), to be split."""
    raw = {k: v for k, v in element_spec(height, width, max_len, True).items()}
    raw["image"] = tf.TensorSpec((None, height, width), tf.uint8)

    def gen() -> Iterator[dict[str, Any]]:
        reuse_large_buffers()  # here: after TensorFlow's own malloc setting, made when this op first runs
        for b in batches():
            yield {k: b[k] for k in KEYS}

    ds = tf.data.Dataset.from_generator(gen, output_signature=raw)

    def to_float(b: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        b = dict(b)
        b["image"] = tf.cast(b["image"], tf.float32)[..., None] * (1.0 / 255.0)
        return b

    ds = ds.map(to_float, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if rebatch:
        ds = ds.rebatch(batch_size)
    if batch_size is None:
        ds = ds.unbatch()
        if width is None:  # drop the padding an unbatched element got from its chunk
            ds = ds.map(lambda e: {**e, "image": e["image"][:, : e["width"], :]})
    return ds.prefetch(tf.data.AUTOTUNE)


def stream(config: SynthConfig | None = None, seed: int = 0, batch_size: int | None = None, start: int = 0,
           count: int | None = None, workers: int | None = None, nice: int = 0) -> tf.data.Dataset:
    """Samples seed:start, seed:start+1, ... as a tf.data.Dataset, rendered on `workers` processes.

    Infinite unless `count` is given. Sample i is the same pixels whatever `workers`, `batch_size` or `start`
    (resuming training at step s is `start=s * batch_size`). Batched elements have images (B, H, W, 1);
    with a variable width (render.width None) W is the widest of the batch.

    `nice` (0-19) lowers the render workers' priority: a training step that shares the cores then keeps them,
    and the workers render in the moments its threads wait (the prefetch buffer covers the gaps).
    """
    config = config or SynthConfig()
    Renderer(config)  # a bad config fails here, with its own message, not as a TensorFlow error mid-iteration
    if not 0 <= nice <= 19:
        raise SynthError(f"nice={nice}: a worker may only lower its priority; use 0 (normal) to 19 (lowest)")
    rc = config.render
    n = batch_size or CHUNK
    if batch_size and rc.width is not None:  # (a variable width pads each batch to its own widest image)
        n = batch_size * max(1, MESSAGE_BYTES // (batch_size * rc.height * rc.width))

    def tasks() -> Iterator[tuple[int, int, int]]:
        stops = itertools.count(start, n) if count is None else range(start, start + count, n)
        end = None if count is None else start + count
        for s in stops:
            yield seed, s, n if end is None else min(n, end - s)

    def batches() -> Iterator[dict[str, Any]]:
        return run_ordered(config, render_range, tasks(), workers, nice=nice)

    return as_dataset(batches, rc.height, rc.width, config.text.max_len, batch_size, rebatch=n != (batch_size or CHUNK))


def numpy_batches(ds: tf.data.Dataset) -> Iterator[dict[str, np.ndarray]]:
    """Iterate a dataset as numpy dicts with decoded strings (for evaluation loops and tests)."""
    for b in ds.as_numpy_iterator():
        out = dict(b)
        for k in ("text", "font"):
            v = out[k]
            out[k] = [x.decode("utf-8") for x in v] if isinstance(v, np.ndarray) else v.decode("utf-8")
        yield out

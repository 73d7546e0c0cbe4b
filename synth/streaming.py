"""The tf.data face of the renderer: an endless, deterministic, parallel stream of batches as tf.data.Dataset.

`as_dataset` turns any numpy batches into that structure (see `element_spec`): `synth.read` uses it too, so
training and evaluation take a stream or a dataset alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from synth.batch import message_size, render_messages
from synth.config import SynthConfig
from synth.image import KEYS
from synth.malloc import reuse_large_buffers
from synth.quiet import tensorflow

tf = tensorflow()


def float_images(images: tf.Tensor) -> tf.Tensor:
    """uint8 images (B, H, W) -> the model's input, float32 in [0, 1] (B, H, W, 1): `synth.image.to_float` in
    TensorFlow, for graphs."""
    return tf.cast(images, tf.float32)[..., None] * (1.0 / 255.0)


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
    """Numpy batches (uint8 images, see `synth.image.collate`) -> a dataset of float images in [0, 1].

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
        b["image"] = float_images(b["image"])
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
           count: int | None = None, workers: int | None = None, nice: int = 0, ray: str | None = None
           ) -> tf.data.Dataset:
    """Samples seed:start, seed:start+1, ... as a tf.data.Dataset, rendered on `workers` processes.

    Infinite unless `count` is given. Sample i is the same pixels whatever `workers`, `batch_size` or `start`
    (resuming training at step s is `start=s * batch_size`). Batched elements have images (B, H, W, 1);
    with a variable width (render.width None) W is the widest of the batch.

    `nice` (0-19) lowers the render workers' priority: a training step that shares the cores then keeps them,
    and the workers render in the moments its threads wait (the prefetch buffer covers the gaps).
    `ray`: rendered on the Ray cluster at that address instead ("local": an instance of `workers` CPUs here;
    see `synth.cluster`), in the same order, with at most two tasks in flight per CPU of the cluster: one
    trainer fed by many machines' cores.
    `synth.batch.batches` gives the same batches as numpy arrays, without tf.data's threads (train fit's feed).
    """
    config = config or SynthConfig()
    rc = config.render
    n = message_size(config, batch_size)

    def batches() -> Iterator[dict[str, Any]]:
        return render_messages(config, seed, n, start, count, workers, nice, ray=ray)

    batches()  # a bad config or nice fails here, with its own message, not as a TensorFlow error mid-iteration
    return as_dataset(batches, rc.height, rc.width, config.text.label_len, batch_size,
                      rebatch=batch_size is not None and n != batch_size)


def numpy_batches(ds: tf.data.Dataset) -> Iterator[dict[str, np.ndarray]]:
    """Iterate a dataset as numpy dicts with decoded strings (for evaluation loops and tests)."""
    for b in ds.as_numpy_iterator():
        out = dict(b)
        for k in ("text", "font"):
            v = out[k]
            out[k] = [x.decode("utf-8") for x in v] if isinstance(v, np.ndarray) else v.decode("utf-8")
        yield out

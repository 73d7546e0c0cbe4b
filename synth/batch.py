"""The numpy feed: the stream's samples rendered in worker processes and collated into batches, in order.

Kept free of TensorFlow: spawned workers import this module.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from synth.config import SynthConfig
from synth.errors import SynthError
from synth.image import collate
from synth.pool import run_ordered
from synth.renderer import Renderer


def _worker_renderer(config: SynthConfig) -> Renderer:
    """A worker's renderer, with OpenCV on one thread: its pool would spin on the core another worker needs."""
    import cv2

    cv2.setNumThreads(1)
    return Renderer(config)


def renderers(config: SynthConfig) -> Callable[[], Renderer]:
    """The state factory of `synth.pool.run_ordered` for rendering `config`."""
    return functools.partial(_worker_renderer, config)


def render_range(renderer: Renderer, seed: int, start: int, n: int, with_spec: bool = False) -> dict[str, Any]:
    images, texts, fonts, specs = [], [], [], []
    for i in range(start, start + n):
        img, spec = renderer.render(seed, i, boxes=with_spec)
        images.append(img)
        texts.append(spec.text)
        fonts.append(spec.font)
        specs.append(spec)
    batch = collate(images, texts, fonts, renderer.alphabet, renderer.config.text.label_len)
    if with_spec:
        batch["spec"] = [s.to_dict() for s in specs]
    batch["index"] = np.arange(start, start + n, dtype=np.int64)
    return batch


#: samples per message of an unbatched stream: enough to amortize the transfer
CHUNK = 64
#: image bytes per message from a worker for fixed-width batches, which the consumer splits: each element
#: through tf.data's `from_generator` costs the main process the same whatever its size, so larger messages
#: spread it (docs/benchmarks.md). The images come back through shared memory (`run_ordered`'s slots), so the
#: pipes do not bound it. It is also the slot for a variable-width batch (a wider one takes the pipe)
MESSAGE_BYTES = 3 << 20

#: message size of `batches`, which has no per-element cost to spread: beside a training step, large messages
#: cost the step more than small ones (paired rounds in docs/benchmarks.md)
FEED_MESSAGE_BYTES = 768 << 10


def message_size(config: SynthConfig, batch_size: int | None, nbytes: int = MESSAGE_BYTES) -> int:
    """Samples per worker message: whole batches (several, up to `nbytes` of images at a fixed width; a variable
    width pads each batch to its own widest image, so one)."""
    rc = config.render
    if not batch_size:
        return CHUNK
    if rc.width is None:
        return batch_size
    return batch_size * max(1, nbytes // (batch_size * rc.height * rc.width))


def render_messages(config: SynthConfig, seed: int, size: int, start: int = 0, count: int | None = None,
                    workers: int | None = None, nice: int = 0, burst: bool = False, ray: str | None = None,
                    stride: int | None = None) -> Iterator[dict[str, Any]]:
    """Samples seed:start, seed:start+1, ... collated `size` to a message (the last may be short), in order;
    with a `stride`, messages of `size` samples from start, start + stride, ... (a shard of the stream).

    `ray`: rendered as tasks on the Ray cluster at that address (`synth.cluster`; `workers` sizes a "local"
    instance, and `nice` and `burst` do not apply), connected now and left connected for the process's other
    streams. Checks the config and `nice` now, so that they fail with their own message before any worker
    starts."""
    Renderer(config)
    if not 0 <= nice <= 19:
        raise SynthError(f"nice={nice}: a worker may only lower its priority; use 0 (normal) to 19 (lowest)")
    rc = config.render
    slot_bytes = MESSAGE_BYTES if rc.width is None else size * rc.height * rc.width
    end = None if count is None else start + count
    stride = stride or size
    stops = itertools.count(start, stride) if end is None else range(start, end, stride)
    tasks = ((seed, s, size if end is None else min(size, end - s)) for s in stops)
    if ray is not None:
        from synth import cluster

        cluster.connect(ray, workers)
        return cluster.run_ordered(renderers(config), render_range, tasks)
    return run_ordered(renderers(config), render_range, tasks, workers, nice=nice, slot_bytes=slot_bytes, burst=burst)


def batches(config: SynthConfig | None = None, seed: int = 0, batch_size: int = 32, start: int = 0,
            count: int | None = None, workers: int | None = None, nice: int = 0, burst: bool = False,
            ray: str | None = None, shard: tuple[int, int] = (0, 1)) -> Iterator[dict[str, Any]]:
    """The batches of `synth.stream` as numpy dicts, uint8 images (B, H, W) as `collate` makes them: a training
    loop of its own takes them with no tf.data threads beside its step (those slow a step on the same cores).
    Same samples, same arguments (`ray` as in `render_messages`); TensorFlow is not imported.

    `shard=(i, n)`: only batches i, i + n, i + 2n, ... of those from `start` (within `count`), rendered alone:
    one of n trainers' slice of the stream (`train.distribute`)."""
    config = config or SynthConfig()
    if batch_size < 1:
        raise SynthError(f"batch_size={batch_size}: give at least 1")
    index, shards = shard
    if not 0 <= index < shards:
        raise SynthError(f"shard={shard}: give (index, shards) with 0 <= index < shards")
    if shards > 1:  # a message per batch: the next of this shard is not its neighbour
        first = start + index * batch_size
        return render_messages(config, seed, batch_size, first, None if count is None else start + count - first,
                               workers, nice, burst, ray, stride=shards * batch_size)
    size = message_size(config, batch_size, FEED_MESSAGE_BYTES)
    messages = render_messages(config, seed, size, start, count, workers, nice, burst, ray)

    def split() -> Iterator[dict[str, Any]]:
        for m in messages:
            for i in range(0, len(m["text"]), batch_size):
                yield {k: v[i : i + batch_size] for k, v in m.items()}

    return split()

"""Rendering whole batches in worker processes, in index order, with a bounded window of work in flight.

Kept free of TensorFlow: spawned workers import this module, and `import tensorflow` costs seconds and
half a gigabyte per process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from synth.alphabet import PAD, Alphabet
from synth.config import SynthConfig
from synth.sample import Renderer

_renderer: Renderer | None = None


def collate(images: list[np.ndarray], texts: list[str], fonts: list[str], alphabet: Alphabet, max_len: int,
            encode: str = "strict") -> dict[str, Any]:
    """Stack samples into one batch: images right-padded with their edge to the widest, labels padded with PAD.

    `encode="keep"` puts only the encodable characters into `label` (for scoring real text that has
    characters the model cannot produce); "strict" raises on them.
    """
    n = len(images)
    h = images[0].shape[0]
    widths = np.array([im.shape[1] for im in images], np.int32)
    wmax = int(widths.max())
    batch = np.empty((n, h, wmax), np.uint8)
    for i, im in enumerate(images):
        w = im.shape[1]
        batch[i, :, :w] = im
        if w < wmax:
            batch[i, :, w:] = im[:, -1:]
    labels = np.full((n, max_len), PAD, np.int32)
    lengths = np.zeros(n, np.int32)
    for i, t in enumerate(texts):
        ids = alphabet.encode(t if encode == "strict" else "".join(c for c in t if c in alphabet))[:max_len]
        labels[i, : len(ids)] = ids
        lengths[i] = len(ids)
    return {"image": batch, "width": widths, "label": labels, "label_length": lengths, "text": texts, "font": fonts}


def render_range(renderer: Renderer, seed: int, start: int, n: int, with_spec: bool = False) -> dict[str, Any]:
    images, texts, fonts, specs = [], [], [], []
    for i in range(start, start + n):
        img, spec = renderer.render(seed, i)
        images.append(img)
        texts.append(spec.text)
        fonts.append(spec.font)
        specs.append(spec)
    batch = collate(images, texts, fonts, renderer.alphabet, renderer.config.text.max_len)
    if with_spec:
        batch["spec"] = [s.to_dict() for s in specs]
    batch["index"] = np.arange(start, start + n, dtype=np.int64)
    return batch


def _init(config: SynthConfig) -> None:
    global _renderer
    _renderer = Renderer(config)


def _call(task: tuple[Callable, tuple]) -> Any:
    fn, args = task
    assert _renderer is not None
    return fn(_renderer, *args)


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Spawned workers re-import the parent's __main__ (a user script that imports TensorFlow, say): seconds
    and half a gigabyte each, for nothing, as the workers run only this module's code. Hide it meanwhile."""
    main = sys.modules.get("__main__")
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if main is not None and k in main.__dict__}
    try:
        if "__file__" in saved:
            del main.__dict__["__file__"]
        if "__spec__" in saved:
            main.__dict__["__spec__"] = None
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_ordered(config: SynthConfig, fn: Callable, tasks: Iterable[tuple], workers: int | None = None,
                window: int | None = None) -> Iterator[Any]:
    """Yield fn(renderer, *task) for each task, in task order, rendered on `workers` processes.

    At most `window` tasks are in flight: an endless task iterator must not flood the pool's queue.
    workers=0 renders in this process. Callers validate the config first (build a Renderer), so that a
    bad one fails with its own message rather than inside a worker.
    """
    workers = default_workers() if workers is None else workers
    if workers == 0:
        renderer = Renderer(config)
        for t in tasks:
            yield fn(renderer, *t)
        return
    window = window or 2 * workers + 2
    ctx = mp.get_context("spawn")  # fork would copy TensorFlow's threads and locks from the parent
    with _main_module_hidden():
        pool = ctx.Pool(workers, initializer=_init, initargs=(config,))
    try:
        pending: deque = deque()
        it = iter(tasks)
        for t in it:
            pending.append(pool.apply_async(_call, ((fn, t),)))
            if len(pending) >= window:
                break
        while pending:
            result = pending.popleft().get()
            for t in it:
                pending.append(pool.apply_async(_call, ((fn, t),)))
                break
            yield result
    finally:
        pool.terminate()
        pool.join()

"""Rendering whole batches in worker processes, in index order, with a bounded window of work in flight.

Kept free of TensorFlow: spawned workers import this module, and `import tensorflow` costs seconds and
half a gigabyte per process.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import Any, NamedTuple

import numpy as np

from synth.alphabet import PAD, Alphabet
from synth.config import SynthConfig
from synth.errors import SynthError
from synth.sample import Renderer


def pad_images(images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack grey images of one height: (B, H, Wmax) uint8, each right-padded with its own edge column, and
    the true widths. Edge padding looks like more paper, where a constant would draw a bar beside the text."""
    widths = np.array([im.shape[1] for im in images], np.int32)
    wmax = int(widths.max())
    if widths.min() == wmax:  # a fixed width: one copy
        return np.stack(images), widths
    batch = np.empty((len(images), images[0].shape[0], wmax), np.uint8)
    for i, im in enumerate(images):
        w = im.shape[1]
        batch[i, :, :w] = im
        if w < wmax:
            batch[i, :, w:] = im[:, -1:]
    return batch, widths


def collate(images: list[np.ndarray], texts: list[str], fonts: list[str], alphabet: Alphabet, max_len: int,
            encode: str = "strict") -> dict[str, Any]:
    """Stack samples into one batch: images right-padded with their edge to the widest, labels padded with PAD.

    `encode="keep"` puts only the encodable characters into `label` (for scoring real text that has
    characters the model cannot produce); "strict" raises on them.
    """
    n = len(images)
    batch, widths = pad_images(images)
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


class _InSlot(NamedTuple):
    """Stands in a result for its image, which the worker left in its shared slot."""

    shape: tuple[int, ...]
    dtype: str


def _slot_view(shm: SharedMemory, slot: int, slot_bytes: int, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    return np.ndarray(shape, dtype, buffer=shm.buf, offset=slot * slot_bytes)


def _stash(result: Any, shm: SharedMemory, slot: int, slot_bytes: int) -> Any:
    """Move a dict result's image into the slot, where it fits; the rest goes through the pipe."""
    image = result.get("image") if isinstance(result, dict) else None
    if not isinstance(image, np.ndarray) or image.nbytes > slot_bytes:
        return result
    _slot_view(shm, slot, slot_bytes, image.shape, image.dtype)[...] = image
    return {**result, "image": _InSlot(image.shape, image.dtype.str)}


def _unstash(result: Any, shm: SharedMemory | None, slot: int, slot_bytes: int) -> Any:
    """The parent's side of `_stash`: a copy, as the worker reuses the slot once the next task comes."""
    image = result.get("image") if isinstance(result, dict) else None
    if shm is None or not isinstance(image, _InSlot):
        return result
    result["image"] = _slot_view(shm, slot, slot_bytes, image.shape, np.dtype(image.dtype)).copy()
    return result


def _worker(tasks: Connection, results: Connection, config: SynthConfig, nice: int, shm_name: str | None,
            slot_bytes: int) -> None:
    """A render process: tasks in on one pipe, results (or the exception) out on another, images in its
    shared slots where the parent gave it some."""
    import cv2

    if nice:
        os.nice(nice)
    cv2.setNumThreads(1)  # OpenCV's pool would spin on the core another worker needs
    renderer = Renderer(config)
    # attached, not made: the parent unlinks it. Spawned workers share the parent's resource tracker, so their
    # attaching registers nothing new and leaves the parent's registration, which cleans up if it is killed
    shm = SharedMemory(name=shm_name) if shm_name else None
    while True:
        task = tasks.recv()
        if task is None:
            return
        fn, args, slot = task
        try:
            result = fn(renderer, *args)
            results.send((True, result if shm is None else _stash(result, shm, slot, slot_bytes)))
        except Exception as e:  # handed to the parent, which raises it
            results.send((False, e))


def _widen(conn: Connection, nbytes: int = 1 << 20) -> None:
    """Let a whole batch sit in the pipe: with the default 64 KiB a worker stalls in send() until the parent
    drains it, which the parent does only in task order, after the other workers' earlier batches."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, nbytes)
    except (ImportError, AttributeError, OSError):  # not Linux, or above /proc/sys/fs/pipe-max-size
        pass


_hiding = threading.Lock()


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Spawned workers re-import the parent's __main__ (a user script that imports TensorFlow, say): seconds
    and half a gigabyte each, for nothing, as the workers run only this module's code. Hide it meanwhile.
    One stream at a time: two starting together (tf.data runs generators on its own threads) would save
    each other's hidden state, and a worker could re-run the user's script."""
    with _hiding:
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


#: tasks in flight per worker by default: one rendering, one waiting to be read, one queued
WINDOW = 3


def run_ordered(config: SynthConfig, fn: Callable, tasks: Iterable[tuple], workers: int | None = None,
                window: int | None = None, nice: int = 0, slot_bytes: int = 0, burst: bool = False) -> Iterator[Any]:
    """Yield fn(renderer, *task) for each task, in task order, rendered on `workers` processes.

    At most `window` tasks are in flight: an endless task iterator must not flood the pipes.
    workers=0 renders in this process. `nice` lowers the workers' scheduling priority (see `stream`).
    `slot_bytes` > 0 gives each task in flight a slot of shared memory that bytes: a dict result's "image" up to
    that size comes back through it, not pickled through a pipe (two copies and a pipe's worth of system calls
    fewer; the parent's share of a stream is what limits it on a few cores).
    `burst` sends a window of tasks only once every earlier result has been taken, and takes them all before
    yielding the first: the workers render while the consumer waits, and wait while it works. For a consumer
    that computes on the same cores (a training step on the CPU), which rendering beside it slows by about
    twice the rendering's own CPU time (docs/benchmarks.md, twelfth session).
    Callers validate the config first (build a Renderer), so that a bad one fails with its own message
    rather than inside a worker.
    """
    workers = default_workers() if workers is None else workers
    if workers == 0:
        renderer = Renderer(config)
        for t in tasks:
            yield fn(renderer, *t)
        return
    per_worker = max(1, (window or WINDOW * workers) // workers)
    ctx = mp.get_context("spawn")  # fork would copy TensorFlow's threads and locks from the parent
    conns: list[tuple[Connection, Connection]] = []  # (tasks out, results in), one pair per worker
    blocks: list[SharedMemory | None] = []  # a worker's slots: one per task it may have in flight
    procs = []
    try:
        with _main_module_hidden():
            for _ in range(workers):
                shm = SharedMemory(create=True, size=per_worker * slot_bytes) if slot_bytes > 0 else None
                blocks.append(shm)
                task_in, task_out = ctx.Pipe(duplex=False)
                result_in, result_out = ctx.Pipe(duplex=False)
                _widen(result_in)
                proc = ctx.Process(target=_worker, daemon=True, args=(
                    task_in, result_out, config, nice, shm.name if shm else None, slot_bytes))
                proc.start()
                task_in.close()
                result_out.close()
                conns.append((task_out, result_in))
                procs.append(proc)
        # task k goes to worker k % workers, slot (k // workers) % per_worker, and results are read back in the
        # same order: deterministic, no pool threads polling the pipes in the parent (they cost more than the
        # parent's real work), and a slot is free again when its next task is sent, as that follows the
        # reading of its last one
        it = iter(tasks)
        pending: deque[tuple[int, int]] = deque()
        sent = 0

        def submit() -> None:
            nonlocal sent
            for t in it:
                w, slot = sent % workers, (sent // workers) % per_worker
                conns[w][0].send((fn, t, slot))
                pending.append((w, slot))
                sent += 1
                return

        def receive() -> Any:
            w, slot = pending.popleft()
            ok, result = conns[w][1].recv()
            if not ok:
                raise result
            return _unstash(result, blocks[w], slot, slot_bytes)

        def fill() -> None:
            for _ in range(per_worker * workers):
                submit()

        fill()
        while pending:
            if burst:  # the whole window read, then the next one sent once the consumer is back for more
                yield from [receive() for _ in range(len(pending))]
                fill()
            else:
                result = receive()
                submit()
                yield result
    except (EOFError, BrokenPipeError, ConnectionResetError):
        raise RuntimeError("a render worker process died; see its error output above") from None
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join()
        for pair in conns:
            for conn in pair:
                conn.close()
        for shm in blocks:
            if shm is not None:
                shm.close()
                shm.unlink()


#: samples per message of an unbatched stream: enough to amortize the transfer
CHUNK = 64
#: image bytes per message from a worker for fixed-width batches, which the consumer splits: each element
#: through tf.data's `from_generator` costs the main process about 0.3 ms whatever its size. The images come
#: back through shared memory (`run_ordered`'s slots), so the pipes (1 MiB at most) do not bound it: at 3 MiB
#: (12 batches of 64 at 128x32) the stream on 2 cores ran 1.70x one renderer, at 768 KiB 1.62-1.65x. It is
#: also the slot for a variable-width batch (a wider one takes the pipe)
MESSAGE_BYTES = 3 << 20

#: message size of `batches`, which has no per-element cost to spread: beside a training step on 2 cores (batch
#: 16, paired rounds in one run), a feed in 3 MiB messages cost it 9.3% of its in-memory speed, in 768 KiB ones
#: 5.8% (5.1% against 5.9% for 256 KiB in another run)
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
                    workers: int | None = None, nice: int = 0, burst: bool = False) -> Iterator[dict[str, Any]]:
    """Samples seed:start, seed:start+1, ... collated `size` to a message (the last may be short), in order.

    Checks the config and `nice` now, so that they fail with their own message before any worker starts."""
    Renderer(config)
    if not 0 <= nice <= 19:
        raise SynthError(f"nice={nice}: a worker may only lower its priority; use 0 (normal) to 19 (lowest)")
    rc = config.render
    slot_bytes = MESSAGE_BYTES if rc.width is None else size * rc.height * rc.width
    end = None if count is None else start + count
    stops = itertools.count(start, size) if end is None else range(start, end, size)
    tasks = ((seed, s, size if end is None else min(size, end - s)) for s in stops)
    return run_ordered(config, render_range, tasks, workers, nice=nice, slot_bytes=slot_bytes, burst=burst)


def batches(config: SynthConfig | None = None, seed: int = 0, batch_size: int = 32, start: int = 0,
            count: int | None = None, workers: int | None = None, nice: int = 0, burst: bool = False
            ) -> Iterator[dict[str, Any]]:
    """The batches of `synth.stream` as numpy dicts, uint8 images (B, H, W) as `collate` makes them: a training
    loop of its own takes them with no tf.data threads beside its step (on 2 cores those cost the default
    model's training about 5% of its speed). Same samples, same arguments; TensorFlow is not imported."""
    config = config or SynthConfig()
    if batch_size < 1:
        raise SynthError(f"batch_size={batch_size}: give at least 1")
    size = message_size(config, batch_size, FEED_MESSAGE_BYTES)
    messages = render_messages(config, seed, size, start, count, workers, nice, burst)

    def split() -> Iterator[dict[str, Any]]:
        for m in messages:
            for i in range(0, len(m["text"]), batch_size):
                yield {k: v[i : i + batch_size] for k, v in m.items()}

    return split()

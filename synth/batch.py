"""Rendering whole batches in worker processes, in index order, with a bounded window of work in flight.

Kept free of TensorFlow: spawned workers import this module, and `import tensorflow` costs seconds and
half a gigabyte per process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from synth.alphabet import PAD, Alphabet
from synth.config import SynthConfig
from synth.sample import Renderer


def pad_images(images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack grey images of one height: (B, H, Wmax) uint8, each right-padded with its own edge column, and
    the true widths. Edge padding looks like more paper, where a constant would draw a bar beside the text."""
    widths = np.array([im.shape[1] for im in images], np.int32)
    wmax = int(widths.max())
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


def _worker(tasks: Connection, results: Connection, config: SynthConfig, nice: int) -> None:
    """A render process: tasks in on one pipe, results (or the exception) out on another."""
    import cv2

    if nice:
        os.nice(nice)
    cv2.setNumThreads(1)  # OpenCV's pool would spin on the core another worker needs
    renderer = Renderer(config)
    while True:
        task = tasks.recv()
        if task is None:
            return
        fn, args = task
        try:
            results.send((True, fn(renderer, *args)))
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


def run_ordered(config: SynthConfig, fn: Callable, tasks: Iterable[tuple], workers: int | None = None,
                window: int | None = None, nice: int = 0) -> Iterator[Any]:
    """Yield fn(renderer, *task) for each task, in task order, rendered on `workers` processes.

    At most `window` tasks are in flight: an endless task iterator must not flood the pipes.
    workers=0 renders in this process. `nice` lowers the workers' scheduling priority (see `stream`).
    Callers validate the config first (build a Renderer), so that a bad one fails with its own message
    rather than inside a worker.
    """
    workers = default_workers() if workers is None else workers
    if workers == 0:
        renderer = Renderer(config)
        for t in tasks:
            yield fn(renderer, *t)
        return
    per_worker = max(1, (window or 3 * workers) // workers)
    ctx = mp.get_context("spawn")  # fork would copy TensorFlow's threads and locks from the parent
    conns: list[tuple[Connection, Connection]] = []  # (tasks out, results in), one pair per worker
    procs = []
    with _main_module_hidden():
        for _ in range(workers):
            task_in, task_out = ctx.Pipe(duplex=False)
            result_in, result_out = ctx.Pipe(duplex=False)
            _widen(result_in)
            proc = ctx.Process(target=_worker, args=(task_in, result_out, config, nice), daemon=True)
            proc.start()
            task_in.close()
            result_out.close()
            conns.append((task_out, result_in))
            procs.append(proc)
    # task k goes to worker k % workers and results are read back in the same order: deterministic, and no
    # pool threads polling the pipes in the parent (they cost more than the parent's real work)
    it = iter(tasks)
    pending: deque[int] = deque()
    sent = 0

    def submit() -> None:
        nonlocal sent
        for t in it:
            w = sent % workers
            conns[w][0].send((fn, t))
            pending.append(w)
            sent += 1
            return

    try:
        for _ in range(per_worker * workers):
            submit()
        while pending:
            ok, result = conns[pending.popleft()][1].recv()
            if not ok:
                raise result
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

"""An ordered pool of worker processes: tasks in, results out in task order, a bounded window in flight.

Generic: each worker makes its own state once (a renderer, say) from a picklable factory. Kept free of
TensorFlow: spawned workers import this module, and `import tensorflow` costs seconds and half a gigabyte
per process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import Any, NamedTuple

import numpy as np


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


def _worker(tasks: Connection, results: Connection, make_state: Callable[[], Any], nice: int,
            shm_name: str | None, slot_bytes: int) -> None:
    """A worker process: tasks in on one pipe, results (or the exception) out on another, images in its
    shared slots where the parent gave it some. Ctrl-C is the parent's to handle (it stops the workers), and
    a parent gone (killed) ends the worker quietly: neither prints a worker's traceback."""
    if hasattr(signal, "pthread_sigmask"):  # started with SIGINT blocked (see `_sigint_blocked`)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if nice:
        os.nice(nice)
    state = make_state()
    # attached, not made: the parent unlinks it. Spawned workers share the parent's resource tracker, so their
    # attaching registers nothing new and leaves the parent's registration, which cleans up if it is killed
    shm = SharedMemory(name=shm_name) if shm_name else None
    try:
        while True:
            task = tasks.recv()
            if task is None:
                return
            fn, args, slot = task
            try:
                result = fn(state, *args)
                results.send((True, result if shm is None else _stash(result, shm, slot, slot_bytes)))
            except (EOFError, BrokenPipeError, ConnectionResetError):
                raise
            except Exception as e:  # handed to the parent, which raises it
                results.send((False, e))
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return  # the parent is gone


@contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Start workers with Ctrl-C blocked: a terminal sends it to every process of the group, and a worker still
    importing its modules would print a KeyboardInterrupt traceback before `_worker` could ignore it."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


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
    and half a gigabyte each, for nothing, as the workers run only library code. Hide it meanwhile.
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
    """A worker per usable core; none (work in this process) on one core, where a worker beside this process
    would only add the handing over of its results."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores if cores > 1 else 0


#: tasks in flight per worker by default: one rendering, one waiting to be read, one queued
WINDOW = 3


def run_ordered(make_state: Callable[[], Any], fn: Callable, tasks: Iterable[tuple], workers: int | None = None,
                window: int | None = None, nice: int = 0, slot_bytes: int = 0, burst: bool = False) -> Iterator[Any]:
    """Yield fn(state, *task) for each task, in task order, computed on `workers` processes, each of which makes
    its `state` once with `make_state()` (picklable: a module-level function or a partial of one).

    At most `window` tasks are in flight: an endless task iterator must not flood the pipes.
    workers=0 renders in this process. `nice` lowers the workers' scheduling priority (see `stream`).
    `slot_bytes` > 0 gives each task in flight a slot of shared memory that bytes: a dict result's "image" up to
    that size comes back through it, not pickled through a pipe (two copies and a pipe's worth of system calls
    fewer; the parent's share of a stream is what limits it on a few cores).
    `burst` sends a window of tasks only once every earlier result has been taken, and takes them all before
    yielding the first: the workers render while the consumer waits, and wait while it works. For a consumer
    that computes on the same cores (a training step on the CPU), which rendering beside it slows by about
    twice the rendering's own CPU time (docs/benchmarks.md).
    Callers validate what `make_state` takes first, so that a bad input fails with its own message rather than
    inside a worker.
    """
    workers = default_workers() if workers is None else workers
    if workers == 0:
        state = make_state()
        for t in tasks:
            yield fn(state, *t)
        return
    per_worker = max(1, (window or WINDOW * workers) // workers)
    ctx = mp.get_context("spawn")  # fork would copy TensorFlow's threads and locks from the parent
    conns: list[tuple[Connection, Connection]] = []  # (tasks out, results in), one pair per worker
    blocks: list[SharedMemory | None] = []  # a worker's slots: one per task it may have in flight
    procs = []
    try:
        with _main_module_hidden(), _sigint_blocked():
            for _ in range(workers):
                shm = SharedMemory(create=True, size=per_worker * slot_bytes) if slot_bytes > 0 else None
                blocks.append(shm)
                task_in, task_out = ctx.Pipe(duplex=False)
                result_in, result_out = ctx.Pipe(duplex=False)
                _widen(result_in)
                proc = ctx.Process(target=_worker, daemon=True, args=(
                    task_in, result_out, make_state, nice, shm.name if shm else None, slot_bytes))
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
        raise RuntimeError("a worker process died; see its error output above") from None
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

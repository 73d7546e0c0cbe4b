"""Reading ahead on a thread, so that fetching and converting the next batch overlaps the training step.

The step runs in TensorFlow's C++ with the GIL released; meanwhile a thread takes the next batch from the render
workers and makes it tensors. Done between steps on the training thread, that work held the step's threads idle
(docs/benchmarks.md).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")

#: how often a thread blocked on a full queue looks whether the consumer has gone
_POLL_SECONDS = 0.1
_END = object()


def prefetch(source: Iterator[T], fn: Callable[[T], U], depth: int = 4) -> Iterator[U]:
    """fn(item) for each item of `source`, in order, computed up to `depth` items ahead on a thread.

    An exception in the thread is raised here, at the item it replaced. Closing the returned generator (or
    dropping it) stops the thread and closes `source`, on the thread that iterated it (a generator may only be
    closed where it is not running), so render workers behind it end too."""
    q: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def put(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in source:
                if not put((True, fn(item))):
                    return
            put((True, _END))
        except BaseException as e:  # handed to the consumer, which raises it
            put((False, e))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=run, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item  # type: ignore[misc]
            if item is _END:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()

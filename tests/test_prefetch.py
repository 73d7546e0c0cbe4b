"""Reading ahead on a thread: order, bounded read-ahead, errors where they belong, and a clean stop."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from train.prefetch import prefetch


def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "prefetch"]


def test_items_come_in_order_computed_on_the_thread():
    seen_on = set()

    def square(x: int) -> int:
        seen_on.add(threading.current_thread().name)
        return x * x

    assert list(prefetch(iter(range(100)), square, depth=3)) == [x * x for x in range(100)]
    assert seen_on == {"prefetch"}
    assert not _prefetch_threads()


def test_reads_ahead_at_most_depth_items():
    taken = []

    def source():
        for i in itertools.count():
            taken.append(i)
            yield i

    it = prefetch(source(), lambda x: x, depth=3)
    assert next(it) == 0
    time.sleep(0.3)  # time enough to fill any queue
    # one handed out, three queued, one more held by the thread while it waits for room
    assert len(taken) <= 5, taken
    it.close()


def test_an_error_in_the_source_is_raised_after_the_items_before_it():
    def source():
        yield from range(3)
        raise ValueError("bad sample")

    it = prefetch(source(), lambda x: x + 1)
    assert [next(it) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(ValueError, match="bad sample"):
        next(it)
    assert not _prefetch_threads()


def test_closing_stops_the_thread_and_closes_an_endless_source():
    closed = threading.Event()

    def source():
        try:
            yield from itertools.count()
        finally:
            closed.set()  # where run_ordered terminates its render workers

    it = prefetch(source(), lambda x: x, depth=2)
    assert [next(it) for _ in range(5)] == list(range(5))
    time.sleep(0.2)  # the thread is now blocked on a full queue
    it.close()
    assert closed.is_set()
    assert not _prefetch_threads()

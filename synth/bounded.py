"""A call that waits in native code (joining a cluster) with a time limit, and with Ctrl-C still ending it.

Python runs its signal handlers only between bytecodes, so a thread blocked in C++ (Ray's or TensorFlow's
connection retries) ignores Ctrl-C, and a peer that never answers keeps it waiting for ever. Meanwhile the
signals are blocked and taken by a watcher thread instead, which ends the process.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def bounded(fn: Callable[[], T], seconds: float, late: str) -> T:
    """fn(), in this thread. Meanwhile Ctrl-C or SIGTERM ends the process ("interrupted", status 130), and so does
    `seconds` passing (`error: {late}`, status 2): neither can raise in the middle of native code. Outside the
    main thread, or where threads cannot wait for signals, fn() as it is."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "sigtimedwait"):
        return fn()
    done = threading.Event()
    # a signal the process was started ignoring (a shell's background job ignores Ctrl-C) stays ignored
    watched = {s for s in _SIGNALS if signal.getsignal(s) != signal.SIG_IGN}

    def watch() -> None:
        deadline = time.monotonic() + seconds
        while not done.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                print(f"error: {late}", file=sys.stderr, flush=True)
                os._exit(2)
            if signal.sigtimedwait(watched, min(left, 0.2)) is not None and not done.is_set():
                print("interrupted", file=sys.stderr, flush=True)
                os._exit(130)

    old = signal.pthread_sigmask(signal.SIG_BLOCK, watched)  # the watcher and fn's new threads inherit it
    watcher = threading.Thread(target=watch, name="bounded", daemon=True)
    watcher.start()
    try:
        return fn()
    finally:
        done.set()
        watcher.join()
        signal.pthread_sigmask(signal.SIG_SETMASK, old)  # a signal that came meanwhile is delivered now

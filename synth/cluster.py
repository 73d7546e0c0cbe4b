"""Rendering on a Ray cluster: the ordered runner of `synth.pool`, with Ray tasks on every node for processes.

Ray is an optional extra (`pip install 'synthocr[ray]'`), imported only here. Addresses follow Ray's own:
"local" starts an instance on this machine, "auto" joins the cluster this machine belongs to (`ray start`),
HOST:PORT a head node, ray://HOST:PORT a cluster through Ray Client. A task renders a range of (seed, index)
keys, so its result is the same bytes on whichever node runs it, and a task lost with its node is simply run
again (Ray retries it).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from synth.bounded import bounded
from synth.errors import SynthError

EXTRA = "pip install 'synthocr[ray]'"
#: how long an address may take to answer before it is called unreachable (Ray itself waits minutes)
CONNECT_SECONDS = 5.0
#: how long joining may take once the address answers (Ray retries a port that is not a Ray head's for ever)
JOIN_SECONDS = 60
#: tasks in flight per CPU of the cluster: one running, one waiting to be read
WINDOW = 2
#: times Ray runs a task again after its worker or node died
RETRIES = 3
#: a run's marker in a folder the workers write to, which each must see (a path shared by every node); named
#: as a partial file, so that a killed run's is cleared like the rest (`synth.formats.clear_partial`)
MARKER = ".tmp-ray-run-"


def ray_module() -> Any:
    try:
        import ray
    except ImportError:
        raise SynthError(f"--ray needs Ray, an optional extra: {EXTRA}") from None
    return ray


def check(address: str) -> None:
    """Ray installed, and `address` one that answers: what a run checks before it writes anything."""
    ray_module()
    _check_reachable(address)


def _check_reachable(address: str) -> None:
    """Fail in seconds on an address nothing answers at: Ray's own connection retries for minutes."""
    if address in ("local", "auto"):
        return
    try:
        parts = urlsplit(address if address.startswith("ray://") else f"//{address}")
        host, port = parts.hostname, parts.port or (10001 if parts.scheme == "ray" else None)  # [::1]:6379 too
    except ValueError:
        host = port = None
    if not host or port is None or parts.scheme not in ("", "ray"):
        raise SynthError(f"--ray {address!r} is not a Ray address; give HOST:PORT (the head's GCS port, 6379 by "
                         "default), ray://HOST:10001 (Ray Client), 'auto' (the cluster of `ray start`), or 'local'")
    try:
        socket.create_connection((host, port), timeout=CONNECT_SECONDS).close()
    except OSError as e:
        raise SynthError(f"no Ray cluster answers at {address} ({e.strerror or e}); start one with `ray start --head` "
                         "and pass the address it prints, or give --ray local for an instance on this machine"
                         ) from None


@contextmanager
def session(address: str, num_cpus: int | None = None) -> Iterator[Any]:
    """Ray connected to `address` inside the block: joined if this process is not yet connected, and left again
    after; an instance this process is already connected to (a user's own `ray.init`) is used as it is.
    `num_cpus` sizes a "local" instance (default: every core)."""
    ray = ray_module()
    joined = ray.is_initialized()
    connect(address, num_cpus)
    try:
        yield ray
    finally:
        if not joined:
            ray.shutdown()


def connect(address: str, num_cpus: int | None = None) -> Any:
    """Ray, connected to `address` (see the module); stays connected until the process ends (a stream's)."""
    ray = ray_module()
    _check_reachable(address)
    if ray.is_initialized():
        return ray
    if num_cpus is not None and num_cpus < 1:
        raise SynthError(f"--workers {num_cpus}: a local Ray instance needs at least 1 CPU")
    try:
        bounded(lambda: ray.init(address=address, num_cpus=num_cpus if address == "local" else None,
                                 include_dashboard=False, logging_level="ERROR", log_to_driver=False),
                JOIN_SECONDS, f"no Ray cluster joined at {address} in {JOIN_SECONDS} s: is it a Ray head's address "
                "(its GCS port, 6379 by default; ray://HOST:10001 for Ray Client), and does the cluster require a "
                "token (RAY_AUTH_MODE=token) that this environment lacks?")
    except ConnectionError as e:  # "auto" with no cluster on this machine, a refused client
        raise SynthError(f"cannot join a Ray cluster at {address!r}: {e}; start one with `ray start --head`, or give "
                         "--ray local for an instance on this machine (a cluster that requires a token, "
                         "RAY_AUTH_MODE=token, needs it set here too)") from None
    return ray


#: runs whose state a worker process keeps (a worker serves many tasks, of several streams at once, and outlives
#: the runs of a long-lived driver)
KEEP_STATES = 4
_states: OrderedDict[str, Any] = OrderedDict()


def _run(token: str, make_state: Callable[[], Any], fn: Callable, args: tuple) -> Any:
    """A task: fn(state, *args), the state made once per worker process and run."""
    if token not in _states:
        _states[token] = make_state()
        while len(_states) > KEEP_STATES:
            _states.popitem(last=False)
    _states.move_to_end(token)
    return fn(_states[token], *args)


def run_ordered(make_state: Callable[[], Any], fn: Callable, tasks: Iterable[tuple], window: int | None = None,
                retries: int = RETRIES) -> Iterator[Any]:
    """Yield fn(state, *task) for each task in task order, computed as Ray tasks (`synth.pool.run_ordered`'s
    contract; the caller has connected). At most `window` tasks are in flight (default: `WINDOW` per CPU of the
    cluster), so an endless task iterator is read only as fast as its results are taken."""
    ray = ray_module()
    remote = ray.remote(max_retries=retries, retry_exceptions=False)(_run).options(num_cpus=1)
    window = window or WINDOW * max(1, int(ray.cluster_resources().get("CPU", 1)))
    token = uuid.uuid4().hex
    factory = ray.put(make_state)  # sent once; a task's top-level reference arrives as the object
    it = iter(tasks)
    pending: deque = deque(remote.remote(token, factory, fn, t) for t in islice(it, window))
    try:
        while pending:
            result = _get(ray, pending.popleft(), retries)
            pending.extend(remote.remote(token, factory, fn, t) for t in islice(it, 1))
            yield result
    finally:
        if ray.is_initialized():  # not after an exit's shutdown, which took the tasks with it
            for ref in pending:
                ray.cancel(ref, force=True)


def _get(ray: Any, ref: Any, retries: int) -> Any:
    """A task's result; its own error as it was raised (a SynthError stays one), a lost worker as a SynthError."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        raise e.cause if isinstance(e.cause, Exception) else e from None
    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.ObjectLostError) as e:
        raise SynthError(f"a Ray worker died while rendering, {retries + 1} times over ({type(e).__name__}); see "
                         "the worker's log (`ray logs`), then run the same command again: it makes only what is "
                         "missing") from None
    except ray.exceptions.RayError as e:  # out of memory, no node with a CPU, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise SynthError(f"Ray could not run a render task ({type(e).__name__}: {first[:200]}); fix the cluster, "
                         "then run the same command again: it makes only what is missing") from None


def mark(out: Path) -> str:
    """Leave a run's marker in `out`, which every task writing there checks it sees (`check_shared`)."""
    name = f"{MARKER}{uuid.uuid4().hex}"
    (out / name).touch()
    return name


def unmark(out: Path, name: str) -> None:
    (out / name).unlink(missing_ok=True)


def check_shared(out: str, marker: str) -> None:
    """In a task: the driver's `out` is this node's too, or the shards it writes would land where no one
    looks (a path on the driver's own disk, not on a shared one)."""
    if not (Path(out) / marker).exists():
        raise SynthError(f"--out {out} is not shared with node {socket.gethostname()} (pid {os.getpid()}): it cannot "
                         "see the run's files there; give a path every node mounts (NFS, a shared disk), or "
                         "--format lmdb or tfrecord, which this machine writes from the nodes' results")

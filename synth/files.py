"""Files that are safe to share: atomic writes (whole or not at all) and one writer per output folder."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from synth.errors import SynthError


def cache_dir() -> Path:
    """This user's cache of the project ($SYNTHOCR_CACHE, else the XDG cache): fonts' coverage, locks."""
    root = os.environ.get("SYNTHOCR_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "synthocr"
    )
    return Path(root)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` whole or not at all: a kill mid-write leaves the old file (or none)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextmanager
def writing(folder: Path, what: str) -> Iterator[None]:
    """Hold the folder for one writer (`what`: the command, for the message): a second run on the same folder
    gets a clear error instead of two runs' shards and checkpoints mixed. The lock goes with the process,
    killed or not (flock), so a rerun after a kill is never refused; its file lives in the cache, keyed by the
    folder's path, so the folder holds only what the run makes."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    locks = cache_dir() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:20]
    with open(locks / f"{key}.lock", "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "?"
            raise SynthError(f"another {what} (process {holder}) is writing to {folder}; wait for it to finish, "
                             "or use another --out folder") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        yield

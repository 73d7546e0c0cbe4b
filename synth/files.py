"""The user's files read with one clear error each, files written whole or not at all, one writer a folder."""

from __future__ import annotations

import codecs
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from synth.errors import SynthError


def cache_dir() -> Path:
    """This user's cache of the project ($SYNTHOCR_CACHE, else the XDG cache): fonts' coverage, locks."""
    root = os.environ.get("SYNTHOCR_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "synthocr"
    )
    return Path(root)


def read_text(path: str | Path, what: str) -> str:
    """A text file the user gave (`what` names it in messages: "corpus", "labels.tsv"), decoded as UTF-8 with
    any byte-order mark dropped (Windows editors add one, and it would become part of the first label or word);
    one SynthError naming the file and the fix when it is missing, a folder, unreadable or not UTF-8."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise SynthError(f"{what} {p} not found; check the path") from None
    except IsADirectoryError:
        raise SynthError(f"{what} {p} is a folder; give the file itself") from None
    except OSError as e:
        raise SynthError(f"cannot read {what} {p}: {e.strerror}") from None
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise SynthError(f"{what} {p} is not UTF-8 (line {line}, byte {data[e.start]:#04x}); convert it, e.g. "
                         f"iconv -f latin1 -t utf-8 {p} > fixed") from None


def read_json(path: str | Path, what: str, fix: str = "fix or replace the file") -> Any:
    """A JSON file's data, read as `read_text` reads; a SynthError naming the file and `fix` when it does not
    parse (a file cut short by a full disk, an edit gone wrong)."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except ValueError as e:
        raise SynthError(f"{what} {path} is not valid JSON ({e}); {fix}") from None


def write_atomic(path: Path, data: str | bytes | Iterable[str]) -> None:
    """Write `data` (or its pieces, in order: a file too big to hold in memory) to `path` whole or not at all:
    a kill or a full disk mid-write leaves the old file (or none)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            for piece in [data] if isinstance(data, str | bytes) else data:
                f.write(piece.encode("utf-8") if isinstance(piece, str) else piece)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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

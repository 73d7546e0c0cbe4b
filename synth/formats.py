"""A dataset's storage formats: each one's shard writer, how it knows its finished shards, and its reader.

png       images/SSSSS/IIIIIIII.png (or .jpg as given) with the shard's labels.tsv and specs.jsonl; the
          top labels.tsv lists them all (the DTRB / PaddleOCR text convention)
tfrecord  data-SSSSS-of-NNNNN.tfrecord: one tf.train.Example per sample (image bytes, text, font, index, spec)
lmdb      data.mdb in the DTRB layout every scene-text project reads: `num-samples`, and 1-based
          `image-%09d` (encoded bytes) and `label-%09d` (UTF-8) keys; our `spec-%09d` beside them

A png or tfrecord shard is written under a temporary name and renamed when whole. An lmdb shard is one
transaction, so it is in the database whole or not at all, with a `synthocr-shard-NAME` key that records it
(readers of the DTRB layout ignore keys they do not know). `num-samples` is written last.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from synth.errors import SynthError
from synth.quiet import tensorflow

FORMATS = ("png", "tfrecord", "lmdb")
#: an lmdb dataset's record of a finished shard: a key per shard, written with its samples
SHARD_KEY = b"synthocr-shard-"


class Row(NamedTuple):
    """One sample on its way to disk: its index in the dataset, encoded image, text, font and spec (JSON)."""

    index: int
    image: bytes
    text: str
    font: str
    spec: str


class Record(NamedTuple):
    """One sample read back: the encoded image (or the file that holds it), its text, and its font and spec
    (JSON) where the dataset has them ('' where not)."""

    image: bytes | Path
    text: str
    font: str
    spec: str


def image_suffix(data: bytes) -> str | None:
    """The file suffix for encoded image bytes, by their signature (real sets hold JPEGs as well as PNGs);
    None for bytes that are no image OpenCV reads."""
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return ".tif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    if data.startswith(b"BM"):
        return ".bmp"
    return None


def shard_name(fmt: str, k: int, n_shards: int) -> str:
    if fmt == "png":
        return f"images/{k:05d}"
    return f"data-{k:05d}-of-{n_shards:05d}.tfrecord" if fmt == "tfrecord" else f"{k:05d}"


def missing_shards(out: Path, fmt: str, n_shards: int) -> list[int]:
    """The shards not yet whole on disk, from one listing of their folder or the lmdb's record (a stat per
    shard took 40 s before the first sample of a million shards)."""
    if fmt == "lmdb":
        have = set()
        if is_lmdb(out):
            with _reading(out) as txn:
                cursor = txn.cursor()  # keys are sorted: the shard keys sit together, after every sample's
                if cursor.set_range(SHARD_KEY):
                    for k in cursor.iternext(keys=True, values=False):
                        if not k.startswith(SHARD_KEY):
                            break
                        have.add(k[len(SHARD_KEY):].decode())
    else:
        folder = out / "images" if fmt == "png" else out
        have = set(os.listdir(folder)) if folder.is_dir() else set()
    return [k for k in range(n_shards) if shard_name(fmt, k, n_shards).rpartition("/")[2] not in have]


def clear_partial(out: Path) -> None:
    """Remove what a killed run left half-written: shards (.tmp-NAME-PID) and files of write_atomic
    (.NAME.tmp-PID). An lmdb needs nothing: its unfinished transaction was never committed."""
    for stale in [*out.glob(".*tmp-*"), *((out / "images").glob(".tmp-*") if (out / "images").is_dir() else [])]:
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink()


def write_png_shard(out: Path, name: str, rows: list[Row]) -> None:
    final = out / name
    tmp = final.with_name(f".tmp-{final.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    labels, specs = [], []
    for r in rows:
        file = f"{r.index:08d}{image_suffix(r.image) or '.png'}"
        (tmp / file).write_bytes(r.image)
        labels.append(f"{name}/{file}\t{r.text}\n")
        specs.append(r.spec + "\n")
    (tmp / "labels.tsv").write_text("".join(labels), encoding="utf-8")
    (tmp / "specs.jsonl").write_text("".join(specs), encoding="utf-8")
    os.rename(tmp, final)


def write_tfrecord_shard(out: Path, name: str, rows: list[Row]) -> None:
    tf = tensorflow()

    def feature(v: bytes | int) -> Any:
        if isinstance(v, bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))

    final = out / name
    tmp = final.with_name(f".tmp-{final.name}-{os.getpid()}")
    with tf.io.TFRecordWriter(str(tmp)) as w:
        for r in rows:
            ex = tf.train.Example(features=tf.train.Features(feature={
                "image": feature(r.image), "text": feature(r.text.encode()), "font": feature(r.font.encode()),
                "index": feature(r.index), "spec": feature(r.spec.encode()),
            }))
            w.write(ex.SerializeToString(deterministic=True))  # a map's order fixed: the same bytes every run
    os.replace(tmp, final)


def _lmdb_error(path: Path, e: Exception) -> SynthError:
    return SynthError(f"{path} is not a readable LMDB ({e}); restore it, or write it again")


class LmdbWriter:
    """The one open database of an lmdb dataset being written; its map grows as it fills."""

    def __init__(self, out: Path):
        import lmdb

        self.out = out
        try:
            self.env = lmdb.open(str(out), map_size=1 << 30, subdir=True, meminit=False)
        except lmdb.Error as e:
            raise _lmdb_error(out, e) from None

    def write(self, name: str, rows: list[Row]) -> None:
        import lmdb

        while True:
            try:
                with self.env.begin(write=True) as txn:
                    for r in rows:
                        key = r.index + 1  # DTRB counts from 1
                        txn.put(b"image-%09d" % key, r.image)
                        txn.put(b"label-%09d" % key, r.text.encode("utf-8"))
                        txn.put(b"spec-%09d" % key, r.spec.encode("utf-8"))
                    txn.put(SHARD_KEY + name.encode(), b"")  # in the same transaction: done iff its samples are in
                break
            except lmdb.MapFullError:  # the transaction was aborted: grow the map and write it again
                self.env.set_mapsize(self.env.info()["map_size"] * 2)

    def finish(self, count: int) -> None:
        with self.env.begin(write=True) as txn:
            txn.put(b"num-samples", str(count).encode())

    def close(self) -> None:
        self.env.close()


class FileShards:
    """The writer of a format with a file or folder per shard (png, tfrecord): LmdbWriter's interface."""

    def __init__(self, out: Path, fmt: str):
        self.out, self.write_shard = out, write_tfrecord_shard if fmt == "tfrecord" else write_png_shard

    def write(self, name: str, rows: list[Row]) -> None:
        self.write_shard(self.out, name, rows)

    def finish(self, count: int) -> None:
        """Nothing: the manifest (and a png dataset's labels.tsv, `synth.dataset`) completes it."""

    def close(self) -> None:
        pass


@contextmanager
def shard_writer(out: Path, fmt: str) -> Iterator[LmdbWriter | FileShards]:
    """The writer of `fmt`'s shards, in this process: `.write(name, rows)` each, then `.finish(count)`."""
    w = LmdbWriter(out) if fmt == "lmdb" else FileShards(out, fmt)
    try:
        yield w
    finally:
        w.close()


def is_lmdb(path: Path) -> bool:
    return (path / "data.mdb").is_file()


@contextmanager
def _reading(path: Path) -> Iterator[Any]:
    """A read transaction on the LMDB at `path`, its errors as one SynthError, the database closed after."""
    import lmdb

    try:
        env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False, subdir=True)
    except lmdb.Error as e:
        raise _lmdb_error(path, e) from None
    try:
        with env.begin() as txn:
            yield txn
    except lmdb.Error as e:
        raise _lmdb_error(path, e) from None
    finally:
        env.close()


def lmdb_records(path: Path) -> Iterator[Record]:
    """The samples of an LMDB in the DTRB layout, ours or anyone's, in order."""
    with _reading(path) as txn:
        n = lmdb_count(path, txn)
        for i in range(1, n + 1):
            image, label = txn.get(b"image-%09d" % i), txn.get(b"label-%09d" % i)
            if image is None or label is None:
                raise SynthError(f"{path}: sample {i} of its {n} (num-samples) is missing; restore the LMDB, or "
                                 "write it again")
            spec = (txn.get(b"spec-%09d" % i) or b"").decode("utf-8", errors="replace")
            yield Record(bytes(image), _label(path, i, label), json.loads(spec)["font"] if spec else "", spec)


def lmdb_labels(path: Path) -> list[str]:
    """An LMDB's labels alone, in order: checked before its images are read."""
    with _reading(path) as txn:
        n = lmdb_count(path, txn)
        labels = [txn.get(b"label-%09d" % i) for i in range(1, n + 1)]
    if None in labels:
        raise SynthError(f"{path}: label {labels.index(None) + 1} of its {n} (num-samples) is missing; restore the "
                         "LMDB, or write it again")
    return [_label(path, i, b) for i, b in enumerate(labels, 1)]


def _label(path: Path, i: int, raw: bytes) -> str:
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise SynthError(f"{path}: label-{i:09d} is not UTF-8; write the LMDB's labels as UTF-8") from None


def lmdb_count(path: Path, txn: Any) -> int:
    raw = txn.get(b"num-samples")
    try:
        n = int(raw)
        if n < 1:
            raise ValueError
        return n
    except (TypeError, ValueError):
        raise SynthError(f"{path}: the LMDB has no num-samples of at least 1 (an unfinished write, an empty set, or "
                         "not the DTRB layout); run the command that made it again") from None


def tfrecord_records(path: Path, shards: list[str]) -> Iterator[Record]:
    tf = tensorflow()
    feats = {k: tf.io.FixedLenFeature([], tf.string) for k in ("image", "text", "font", "spec")}
    for shard in shards:
        try:
            for rec in tf.data.TFRecordDataset(str(path / shard)).as_numpy_iterator():
                ex = tf.io.parse_single_example(rec, feats)
                yield Record(*(ex[k].numpy() if k == "image" else ex[k].numpy().decode("utf-8")
                               for k in ("image", "text", "font", "spec")))
        except (tf.errors.DataLossError, tf.errors.NotFoundError, tf.errors.InvalidArgumentError):
            raise SynthError(f"{path / shard} is damaged; delete it and run the command that made the dataset "
                             "again (it writes only the missing shards)") from None

"""Datasets on disk: written resumably (rendered, or converted), read back (also any labels.tsv folder, LMDB).

Layout of a written dataset DIR: its format's shards (`synth.formats`), and
  manifest.json       written last: its presence means the dataset is complete; it says how to make it again
  labels.tsv          png format: `images/SSSSS/IIIIIIII.png<TAB>text` (the DTRB / PaddleOCR convention)
  .render-args.json   the arguments it was begun with, so that only the same command resumes it
A shard appears whole or not at all, so a killed run leaves only whole shards, and the same command run again
writes only the missing ones.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from itertools import islice
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from synth.alphabet import Alphabet
from synth.batch import renderers
from synth.config import SynthConfig
from synth.errors import SynthError
from synth.files import read_json, read_text, write_atomic, writing
from synth.formats import (
    FORMATS,
    Record,
    Row,
    clear_partial,
    image_suffix,
    is_lmdb,
    lmdb_labels,
    lmdb_records,
    missing_shards,
    shard_name,
    shard_writer,
    tfrecord_records,
    write_png_shard,
)
from synth.image import collate, load_image, to_model_input
from synth.pool import run_ordered
from synth.renderer import Renderer
from synth.rng import check_seed
from synth.version import __version__

ARGS_FILE = ".render-args.json"


def _encode_shard(renderer: Renderer, seed: int, start: int, n: int) -> list[Row]:
    """Render and PNG-encode one shard in a worker: only compressed bytes cross the process boundary."""
    out = []
    for i in range(start, start + n):
        img, spec = renderer.render(seed, i, boxes=True)
        ok, buf = cv2.imencode(".png", img)
        out.append(Row(i, buf.tobytes(), spec.text, spec.font, json.dumps(spec.to_dict(), ensure_ascii=False)))
    return out


def _render_png_shard(renderer: Renderer, seed: int, start: int, n: int, out: str, name: str,
                      marker: str | None = None) -> int:
    """Render one PNG shard and write it, in a worker: file creation is much of a PNG dataset's cost, so every
    worker writes its own shards. A Ray run's `marker` must be in `out` (`synth.cluster.check_shared`).
    Returns the samples written."""
    if marker is not None:
        from synth.cluster import check_shared

        check_shared(out, marker)
    write_png_shard(Path(out), name, _encode_shard(renderer, seed, start, n))
    return n


def _check_out(out: Path, fmt: str, shard_size: int) -> None:
    if fmt not in FORMATS:
        raise SynthError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if shard_size < 1:
        raise SynthError(f"--shard-size {shard_size}: give at least 1 sample per shard (1000 is the default)")
    if out.exists() and not out.is_dir():
        raise SynthError(f"--out {out} is a file; give a folder (new, or the one a killed run left to resume)")


def write(config: SynthConfig, out: str | Path, count: int, seed: int = 0, fmt: str = "png",
          shard_size: int = 1000, workers: int | None = None, progress: bool = True, ray: str | None = None) -> Path:
    """Render samples seed:0..count-1 into `out`; resumes a killed run of the same arguments (with or without Ray).

    `ray`: render the shards as tasks on the Ray cluster at that address (`synth.cluster`; "local" starts an
    instance of `workers` CPUs here), the same bytes as here. PNG shards are written by the nodes, so `out` must
    be a path they all share; tfrecord and lmdb shards are written here from their results."""
    out = Path(out)
    _check_out(out, fmt, shard_size)
    if count < 1:
        raise SynthError(f"--count must be at least 1, got {count}")
    if workers is not None and workers < 0:
        raise SynthError(f"--workers {workers}: give 0 (render in this process) or more")
    check_seed(seed)
    renderer = Renderer(config)  # the whole config checked before anything is written
    args = {"config": config.to_dict(), "seed": seed, "count": count, "format": fmt, "shard_size": shard_size,
            "version": __version__, "fonts": renderer.fonts.manifest()}
    manifest = {
        "version": __version__, "format": fmt, "count": count, "seed": seed, "shard_size": shard_size,
        "alphabet": renderer.alphabet.to_json(), "fonts": renderer.fonts.manifest(), "config": config.to_dict(),
    }
    n_shards = -(-count // shard_size)

    if ray is None:
        run: Callable[..., Iterator[Any]] = functools.partial(run_ordered, workers=workers)
    else:
        from synth import cluster

        run = cluster.run_ordered

    def make(todo: list[int]) -> Iterator[int]:
        tasks = [(seed, k * shard_size, min(shard_size, count - k * shard_size)) for k in todo]
        if fmt == "png":  # the workers write their shards
            marker = None if ray is None else cluster.mark(out)
            tasks = [(*t, str(out.absolute()), shard_name(fmt, k, n_shards), marker)
                     for k, t in zip(todo, tasks, strict=True)]
            try:
                yield from run(renderers(config), _render_png_shard, tasks)
            finally:
                if marker is not None:
                    cluster.unmark(out, marker)
            return
        with shard_writer(out, fmt) as w:
            for k, rows in zip(todo, run(renderers(config), _encode_shard, tasks), strict=True):
                w.write(shard_name(fmt, k, n_shards), rows)
                yield len(rows)

    with writing(out, "synth render"), nullcontext() if ray is None else cluster.session(ray, workers):
        return _fill(out, fmt, count, shard_size, args, manifest, make, _refuse_resume, progress)


def convert(src: str | Path, dst: str | Path, fmt: str, shard_size: int = 1000, progress: bool = True) -> Path:
    """Copy any dataset (ours in any format, a labels.tsv folder of real images, a DTRB LMDB) into `dst` in
    format `fmt`, images as they are encoded (a JPEG stays a JPEG); resumes a killed run like `write`."""
    src, dst = Path(src), Path(dst)
    _check_out(dst, fmt, shard_size)
    if not src.is_dir():
        raise SynthError(f"{src} is a file; give the dataset folder that holds it" if src.is_file()
                         else f"dataset folder not found: {src}")
    if dst.resolve() == src.resolve():
        raise SynthError("convert into a new folder: the source would be overwritten while it is read")
    count = 0
    for r in records(src):  # every sample checked before anything is written: conversion copies bytes
        _check_record(src, fmt, count, r)
        count += 1
    args = {"convert": str(src.resolve()), "count": count, "format": fmt, "shard_size": shard_size,
            "version": __version__}
    manifest = {"version": __version__, "format": fmt, "count": count, "shard_size": shard_size,
                "source": str(src.resolve())}
    theirs = read_manifest(src)
    for key in ("seed", "alphabet", "fonts", "config"):  # ours: what it was rendered from stays with it
        if theirs is not None and key in theirs:
            manifest[key] = theirs[key]
    n_shards = -(-count // shard_size)

    def make(todo: list[int]) -> Iterator[int]:
        wanted = set(todo)
        it = records(src)
        with shard_writer(dst, fmt) as w:
            for k in range(max(todo) + 1):
                chunk = list(islice(it, min(shard_size, count - k * shard_size)))
                if k in wanted:
                    w.write(shard_name(fmt, k, n_shards), [_row(k * shard_size + j, r) for j, r in enumerate(chunk)])
                    yield len(chunk)

    def refuse(out: Path, prev: Path, args: dict[str, Any]) -> bool:
        raise SynthError(f"{out} already holds other files or another conversion; choose an empty folder, or run the "
                         "same command as before to resume it")

    with writing(dst, "synth convert"):
        return _fill(dst, fmt, count, shard_size, args, manifest, make, refuse, progress)


def _check_record(src: Path, fmt: str, index: int, r: Record) -> None:
    """What a conversion could only copy wrong: a damaged image, a label the target cannot hold."""
    if isinstance(r.image, bytes):
        head = r.image[:12]
    else:
        with open(r.image, "rb") as f:
            head = f.read(12)
    if image_suffix(head) is None:
        raise SynthError(f"{src}: sample {index + 1}'s image is no PNG, JPEG, TIFF, WebP or BMP; fix or remove it")
    if fmt == "png" and ("\t" in r.text or r.text.splitlines() != [r.text]):
        raise SynthError(f"{src}: sample {index + 1}'s label {r.text!r} holds a tab or a line break, which "
                         "labels.tsv cannot hold; fix the label, or convert to lmdb or tfrecord")


def _row(index: int, r: Record) -> Row:
    image = r.image if isinstance(r.image, bytes) else r.image.read_bytes()
    return Row(index, image, r.text, r.font, r.spec or json.dumps({"index": index, "font": r.font}))


def _fill(out: Path, fmt: str, count: int, shard_size: int, args: dict[str, Any], manifest: dict[str, Any],
          make: Callable[[list[int]], Iterable[int]], refuse: Callable[[Path, Path, dict[str, Any]], bool],
          progress: bool) -> Path:
    """Write the shards of `out` that are missing with `make(todo)` (which yields the samples written as it
    goes), then what completes the dataset; `refuse(out, args_file, args)` judges a folder begun with other
    arguments (True: complete, nothing to do)."""
    args_text = json.dumps(args, sort_keys=True, ensure_ascii=False)
    manifest_path = out / "manifest.json"
    if out.exists() and any(out.iterdir()):
        prev = out / ARGS_FILE
        if (not prev.exists() or prev.read_text(encoding="utf-8") != args_text) and refuse(out, prev, args):
            return out
    n_shards = -(-count // shard_size)
    todo = missing_shards(out, fmt, n_shards)
    if not todo and manifest_path.exists():
        return out  # complete
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / ARGS_FILE, args_text)
    clear_partial(out)
    left = sum(min(shard_size, count - k * shard_size) for k in todo)
    bar = _progress(count, count - left, progress)
    try:
        for n in make(todo) if todo else ():
            bar.update(n)
    except BaseException:
        if len(missing_shards(out, fmt, n_shards)) == n_shards:  # failed before its first shard: leave nothing,
            _remove_begun(out, created)  # so that the corrected command is not refused as another one
        raise
    finally:
        bar.close()
    clear_partial(out)  # what a worker that died mid-shard left (its shard was made again)
    names = [shard_name(fmt, k, n_shards) for k in range(n_shards)]
    if fmt == "png":  # shard by shard: a billion labels do not fit in memory
        write_atomic(out / "labels.tsv", (read_text(out / name / "labels.tsv", "shard labels") for name in names))
    if fmt == "lmdb":
        with shard_writer(out, fmt) as w:
            w.finish(count)
    write_atomic(manifest_path, json.dumps({**manifest, "shards": names}, indent=1, ensure_ascii=False))
    return out


def _remove_begun(out: Path, created: bool) -> None:
    """Undo the start of a run that wrote no shard: its folder if it made it, else the files it made."""
    if created:
        shutil.rmtree(out, ignore_errors=True)
        return
    clear_partial(out)
    for name in (ARGS_FILE, "data.mdb", "lock.mdb"):
        (out / name).unlink(missing_ok=True)


def _refuse_resume(out: Path, prev: Path, args: dict[str, Any]) -> bool:
    """For an --out whose recorded arguments are not these: True when it is complete, by another version
    (nothing to render), False when the difference is safe to go on with (a record from before fonts were
    recorded), else the clear error: other files, other arguments, other fonts, or an unfinished dataset that
    another version began (its samples' pixels differ, so the shards would not match)."""
    try:
        theirs = json.loads(prev.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        theirs = None
    if isinstance(theirs, dict):
        version = theirs.pop("version", "0.3.0 or earlier")
        fonts = theirs.pop("fonts", None)
        mine = {k: v for k, v in args.items() if k not in ("version", "fonts")}
        theirs["config"] = SynthConfig.from_dict(theirs.get("config", {})).to_dict() if "config" in theirs else None
        if theirs == mine and version != args["version"]:
            if (out / "manifest.json").exists():
                return True
            raise SynthError(f"{out} holds a dataset begun by synthocr {version}, whose samples differ from this "
                             f"version's ({args['version']}): finish it with synthocr {version}, or render into a "
                             "new --out folder")
        if theirs == mine and fonts not in (None, args["fonts"]):
            raise SynthError(f"{out} was begun with other fonts ({_font_changes(fonts, args['fonts'])}): its samples "
                             "would mix two font sets; put the fonts back as they were to resume, or render into a "
                             "new --out folder")
        if theirs == mine:
            return False
    raise SynthError(f"{out} already holds other files or a dataset made with other arguments; choose an empty "
                     "--out folder, or run the same command as before to resume it")


def _font_changes(before: list[dict], now: list[dict]) -> str:
    """What changed between two font lists (`FontLibrary.manifest`), for a message."""
    a, b = ({f["name"]: f["sha256"] for f in fonts} for fonts in (before, now))
    parts = [f"{what}: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}" for what, names in (
        ("added", sorted(b.keys() - a.keys())), ("gone", sorted(a.keys() - b.keys())),
        ("changed", sorted(k for k in a.keys() & b.keys() if a[k] != b[k]))) if names]
    return "; ".join(parts)


def _progress(total: int, initial: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="img", disable=not enabled, desc="render", smoothing=0.1)


def read_manifest(path: str | Path) -> dict[str, Any] | None:
    p = Path(path) / "manifest.json"
    if not p.exists():
        return None
    manifest = read_json(p, "manifest", "run the command that made the dataset again: it rewrites the manifest")
    if not isinstance(manifest, dict) or not {"format", "shards", "count"} <= manifest.keys() \
            or manifest["format"] not in FORMATS:
        raise SynthError(f"{p} is not a synth render manifest; run the command that made the dataset again, or "
                         "delete the file to read the folder by its labels.tsv or LMDB")
    return manifest


def _check_shards(path: Path, manifest: dict[str, Any]) -> None:
    """Every shard the manifest names is there: one deleted by hand would otherwise be found mid-read."""
    m = manifest
    missing = missing_shards(path, m["format"], len(m["shards"]))
    if missing:
        size = f"--format {m['format']} --shard-size {m.get('shard_size', 1000)}"
        command = (f"synth convert {m['source']} {path} {size}" if "source" in m else f"synth render --config "
                   f"{path / 'manifest.json'} --out {path} --count {m['count']} --seed {m.get('seed', 0)} {size}")
        raise SynthError(f"{path}: {len(missing)} of its {len(m['shards'])} shards are missing "
                         f"({m['shards'][missing[0]]} ...); write them again with `{command}` (it writes only the "
                         "missing ones)")


def read_labels(path: str | Path) -> list[tuple[str, str]]:
    """(relative image path, text) pairs of a labels.tsv; a clear error for a missing or malformed file."""
    p = Path(path) / "labels.tsv"
    if not p.exists():
        raise SynthError(f"{path} has no labels.tsv (nor an LMDB); a dataset folder needs `image_path<TAB>text` "
                         "lines")
    rows = []
    for n, line in enumerate(read_text(p, "labels file").splitlines(), 1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise SynthError(f"{p}:{n}: expected `image_path<TAB>text`, got {line[:80]!r}")
        rel, text = line.split("\t", 1)
        if not (Path(path) / rel).resolve().is_relative_to(Path(path).resolve()):
            raise SynthError(f"{p}:{n}: image {rel!r} lies outside {path}; labels.tsv paths stay inside the dataset "
                             "folder: copy or link the image into it")
        rows.append((rel, text))
    if not rows:
        raise SynthError(f"{p} lists no images")
    return rows


def _format(path: Path, manifest: dict[str, Any] | None) -> str:
    return manifest["format"] if manifest is not None else "lmdb" if is_lmdb(path) else "png"


def records(path: str | Path) -> Iterator[Record]:
    """Every sample of a dataset folder in order, as stored: ours in any format, any labels.tsv folder of
    images, any LMDB in the DTRB layout."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest is not None:
        _check_shards(path, manifest)
    fmt = _format(path, manifest)
    if fmt == "tfrecord":
        yield from tfrecord_records(path, manifest["shards"])
        return
    if fmt == "lmdb":
        yield from lmdb_records(path)
        return
    specs: dict[str, str] = {}
    for shard in manifest["shards"] if manifest is not None else []:
        rels = [line.split("\t", 1)[0] for line in read_text(path / shard / "labels.tsv", "labels file").splitlines()]
        specs.update(zip(rels, read_text(path / shard / "specs.jsonl", "specs file").splitlines(), strict=True))
    for rel, text in read_labels(path):
        spec = specs.get(rel, "")
        yield Record(path / rel, text, json.loads(spec)["font"] if spec else "", spec)


def iter_samples(path: str | Path) -> Iterator[tuple[np.ndarray, str, str]]:
    """(grey uint8 image, text, font or '') for every sample of a dataset folder, in order."""
    for r in records(path):
        yield load_image(r.image), r.text, r.font


def _check_files(path: Path, rows: list[tuple[str, str]]) -> None:
    """Fail before iterating, with a SynthError: inside tf.data it would surface as a TensorFlow error."""
    for n, (rel, _) in enumerate(rows, 1):
        where = f"{path / 'labels.tsv'}:{n}"
        if not (path / rel).is_file():
            raise SynthError(f"{where}: image {rel} not found; fix or remove the line")
        if not cv2.haveImageReader(str(path / rel)):  # its first bytes: cheap, and before anything is written
            raise SynthError(f"{where}: {rel} is not an image OpenCV can read (damaged, or another kind of file); "
                             "fix or remove the line")


def _check_texts(where: str, texts: Iterable[str], alphabet: Alphabet, max_len: int) -> None:
    """Each text fits the alphabet and max_len; `where` + the sample's number (from 1) names it."""
    for n, text in enumerate(texts, 1):
        missing = alphabet.missing(text)
        if missing:
            raise SynthError(f"{where}{n}: text {text!r} has characters outside the alphabet: {missing!r}; "
                             "pass an alphabet that has them, or encode='keep' to score what the model can produce")
        if len(text) > max_len:
            raise SynthError(f"{where}{n}: text {text!r} is longer than max_len={max_len}; raise max_len")


def read(path: str | Path, height: int | None = None, width: int | None | str = "auto", alphabet: Alphabet | None
         = None, batch_size: int | None = None, max_len: int | None = None, encode: str = "strict") -> Any:
    """A dataset folder (ours in any format, any folder of real images with a labels.tsv, any DTRB LMDB) as a
    tf.data.Dataset with the element structure of `synth.stream`.

    Images are resized to `height` keeping their aspect, then padded (or squeezed) to `width`; width None
    keeps each image's own width. For our datasets the defaults come from the manifest; for others: 32 high,
    variable width, the default alphabet. `encode="keep"` keeps texts with characters outside the alphabet
    (their `label` holds only the encodable ones): for scoring real data.
    """
    from synth.streaming import as_dataset

    path = Path(path)
    if not path.is_dir():
        raise SynthError(f"dataset folder not found: {path}")
    manifest = read_manifest(path)
    if manifest is not None:
        _check_shards(path, manifest)
    cfg = SynthConfig.from_dict(manifest["config"]) if manifest and "config" in manifest else None
    height = height or (cfg.render.height if cfg else 32)
    if width == "auto":
        width = cfg.render.width if cfg else None
    alphabet = alphabet or (Alphabet.from_json(manifest["alphabet"]) if manifest and "alphabet" in manifest
                            else Alphabet())
    fmt = _format(path, manifest)
    texts: list[str] | None = None  # checked before iterating where that is cheap (a TFRecord must be read)
    if fmt == "png":
        rows = read_labels(path)
        _check_files(path, rows)
        texts = [t for _, t in rows]
    elif fmt == "lmdb":
        texts = lmdb_labels(path)
    if max_len is None:
        max_len = cfg.text.label_len if cfg else max(len(t) for t in (texts or [r.text for r in records(path)]))
    if encode == "strict" and texts is not None:
        _check_texts(f"{path / 'labels.tsv'}:" if fmt == "png" else f"{path}: sample ", texts, alphabet, max_len)
    n = batch_size or 64

    def batches() -> Iterator[dict[str, Any]]:
        images, texts, fonts = [], [], []
        for img, text, font in iter_samples(path):
            images.append(to_model_input(img, height, width))
            texts.append(text)
            fonts.append(font)
            if len(images) == n:
                yield collate(images, texts, fonts, alphabet, max_len, encode)
                images, texts, fonts = [], [], []
        if images:
            yield collate(images, texts, fonts, alphabet, max_len, encode)

    return as_dataset(batches, height, width, max_len, batch_size)


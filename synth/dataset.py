"""Writing datasets to disk, resumably, and reading them (or any labels.tsv folder) back.

Layout of a written dataset DIR:
  manifest.json                 written last: its presence means the dataset is complete
  labels.tsv                    png format: `images/SSSSS/IIIIIIII.png<TAB>text` (DTRB / PaddleOCR convention)
  images/SSSSS/                 png format: one folder per shard, with the shard's labels.tsv and specs.jsonl
  data-SSSSS-of-NNNNN.tfrecord  tfrecord format: one file per shard (image png, text, font, index, spec json)
A shard appears under its final name only once complete (written under a temporary name, then renamed),
so a killed run leaves only whole shards, and the same command run again renders only the missing ones.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from synth.alphabet import Alphabet
from synth.batch import renderers
from synth.config import SynthConfig
from synth.errors import SynthError
from synth.files import read_json, read_text, write_atomic, writing
from synth.image import collate, load_image, to_model_input
from synth.pool import run_ordered
from synth.quiet import tensorflow
from synth.renderer import Renderer
from synth.version import __version__

FORMATS = ("png", "tfrecord")
ARGS_FILE = ".render-args.json"


def _encode_shard(renderer: Renderer, seed: int, start: int, n: int) -> list[tuple[int, bytes, str, str, str]]:
    """Render and PNG-encode one shard in a worker: only compressed bytes cross the process boundary."""
    out = []
    for i in range(start, start + n):
        img, spec = renderer.render(seed, i, boxes=True)
        ok, buf = cv2.imencode(".png", img)
        out.append((i, buf.tobytes(), spec.text, spec.font, json.dumps(spec.to_dict(), ensure_ascii=False)))
    return out


def _shard_name(fmt: str, k: int, n_shards: int) -> str:
    return f"images/{k:05d}" if fmt == "png" else f"data-{k:05d}-of-{n_shards:05d}.tfrecord"


def _render_png_shard(renderer: Renderer, seed: int, start: int, n: int, out: str, name: str) -> int:
    """Render one PNG shard and write it, in a worker: file creation is much of a PNG dataset's cost, so every
    worker writes its own shards. Returns the samples written."""
    _write_png_shard(Path(out), name, _encode_shard(renderer, seed, start, n))
    return n


def _write_png_shard(out: Path, name: str, rows: list) -> None:
    final = out / name
    tmp = final.with_name(f".tmp-{final.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    labels, specs = [], []
    for i, png, text, _font, spec in rows:
        (tmp / f"{i:08d}.png").write_bytes(png)
        labels.append(f"{name}/{i:08d}.png\t{text}\n")
        specs.append(spec + "\n")
    (tmp / "labels.tsv").write_text("".join(labels), encoding="utf-8")
    (tmp / "specs.jsonl").write_text("".join(specs), encoding="utf-8")
    os.rename(tmp, final)


def _write_tfrecord_shard(out: Path, name: str, rows: list) -> None:
    tf = tensorflow()

    def feature(v: bytes | int) -> tf.train.Feature:
        if isinstance(v, bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))

    final = out / name
    tmp = final.with_name(f".tmp-{final.name}-{os.getpid()}")
    with tf.io.TFRecordWriter(str(tmp)) as w:
        for i, png, text, font, spec in rows:
            ex = tf.train.Example(features=tf.train.Features(feature={
                "image": feature(png), "text": feature(text.encode()), "font": feature(font.encode()),
                "index": feature(i), "spec": feature(spec.encode()),
            }))
            w.write(ex.SerializeToString())
    os.replace(tmp, final)


def write(config: SynthConfig, out: str | Path, count: int, seed: int = 0, fmt: str = "png",
          shard_size: int = 1000, workers: int | None = None, progress: bool = True) -> Path:
    """Render samples seed:0..count-1 into `out`; resumes a killed run of the same arguments."""
    if fmt not in FORMATS:
        raise SynthError(f"unknown format {fmt!r}; use one of {FORMATS}")
    if count < 1:
        raise SynthError(f"--count must be at least 1, got {count}")
    if shard_size < 1:
        raise SynthError(f"--shard-size {shard_size}: give at least 1 sample per shard (1000 is the default)")
    if workers is not None and workers < 0:
        raise SynthError(f"--workers {workers}: give 0 (render in this process) or more")
    renderer = Renderer(config)  # the whole config checked before anything is written
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SynthError(f"--out {out} is a file; give a folder (new, or the one a killed run left to resume)")
    with writing(out, "synth render"):
        return _write(renderer, config, out, count, seed, fmt, shard_size, workers, progress)


def _write(renderer: Renderer, config: SynthConfig, out: Path, count: int, seed: int, fmt: str, shard_size: int,
           workers: int | None, progress: bool) -> Path:
    """`write` with its arguments checked and its folder held."""
    args = {"config": config.to_dict(), "seed": seed, "count": count, "format": fmt, "shard_size": shard_size,
            "version": __version__, "fonts": renderer.fonts.manifest()}
    args_text = json.dumps(args, sort_keys=True, ensure_ascii=False)
    manifest_path = out / "manifest.json"
    if out.exists() and any(out.iterdir()):
        prev = out / ARGS_FILE
        if (not prev.exists() or prev.read_text(encoding="utf-8") != args_text) and _refuse_resume(out, prev, args):
            return out  # complete, by another version: nothing to render
    n_shards = -(-count // shard_size)
    todo = _missing_shards(out, fmt, n_shards)
    if not todo and manifest_path.exists():
        return out  # complete
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / ARGS_FILE, args_text)
    for stale in out.glob(".*tmp-*"):  # shards (.tmp-NAME-PID) and files of write_atomic (.NAME.tmp-PID)
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink()
    for stale in (out / "images").glob(".tmp-*") if (out / "images").exists() else []:
        shutil.rmtree(stale, ignore_errors=True)
    tasks = [(seed, k * shard_size, min(shard_size, count - k * shard_size)) for k in todo]
    bar = _progress(count, count - sum(t[2] for t in tasks), progress)
    if fmt == "png":  # the workers write their shards
        tasks = [(*t, str(out), _shard_name(fmt, k, n_shards)) for k, t in zip(todo, tasks, strict=True)]
        for n in run_ordered(renderers(config), _render_png_shard, tasks, workers):
            bar.update(n)
    else:
        for k, rows in zip(todo, run_ordered(renderers(config), _encode_shard, tasks, workers), strict=True):
            _write_tfrecord_shard(out, _shard_name(fmt, k, n_shards), rows)
            bar.update(len(rows))
    bar.close()

    if fmt == "png":  # shard by shard: a billion labels do not fit in memory
        write_atomic(out / "labels.tsv", ((out / _shard_name(fmt, k, n_shards) / "labels.tsv").read_text(
            encoding="utf-8") for k in range(n_shards)))
    manifest = {
        "version": __version__,
        "format": fmt,
        "count": count,
        "seed": seed,
        "shard_size": shard_size,
        "shards": [_shard_name(fmt, k, n_shards) for k in range(n_shards)],
        "alphabet": renderer.alphabet.to_json(),
        "fonts": renderer.fonts.manifest(),
        "config": config.to_dict(),
    }
    write_atomic(manifest_path, json.dumps(manifest, indent=1, ensure_ascii=False))
    return out


def _missing_shards(out: Path, fmt: str, n_shards: int) -> list[int]:
    """The shards not yet under their final names, from one listing of their folder (a stat per shard took
    40 s before the first sample of a million shards)."""
    folder = out / "images" if fmt == "png" else out
    have = set(os.listdir(folder)) if folder.is_dir() else set()
    return [k for k in range(n_shards) if _shard_name(fmt, k, n_shards).rpartition("/")[2] not in have]


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
    manifest = read_json(p, "manifest", "run the synth render command that made the dataset again: it rewrites "
                         "the manifest")
    if not isinstance(manifest, dict) or not {"format", "shards", "config", "count"} <= manifest.keys():
        raise SynthError(f"{p} is not a synth render manifest; run the synth render command that made the dataset "
                         "again, or delete the file to read the folder by its labels.tsv")
    return manifest


def _check_shards(path: Path, manifest: dict[str, Any]) -> None:
    """Every shard the manifest names is there: one deleted by hand would otherwise be found mid-read."""
    missing = [s for s in manifest["shards"] if not (path / s).exists()]
    if missing:
        m = manifest
        raise SynthError(f"{path}: {len(missing)} of its {len(m['shards'])} shards are missing ({missing[0]} ...); "
                         f"render them again with `synth render --config {path / 'manifest.json'} --out {path} --count "
                         f"{m['count']} --seed {m.get('seed', 0)} --format {m['format']} --shard-size "
                         f"{m.get('shard_size', 1000)}` (it renders only the missing ones)")


def read_labels(path: str | Path) -> list[tuple[str, str]]:
    """(relative image path, text) pairs of a labels.tsv; a clear error for a missing or malformed file."""
    p = Path(path) / "labels.tsv"
    if not p.exists():
        raise SynthError(f"{path} has no labels.tsv; a dataset folder needs `image_path<TAB>text` lines")
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


def iter_samples(path: str | Path) -> Iterator[tuple[np.ndarray, str, str]]:
    """(grey uint8 image as stored, text, font or '') for every sample of a dataset folder, in order."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest is not None:
        _check_shards(path, manifest)
    if manifest is not None and manifest["format"] == "tfrecord":
        tf = tensorflow()
        feats = {k: tf.io.FixedLenFeature([], tf.string) for k in ("image", "text", "font")}
        for shard in manifest["shards"]:
            try:
                for rec in tf.data.TFRecordDataset(str(path / shard)).as_numpy_iterator():
                    ex = tf.io.parse_single_example(rec, feats)
                    img = cv2.imdecode(np.frombuffer(ex["image"].numpy(), np.uint8), cv2.IMREAD_GRAYSCALE)
                    yield img, ex["text"].numpy().decode("utf-8"), ex["font"].numpy().decode("utf-8")
            except (tf.errors.DataLossError, tf.errors.NotFoundError, tf.errors.InvalidArgumentError):
                raise SynthError(f"{path / shard} is damaged; delete it and run the synth render command that made "
                                 "the dataset again (it renders only the missing shards)") from None
        return
    fonts: dict[str, str] = {}
    if manifest is not None:
        for shard in manifest["shards"]:
            for line in (path / shard / "specs.jsonl").read_text(encoding="utf-8").splitlines():
                spec = json.loads(line)
                fonts[f"{shard}/{spec['index']:08d}.png"] = spec["font"]
    for rel, text in read_labels(path):
        yield load_image(path / rel), text, fonts.get(rel, "")


def _check_rows(path: Path, rows: list[tuple[str, str]], alphabet: Alphabet, max_len: int, encode: str) -> None:
    """Fail before iterating, with a SynthError: inside tf.data it would surface as a TensorFlow error."""
    for n, (rel, text) in enumerate(rows, 1):
        where = f"{path / 'labels.tsv'}:{n}"
        if not (path / rel).is_file():
            raise SynthError(f"{where}: image {rel} not found; fix or remove the line")
        if not cv2.haveImageReader(str(path / rel)):  # its first bytes: cheap, and before anything is written
            raise SynthError(f"{where}: {rel} is not an image OpenCV can read (damaged, or another kind of file); "
                             "fix or remove the line")
        if encode == "strict":
            missing = alphabet.missing(text)
            if missing:
                raise SynthError(f"{where}: text {text!r} has characters outside the alphabet: {missing!r}; pass an "
                                 "alphabet that has them, or encode='keep' to score what the model can produce")
            if len(text) > max_len:
                raise SynthError(f"{where}: text {text!r} is longer than max_len={max_len}; raise max_len")


def read(path: str | Path, height: int | None = None, width: int | None | str = "auto", alphabet: Alphabet | None
         = None, batch_size: int | None = None, max_len: int | None = None, encode: str = "strict") -> Any:
    """A dataset folder (ours, either format, or any folder of real images with a labels.tsv) as a
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
    cfg = SynthConfig.from_dict(manifest["config"]) if manifest else None
    height = height or (cfg.render.height if cfg else 32)
    if width == "auto":
        width = cfg.render.width if cfg else None
    alphabet = alphabet or (Alphabet.from_json(manifest["alphabet"]) if manifest else Alphabet())
    rows = read_labels(path) if manifest is None or manifest["format"] == "png" else []
    if max_len is None:
        max_len = cfg.text.max_len if cfg else max(len(t) for _, t in rows)
    _check_rows(path, rows, alphabet, max_len, encode)
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


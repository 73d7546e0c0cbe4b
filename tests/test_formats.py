"""Storage formats: LMDB in the DTRB layout (written, read, resumed after a kill), reading anyone's LMDB, and
`synth convert` between every pair of formats, real images kept as they were encoded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import lmdb
import numpy as np
import pytest
from conftest import kill_when, lmdb_of

import synth
from synth.cli import main as synth_main
from synth.config import FontConfig, SynthConfig, TextConfig
from synth.dataset import convert, iter_samples, records
from synth.errors import SynthError

REPO = Path(__file__).resolve().parent.parent


def small() -> SynthConfig:
    return SynthConfig(text=TextConfig(max_len=8), fonts=FontConfig(include=["LiberationSans-Regular", "Caladea-Bold"]))


def lmdb_items(path: Path) -> dict[bytes, bytes]:
    env = lmdb.open(str(path), readonly=True)
    with env.begin() as txn:
        items = {bytes(k): bytes(v) for k, v in txn.cursor()}
    env.close()
    return items


def shards_done(path: Path) -> int:
    return sum(k.startswith(b"synthocr-shard-") for k in lmdb_items(path))


def samples(path: Path) -> list[tuple[bytes, str, str]]:
    """Each sample's pixels (as PNG of the decoded grey image), text and font."""
    return [(cv2.imencode(".png", img)[1].tobytes(), text, font) for img, text, font in iter_samples(path)]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    """The same 25 samples written as png, tfrecord and lmdb."""
    root = tmp_path_factory.mktemp("formats")
    return {fmt: synth.write(small(), root / fmt, 25, seed=3, fmt=fmt, shard_size=10, workers=0, progress=False)
            for fmt in ("png", "tfrecord", "lmdb")}


def test_lmdb_holds_the_dtrb_layout(made):
    items = lmdb_items(made["lmdb"])
    assert items[b"num-samples"] == b"25"
    keys = {b"num-samples"} | {b"%s-%09d" % (kind, i) for kind in (b"image", b"label", b"spec") for i in range(1, 26)}
    shards = {b"synthocr-shard-%05d" % k for k in range(3)}  # each shard's record, written with its samples
    assert set(items) == keys | shards  # 1-based: DTRB reads image-000000001 first
    assert items[b"image-000000001"].startswith(b"\x89PNG")
    first = json.loads(items[b"spec-000000001"])
    assert first["index"] == 0 and items[b"label-000000001"].decode("utf-8") == first["text"]


def test_every_format_reads_back_the_same_samples(made):
    png = samples(made["png"])
    assert len(png) == 25 and all(font for _, _, font in png)
    assert samples(made["lmdb"]) == png
    assert samples(made["tfrecord"]) == png
    batch = next(iter(synth.read(made["lmdb"], batch_size=25).as_numpy_iterator()))
    assert [t.decode() for t in batch["text"]] == [t for _, t, _ in png]


def test_convert_between_formats_keeps_every_sample(made, tmp_path, capsys):
    assert synth_main(["convert", str(made["png"]), str(tmp_path / "l"), "--format", "lmdb", "--quiet"]) == 0
    assert synth_main(["convert", str(tmp_path / "l"), str(tmp_path / "t"), "--format", "tfrecord", "--quiet",
                       "--shard-size", "7"]) == 0
    assert synth_main(["convert", str(tmp_path / "t"), str(tmp_path / "p"), "--format", "png", "--quiet"]) == 0
    want = samples(made["png"])
    for d in ("l", "t", "p"):
        assert samples(tmp_path / d) == want, d
    # what it was rendered from travels with it
    assert json.loads((tmp_path / "p" / "manifest.json").read_text())["config"] == json.loads(json.dumps(
        small().to_dict()))
    assert [r.spec for r in records(tmp_path / "p")] == [r.spec for r in records(made["png"])]


def dtrb_lmdb(path: Path, images: list[bytes], labels: list[str]) -> Path:
    """An LMDB as DTRB's create_lmdb_dataset.py writes it (no spec keys, JPEG or PNG bytes)."""
    items = {b"num-samples": str(len(images)).encode()}
    for i, (img, label) in enumerate(zip(images, labels, strict=True), 1):
        items[b"image-%09d" % i], items[b"label-%09d" % i] = img, label.encode()
    return lmdb_of(path, items)


def test_an_lmdb_of_another_project_reads_and_converts_with_its_jpegs_intact(tmp_path):
    img = np.full((32, 90), 235, np.uint8)
    cv2.putText(img, "Shop", (4, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 20, 2)
    jpeg = cv2.imencode(".jpg", img)[1].tobytes()
    png = cv2.imencode(".png", img)[1].tobytes()
    src = dtrb_lmdb(tmp_path / "theirs", [jpeg, png], ["Shop", "shop"])
    assert [(t, f) for _, t, f in iter_samples(src)] == [("Shop", ""), ("shop", "")]
    batch = next(iter(synth.read(src, batch_size=2).as_numpy_iterator()))
    assert batch["image"].shape[0] == 2 and batch["image"].shape[1] == 32
    convert(src, tmp_path / "as_png", "png", progress=False)
    files = sorted((tmp_path / "as_png" / "images" / "00000").iterdir())
    assert [f.name for f in files] == ["00000000.jpg", "00000001.png", "labels.tsv", "specs.jsonl"]
    assert files[0].read_bytes() == jpeg  # not decoded and encoded again
    convert(tmp_path / "as_png", tmp_path / "back", "lmdb", progress=False)
    back = lmdb_items(tmp_path / "back")
    assert back[b"image-000000001"] == jpeg and back[b"label-000000002"] == b"shop"


def test_a_killed_lmdb_render_resumes_to_the_same_contents(tmp_path):
    count, out = 600, tmp_path / "resumed"
    cmd = [sys.executable, "-m", "synth", "render", "--count", str(count), "--shard-size", "20", "--format", "lmdb",
           "--workers", "1", "--quiet", "--out", str(out)]
    kill_when(cmd, lambda: (out / "data.mdb").exists() and bool(shards_done(out)), tmp_path, "committed shard")
    assert not (out / "manifest.json").exists(), "the run finished before it was killed: raise the count"
    done = shards_done(out)
    assert 1 <= done < count // 20
    assert b"num-samples" not in lmdb_items(out)  # a DTRB reader does not take an unfinished database
    assert subprocess.run(cmd, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                          timeout=600).returncode == 0
    ref = synth.write(SynthConfig(), tmp_path / "uninterrupted", count, fmt="lmdb", shard_size=20, workers=0,
                      progress=False)
    assert lmdb_items(out) == lmdb_items(ref)


def test_bad_lmdbs_and_conversions(tmp_path, made, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "data.mdb").write_bytes(b"\0" * 100)
    with pytest.raises(SynthError, match="is not a readable LMDB"):
        list(iter_samples(broken))
    unfinished = dtrb_lmdb(tmp_path / "unfinished", [b"x"], ["a"])
    env = lmdb.open(str(unfinished))
    with env.begin(write=True) as txn:
        txn.delete(b"num-samples")
    env.close()
    with pytest.raises(SynthError, match="has no num-samples"):
        list(iter_samples(unfinished))
    # a conversion refused leaves what was there
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine", encoding="utf-8")
    assert synth_main(["convert", str(made["png"]), str(taken), "--format", "lmdb", "--quiet"]) == 2
    assert "already holds other files" in capsys.readouterr().err
    assert [p.name for p in taken.iterdir()] == ["notes.txt"]
    with pytest.raises(SynthError, match="convert into a new folder"):
        convert(made["png"], made["png"], "lmdb", progress=False)
    assert synth_main(["convert", str(tmp_path / "nowhere"), str(tmp_path / "x"), "--format", "png"]) == 2
    assert "dataset folder not found" in capsys.readouterr().err


def test_lmdb_completeness_lives_in_the_database(tmp_path):
    out = synth.write(small(), tmp_path / "l", 20, fmt="lmdb", shard_size=10, workers=0, progress=False)
    before = lmdb_items(out)
    for name in ("data.mdb", "lock.mdb"):
        (out / name).unlink()  # the database gone, the manifest left: the same command writes it all again
    synth.write(small(), out, 20, fmt="lmdb", shard_size=10, workers=0, progress=False)
    assert lmdb_items(out) == before
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in out.iterdir():  # a copy of what `cp DIR/* new/` takes (no dotfiles) reads whole
        if not p.name.startswith("."):
            (copy / p.name).write_bytes(p.read_bytes())
    assert len(list(iter_samples(copy))) == 20


def test_convert_checks_every_sample_before_it_writes(made, tmp_path):
    src = tmp_path / "bad"
    items = {b"num-samples": b"30"}
    png = lmdb_items(made["lmdb"])[b"image-000000001"]
    for i in range(1, 31):
        items[b"image-%09d" % i] = png if i != 25 else b"not an image"  # in the third shard of ten
        items[b"label-%09d" % i] = b"AB"
    lmdb_of(src, items)
    with pytest.raises(SynthError, match="sample 25's image is no PNG"):
        convert(src, tmp_path / "dst", "lmdb", shard_size=10, progress=False)
    assert not (tmp_path / "dst").exists()
    lmdb_of(tmp_path / "empty", {b"num-samples": b"0"})
    with pytest.raises(SynthError, match="no num-samples of at least 1"):
        convert(tmp_path / "empty", tmp_path / "dst2", "png", progress=False)



def test_tfrecord_shards_are_the_same_bytes_in_every_process(tmp_path):
    """A tf.train.Example's features are a map, whose serialized order can change from process to process
    unless asked to be deterministic: two runs must write the same files."""
    outs = [tmp_path / f"run{i}" for i in range(2)]
    for out in outs:
        cmd = [sys.executable, "-m", "synth", "render", "--count", "30", "--format", "tfrecord", "--workers", "0",
               "--quiet", "--out", str(out)]
        assert subprocess.run(cmd, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True,
                              timeout=300).returncode == 0
    shards = [sorted(p for p in out.iterdir() if p.suffix == ".tfrecord") for out in outs]
    assert len(shards[0]) == 1 and [p.read_bytes() for p in shards[0]] == [p.read_bytes() for p in shards[1]]

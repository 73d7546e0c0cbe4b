import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import files_under, kill_when

import synth
from synth import Renderer, SynthConfig, SynthError
from synth.dataset import ARGS_FILE, iter_samples
from synth.streaming import numpy_batches

REPO = Path(__file__).resolve().parent.parent


def elements(ds) -> list[dict]:
    return list(numpy_batches(ds))


@pytest.fixture(scope="module")
def png_dataset(make_config, tmp_path_factory):
    cfg = make_config()
    out = tmp_path_factory.mktemp("ds") / "png"
    synth.write(cfg, out, 30, seed=4, shard_size=10, workers=0, progress=False)
    return cfg, out


def test_png_layout(png_dataset):
    cfg, out = png_dataset
    shards = sorted(p.name for p in (out / "images").iterdir())
    assert shards == ["00000", "00001", "00002"]
    lines = (out / "labels.tsv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 30 and lines[0].startswith("images/00000/00000000.png\t")
    for k, shard in enumerate(shards):
        shard_lines = (out / "images" / shard / "labels.tsv").read_text(encoding="utf-8").splitlines()
        assert shard_lines == lines[10 * k : 10 * k + 10]
        specs = [json.loads(s) for s in (out / "images" / shard / "specs.jsonl").read_text().splitlines()]
        assert [s["index"] for s in specs] == list(range(10 * k, 10 * k + 10))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["count"] == 30 and manifest["seed"] == 4 and manifest["version"] == synth.__version__
    assert SynthConfig.from_dict(manifest["config"]) == cfg
    assert manifest["alphabet"]["chars"] == cfg.alphabet
    assert sorted(f["name"] for f in manifest["fonts"]) == sorted(cfg.fonts.include)
    assert all(len(f["sha256"]) == 64 for f in manifest["fonts"])


def test_png_round_trip(png_dataset):
    cfg, out = png_dataset
    r = Renderer(cfg)
    labels = [line.split("\t", 1) for line in (out / "labels.tsv").read_text(encoding="utf-8").splitlines()]
    got = elements(synth.read(out))
    assert len(got) == 30
    for i, (e, (rel, text)) in enumerate(zip(got, labels, strict=True)):
        img, spec = r.render(4, i)
        png = cv2.imread(str(out / rel), cv2.IMREAD_UNCHANGED)
        assert png.dtype == np.uint8 and png.shape == (32, 128)
        assert np.array_equal(png, img)  # PNG is lossless: the stored pixels are the renderer's
        assert e["text"] == text == spec.text and e["font"] == spec.font
        np.testing.assert_allclose(e["image"][..., 0], img / 255.0, atol=1e-6)
        assert r.alphabet.decode(e["label"]) == text and e["label_length"] == len(text)
    batches = elements(synth.read(out, batch_size=8))
    assert [len(b["text"]) for b in batches] == [8, 8, 8, 6]
    assert sum((b["text"] for b in batches), []) == [t for _, t in labels]


def test_stream_and_read_agree(png_dataset):
    cfg, out = png_dataset
    (streamed,) = elements(synth.stream(cfg, seed=4, batch_size=30, count=30, workers=0))
    (read,) = elements(synth.read(out, batch_size=30))
    for k in ("image", "label", "label_length", "width"):
        assert np.array_equal(streamed[k], read[k]), k
    assert streamed["text"] == read["text"] and streamed["font"] == read["font"]


def test_tfrecord_round_trip(make_config, tmp_path):
    cfg = make_config()
    out = synth.write(cfg, tmp_path / "tf", 12, seed=2, fmt="tfrecord", shard_size=5, workers=0, progress=False)
    assert sorted(p.name for p in out.glob("*.tfrecord")) == [f"data-0000{k}-of-00003.tfrecord" for k in range(3)]
    assert not (out / "labels.tsv").exists()
    r = Renderer(cfg)
    got = elements(synth.read(out))
    assert len(got) == 12
    for i, e in enumerate(got):
        img, spec = r.render(2, i)
        assert e["text"] == spec.text and e["font"] == spec.font
        np.testing.assert_allclose(e["image"][..., 0], img / 255.0, atol=1e-6)
    assert [t for _, t, _ in iter_samples(out)] == [e["text"] for e in got]


def test_variable_width_dataset(make_config, tmp_path):
    cfg = make_config()
    cfg.render.width = None
    out = synth.write(cfg, tmp_path / "var", 6, shard_size=6, workers=0, progress=False)
    r = Renderer(cfg)
    widths = [r.render(0, i)[0].shape[1] for i in range(6)]
    (b,) = elements(synth.read(out, batch_size=6))
    assert list(b["width"]) == widths and b["image"].shape == (6, 32, max(widths), 1)


def render_cmd(out: Path, count: int) -> list[str]:
    return [sys.executable, "-m", "synth", "render", "--count", str(count), "--shard-size", "20", "--out", str(out),
            "--workers", "1", "--quiet"]


def test_killed_render_resumes_to_the_same_bytes(tmp_path):
    count = 400  # 20 shards: rendering the rest takes long enough to kill the run after its first shard
    out = tmp_path / "resumed"
    kill_when(render_cmd(out, count), (out / "images" / "00000").exists, tmp_path, "shard")  # and its worker
    assert not (out / "manifest.json").exists(), "the run finished before it was killed: raise the count"
    # under their final names, shards are whole; a shard being written has a hidden temporary name
    complete = [p for p in (out / "images").iterdir() if not p.name.startswith(".")]
    assert 1 <= len(complete) < count // 20
    for shard in complete:
        assert not shard.name.startswith(".tmp") and shard.name.isdigit()
        assert len((shard / "labels.tsv").read_text(encoding="utf-8").splitlines()) == 20
        assert len((shard / "specs.jsonl").read_text(encoding="utf-8").splitlines()) == 20
        assert len(list(shard.glob("*.png"))) == 20
    kept = {p.name: p.stat().st_mtime_ns for p in complete}

    # another command in the same folder is refused, and changes nothing
    with pytest.raises(SynthError, match="other arguments"):
        synth.write(SynthConfig(), out, count + 20, shard_size=20, workers=0, progress=False)

    # what a kill in the middle of writing leaves: a half-written shard and a half-written file
    (out / "images" / f".tmp-00003-{2**22}").mkdir()
    (out / "images" / f".tmp-00003-{2**22}" / "00000060.png").write_bytes(b"half")
    (out / f".labels.tsv.tmp-{2**22}").write_text("half")
    done = subprocess.run(render_cmd(out, count), cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert {p.name: p.stat().st_mtime_ns for p in (out / "images").iterdir() if p.name in kept} == kept  # reused

    ref = synth.write(SynthConfig(), tmp_path / "uninterrupted", count, shard_size=20, workers=0, progress=False)
    got, want = files_under(out), files_under(ref)
    assert not [name for name in got if ".tmp" in name]  # stale temporaries were cleared
    assert got.keys() == want.keys()
    assert len([n for n in got if n.endswith(".png")]) == count
    for name in want:
        assert got[name] == want[name], name


def test_complete_dataset_is_not_rewritten(png_dataset):
    cfg, out = png_dataset
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert synth.write(cfg, out, 30, seed=4, shard_size=10, workers=0, progress=False) == out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_other_arguments_in_a_used_folder(png_dataset, tmp_path):
    cfg, out = png_dataset
    for kwargs in [{"count": 31}, {"seed": 5}, {"shard_size": 5}, {"fmt": "tfrecord"}]:
        args = {"count": 30, "seed": 4, "shard_size": 10, **kwargs}
        with pytest.raises(SynthError, match="other arguments"):
            synth.write(cfg, out, workers=0, progress=False, **args)
    other = SynthConfig.from_dict(cfg.to_dict())
    other.render.margin = cfg.render.margin / 2  # another config, itself valid
    with pytest.raises(SynthError, match="other arguments"):
        synth.write(other, out, 30, seed=4, shard_size=10, workers=0, progress=False)
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(SynthError, match="empty --out folder"):
        synth.write(cfg, stranger, 5, workers=0, progress=False)
    assert not (stranger / ARGS_FILE).exists()


def test_a_dataset_begun_by_another_version_is_not_mixed(make_config, tmp_path):
    """Its samples' pixels differ from this version's: finishing it here would mix two versions' shards."""
    cfg = make_config()
    out = tmp_path / "ds"
    synth.write(cfg, out, 20, seed=4, shard_size=10, workers=0, progress=False)
    args = json.loads((out / ARGS_FILE).read_text(encoding="utf-8"))
    assert args["version"] == synth.__version__
    del args["version"]  # as 0.3 wrote it
    (out / ARGS_FILE).write_text(json.dumps(args, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    assert synth.write(cfg, out, 20, seed=4, shard_size=10, workers=0, progress=False) == out  # complete: kept
    (out / "manifest.json").unlink()  # as if killed before its end
    with pytest.raises(SynthError, match=r"begun by synthocr 0\.3\.0 or earlier.*finish it with"):
        synth.write(cfg, out, 20, seed=4, shard_size=10, workers=0, progress=False)


def test_bad_write_arguments(make_config, tmp_path):
    with pytest.raises(SynthError, match="format"):
        synth.write(make_config(), tmp_path / "a", 5, fmt="zip", workers=0, progress=False)
    with pytest.raises(SynthError, match="count"):
        synth.write(make_config(), tmp_path / "b", 0, workers=0, progress=False)


# reading a folder of real images with a labels.tsv


@pytest.fixture
def real_folder(tmp_path) -> Path:
    d = tmp_path / "real"
    (d / "sub").mkdir(parents=True)
    blue = np.zeros((40, 100, 3), np.uint8)
    blue[..., 0] = 255  # cv2 writes BGR: a blue image
    cv2.imwrite(str(d / "colour.png"), blue)
    cv2.imwrite(str(d / "sub" / "tall.png"), np.full((100, 20), 30, np.uint8))
    wide = np.zeros((20, 300, 4), np.uint8)
    wide[..., 1] = 255  # green, with alpha
    wide[..., 3] = 255
    cv2.imwrite(str(d / "wide.png"), wide)
    cv2.imwrite(str(d / "deep.png"), np.full((64, 64), 65535, np.uint16))
    cv2.imwrite(str(d / "photo.jpg"), np.full((16, 48, 3), 200, np.uint8))
    (d / "labels.tsv").write_text(
        "colour.png\tBlue 1\nsub/tall.png\tI\nwide.png\ta wide one\n\ndeep.png\t16 bit\nphoto.jpg\tjpg\n",
        encoding="utf-8")
    return d


def test_read_real_images(real_folder):
    got = elements(synth.read(real_folder))
    assert [e["text"] for e in got] == ["Blue 1", "I", "a wide one", "16 bit", "jpg"]
    assert [e["image"].shape for e in got] == [(32, 80, 1), (32, 6, 1), (32, 480, 1), (32, 32, 1), (32, 96, 1)]
    assert [int(e["width"]) for e in got] == [80, 6, 480, 32, 96]
    assert all(e["font"] == "" for e in got)
    luma = [float(e["image"][..., 0].mean()) * 255 for e in got]
    assert luma[0] == pytest.approx(0.114 * 255, abs=1.5)  # blue, converted from BGR
    assert luma[1] == pytest.approx(30, abs=1)
    assert luma[2] == pytest.approx(0.587 * 255, abs=1.5)  # green with alpha
    assert luma[3] == pytest.approx(255, abs=1)  # 16 bit scaled down
    assert luma[4] == pytest.approx(200, abs=3)
    alphabet = synth.Alphabet()
    assert all(alphabet.decode(e["label"]) == e["text"] for e in got)


def test_read_real_images_fixed_width_and_batches(real_folder):
    got = elements(synth.read(real_folder, width=100))
    assert [e["image"].shape for e in got] == [(32, 100, 1)] * 5
    (b,) = elements(synth.read(real_folder, batch_size=8, height=16))
    assert b["image"].shape == (5, 16, 240, 1)  # variable width: padded to the widest (the wide one)
    assert list(b["width"]) == [40, 3, 240, 16, 48]


def test_labels_with_a_bad_line(real_folder):
    (real_folder / "labels.tsv").write_text("colour.png\tok\nwide.png no tab here\n", encoding="utf-8")
    with pytest.raises(SynthError, match=r"labels.tsv:2: .*wide.png no tab here"):
        synth.read(real_folder)


def test_missing_image(real_folder):
    (real_folder / "labels.tsv").write_text("colour.png\tok\ngone.png\tlost\n", encoding="utf-8")
    with pytest.raises(SynthError, match=r"labels.tsv:2: image gone.png not found"):
        synth.read(real_folder)


def test_text_outside_the_alphabet(real_folder):
    (real_folder / "labels.tsv").write_text("colour.png\tok\nwide.png\tnaïve\n", encoding="utf-8")
    with pytest.raises(SynthError, match=r"labels.tsv:2: .*'ï'"):
        synth.read(real_folder)
    got = elements(synth.read(real_folder, encode="keep"))
    assert got[1]["text"] == "naïve" and synth.Alphabet().decode(got[1]["label"]) == "nave"
    assert got[1]["label_length"] == 4


def test_text_longer_than_max_len(real_folder):
    with pytest.raises(SynthError, match="max_len=5"):
        synth.read(real_folder, max_len=5)


def test_missing_folder_or_labels(tmp_path):
    with pytest.raises(SynthError, match="dataset folder not found"):
        synth.read(tmp_path / "nothing")
    with pytest.raises(SynthError, match="no labels.tsv"):
        synth.read(tmp_path)
    (tmp_path / "labels.tsv").write_text("\n\n", encoding="utf-8")
    with pytest.raises(SynthError, match="lists no images"):
        synth.read(tmp_path)


def test_corrupt_manifest(png_dataset, tmp_path):
    _, out = png_dataset
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(SynthError, match="corrupt"):
        synth.read(broken)


def test_one_writer_per_folder(make_config, tmp_path):
    from synth.files import writing

    out = tmp_path / "ds"
    with writing(out, "synth render"):  # as another run holding the folder would
        with pytest.raises(SynthError, match=r"another synth render \(process \d+\) is writing to .*another --out"):
            synth.write(make_config(), out, 5, workers=0, progress=False)
    assert not out.exists()
    synth.write(make_config(), out, 5, workers=0, progress=False)  # free again once the other is done
    assert sorted(p.name for p in out.iterdir()) == [ARGS_FILE, "images", "labels.tsv", "manifest.json"]


def test_labels_stay_inside_their_folder(tmp_path):
    d = tmp_path / "set"
    d.mkdir()
    cv2.imwrite(str(tmp_path / "secret.png"), np.zeros((8, 8), np.uint8))
    (d / "labels.tsv").write_text("../secret.png\tabc\n", encoding="utf-8")
    with pytest.raises(SynthError, match="lies outside .*copy or link the image into it"):
        list(iter_samples(d))
    (d / "labels.tsv").write_text(f"{tmp_path / 'secret.png'}\tabc\n", encoding="utf-8")
    with pytest.raises(SynthError, match="lies outside"):
        list(iter_samples(d))


def test_images_load_as_a_viewer_shows_them(tmp_path):
    from PIL import Image, ImageOps

    from synth.image import load_image

    ink = np.zeros((20, 60), np.uint8)
    ink[5:15, 10:50] = 255  # the text's shape, only in the alpha channel
    rgba = np.dstack([np.zeros((20, 60, 3), np.uint8), ink])
    cv2.imwrite(str(tmp_path / "alpha.png"), rgba)
    got = load_image(tmp_path / "alpha.png")
    assert got[10, 30] == 0 and got[0, 0] == 255  # black text on white, not a blank image
    wide = np.zeros((20, 60), np.uint8)
    wide[:, :10] = 255
    for orientation in range(1, 9):  # each EXIF orientation, as Pillow's exif_transpose stands it up
        im = Image.fromarray(wide)
        exif = im.getexif()
        exif[0x0112] = orientation
        im.save(tmp_path / f"o{orientation}.jpg", exif=exif, quality=95)
        want = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / f"o{orientation}.jpg")).convert("L"))
        assert np.array_equal(load_image(tmp_path / f"o{orientation}.jpg"), want), orientation

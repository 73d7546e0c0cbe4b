"""Bad input of every kind (docs/reliability.md): one `error:` line naming the fix, exit 2, no traceback, and
nothing under the final name written or lost; a rerun after the fix finishes what was begun."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import FONTS, THREE_FONTS, fails, lmdb_of

import synth
from synth.cli import main as synth_main
from synth.config import FontConfig, SynthConfig, TextConfig
from synth.errors import SynthError
from synth.flags import run_cli

REPO = Path(__file__).resolve().parent.parent


def render_args(out: Path, count: int = 30, *extra: str) -> list[str]:
    return ["render", "--out", str(out), "--count", str(count), "--shard-size", "10", "--workers", "0", "--quiet",
            "--max-len", "8", "--set", f"fonts.include={json.dumps(THREE_FONTS)}", *extra]


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` but the run's own record, by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".render-args.json"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    """An uninterrupted run of `render_args`, to compare resumed ones with."""
    out = tmp_path_factory.mktemp("reference") / "d"
    assert synth_main(render_args(out)) == 0
    return tree(out)


# --- paths that are the wrong kind of thing ---------------------------------------------------------------

def test_an_out_that_is_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "taken"
    f.write_text("mine", encoding="utf-8")
    assert "is a file; give a folder" in fails(render_args(f), capsys)
    assert "is a folder; give the PNG file" in fails(["preview", "--out", str(tmp_path), "--count", "2"], capsys)
    assert f.read_text(encoding="utf-8") == "mine"


def test_a_train_out_that_is_a_file_is_refused(tmp_path, tiny_config):
    from train.fit import fit

    f = tmp_path / "taken"
    f.write_text("mine", encoding="utf-8")
    with pytest.raises(SynthError, match="is a file; give a folder"):
        fit(tiny_config(steps=1), f, progress=False)
    assert f.read_text(encoding="utf-8") == "mine"


def test_a_folder_where_a_text_file_belongs(tmp_path, capsys):
    d = tmp_path / "words"
    d.mkdir()
    assert f"{d} is a folder; give the file itself" in fails(render_args(tmp_path / "o", 5, "--lexicon", str(d)),
                                                             capsys)
    assert not (tmp_path / "o").exists()


# --- text files as editors write them ---------------------------------------------------------------------

def test_a_byte_order_mark_is_not_part_of_the_first_word(tmp_path):
    lexicon = tmp_path / "words.txt"
    lexicon.write_bytes("\ufeffZebra\n".encode())  # the only word: with the mark it would be filtered out
    cfg = SynthConfig(text=TextConfig(sources={"words": 1.0}, lexicon=str(lexicon)),
                      fonts=FontConfig(include=list(THREE_FONTS)))
    r = synth.Renderer(cfg)
    texts = {r.sample_spec(0, i).text for i in range(20)}
    assert texts and {t.lower() for t in texts} == {"zebra"}, texts


def test_labels_with_a_bom_or_in_another_encoding(tmp_path):
    from synth.dataset import read_labels

    (tmp_path / "labels.tsv").write_bytes("\ufeffa.png\tcafé\n".encode())
    assert read_labels(tmp_path) == [("a.png", "café")]
    (tmp_path / "labels.tsv").write_bytes("a.png\tok\na.png\tcaf\xe9\n".encode("latin-1"))
    with pytest.raises(SynthError, match=r"is not UTF-8 \(line 2, byte 0xe9\); convert it, e.g. iconv"):
        read_labels(tmp_path)


# --- datasets damaged after they were written ---------------------------------------------------------------

def test_a_malformed_manifest(tmp_path, capsys):
    out = tmp_path / "d"
    assert synth_main(render_args(out, 10)) == 0
    (out / "manifest.json").write_text('{"format": "png", "shards": [', encoding="utf-8")
    with pytest.raises(SynthError, match="manifest .* is not valid JSON .*run the command that made the dataset again"):
        synth.read(out)
    (out / "manifest.json").write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(SynthError, match="is not a synth render manifest"):
        synth.read(out)


def test_a_deleted_shard_is_named_and_rendered_again(tmp_path, capsys, reference):
    out = tmp_path / "d"
    assert synth_main(render_args(out)) == 0
    shutil.rmtree(out / "images" / "00001")
    with pytest.raises(SynthError, match=r"1 of its 3 shards are missing \(images/00001 .*synth render --config"):
        synth.read(out)
    assert synth_main(render_args(out)) == 0  # the same command renders the missing shard, and only it
    assert tree(out) == reference


def test_a_damaged_tfrecord_is_named(tmp_path):
    out = tmp_path / "t"
    assert synth_main([*render_args(out, 20), "--format", "tfrecord"]) == 0
    shard = out / "data-00001-of-00002.tfrecord"
    data = bytearray(shard.read_bytes())
    data[200:260] = b"x" * 60
    shard.write_bytes(bytes(data))
    from synth.dataset import iter_samples

    with pytest.raises(SynthError, match="data-00001-of-00002.tfrecord is damaged; delete it and run"):
        list(iter_samples(out))


def test_a_corrupt_image_in_a_validation_set_is_refused_before_training(tmp_path, tiny_config):
    from train.fit import fit

    real = tmp_path / "real"
    real.mkdir()
    (real / "a.png").write_bytes(b"not an image at all")
    (real / "labels.tsv").write_text("a.png\t1234\n", encoding="utf-8")
    out = tmp_path / "run"
    with pytest.raises(SynthError, match=r"labels.tsv:1: a.png is not an image OpenCV can read"):
        fit(tiny_config(steps=1, val=["synth", f"real={real}"]), out, progress=False)
    assert not out.exists() or not any(out.iterdir())


# --- the operating system says no ---------------------------------------------------------------------------

def test_a_full_disk_mid_run_then_the_same_command_finishes(tmp_path, capsys, monkeypatch, reference):
    out = tmp_path / "d"
    real_write = Path.write_bytes
    calls = {"n": 0}

    def write_bytes(self, data):
        calls["n"] += 1
        if calls["n"] > 15:  # the second shard's fifth image
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    message = fails(render_args(out), capsys)
    assert "No space left on device" in message and "free some space, then run the same command again" in message
    assert sorted(p.name for p in (out / "images").iterdir() if not p.name.startswith(".")) == ["00000"]
    assert not (out / "manifest.json").exists()
    monkeypatch.undo()
    assert synth_main(render_args(out)) == 0
    assert tree(out) == reference  # the temporary shard is gone, the rest is as an uninterrupted run


def test_a_read_only_disk(tmp_path, capsys, monkeypatch):
    import synth.dataset

    def refuse(path, data):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(synth.dataset, "write_atomic", refuse)
    message = fails(render_args(tmp_path / "d", 5), capsys)
    assert "Read-only file system" in message and "the disk is read-only: choose a folder you can write to" in message


def test_a_user_error_inside_a_tf_data_pipeline_is_one_line(capsys):
    import tensorflow as tf

    @run_cli
    def main(argv=None):
        raise tf.errors.InvalidArgumentError(None, None, "Traceback ...\nsynth.errors.SynthError: cannot read "
                                             "image x.png: fix it\n\n\t [[{{node PyFunc}}]]")

    assert fails([], capsys, main) == "error: cannot read image x.png: fix it"

    @run_cli
    def bug(argv=None):
        raise ValueError("a bug of ours")

    with pytest.raises(ValueError):  # a bug is not dressed up as a user error
        bug()


# --- fonts ------------------------------------------------------------------------------------------------

def test_a_resume_with_other_fonts_is_refused(tmp_path, capsys):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    for name in THREE_FONTS[:2]:
        shutil.copy(next(FONTS.rglob(f"{name}.ttf")), fonts)
    out = tmp_path / "d"
    args = ["render", "--out", str(out), "--count", "30", "--shard-size", "10", "--workers", "0", "--quiet",
            "--max-len", "8", "--no-bundled-fonts", "--font-dir", str(fonts)]
    assert synth_main(args) == 0
    (out / "manifest.json").unlink()  # as a killed run leaves it: shards, no manifest
    shutil.rmtree(out / "images" / "00002")
    shutil.copy(next(FONTS.rglob(f"{THREE_FONTS[2]}.ttf")), fonts)
    message = fails(args, capsys)
    assert f"was begun with other fonts (added: {THREE_FONTS[2]})" in message and "put the fonts back" in message
    assert not (out / "images" / "00002").exists()
    (fonts / f"{THREE_FONTS[2]}.ttf").unlink()
    assert synth_main(args) == 0 and (out / "manifest.json").exists()


def test_an_alphabet_character_no_font_draws_stops_training_before_it_starts(tmp_path, tiny_config):
    from train.fit import fit

    cfg = tiny_config(steps=1)
    cfg.data.alphabet += "ஆ"  # Tamil: no bundled font draws it
    with pytest.raises(SynthError, match="no font draws 'ஆ' of the alphabet; add a font that has it"):
        fit(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_damaged_glyph_data_is_not_drawn(tmp_path):
    """A font whose outlines for some letters are garbage: those letters count as not drawn by it."""
    from fontTools.ttLib import TTFont

    src = next(FONTS.rglob("LiberationSans-Regular.ttf"))
    font = TTFont(str(src))
    data = bytearray(src.read_bytes())
    glyf = font.reader.tables["glyf"].offset
    order, loca = font.getGlyphOrder(), font["loca"]
    for ch in "aeo":
        gid = order.index(font.getBestCmap()[ord(ch)])
        for i in range(glyf + loca[gid] + 10, glyf + loca[gid + 1]):  # the header kept, the outline garbled
            data[i] = (i * 7919) % 251
    (tmp_path / "Garbled.ttf").write_bytes(bytes(data))
    cfg = SynthConfig(alphabet="abcdeo", fonts=FontConfig(dirs=[str(tmp_path)], bundled=False))
    with pytest.raises(SynthError, match="no font draws 'aeo' of the alphabet"):
        synth.Renderer(cfg)
    cfg.alphabet = "bcd"
    img, spec = synth.Renderer(cfg).render(0, 0)
    assert spec.font == "Garbled" and img.min() < 128


# --- scale ------------------------------------------------------------------------------------------------

def test_shard_bookkeeping_is_linear(tmp_path):
    from synth.formats import missing_shards

    (tmp_path / "images").mkdir()
    for k in (0, 7, 999_999):
        (tmp_path / "images" / f"{k:05d}").mkdir()
    t = time.perf_counter()
    todo = missing_shards(tmp_path, "png", 1_000_000)
    assert time.perf_counter() - t < 5.0  # a stat per shard, or a set rebuilt per shard, took minutes
    assert len(todo) == 1_000_000 - 3 and todo[:7] == [1, 2, 3, 4, 5, 6, 8] and todo[-1] == 999_998


# --- what the user sees -------------------------------------------------------------------------------------

def test_a_text_too_long_for_a_fixed_width(tmp_path, capsys):
    out = tmp_path / "o"
    message = fails(["render", "--out", str(out), "--count", "5", "--width", "64", "--max-len", "40"], capsys)
    assert "render.width 64 leaves 1.6 pixels for each of text.max_len=40" in message
    assert "widen it to 214, lower --max-len to 12, or use --width auto" in message
    assert not out.exists()
    assert "render.width 64" in fails(["preview", "--out", str(tmp_path / "p.png"), "--width", "64", "--max-len",
                                       "40"], capsys)
    for preset in ("words", "lines", "scene"):
        SynthConfig.preset(preset).validate()


def test_an_alphabet_file_that_does_not_match_the_model(tmp_path, tiny_model):
    import train

    d = tmp_path / "model"
    shutil.copytree(tiny_model.dir, d)
    (d / "alphabet.json").write_text(json.dumps({"chars": "012345678"}), encoding="utf-8")
    with pytest.raises(SynthError, match="has 9 characters, but the model reads 10 .*restore the alphabet.json"):
        train.load(d)


@contextmanager
def _ctrl_c_reaches_children() -> Iterator[None]:
    """Children started meanwhile take Ctrl-C as Python's default does. A shell's background job (`pytest &`, no
    job control) starts with SIGINT ignored, and a child inherits an ignored signal through exec, so Ctrl-C
    would never reach it (the cause of this file's Ctrl-C test failing in such runs only)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _hung(p: subprocess.Popen) -> str:
    """What a session that outlived its signal was doing: each process's signal masks and state, then every
    thread's stack (faulthandler, on SIGABRT)."""
    ps = subprocess.run(["ps", "-o", "pid=", "-s", str(p.pid)], capture_output=True, text=True).stdout.split()
    report = []
    for pid in ps:
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
        except OSError:
            continue
        keep = [s for s in status if s.startswith(("State", "SigBlk", "SigIgn", "SigCgt", "Threads"))]
        report.append(f"{pid} {cmd}: " + "; ".join(keep))
    for pid in ps:
        try:
            os.kill(int(pid), signal.SIGABRT)
        except ProcessLookupError:
            pass
    try:
        err = p.communicate(timeout=30)[1]
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        err = p.communicate()[1]
    return "\n".join(report) + "\n" + err[-20000:]


def test_ctrl_c_and_a_killed_parent_leave_no_worker_tracebacks(tmp_path):
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}  # a hang's stacks, should one come (see `_hung`)
    for sig in (signal.SIGINT, signal.SIGKILL):
        out = tmp_path / f"d{int(sig)}"  # each run from nothing: the signal comes while it renders
        cmd = [sys.executable, "-m", "synth", "render", "--out", str(out), "--count", "1000000", "--workers", "2",
               "--quiet", "--shard-size", "200"]
        with _ctrl_c_reaches_children():
            p = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True, cwd=tmp_path,
                                 env=env)
        deadline = time.monotonic() + 120
        images = out / "images"
        while not images.exists() or len([s for s in images.iterdir() if not s.name.startswith(".")]) < 2:
            assert time.monotonic() < deadline and p.poll() is None, p.stderr.read() if p.poll() is not None else ""
            time.sleep(0.2)
        (os.killpg if sig == signal.SIGINT else os.kill)(p.pid, sig)  # a terminal's Ctrl-C reaches the group
        try:
            err = p.communicate(timeout=60)[1]  # the workers share the pipe: it closes when they are gone too
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 60 s after {sig.name}; pytest's SIGINT handler "
                        f"{signal.getsignal(signal.SIGINT)}, mask {signal.pthread_sigmask(signal.SIG_BLOCK, set())}"
                        f"\n{_hung(p)}")
        assert "Traceback" not in err, err
        assert p.returncode == (130 if sig == signal.SIGINT else -signal.SIGKILL), (p.returncode, err)
        assert err.strip() in ("interrupted", ""), err


def test_a_closed_pipe_is_quiet():
    p = subprocess.Popen([sys.executable, "-m", "synth", "fonts"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd=REPO)
    p.stdout.close()  # `synth fonts | head -0`: the reader is gone before the first line
    err = p.communicate(timeout=120)[1].decode()
    assert err == "" and p.returncode == 141


def test_tensorflow_start_up_lines_stay_off_the_screen():
    code = "import train, synth.streaming, tensorflow as tf; tf.constant(1) + 1; print('ok')"
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "SYNTHOCR_TF_LOGS")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.stdout == "ok\n" and done.stderr == "", done.stderr


def test_a_users_train_py_does_not_break_the_train_command(tmp_path):
    """The `train` command's script puts its own folder first on the path, not the working directory, so a
    train.py of the user's there is not imported in the package's place (`python -m train` would run it:
    README, "When something goes wrong")."""
    script = shutil.which("train")
    if script is None:
        pytest.skip("the train command is not installed")
    (tmp_path / "train.py").write_text("raise SystemExit('the user script ran')\n", encoding="utf-8")
    done = subprocess.run([script, "fit", "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0 and "--max-minutes" in done.stdout, done.stderr


# --- the second sweep: values, weights, alphabets, fonts, conversions, flags ---------------------------------

@pytest.mark.parametrize("args, expect", [
    (["--set", "effects.blur.sigma=[-2,-1]"], "effects.blur.sigma (-2.0, -1.0) is outside 0 to 20"),
    (["--set", "effects.stretch.factor=[0,0]"], "effects.stretch.factor (0.0, 0.0) is outside 0.2 to 5"),
    (["--set", "effects.outline.width=[-1,0]"], "effects.outline.width (-1, 0) is outside 1 to 10"),
    (["--set", "effects.rotate.degrees=NaN"], "effects.rotate.degrees nan: give finite numbers"),
    (["--set", "effects.gaussian_noise.std=[1000,2000]"], "effects.gaussian_noise.std (1000.0, 2000.0) is outside"),
    (["--set", "effects.jpeg.quality=[90,30]"], "the low end is above the high end"),
    (["--set", "effects.elastic.amplitude=[0.05,0.1]", "--set", "effects.elastic.scale=[0.05,1]"],
     "effects.elastic: amplitude up to 0.1 over a scale from 0.05 folds the letters"),
    (["--set", "render.margin=1"], "render.margin 1.0 is out of range; use a fraction of the height from 0 to 0.45"),
    (["--set", 'text.case={"lower":0,"upper":0,"title":0,"keep":0}'], "text.case: every weight is 0"),
    (["--text", "random=inf,words=1"], "text.sources (--text) {'random': inf}: each weight must be a finite number"),
    (["--text", "random=-1,words=1"], "each weight must be a finite number >= 0"),
    (["--set", 'effects.paper.kinds={"flat":-1,"gradient":1}'], "effects.paper.kinds {'flat': -1.0}"),
    (["--alphabet", "\u0301"], "has only combining marks (and spaces); a mark is drawn on a letter"),
    (["--seed", str(2**64)], f"--seed {2**64}: give a seed from 0 to {2**64 - 1}"),
    (["--seed", "-1"], "--seed -1: give a seed from 0"),
    (["--width", "AUTO", "--max-len", "100000", "--set", "render.max_width=512"], "lower --max-len to 96"),
])
def test_values_outside_their_domain(args, expect, tmp_path, capsys):
    message = fails(render_args(tmp_path / "o", 5, *args), capsys)
    assert expect in message, message
    assert not (tmp_path / "o").exists()


def test_every_effect_setting_has_a_domain():
    from synth.config import LIMITS, EffectsConfig

    for name, section in EffectsConfig().sections():
        for f in __import__("dataclasses").fields(section):
            if f.name != "p" and isinstance(getattr(section, f.name), int | float | tuple):
                assert f"{name}.{f.name}" in LIMITS, f"effects.{name}.{f.name} has no entry in LIMITS"


def test_alphabet_files_and_names_as_users_write_them(tmp_path, capsys):
    crlf = tmp_path / "chars.txt"
    crlf.write_bytes(b"abc\r\n123\r\n")
    assert synth_main(["config", "--alphabet", f"@{crlf}"]) == 0
    assert json.loads(capsys.readouterr().out)["alphabet"] == "abc123"
    assert synth_main(["config", "--alphabet", "ARABIC"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["fonts"]["scripts"] == ["arabic"] and "\u0627" in cfg["alphabet"]
    assert "control characters" in fails(["config", "--alphabet", "ab\rc"], capsys)


def test_synth_config_prints_only_a_config_that_renders(capsys):
    assert "effects.blur.p nan is not a probability" in fails(["config", "--set", "effects.blur.p=NaN"], capsys)


def test_a_model_config_serves_as_a_data_config(tiny_model, capsys):
    assert synth_main(["config", "--config", str(tiny_model.dir / "config.json")]) == 0
    assert json.loads(capsys.readouterr().out)["alphabet"] == "0123456789"


def test_a_failed_first_shard_leaves_nothing_to_refuse_the_fix(tmp_path, capsys, monkeypatch):
    import synth.dataset

    def broken(*args, **kwargs):
        raise SynthError("this font cannot be drawn")

    out = tmp_path / "d"
    monkeypatch.setattr(synth.dataset, "_render_png_shard", broken)
    assert "this font cannot be drawn" in fails(render_args(out, 5), capsys)
    assert not out.exists()
    monkeypatch.undo()
    assert synth_main(render_args(out, 5)) == 0


def test_web_fonts_and_font_files_given_as_folders(tmp_path, capsys):
    from fontTools.ttLib import TTFont

    font = TTFont(str(next(FONTS.rglob("LiberationSans-Regular.ttf"))))
    font.flavor = "woff"
    (tmp_path / "web").mkdir()
    font.save(str(tmp_path / "web" / "Web.ttf"))  # a web font under a desktop font's name
    assert "is a compressed web font (wOFF); decompress it first" in fails(
        ["render", "--out", str(tmp_path / "o"), "--count", "5", "--no-bundled-fonts", "--font-dir",
         str(tmp_path / "web")], capsys)
    sans = next(FONTS.rglob("LiberationSans-Regular.ttf"))
    assert f"--font-dir {sans} is a file; give the folder that holds it" in fails(
        render_args(tmp_path / "o", 5, "--font-dir", str(sans)), capsys)


def test_a_font_collection_says_it_is_read_for_its_first_face(tmp_path, capsys):
    from fontTools.ttLib import TTCollection, TTFont

    coll = TTCollection()
    coll.fonts = [TTFont(str(next(FONTS.rglob(f"{n}.ttf")))) for n in THREE_FONTS[:2]]
    (tmp_path / "c").mkdir()
    coll.save(str(tmp_path / "c" / "Two.ttc"))
    assert synth_main(["fonts", "--no-bundled-fonts", "--font-dir", str(tmp_path / "c")]) == 0
    assert "font collections are read for their first face only: Two.ttc (2 faces)" in capsys.readouterr().err


def test_convert_checks_what_it_copies(tmp_path, capsys):
    import cv2
    import numpy as np

    png = cv2.imencode(".png", np.full((8, 8), 255, np.uint8))[1].tobytes()
    cases = [
        ({b"num-samples": b"1", b"image-000000001": png, b"label-000000001": b"a\nb"}, "holds a tab or a line break"),
        ({b"num-samples": b"1", b"image-000000001": png, b"label-000000001": b"caf\xe9"}, "is not UTF-8"),
        ({b"num-samples": b"-2"}, "has no num-samples"),
        ({b"num-samples": b"1", b"image-000000001": b"notanimage", b"label-000000001": b"a"}, "image is no PNG"),
    ]
    for k, (items, expect) in enumerate(cases):
        src = lmdb_of(tmp_path / f"src{k}", items)
        assert expect in fails(["convert", str(src), str(tmp_path / f"dst{k}"), "--format", "png", "--quiet"], capsys)
        assert not (tmp_path / f"dst{k}").exists()


def test_predict_and_eval_flags(tiny_model, tmp_path, capsys):
    import cv2
    import numpy as np

    from train.cli import main as train_main

    (tmp_path / "empty").mkdir()
    assert "holds no images" in fails(["predict", "--model", str(tiny_model.dir), str(tmp_path / "empty")], capsys,
                                      train_main)
    assert "image " + str(tmp_path / "none.png") + " not found" in fails(
        ["predict", "--model", str(tiny_model.dir), str(tmp_path / "none.png")], capsys, train_main)
    cv2.imwrite(str(tmp_path / "f.tif"), np.full((32, 64), 0.8, np.float32))
    from synth.image import load_image

    assert load_image(tmp_path / "f.tif").max() == 204  # 0.8 of white, not black
    data = tmp_path / "d"
    assert synth_main(["render", "--out", str(data), "--count", "4", "--workers", "0", "--quiet", "--alphabet",
                       "0123456789", "--width", "64", "--max-len", "4", "--text", "random=1"]) == 0
    assert "--limit -1: score at least 1 image" in fails(
        ["eval", "--model", str(tiny_model.dir), "--data", str(data), "--limit", "-1"], capsys, train_main)
    assert "--worst w.txt: name the PNG file to write" in fails(
        ["eval", "--model", str(tiny_model.dir), "--data", str(data), "--worst", "w.txt"], capsys, train_main)
    assert "--views 5: give 1 to 4" in fails(
        ["eval", "--model", str(tiny_model.dir), "--data", str(data), "--views", "5"], capsys, train_main)
    assert "--views 0: give 1 to 4" in fails(
        ["predict", "--model", str(tiny_model.dir), str(tmp_path / "f.tif"), "--views", "0"], capsys, train_main)
    taken = tmp_path / "taken.txt"
    taken.write_text("mine", encoding="utf-8")
    assert "is a file; give a folder for the report" in fails(
        ["robustness", "--model", str(tiny_model.dir), "--out", str(taken)], capsys, train_main)
    assert "--sweep-count 0: give at least 1" in fails(
        ["robustness", "--model", str(tiny_model.dir), "--out", str(tmp_path / "r"), "--sweep-count", "0"], capsys,
        train_main)
    assert "--holdout-fonts ',' names no font" in fails(
        ["fit", "--out", str(tmp_path / "run"), "--holdout-fonts", ","], capsys, train_main)
    assert not (tmp_path / "run").exists() and taken.read_text(encoding="utf-8") == "mine"


def test_validation_set_names_and_metric(tmp_path, tiny_config):
    from train.fit import fit

    for val, metric, expect in [(["synth"], "nope", "--val-metric 'nope': choose one of"),
                                (["synth", f"synth={tmp_path}"], "word_accuracy", "the name synth is the rendered"),
                                ([f"a={tmp_path}", f"a={tmp_path}"], "word_accuracy", "two sets are named 'a'")]:
        with pytest.raises(SynthError, match=expect):
            fit(tiny_config(steps=1, val=val, val_metric=metric), tmp_path / "run", progress=False)
        assert not (tmp_path / "run").exists()


def test_an_export_where_a_model_dir_belongs(tiny_model, tmp_path):
    from train.export import export
    from train.recognizer import load

    out = export(tiny_model.dir, "onnx", tmp_path / "e")
    with pytest.raises(SynthError, match=f"is an export .*the model dir it was exported from: {tiny_model.dir}"):
        load(out)
    with pytest.raises(SynthError, match="cannot write /proc/x: .*choose an --out you can write to"):
        export(tiny_model.dir, "onnx", "/proc/x")


def test_warnings_are_one_line(tmp_path, capsys):
    @run_cli
    def main(argv=None):
        import warnings

        warnings.warn("16 output steps are below the 2L+1 rule", stacklevel=1)
        return 0

    assert main() == 0
    assert capsys.readouterr().err == "warning: 16 output steps are below the 2L+1 rule\n"


def test_review_findings_stay_fixed(tiny_model, tmp_path, capsys):
    from train.cli import main as train_main
    from train.models import build_model
    from train.runtime import Recognizer

    with pytest.raises(SynthError, match="model 'twoline' reads images of one fixed width"):
        build_model("twoline", 11, 64, None)  # its rows follow each other: a padded row would be read
    assert "line breaks" in fails(["config", "--alphabet", "ab\u2028c"], capsys)
    export = tmp_path / "e"
    export.mkdir()
    (export / "synthocr.json").write_text('{"format": "onnx"}', encoding="utf-8")
    with pytest.raises(SynthError, match="lacks file, alphabet, height, width, output_steps; export the model"):
        Recognizer.from_export(export)
    assert "holds no model.keras" in fails(["robustness", "--model", str(tmp_path / "none"), "--out",
                                            str(tmp_path / "report")], capsys, train_main)
    assert not (tmp_path / "report").exists()


def test_a_wait_in_native_code_ends_on_ctrl_c_and_on_its_time_limit(tmp_path):
    """synth.bounded: a cluster's join (Ray, tf.distribute) blocks in C++, where Ctrl-C would not reach Python and
    a peer that never comes keeps it waiting for ever."""
    code = ("import time, sys; from synth.bounded import bounded; print('waiting', flush=True); "
            "bounded(lambda: time.sleep(30), float(sys.argv[1]), 'nobody came')")
    began = time.monotonic()
    late = subprocess.run([sys.executable, "-c", code, "1"], capture_output=True, text=True, timeout=60)
    assert late.returncode == 2 and late.stderr.strip() == "error: nobody came", late.stderr
    assert time.monotonic() - began < 20
    with _ctrl_c_reaches_children():
        p = subprocess.Popen([sys.executable, "-c", code, "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    assert p.stdout.readline() == "waiting\n"
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=20)
    assert p.returncode == 130 and err.strip() == "interrupted", err
    # a process started with Ctrl-C ignored (a shell's background job) keeps ignoring it while it waits
    ignoring = "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); " + code
    p = subprocess.Popen([sys.executable, "-c", ignoring, "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline() == "waiting\n"
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    time.sleep(1)
    assert p.poll() is None
    p.terminate()
    _, err = p.communicate(timeout=20)
    assert p.returncode == 130 and err.strip() == "interrupted", err

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import fails
from PIL import Image

from synth import SynthConfig
from synth.cli import main

REPO = Path(__file__).resolve().parent.parent
SMALL = ["--set", 'fonts.include=["LiberationSans-Regular","Inconsolata"]', "--max-len", "8"]


def test_missing_font_dir(tmp_path, capsys):
    line = fails(["render", "--out", str(tmp_path / "o"), "--count", "5", "--font-dir", str(tmp_path / "nope")], capsys)
    assert "font folder not found" in line and "nope" in line
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").rglob("*.png"))


def test_empty_alphabet(tmp_path, capsys):
    assert "alphabet is empty" in fails(["render", "--out", str(tmp_path / "o"), "--count", "5", "--alphabet", ""],
                                        capsys)


def test_alphabet_file(tmp_path, capsys):
    chars = tmp_path / "chars.txt"
    chars.write_text("abc\n123\n", encoding="utf-8")
    assert main(["config", "--alphabet", f"@{chars}"]) == 0
    assert json.loads(capsys.readouterr().out)["alphabet"] == "abc123"
    assert "alphabet file" in fails(["config", "--alphabet", f"@{tmp_path / 'none.txt'}"], capsys)


def test_corrupt_font(tmp_path, capsys):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    (fonts / "x.ttf").write_bytes(np.random.default_rng(1).bytes(3000))
    line = fails(["render", "--out", str(tmp_path / "o"), "--count", "5", "--font-dir", str(fonts)], capsys)
    assert "x.ttf" in line and "corrupt" in line


def test_text_no_font_draws(tmp_path, capsys):
    # Ethiopic: no shipped font draws it (M+ 1 Thin draws kanji)
    line = fails(["render", "--out", str(tmp_path / "o"), "--count", "5", "--workers", "0", "--alphabet", "abሀ",
                  "--text", "random=1", "--set", "text.random_chars=ሀ", "--quiet"], capsys)
    assert "no font draws 'ሀ'" in line


@pytest.mark.parametrize("args, expect", [
    (["--set", "nonexistent.key=1"], "no config field 'nonexistent.key': there is no 'nonexistent'"),
    (["--set", "render.nope=1"], "no config field 'render.nope'"),
    (["--set", "render.height=abc"], "render.height: expected int"),
    (["--set", "fonts.size=[0.5]"], "fonts.size: expected 2 values"),
    (["--set", "render"], "KEY=VALUE"),
    (["--width", "wide"], "--width expects a number"),
    (["--text", "random=lots"], "name=weight"),
    (["--text", "poems=1"], "unknown text source"),
    (["--min-len", "0"], "length range"),
    (["--height", "4"], "height 4 is out of range"),
    (["--height", "100000"], "height 100000 is out of range"),
    (["--shard-size", "-3"], "--shard-size -3: give at least 1"),
    (["--shard-size", "0"], "--shard-size 0: give at least 1"),
    (["--workers", "-1"], "--workers -1: give 0"),
])
def test_bad_values(args, expect, tmp_path, capsys):
    assert expect in fails(["render", "--out", str(tmp_path / "o"), "--count", "5", "--workers", "0", *args], capsys)
    assert not (tmp_path / "o").exists()  # refused before anything was written: the fixed command is not refused


def test_bad_config_files(tmp_path, capsys):
    assert "config file" in fails(["config", "--config", str(tmp_path / "none.json")], capsys)
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    assert "not valid JSON" in fails(["config", "--config", str(bad)], capsys)
    bad.write_text('{"render": {"hieght": 32}}', encoding="utf-8")
    assert "'hieght'" in fails(["config", "--config", str(bad)], capsys)
    bad.write_text('{"render": {"height": "tall"}}', encoding="utf-8")
    assert "render.height" in fails(["config", "--config", str(bad)], capsys)


def test_string_fields_take_values_that_look_like_json(capsys):
    assert main(["config", "--set", "text.random_chars=0123", "--set", "render.width=null"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["text"]["random_chars"] == "0123" and cfg["render"]["width"] is None


def test_config_round_trip(tmp_path, capsys):
    argv = ["config", "--height", "40", "--width", "auto", "--no-effects", "--text", "random=1,words=2",
            "--set", "fonts.size=[0.6,0.7]", "--set", "effects.blur.p=0.5", "--alphabet", "abc ", "--min-len", "2"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    data = json.loads(printed)
    assert data["render"]["height"] == 40 and data["render"]["width"] is None
    assert data["text"]["sources"] == {"random": 1.0, "words": 2.0} and data["alphabet"] == "abc "
    assert data["effects"]["blur"]["p"] == 0.5 and data["effects"]["rotate"]["p"] == 0.0
    path = tmp_path / "cfg.json"
    path.write_text(printed, encoding="utf-8")
    loaded = SynthConfig.load(path)
    assert loaded.fonts.size == (0.6, 0.7) and loaded.text.min_len == 2
    assert main(["config", "--config", str(path)]) == 0
    assert capsys.readouterr().out == printed
    assert main(["config", "--config", str(path), "--height", "24"]) == 0  # flags override the file
    assert json.loads(capsys.readouterr().out)["render"]["height"] == 24


def test_config_from_a_dataset_manifest(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["render", "--out", str(out), "--count", "3", "--workers", "0", "--quiet", "--height", "24",
                 *SMALL]) == 0
    assert f"wrote 3 samples to {out}" in capsys.readouterr().out
    assert main(["config", "--config", str(out / "manifest.json")]) == 0
    assert json.loads(capsys.readouterr().out)["render"]["height"] == 24
    png = next((out / "images" / "00000").glob("*.png"))
    assert Image.open(png).size == (128, 24)


def test_preview_writes_a_png(tmp_path, capsys):
    out = tmp_path / "sheet" / "x.png"
    assert main(["preview", "--out", str(out), "--count", "6", "--columns", "3", *SMALL]) == 0
    assert str(out) in capsys.readouterr().out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(out) as im:
        w, h = im.size
        assert w > 3 * 128 * 2 and h > 2 * 32 * 2  # three columns, two rows of 2x tiles with captions
        assert np.asarray(im.convert("L")).std() > 10


def test_entry_point_exit_code_and_no_tensorflow(tmp_path):
    # a real process: the error path prints one line, and rendering never imports TensorFlow
    env_cmd = [sys.executable, "-m", "synth", "render", "--out", str(tmp_path / "o"), "--count", "2",
               "--font-dir", str(tmp_path / "missing")]
    done = subprocess.run(env_cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and done.stderr.startswith("error: font folder")
    probe = ("import sys; from synth.cli import main; "
             f"rc = main(['render', '--out', {str(tmp_path / 'ok')!r}, '--count', '2', '--workers', '0', '--quiet']); "
             "print(rc, 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "0 False", done.stderr


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["render", "--count", "3"])  # --out missing
    assert e.value.code == 2
    assert "--out" in capsys.readouterr().err


def test_lines_preset(tmp_path, capsys):
    assert main(["config", "--preset", "lines", "--set", "text.max_len=50"]) == 0
    cfg = SynthConfig.from_dict(json.loads(capsys.readouterr().out))
    assert cfg.text.sources == {"prose": 1.0} and cfg.text.max_len == 50 and cfg.render.width is None
    assert "--config and --preset" in fails(["config", "--preset", "lines", "--config", str(tmp_path / "c.json")],
                                            capsys)
    assert main(["render", "--out", str(tmp_path / "o"), "--count", "6", "--preset", "lines", *SMALL[:2]]) == 0
    sizes = [Image.open(p).size for p in sorted((tmp_path / "o").rglob("*.png"))]
    assert len(sizes) == 6 and all(h == 32 for _, h in sizes) and max(w for w, _ in sizes) > 200  # lines

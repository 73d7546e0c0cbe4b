import collections
import hashlib
import json
import os
import re
import string

import numpy as np
import pytest
from fontTools.ttLib import TTFont
from PIL import ImageFont

import synth.fonts
from synth import FontConfig, FontLibrary, Renderer, SynthConfig, SynthError, TextConfig
from synth.alphabet import DEFAULT_CHARS
from synth.cli import main
from synth.fonts import BUNDLED_DIR, discover, render_check

SUBSET_LACKS = "0123456789Q"


def only(folder) -> FontConfig:
    return FontConfig(dirs=[str(folder)], bundled=False)


def test_bundled_fonts_are_found_and_cover_the_default_alphabet():
    files = discover(FontConfig())
    names = [p.stem for p in files]
    assert len(names) == len(set(names)) >= 10
    assert all(p.is_relative_to(BUNDLED_DIR) for p in files)
    lib = FontLibrary(FontConfig(include=["LiberationSans-Regular", "Inconsolata"]), DEFAULT_CHARS)
    assert [f.name for f in lib.fonts] == ["Inconsolata", "LiberationSans-Regular"]
    for f in lib.fonts:
        assert f.lacks(DEFAULT_CHARS) == ""
        assert len(f.sha256) == 64 and f.family


def test_include_exclude():
    names = {p.stem for p in discover(FontConfig(exclude=["Breip", "Inconsolata"]))}
    assert "Breip" not in names and "Inconsolata" not in names and "LiberationSans-Regular" in names
    with pytest.raises(SynthError, match="no font files"):
        discover(FontConfig(include=["NoSuchFont"]))


def test_subset_font_coverage(font_dir):
    lib = FontLibrary(only(font_dir), DEFAULT_CHARS)
    assert sorted(f.name for f in lib.fonts) == ["LiberationSans-Regular", "NoQDigits"]
    assert lib.get("NoQDigits").lacks(DEFAULT_CHARS) == SUBSET_LACKS
    assert lib.get("LiberationSans-Regular").lacks(DEFAULT_CHARS) == ""
    # the subset lacks these in its cmap: coverage comes from the cmap, not just a render
    cmap = TTFont(str(font_dir / "NoQDigits.ttf")).getBestCmap()
    assert ord("Q") not in cmap and ord("R") in cmap


def test_font_lacking_glyphs_is_never_chosen_for_them(font_dir):
    cfg = SynthConfig(text=TextConfig(sources={"random": 1.0}, random_chars="Q1ab", min_len=1, max_len=3),
                      fonts=only(font_dir))
    r = Renderer(cfg)
    chosen = {"needs": set(), "free": set()}
    for i in range(400):
        spec = r.sample_spec(0, i)
        needs = bool(set(spec.text) & set(SUBSET_LACKS))
        chosen["needs" if needs else "free"].add(spec.font)
        if needs:
            assert spec.font == "LiberationSans-Regular", spec.text
    assert chosen["needs"] == {"LiberationSans-Regular"}
    assert chosen["free"] == {"LiberationSans-Regular", "NoQDigits"}  # it is chosen where it can draw the text


def test_rendering_a_spec_in_a_font_that_lacks_its_text(font_dir):
    r = Renderer(SynthConfig(text=TextConfig(sources={"random": 1.0}), fonts=only(font_dir)))
    spec = r.sample_spec(0, 0)
    spec.text, spec.font = "Quiz 42", "NoQDigits"
    with pytest.raises(SynthError, match=r"NoQDigits cannot draw 'Q42'"):
        r.render_spec(spec)


def test_fonts_command_reports_what_a_font_lacks(font_dir, capsys):
    assert main(["fonts", "--font-dir", str(font_dir), "--no-bundled-fonts"]) == 0
    out = capsys.readouterr().out
    n = len(DEFAULT_CHARS)
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert f"{n - len(SUBSET_LACKS)}/{n}" in rows["NoQDigits"] and repr(SUBSET_LACKS) in rows["NoQDigits"]
    assert re.search(rf"{n}/{n}\s+-$", rows["LiberationSans-Regular"])
    assert "no font draws" not in out


def test_fonts_command_reports_characters_no_font_draws(font_dir, capsys):
    assert main(["fonts", "--font-dir", str(font_dir), "--no-bundled-fonts", "--alphabet", "ab漢"]) == 0
    assert "no font draws: '漢'" in capsys.readouterr().out


def test_render_check_rejects_empty_glyphs(blank_glyph_dir, tmp_path, monkeypatch):
    path = blank_glyph_dir / "BlankQ.ttf"
    cmap = TTFont(str(path)).getBestCmap()
    assert ord("Q") in cmap  # the cmap claims it...
    font = ImageFont.truetype(str(path), 32)
    assert render_check(font, "QAB 1", set(cmap)) == "AB 1"  # ...the render check does not
    # through the library, with a fresh cache so the check really runs, then from that cache
    monkeypatch.setenv("SYNTHOCR_CACHE", str(tmp_path / "cache"))
    lib = FontLibrary(only(blank_glyph_dir), DEFAULT_CHARS)
    assert lib.fonts[0].lacks(DEFAULT_CHARS) == "Q"
    cache = json.loads(next((tmp_path / "cache").glob("coverage-*.json")).read_text(encoding="utf-8"))
    entry = cache[lib.fonts[0].sha256]
    assert "Q" in entry["checked"] and "Q" not in entry["covered"]

    def no_check(*args):
        raise AssertionError("the cached coverage should have been used")

    monkeypatch.setattr(synth.fonts, "render_check", no_check)
    assert FontLibrary(only(blank_glyph_dir), DEFAULT_CHARS).fonts[0].lacks(DEFAULT_CHARS) == "Q"
    # a wider alphabet checks only the new characters, and keeps the old result
    checked = []
    monkeypatch.setattr(synth.fonts, "render_check", lambda font, chars, cmap: checked.append(chars) or chars)
    lib = FontLibrary(only(blank_glyph_dir), DEFAULT_CHARS + "é")
    assert checked == ["é"]
    assert lib.fonts[0].lacks(DEFAULT_CHARS + "é") == "Q"


def test_render_check_rejects_notdef_box():
    font = ImageFont.truetype(str(BUNDLED_DIR / "liberation" / "LiberationSans-Regular.ttf"), 32)
    # a cmap that claims a character the font does not have: drawing it gives the .notdef box
    assert render_check(font, "A\u4e00", {ord("A"), 0x4E00}) == "A"


def test_missing_font_folder(tmp_path):
    missing = tmp_path / "no-such-fonts"
    with pytest.raises(SynthError) as e:
        FontLibrary(only(missing), "abc")
    assert "font folder not found" in str(e.value) and str(missing) in str(e.value)


def test_empty_font_folder(tmp_path):
    (tmp_path / "readme.txt").write_text("no fonts here")
    with pytest.raises(SynthError, match="no font files"):
        FontLibrary(only(tmp_path), "abc")


def test_corrupt_font_file(tmp_path):
    (tmp_path / "x.ttf").write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(SynthError) as e:
        FontLibrary(only(tmp_path), "abc")
    msg = str(e.value)
    assert "x.ttf" in msg and "corrupt" in msg and "remove it" in msg


def test_truncated_font_file(tmp_path):
    data = (BUNDLED_DIR / "liberation" / "LiberationSans-Regular.ttf").read_bytes()
    (tmp_path / "cut.ttf").write_bytes(data[: len(data) // 3])
    with pytest.raises(SynthError, match="cut.ttf"):
        FontLibrary(only(tmp_path), "abc")


def test_text_no_font_covers(font_dir):
    cfg = SynthConfig(alphabet="ab漢", text=TextConfig(sources={"random": 1.0}, random_chars="漢"),
                      fonts=only(font_dir))
    with pytest.raises(SynthError) as e:
        Renderer(cfg)
    msg = str(e.value)
    assert "no font draws '漢'" in msg and "--font-dir" in msg and "synth fonts" in msg


def test_no_single_font_covers_the_text(tmp_path, subset_font):
    subset_font(tmp_path / "NoA.ttf", drop="A")
    subset_font(tmp_path / "NoB.ttf", drop="B")
    lib = FontLibrary(only(tmp_path), "AB")
    assert lib.candidates("A") == (1,) and lib.candidates("B") == (0,)
    with pytest.raises(SynthError, match="no single font draws them all"):
        lib.candidates("AB")


def test_unknown_font_name(font_dir):
    lib = FontLibrary(only(font_dir), "abc")
    with pytest.raises(SynthError, match="NoQDigits"):
        lib.get("Arial")


def test_manifest_names_and_hashes(font_dir):
    lib = FontLibrary(only(font_dir), "abc")
    rows = {m["name"]: m for m in lib.manifest()}
    assert rows["NoQDigits"]["file"] == "NoQDigits.ttf"
    assert rows["NoQDigits"]["sha256"] == hashlib.sha256((font_dir / "NoQDigits.ttf").read_bytes()).hexdigest()


def test_made_fonts_are_reproducible(font_dir, tmp_path, subset_font):
    # the coverage cache is keyed by hash: a font made anew each run must have the same bytes
    again = subset_font(tmp_path / "again.ttf")
    assert again.read_bytes() == (font_dir / "NoQDigits.ttf").read_bytes()
    assert os.path.getsize(again) < os.path.getsize(BUNDLED_DIR / "liberation" / "LiberationSans-Regular.ttf")


def test_font_weights_shift_the_draw(make_config, three_fonts):
    cfg = make_config()
    r = Renderer(cfg)
    plain = collections.Counter(r.sample_spec(0, i).font for i in range(3000))
    cfg.fonts.weights = {three_fonts[0]: 4.0}
    r = Renderer(cfg)
    weighted = collections.Counter(r.sample_spec(0, i).font for i in range(3000))
    assert all(abs(n / 3000 - 1 / 3) < 0.04 for n in plain.values()), plain
    assert abs(weighted[three_fonts[0]] / 3000 - 4 / 6) < 0.04, weighted  # 4 of 4 + 1 + 1
    assert r.sample_spec(0, 5).font == r.sample_spec(0, 5).font  # still a function of (seed, index)


def test_font_weights_are_checked(make_config, three_fonts):
    cfg = make_config()
    cfg.fonts.weights = {"NoSuchFont": 2.0}
    with pytest.raises(SynthError, match="NoSuchFont.*synth fonts"):
        Renderer(cfg)
    cfg.fonts.weights = {three_fonts[1]: 0.0}
    with pytest.raises(SynthError, match="positive"):
        Renderer(cfg)
    cfg.fonts.weights = {three_fonts[1]: 3.0}
    cfg.fonts.exclude = [three_fonts[1]]  # a held-out font keeps its weight in the config, and stays out
    r = Renderer(cfg)
    assert three_fonts[1] not in {r.sample_spec(0, i).font for i in range(200)}


def test_system_fonts_join_and_unreadable_ones_are_passed_over(tmp_path, monkeypatch, font_dir):
    import shutil

    good, bad = tmp_path / "SysSans.ttf", tmp_path / "Broken.ttf"
    shutil.copy(font_dir / "LiberationSans-Regular.ttf", good)
    bad.write_bytes(b"not a font")
    monkeypatch.setattr(synth.fonts, "system_font_files", lambda: [bad, good])
    cfg = FontConfig(bundled=False, system=True)
    lib = FontLibrary(cfg, "abc")
    assert [f.name for f in lib.fonts] == ["SysSans"]
    assert [p for p, _ in lib.skipped] == [str(bad)] and "cannot be read" in lib.skipped[0][1]
    with pytest.raises(SynthError, match="cannot be read"):  # the user's own folders are still refused
        FontLibrary(FontConfig(bundled=False, dirs=[str(tmp_path)]), "abc")


def test_system_font_files_without_fontconfig(tmp_path, monkeypatch):
    import shutil as sh

    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "A.ttf").write_bytes(b"x")
    (tmp_path / "fonts" / "notes.txt").write_text("x")
    monkeypatch.setattr(sh, "which", lambda name: None)
    monkeypatch.setattr(synth.fonts, "SYSTEM_FONT_DIRS", (str(tmp_path / "fonts"), str(tmp_path / "none")))
    assert synth.fonts.system_font_files() == [tmp_path / "fonts" / "A.ttf"]


def test_fonts_whose_letters_are_other_symbols_are_left_out(tmp_path, capsys):
    """A cipher of LiberationSans: every ASCII letter mapped to another letter's glyph, as symbol and dingbat
    fonts map them to stars and Greek. Its cmap and its render check pass; it must not draw Latin labels."""
    import shutil

    from conftest import SANS

    font = TTFont(str(SANS))
    letters = list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    best = font.getBestCmap()
    glyphs = [best[ord(c)] for c in letters]
    for table in font["cmap"].tables:
        if table.isUnicode():
            for c, g in zip(letters, glyphs[1:] + glyphs[:1], strict=True):
                table.cmap[ord(c)] = g
    (tmp_path / "fonts").mkdir()
    font.save(str(tmp_path / "fonts" / "Cipher.ttf"))
    shutil.copy(SANS, tmp_path / "fonts" / SANS.name)
    cfg = FontConfig(bundled=False, dirs=[str(tmp_path / "fonts")])
    lib = synth.fonts.library(cfg, DEFAULT_CHARS)
    assert [f.name for f in lib.fonts] == ["LiberationSans-Regular"]
    assert "Cipher" in lib.skipped[0][0] and "symbol" in lib.skipped[0][1]
    assert "1 font(s) left out (Cipher)" in capsys.readouterr().err
    assert main(["fonts", "--no-bundled-fonts", "--font-dir", str(tmp_path / "fonts")]) == 0
    assert "left out" in capsys.readouterr().out
    (tmp_path / "fonts" / SANS.name).unlink()
    with pytest.raises(SynthError, match="every font was left out"):
        FontLibrary(cfg, DEFAULT_CHARS)


def test_a_face_of_capitals_does_not_claim_the_lowercase():
    """Bebas Neue maps a-z to its capitals' glyphs, and the handwritten BWHT faces draw block capitals at a
    capital's height for a-z: neither may be drawn under a lowercase label. A true lowercase keeps its letters."""
    from synth.fonts import SCRIPTS_DIR

    lib = FontLibrary(FontConfig(bundled=False, scripts=["plates", "hands"]), string.ascii_letters)
    for f in lib.fonts:
        if f.name.startswith(("BebasNeue", "BecauseWe")):
            assert f.lacks(string.ascii_letters) == string.ascii_lowercase, f.name
        else:
            assert f.lacks(string.ascii_letters) == "", f.name  # OSP-DIN has a lowercase
    assert (SCRIPTS_DIR / "hands" / "LICENSE").is_file() and (SCRIPTS_DIR / "plates" / "LICENSE").is_file()


def test_the_hand_preset_draws_with_hands():
    from synth.config import HAND_FONTS

    r = Renderer(SynthConfig.preset("hand"))
    fonts = {r.sample_spec(0, i).font for i in range(60)}
    assert fonts <= set(HAND_FONTS) and len(fonts) >= 4


def test_every_shipped_font_is_listed_with_its_licence():
    """fonts/README.md names every font file the repo ships, and each one's folder (or the one above) holds
    its LICENSE: a font added without either would ship without its terms."""
    from synth.fonts import BUNDLED_DIR

    readme = (BUNDLED_DIR / "README.md").read_text(encoding="utf-8")
    files = [f for f in BUNDLED_DIR.rglob("*") if f.suffix.lower() in (".ttf", ".otf", ".ttc")]
    assert len(files) > 80
    assert [f.name for f in files if f.name not in readme] == []
    assert [str(f) for f in files if not (f.parent / "LICENSE").exists()
            and not (f.parent.parent / "LICENSE").exists()] == []

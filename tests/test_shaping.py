"""Text drawn as typesetting draws it: our glyph-atlas drawing of shaped text against Pillow's raqm layout (HarfBuzz
and FriBiDi) of the same string in the same font, in Arabic, Hebrew, Devanagari, Thai, Bengali and Latin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import ImageFont, features

from synth.direction import has_rtl, visual_runs
from synth.draw import GlyphAtlas, draw_line
from synth.fonts import BUNDLED_DIR, LetterBox
from synth.shaping import Shaper

SCRIPTS = BUNDLED_DIR / "scripts"
FONT = {
    "arabic": SCRIPTS / "arabic" / "NotoSansArabic-Regular.ttf",
    "hebrew": SCRIPTS / "hebrew" / "NotoSansHebrew-Regular.ttf",
    "devanagari": SCRIPTS / "devanagari" / "NotoSansDevanagari-Regular.ttf",
    "thai": SCRIPTS / "thai" / "NotoSansThai-Regular.ttf",
    "bengali": SCRIPTS / "bengali" / "NotoSansBengali-Regular.ttf",
    "korean": SCRIPTS / "korean" / "NanumSquareR.ttf",
    "latin": BUNDLED_DIR / "liberation" / "LiberationSans-Regular.ttf",
}
TEXTS = {
    "arabic": ["مرحبا بالعالم", "السلام عليكم", "كتاب", "مدرسة ١٢٣", "العربية 2024"],
    "hebrew": ["שלום עולם", "ספר", "ירושלים", "בית 42"],
    "devanagari": ["नमस्ते", "हिन्दी", "क्षत्रिय", "विद्यालय", "प्रार्थना"],
    "thai": ["สวัสดี", "ภาษาไทย", "น้ำ", "ที่นี่"],
    "bengali": ["বাংলা", "ক্ষমা", "স্বাধীনতা", "প্রশ্ন"],
    "korean": ["서울 12가 3456", "한국어", "부산광역시", "대한민국 2024"],
    # kerning pairs, precomposed accents, and combining ones placed on their letters by the font's marks
    "latin": ["AVATAR To WAY", "Tyre fjord", "naïve café", "Zoë Ångström",
              "cafe\u0301 nai\u0308ve A\u030angstro\u0308m"],
}
#: least overlap of the two inks (shared ink over all ink, after aligning their boxes) that counts as the same
#: drawing; wrong ones (no shaping, reversed order, isolated letters) score far lower (see the last test)
SAME = 0.80
PX = 40

needs_raqm = pytest.mark.skipif(not features.check("raqm"), reason="Pillow without raqm: nothing to compare with")


def ours(script: str, text: str, px: int = PX) -> np.ndarray:
    path = str(FONT[script])
    atlas = GlyphAtlas(path, px, LetterBox(1.0, 0.4, 1.0), Shaper(path))
    return draw_line(atlas, text, 0.0)[0]


def pillow(script: str, text: str, px: int = PX, layout: ImageFont.Layout = ImageFont.Layout.RAQM) -> np.ndarray:
    font = ImageFont.truetype(str(FONT[script]), px, layout_engine=layout)
    mask = font.getmask(text, mode="L")
    return np.asarray(mask, np.uint8).reshape(mask.size[1], mask.size[0])


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Shared ink over all ink (soft intersection over union) of two masks, each cropped to its ink, the best
    over small shifts (the two pens round differently)."""
    a, b = crop(a).astype(np.float32), crop(b).astype(np.float32)
    h, w = max(a.shape[0], b.shape[0]) + 4, max(a.shape[1], b.shape[1]) + 4
    pa = np.zeros((h, w), np.float32)
    pa[2 : 2 + a.shape[0], 2 : 2 + a.shape[1]] = a
    best = 0.0
    for dy in range(5):
        for dx in range(5):
            pb = np.zeros((h, w), np.float32)
            pb[dy : dy + b.shape[0], dx : dx + b.shape[1]] = b[: h - dy, : w - dx]
            best = max(best, float(np.minimum(pa, pb).sum() / np.maximum(pa, pb).sum()))
    return best


def crop(m: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(m.max(axis=1) > 40), np.flatnonzero(m.max(axis=0) > 40)
    return m[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


@needs_raqm
@pytest.mark.parametrize("script", sorted(TEXTS))
def test_drawn_as_raqm_draws_it(script):
    for text in TEXTS[script]:
        score = overlap(ours(script, text), pillow(script, text))
        assert score >= SAME, (script, text, score)


@needs_raqm
def test_the_comparison_tells_wrong_drawings_apart():
    """Isolated Arabic letters in the wrong order, Devanagari without reordering and conjuncts, Latin without
    kerning: what a per-character drawing gives, and what the threshold must refuse."""
    basic = ImageFont.Layout.BASIC
    for script, text in [("arabic", "مرحبا بالعالم"), ("devanagari", "क्षत्रिय"), ("devanagari", "हिन्दी")]:
        assert overlap(ours(script, text), pillow(script, text, layout=basic)) < SAME - 0.1, text
    assert overlap(ours("hebrew", "שלום עולם"), pillow("hebrew", "שלום עולם"[::-1])) < SAME - 0.1


def test_kerning_closes_pairs():
    plain = ImageFont.truetype(str(FONT["latin"]), PX, layout_engine=ImageFont.Layout.BASIC)
    for pair in ("AV", "To", "WA"):
        kerned = crop(ours("latin", pair)).shape[1]
        assert kerned < plain.getbbox(pair)[2] - plain.getbbox(pair)[0] - 1, pair


def test_runs_in_visual_order_as_the_bidi_algorithm_displays_them():
    from bidi import get_base_level, get_display

    for text in ["abc אבג 123 def", "שלום 12 abc", "مرحبا 2024 world", "abc", "כתובת: רחוב 5, tel 03-1234",
                 "السعر ١٢٣ ريال (approx.)"]:
        runs = visual_runs(text, rtl=get_base_level(text) == 1)  # the paragraph's direction: its first letter's
        assert sorted(i for a, b, _ in runs for i in range(a, b)) == list(range(len(text)))  # each char once
        # a right-to-left run reads backwards (python-bidi's display leaves brackets unmirrored; HarfBuzz mirrors
        # their glyphs)
        shown = "".join(text[a:b][::-1] if rtl else text[a:b] for a, b, rtl in runs)
        assert shown == get_display(text), (text, shown)
    glyphs = Shaper(str(FONT["hebrew"])).shape("שלום", rtl=True).glyphs
    assert [g.cluster for g in glyphs] == [3, 2, 1, 0]  # drawn right to left: the last letter leftmost


def test_marks_without_a_base_are_not_clean():
    shaper = Shaper(str(FONT["devanagari"]))
    assert shaper.shape("नमस्ते").clean
    lone = shaper.shape("ि")  # a vowel sign with no consonant
    assert lone.broken and not lone.clean
    latin = Shaper(str(FONT["latin"])).shape("abc\u0915")  # a Devanagari letter Liberation Sans lacks
    assert latin.missing == "\u0915"


def test_scripts_fonts_are_shipped():
    for path in FONT.values():
        assert Path(path).is_file(), path


def test_script_fonts_join_only_when_named():
    from synth import FontConfig, SynthError
    from synth.fonts import SCRIPTS_DIR, discover

    assert not any(p.is_relative_to(SCRIPTS_DIR) for p in discover(FontConfig()))
    named = discover(FontConfig(scripts=["arabic", "thai"]))
    scripts = {p.stem for p in named if p.is_relative_to(SCRIPTS_DIR)}
    assert scripts == {"NotoSansArabic-Regular", "NotoSansThai-Regular"}
    with pytest.raises(SynthError, match=r"no bundled fonts for script 'klingon'.*'arabic'"):
        discover(FontConfig(scripts=["klingon"]))


@pytest.mark.parametrize("script", ["arabic", "hebrew", "devanagari", "thai", "bengali", "korean"])
def test_a_named_alphabet_renders_its_script_cleanly(tmp_path, script):
    from synth.cli import main
    from synth.dataset import iter_samples

    out = tmp_path / script
    assert main(["render", "--alphabet", script, "--count", "24", "--out", str(out), "--workers", "0", "--quiet"]) == 0
    chars = set((BUNDLED_DIR.parent / "synth" / "data" / "alphabets" / f"{script}.txt").read_text("utf-8").strip())
    for img, text, font in iter_samples(out):
        ink = np.abs(img.astype(np.int16) - np.median(img)).max()  # ink stands out of the paper, dark or light
        assert set(text) <= chars | {" "} and ink > 40, (text, font)


def test_what_cannot_be_drawn_as_it_reads_is_refused(tmp_path):
    import dataclasses

    from synth import Renderer, SynthConfig, SynthError

    cfg = SynthConfig(alphabet="कखगि ")
    cfg.fonts.scripts, cfg.fonts.bundled, cfg.text.sources = ["devanagari"], False, {"random": 1.0}
    r = Renderer(cfg)
    spec = dataclasses.replace(r.sample_spec(0, 0), text="ि", font="NotoSansDevanagari-Regular")
    with pytest.raises(SynthError, match="dotted circle"):
        r.render_spec(spec)
    cfg.alphabet = "ि"  # nothing but a lone vowel sign
    with pytest.raises(SynthError, match=r"has only combining marks"):
        Renderer(cfg)
    corpus = tmp_path / "marks.txt"
    corpus.write_text("िक\nििक\n", encoding="utf-8")  # every line opens with a vowel sign on no consonant
    cfg.alphabet, cfg.text.sources, cfg.text.corpus = "कि", {"corpus": 1.0}, str(corpus)
    with pytest.raises(SynthError, match=r"50 texts in a row could not be shaped cleanly"):
        Renderer(cfg).sample_spec(0, 0)


@pytest.mark.parametrize("alphabet, effects", [(None, "geometry"), ("hebrew", "geometry"), ("devanagari", "geometry"),
                                               ("arabic", "off"), (None, "tight")])
def test_each_character_box_holds_its_ink(alphabet, effects):
    """Boxes on the output image, after rotation, shear, perspective and the crop: the image's ink lies in the
    boxes, every box holds ink, and right-to-left letters' boxes run right to left."""
    import argparse

    from synth import EffectsConfig, Renderer
    from synth.flags import add_config_args, config_from_args

    p = argparse.ArgumentParser()
    add_config_args(p)
    cfg = config_from_args(p.parse_args(["--alphabet", alphabet] if alphabet else []))
    cfg.effects = EffectsConfig.off()
    if effects == "geometry":
        cfg.effects.rotate.p = cfg.effects.shear.p = cfg.effects.perspective.p = 1.0
    else:
        cfg.effects.tight.p = 1.0 if effects == "tight" else 0.0
    cfg.render.width, cfg.render.height = None, 48
    r = Renderer(cfg)
    for i in range(12):
        img, spec = r.render(7, i, boxes=True)
        assert len(spec.boxes) == len(spec.text)
        ink = img < 96
        inside = np.zeros_like(ink)
        for ch, b in zip(spec.text, spec.boxes, strict=True):
            if b is None:
                assert ch.isspace()
                continue
            x0, y0, x1, y1 = int(np.floor(b[0])), int(np.floor(b[1])), int(np.ceil(b[2])), int(np.ceil(b[3]))
            assert ink[y0:y1, x0:x1].any(), (spec.text, ch, b)
            inside[max(y0 - 1, 0) : y1 + 1, max(x0 - 1, 0) : x1 + 1] = True
        assert ink[inside].sum() >= 0.99 * ink.sum(), spec.text
        letters = [b for ch, b in zip(spec.text, spec.boxes, strict=True) if has_rtl(ch)]
        if effects == "off" and len(letters) > 1:  # upright: the first letter's box is rightmost
            assert letters[0][0] > letters[-1][0], spec.text
        inked = [b for b in spec.boxes if b is not None]
        if alphabet is None and len(inked) > 1:
            assert inked[0][0] < inked[-1][0], spec.text


def test_datasets_carry_the_boxes(tmp_path):
    import json

    import synth

    synth.write(synth.SynthConfig(), tmp_path / "d", 6, workers=0, progress=False)
    for line in (tmp_path / "d" / "images" / "00000" / "specs.jsonl").read_text(encoding="utf-8").splitlines():
        spec = json.loads(line)
        assert len(spec["boxes"]) == len(spec["text"]) and any(spec["boxes"])

"""Every effect, one by one: it fires at its probability, its parameters stay within its config's range, it is a
function of (seed, index), and the label's characters stay on the image."""

from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest

from synth import EffectsConfig, Renderer, SynthConfig

N = 300


def within(value: float, lo_hi: tuple[float, float]) -> bool:
    return lo_hi[0] - 1e-9 <= value <= lo_hi[1] + 1e-9


def fx_of(spec, name: str):
    """(fired, parameters) of effect `name` in a spec, wherever the spec keeps it."""
    g, lay = spec.geometry, spec.layout
    return {
        "rotate": (g["angle"] != 0.0, g["angle"]),
        "upside_down": (g["upside_down"], None),
        "shear": (g["shear"] != 0.0, g["shear"]),
        "perspective": (g["perspective"] is not None, g["perspective"]),
        "tight": (lay["tight"], None),
        "curly_quotes": (lay["curly_quotes"], None),
        "stretch": (lay["stretch"] != 1.0, lay["stretch"]),
        "paper": (spec.paper["kind"] != "flat", spec.paper),
    }.get(name, (spec.effects.get(name) is not None, spec.effects.get(name)))


def in_range(name: str, p, fx: EffectsConfig) -> bool:
    """Whether parameters `p` of effect `name` lie within its section's settings."""
    c = getattr(fx, name)
    checks = {
        "rotate": lambda: abs(p) <= c.degrees,
        "shear": lambda: abs(p) <= c.factor,
        "perspective": lambda: all(abs(v) <= c.jitter for v in p),
        "stretch": lambda: within(p, c.factor),
        "paper": lambda: within(p["paper"], c.paper) and within(p["ink"], c.ink) and c.kinds.get(p["kind"], 0) > 0,
        "blur": lambda: within(p["sigma"], c.sigma),
        "gaussian_noise": lambda: within(p["std"], c.std),
        "speckle": lambda: within(p["std"], (255 * c.std[0], 255 * c.std[1])),
        "salt_pepper": lambda: within(p["amount"], c.amount),
        "binarize": lambda: within(p["shift"], c.shift),
        "stroke_weight": lambda: within(p["shift"], c.shift),
        "jpeg": lambda: c.quality[0] <= p["quality"] <= c.quality[1],
        "underline": lambda: within(p["thickness"], c.thickness) and isinstance(p["strike"], bool),
        "colour": lambda: all(0 <= v <= 255 for v in p["paper"] + p["ink"])
        and abs(Colour_luma(p["paper"]) - Colour_luma(p["ink"])) >= c.min_contrast - 1,  # (rounding)
        "shadow": lambda: within(abs(p["dx"]), c.offset) and within(p["dy"], c.offset)
        and within(p["darkness"], c.darkness) and within(p["blur"], c.blur),
        "outline": lambda: c.width[0] <= p["width"] <= c.width[1] and 0 <= p["grey"] <= 255,
        "lighting": lambda: within(p["ramp"], c.strength) and abs(p["spot_gain"]) <= c.strength[1],
        "motion_blur": lambda: within(p["length"], c.length),
        "low_res": lambda: within(p["scale"], c.scale),
        "jitter": lambda: p["angle"] == c.angle and tuple(p["scale"]) == c.scale and p["rise"] == c.rise,
        "curve": lambda: within(p["thickness"], c.thickness) and within(p["amplitude"], c.amplitude)
        and within(p["cycles"], c.cycles),
        "plate": lambda: within(p["pad_x"], c.padding) and within(2 * p["pad_y"], c.padding)
        and within(p["thickness"], c.thickness),
        "arc": lambda: within(abs(p["bend"]), c.bend) and (p["cycles"] is None or within(p["cycles"], c.cycles)),
        "elastic": lambda: within(p["amplitude"], c.amplitude) and within(p["scale"], c.scale)
        and all(0 <= v <= 1 for v in p["offset"]),
        "extrude": lambda: within(p["depth"], c.depth) and 0 <= p["angle"] <= 360 and 0 <= p["grey"] <= 255,
        "neighbours": lambda: p["sides"] in ("left", "right", "both") and all(within(g, c.gap) for g in p["gap"])
        and all(within(v, c.width) for v in p["width"]),
        "panel": lambda: all(within(d, c.distance) for d in p["sides"]) and 0 <= p["grey"] <= 255
        and (p["rim"] == 0 or c.rim[0] <= p["rim"] <= c.rim[1]) and 0 <= p["rim_grey"] <= 255,
    }
    return checks.get(name, lambda: True)()


def only(name: str, p: float) -> SynthConfig:
    """Words with every effect off but `name`, at probability `p`."""
    cfg = SynthConfig(effects=EffectsConfig.off())
    cfg.effects = copy.deepcopy(cfg.effects)
    getattr(cfg.effects, name).p = p
    if name == "paper":
        cfg.effects.paper.paper, cfg.effects.paper.ink = (170, 255), (0, 90)
    return cfg


@pytest.mark.parametrize("name", [n for n, _ in EffectsConfig().sections()])
def test_each_effect(name):
    cfg = only(name, 0.5)
    r = Renderer(cfg)
    specs = [r.sample_spec(11, i) for i in range(N)]
    fired = [fx_of(s, name) for s in specs]
    share = np.mean([f for f, _ in fired])
    expected = 0.5
    if name == "paper":  # a background fires at p, and is flat paper again at its kind's weight
        kinds = cfg.effects.paper.kinds
        expected *= 1 - kinds["flat"] / sum(kinds.values())
    if name != "curly_quotes":  # drawn for every text, shown only where a text has quotes
        assert abs(share - expected) < 0.1, (name, share, expected)
    assert all(in_range(name, p, cfg.effects) for f, p in fired if f), name
    never = Renderer(only(name, 0.0))
    assert not any(fx_of(never.sample_spec(11, i), name)[0] for i in range(50)), name
    always = Renderer(only(name, 1.0))
    other = Renderer(only(name, 1.0))
    for i in range(12):
        img, spec = always.render(11, i, boxes=True)
        again, _ = other.render(11, i)
        assert np.array_equal(img, again), (name, i)  # a function of (seed, index) alone
        h, w = img.shape
        for ch, b in zip(spec.text, spec.boxes, strict=True):
            if not ch.isspace():  # every character of the label is on the image
                assert b is not None and 0 <= b[0] < b[2] <= w and 0 <= b[1] < b[3] <= h, (name, spec.text, ch, b)


def test_elastic_bends_each_letter_within_its_own_box():
    """The warp eases to nothing at each glyph's edges: the letters change shape, but stay where they were, so
    the boxes are those of the unbent text and no ink leaves them."""
    plain = Renderer(SynthConfig(effects=EffectsConfig.off()))
    cfg = only("elastic", 1.0)
    cfg.effects.elastic.amplitude = (0.06, 0.06)
    bent = Renderer(cfg)
    changed = 0
    for i in range(12):
        img0, spec0 = plain.render(5, i, boxes=True)
        img, spec = bent.render(5, i, boxes=True)
        assert spec.text == spec0.text and spec.boxes == spec0.boxes
        changed += not np.array_equal(img, img0)
        inside = np.zeros(img.shape, bool)
        for b in filter(None, spec.boxes):
            inside[int(b[1]) : int(np.ceil(b[3])), int(b[0]) : int(np.ceil(b[2]))] = True
        assert not ((img < 128) & ~inside).any(), (i, spec.text)
        a, b = (img0 < 128).astype(float).ravel(), (img < 128).astype(float).ravel()
        assert np.corrcoef(a, b)[0, 1] > 0.5, (i, spec.text)  # bent, not scrambled
    assert changed >= 10


def test_extrude_draws_depth_behind_the_letters_only():
    plain = Renderer(SynthConfig(effects=EffectsConfig.off()))  # black on white
    deep = Renderer(only("extrude", 1.0))
    drawn = 0
    for i in range(10):
        img0, _ = plain.render(4, i)
        img, spec = deep.render(4, i)
        p = spec.effects["extrude"]
        changed = np.abs(img.astype(int) - img0) > 2  # (the blend's rounding at the letters' edges)
        assert not (changed & (img0 == 0)).any()  # the letters' own ink stays as it was
        n = round(p["depth"] * img.shape[0])
        near = cv2.dilate((img0 < 255).astype(np.uint8), np.ones((2 * n + 3, 2 * n + 3), np.uint8)) > 0
        assert not (changed & ~near).any(), (i, p)  # the depth reaches no further than `depth` from the ink
        if p["grey"] < 200:
            drawn += 1
            assert (img[changed] < 250).sum() > 3 * n, (i, p)  # a visible side beside the letters
    assert drawn >= 5


def test_new_looks_change_the_image_as_they_say():
    base = Renderer(SynthConfig(effects=EffectsConfig.off()))  # black on white
    img0, spec0 = base.render(3, 1)
    looks = {}
    for name in ("underline", "shadow", "outline", "lighting", "motion_blur", "low_res", "colour", "stretch", "jitter",
                 "curve", "plate"):
        img, spec = Renderer(only(name, 1.0)).render(3, 1)
        assert spec.text == spec0.text
        looks[name] = (img, spec)
    img, spec = looks["underline"]
    assert (img < 128).sum() > (img0 < 128).sum()  # a rule adds ink
    img, _ = looks["shadow"]
    assert img.mean() < img0.mean()  # a shadow darkens the paper
    img, _ = looks["low_res"]
    assert len(np.unique(img)) > 2 and not np.array_equal(img, img0)
    img, spec = looks["colour"]
    p = spec.effects["colour"]
    assert abs(Colour_luma(p["paper"]) - Colour_luma(p["ink"])) >= 69  # contrast kept
    img, _ = looks["curve"]
    assert (img < 128).sum() > (img0 < 128).sum()  # a line through the text adds ink
    img, _ = looks["plate"]
    dark = img < 128
    assert dark[:, :3].any() or dark[:, -3:].any() or dark[0].any() or dark[-1].any() or (
        dark.any(axis=0).sum() > (img0 < 128).any(axis=0).sum())  # a border drawn about the text
    img, _ = looks["jitter"]
    assert not np.array_equal(img, img0)  # the letters moved
    img, spec = looks["stretch"]
    cols0, cols = np.flatnonzero((img0 < 128).any(0)), np.flatnonzero((img < 128).any(0))
    factor = spec.layout["stretch"]
    assert (cols[-1] - cols[0]) / (cols0[-1] - cols0[0]) == pytest.approx(factor, rel=0.25)


def Colour_luma(rgb: list[int]) -> float:  # noqa: N802
    from synth.effects import Colour

    return Colour.luma(rgb)


def test_jitter_turns_each_letter_within_its_range():
    """Each letter of a line moves on its own (their tops at different heights, where capitals of one size
    would share one), none is lost or cut off, and the same spec draws the same pixels."""
    cfg = only("jitter", 1.0)
    cfg.alphabet, cfg.text.sources, cfg.text.min_len, cfg.text.max_len = "ILTH", {"random": 1.0}, 4, 4
    turned = Renderer(cfg)
    moved = 0
    for i in range(20):
        img, spec = turned.render(5, i, boxes=True)
        assert all(b is not None for b in spec.boxes), spec.boxes
        again, _ = turned.render(5, i)
        assert np.array_equal(img, again)
        moved += int(len({round(b[1]) for b in spec.boxes}) > 1)  # tops at different heights: letters raised
    assert moved >= 15


def test_arc_sets_the_letters_along_a_curve():
    """Capitals of one height on a straight line share their tops; set on an arc, the middle letters' tops sit
    above (or below) the ends' by about the bend, and the same spec draws the same pixels."""
    cfg = only("arc", 1.0)
    cfg.alphabet, cfg.text.sources, cfg.text.min_len, cfg.text.max_len = "HILT", {"random": 1.0}, 7, 7
    cfg.effects.arc.wave, cfg.effects.arc.bend = 0.0, (0.5, 0.8)
    cfg.effects.tight.p = 0.0
    r, flat = Renderer(cfg), Renderer(only("arc", 0.0))
    for i in range(12):
        img, spec = r.render(6, i, boxes=True)
        assert np.array_equal(img, r.render(6, i)[0])
        mids = [(b[1] + b[3]) / 2 for b in spec.boxes]
        ends, middle = (mids[0] + mids[-1]) / 2, mids[3]
        # ends below the middle for a positive bend (an arch), above it for a negative one (a smile)
        assert (ends - middle) * np.sign(spec.effects["arc"]["bend"]) > 2, (spec.effects["arc"], mids)
        assert flat.sample_spec(6, i).effects["arc"] is None


def test_arc_turns_no_letter_past_its_limit():
    """A bend that would turn a two-letter line's ends by 78 degrees (an N on its side reads as a Z) is cut to
    the config's `turn`, for an arc and for a wave; a long line keeps its whole bend."""
    from synth.config import ArcConfig
    from synth.draw import Placed
    from synth.effects import Arc

    arc, px = Arc(ArcConfig(p=1.0, turn=40.0)), 40
    bar = np.full((40, 2), 255, np.uint8)  # turned by a, about 40 sin(a) + 2 cos(a) across

    def widths(placed: list[Placed], p: dict) -> list[int]:
        return [g.bmp.shape[1] for g in arc.apply(placed, p, px, 0)]

    short = [Placed(bar, x, 0, i) for i, x in enumerate((0, 24))]
    for p in ({"bend": 0.8, "cycles": None, "phase": 0.0}, {"bend": -0.8, "cycles": 1.0, "phase": 0.0}):
        assert 20 < max(widths(short, p)) <= 40 * np.sin(np.radians(40)) + 4, p
    long = [Placed(bar, x, 0, i) for i, x in enumerate(range(0, 400, 25))]
    ys = [g.y for g in arc.apply(long, {"bend": 0.8, "cycles": None, "phase": 0.0}, px, 0)]
    assert abs((ys[0] - ys[len(ys) // 2]) - 0.8 * px) <= 6  # the ends 32 px below the middle, less the turning
    assert widths(short, {"bend": 0.8, "cycles": 0.0, "phase": 0.0}) == [2, 2]  # a wave of no cycles: upright


def test_neighbours_add_cut_pieces_a_word_space_beyond_the_text():
    """The pieces lie outside the text, at least the least gap from its ink, each no wider than the widest
    piece; the text's own pixels and boxes are untouched."""
    cfg, none = only("neighbours", 1.0), only("neighbours", 0.0)
    cfg.render.width = none.render.width = 256  # room at the sides
    c = cfg.effects.neighbours
    on, off = Renderer(cfg), Renderer(none)
    added = 0
    for i in range(20):
        img, spec = on.render(8, i, boxes=True)
        plain, plain_spec = off.render(8, i, boxes=True)
        inked = np.flatnonzero((plain < 128).any(axis=0))
        first, last = inked[0], inked[-1]
        changed = np.flatnonzero((img != plain).any(axis=0))
        h = img.shape[0]
        assert not ((changed > first - c.gap[0] * h + 1) & (changed < last + c.gap[0] * h - 1)).any(), spec.effects
        for run in np.split(changed, np.flatnonzero(np.diff(changed) > 1) + 1):
            assert run.size == 0 or run.size <= c.width[1] * h + 1
        added += int(changed.size > 0)
        assert spec.boxes == plain_spec.boxes
    assert added >= 15


def test_panel_changes_only_what_lies_beyond_its_rectangle_about_the_ink():
    """Outside the rectangle (the ink's box, each side its distance out) the panel's surface or rim; inside it,
    beyond the rim's reach, the image as drawn without it, the text's pixels and boxes included."""
    cfg, none = only("panel", 1.0), only("panel", 0.0)
    cfg.render.width = none.render.width = 256  # room at the sides
    on, off = Renderer(cfg), Renderer(none)
    seen = 0
    for i in range(20):
        img, spec = on.render(6, i, boxes=True)
        plain, plain_spec = off.render(6, i, boxes=True)
        assert spec.boxes == plain_spec.boxes
        p = spec.effects["panel"]
        h, w = img.shape
        cols, rows = np.flatnonzero((plain < 255).any(axis=0)), np.flatnonzero((plain < 255).any(axis=1))
        left, right, top, bottom = (round(d * h) for d in p["sides"])
        r = p["rim"]  # a rim is drawn about the rectangle's edge, into it by up to its width
        x0, x1, y0, y1 = cols[0] - left + r, cols[-1] + right - r, rows[0] - top + r, rows[-1] + bottom - r
        inside = np.zeros((h, w), bool)
        inside[max(y0, 0) : max(y1 + 1, 0), max(x0, 0) : max(x1 + 1, 0)] = True
        assert (img[inside] == plain[inside]).all(), (i, p)
        ink = plain < 128
        assert (img[ink] == plain[ink]).all()  # the panel is at least its least distance from the letters
        seen += int((img != plain).any())
    assert seen >= 10  # most panels show an edge in a 256-pixel-wide crop


def test_captcha_preset_looks_like_the_keras_captchas():
    from synth.config import CAPTCHA_CHARS

    r = Renderer(SynthConfig.preset("captcha"))
    for i in range(20):
        img, spec = r.render(0, i, boxes=True)
        assert img.shape == (50, 200)
        assert len(spec.text) == 5 and set(spec.text) <= set(CAPTCHA_CHARS)
        assert spec.effects["jitter"] is not None
        assert all(b is not None and 0 <= b[0] < b[2] <= 200 and 0 <= b[1] < b[3] <= 50 for b in spec.boxes)


def test_plate_preset_numbers_plates_as_the_patterns_say():
    import re

    from synth.config import PLATE_PATTERNS
    from synth.text import KOREAN_PLATE_SYLLABLES, KOREAN_REGIONS

    classes = {"L": "[A-Z]", "D": "[0-9]", "K": f"[{KOREAN_PLATE_SYLLABLES}]", "R": f"({'|'.join(KOREAN_REGIONS)})"}
    shapes = [re.compile("".join(classes.get(c, re.escape(c)) for c in p) + "$") for p in PLATE_PATTERNS]
    r = Renderer(SynthConfig.preset("plate"))
    lines = set()
    for i in range(40):
        img, spec = r.render(2, i, boxes=True)
        assert img.shape == (64, 192)
        assert any(s.match(spec.text) for s in shapes), spec.text
        lines.add(spec.text.count("|") + 1)
        assert all(b is not None for ch, b in zip(spec.text, spec.boxes, strict=True) if ch not in " |"), spec
        korean = any("\uac00" <= ch <= "\ud7a3" for ch in spec.text)
        assert spec.font == "NanumSquareR" or not korean
    assert lines == {1, 2}


def test_scene_preset_crops_to_the_ink_sets_capitals_and_numbers():
    """What the scene preset earned on real crops (docs/benchmarks.md): half the samples cropped to their ink so
    that the letters fill the height, 48 pixels high, capitals most, number patterns, and the display faces."""
    import re

    from synth.config import SCENE_NUMBERS
    from synth.fonts import SCRIPTS_DIR

    classes = {"L": "[A-Z]", "D": "[0-9]"}
    numbers = [re.compile("".join(classes.get(c, re.escape(c)) for c in p) + "$") for p in SCENE_NUMBERS]
    display = {f.stem for f in (SCRIPTS_DIR / "display").iterdir() if f.suffix in (".ttf", ".otf")}
    hands = {f.stem for f in (SCRIPTS_DIR / "hands").iterdir() if f.suffix == ".otf"}
    r = Renderer(SynthConfig.preset("scene"))
    fill = {True: [], False: []}
    words = upper = fonts_used = by_hand = 0
    for i in range(300):
        img, spec = r.render(4, i, boxes=True)
        assert img.shape == (48, 192)  # more detail per letter than the default 32
        inked = [b for b in spec.boxes if b is not None]
        top, bottom = min(b[1] for b in inked), max(b[3] for b in inked)
        fill[spec.layout["tight"]].append((bottom - top) / img.shape[0])
        if spec.source == "pattern":
            assert any(n.match(spec.text) for n in numbers), spec.text
        if spec.source == "words":
            words += 1
            upper += spec.text.isupper()
        fonts_used += spec.font in display
        if spec.font in hands:  # block-letter hands draw no lowercase: texts in capitals only
            by_hand += 1
            assert not any(c.islower() for c in spec.text), spec.text
    assert 0.4 < len(fill[True]) / 300 < 0.6
    assert np.median(fill[True]) > 0.75 > np.median(fill[False])  # cropped to the ink: the text fills the height
    assert upper / words > 0.35
    assert fonts_used > 80 and by_hand > 0  # 38 of 77 faces, and 6 more for texts in capitals


@pytest.mark.parametrize("kind", ["stripes", "brick", "wood", "fabric", "stone"])
def test_surface_backgrounds_are_shaped_by_their_spec(kind):
    """Each procedural surface is drawn around the paper's grey at about its strength, is the same for the same
    spec, moves with its position and changes with its scale."""
    from synth.config import PaperConfig
    from synth.effects import Paper

    paper = Paper(PaperConfig(p=1.0, kinds={kind: 1.0}))
    p = paper.sample([0.0, 0.3, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5])
    assert p["kind"] == kind and 3 <= p["strength"] <= 15
    bg = paper.background(p, 32, 128)
    assert bg.shape == (32, 128) and bg.dtype == np.float32
    assert np.array_equal(bg, paper.background(p, 32, 128))
    assert 0.3 * p["strength"] < bg.std() < 2.0 * p["strength"]
    assert abs(float(np.median(bg)) - p["paper"]) < 2 * p["strength"]
    assert not np.allclose(bg, paper.background({**p, "where": [0.7, 0.1]}, 32, 128))
    assert not np.allclose(bg, paper.background({**p, "size": 0.95}, 32, 128))
    assert paper.background(p, 200, 3000).shape == (200, 3000)  # larger than the cached fields: tiled

import copy
import dataclasses
import json

import cv2
import numpy as np
import pytest
from PIL import ImageFont

from synth import EffectsConfig, Renderer, Spec, SynthError
from synth.draw import draw_line
from synth.image import pad_images, to_model_input


def corr(x: np.ndarray, y: np.ndarray) -> float:
    x = x.astype(np.float64) - x.mean()
    y = y.astype(np.float64) - y.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


def best_corr(x: np.ndarray, y: np.ndarray) -> float:
    """Correlation allowing a one-pixel shift either way (a 180 degree turn moves pixel centres by one)."""
    return max(corr(x, np.roll(y, (dy, dx), axis=(0, 1))) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def high_freq(img: np.ndarray) -> float:
    return float(np.abs(cv2.Laplacian(img.astype(np.float32), cv2.CV_32F)).mean())


def effects_off_but(**sections: dict) -> EffectsConfig:
    """Every effect off, but the given sections' fields (e.g. blur={"p": 1.0, "sigma": (1, 2)})."""
    fx = EffectsConfig.off()
    for name, fields in sections.items():
        setattr(fx, name, dataclasses.replace(getattr(fx, name), **fields))
    return fx


@pytest.fixture(scope="module")
def clean(make_config) -> Renderer:
    return Renderer(make_config(effects=EffectsConfig.off()))


@pytest.fixture(scope="module")
def with_effect(make_config):
    """A renderer with every effect off but the given sections' fields (e.g. blur={"p": 1})."""

    def make(**sections) -> Renderer:
        return Renderer(make_config(effects=effects_off_but(**sections)))

    return make


# determinism and specs


def test_same_seed_and_index_same_pixels(make_config):
    a, b = Renderer(make_config()), Renderer(make_config())
    for i in [0, 1, 17, 10**9]:
        img_a, spec_a = a.render(42, i)
        img_b, spec_b = b.render(42, i)
        assert img_a.dtype == np.uint8 and img_a.tobytes() == img_b.tobytes()
        assert spec_a == spec_b and spec_a.to_dict() == spec_b.to_dict()
    # order of rendering does not matter either
    later = [a.render(42, i)[0].tobytes() for i in (5, 3, 4)]
    fresh = Renderer(make_config())
    assert later == [fresh.render(42, i)[0].tobytes() for i in (5, 3, 4)]


def test_other_index_or_seed_differs(make_config):
    r = Renderer(make_config())
    imgs = [r.render(0, i)[0] for i in range(6)] + [r.render(1, 0)[0]]
    blobs = {im.tobytes() for im in imgs}
    assert len(blobs) == len(imgs)
    assert r.sample_spec(0, 0) != r.sample_spec(1, 0)


def test_spec_is_json_and_renders_the_same(make_config):
    r = Renderer(make_config())
    img, spec = r.render(3, 9)
    back = Spec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert back == spec
    assert r.render_spec(back).tobytes() == img.tobytes()
    before = copy.deepcopy(spec)
    r.render_spec(spec)
    assert spec == before  # rendering does not change the spec


def test_spec_override_font(make_config, three_fonts):
    r = Renderer(make_config())
    spec = r.sample_spec(0, 4)
    imgs = {}
    for name in three_fonts:
        s = dataclasses.replace(spec, font=name)
        imgs[name] = r.render_spec(s)
        assert {k: v for k, v in s.to_dict().items() if k != "font"} == \
               {k: v for k, v in spec.to_dict().items() if k != "font"}
        assert r.render_spec(dataclasses.replace(spec, font=name)).tobytes() == imgs[name].tobytes()
    for x in three_fonts:
        for y in three_fonts:
            if x < y:
                assert not np.array_equal(imgs[x], imgs[y]), (x, y)
    assert imgs[spec.font].tobytes() == r.render_spec(spec).tobytes()


def test_spec_override_keeps_geometry(clean, three_fonts):
    # the same text and geometry in three fonts: the ink sits in the same place and has the same height
    spec = clean.sample_spec(0, 2)
    spec.text = "HHHH"
    spec.geometry.update(x=0.5, y=0.5, margins=[0.1] * 4)
    boxes = []
    for name in three_fonts:
        ink = clean.render_spec(dataclasses.replace(spec, font=name)) < 128
        rows, cols = np.where(ink.any(axis=1))[0], np.where(ink.any(axis=0))[0]
        boxes.append(((rows[0] + rows[-1]) / 2, (cols[0] + cols[-1]) / 2))
    ys, xs = zip(*boxes, strict=True)
    assert max(ys) - min(ys) <= 3 and max(xs) - min(xs) <= 3  # centred in every font


def test_fonts_fill_the_height_by_their_letters_not_their_declared_box(make_config):
    # CourierPrime declares a line box of 1.31 em, C059 one of 1.01 em, for letters of 0.88 and 0.95 em: at a
    # size where the box has to shrink to fit, sized by the declared box CourierPrime came out 0.7x as tall
    cfg = make_config(effects=EffectsConfig.off())
    cfg.fonts.include, cfg.fonts.size = ["CourierPrime-Regular", "C059-Roman"], (0.9, 0.9)
    r = Renderer(cfg)
    for i in range(6):
        spec = dataclasses.replace(r.sample_spec(0, i), text="Hedging")
        heights = []
        for name in cfg.fonts.include:
            rows = np.flatnonzero((r.render_spec(dataclasses.replace(spec, font=name)) < 128).any(axis=1))
            heights.append(rows[-1] - rows[0] + 1)
        assert 0.85 < heights[0] / heights[1] < 1.15, heights


def test_capitals_are_the_same_height_in_every_font(make_config):
    # CourierPrime's capitals are 0.58 em tall, C059's 0.72, Breip's 0.79: at one nominal size, their heights
    # match once sizes are corrected to the capitals, and spread by a third without the correction
    def cap_heights(match: bool) -> list[int]:
        cfg = make_config(effects=EffectsConfig.off())
        cfg.fonts.include, cfg.fonts.size = ["CourierPrime-Regular", "C059-Roman", "Breip"], (0.5, 0.5)
        cfg.fonts.match_letter_size = match
        r = Renderer(cfg)
        spec = dataclasses.replace(r.sample_spec(0, 0), text="HEH")
        spec.geometry.update(angle=0.0, shear=0.0, perspective=None, margins=[0.1] * 4)
        heights = []
        for name in cfg.fonts.include:
            rows = np.flatnonzero((r.render_spec(dataclasses.replace(spec, font=name)) < 128).any(axis=1))
            heights.append(rows[-1] - rows[0] + 1)
        return heights

    matched, unmatched = cap_heights(True), cap_heights(False)
    assert max(matched) - min(matched) <= 2, matched
    assert max(unmatched) / min(unmatched) > 1.25, unmatched


def test_glyphs_beyond_the_letter_box_are_drawn_whole(make_config, three_fonts):
    # the letter box leaves out the tallest and deepest few glyphs; a text of just those is fitted whole
    cfg = make_config(effects=EffectsConfig.off())
    cfg.fonts.size = (0.95, 0.95)
    r = Renderer(cfg)
    for name in three_fonts:
        font = r.fonts.get(name)
        pil = ImageFont.truetype(font.path, 64)
        chars = sorted((c for c in font.covered if c.isalnum()), key=lambda c: pil.getbbox(c, anchor="ls")[1])
        deep = sorted(chars, key=lambda c: -pil.getbbox(c, anchor="ls")[3])
        spec = dataclasses.replace(r.sample_spec(0, 1), text="".join(chars[:3] + deep[:3]), font=name)
        spec.geometry.update(angle=0.0, shear=0.0, perspective=None, margins=[0.05] * 4, x=0.5, y=0.5)
        ink = r.render_spec(spec) < 128
        assert ink.any() and not ink[0].any() and not ink[-1].any(), name  # nothing cut at the top or bottom


@pytest.mark.parametrize("spacing", [-6.0, -1.0, 0.0, 3.0])
def test_line_is_the_maximum_of_its_glyphs(make_config, three_fonts, spacing):
    # glyphs on fresh columns are copied, overlapping ones take the maximum: the same as max over all of them,
    # each at its shaped position
    r = Renderer(make_config(effects=EffectsConfig.off()))
    text = "Wave fjord, AVA. ijk"
    for name in three_fonts:
        atlas = r.atlases.get(r.fonts.get(name).path, 24, r.fonts.letter_box(name))
        line, baseline, _ = draw_line(atlas, text, spacing, word_spacing=2.0)
        shaped = atlas.shaper.shape(text)
        placed, pen = [], 0.0
        for g in shaped.glyphs:
            bmp, dx, dy = atlas.glyph(g.gid)
            if bmp.size:
                placed.append((bmp, round(pen + g.x_offset * atlas.scale) + dx,
                               baseline + dy - round(g.y_offset * atlas.scale)))
            pen += g.x_advance * atlas.scale + (spacing + (2.0 if text[g.cluster] == " " else 0.0)) * g.spaceable
        left = min(0, *(x for _, x, _ in placed))
        ref = np.zeros((line.shape[0], line.shape[1] + 64), np.uint8)
        for bmp, x, y in placed:
            region = ref[y : y + bmp.shape[0], x - left : x - left + bmp.shape[1]]
            np.maximum(region, bmp, out=region)
        assert np.array_equal(line, ref[:, : line.shape[1]]) and not ref[:, line.shape[1] :].any(), name


def test_spec_override_text(clean):
    spec = clean.sample_spec(0, 0)
    a = clean.render_spec(dataclasses.replace(spec, text="abc"))
    b = clean.render_spec(dataclasses.replace(spec, text="xyz"))
    assert not np.array_equal(a, b)


def test_unknown_font_in_spec(clean):
    with pytest.raises(SynthError, match="not in the library"):
        clean.render_spec(dataclasses.replace(clean.sample_spec(0, 0), font="Comic Sans"))


def test_changing_one_probability_changes_no_other_draw(make_config):
    # every component draws the same numbers whether it fires or not: toggling one effect keeps the rest
    base = make_config()
    specs = []
    for p in (0.0, 1.0):
        cfg = copy.deepcopy(base)
        cfg.effects.paper.p = p
        cfg.effects.rotate.p = p
        cfg.effects.blur.p = p
        r = Renderer(cfg)
        specs.append([r.sample_spec(5, i) for i in range(20)])
    for off, on in zip(*specs, strict=True):
        assert (off.text, off.font, off.size, off.spacing) == (on.text, on.font, on.size, on.spacing)
        assert off.geometry["shear"] == on.geometry["shear"] and off.geometry["x"] == on.geometry["x"]
        assert off.paper["paper"] == on.paper["paper"] and off.paper["ink"] == on.paper["ink"]
        assert {k: v for k, v in off.effects.items() if k != "blur"} == \
               {k: v for k, v in on.effects.items() if k != "blur"}
        assert off.effects["blur"] is None and on.effects["blur"] is not None
        assert off.paper["kind"] == "flat" and off.geometry["angle"] == 0.0


def test_each_component_draws_from_its_own_stream(make_config, monkeypatch):
    # a component that draws more, fires or not, or is added at the end shifts no other component's draws
    import synth.renderer

    base = make_config()
    longer = copy.deepcopy(base)
    longer.text.min_len, longer.text.max_len = 8, 12  # random strings draw a number per character
    toggled = copy.deepcopy(base)
    toggled.effects.binarize.p = toggled.effects.tight.p = toggled.effects.stroke_weight.p = 1.0
    specs = {name: [Renderer(cfg).sample_spec(5, i) for i in range(20)]
             for name, cfg in (("base", base), ("longer", longer), ("toggled", toggled))}
    monkeypatch.setattr(synth.renderer, "STREAMS", {**synth.renderer.STREAMS, "a_new_effect": 7})
    specs["grown"] = [Renderer(base).sample_spec(5, i) for i in range(20)]
    for k, a in enumerate(specs["base"]):
        b, c = specs["longer"][k], specs["toggled"][k]
        assert a == specs["grown"][k]
        assert (a.geometry, a.paper, a.effects, a.layout) == (b.geometry, b.paper, b.effects, b.layout)
        assert a.effects["binarize"] is a.effects["stroke_weight"] is None and not a.layout["tight"]
        assert c.effects["binarize"] is not None and c.effects["stroke_weight"] is not None and c.layout["tight"]
        assert {n: v for n, v in a.effects.items() if n not in ("binarize", "stroke_weight")} == \
            {n: v for n, v in c.effects.items() if n not in ("binarize", "stroke_weight")}
        assert (a.text, a.font, a.size, a.geometry, a.paper) == (c.text, c.font, c.size, c.geometry, c.paper)


def test_tight_crop_fills_the_height_with_ink(make_config):
    def ink_rows(p_tight: float) -> list[float]:
        cfg = make_config()
        cfg.effects = EffectsConfig.off()
        cfg.effects.tight.p = p_tight
        cfg.render.width, cfg.text.sources = None, {"words": 1.0}
        r = Renderer(cfg)
        return [float((r.render(3, i)[0] < 128).any(axis=1).mean()) for i in range(12)]

    loose, tight = ink_rows(0.0), ink_rows(1.0)
    assert min(tight) > 0.85  # ink from (nearly) the top row to the bottom one, as in a line cut from a page
    assert max(loose) < 0.85  # the font's ascent-descent box and the margins leave paper above and below


# clean images and sizes


def test_effects_off_is_black_on_white(clean):
    for i in range(20):
        img, spec = clean.render(0, i)
        assert img.shape == (32, 128) and img.dtype == np.uint8
        assert np.median(img) == 255 and img.max() == 255  # white paper
        assert img.min() <= 40  # dark ink
        assert (img < 128).mean() > 0.02  # some of it
        assert spec.geometry["angle"] == 0 and spec.geometry["shear"] == 0 and spec.geometry["perspective"] is None
        assert not spec.geometry["upside_down"] and spec.paper["kind"] == "flat"
        assert all(v is None for v in spec.effects.values())


def test_fixed_size(make_config):
    r = Renderer(make_config())
    assert all(r.render(0, i)[0].shape == (32, 128) for i in range(30))
    cfg = make_config()
    cfg.render.height, cfg.render.width = 48, 200
    r = Renderer(cfg)
    assert all(r.render(0, i)[0].shape == (48, 200) for i in range(10))


def test_squeeze_keeps_a_long_line_as_high_as_a_resized_real_crop(make_config):
    """render.fit: a line too wide shrinks both ways ("shrink") or only across ("squeeze"), as to_model_input
    resizes a wide real crop; a line that fits is drawn the same either way; each character's box stays on the
    image."""
    def drawn(fit: str, text: str) -> tuple[int, list, np.ndarray]:
        """The ink's height in rows, each character's box, the image."""
        cfg = make_config(effects=EffectsConfig.off())
        cfg.render.fit = fit
        r = Renderer(cfg)
        spec = dataclasses.replace(r.sample_spec(0, 1), text=text)
        img, boxes = r.draw(spec, boxes=True)
        rows = np.flatnonzero((img < 128).any(axis=1))
        return int(rows[-1] - rows[0] + 1), boxes, img

    long = "Whatsoever-Hippopotamus"
    h_shrink, _, _ = drawn("shrink", long)
    h_squeeze, boxes, img = drawn("squeeze", long)
    assert h_squeeze > 1.8 * h_shrink, (h_squeeze, h_shrink)
    assert len(boxes) == len(long) and all(b is not None for b in boxes)
    assert all(0 <= x0 < x1 <= img.shape[1] and 0 <= y0 < y1 <= img.shape[0] for x0, y0, x1, y1 in boxes)
    assert boxes[-1][0] > 0.9 * img.shape[1] - img.shape[0]  # the last letter at the right end: squeezed, not cut
    short = drawn("shrink", "ab")[2], drawn("squeeze", "ab")[2]
    assert (short[0] == short[1]).all()
    cfg = make_config()
    cfg.render.fit = "stretch"
    with pytest.raises(SynthError, match="render.fit 'stretch'"):
        Renderer(cfg)


def test_variable_width_grows_with_the_text(make_config):
    cfg = make_config(effects=EffectsConfig.off())
    cfg.render.width = None
    r = Renderer(cfg)
    spec = r.sample_spec(0, 1)
    widths = []
    for text in ["ab", "abcdefgh", "abcdefghijklmnop", "abcdefghijklmnopqrstuvwxyz"]:
        img = r.render_spec(dataclasses.replace(spec, text=text))
        assert img.shape[0] == 32
        widths.append(img.shape[1])
    assert widths == sorted(widths) and len(set(widths)) == 4, widths
    sampled = {r.render(0, i)[0].shape for i in range(30)}
    assert {h for h, _ in sampled} == {32} and len({w for _, w in sampled}) > 5
    cfg.render.max_width = 100
    narrow = Renderer(cfg)
    img = narrow.render_spec(dataclasses.replace(spec, text="abcdefghijklmnopqrstuvwxyz" * 2))
    assert img.shape == (32, 100) and img.min() < 100  # squeezed to the widest allowed, still drawn


def test_bad_render_config(make_config):
    cfg = make_config()
    cfg.render.height = 4
    with pytest.raises(SynthError, match="height"):
        Renderer(cfg)
    cfg = make_config()
    cfg.render.width = 16
    with pytest.raises(SynthError, match="width"):
        Renderer(cfg)
    cfg = make_config()
    cfg.fonts.size = (0.8, 0.5)
    with pytest.raises(SynthError, match="fonts.size"):
        Renderer(cfg)


# each effect, alone at p=1, against the clean image of the same sample


def pairs(clean: Renderer, r: Renderer, n: int = 6):
    for i in range(n):
        a, spec_a = clean.render(0, i)
        b, spec_b = r.render(0, i)
        assert spec_a.text == spec_b.text and spec_a.font == spec_b.font
        yield a, b, spec_b


def test_invert(clean, with_effect):
    for a, b, spec in pairs(clean, with_effect(invert={"p": 1.0})):
        assert spec.effects["invert"] == {}
        assert np.abs(b.astype(int) - (255 - a.astype(int))).max() <= 1
        assert a.mean() > 128 > b.mean()


def test_blur_reduces_high_frequencies(clean, with_effect):
    for a, b, spec in pairs(clean, with_effect(blur={"p": 1.0, "sigma": (1.0, 1.5)})):
        assert 1.0 <= spec.effects["blur"]["sigma"] <= 1.5
        assert high_freq(b) < 0.7 * high_freq(a)
        assert abs(float(a.mean()) - float(b.mean())) < 3  # blur moves ink, it does not remove it


def test_jpeg(clean, with_effect):
    for a, b, spec in pairs(clean, with_effect(jpeg={"p": 1.0, "quality": (10, 20)})):
        assert 10 <= spec.effects["jpeg"]["quality"] <= 20
        assert b.shape == a.shape and b.dtype == np.uint8
        diff = np.abs(a.astype(int) - b.astype(int))
        assert diff.max() > 10 and diff.mean() < 15  # artefacts, same picture
        assert corr(a, b) > 0.9


def test_gaussian_noise(clean, with_effect):
    for a, b, spec in pairs(clean, with_effect(gaussian_noise={"p": 1.0, "std": (8.0, 8.0)})):
        paper = a == 255
        noise = b[paper].astype(float)
        assert spec.effects["gaussian_noise"]["std"] == 8.0
        # white paper clips the upper half of the noise: what is left is the lower half of a gaussian
        assert 2.0 < (255 - noise).mean() < 10.0 and noise.std() > 2.0


def test_stroke_weight(clean, with_effect):
    light, bold = with_effect(stroke_weight={"p": 1.0, "shift": (-0.5, -0.5)}), \
        with_effect(stroke_weight={"p": 1.0, "shift": (0.6, 0.6)})
    for (a, b, spec), (_, c, _) in zip(pairs(clean, light), pairs(clean, bold), strict=True):
        assert spec.effects["stroke_weight"] == {"shift": -0.5}
        ink = [float((255 - im.astype(int)).sum()) for im in (b, a, c)]
        assert ink[0] < 0.85 * ink[1] and ink[2] > 1.3 * ink[1]  # lighter, the font's own, bolder
        assert corr(a, b) > 0.7 and corr(a, c) > 0.7  # the same text in the same place
        assert b.min() < 100  # lighter strokes still show


def test_stroke_weight_range_is_checked(make_config):
    with pytest.raises(SynthError, match="stroke_weight"):
        Renderer(make_config(effects=effects_off_but(stroke_weight={"shift": (-2.0, 0.5)})))


def test_binarize(clean, with_effect):
    soft = dict(blur={"p": 1.0, "sigma": (1.0, 1.0)}, gaussian_noise={"p": 1.0, "std": (6.0, 6.0)})
    blurred = with_effect(**soft)
    thin = with_effect(**soft, binarize={"p": 1.0, "shift": (0.7, 0.7)})
    bold = with_effect(**soft, binarize={"p": 1.0, "shift": (1.3, 1.3)})
    for (a, b, spec), (_, c, _) in zip(pairs(blurred, thin), pairs(blurred, bold), strict=True):
        assert spec.effects["binarize"] == {"shift": 0.7}
        assert set(np.unique(b)) == {0, 255} and set(np.unique(c)) == {0, 255}
        assert len(np.unique(a)) > 50  # the grey image it started from
        assert (b == 0).sum() < (c == 0).sum()  # a higher threshold makes bolder strokes
        assert corr(a, c) > 0.8


def test_speckle(clean, with_effect):
    for a, b, _ in pairs(clean, with_effect(speckle={"p": 1.0, "std": (0.1, 0.1)})):
        assert (b[a == 255] < 250).mean() > 0.1


def test_salt_pepper(clean, with_effect):
    for a, b, spec in pairs(clean, with_effect(salt_pepper={"p": 1.0, "amount": (0.02, 0.02)})):
        pepper = (a == 255) & (b == 0)
        assert pepper.sum() >= 10
        changed = (a != b).mean()
        assert 0.005 < changed < 0.03
        assert spec.effects["salt_pepper"]["amount"] == 0.02


@pytest.mark.parametrize("kind", ["gradient", "texture"])
def test_backgrounds(clean, with_effect, kind):
    r = with_effect(paper={"p": 1.0, "kinds": {kind: 1.0}, "paper": (200, 220)})
    for a, b, spec in pairs(clean, r, n=4):
        assert spec.paper["kind"] == kind
        bg = b[a == 255].astype(float)
        faint = kind == "gradient" and spec.paper["span"] < 2  # a ramp of under two grey levels rounds flat
        assert (faint or bg.std() > 1.0) and 150 < bg.mean() < 240


def test_image_background(clean, with_effect, tmp_path):
    pattern = np.tile(np.linspace(120, 250, 64, dtype=np.uint8), (64, 1))
    cv2.imwrite(str(tmp_path / "bg.png"), np.dstack([pattern] * 3))
    r = with_effect(paper={"p": 1.0, "kinds": {"image": 1.0}, "dirs": [str(tmp_path)]})
    for a, b, spec in pairs(clean, r, n=4):
        assert spec.paper["kind"] == "image" and spec.paper["image"] == 0
        assert b[a == 255].std() > 5  # the picture shows through
        assert b[a < 50].mean() < b[a == 255].mean() - 40  # text stays readable


def test_image_background_needs_images(make_config, tmp_path):
    fx = effects_off_but(paper={"kinds": {"image": 1.0}, "dirs": [str(tmp_path)]})
    with pytest.raises(SynthError, match="paper.dirs"):
        Renderer(make_config(effects=fx))
    fx.paper.dirs = [str(tmp_path / "missing")]
    with pytest.raises(SynthError, match="background folder not found"):
        Renderer(make_config(effects=fx))


@pytest.mark.parametrize("fields, key", [
    ({"rotate": {"p": 1.0, "degrees": 20.0}}, "angle"),
    ({"shear": {"p": 1.0, "factor": 0.5}}, "shear"),
    ({"perspective": {"p": 1.0, "jitter": 0.2}}, "perspective"),
])
def test_geometric_effects(clean, with_effect, fields, key):
    for a, b, spec in pairs(clean, with_effect(**fields), n=4):
        assert spec.geometry[key] not in (0.0, None)
        assert not np.array_equal(a, b)
        assert (b < 128).sum() > 0.15 * (a < 128).sum()  # the text is still on the canvas (maybe smaller)


def test_upside_down(clean, with_effect):
    r = with_effect(upside_down={"p": 1.0})
    for i in range(6):
        spec = r.sample_spec(0, i)
        assert spec.geometry["upside_down"]
        spec.geometry.update(x=0.5, y=0.5, margins=[0.1] * 4)  # centred: a half turn maps the box onto itself
        upside = r.render_spec(spec)
        upright = r.render_spec(dataclasses.replace(spec, geometry={**spec.geometry, "upside_down": False}))
        assert best_corr(upside, np.rot90(upright, 2)) > 0.97
        assert best_corr(upside, upright) < 0.9


def test_default_effects_render(make_config):
    r = Renderer(make_config())
    fired = set()
    for i in range(80):
        img, spec = r.render(1, i)
        assert img.shape == (32, 128) and img.dtype == np.uint8
        assert img.std() > 3  # not a blank canvas
        fired |= {k for k, v in spec.effects.items() if v is not None}
        fired |= {spec.paper["kind"]}
    assert {"blur", "gaussian_noise", "jpeg", "gradient", "texture"} <= fired


def test_to_model_input():
    colour = np.zeros((64, 100, 3), np.uint8)
    colour[..., 0] = 255  # red: to_model_input takes RGB (dataset.load_image converts cv2's BGR itself)
    out = to_model_input(colour, 32, None)
    assert out.shape == (32, 50) and out.dtype == np.uint8
    assert abs(int(out[0, 0]) - 76) <= 1  # luma of pure red: 0.299 * 255
    assert to_model_input(np.zeros((10, 200), np.uint8), 32, 128).shape == (32, 128)  # squeezed
    padded = to_model_input(np.full((32, 40), 7, np.uint8), 32, 128)
    assert padded.shape == (32, 128) and (padded == 7).all()  # right-padded with the background


def test_padding_extends_the_background_not_ink_at_the_edge():
    """A tight crop whose last letter touches the right edge: the padding is paper, not a streak of that ink."""
    crop = np.full((32, 60), 220, np.uint8)
    crop[4:28, 50:] = 15  # a stem cut by the crop's right edge
    padded = to_model_input(crop, 32, 128)
    assert (padded[:, 60:] == 220).all()
    batch, widths = pad_images([crop, np.full((32, 90), 30, np.uint8)])
    assert list(widths) == [60, 90] and (batch[0, :, 60:] == 220).all() and (batch[1] == 30).all()


def test_curly_quotes_are_drawn_in_place_of_ascii_ones(make_config, with_effect):
    from synth.draw import curly_quotes

    assert curly_quotes("``It's'' `x'")[0] == "\u201cIt\u2019s\u201d \u2018x\u2019"
    straight, curly = with_effect(), with_effect(curly_quotes={"p": 1.0})
    spec = dataclasses.replace(straight.sample_spec(0, 3), text="'Hi,' I said")
    spec.layout["curly_quotes"] = True
    font = straight.fonts.get(spec.font)
    assert font.curly_quotes
    drawn = straight.render_spec(spec)
    assert not np.array_equal(drawn, straight.render_spec(dataclasses.replace(spec, layout={
        **spec.layout, "curly_quotes": False})))
    # a text without quotes is drawn the same either way; the drawn choice is in the spec
    plain = dataclasses.replace(spec, text="Hi, I said")
    assert np.array_equal(straight.render_spec(plain), straight.render_spec(dataclasses.replace(plain, layout={
        **plain.layout, "curly_quotes": False})))
    assert curly.sample_spec(0, 3).layout["curly_quotes"] and not straight.sample_spec(0, 3).layout["curly_quotes"]


def test_word_spacing_widens_only_the_spaces(make_config):
    cfg = make_config(effects=EffectsConfig.off())
    cfg.render.width = None
    r = Renderer(cfg)
    spec = r.sample_spec(0, 4)
    spec.geometry.update(angle=0.0, shear=0.0, perspective=None)

    def width(text: str, word_spacing: float) -> int:
        layout = {**spec.layout, "word_spacing": word_spacing}
        cols = np.flatnonzero((r.render_spec(dataclasses.replace(spec, text=text, layout=layout)) < 128).any(axis=0))
        return cols[-1] - cols[0] + 1

    assert width("ab cd ef", 6.0) - width("ab cd ef", 0.0) in (11, 12, 13)  # two spaces, 6 px each
    assert width("abcdef", 6.0) == width("abcdef", 0.0)
    assert abs(r.sample_spec(0, 4).layout["word_spacing"]) <= 0.35 * spec.size

"""The renderer: one sample from (seed, index) to pixels, by drawing its whole spec first, then rendering it.

`Renderer.sample_spec` makes every random choice; `Renderer.render_spec` is a pure function of the spec.
Override any field of a spec (same text in another font, no rotation...) and render it again.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable
from itertools import accumulate
from typing import Any

import numpy as np

from synth.alphabet import Alphabet
from synth.block import Block, stack
from synth.config import ALIGNS, SynthConfig
from synth.draw import AtlasCache, GlyphAtlas, Placed, curly_quotes, draw_line
from synth.effects import Effect, Paper, build_effects
from synth.errors import SynthError
from synth.fonts import library
from synth.geometry import Geometry
from synth.rng import Draws, between, integer
from synth.shaping import Shaped
from synth.spec import Spec
from synth.text import TextSource

#: each component's sub-stream of a sample's random numbers (`synth.rng.Draws`), with the uniforms it has
#: reserved (more come from its own blocks). A new component goes at the end; none is renamed or resized, or
#: every later one's draws, and so its pixels, shift: tests/golden.json pins them
STREAMS = {
    "text": 24, "font": 3, "layout": 3, "geometry": 20, "paper": 8, "stroke_weight": 2, "blur": 2,
    "gaussian_noise": 4, "speckle": 4, "salt_pepper": 3, "binarize": 2, "invert": 1, "jpeg": 2, "force": 9,
    "stretch": 2, "underline": 3, "colour": 7, "shadow": 6, "outline": 3, "lighting": 6, "motion_blur": 3,
    "low_res": 2, "jitter": 2, "curve": 6, "lines": 3, "plate": 4, "surround": 6, "arc": 6, "neighbours": 8,
    "elastic": 5, "extrude": 4, "panel": 10,
}

#: text sources whose texts are set as their own line breaks say (a corpus line, a plate pattern), never joined
SET_AS_THEY_ARE = ("corpus", "pattern")

#: texts drawn for one sample before giving up on texts that do not shape cleanly
TEXT_TRIES = 50

#: a tightly cropped line is drawn at this times its font size (`Spec.size`): its ink, not the font's
#: letter box, has to fill the height
TIGHT_SIZE = 1.5


class Renderer:
    """Draws samples of one config. Cheap to use, not to build: make one per process and reuse it."""

    def __init__(self, config: SynthConfig | None = None):
        self.config = config = config or SynthConfig()
        config.validate()
        self.alphabet = Alphabet(config.alphabet)
        rc = config.render
        self.text = TextSource(config.text, self.alphabet)
        #: the line break character of multi-line texts, if the alphabet has one (text.line_break)
        self.breaks = config.text.breaks(self.alphabet.chars)
        self.fonts = library(config.fonts, self.alphabet.chars)
        nobody = "".join(c for c in self.alphabet.chars if not c.isspace()
                         and not any(c in f.covered for f in self.fonts.fonts))
        if nobody:  # never drawn, so never learnt: a model's output for it would be noise
            raise SynthError(f"no font draws {nobody!r} of the alphabet; add a font that has it (--font-dir, "
                             "--system-fonts, or the script's name as --alphabet), or take it out of the alphabet "
                             "(`synth fonts` lists what each font draws)")
        self.geometry = Geometry(config.effects, rc)
        self.paper = Paper(config.effects.paper)
        self.effects = build_effects(config.effects)
        self.by_name = {e.name: e for e in self.effects}
        #: each stage's effects in their order (a sample passes seven stages: looking up only the stage's own)
        self.by_stage: dict[str, list[Effect]] = {}
        for e in self.effects:
            self.by_stage.setdefault(e.stage, []).append(e)
        self.atlases = AtlasCache()
        self.draws = Draws(STREAMS)
        lo, hi = config.fonts.size
        self.px_range = (max(6, round(lo * rc.height)), max(6, round(hi * rc.height)))

    def sample_spec(self, seed: int, index: int) -> Spec:
        """Every random choice of sample (seed, index), in pipeline order, each component from its own stream:
        a function of (seed, index) only, so workers and order do not matter."""
        d = self.draws.start(seed, index)
        texts = d.stream("text")
        u = d.reserved("font")
        tc = self.config.text
        brk = self.breaks
        block = d.reserved("lines") if brk else None
        for _ in range(TEXT_TRIES):  # a text its font cannot shape cleanly (a mark without its base) is drawn again
            text, source = self.text.sample(texts)
            if block is not None and source not in SET_AS_THEY_ARE:  # more texts, one a line, in reading order
                parts, want = [text], integer(block[0], tc.lines[0], tc.lines[1] + 1)
                while len(parts) < want:
                    parts.append(self.text.sample(texts)[0])
                text = brk.join(parts)
            drawn = self._drawn(text)
            info = self.fonts.fonts[self.fonts.choose(self.fonts.candidates(drawn), u[0])]
            shaped = self.atlases.shaper(info.path).shape(drawn, self.alphabet.rtl)
            if shaped.clean:
                break
        else:
            raise SynthError(f"{TEXT_TRIES} texts in a row could not be shaped cleanly, the last {text!r} in "
                             f"{info.name}: {_unshapeable(shaped)}. Give the text source well-formed text (a lexicon "
                             "or corpus), or an alphabet whose random strings shape")
        font = info.name
        size = integer(u[1], self.px_range[0], self.px_range[1] + 1)
        spacing = between(u[2], *self.config.fonts.spacing) * size
        layout = self.sample_layout(d.reserved("layout"), d.reserved("stretch"), size)
        if block is not None and brk in text:  # single-line specs stay as they were
            rc = self.config.render
            layout["lines"] = {"spacing": between(block[1], *rc.line_spacing),
                               "align": rc.align[integer(block[2], 0, len(rc.align))]}
        geometry = self.geometry.sample(d.reserved("geometry"))
        paper = self.paper.sample(d.reserved("paper"))
        effects = {e.name: e.sample(d.reserved(e.name)) for e in self.effects}
        return Spec(seed, index, text, source, font, size, spacing, layout, geometry, paper, effects)

    def _drawn(self, text: str) -> str:
        """What is drawn of a text: its line breaks (text.line_break, in a multi-line config) are not."""
        return text.replace(self.breaks, " ") if self.breaks else text

    def sample_layout(self, u: list[float], stretch: list[float], size: int) -> dict:
        """How the line is set, from its 3 uniforms: extra space at each space, curly quotes, a crop to the ink;
        and from the stretch's 2: the scale across (condensed or extended lettering)."""
        fx = self.config.effects
        return {"word_spacing": between(u[0], *self.config.fonts.word_spacing) * size,
                "curly_quotes": u[1] < fx.curly_quotes.p, "tight": u[2] < fx.tight.p,
                "stretch": between(stretch[1], *fx.stretch.factor) if stretch[0] < fx.stretch.p else 1.0}

    def forced(self, spec: Spec, effect: str, level: float) -> Spec:
        """`spec` with one effect (an `EffectsConfig` section: rotate, perspective, blur, gaussian_noise...) at
        the fixed strength `level` (0: off), its random parts drawn from (seed, index): every level of a sweep
        distorts a sample the same way. The robustness sweeps' way to set an effect."""
        u = self.draws.start(spec.seed, spec.index).reserved("force")
        if effect in Geometry.SWEEPABLE:
            return dataclasses.replace(spec, geometry=self.geometry.force(spec.geometry, effect, level, u))
        if effect not in self.by_name:
            raise SynthError(f"no effect {effect!r} to force; effects: {sorted(self.by_name)}")
        return dataclasses.replace(spec, effects={**spec.effects, effect: self.by_name[effect].force(level, u)})

    def render_spec(self, spec: Spec) -> np.ndarray:
        """The uint8 grey image (H x W) of a spec."""
        return self.draw(spec)[0]

    def draw(self, spec: Spec, boxes: bool = False) -> tuple[np.ndarray, list | None]:
        """The image of a spec and, with `boxes`, each character's box on it: [left, top, right, bottom] in
        pixels around its cluster's ink after geometry (the characters of one cluster, a conjunct or a letter
        with its marks, share it), None for a character that draws no ink (a space)."""
        info = self.fonts.get(spec.font)
        lacking = info.lacks(self._drawn(spec.text).replace(" ", ""))
        if lacking:
            raise SynthError(f"font {spec.font} cannot draw {lacking!r} of {spec.text!r}; choose a covering font")
        letter_box = self.fonts.letter_box(spec.font)
        layout = spec.layout
        text, source = curly_quotes(spec.text) if layout["curly_quotes"] and info.curly_quotes else (spec.text, None)
        shaped = self.atlases.shaper(info.path).shape(self._drawn(text), self.alphabet.rtl)
        if not shaped.clean:
            raise SynthError(f"font {spec.font} cannot draw {spec.text!r} as it reads: {_unshapeable(shaped)}; "
                             "choose a covering font or well-formed text")
        word_spacing = layout["word_spacing"]
        jittered = any(spec.effects.get(e.name) is not None for e in self.by_stage.get("glyphs", ()))

        def adjust(atlas: GlyphAtlas, line: int = 0) -> Callable[[list[Placed]], list[Placed]] | None:
            return (lambda placed: self._effects(placed, "glyphs", spec, px=atlas.px, line=line)) if jittered else None

        tight = layout["tight"] and "lines" not in layout  # a block of lines is not cropped to its ink
        if "lines" in layout:
            atlas = self.atlases.get(info.path, letter_box.px(spec.size), letter_box)
            parts = text.split(self.breaks)
            starts = list(accumulate([len(p) + 1 for p in parts[:-1]], initial=0))
            lines = [draw_line(atlas, p, spec.spacing, word_spacing, atlas.shaper.shape(p, self.alphabet.rtl),
                               adjust(atlas, i)) for i, p in enumerate(parts)]
            masks = [self._effects(ln.mask, "line", spec, baseline=ln.baseline, px=atlas.px, line=i)
                     for i, ln in enumerate(lines)]
            lay = layout["lines"]
            block = stack(lines, masks, starts, lay["spacing"] * (atlas.ascent + atlas.descent), ALIGNS[lay["align"]],
                          atlas.ascent, atlas.descent)
        elif tight:  # drawn larger, as the crop to the ink will fill the height with it
            atlas = self.atlases.get(info.path, letter_box.px(spec.size * TIGHT_SIZE), letter_box)
            line = draw_line(atlas, text, spec.spacing * TIGHT_SIZE, word_spacing * TIGHT_SIZE, shaped,
                             adjust(atlas))
            drawn = self._effects(line.mask, "line", spec, baseline=line.baseline, px=atlas.px, line=0)
            rows = np.flatnonzero(drawn.max(axis=1))
            top = int(rows[0]) if rows.size else 0
            mask = drawn[top : rows[-1] + 1] if rows.size else drawn
            block = Block(mask, (0, mask.shape[0]), [(c, x, y - top, w, h) for c, x, y, w, h in line.glyphs])
        else:
            atlas = self.atlases.get(info.path, letter_box.px(spec.size), letter_box)
            line = draw_line(atlas, text, spec.spacing, word_spacing, shaped, adjust(atlas))
            block = Block(self._effects(line.mask, "line", spec, baseline=line.baseline, px=atlas.px, line=0),
                          (line.baseline - atlas.ascent, line.baseline + atlas.descent), line.glyphs)
        mask, box, glyphs = self._effects(block, "block", spec, px=atlas.px)
        placed, warp = self.geometry.apply(mask, spec.geometry, box, tight, layout.get("stretch", 1.0))
        mask = self._effects(placed, "mask", spec)
        paper = self._effects(spec.paper, "paper", spec)
        img = self._effects(self.paper.apply(mask, paper), "image", spec, mask=mask)
        img = np.clip(img, 0, 255, out=img).astype(np.uint8) if img.dtype != np.uint8 else img
        img = self._effects(img, "uint8", spec)
        return img, (char_boxes(self._drawn(spec.text), glyphs, warp, img.shape, source) if boxes else None)

    def _effects(self, x: Any, stage: str, spec: Spec, **context: Any) -> Any:
        """The effects of one stage that fired for `spec`, in their order, each given the `context` it names."""
        for e in self.by_stage.get(stage, ()):
            p = spec.effects.get(e.name)
            if p is not None:
                x = e.apply(x, p, *(context[k] for k in e.context))
        return x

    def render(self, seed: int, index: int, boxes: bool = False) -> tuple[np.ndarray, Spec]:
        """Sample (seed, index): its image and its spec; with `boxes`, the spec carries each character's box."""
        spec = self.sample_spec(seed, index)
        if not boxes:
            return self.render_spec(spec), spec
        img, spec.boxes = self.draw(spec, boxes=True)
        return img, spec



def _unshapeable(shaped: Shaped) -> str:
    """Why a shaping is not clean, in words."""
    if shaped.missing:
        return f"no glyph for {shaped.missing!r}"
    return "a mark stands where it cannot attach (it would be drawn on a dotted circle)"


def char_boxes(text: str, glyphs: list[tuple[int, int, int, int, int]], warp: np.ndarray, shape: tuple[int, ...],
               source: list[int] | None = None) -> list[list[float] | None]:
    """Each character's box on the output image: its cluster's glyphs' ink (`Block.glyphs`, in the block's
    mask) through the warp, as [left, top, right, bottom] within the image, None for no ink. `source`
    maps the drawn text's characters to `text`'s when they differ (curly quotes). Plain Python: a line has a
    few clusters, and numpy's per-call cost on a few points is more than the arithmetic."""
    ink: dict[int, list[int]] = {}  # cluster -> its glyphs' box in the line
    for cluster, x, y, w, h in glyphs:
        c = source[cluster] if source else cluster
        b = ink.get(c)
        if b is None:
            ink[c] = [x, y, x + w, y + h]
        else:
            b[0], b[1], b[2], b[3] = min(b[0], x), min(b[1], y), max(b[2], x + w), max(b[3], y + h)
    (a, b_, c_), (d, e, f) = warp[0].tolist(), warp[1].tolist()
    height, width = shape[:2]
    box: dict[int, list[float]] = {}
    if warp.shape[0] == 2:  # affine: each output edge comes from the corner each term's sign picks
        for cluster, (x0, y0, x1, y1) in ink.items():
            xa, xb = (a * x0, a * x1) if a >= 0 else (a * x1, a * x0)
            ya, yb = (b_ * y0, b_ * y1) if b_ >= 0 else (b_ * y1, b_ * y0)
            xc, xd = (d * x0, d * x1) if d >= 0 else (d * x1, d * x0)
            yc, yd = (e * y0, e * y1) if e >= 0 else (e * y1, e * y0)
            box[cluster] = _clipped(xa + ya + c_, xc + yc + f, xb + yb + c_, xd + yd + f, width, height)
    else:
        g, h_, k = warp[2].tolist()
        for cluster, (x0, y0, x1, y1) in ink.items():
            xs, ys = [], []
            for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
                z = g * x + h_ * y + k
                xs.append((a * x + b_ * y + c_) / z)
                ys.append((d * x + e * y + f) / z)
            box[cluster] = _clipped(min(xs), min(ys), max(xs), max(ys), width, height)
    starts = sorted(box)
    out: list[list[float] | None] = []
    for i, ch in enumerate(text):
        j = bisect.bisect_right(starts, i) - 1  # the cluster this character belongs to: the last start before it
        out.append(box[starts[j]] if j >= 0 and not ch.isspace() else None)
    return out


def _clipped(left: float, top: float, right: float, bottom: float, width: int, height: int) -> list[float]:
    """A box within the image, to a hundredth of a pixel."""
    return [round(min(max(left, 0.0), width), 2), round(min(max(top, 0.0), height), 2),
            round(min(max(right, 0.0), width), 2), round(min(max(bottom, 0.0), height), 2)]

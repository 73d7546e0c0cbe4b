"""The renderer: one sample from (seed, index) to pixels, by drawing its whole spec first, then rendering it.

`Renderer.sample_spec` makes every random choice; `Renderer.render_spec` is a pure function of the spec.
Override any field of a spec (same text in another font, no rotation...) and render it again.
"""

from __future__ import annotations

import numpy as np

from synth.alphabet import Alphabet
from synth.config import SynthConfig
from synth.draw import AtlasCache, curly_quotes, draw_line
from synth.effects import Jpeg, Paper, StrokeWeight, build_effects
from synth.errors import SynthError
from synth.fonts import library
from synth.geometry import place, sample_geometry
from synth.rng import Draws
from synth.spec import Spec
from synth.text import TextSource

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
        self.fonts = library(config.fonts, self.alphabet.chars)
        self.paper = Paper(config.effects)
        self.effects = build_effects(config.effects)
        # JPEG draws between the first effects and those added later (`Effect.late`)
        self.early, self.late = [e for e in self.effects if not e.late], [e for e in self.effects if e.late]
        self.jpeg = Jpeg(config.effects.p_jpeg, config.effects.jpeg)
        self.stroke_weight = StrokeWeight(config.effects.p_stroke_weight, config.effects.stroke_weight)
        self.atlases = AtlasCache()
        self.draws = Draws()
        lo, hi = config.fonts.size
        self.px_range = (max(6, round(lo * rc.height)), max(6, round(hi * rc.height)))

    def sample_spec(self, seed: int, index: int) -> Spec:
        rng = self.draws.start(seed, index)  # a function of (seed, index) only: workers and order do not matter
        text, source = self.text.sample(rng)
        candidates = self.fonts.candidates(text)
        font = self.fonts.fonts[self.fonts.choose(candidates, rng.random())].name
        size = rng.integers(self.px_range[0], self.px_range[1] + 1)
        spacing = rng.uniform(*self.config.fonts.spacing) * size
        geometry = sample_geometry(rng, self.config.effects, self.config.render)
        paper = self.paper.sample(rng)
        effects = {e.name: e.sample(rng) for e in self.early}
        effects["jpeg"] = self.jpeg.sample(rng)
        for e in self.late:
            effects[e.name] = e.sample(rng)
        geometry["tight"] = rng.random() < self.config.effects.p_tight
        effects["stroke_weight"] = self.stroke_weight.sample(rng)
        geometry["curly_quotes"] = bool(rng.random() < self.config.effects.p_curly_quotes)
        geometry["word_spacing"] = rng.uniform(*self.config.fonts.word_spacing) * size
        return Spec(seed, index, text, source, font, size, spacing, geometry, paper, effects)

    def render_spec(self, spec: Spec) -> np.ndarray:
        """The uint8 grey image (H x W) of a spec."""
        info = self.fonts.get(spec.font)
        lacking = info.lacks(spec.text.replace(" ", ""))
        if lacking:
            raise SynthError(f"font {spec.font} cannot draw {lacking!r} of {spec.text!r}; choose a covering font")
        letter_box = self.fonts.letter_box(spec.font)
        text = curly_quotes(spec.text) if spec.geometry.get("curly_quotes") and info.curly_quotes else spec.text
        word_spacing = spec.geometry.get("word_spacing", 0.0)
        if spec.geometry.get("tight"):  # drawn larger, as the crop to the ink will fill the height with it
            atlas = self.atlases.get(info.path, letter_box.px(spec.size * TIGHT_SIZE), letter_box)
            line, _ = draw_line(atlas, text, spec.spacing * TIGHT_SIZE, word_spacing * TIGHT_SIZE)
            rows = np.flatnonzero(line.max(axis=1))
            if rows.size:
                line = line[rows[0] : rows[-1] + 1]
            box = (0, line.shape[0])
        else:
            atlas = self.atlases.get(info.path, letter_box.px(spec.size), letter_box)
            line, baseline = draw_line(atlas, text, spec.spacing, word_spacing)
            box = (baseline - atlas.ascent, baseline + atlas.descent)
        mask = place(line, spec.geometry, self.config.render, box)
        if spec.effects.get("stroke_weight") is not None:
            mask = self.stroke_weight.apply(mask, spec.effects["stroke_weight"])
        img = self.paper.apply(mask, spec.paper)
        for e in self.effects:
            p = spec.effects.get(e.name)
            if p is not None:
                img = e.apply(img, p)
        img = np.clip(img, 0, 255, out=img).astype(np.uint8) if img.dtype != np.uint8 else img
        if spec.effects.get("jpeg") is not None:
            img = self.jpeg.apply(img, spec.effects["jpeg"])
        return img

    def render(self, seed: int, index: int) -> tuple[np.ndarray, Spec]:
        spec = self.sample_spec(seed, index)
        return self.render_spec(spec), spec


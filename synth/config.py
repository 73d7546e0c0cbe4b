"""Typed configuration: dataclasses with defaults that work, saved and loaded as JSON.

The CLI maps its flags onto these same dataclasses, and every artifact stores the config that made it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synth.alphabet import DEFAULT_CHARS
from synth.errors import SynthError
from synth.files import read_json

#: the text sources `TextConfig.sources` may weigh
TEXT_SOURCES = ("random", "words", "corpus", "prose", "pattern")
#: the case transforms of `TextConfig.case`
CASES = ("lower", "upper", "title", "keep")
#: the background kinds of `EffectsConfig.backgrounds`
BACKGROUNDS = ("flat", "gradient", "texture", "image", "stripes", "brick", "wood", "fabric", "stone")
#: the most lines one sample may set (text.lines)
MAX_LINES = 8
#: how lines of a block line up (render.align), as the share of the spare width left of each line
ALIGNS = {"left": 0.0, "center": 0.5, "right": 1.0}
#: how a line wider than a fixed-width canvas is fitted (RenderConfig.fit)
FITS = ("shrink", "squeeze")
#: the starting configs `SynthConfig.preset` knows
PRESETS = ("words", "lines", "scene", "captcha", "plate", "hand")
#: the characters of the keras.io captcha example's data
CAPTCHA_CHARS = "2345678bcdefgmnpwxy"
#: the canvas must give each character of the longest text at least height / this many pixels
CHAR_WIDTH_PER_HEIGHT = 6
#: the domain of every effect setting (a number, or each end of a range): outside it an effect draws blank,
#: black or pure-noise images, or fails
LIMITS = {
    "rotate.degrees": (0, 180), "shear.factor": (0, 2), "perspective.jitter": (0, 0.5), "paper.paper": (0, 255),
    "paper.ink": (0, 255), "blur.sigma": (0, 20), "gaussian_noise.std": (0, 128), "speckle.std": (0, 1),
    "salt_pepper.amount": (0, 0.5), "binarize.shift": (0, 3), "stroke_weight.shift": (-1, 1),
    "jpeg.quality": (1, 100), "stretch.factor": (0.2, 5), "underline.strike": (0, 1),
    "underline.thickness": (0.005, 0.5), "colour.min_contrast": (0, 255), "shadow.offset": (0, 0.5),
    "shadow.darkness": (0, 1), "shadow.blur": (0, 20), "outline.width": (1, 10), "lighting.strength": (0, 1),
    "motion_blur.length": (0, 50), "low_res.scale": (0.05, 1), "jitter.angle": (0, 90), "jitter.scale": (0.3, 3),
    "jitter.rise": (0, 0.5), "curve.thickness": (0.005, 0.5), "curve.amplitude": (0, 1), "curve.cycles": (0, 10),
    "plate.padding": (0, 2), "plate.thickness": (0, 0.5), "arc.bend": (0, 2), "arc.wave": (0, 1), "arc.cycles": (0, 4),
    "arc.turn": (0, 80), "neighbours.gap": (0.1, 2), "neighbours.width": (0.01, 1), "elastic.amplitude": (0, 0.1),
    "elastic.scale": (0.05, 5), "extrude.depth": (0, 0.5), "panel.distance": (0, 5), "panel.rim": (0, 20),
}


def weights_problem(name: str, weights: dict[str, float]) -> str | None:
    """What is wrong with a table of sampling weights: each finite and >= 0, at least one above 0."""
    bad = {k: w for k, w in weights.items() if not (isinstance(w, int | float) and 0 <= w < math.inf)}
    if bad:
        return f"{name} {bad}: each weight must be a finite number >= 0"
    if not any(w > 0 for w in weights.values()):
        return f"{name}: every weight is 0; give at least one a weight above 0"
    return None


def _number_problem(name: str, value: Any, limits: tuple[float, float]) -> str | None:
    """A setting (a number, or a [low, high] range) against its domain."""
    lo, hi = limits
    values = list(value) if isinstance(value, list | tuple) else [value]
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
        return f"{name} {value}: give finite numbers"
    if len(values) == 2 and values[0] > values[1]:
        return f"{name} {value}: the low end is above the high end"
    if not all(lo <= v <= hi for v in values):
        return f"{name} {value} is outside {lo} to {hi}"
    return None


@dataclass
class TextConfig:
    """Where the text comes from: a weighted mix of sources, then a case transform."""

    #: weights of the sources "random" (the seeds' randomstring), "words" (lexicon), "corpus" (lines of a file)
    #: and "prose" (lines of lexicon words with punctuation, for line models)
    sources: dict[str, float] = field(default_factory=lambda: {"random": 0.3, "words": 0.7})
    min_len: int = 1
    max_len: int = 15  # 2L+1 = 31 steps: fits the default model at 128 px (32 steps)
    #: characters random strings are drawn from; None means the whole alphabet
    random_chars: str | None = None
    #: the chance that each next visible character of a random string is drawn from the class (letter, digit,
    #: other) of the one before, as codes and numbers keep to runs; 0 draws every character from the whole set
    #: (the seeds' randomstring). Spaces keep their share
    random_runs: float = 0.0
    #: word list file (one per line); None means the bundled English list
    lexicon: str | None = None
    #: UTF-8 text file, one sample per line
    corpus: str | None = None
    #: probabilities of case transforms applied to words and corpus lines (prose does its own casing)
    case: dict[str, float] = field(default_factory=lambda: {"lower": 0.4, "upper": 0.2, "title": 0.2, "keep": 0.2})
    #: what to do with text the alphabet cannot encode: "error" or "filter" (skip it and count)
    unencodable: str = "filter"
    #: lines of a sample (least, most): random strings, words and prose are drawn that many to a sample and set
    #: one under another, the label holding them in reading order with `line_break` between; a corpus line or a
    #: pattern is set as the breaks it holds (at most `most` lines)
    lines: tuple[int, int] = (1, 1)
    #: patterns of the "pattern" source, as plates are numbered: L a capital, D a digit, K a Korean plate
    #: syllable, R a Korean region; any other character stands for itself (a space, "-", the line break)
    patterns: list[str] = field(default_factory=list)
    #: the character that stands for a line break in labels (e.g. "|"): when set and in the alphabet, it is never
    #: drawn, and a text holding it (a corpus line, a plate pattern) is set as those lines; "" (the default) for none
    line_break: str = ""

    def breaks(self, chars: str) -> str | None:
        """The line break character in use with the alphabet `chars`, or None."""
        return self.line_break if self.line_break and self.line_break in chars else None

    @property
    def label_len(self) -> int:
        """The longest label: `max_len` characters a line, and the breaks between lines."""
        return self.max_len * self.lines[1] + self.lines[1] - 1

    def problems(self, chars: str) -> list[str]:
        """What is wrong with these values for an alphabet of `chars` (files are checked when read)."""
        out = []
        if self.min_len < 1 or self.max_len < self.min_len:
            out.append(f"text length range {self.min_len}-{self.max_len} is empty; need 1 <= min_len <= max_len")
        unknown = set(self.sources) - set(TEXT_SOURCES)
        if unknown:
            out.append(f"unknown text source(s) {sorted(unknown)}; use {', '.join(TEXT_SOURCES)}")
        out += filter(None, [weights_problem("text.sources (--text)", self.sources),
                             weights_problem("text.case", self.case)])
        if self.unencodable not in ("error", "filter"):
            out.append(f"text.unencodable is {self.unencodable!r}; use 'error' or 'filter'")
        unknown = set(self.case) - set(CASES)
        if unknown:
            out.append(f"unknown case transform(s) {sorted(unknown)}; use {', '.join(CASES)}")
        if self.sources.get("random", 0) > 0 and self.random_chars is not None:
            missing = "".join(dict.fromkeys(c for c in self.random_chars if c not in chars))
            if missing:
                out.append(f"text.random_chars has characters outside the alphabet: {missing!r}")
        if not 0 <= self.random_runs <= 1:
            out.append(f"text.random_runs {self.random_runs}: give a chance from 0 to 1")
        if self.sources.get("corpus", 0) > 0 and not self.corpus:
            out.append("text source 'corpus' has a weight but text.corpus names no file; set it")
        if self.sources.get("pattern", 0) > 0 and not self.patterns:
            out.append("text source 'pattern' has a weight but text.patterns is empty; give patterns like 'LLL-DDDD'")
        lo, hi = self.lines
        if not 1 <= lo <= hi <= MAX_LINES:
            out.append(f"text.lines {self.lines}: give the least and most lines, 1 <= least <= most <= {MAX_LINES}")
        elif len(self.line_break) > 1 or self.line_break.isspace() or (hi > 1 and not self.breaks(chars)):
            out.append(f"text.line_break {self.line_break!r}: give one visible character of the alphabet to stand for "
                       "a line break in labels, e.g. --set text.line_break='|' with | in the alphabet")
        return out


@dataclass
class FontConfig:
    #: extra font folders searched besides the bundled fonts/ (files: .ttf, .otf, .ttc)
    dirs: list[str] = field(default_factory=list)
    #: whether the bundled fonts/ folder is used (its Latin faces)
    bundled: bool = True
    #: bundled fonts of other scripts to add, by folder name under fonts/scripts (arabic, hebrew, devanagari,
    #: thai, bengali, korean); a named alphabet (`--alphabet arabic`) adds its own
    scripts: list[str] = field(default_factory=list)
    #: add every font the operating system has (fontconfig's list, or the usual folders); one that cannot be
    #: read is passed over and listed by `synth fonts`
    system: bool = False
    #: only fonts whose file stem is in this list (empty: all)
    include: list[str] = field(default_factory=list)
    #: fonts whose file stem is in this list are never used (held out)
    exclude: list[str] = field(default_factory=list)
    #: relative sampling weights by file stem, others 1: more samples of the faces a model reads worst (see the
    #: per-font table of `train robustness`). A weight for an excluded font is ignored (held-out fonts stay out)
    weights: dict[str, float] = field(default_factory=dict)
    #: font size range as a fraction of the output height (the size of a font whose capitals are 0.7 em tall)
    size: tuple[float, float] = (0.55, 0.8)
    #: draw each font at the size that gives its capitals the same height, not its em (a script whose capitals
    #: are 0.56 em tall would otherwise be drawn a fifth smaller than a sans at the same nominal size)
    match_letter_size: bool = True
    #: extra space between characters, as a fraction of the font size
    spacing: tuple[float, float] = (-0.02, 0.12)
    #: extra space at each space character, as a fraction of the font size: tightly set lines leave words 0.15 em
    #: apart, justified ones 0.6 em, where most fonts' own space is 0.25 em
    word_spacing: tuple[float, float] = (-0.1, 0.35)

    def problems(self) -> list[str]:
        out = []
        lo, hi = self.size
        if not 0 < lo <= hi:
            out.append(f"fonts.size range {self.size} is invalid; use fractions like [0.55, 0.8]")
        bad = {k: w for k, w in self.weights.items() if not (isinstance(w, int | float) and 0 < w < float("inf"))}
        if bad:
            out.append(f"fonts.weights {bad}: each weight must be a positive number")
        return out


@dataclass
class RenderConfig:
    height: int = 32
    #: fixed output width; None keeps the text's aspect (variable width, padded per batch)
    width: int | None = 128
    #: for variable width: the widest image allowed
    max_width: int = 512
    #: a line too wide for the fixed width: "shrink" keeps its aspect (smaller letters, more paper above and
    #: below); "squeeze" narrows it and keeps the letters' height, as the model's input resizing treats a wide
    #: real crop (`synth.image.to_model_input`)
    fit: str = "shrink"
    #: free space around the text, as a fraction of the height (random per side up to this)
    margin: float = 0.25
    #: several lines (text.lines): the distance of baselines, in line heights (least, most), and the alignments
    #: drawn from
    line_spacing: tuple[float, float] = (1.0, 1.3)
    align: list[str] = field(default_factory=lambda: ["left", "center", "right"])

    def problems(self) -> list[str]:
        out = []
        if not 8 <= self.height <= 1024:
            out.append(f"render.height {self.height} is out of range; use 8 to 1024 pixels")
        if (self.width or 0) > 65536 or self.max_width > 65536:
            out.append("render.width and render.max_width may be at most 65536 pixels")
        if self.width is not None and self.width < self.height:
            out.append(f"render.width {self.width} is below the height {self.height}; use a wider canvas")
        if self.width is None and self.max_width < self.height:
            out.append(f"render.max_width {self.max_width} is below the height {self.height}; allow wider images")
        if self.fit not in FITS:
            out.append(f"render.fit {self.fit!r}: choose {' or '.join(FITS)}")
        lo, hi = self.line_spacing
        if not 0.7 <= lo <= hi <= 3:
            out.append(f"render.line_spacing {self.line_spacing}: give line heights from 0.7 to 3, low <= high")
        if not self.align or set(self.align) - set(ALIGNS):
            out.append(f"render.align {self.align}: choose from {', '.join(ALIGNS)}")
        if not 0 <= self.margin <= 0.45:  # each of two margins up to this share of the height: text needs the rest
            out.append(f"render.margin {self.margin} is out of range; use a fraction of the height from 0 to 0.45 "
                       "(0.25 default)")
        return out


@dataclass
class Chance:
    """An effect with nothing to set but how often it fires."""

    p: float = 0.0


@dataclass
class RotateConfig:
    p: float = 0.5
    degrees: float = 3.0  # symmetric


@dataclass
class ShearConfig:
    p: float = 0.3
    factor: float = 0.25  # horizontal shear factor, symmetric


@dataclass
class PerspectiveConfig:
    p: float = 0.2
    jitter: float = 0.06  # corner jitter as a fraction of the height


@dataclass
class PaperConfig:
    """Background and ink. `p` is the chance of a background other than flat paper."""

    p: float = 0.7
    #: weights of background kinds: flat paper, a linear gradient, a noise texture, an image from `dirs`, and
    #: the surfaces of `synth.patterns` (stripes, brick, wood, fabric, stone)
    kinds: dict[str, float] = field(
        default_factory=lambda: {"flat": 0.4, "gradient": 0.35, "texture": 0.25, "image": 0.0}
    )
    dirs: list[str] = field(default_factory=list)
    #: paper and ink grey levels (0 black, 255 white): contrast comes from their difference
    paper: tuple[int, int] = (170, 255)
    ink: tuple[int, int] = (0, 90)


@dataclass
class BlurConfig:
    p: float = 0.35
    sigma: tuple[float, float] = (0.3, 1.1)  # gaussian sigma in pixels


@dataclass
class NoiseConfig:
    p: float = 0.5
    std: tuple[float, float] = (2.0, 12.0)  # in grey levels


@dataclass
class SpeckleConfig:
    """The seeds' speckle: blurred random dots."""

    p: float = 0.15
    std: tuple[float, float] = (0.02, 0.1)  # as a fraction of the grey range


@dataclass
class SaltPepperConfig:
    p: float = 0.05
    amount: tuple[float, float] = (0.002, 0.02)  # fraction of pixels


@dataclass
class BinarizeConfig:
    """A scanner's black and white; the lines preset uses p 0.5."""

    p: float = 0.0
    #: Otsu's threshold moved by (this - 1) x the ink-paper contrast: bolder strokes above 1, thinner below
    shift: tuple[float, float] = (0.8, 1.2)


@dataclass
class StrokeWeightConfig:
    """Strokes bolder or lighter than the font's (light and bold cuts of a face, ink spread). Off by default: it
    showed no gain in training (docs/benchmarks.md)."""

    p: float = 0.0
    #: each edge of the ink moves out by about this many output pixels (-1 to 1), in where negative
    shift: tuple[float, float] = (-0.5, 0.6)


@dataclass
class JpegConfig:
    p: float = 0.25
    quality: tuple[int, int] = (30, 90)


@dataclass
class StretchConfig:
    """Condensed and extended lettering: the line scaled across by a factor, its height kept."""

    p: float = 0.0
    factor: tuple[float, float] = (0.7, 1.3)


@dataclass
class UnderlineConfig:
    """A rule under the text, or through it (`strike` of them): links, headings, corrections."""

    p: float = 0.0
    strike: float = 0.3
    thickness: tuple[float, float] = (0.04, 0.1)  # as a fraction of the font size


@dataclass
class ColourConfig:
    """Coloured ink on coloured paper, seen in grey as a camera sees it: two random colours whose luma (BT.601)
    becomes the ink's and the paper's grey. Colours of similar brightness give the low contrast of real signs."""

    p: float = 0.0
    #: least difference of the two lumas, in grey levels: below it the text would vanish
    min_contrast: float = 70.0


@dataclass
class ShadowConfig:
    """A drop shadow: the text's shape, offset down and to a side, darker than the paper, softened."""

    p: float = 0.0
    offset: tuple[float, float] = (0.03, 0.1)  # as a fraction of the image height
    darkness: tuple[float, float] = (0.3, 0.8)  # share of the way from the paper to black
    blur: tuple[float, float] = (0.0, 1.5)  # sigma in pixels


@dataclass
class ExtrudeConfig:
    """Letters with depth (3-D, raised and cast lettering): their shape swept back along a direction, in
    another grey, behind them."""

    p: float = 0.0
    depth: tuple[float, float] = (0.03, 0.12)  # as a fraction of the image height


@dataclass
class OutlineConfig:
    """A border around each letter in another grey (outlined and sign lettering)."""

    p: float = 0.0
    width: tuple[int, int] = (1, 2)  # pixels


@dataclass
class LightingConfig:
    """Uneven light: a brightness ramp across the image and a spot of light or shade."""

    p: float = 0.0
    strength: tuple[float, float] = (0.15, 0.4)  # the largest change of brightness, as a share


@dataclass
class MotionBlurConfig:
    """A camera moving while the shutter is open: a blur along one direction."""

    p: float = 0.0
    length: tuple[float, float] = (2.0, 6.0)  # pixels


@dataclass
class LowResConfig:
    """Low resolution: the image scaled down and back up, as a small crop enlarged."""

    p: float = 0.0
    scale: tuple[float, float] = (0.4, 0.8)


@dataclass
class JitterConfig:
    """Letters set unevenly, as captchas and hands set them: each turned, scaled and raised on its own."""

    p: float = 0.0
    angle: float = 20.0  # degrees either way, per letter
    scale: tuple[float, float] = (0.85, 1.15)
    rise: float = 0.08  # up or down, as a fraction of the font size


@dataclass
class ElasticConfig:
    """Letters bent out of their font's shape by a smooth random field (an elastic warp): the wobble of hand
    lettering and worn paint, and letterforms no font in training has."""

    p: float = 0.0
    amplitude: tuple[float, float] = (0.015, 0.06)  # the field's spread, as a fraction of the font size
    scale: tuple[float, float] = (0.2, 0.5)  # the distance over which it changes, as a fraction of the font size


@dataclass
class CurveConfig:
    """A wavy line drawn through the text in its ink (captchas)."""

    p: float = 0.0
    thickness: tuple[float, float] = (0.04, 0.1)  # as a fraction of the font size
    amplitude: tuple[float, float] = (0.05, 0.3)  # as a fraction of the font size
    cycles: tuple[float, float] = (0.3, 1.5)  # waves across the line


@dataclass
class NeighboursConfig:
    """Parts of the neighbouring words' letters at the crop's sides, cut by its edge, as a detector's word box
    leaves them: pieces of the line's own ink, a word space away from it."""

    p: float = 0.0
    gap: tuple[float, float] = (0.3, 0.6)  # between the text and the piece, as a fraction of the image height
    width: tuple[float, float] = (0.05, 0.2)  # of the piece, cut there, as a fraction of the image height


@dataclass
class PanelConfig:
    """The edge of the sign, label or screen the word is on, inside the crop: beyond a rectangle about the ink
    (its sides a random distance out, often past the image's edge) another surface in another grey, shaded, and
    half the time the panel's rim as a line along its edge."""

    p: float = 0.0
    distance: tuple[float, float] = (0.1, 1.0)  # from the ink to each side of the panel, as a fraction of the height
    rim: tuple[int, int] = (1, 3)  # the rim's width in pixels


@dataclass
class ArcConfig:
    """Text set along a curve, as badges, seals and logos set it: each letter moved onto the curve and turned to
    follow it."""

    p: float = 0.0
    bend: tuple[float, float] = (0.2, 0.8)  # the curve's rise over the line, as a fraction of the font size, up or down
    wave: float = 0.3  # the chance of a wave of `cycles` periods in place of an arc
    cycles: tuple[float, float] = (0.5, 1.5)
    #: the steepest a letter turns, in degrees: a short line bends less, as a letter turned further reads as
    #: another one (an N on its side is a Z, an 8 an infinity sign)
    turn: float = 40.0


@dataclass
class PlateConfig:
    """A licence plate around the text: space about it and a border in the ink, drawn before the geometry, so
    that the plate turns and leans with its text."""

    p: float = 0.0
    padding: tuple[float, float] = (0.15, 0.45)  # about the text, as a fraction of the font size
    thickness: tuple[float, float] = (0.03, 0.08)  # of the border, as a fraction of the font size


@dataclass
class EffectsConfig:
    """One section per effect, each with its probability `p` (0 turns it off) and its settings.

    The defaults aim at printed text seen by a scanner or a phone camera.
    """

    rotate: RotateConfig = field(default_factory=RotateConfig)
    upside_down: Chance = field(default_factory=Chance)  # the seeds' `ud` flag
    shear: ShearConfig = field(default_factory=ShearConfig)
    perspective: PerspectiveConfig = field(default_factory=PerspectiveConfig)
    #: crop to the ink of the line, as line images cut from a scanned page are: the text fills the height
    #: (a line without ascenders shows bigger letters) and the margins shrink to a tenth; the lines preset uses 0.5
    tight: Chance = field(default_factory=Chance)
    paper: PaperConfig = field(default_factory=PaperConfig)
    blur: BlurConfig = field(default_factory=BlurConfig)
    gaussian_noise: NoiseConfig = field(default_factory=NoiseConfig)
    speckle: SpeckleConfig = field(default_factory=SpeckleConfig)
    salt_pepper: SaltPepperConfig = field(default_factory=SaltPepperConfig)
    binarize: BinarizeConfig = field(default_factory=BinarizeConfig)
    invert: Chance = field(default_factory=lambda: Chance(0.1))
    stroke_weight: StrokeWeightConfig = field(default_factory=StrokeWeightConfig)
    jpeg: JpegConfig = field(default_factory=JpegConfig)
    #: draw `` '' ` ' as the curly quotes typesetting prints, in fonts that have them; the label keeps the ASCII
    curly_quotes: Chance = field(default_factory=lambda: Chance(0.5))
    # the looks of scene and born-digital crops (the scene preset turns them on)
    stretch: StretchConfig = field(default_factory=StretchConfig)
    underline: UnderlineConfig = field(default_factory=UnderlineConfig)
    colour: ColourConfig = field(default_factory=ColourConfig)
    shadow: ShadowConfig = field(default_factory=ShadowConfig)
    outline: OutlineConfig = field(default_factory=OutlineConfig)
    lighting: LightingConfig = field(default_factory=LightingConfig)
    motion_blur: MotionBlurConfig = field(default_factory=MotionBlurConfig)
    low_res: LowResConfig = field(default_factory=LowResConfig)
    # the looks of captchas (the captcha preset turns them on)
    jitter: JitterConfig = field(default_factory=JitterConfig)
    curve: CurveConfig = field(default_factory=CurveConfig)
    # the plate preset's
    plate: PlateConfig = field(default_factory=PlateConfig)
    #: beyond the plate's ink: the car's body in another grey, and now and then a lamp's bright edge at a side
    surround: Chance = field(default_factory=Chance)
    arc: ArcConfig = field(default_factory=ArcConfig)
    neighbours: NeighboursConfig = field(default_factory=NeighboursConfig)
    elastic: ElasticConfig = field(default_factory=ElasticConfig)
    extrude: ExtrudeConfig = field(default_factory=ExtrudeConfig)
    panel: PanelConfig = field(default_factory=PanelConfig)

    def sections(self) -> list[tuple[str, Any]]:
        return [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)]

    def problems(self) -> list[str]:
        out = []
        for name, section in self.sections():
            if not 0.0 <= section.p <= 1.0:
                out.append(f"effects.{name}.p {section.p} is not a probability; use a value from 0 to 1")
            for f in dataclasses.fields(section):
                key = f"{name}.{f.name}"
                if key in LIMITS:
                    out += filter(None, [_number_problem(f"effects.{key}", getattr(section, f.name), LIMITS[key])])
        # a field that moves pixels further than the distance over which it changes folds the letters into noise
        if self.elastic.amplitude[1] > 0.4 * self.elastic.scale[0]:
            out.append(f"effects.elastic: amplitude up to {self.elastic.amplitude[1]} over a scale from "
                       f"{self.elastic.scale[0]} folds the letters; keep the amplitude's high end at most 0.4 times "
                       "the scale's low end (the defaults: 0.06 and 0.2)")
        kinds = self.paper.kinds
        out += filter(None, [weights_problem("effects.paper.kinds", kinds)])
        unknown = {k for k, w in kinds.items() if w > 0} - set(BACKGROUNDS)
        if unknown:
            out.append(f"unknown background kind(s) {sorted(unknown)}; use {', '.join(BACKGROUNDS)}")
        if kinds.get("image", 0) > 0 and not self.paper.dirs:
            out.append("background kind 'image' has a weight but effects.paper.dirs names no folder; name a "
                       "folder of images or set its weight to 0")
        return out

    @staticmethod
    def upgrade(data: dict[str, Any]) -> dict[str, Any]:
        return upgrade_effects(data)

    @classmethod
    def off(cls) -> EffectsConfig:
        """Plain black text on white: every effect's probability at 0."""
        cfg = cls()
        for _, section in cfg.sections():
            section.p = 0.0
        cfg.paper.paper, cfg.paper.ink = (255, 255), (0, 0)
        return cfg


#: the version 0.3 layout's flat effect fields -> their place in the sections
LEGACY_EFFECTS = {
    "p_rotate": "rotate.p", "rotate": "rotate.degrees", "p_upside_down": "upside_down.p", "p_shear": "shear.p",
    "shear": "shear.factor", "p_perspective": "perspective.p", "perspective": "perspective.jitter",
    "p_tight": "tight.p", "p_blur": "blur.p", "blur": "blur.sigma", "p_background": "paper.p",
    "backgrounds": "paper.kinds", "background_dirs": "paper.dirs", "paper": "paper.paper", "ink": "paper.ink",
    "p_invert": "invert.p", "p_gaussian_noise": "gaussian_noise.p", "gaussian_noise": "gaussian_noise.std",
    "p_speckle": "speckle.p", "speckle": "speckle.std", "p_salt_pepper": "salt_pepper.p",
    "salt_pepper": "salt_pepper.amount", "p_binarize": "binarize.p", "binarize": "binarize.shift",
    "p_stroke_weight": "stroke_weight.p", "stroke_weight": "stroke_weight.shift", "p_jpeg": "jpeg.p",
    "jpeg": "jpeg.quality", "p_curly_quotes": "curly_quotes.p",
}


def upgrade_effects(data: dict[str, Any]) -> dict[str, Any]:
    """Effects data in the version 0.3 layout (flat `p_*` fields), whole or partial, in today's sections; data
    already in sections passes unchanged. Configs, manifests and model dirs of 0.3 load through this."""
    sections = {f.name for f in dataclasses.fields(EffectsConfig)}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in sections and isinstance(value, dict):
            out.setdefault(key, {}).update(value)
        elif key in LEGACY_EFFECTS:
            section, name = LEGACY_EFFECTS[key].split(".")
            out.setdefault(section, {})[name] = value
        else:
            out[key] = value  # unknown: from_dict names it
    return out


class JsonConfig:
    """Saving and loading for a config dataclass, as the JSON of its fields."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        return from_dict(cls, data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Any:
        return load_json_config(cls, path)


@dataclass
class SynthConfig(JsonConfig):
    alphabet: str = DEFAULT_CHARS
    text: TextConfig = field(default_factory=TextConfig)
    fonts: FontConfig = field(default_factory=FontConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    effects: EffectsConfig = field(default_factory=EffectsConfig)

    def problems(self) -> list[str]:
        """What is wrong with the values, each with its fix. What the config names on disk (fonts, word lists,
        images) is checked when it is read."""
        problems = [] if self.alphabet else ["the alphabet is empty: pass at least one character (e.g. --alphabet "
                                             "0123456789)"]
        problems += self.text.problems(self.alphabet) + self.fonts.problems() + self.render.problems()
        return problems + self.effects.problems() + self._fit_problems()

    def _fit_problems(self) -> list[str]:
        """The longest text must fit the canvas at a readable size: a text wider than the canvas is shrunk to
        fit, and letters narrower than a sixth of the height (5 pixels at 32) are no longer letters."""
        rc, n = self.render, self.text.max_len
        canvas, flag = (rc.width, "render.width") if rc.width is not None else (rc.max_width, "render.max_width")
        least = rc.height / self.text.lines[1] / CHAR_WIDTH_PER_HEIGHT  # each line gets its share of the height
        if rc.height < 8 or n < 1 or canvas < rc.height or canvas / n >= least:
            return []  # (the first three are problems of their own)
        wider = math.ceil(n * least)
        widen = f"widen it to {wider}, " if wider <= 65536 else ""
        return [f"{flag} {canvas} leaves {canvas / n:.1f} pixels for each of text.max_len={n} characters, too few "
                f"to read at height {rc.height} (at least {least:.1f}); {widen}lower --max-len to "
                f"{int(canvas / least)}" + (", or use --width auto" if rc.width is not None else "")]

    def validate(self) -> None:
        """Every check of the values, gathered in one SynthError that names each problem and its fix."""
        raise_problems(self.problems())

    @classmethod
    def preset(cls, name: str) -> SynthConfig:
        """'words': the defaults (single words and random strings, 128x32). 'lines': printed text lines for
        line recognizers (scanned pages): prose of 1 to 90 characters (pages have titles, page numbers and a
        paragraph's last words on lines of their own), variable width, the small rotations of a scanner, half
        of them binarized, half cropped tight to the ink; the alphabet gains the backquote of typeset ``quotes''.
        'scene': word crops from photos and screens (signs, covers, shop fronts, web images), 48x192: half of them
        cropped to the ink (the letters fill the height), words set in capitals most, numbers and prices among
        them, signage, display, pixel and blackletter faces and hand-lettered capitals, coloured ink and paper
        seen in grey, light text on dark, textured backgrounds, the edges of signs, shadows and outlines, uneven
        light, condensed and extended letters, motion blur and low resolution, stronger rotation and perspective.
        'captcha': the look of the captchas the keras.io captcha reader learns: 200x50 grey images of 5
        characters of its charset, each letter turned, scaled and raised on its own, set so that they touch,
        a wavy line through them, speckle and blur.
        'plate': licence plates, 64 px high: US, EU, Brazilian and Korean numbering patterns on one line and two
        (the two-line ones for `--model twoline`), DIN-like and condensed plate faces (and NanumSquare for
        Hangul), a border about the text, embossing shadows, dirt, uneven light and the perspective of a camera
        at a car.
        'hand': a starting point for handwriting: words in handwritten and informal faces (the bundled ones and
        fonts/scripts/hands/), each letter a little turned, scaled and raised, slanted lines, uneven strokes."""
        cfg = cls()
        if name == "words":
            return cfg
        if name == "scene":
            return _scene(cfg)
        if name == "captcha":
            return _captcha(cfg)
        if name == "plate":
            return _plate(cfg)
        if name == "hand":
            return _hand(cfg)
        if name != "lines":
            raise SynthError(f"unknown preset {name!r}; use {', '.join(PRESETS)}")
        cfg.alphabet = DEFAULT_CHARS + "`"
        cfg.text.sources = {"prose": 1.0}
        cfg.text.min_len, cfg.text.max_len = 1, 90
        cfg.render.width, cfg.render.max_width = None, 2048
        cfg.render.margin = 0.15
        e = cfg.effects
        e.rotate.degrees, e.shear.p, e.shear.factor, e.perspective.p = 1.0, 0.1, 0.1, 0.05
        e.binarize.p, e.invert.p, e.tight.p = 0.5, 0.0, 0.5
        return cfg


#: the numbers of signs, shop fronts and labels (TextConfig.patterns of the scene preset): counts, prices,
#: years, times, phone numbers, house and platform numbers
SCENE_NUMBERS = ["D", "DD", "DDD", "DDDD", "DDDDD", "D,DDD", "DD.DD", "$DD", "$D.DD", "DD%", "DDD-DDDD", "DD:DD",
                 "No.DD", "LDD", "DDL"]


def _scene(cfg: SynthConfig) -> SynthConfig:
    """The scene preset's changes to the defaults (see `SynthConfig.preset`)."""
    t = cfg.text
    t.sources, t.patterns = {"words": 0.78, "random": 0.14, "pattern": 0.08}, list(SCENE_NUMBERS)
    t.case = {"upper": 0.45, "title": 0.25, "lower": 0.25, "keep": 0.05}  # signs are set in capitals most
    # signage, bold, condensed, display and pixel faces beside the bundled ones, and hand-lettered capitals
    cfg.fonts.scripts = ["display", "hands"]
    cfg.render.margin = 0.12  # real crops leave about a tenth of their height beside the text
    # 48 pixels high: more of each letter's detail; it read more real crops than 32 in the same time
    cfg.render.height, cfg.render.width = 48, 192
    e = cfg.effects
    e.tight.p = 0.5  # a word crop hugs its ink: the letters fill the height
    e.rotate.p, e.rotate.degrees = 0.6, 5.0
    e.perspective.p, e.perspective.jitter = 0.35, 0.08
    e.paper.p, e.paper.kinds = 0.8, {"flat": 0.3, "gradient": 0.3, "texture": 0.4, "image": 0.0}
    e.invert.p = 0.25
    e.colour.p = 0.5
    e.shadow.p, e.outline.p = 0.15, 0.1
    e.lighting.p = 0.4
    # condensed to extended lettering over a wide range: real words are set narrower than the bundled faces draw
    # them, and the narrowest faces read worst (its A/B in docs/benchmarks.md)
    e.stretch.p, e.stretch.factor = 0.5, (0.5, 1.6)
    e.underline.p = 0.03
    e.panel.p = 0.3  # the edge of the sign a word is cut from; its A/B in docs/benchmarks.md
    e.arc.p = 0.1  # badges and logos; their A/B in docs/benchmarks.md
    e.blur.p = 0.4
    e.motion_blur.p, e.low_res.p = 0.15, 0.3
    e.jpeg.p = 0.35
    return cfg


def _captcha(cfg: SynthConfig) -> SynthConfig:
    """The captcha preset's changes to the defaults (see `SynthConfig.preset`)."""
    cfg.alphabet = CAPTCHA_CHARS
    cfg.text.sources = {"random": 1.0}
    cfg.text.min_len = cfg.text.max_len = 5
    cfg.render.height, cfg.render.width, cfg.render.margin = 50, 200, 0.15
    cfg.fonts.size, cfg.fonts.spacing = (0.75, 1.0), (-0.12, 0.04)  # big letters, touching
    e = cfg.effects
    e.jitter.p, e.jitter.angle = 1.0, 25.0
    e.curve.p = 0.9
    e.rotate.p, e.shear.p, e.perspective.p = 0.3, 0.3, 0.2
    e.paper.p, e.paper.paper, e.paper.ink = 0.5, (180, 255), (0, 110)
    e.speckle.p, e.blur.p, e.gaussian_noise.p = 0.5, 0.6, 0.5
    e.invert.p, e.curly_quotes.p = 0.0, 0.0
    return cfg


#: plate numbering patterns (TextConfig.patterns): US, EU (DE, FR, IT, NL, UK), Brazil (Mercosul and before),
#: Korea (one line; two lines with the region above), and two-line US/EU ones
PLATE_PATTERNS = [
    "DLLL DDD", "LLL DDDD", "LLL-DDDD", "DDD LLL", "LLL DDD", "LL DDDDD",
    "LL LL DDDD", "L LL DDD", "LL-DDD-LL", "LL DDDLL", "LLDD LLL", "LL-DDD-L", "DD-LLL-D",
    "LLLDLDD", "LLL-DDDD",
    "DDK DDDD", "DDDK DDDD", "R DD|K DDDD",
    "LLL|DDDD", "DD|LLL DD",
]


def _plate(cfg: SynthConfig) -> SynthConfig:
    """The plate preset's changes to the defaults (see `SynthConfig.preset`)."""
    from synth.text import KOREAN_PLATE_SYLLABLES, KOREAN_REGIONS  # text builds on this module

    cfg.alphabet = "".join(dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -|" + KOREAN_PLATE_SYLLABLES
                                         + "".join(KOREAN_REGIONS)))
    t = cfg.text
    t.sources, t.patterns, t.min_len, t.max_len, t.lines = {"pattern": 1.0}, list(PLATE_PATTERNS), 1, 10, (1, 2)
    t.line_break = "|"
    cfg.render.height, cfg.render.width, cfg.render.margin = 64, 192, 0.1
    cfg.render.line_spacing, cfg.render.align = (1.0, 1.15), ["center"]
    cfg.fonts.bundled, cfg.fonts.scripts = False, ["plates", "korean"]
    cfg.fonts.spacing, cfg.fonts.word_spacing = (0.0, 0.12), (0.0, 0.3)
    e = cfg.effects
    e.plate.p, e.surround.p = 0.85, 0.5
    e.rotate.p, e.rotate.degrees = 0.5, 5.0
    e.perspective.p, e.perspective.jitter = 0.6, 0.1
    e.shear.p = 0.2
    e.shadow.p, e.lighting.p, e.colour.p, e.invert.p = 0.4, 0.5, 0.4, 0.1
    e.paper.p, e.paper.paper, e.paper.ink = 0.6, (150, 255), (0, 80)
    e.speckle.p, e.gaussian_noise.p, e.salt_pepper.p = 0.4, 0.5, 0.1
    e.blur.p, e.motion_blur.p, e.low_res.p, e.jpeg.p = 0.5, 0.2, 0.3, 0.4
    e.curly_quotes.p = 0.0
    return cfg


#: the handwritten and informal faces the hand preset draws with: bundled ones, and fonts/scripts/hands/
HAND_FONTS = ["Breip", "ComicNeue-Regular", "DancingScript-Regular", "KaushanScript-Regular",
              "BecauseWeBuild-Regular", "BecauseWeConnect-Regular", "BecauseWeCreate-Regular",
              "BecauseWeLearn-Regular", "BecauseWeMentor-Regular", "BecauseWeOrganize-Regular"]


def _hand(cfg: SynthConfig) -> SynthConfig:
    """The hand preset's changes to the defaults (see `SynthConfig.preset`)."""
    cfg.text.sources = {"words": 0.85, "random": 0.15}
    cfg.fonts.scripts, cfg.fonts.include = ["hands"], list(HAND_FONTS)
    e = cfg.effects
    e.jitter.p, e.jitter.angle, e.jitter.scale, e.jitter.rise = 0.8, 6.0, (0.9, 1.1), 0.05
    e.rotate.p, e.rotate.degrees = 0.5, 3.0
    e.shear.p, e.shear.factor = 0.6, 0.3  # the writer's slant, either way
    e.stroke_weight.p, e.stroke_weight.shift = 0.4, (-0.4, 0.6)
    e.binarize.p = 0.15
    return cfg


def raise_problems(problems: list[str]) -> None:
    """One SynthError for a config's problems, on one line, if it has any."""
    if len(problems) == 1:
        raise SynthError(problems[0])
    if problems:
        raise SynthError(f"the config has {len(problems)} problems: " + "; ".join(problems))


def load_json_config(cls: type, path: str | Path) -> Any:
    """Read a JSON config file into the dataclass `cls`, with a clear error for a bad file or key."""
    return config_from_json(cls, read_json(path, "config file"))


def config_from_json(cls: type, data: Any) -> Any:
    """Dataclass `cls` from a config's JSON data, or from a file that holds one under "config" (a dataset's
    manifest.json, a model's record)."""
    names = {f.name for f in dataclasses.fields(cls)}
    if isinstance(data, dict) and "config" in data and "config" not in names:
        data = data["config"]
    if isinstance(data, dict) and {"data", "train"} <= data.keys() and "data" not in names:  # a model's config.json
        data = data["data"]
    return from_dict(cls, data)


def from_dict(cls: type, data: Any, where: str = "") -> Any:
    """Build dataclass `cls` from plain JSON data, rejecting unknown keys by name."""
    if not isinstance(data, dict):
        raise SynthError(f"config{where or ''}: expected an object, got {type(data).__name__}")
    upgrade = getattr(cls, "upgrade", None)  # a config whose layout changed reads its older data
    if upgrade is not None:
        data = upgrade(data)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise SynthError(f"unknown config key(s) {unknown} in {cls.__name__}{where}; known keys: {sorted(names)}")
    kwargs = {k: _coerce(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, where: str) -> Any:
    """`value` (plain JSON data) as type `tp`; a SynthError naming the field when it does not fit."""
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where)
    if origin is list and isinstance(value, list | tuple):
        return [_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is tuple and isinstance(value, list | tuple):
        types_ = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
        if len(types_) != len(value):
            raise SynthError(f"config{where}: expected {len(types_)} values, got {value!r}")
        return tuple(_coerce(t, v, f"{where}[{i}]") for i, (t, v) in enumerate(zip(types_, value, strict=True)))
    if origin is dict and isinstance(value, dict):
        return {_coerce(args[0], k, where): _coerce(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    expected = origin or tp
    if isinstance(expected, type) and (
        not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool)
    ):
        raise SynthError(f"config{where}: expected {_type_name(tp)}, got {value!r}")
    return value


def _type_name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp)


def replace_path(obj: Any, dotted: str, value: Any) -> None:
    """Set a nested field such as "effects.rotate.p" (the CLI's --set). The 0.3 layout's effect names
    ("effects.p_rotate") are read as their new places."""
    head, _, rest = dotted.partition(".")
    if head == "effects" and rest in LEGACY_EFFECTS and not isinstance(value, dict):
        dotted = f"effects.{LEGACY_EFFECTS[rest]}"
    *parents, last = dotted.split(".")
    for i, p in enumerate(parents):
        if not dataclasses.is_dataclass(obj) or p not in {f.name for f in dataclasses.fields(obj)}:
            raise SynthError(f"no config field {dotted!r}: there is no {'.'.join(parents[: i + 1])!r}; "
                             "`synth config` prints every field")
        obj = getattr(obj, p)
    if not dataclasses.is_dataclass(obj) or last not in {f.name for f in dataclasses.fields(obj)}:
        raise SynthError(f"no config field {dotted!r}; `synth config` prints every field")
    hint = typing.get_type_hints(type(obj))[last]
    setattr(obj, last, _coerce(hint, value, "." + dotted))

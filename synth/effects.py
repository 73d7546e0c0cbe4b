"""Effects: the looks drawn at each stage of a sample, from bent and moved glyphs to paper, noise and JPEG.

Each effect is a component (`Effect`): `sample(rng)` draws its parameters (or None when it does not fire)
into the sample's spec, and `apply(img, params)` uses nothing but those parameters, so a spec can be edited
and re-rendered; `force(level, u)` gives the parameters of a fixed strength, for sweeps. Its settings are
its own section of `EffectsConfig`. Noise comes from fixed pre-made fields sliced at a random offset: as
random per sample, and several times cheaper than drawing fresh normals for every pixel.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from synth.block import Block
from synth.config import (
    ArcConfig,
    BinarizeConfig,
    BlurConfig,
    Chance,
    ColourConfig,
    CurveConfig,
    EffectsConfig,
    ElasticConfig,
    ExtrudeConfig,
    JitterConfig,
    JpegConfig,
    LightingConfig,
    LowResConfig,
    MotionBlurConfig,
    NeighboursConfig,
    NoiseConfig,
    OutlineConfig,
    PanelConfig,
    PaperConfig,
    PlateConfig,
    SaltPepperConfig,
    ShadowConfig,
    StrokeWeightConfig,
    UnderlineConfig,
)
from synth.draw import Placed
from synth.errors import SynthError
from synth.patterns import PATTERNS, field_window
from synth.rng import between, cumulative, integer, pick

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def _images_in(dirs: list[str]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        if not Path(d).is_dir():
            raise SynthError(f"background folder not found: {d}; pass an existing folder of images")
        files += sorted(p for p in Path(d).rglob("*") if p.suffix.lower() in IMAGE_EXTS)
    return files


class Paper:
    """Background and ink: flat, gradient, texture, a surface (`synth.patterns`) or image paper, with ink
    darker (before inversion)."""

    name = "paper"

    def __init__(self, cfg: PaperConfig):
        self.cfg = cfg
        self.kinds = [k for k, w in cfg.kinds.items() if w > 0]
        self.images = _images_in(cfg.dirs) if "image" in self.kinds else []
        if "image" in self.kinds and not self.images:
            raise SynthError("background kind 'image' has a weight but effects.paper.dirs holds no images; "
                             "name a folder of images or set its weight to 0")
        self.cum = cumulative([cfg.kinds[k] for k in self.kinds]) if self.kinds else []

    #: uniforms it reserves (`sample` uses them whatever applies: toggling one choice shifts no other)
    draws = 8

    def sample(self, u: list[float]) -> dict:
        c = self.cfg
        paper = between(u[6], *c.paper)
        ink = between(u[7], *c.ink)
        kind = "flat"
        if self.kinds and u[0] < c.p:
            kind = self.kinds[pick(self.cum, u[4])]
        params: dict = {"kind": kind, "paper": paper, "ink": ink}
        if kind == "gradient":
            params.update(angle=u[1] * 360.0, span=u[2] * 0.5 * (paper - c.paper[0] + 20.0))
        elif kind == "texture":
            params.update(offset=[u[1], u[2]], strength=3.0 + u[3] * 12.0)
        elif kind in PATTERNS:
            params.update(where=[u[1], u[2]], size=u[5], strength=3.0 + u[3] * 12.0)
        elif kind == "image":
            params.update(image=min(int(u[5] * len(self.images)), len(self.images) - 1), offset=[u[1], u[2]])
        return params

    def background(self, p: dict, h: int, w: int) -> np.ndarray:
        kind = p["kind"]
        if kind == "gradient":
            t = np.deg2rad(p["angle"])
            xs, ys = np.arange(w) * np.cos(t), np.arange(h)[:, None] * np.sin(t)
            m = max(h, w)
            ramp = xs + ys
            ramp /= m
            ramp -= (xs.min() + ys.min()) / m  # ramp.min(), as rounding is monotonic: one pass less
            bg = p["paper"] - p["span"] * ramp.astype(np.float32)
        elif kind == "texture":
            bg = p["paper"] + p["strength"] * field_window("texture", h, w, p["offset"])
        elif kind == "image":
            bg = self._image_crop(p["image"], p["offset"], h, w)
        elif kind in PATTERNS:
            bg = p["paper"] + p["strength"] * PATTERNS[kind](h, w, p["where"], p["size"])
        else:
            return np.full((h, w), p["paper"], np.float32)
        return bg.astype(np.float32, copy=False)

    def _image_crop(self, i: int, offset: list[float], h: int, w: int) -> np.ndarray:
        img = _load_background(str(self.images[i]))
        ih, iw = img.shape
        s = max(h / ih, w / iw, 1.0)
        if s > 1.0:
            img = cv2.resize(img, (int(np.ceil(iw * s)), int(np.ceil(ih * s))), interpolation=cv2.INTER_LINEAR)
            ih, iw = img.shape
        oy, ox = int(offset[0] * (ih - h)), int(offset[1] * (iw - w))
        return img[oy : oy + h, ox : ox + w].astype(np.float32)

    def apply(self, mask: np.ndarray, p: dict) -> np.ndarray:
        """Ink over paper: the mask is the ink's coverage (0..255). Flat paper, most samples, looks its 256
        possible greys up in a table: one pass over the pixels instead of five, the same float32 values."""
        if p["kind"] == "flat":
            return cv2.LUT(mask, blend(np.full(256, p["paper"], np.float32), p["ink"], COVERAGE))
        h, w = mask.shape
        bg = self.background(p, h, w)
        ink = p["ink"]
        if p["kind"] == "image":
            ink = min(ink, float(np.median(bg)) - 60.0)  # keep the text readable on a dark photo
        return blend(bg, ink, mask.astype(np.float32) * (1.0 / 255.0))


#: the ink's coverage of each mask value, as `Paper.apply` computes it per pixel
COVERAGE = np.arange(256, dtype=np.float32) * (1.0 / 255.0)


def blend(bg: np.ndarray, ink: float, a: np.ndarray) -> np.ndarray:
    return bg + (ink - bg) * a


@lru_cache(maxsize=64)
def _load_background(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise SynthError(f"background image {path} cannot be read; remove it from the background folder")
    return img


class Effect:
    """One step of the drawing: fires with its section's probability `p`, with parameters made by `params` from
    `draws` uniforms; `apply` changes what its `stage` holds: a line's shaped glyphs before they are composed
    ("glyphs"), the drawn line's coverage ("line"), the lines composed with their box ("block", before the
    geometry), the placed coverage mask ("mask"), the paper's parameters ("paper"), the float image ("image"), or
    the final uint8 image ("uint8"). It is also given the renderer's values its `context` names (the placed
    "mask", the line's "baseline", its number in a block "line", and the font size "px")."""

    name = ""
    stage = "image"
    context: tuple[str, ...] = ()
    #: uniforms its parameters take, drawn whether it fires or not: the draws that follow never shift
    draws = 0

    def __init__(self, cfg: Chance):
        self.cfg = cfg
        self.p = cfg.p

    def sample(self, u: list[float]) -> dict | None:
        """Its parameters from its uniforms (1 + `draws`: whether it fires, then the parameters'), or None."""
        return self.params(u[1:]) if u[0] < self.p else None

    def params(self, u: list[float]) -> dict:
        raise NotImplementedError

    def force(self, level: float, u: list[float]) -> dict | None:
        """The parameters at strength `level` (0: off), with `u` (`draws` uniforms) for the random rest: every
        level of a sweep distorts a sample the same way."""
        raise SynthError(f"effect {self.name!r} has no strength to sweep")

    def apply(self, img: np.ndarray, p: dict) -> np.ndarray:
        raise NotImplementedError


class Blur(Effect):
    name = "blur"
    draws = 1

    def __init__(self, cfg: BlurConfig):
        super().__init__(cfg)
        self.sigma = cfg.sigma

    def params(self, u: list[float]) -> dict:
        return {"sigma": between(u[0], *self.sigma)}

    def force(self, level: float, u: list[float]) -> dict | None:
        return {"sigma": level} if level > 0 else None

    def apply(self, img: np.ndarray, p: dict) -> np.ndarray:
        return cv2.GaussianBlur(img, (0, 0), p["sigma"])


class FieldNoise(Effect):
    """Additive noise from a pre-made field: gaussian (per pixel) or the seeds' speckle (blurred, in blobs)."""

    draws = 3

    def __init__(self, name: str, cfg: NoiseConfig, kind: str, scale: float = 1.0):
        super().__init__(cfg)
        self.name, self.std, self.kind = name, (cfg.std[0] * scale, cfg.std[1] * scale), kind

    def params(self, u: list[float]) -> dict:
        return {"std": between(u[0], *self.std), "offset": [u[1], u[2]]}

    def force(self, level: float, u: list[float]) -> dict | None:
        return {"std": level, "offset": [u[1], u[2]]} if level > 0 else None

    def apply(self, img: np.ndarray, p: dict) -> np.ndarray:
        h, w = img.shape
        return img + p["std"] * field_window(self.kind, h, w, p["offset"])


class SaltPepper(Effect):
    name = "salt_pepper"
    draws = 2

    def __init__(self, cfg: SaltPepperConfig):
        super().__init__(cfg)
        self.amount = cfg.amount

    def params(self, u: list[float]) -> dict:
        return {"amount": between(u[0], *self.amount), "seed": integer(u[1], 0, 2**31)}

    def apply(self, img: np.ndarray, p: dict) -> np.ndarray:
        h, w = img.shape
        r = np.random.default_rng(p["seed"])
        n = max(1, int(p["amount"] * h * w))
        flat = img.reshape(-1).copy()
        idx = r.integers(0, h * w, n)
        flat[idx] = np.where(r.random(n) < 0.5, 0.0, 255.0)
        return flat.reshape(h, w)


class Binarize(Effect):
    """A scanner's or archive's black-and-white image: Otsu's threshold, moved by a fraction of the ink-paper
    contrast (kept between the two, so paper never turns black) to make strokes bolder or thinner; after the
    noise, so edges come out ragged as in real binarized scans."""

    name = "binarize"
    draws = 1

    def __init__(self, cfg: BinarizeConfig):
        super().__init__(cfg)
        self.shift = cfg.shift

    def params(self, u: list[float]) -> dict:
        return {"shift": between(u[0], *self.shift)}

    def apply(self, img: np.ndarray, p: dict) -> np.ndarray:
        grey = np.clip(img, 0, 255).astype(np.uint8)
        otsu, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        dark, light = grey[grey <= otsu], grey[grey > otsu]
        if not dark.size or not light.size:  # one grey level: nothing to separate
            return img
        lo, hi = float(dark.mean()), float(light.mean())
        t = min(max(otsu + (p["shift"] - 1.0) * (hi - lo), lo), hi)
        return np.where(grey > t, 255.0, 0.0).astype(np.float32)


class Invert(Effect):
    name = "invert"

    def params(self, u: list[float]) -> dict:
        return {}

    def apply(self, img: np.ndarray, p: dict) -> np.ndarray:
        return 255.0 - img


class StrokeWeight(Effect):
    """Bolder or lighter strokes than the font's own: ink spread on paper, toner, a light or bold cut of the
    face. The ink's coverage mask is blended with its one-pixel dilation (shift > 0) or erosion (shift < 0) by
    |shift|: edges move out or in by about that many output pixels, and stay anti-aliased. Strokes under
    two pixels fade instead of thinning, which is how a lighter cut looks at that size. Runs on the placed
    mask, at the output's resolution."""

    name = "stroke_weight"
    stage = "mask"
    KERNEL = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    draws = 1

    def __init__(self, cfg: StrokeWeightConfig):
        super().__init__(cfg)
        self.shift = cfg.shift

    def params(self, u: list[float]) -> dict:
        return {"shift": between(u[0], *self.shift)}

    def apply(self, mask: np.ndarray, p: dict) -> np.ndarray:
        shift = p["shift"]
        moved = (cv2.dilate if shift > 0 else cv2.erode)(mask, self.KERNEL)
        return cv2.addWeighted(moved, abs(shift), mask, 1.0 - abs(shift), 0.0)


class Jpeg(Effect):
    """Compression artefacts; runs last, on the uint8 image."""

    name = "jpeg"
    stage = "uint8"
    draws = 1

    def __init__(self, cfg: JpegConfig):
        super().__init__(cfg)
        self.quality = cfg.quality

    def params(self, u: list[float]) -> dict:
        return {"quality": integer(u[0], self.quality[0], self.quality[1] + 1)}

    def apply(self, img: np.ndarray, p: dict) -> np.ndarray:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, p["quality"]])
        return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)


class Underline(Effect):
    """A rule under the baseline, or through the middle of the lowercase letters, across the whole line."""

    name = "underline"
    stage = "line"
    context = ("baseline", "px")
    draws = 2

    cfg: UnderlineConfig

    def params(self, u: list[float]) -> dict:
        return {"strike": u[0] < self.cfg.strike, "thickness": between(u[1], *self.cfg.thickness)}

    def apply(self, mask: np.ndarray, p: dict, baseline: int, px: int) -> np.ndarray:
        t = max(1, round(p["thickness"] * px))
        y = baseline - round(0.27 * px) - t // 2 if p["strike"] else baseline + max(1, round(0.1 * px))
        if y + t > mask.shape[0]:  # no room below the descenders: make some
            mask = np.vstack([mask, np.zeros((y + t - mask.shape[0], mask.shape[1]), mask.dtype)])
        mask = mask.copy()
        mask[max(y, 0) : y + t] = 255
        return mask


class Jitter(Effect):
    """Each letter turned, scaled and raised on its own, about its centre, before the line is composed: the
    uneven setting of captchas and hands. The letters' values come from `key`, so the spec fixes them."""

    name = "jitter"
    stage = "glyphs"
    context = ("px", "line")
    draws = 1

    cfg: JitterConfig

    def params(self, u: list[float]) -> dict:
        return {"angle": self.cfg.angle, "scale": list(self.cfg.scale), "rise": self.cfg.rise,
                "key": int(u[0] * 2**31)}

    def apply(self, placed: list[Placed], p: dict, px: int, line: int) -> list[Placed]:
        rng = np.random.default_rng((p["key"], line))  # each line of a block its own letters' values
        out = []
        for g in placed:
            angle = rng.uniform(-p["angle"], p["angle"])
            scale = rng.uniform(*p["scale"])
            out.append(turned(g, angle, scale, -round(rng.uniform(-p["rise"], p["rise"]) * px)))
        return out


class Elastic(Effect):
    """Letters bent out of their font's shape (an elastic warp): one smooth random field over the line, and each
    glyph's bitmap resampled through its part of it. The field eases to nothing at every bitmap's edge, so the
    joins of cursive scripts stay joined and no ink leaves its bitmap: each character's box stays its letter's.
    The field's nodes are a window of the fixed normal field, cut where the spec says."""

    name = "elastic"
    stage = "glyphs"
    context = ("px", "line")
    draws = 4

    cfg: ElasticConfig

    def params(self, u: list[float]) -> dict:
        c = self.cfg
        return {"amplitude": between(u[0], *c.amplitude), "scale": between(u[1], *c.scale), "offset": [u[2], u[3]]}

    def apply(self, placed: list[Placed], p: dict, px: int, line: int) -> list[Placed]:
        if not placed:
            return placed
        left, top = min(g.x for g in placed), min(g.y for g in placed)
        width = max(g.x + g.bmp.shape[1] for g in placed) - left
        height = max(g.y + g.bmp.shape[0] for g in placed) - top
        cell = max(p["scale"] * px, 2.0)
        spread = p["amplitude"] * px
        rows, cols = math.ceil(height / cell) + 2, math.ceil(width / cell) + 2
        oy, ox = p["offset"]
        nodes = field_window("normal", rows, 2 * cols, ((oy + 0.618 * line) % 1.0, ox))  # a block's lines differ
        nodes = np.clip(np.dstack((nodes[:, :cols], nodes[:, cols:])), -2.0, 2.0) * np.float32(spread)
        field = cv2.resize(nodes, (width, height), interpolation=cv2.INTER_CUBIC)
        # full strength this far inside an edge, so that displacements stay within about half the distance to it
        reach = max(round(5.0 * spread), 1)
        out = []
        for g in placed:
            h, w = g.bmp.shape
            ease, xs, ys = _easing(h, w, reach)
            y, x = g.y - top, g.x - left
            f = field[y : y + h, x : x + w]
            mx = f[:, :, 0] * ease
            mx += xs
            my = f[:, :, 1] * ease
            my += ys
            out.append(Placed(cv2.remap(g.bmp, mx, my, cv2.INTER_LINEAR, borderValue=0), g.x, g.y, g.cluster))
        return out


@lru_cache(maxsize=4096)
def _easing(h: int, w: int, reach: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For an (h, w) bitmap: each pixel's share of the field (its distance to the nearest edge over `reach`, at
    most 1), and the pixel grid's columns and rows. Glyph sizes repeat, so these are made once."""
    xs, ys = np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)
    ease = np.minimum(np.minimum.outer(np.minimum(ys, ys[::-1]), np.minimum(xs, xs[::-1])) / reach, 1.0)
    return ease.astype(np.float32), xs, ys[:, None]


def turned(g: Placed, angle: float, scale: float = 1.0, down: int = 0) -> Placed:
    """Glyph `g` turned by `angle` degrees (counter-clockwise) and scaled about its centre, which stays where it
    was, then moved `down` pixels."""
    h, w = g.bmp.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    # the turned glyph's bounding box, and the shift that keeps its centre where the glyph's was
    corners = m @ np.array([[0, w, w, 0], [0, 0, h, h], [1, 1, 1, 1]], np.float64)
    left, top = np.floor(corners.min(axis=1)).astype(int)
    right, bottom = np.ceil(corners.max(axis=1)).astype(int)
    m[:, 2] -= (left, top)
    bmp = cv2.warpAffine(g.bmp, m, (max(1, right - left), max(1, bottom - top)), flags=cv2.INTER_LINEAR)
    return Placed(bmp, g.x + int(left), g.y + int(top) + down, g.cluster)


class Arc(Effect):
    """The line set along a curve (an arc, or a wave): each letter's centre moved onto it and the letter turned
    to its tangent, before the line is composed, so each character's box follows its letter."""

    name = "arc"
    stage = "glyphs"
    context = ("px", "line")
    draws = 5

    cfg: ArcConfig

    def params(self, u: list[float]) -> dict:
        c = self.cfg
        bend = between(u[0], *c.bend) * (1 if u[1] < 0.5 else -1)
        wave = u[2] < c.wave
        return {"bend": bend, "cycles": between(u[3], *c.cycles) if wave else None, "phase": 2 * np.pi * u[4]}

    def apply(self, placed: list[Placed], p: dict, px: int, line: int) -> list[Placed]:
        if not placed:
            return placed
        start = min(g.x for g in placed)
        span = max(max(g.x + g.bmp.shape[1] for g in placed) - start, 1)
        steep = (4 if p["cycles"] is None else 2 * np.pi * p["cycles"]) / span  # the steepest slope per unit rise
        most = math.tan(math.radians(self.cfg.turn)) / steep if steep > 0 else math.inf  # a wave of 0 cycles: flat
        rise = math.copysign(min(abs(p["bend"]) * px, most), p["bend"])
        out = []
        for g in placed:
            t = (g.x + g.bmp.shape[1] / 2 - start) / span  # 0 at the line's left end, 1 at its right
            if p["cycles"] is None:  # an arc: the ends `rise` below the middle (above it for a negative bend)
                down, slope = rise * (2 * t - 1) ** 2, rise * steep * (2 * t - 1)
            else:
                a = 2 * np.pi * p["cycles"] * t + p["phase"] + line
                down, slope = rise * np.sin(a), rise * steep * np.cos(a)
            out.append(turned(g, -math.degrees(math.atan(slope)), 1.0, round(down)))
        return out


class Curve(Effect):
    """A wavy line through the text, in the ink: from edge to edge of the line, around the middle of the
    lowercase letters."""

    name = "curve"
    stage = "line"
    context = ("baseline", "px", "line")
    draws = 5

    cfg: CurveConfig

    def params(self, u: list[float]) -> dict:
        return {"thickness": between(u[0], *self.cfg.thickness), "amplitude": between(u[1], *self.cfg.amplitude),
                "cycles": between(u[2], *self.cfg.cycles), "phase": 2 * np.pi * u[3], "rise": between(u[4], -0.1, 0.1)}

    def apply(self, mask: np.ndarray, p: dict, baseline: int, px: int, line: int) -> np.ndarray:
        h, w = mask.shape
        t = max(1, round(p["thickness"] * px))
        xs = np.arange(0, w + 1, max(1, w // 64), dtype=np.float64)
        phase = p["phase"] + 2.0 * line  # each line of a block its own wave
        ys = baseline - (0.3 + p["rise"]) * px + p["amplitude"] * px * np.sin(2 * np.pi * p["cycles"] * xs / w + phase)
        ys = np.clip(ys, t / 2, h - 1 - t / 2)  # within the line's rows: the line box holds it
        mask = mask.copy()
        cv2.polylines(mask, [np.round(np.stack([xs, ys], 1)).astype(np.int32)], False, 255, t, cv2.LINE_AA)
        return mask


class Plate(Effect):
    """A plate about the text block: the block padded on every side and a border drawn around it in the ink;
    the box geometry fits to the height becomes the plate's, so the plate fills the crop as plates do."""

    name = "plate"
    stage = "block"
    context = ("px",)
    draws = 3

    cfg: PlateConfig

    def params(self, u: list[float]) -> dict:
        return {"pad_x": between(u[0], *self.cfg.padding), "pad_y": between(u[1], *self.cfg.padding) / 2,
                "thickness": between(u[2], *self.cfg.thickness)}

    def apply(self, block: Block, p: dict, px: int) -> Block:
        mask, (top, bottom), glyphs = block
        t = max(1, round(p["thickness"] * px))
        px_, py = round(p["pad_x"] * px) + t, round(p["pad_y"] * px) + t
        h, w = mask.shape
        # the plate's rows: the line boxes padded, and whatever ink reaches beyond them
        rows = np.flatnonzero(mask.max(axis=1))
        y0 = min(top, int(rows[0]) if rows.size else top) - py
        y1 = max(bottom, int(rows[-1]) + 1 if rows.size else bottom) + py
        dy = max(0, -y0)
        out = np.zeros((max(h, y1) + dy, w + 2 * px_), np.uint8)
        out[dy : dy + h, px_ : px_ + w] = mask
        cv2.rectangle(out, (t // 2, y0 + dy + t // 2), (out.shape[1] - 1 - t // 2, y1 + dy - 1 - t // 2), 255, t)
        moved = [(c, x + px_, y + dy, gw, gh) for c, x, y, gw, gh in glyphs]
        return Block(out, (y0 + dy, y1 + dy), moved)


class Neighbours(Effect):
    """Pieces of letters beside the text, cut by the crop's edge: at the left, the right or both sides, a word
    space from the ink, a slice of the line's own ink (its font, size, baseline and turn) a little narrower
    than a letter, so no whole letter the label lacks appears."""

    name = "neighbours"
    stage = "mask"
    draws = 7

    cfg: NeighboursConfig

    def params(self, u: list[float]) -> dict:
        c = self.cfg
        sides = ["left", "right", "both"][min(int(u[0] * 3), 2)]
        return {"sides": sides, "gap": [between(u[1], *c.gap), between(u[2], *c.gap)],
                "width": [between(u[3], *c.width), between(u[4], *c.width)], "source": [u[5], u[6]]}

    def apply(self, mask: np.ndarray, p: dict) -> np.ndarray:
        cols = np.flatnonzero(mask.max(axis=0))
        if cols.size < 2:
            return mask
        h, w = mask.shape
        first, last = int(cols[0]), int(cols[-1]) + 1
        out = mask
        for k, side in enumerate(("left", "right")):
            if p["sides"] not in (side, "both"):
                continue
            gap, width = round(p["gap"][k] * h), max(1, round(p["width"][k] * h))
            width = min(width, last - first)
            start = first + round(p["source"][k] * (last - first - width))  # the slice of the line's ink
            if side == "left":
                lo, hi = max(0, first - gap - width), first - gap
            else:
                lo, hi = last + gap, min(w, last + gap + width)
            if hi - lo < 1:  # no room on that side of the canvas
                continue
            if out is mask:
                out = mask.copy()
            piece = mask[:, start : start + width]
            piece = piece[:, width - (hi - lo):] if side == "left" else piece[:, : hi - lo]  # the edge cuts it
            np.maximum(out[:, lo:hi], piece, out=out[:, lo:hi])
        return out


def ink_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """The first and last columns and rows (x0, x1, y0, y1) that hold any of the mask's ink; None for no ink."""
    cols = np.flatnonzero(mask.max(axis=0))
    if not cols.size:
        return None
    rows = np.flatnonzero(mask.max(axis=1))
    return int(cols[0]), int(cols[-1]), int(rows[0]), int(rows[-1])


class Surround(Effect):
    """What a plate crop shows beyond the plate: the car's bumper or body in another grey outside the box of
    the ink (the plate's border is ink), shaded top to bottom, and now and then a lamp's bright edge at a side."""

    name = "surround"
    context = ("mask",)
    draws = 5

    def params(self, u: list[float]) -> dict:
        return {"grey": round(255 * u[0]), "shade": 0.4 * u[1], "lamp": u[2] < 0.4, "left": u[3] < 0.5,
                "size": between(u[4], 0.3, 0.7)}

    def apply(self, img: np.ndarray, p: dict, mask: np.ndarray) -> np.ndarray:
        box = ink_box(mask)
        if box is None:
            return img
        x0, x1, y0, y1 = box
        h, w = img.shape
        car = np.float32(p["grey"]) * (1.0 - np.float32(p["shade"]) * np.linspace(0, 1, h, dtype=np.float32))[:, None]
        car = np.broadcast_to(car, (h, w)).copy()
        if p["lamp"]:  # a bright ellipse whose centre sits on the side edge, outside the plate
            r = p["size"] * h
            cx = 0.0 if p["left"] else float(w - 1)
            ys, xs = np.ogrid[:h, :w]
            lamp = np.clip(1.5 - np.sqrt(((xs - cx) / (0.6 * r)) ** 2 + ((ys - h / 2) / r) ** 2), 0, 1)
            car = np.maximum(car, 255.0 * lamp.astype(np.float32))
        out = img.copy()
        inside = np.zeros((h, w), bool)
        inside[y0 : y1 + 1, x0 : x1 + 1] = True
        out[~inside] = car[~inside]
        return out


class Panel(Effect):
    """The edge of the sign or label the word is on: outside a rectangle about the ink, its sides a random
    distance out (those beyond the image unseen), another surface in another grey, shaded top to bottom, and half
    the time the panel's rim, a line along its edge in a grey of its own."""

    name = "panel"
    context = ("mask",)
    draws = 9

    cfg: PanelConfig

    def params(self, u: list[float]) -> dict:
        lo, hi = self.cfg.distance
        rim = integer(u[6], self.cfg.rim[0], self.cfg.rim[1] + 1) if u[7] < 0.5 else 0
        return {"sides": [between(v, lo, hi) for v in u[0:4]], "grey": round(255 * u[4]),
                "shade": between(u[5], -0.3, 0.3), "rim": rim, "rim_grey": round(255 * u[8])}

    def apply(self, img: np.ndarray, p: dict, mask: np.ndarray) -> np.ndarray:
        box = ink_box(mask)
        if box is None:
            return img
        h, w = img.shape
        left, right, top, bottom = (round(d * h) for d in p["sides"])
        x0, x1, y0, y1 = box[0] - left, box[1] + right, box[2] - top, box[3] + bottom
        out = np.empty_like(img)
        out[:] = (p["grey"] * (1.0 + p["shade"] * np.linspace(-1, 1, h, dtype=np.float32)))[:, None]
        np.clip(out, 0, 255, out=out)
        inside = (slice(max(y0, 0), max(y1 + 1, 0)), slice(max(x0, 0), max(x1 + 1, 0)))
        out[inside] = img[inside]
        if p["rim"]:
            cv2.rectangle(out, (x0, y0), (x1, y1), float(p["rim_grey"]), p["rim"])
        return out


class Colour(Effect):
    """Random ink and paper colours, seen in grey: their BT.601 luma becomes the paper's and the ink's grey
    (the paper's texture, gradient or image keeps its shape around the new level)."""

    name = "colour"
    stage = "paper"
    draws = 6
    LUMA = (0.299, 0.587, 0.114)

    cfg: ColourConfig

    def params(self, u: list[float]) -> dict:
        paper = [round(255 * v) for v in u[0:3]]
        ink = [round(255 * v) for v in u[3:6]]
        lp, li = self.luma(paper), self.luma(ink)
        if abs(lp - li) < self.cfg.min_contrast:  # too alike: the ink goes darker, or lighter on dark paper
            if lp >= 128:  # scaled toward black: its hue stays, and luma is linear in the channels
                target = max(lp - self.cfg.min_contrast, 0.0)
                ink = [round(c * target / li) for c in ink] if li > 0 else [0, 0, 0]
            else:  # mixed toward white: scaling up instead clips a channel at 255 short of the contrast
                t = (lp + self.cfg.min_contrast - li) / (255.0 - li)
                ink = [min(255, round(c + t * (255 - c))) for c in ink]
        return {"paper": paper, "ink": ink}

    @classmethod
    def luma(cls, rgb: list[int]) -> float:
        return sum(w * c for w, c in zip(cls.LUMA, rgb, strict=True))

    def apply(self, paper: dict, p: dict) -> dict:
        return {**paper, "paper": self.luma(p["paper"]), "ink": self.luma(p["ink"])}


class Shadow(Effect):
    """The text's shape again, offset and softened, darkening the paper around the letters."""

    name = "shadow"
    context = ("mask",)
    draws = 5

    cfg: ShadowConfig

    def params(self, u: list[float]) -> dict:
        c = self.cfg
        dx = between(u[0], *c.offset) * (1 if u[1] < 0.5 else -1)
        return {"dx": dx, "dy": between(u[2], *c.offset), "darkness": between(u[3], *c.darkness),
                "blur": between(u[4], *c.blur)}

    def apply(self, img: np.ndarray, p: dict, mask: np.ndarray) -> np.ndarray:
        h, w = img.shape
        m = np.float32([[1, 0, p["dx"] * h], [0, 1, p["dy"] * h]])
        shade = cv2.warpAffine(mask, m, (w, h), borderValue=0).astype(np.float32) * (1.0 / 255.0)
        if p["blur"] > 0.2:
            shade = cv2.GaussianBlur(shade, (0, 0), p["blur"])
        shade *= 1.0 - mask.astype(np.float32) * (1.0 / 255.0)  # under the letters, not over them
        return img * (1.0 - p["darkness"] * shade)


class Extrude(Effect):
    """Letters with depth: their coverage swept back `depth` of the image height along a direction (a dilation
    by a line), less the letters themselves, filled with another grey behind them."""

    name = "extrude"
    context = ("mask",)
    draws = 3

    cfg: ExtrudeConfig

    def params(self, u: list[float]) -> dict:
        return {"depth": between(u[0], *self.cfg.depth), "angle": 360.0 * u[1], "grey": round(255 * u[2])}

    def apply(self, img: np.ndarray, p: dict, mask: np.ndarray) -> np.ndarray:
        n = round(p["depth"] * img.shape[0])
        if n == 0:  # a depth under half a pixel draws nothing
            return img
        t = math.radians(p["angle"])
        line = np.zeros((2 * n + 1, 2 * n + 1), np.uint8)
        # a dilation takes each pixel's maximum over the kernel's offsets: a line towards -direction sweeps the
        # letters towards +direction
        cv2.line(line, (n, n), (n - round(n * math.cos(t)), n - round(n * math.sin(t))), 1, 1)
        side = cv2.subtract(cv2.dilate(mask, line), mask).astype(np.float32) * (1.0 / 255.0)
        return blend(img, float(p["grey"]), side)


class Outline(Effect):
    """A border of another grey around each letter: the coverage grown by the width, less the letters."""

    name = "outline"
    context = ("mask",)
    draws = 2

    cfg: OutlineConfig

    def params(self, u: list[float]) -> dict:
        return {"width": integer(u[0], self.cfg.width[0], self.cfg.width[1] + 1), "grey": round(255 * u[1])}

    def apply(self, img: np.ndarray, p: dict, mask: np.ndarray) -> np.ndarray:
        k = 2 * p["width"] + 1
        grown = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        ring = cv2.subtract(grown, mask).astype(np.float32) * (1.0 / 255.0)
        return blend(img, float(p["grey"]), ring)


class Lighting(Effect):
    """Uneven light: brightness falling off along a direction, and a soft spot of light or shade."""

    name = "lighting"
    draws = 5

    cfg: LightingConfig

    def params(self, u: list[float]) -> dict:
        return {"angle": 360.0 * u[0], "ramp": between(u[1], *self.cfg.strength),
                "spot": [u[2], u[3]], "spot_gain": between(u[4], -1.0, 1.0) * self.cfg.strength[1]}

    def apply(self, img: np.ndarray, p: dict) -> np.ndarray:
        h, w = img.shape
        t = np.deg2rad(p["angle"])
        xs, ys = np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)[:, None]
        ramp = xs * np.float32(np.cos(t)) + ys * np.float32(np.sin(t))
        ramp -= ramp.min()
        ramp *= np.float32(1.0 / max(float(ramp.max()), 1.0))
        r2 = (xs - p["spot"][0] * w) ** 2 + (ys - p["spot"][1] * h) ** 2
        spot = np.exp(-r2 * np.float32(1.0 / (2.0 * h * h)))
        light = (1.0 - np.float32(p["ramp"]) * ramp) * (1.0 + np.float32(p["spot_gain"]) * spot)
        return img * light


class MotionBlur(Effect):
    """A blur along one direction, of a length in pixels."""

    name = "motion_blur"
    draws = 2

    cfg: MotionBlurConfig

    def params(self, u: list[float]) -> dict:
        return {"length": between(u[0], *self.cfg.length), "angle": 180.0 * u[1]}

    def apply(self, img: np.ndarray, p: dict) -> np.ndarray:
        n = max(3, int(np.ceil(p["length"])) | 1)
        k = np.zeros((n, n), np.float32)
        c, t = n // 2, np.deg2rad(p["angle"])
        dx, dy = 0.5 * p["length"] * np.cos(t), 0.5 * p["length"] * np.sin(t)
        cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
        return cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REPLICATE)


class LowRes(Effect):
    """The image scaled down by a factor and back up: the blocky softness of a small crop enlarged."""

    name = "low_res"
    draws = 1

    cfg: LowResConfig

    def params(self, u: list[float]) -> dict:
        return {"scale": between(u[0], *self.cfg.scale)}

    def apply(self, img: np.ndarray, p: dict) -> np.ndarray:
        h, w = img.shape
        small = cv2.resize(img, (max(1, round(w * p["scale"])), max(1, round(h * p["scale"]))),
                           interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def build_effects(cfg: EffectsConfig) -> list[Effect]:
    """The effects in the order they run within each stage (glyphs, line, block, mask, paper, image, uint8)."""
    return [
        Elastic(cfg.elastic),
        Jitter(cfg.jitter),
        Arc(cfg.arc),
        Underline(cfg.underline),
        Curve(cfg.curve),
        Plate(cfg.plate),
        StrokeWeight(cfg.stroke_weight),
        Neighbours(cfg.neighbours),
        Colour(cfg.colour),
        Shadow(cfg.shadow),
        Extrude(cfg.extrude),
        Outline(cfg.outline),
        Surround(cfg.surround),
        Panel(cfg.panel),
        Lighting(cfg.lighting),
        Blur(cfg.blur),
        MotionBlur(cfg.motion_blur),
        LowRes(cfg.low_res),
        FieldNoise("gaussian_noise", cfg.gaussian_noise, "normal"),
        FieldNoise("speckle", cfg.speckle, "speckle", scale=255.0),
        SaltPepper(cfg.salt_pepper),
        Binarize(cfg.binarize),
        Invert(cfg.invert),
        Jpeg(cfg.jpeg),
    ]

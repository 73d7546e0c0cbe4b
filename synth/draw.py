"""Drawing clean text: a per-(font, size) glyph atlas composed with numpy.

Pillow rasterizes each glyph once; a line is then a handful of array maxima, several times faster than
asking Pillow to lay out and draw every string. Glyphs sit on a common baseline at their advance widths.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
from PIL import ImageFont

from synth.fonts import LetterBox


class GlyphAtlas:
    """Rasterized glyphs of one font at one pixel size: bitmap, offset from the pen on the baseline, advance;
    and the line box in pixels, from the font's letter box in em (`FontLibrary.letter_box`)."""

    def __init__(self, path: str, px: int, letter_box: LetterBox):
        self.font = ImageFont.truetype(path, px)
        self.ascent, self.descent = math.ceil(letter_box.ascent * px), math.ceil(letter_box.descent * px)
        self.px = px
        self.glyphs: dict[str, tuple[np.ndarray, int, int, float]] = {}

    def glyph(self, ch: str) -> tuple[np.ndarray, int, int, float]:
        g = self.glyphs.get(ch)
        if g is None:
            if ch.isspace():
                bmp = np.zeros((0, 0), np.uint8)
                dx = dy = 0
            else:
                mask, (dx, dy) = self.font.getmask2(ch, mode="L", anchor="ls")
                bmp = np.asarray(mask, dtype=np.uint8).reshape(mask.size[1], mask.size[0])
            g = self.glyphs[ch] = (bmp, dx, dy, self.font.getlength(ch))
        return g


_CURLY = {"``": "\u201c", "''": "\u201d", "`": "\u2018", "'": "\u2019"}


def curly_quotes(text: str) -> str:
    """The text as typesetting prints it: ASCII `` and '' as double curly quotes, ` and ' as single ones (the
    apostrophe too). Labels keep the ASCII, the convention of scanned-text ground truth such as UW-III."""
    for ascii_, curly in _CURLY.items():
        text = text.replace(ascii_, curly)
    return text


class AtlasCache:
    """Least-recently-used atlases, bounded so that many fonts x sizes cannot grow memory without end."""

    def __init__(self, capacity: int = 512):
        self.capacity = capacity
        self._atlases: OrderedDict[tuple[str, int], GlyphAtlas] = OrderedDict()

    def get(self, path: str, px: int, letter_box: LetterBox) -> GlyphAtlas:
        key = (path, px)
        atlas = self._atlases.get(key)
        if atlas is None:
            atlas = self._atlases[key] = GlyphAtlas(path, px, letter_box)
            if len(self._atlases) > self.capacity:
                self._atlases.popitem(last=False)
        else:
            self._atlases.move_to_end(key)
        return atlas


def draw_line(atlas: GlyphAtlas, text: str, spacing: float, word_spacing: float = 0.0) -> tuple[np.ndarray, int]:
    """Coverage mask (uint8, 255 = ink) of `text` on one baseline, and the baseline's row in it. The mask spans
    the atlas's line box at least, and more where glyphs reach beyond it (brackets, accents).

    A glyph whose columns no earlier glyph reached is copied in; only overlapping ones take the maximum, which
    costs numpy about three times as much on these small arrays."""
    pen = 0.0
    placed = []
    x0, x1, y0, y1 = 0, 0, -atlas.ascent, atlas.descent
    cached = atlas.glyphs.get
    for ch in text:
        bmp, dx, dy, adv = cached(ch) or atlas.glyph(ch)
        h, w = bmp.shape
        if w:
            x = round(pen) + dx
            placed.append((bmp, x, dy, h, w))
            # plain comparisons: min() and max() calls were a sixth of the function's time
            if x < x0:
                x0 = x
            if x + w > x1:
                x1 = x + w
            if dy < y0:
                y0 = dy
            if dy + h > y1:
                y1 = dy + h
        pen += adv + spacing + (word_spacing if ch == " " else 0.0)
    x1 = max(x1, math.ceil(pen - spacing))
    canvas = np.zeros((y1 - y0, max(x1 - x0, 1)), np.uint8)
    reached = x0  # columns left of this may hold ink
    for bmp, x, y, h, w in placed:
        top, left = y - y0, x - x0
        if x >= reached:
            canvas[top : top + h, left : left + w] = bmp
        else:
            region = canvas[top : top + h, left : left + w]
            np.maximum(region, bmp, out=region)
        if x + w > reached:
            reached = x + w
    return canvas, -y0

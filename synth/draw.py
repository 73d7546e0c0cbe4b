"""Drawing clean text: shaped glyphs from a per-(font, size) glyph atlas, composed with numpy.

FreeType rasterizes each glyph id once (as Pillow does, hinted and anti-aliased); a line is then its shaped
glyphs (`synth.shaping`) copied onto one baseline at HarfBuzz's positions: several times faster than asking a
text engine to lay out and draw every string, and drawn as typesetting draws it in every script.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

import freetype
import numpy as np

from synth.errors import SynthError
from synth.fonts import LetterBox
from synth.shaping import Shaped, Shaper


class GlyphAtlas:
    """Rasterized glyphs of one font at one pixel size, by glyph id: bitmap and its offset from the pen on the
    baseline; the font's shaper; and the line box in pixels, from the font's letter box in em
    (`FontLibrary.letter_box`)."""

    def __init__(self, path: str, px: int, letter_box: LetterBox, shaper: Shaper):
        self.path = path
        self.face = freetype.Face(path)
        self.face.set_pixel_sizes(0, px)
        self.shaper = shaper
        self.scale = px / shaper.upem  # font units -> pixels
        self.ascent, self.descent = math.ceil(letter_box.ascent * px), math.ceil(letter_box.descent * px)
        self.px = px
        self.glyphs: dict[int, tuple[np.ndarray, int, int]] = {}

    def glyph(self, gid: int) -> tuple[np.ndarray, int, int]:
        """(bitmap, dx, dy): the glyph's coverage and its top-left corner relative to the pen on the baseline."""
        g = self.glyphs.get(gid)
        if g is None:
            face = self.face
            try:
                face.load_glyph(gid, freetype.FT_LOAD_DEFAULT)
                slot = face.glyph
                slot.render(freetype.FT_RENDER_MODE_NORMAL)
            except freetype.FT_Exception as e:  # glyph data the coverage check's size did not trip over
                raise SynthError(f"font {self.path}: glyph {gid} cannot be drawn at "
                                 f"{self.px} pixels ({e}); the file is damaged: take it out of the font folder, or "
                                 "replace it") from None
            bm = slot.bitmap
            rows, width, pitch = bm.rows, bm.width, bm.pitch
            if rows and width:
                raw = np.ctypeslib.as_array(bm._FT_Bitmap.buffer, shape=(rows * abs(pitch),))
                bmp = raw.reshape(rows, abs(pitch))[:, :width].copy()
            else:
                bmp = np.zeros((0, 0), np.uint8)
            g = self.glyphs[gid] = (bmp, slot.bitmap_left, -slot.bitmap_top)
        return g


_CURLY = {"``": "\u201c", "''": "\u201d", "`": "\u2018", "'": "\u2019"}


def curly_quotes(text: str) -> tuple[str, list[int]]:
    """The text as typesetting prints it: ASCII `` and '' as double curly quotes, ` and ' as single ones (the
    apostrophe too); and for each of its characters, the index of the one it came from in `text`. Labels keep
    the ASCII, the convention of scanned-text ground truth such as UW-III."""
    out, source, i = [], [], 0
    while i < len(text):
        pair = text[i : i + 2]
        ascii_ = pair if pair in _CURLY else text[i]
        out.append(_CURLY.get(ascii_, ascii_))
        source.append(i)
        i += len(ascii_)
    return "".join(out), source


class AtlasCache:
    """Least-recently-used atlases, bounded so that many fonts x sizes cannot grow memory without end; one shaper
    per font, whatever the size."""

    def __init__(self, capacity: int = 512):
        self.capacity = capacity
        self._atlases: OrderedDict[tuple[str, int], GlyphAtlas] = OrderedDict()
        self._shapers: dict[str, Shaper] = {}

    def shaper(self, path: str) -> Shaper:
        s = self._shapers.get(path)
        if s is None:
            s = self._shapers[path] = Shaper(path)
        return s

    def get(self, path: str, px: int, letter_box: LetterBox) -> GlyphAtlas:
        key = (path, px)
        atlas = self._atlases.get(key)
        if atlas is None:
            atlas = self._atlases[key] = GlyphAtlas(path, px, letter_box, self.shaper(path))
            if len(self._atlases) > self.capacity:
                self._atlases.popitem(last=False)
        else:
            self._atlases.move_to_end(key)
        return atlas


class Placed(NamedTuple):
    """A glyph's bitmap where it goes on a line: its top-left corner relative to the pen's start on the
    baseline, and the index of its cluster's first character in the text."""

    bmp: np.ndarray
    x: int
    y: int
    cluster: int


class Line(NamedTuple):
    """A drawn line: its coverage mask (uint8, 255 = ink), the baseline's row in it, and each inked glyph as
    (cluster, left, top, width, height) in the mask: the index of its cluster's first character in the text."""

    mask: np.ndarray
    baseline: int
    glyphs: list[tuple[int, int, int, int, int]]


def draw_line(atlas: GlyphAtlas, text: str, spacing: float, word_spacing: float = 0.0,
              shaped: Shaped | None = None, adjust: Callable[[list[Placed]], list[Placed]] | None = None) -> Line:
    """`text` shaped on one baseline (`Line`). The mask spans the atlas's line box at least, and more where
    glyphs reach beyond it (brackets, accents, marks).
    `spacing` pixels follow each cluster where the script does not join its letters; `word_spacing` more
    follow each space.

    `adjust` may move, turn or scale the placed glyphs before they are composed (the "glyphs" effects).

    A glyph whose columns no earlier glyph reached is copied in; only overlapping ones take the maximum, which
    costs numpy about three times as much on these small arrays."""
    shaped = shaped or atlas.shaper.shape(text)
    scale = atlas.scale
    pen = 0.0
    placed = []
    x0, x1, y0, y1 = 0, 0, -atlas.ascent, atlas.descent
    cached = atlas.glyphs.get
    for gid, cluster, x_advance, x_offset, y_offset, spaceable in shaped.glyphs:
        bmp, dx, dy = cached(gid) or atlas.glyph(gid)
        h, w = bmp.shape
        if w:
            x = round(pen + x_offset * scale) + dx if x_offset else round(pen) + dx
            y = dy - round(y_offset * scale) if y_offset else dy
            placed.append((bmp, x, y, h, w, cluster))
            # plain comparisons: min() and max() calls were a sixth of the function's time
            if x < x0:
                x0 = x
            if x + w > x1:
                x1 = x + w
            if y < y0:
                y0 = y
            if y + h > y1:
                y1 = y + h
        pen += x_advance * scale
        if spaceable:
            pen += spacing + (word_spacing if text[cluster] == " " else 0.0)
    if adjust is not None:
        placed = [(g.bmp, g.x, g.y, *g.bmp.shape, g.cluster) for g in adjust([Placed(b, x, y, c)
                                                                           for b, x, y, _, _, c in placed])]
        x0, y0 = min([x0, *(g[1] for g in placed)]), min([y0, *(g[2] for g in placed)])
        x1, y1 = max([x1, *(g[1] + g[4] for g in placed)]), max([y1, *(g[2] + g[3] for g in placed)])
        placed.sort(key=lambda g: g[1])  # composed left to right, as `reached` expects
    x1 = max(x1, math.ceil(pen - spacing))
    canvas = np.zeros((y1 - y0, max(x1 - x0, 1)), np.uint8)
    reached = x0  # columns left of this may hold ink
    glyphs = []
    for bmp, x, y, h, w, cluster in placed:
        top, left = y - y0, x - x0
        if x >= reached:
            canvas[top : top + h, left : left + w] = bmp
        else:
            region = canvas[top : top + h, left : left + w]
            np.maximum(region, bmp, out=region)
        if x + w > reached:
            reached = x + w
        glyphs.append((cluster, left, top, w, h))
    return Line(canvas, -y0, glyphs)

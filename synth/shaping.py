"""Shaping: a text's glyphs and their positions in one font, as typesetting sets them (HarfBuzz, bidi runs).

Text is split into directional runs by the Unicode bidi algorithm (`synth.direction`), each run is shaped by
HarfBuzz in its direction with the font's own GSUB and GPOS tables (ligatures, contextual forms, kerning, mark
positioning, reordering), and the runs are laid out in visual order. Positions come in font units, so one
shaping serves every size. Labels stay in logical order: shaping only draws them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

import uharfbuzz as hb

from synth.direction import visual_runs

#: scripts whose letters join: extra character spacing would pull joined letters apart, so it is not added
CURSIVE_SCRIPTS = frozenset({"Arab", "Syrc", "Mong", "Nkoo", "Adlm", "Rohg", "Mand", "Phag"})
#: shaped texts kept per font: words repeat, random strings rarely
CACHE_SIZE = 4096


class Glyph(NamedTuple):
    """One positioned glyph, in font units: its id, the index of the first character of its cluster in the
    text, the pen's advance after it, its offset from the pen, and whether character spacing may follow it: a
    cluster ends there, and its run's script does not join its letters or the cluster is a space."""

    gid: int
    cluster: int
    x_advance: int
    x_offset: int
    y_offset: int
    spaceable: bool


@dataclass(frozen=True)
class Shaped:
    """A text's glyphs in visual order (left to right). Vertical advances are left out: lines run across."""

    glyphs: tuple[Glyph, ...]
    #: the characters that found no glyph (the font would draw its .notdef box)
    missing: str = ""
    #: whether a mark stood where it cannot attach (HarfBuzz shows it on a dotted circle)
    broken: bool = False

    @property
    def clean(self) -> bool:
        """Whether the text is drawn as it reads: no .notdef box, no dotted circle."""
        return not self.missing and not self.broken


class Shaper:
    """Shapes texts in one font file (its first face), caching the results."""

    def __init__(self, path: str):
        self.face = hb.Face(hb.Blob.from_file_path(path))
        self.font = hb.Font(self.face)  # scale = upem: positions in font units
        self.upem = self.face.upem
        #: the glyph HarfBuzz puts under a mark that has no base (None if the font has no dotted circle)
        self.dotted_circle = self.font.get_nominal_glyph(0x25CC)
        self._cache: OrderedDict[tuple[str, bool], Shaped] = OrderedDict()

    def shape(self, text: str, rtl: bool = False) -> Shaped:
        """`text`'s glyphs in a paragraph of base direction right-to-left (`rtl`) or left-to-right."""
        key = (text, rtl)
        got = self._cache.get(key)
        if got is None:
            got = self._cache[key] = self._shape(text, rtl)
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return got

    def _shape(self, text: str, rtl_base: bool) -> Shaped:
        glyphs: list[Glyph] = []
        for start, end, rtl in visual_runs(text, rtl_base):
            buf = hb.Buffer()
            buf.add_str(text[start:end])
            buf.guess_segment_properties()
            buf.direction = "rtl" if rtl else "ltr"
            hb.shape(self.font, buf, {})
            script = buf.script
            infos, positions = buf.glyph_infos, buf.glyph_positions
            joins = script in CURSIVE_SCRIPTS
            for k, (info, pos) in enumerate(zip(infos, positions, strict=True)):
                nxt = infos[k + 1].cluster if k + 1 < len(infos) else None
                c = start + info.cluster
                glyphs.append(Glyph(info.codepoint, c, pos.x_advance, pos.x_offset, pos.y_offset,
                                    nxt != info.cluster and (not joins or text[c].isspace())))
        missing = "".join(dict.fromkeys(text[g.cluster] for g in glyphs if g.gid == 0))
        dotted = self.dotted_circle
        broken = dotted is not None and "\u25cc" not in text and any(g.gid == dotted for g in glyphs)
        return Shaped(tuple(glyphs), missing, broken)

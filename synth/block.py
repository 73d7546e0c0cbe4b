"""Several lines in one image: drawn lines stacked and aligned, as a plate or an address block is set.

Their glyphs keep their places in the whole text, so each character's box follows it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from synth.draw import Line


class Block(NamedTuple):
    """Lines stacked: the coverage mask, the rows of the line boxes from the first line's top to the last
    line's bottom (what geometry fits to the height), and every glyph as `Line.glyphs` has it, its cluster an
    index into the whole text."""

    mask: np.ndarray
    box: tuple[int, int]
    glyphs: list[tuple[int, int, int, int, int]]


def stack(lines: list[Line], masks: list[np.ndarray], starts: list[int], pitch: float, align: float, ascent: int,
          descent: int) -> Block:
    """Stack `lines` (drawn by `draw_line`; `masks` are their coverage after the line effects) one under
    another, their baselines `pitch` pixels apart, each shifted right by `align` (0 left, 0.5 centred, 1
    right) of its spare width. `starts` are the lines' first characters' indexes in the whole text; `ascent`
    and `descent` the line box about each baseline."""
    baselines = [ascent + round(i * pitch) for i in range(len(lines))]
    tops = [b - line.baseline for b, line in zip(baselines, lines, strict=True)]
    shift = -min(0, *tops)
    bottom = baselines[-1] + descent
    height = max(bottom, *(t + m.shape[0] for t, m in zip(tops, masks, strict=True))) + shift
    width = max(m.shape[1] for m in masks)
    out = np.zeros((height, width), np.uint8)
    glyphs = []
    for line, mask, top, start in zip(lines, masks, tops, starts, strict=True):
        x, y = round(align * (width - mask.shape[1])), top + shift
        region = out[y : y + mask.shape[0], x : x + mask.shape[1]]
        np.maximum(region, mask, out=region)
        glyphs += [(cluster + start, left + x, gtop + y, w, h) for cluster, left, gtop, w, h in line.glyphs]
    return Block(out, (shift, bottom + shift), glyphs)

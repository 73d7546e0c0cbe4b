"""Direction: a text's directional runs by the Unicode bidi algorithm, and the visual order CTC reads labels in.

Every paragraph has a base direction, the alphabet's (right-to-left when most of its letters are): the
renderer lays text out in it, and labels go to CTC in the order the image shows them (`to_visual`), to be
read back in logical order (`to_logical`, the same reordering again). Light: inference imports it.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

#: the bidi classes of strong right-to-left characters (Hebrew; Arabic letters)
RTL_CLASSES = frozenset({"R", "AL"})


def has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in RTL_CLASSES for c in text)


def paragraph_rtl(chars: str) -> bool:
    """Whether an alphabet's paragraphs run right to left: most of its strong (letter) characters do."""
    classes = [unicodedata.bidirectional(c) for c in chars]
    rtl = sum(c in RTL_CLASSES for c in classes)
    return rtl > sum(c == "L" for c in classes)


def to_visual(text: str, rtl: bool = False) -> str:
    """The characters of `text` as a line of base direction `rtl` shows them, left to right: right-to-left runs
    reversed, their brackets mirrored (as HarfBuzz draws them: an opening bracket faces its text)."""
    if not rtl and not has_rtl(text):
        return text
    return "".join(text[a:b][::-1].translate(_mirror()) if r else text[a:b] for a, b, r in visual_runs(text, rtl))


def to_logical(visual: str, rtl: bool = False) -> str:
    """The logical order of characters read left to right off a line of base direction `rtl`: reordering a line
    twice in one base direction gives it back, for words, numbers and punctuation in either direction. Not where
    a number stands between Latin words inside right-to-left text: a number after Latin joins its run there,
    which it did not in the logical text, and the image cannot tell the two apart."""
    return to_visual(visual, rtl)


@lru_cache(maxsize=1)
def _mirror() -> dict[int, str]:
    from bidi.algorithm import MIRRORED

    return str.maketrans(MIRRORED)


def visual_runs(text: str, rtl: bool = False) -> list[tuple[int, int, bool]]:
    """The text's directional runs as (start, end, right-to-left) in logical indices, in visual order (left to
    right) as the bidi algorithm lays out one paragraph of base direction right-to-left (`rtl`) or left-to-right.
    """
    if not rtl and not has_rtl(text):
        return [(0, len(text), False)]
    levels = bidi_levels(text, rtl)
    runs: list[list[int]] = []  # [start, end, level]
    for i, level in enumerate(levels):
        if runs and runs[-1][2] == level:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1, level])
    # L2: from the highest level down to the lowest odd one, reverse every sequence of runs at that level or above
    order = list(range(len(runs)))
    top = max(levels)
    lowest_odd = min(lv for lv in levels if lv % 2) if any(lv % 2 for lv in levels) else top + 1
    for level in range(top, lowest_odd - 1, -1):
        i = 0
        while i < len(order):
            if runs[order[i]][2] >= level:
                j = i
                while j < len(order) and runs[order[j]][2] >= level:
                    j += 1
                order[i:j] = reversed(order[i:j])
                i = j
            else:
                i += 1
    return [(runs[k][0], runs[k][1], runs[k][2] % 2 == 1) for k in order]


@lru_cache(maxsize=4096)
def bidi_levels(text: str, rtl: bool) -> tuple[int, ...]:
    """Each character's resolved embedding level in a paragraph of the given base direction (rules X1-I2, and
    L1 for whitespace at the end), by python-bidi's implementation of the Unicode bidi algorithm."""
    from bidi import algorithm

    storage = algorithm.get_empty_storage()
    base = int(rtl)
    storage["base_level"], storage["base_dir"] = base, ("L", "R")[base]
    algorithm.get_embedding_levels(text, storage, False, False)
    algorithm.explicit_embed_and_overrides(storage, False)
    algorithm.resolve_weak_types(storage, False)
    algorithm.resolve_neutral_types(storage, False)
    algorithm.resolve_implicit_levels(storage, False)
    levels = [c["level"] for c in storage["chars"]]
    if len(levels) != len(text):  # explicit embedding controls were removed (rule X9): not in our alphabets
        raise ValueError(f"bidi control characters in {text!r}")
    i = len(levels)
    while i > 0 and text[i - 1].isspace():  # L1: trailing whitespace takes the paragraph's level
        i -= 1
        levels[i] = base
    return tuple(levels)

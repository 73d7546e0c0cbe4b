"""The spec of one sample: every random choice made for it, JSON-able, so it travels with the image."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Spec:
    """Everything random about one sample; JSON-able, so it travels with the image into manifests and reports."""

    seed: int
    index: int
    text: str
    source: str
    font: str
    size: int  # nominal font size in pixels (`FontLibrary.letter_box` corrects it to the font's letter size)
    spacing: float  # extra pixels between characters
    #: how the line is drawn: extra pixels at each space (word_spacing), curly quotes, a crop to the ink (tight),
    #: the scale across (stretch)
    layout: dict[str, Any]
    #: where it is placed: rotation, upside-down, shear, perspective, position, margins
    geometry: dict[str, Any]
    paper: dict[str, Any]
    #: each effect's parameters (None: it did not fire), in the order they apply
    effects: dict[str, dict | None] = field(default_factory=dict)
    #: what the drawing found, where asked (`Renderer.render(..., boxes=True)`): each character's box on the
    #: image, [left, top, right, bottom] pixels, None for a space; not an input of rendering
    boxes: list[list[float] | None] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON-able data: a copy down to the sections' values (`dataclasses.asdict`'s deep
        copy of every number cost writing a dataset a fifth of its time)."""
        d = dict(vars(self))
        for k in ("layout", "geometry", "paper", "effects"):
            d[k] = dict(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Spec:
        """A spec from its JSON; one of version 0.3 (its layout inside `geometry`) too, drawn as it was."""
        if "layout" not in d:
            geometry = dict(d["geometry"])
            layout = {**{k: geometry.pop(k) for k in LAYOUT_03 if k in geometry}, "stretch": 1.0}
            d = {**d, "geometry": geometry, "layout": layout}
        return cls(**d)


#: the layout values version 0.3 kept in a spec's geometry
LAYOUT_03 = ("tight", "curly_quotes", "word_spacing")

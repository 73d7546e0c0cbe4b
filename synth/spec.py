"""The spec of one sample: every random choice made for it, JSON-able, so it travels with the image."""

from __future__ import annotations

import dataclasses
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
    geometry: dict[str, Any]
    paper: dict[str, Any]
    effects: dict[str, dict | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Spec:
        return cls(**d)

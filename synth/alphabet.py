"""The charset and label encoding: char <-> id (id 0 is the CTC blank), labels in the order images show them."""

from __future__ import annotations

import json
import string
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from synth.direction import has_rtl, paragraph_rtl, to_logical, to_visual
from synth.errors import SynthError
from synth.files import read_json

BLANK = 0
#: Labels are padded with the blank id: `tf.sparse.from_dense` then drops the padding for free.
PAD = BLANK

DEFAULT_CHARS = string.digits + string.ascii_letters + " " + "!\"#$%&'()*+,-./:;<=>?@[]_"
#: the named script alphabets (`--alphabet arabic`): one charset per file, on one line
ALPHABETS_DIR = Path(__file__).resolve().parent / "data" / "alphabets"


#: named scripts whose characters are square (Hangul syllables): their texts' default longest length
WIDE_SCRIPTS = {"korean": 8}


def named_alphabet(name: str) -> str | None:
    """The charset of the named script alphabet `name` (arabic, hebrew, devanagari, thai, bengali, korean), or None."""
    name = name.lower()  # --alphabet Arabic, ARABIC
    path = ALPHABETS_DIR / f"{name}.txt"
    if not name.isidentifier() or not path.is_file():
        return None
    return path.read_text(encoding="utf-8").rstrip("\n")


class Alphabet:
    """An ordered set of characters; ids start at 1 because 0 is the CTC blank."""

    def __init__(self, chars: str | Iterable[str] = DEFAULT_CHARS):
        chars = list(dict.fromkeys(chars))
        if not chars:
            raise SynthError("the alphabet is empty: pass at least one character (e.g. --alphabet 0123456789)")
        bad = [c for c in chars if len(c) != 1]
        if bad:
            raise SynthError(f"alphabet entries must be single characters, got {bad[:5]!r}")
        control = [c for c in chars if unicodedata.category(c) in ("Cc", "Zl", "Zp")]
        if control:  # a tab or a line break would break labels.tsv; a carriage return comes from a Windows file
            raise SynthError(f"the alphabet holds control characters or line breaks {''.join(control)!r}; take them "
                             "out")
        if all(unicodedata.category(c).startswith("M") or c.isspace() for c in chars):
            raise SynthError(f"the alphabet {''.join(chars)!r} has only combining marks (and spaces); a mark is drawn "
                             "on a letter: add the letters it goes with")
        self.chars: str = "".join(chars)
        self._ids = {c: i + 1 for i, c in enumerate(self.chars)}
        #: whether lines run right to left: most of the alphabet's letters do (Arabic, Hebrew)
        self.rtl = paragraph_rtl(self.chars)
        #: labels need reordering: some characters run right to left (`encode`, `decode`)
        self.bidi = self.rtl or has_rtl(self.chars)

    @property
    def size(self) -> int:
        """Number of model classes: the characters plus the blank."""
        return len(self.chars) + 1

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, ch: str) -> bool:
        return ch in self._ids

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Alphabet) and other.chars == self.chars

    def __hash__(self) -> int:
        return hash(self.chars)

    def __repr__(self) -> str:
        return f"Alphabet({self.chars!r})"

    def missing(self, text: str) -> str:
        """The characters of `text` this alphabet cannot encode, in order of first use."""
        return "".join(dict.fromkeys(c for c in text if c not in self._ids))

    def can_encode(self, text: str) -> bool:
        return all(c in self._ids for c in text)

    def encode(self, text: str) -> list[int]:
        """The label of `text` (logical order) as CTC reads it: ids in the order the image shows the characters,
        left to right (`synth.direction.to_visual`), which for left-to-right text is the text's own."""
        if self.bidi:
            text = to_visual(text, self.rtl)
        try:
            return [self._ids[c] for c in text]
        except KeyError:
            raise SynthError(
                f"text {text!r} has characters outside the alphabet: {self.missing(text)!r}; "
                "add them to the alphabet or filter the text source"
            ) from None

    def decode(self, ids: Sequence[int] | Iterable[int]) -> str:
        """Ids (in image order, as `encode` gives and CTC reads them) back to text in logical order; blanks and
        padding (0) and out-of-range ids are skipped."""
        n = len(self.chars)
        text = "".join(self.chars[i - 1] for i in (int(x) for x in ids) if 0 < i <= n)
        return to_logical(text, self.rtl) if self.bidi else text

    def to_json(self) -> dict:
        return {"chars": self.chars, "blank": BLANK, "pad": PAD}

    @classmethod
    def from_json(cls, data: dict) -> Alphabet:
        return cls(data["chars"])

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Alphabet:
        data = read_json(path, "alphabet file", "restore the alphabet.json the model was trained with")
        if not isinstance(data, dict) or not isinstance(data.get("chars"), str):
            raise SynthError(f"alphabet file {path} holds no 'chars' string; restore the alphabet.json the model "
                             "was trained with")
        return cls.from_json(data)

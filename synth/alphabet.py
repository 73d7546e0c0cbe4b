"""The charset: char <-> id, with id 0 reserved for the CTC blank (keras.ops.ctc_loss's default)."""

from __future__ import annotations

import json
import string
from collections.abc import Iterable, Sequence
from pathlib import Path

from synth.errors import SynthError

BLANK = 0
#: Labels are padded with the blank id: `tf.sparse.from_dense` then drops the padding for free.
PAD = BLANK

DEFAULT_CHARS = string.digits + string.ascii_letters + " " + "!\"#$%&'()*+,-./:;<=>?@[]_"


class Alphabet:
    """An ordered set of characters; ids start at 1 because 0 is the CTC blank."""

    def __init__(self, chars: str | Iterable[str] = DEFAULT_CHARS):
        chars = list(dict.fromkeys(chars))
        if not chars:
            raise SynthError("the alphabet is empty: pass at least one character (e.g. --alphabet 0123456789)")
        bad = [c for c in chars if len(c) != 1]
        if bad:
            raise SynthError(f"alphabet entries must be single characters, got {bad[:5]!r}")
        self.chars: str = "".join(chars)
        self._ids = {c: i + 1 for i, c in enumerate(self.chars)}

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
        try:
            return [self._ids[c] for c in text]
        except KeyError:
            raise SynthError(
                f"text {text!r} has characters outside the alphabet: {self.missing(text)!r}; "
                "add them to the alphabet or filter the text source"
            ) from None

    def decode(self, ids: Sequence[int] | Iterable[int]) -> str:
        """Ids back to text; blanks and padding (0) and out-of-range ids are skipped."""
        n = len(self.chars)
        return "".join(self.chars[i - 1] for i in (int(x) for x in ids) if 0 < i <= n)

    def to_json(self) -> dict:
        return {"chars": self.chars, "blank": BLANK, "pad": PAD}

    @classmethod
    def from_json(cls, data: dict) -> Alphabet:
        return cls(data["chars"])

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Alphabet:
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as e:
            raise SynthError(f"cannot read alphabet file {path}: {e}; expected JSON with a 'chars' string") from None

"""Text sources: random strings, lexicon words, corpus lines, a weighted mix, and case transforms.

A source's `sample(rng)` draws one text from the sample's own generator, so text is part of the
per-(seed, index) determinism.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from synth.alphabet import Alphabet
from synth.config import TextConfig
from synth.errors import SynthError
from synth.rng import Draws, cumulative

BUNDLED_WORDS = Path(__file__).parent / "data" / "words.txt"
CASES = ("lower", "upper", "title", "keep")


@lru_cache(maxsize=8)
def _read_lines(path: str) -> tuple[str, ...]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SynthError(f"text file not found: {path}; check the lexicon/corpus path in the config") from None
    except UnicodeDecodeError as e:
        raise SynthError(f"text file {path} is not UTF-8 ({e}); convert it with iconv -t UTF-8") from None
    lines = tuple(s for s in (line.strip() for line in text.splitlines()) if s)
    if not lines:
        raise SynthError(f"text file {path} has no non-empty lines")
    return lines


def apply_case(text: str, case: str) -> str:
    if case == "lower":
        return text.lower()
    if case == "upper":
        return text.upper()
    if case == "title":
        return text[:1].upper() + text[1:].lower()
    return text


class RandomStrings:
    """The seeds' `randomstring`: characters drawn uniformly, length uniform in [min_len, max_len]."""

    def __init__(self, chars: str, min_len: int, max_len: int):
        solid = chars.replace(" ", "")
        if not solid:
            raise SynthError("random strings need a visible character; set text.random_chars or the alphabet")
        self.chars = chars
        self.solid = solid
        self.min_len, self.max_len = min_len, max_len

    def sample(self, rng: Draws) -> str:
        n = rng.integers(self.min_len, self.max_len + 1)
        chars, solid = self.chars, self.solid
        out = [chars[rng.integers(0, len(chars))] for _ in range(n)]
        # spaces at the ends or doubled are invisible in the image, so they could never be read back
        for i, ch in enumerate(out):
            if ch == " " and (i == 0 or i == n - 1 or out[i - 1] == " "):
                out[i] = solid[rng.integers(0, len(solid))]
        return "".join(out)


class Lines:
    """Words of a lexicon or lines of a corpus, filtered once to what the alphabet and lengths allow."""

    def __init__(self, path: str | Path, alphabet: Alphabet, cfg: TextConfig, kind: str):
        lines = _read_lines(str(path))
        chars = frozenset(alphabet.chars)
        encodable = [s for s in lines if chars.issuperset(s)]  # alphabet.can_encode, 10x faster for big lists
        #: entries skipped for characters outside the alphabet
        self.unencodable = len(lines) - len(encodable)
        if self.unencodable and cfg.unencodable == "error":
            bad = next(s for s in lines if not alphabet.can_encode(s))
            raise SynthError(
                f"{kind} {path}: {self.unencodable} of {len(lines)} entries have characters outside the alphabet, "
                f"e.g. {bad!r} (missing {alphabet.missing(bad)!r}); "
                "widen the alphabet, or set text.unencodable to 'filter' to skip them"
            )
        ok = [s for s in encodable if cfg.min_len <= len(s) <= cfg.max_len]
        #: entries skipped for characters outside the alphabet or a length outside the range
        self.dropped = len(lines) - len(ok)
        if not ok:
            raise SynthError(
                f"{kind} {path}: none of its {len(lines)} entries fit the alphabet and the length range "
                f"{cfg.min_len}-{cfg.max_len}; widen them"
            )
        self.items = ok
        self.path = str(path)

    def sample(self, rng: Draws) -> str:
        return self.items[rng.integers(0, len(self.items))]


class TextSource:
    """A weighted mix of sources with case transforms; texts never leave the alphabet."""

    def __init__(self, cfg: TextConfig, alphabet: Alphabet):
        if cfg.min_len < 1 or cfg.max_len < cfg.min_len:
            raise SynthError(f"text length range {cfg.min_len}-{cfg.max_len} is empty; need 1 <= min_len <= max_len")
        unknown = set(cfg.sources) - {"random", "words", "corpus"}
        if unknown:
            raise SynthError(f"unknown text source(s) {sorted(unknown)}; use random, words, corpus")
        if cfg.unencodable not in ("error", "filter"):
            raise SynthError(f"text.unencodable is {cfg.unencodable!r}; use 'error' or 'filter'")
        unknown = set(cfg.case) - set(CASES)
        if unknown:
            raise SynthError(f"unknown case transform(s) {sorted(unknown)}; use {', '.join(CASES)}")
        self.cfg, self.alphabet = cfg, alphabet
        self.sources: dict[str, RandomStrings | Lines] = {}
        weights = {k: w for k, w in cfg.sources.items() if w > 0}
        if not weights:
            raise SynthError("all text source weights are 0; give at least one of random/words/corpus a weight")
        for name in weights:
            if name == "random":
                chars = cfg.random_chars if cfg.random_chars is not None else alphabet.chars
                missing = alphabet.missing(chars)
                if missing:
                    raise SynthError(f"text.random_chars has characters outside the alphabet: {missing!r}")
                self.sources[name] = RandomStrings(chars, cfg.min_len, cfg.max_len)
            elif name == "words":
                self.sources[name] = Lines(cfg.lexicon or BUNDLED_WORDS, alphabet, cfg, "lexicon")
            else:
                if not cfg.corpus:
                    raise SynthError("text source 'corpus' has a weight but text.corpus names no file; set it")
                self.sources[name] = Lines(cfg.corpus, alphabet, cfg, "corpus")
        self.names = list(self.sources)
        self.cum = cumulative([weights[n] for n in self.names])
        self.cases = [c for c, w in cfg.case.items() if w > 0] or ["keep"]
        self.case_cum = cumulative([cfg.case.get(c, 1.0) for c in self.cases])

    @property
    def filtered(self) -> int:
        """How many lexicon/corpus entries were skipped because the alphabet or length range excludes them."""
        return sum(getattr(s, "dropped", 0) for s in self.sources.values())

    def sample(self, rng: Draws) -> tuple[str, str]:
        """One text and the name of the source it came from."""
        name = self.names[rng.choice(self.cum)]
        text = self.sources[name].sample(rng)
        if name != "random":
            case = self.cases[rng.choice(self.case_cum)]
            cased = apply_case(text, case)
            # a case change can leave the alphabet (e.g. digits-only lowercase alphabets): keep the original then
            if cased != text and self.alphabet.can_encode(cased):
                text = cased
        return text, name

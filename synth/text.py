"""Text sources: random strings, lexicon words, corpus lines, prose lines, a weighted mix, and case transforms.

A source's `sample(rng)` draws one text from the sample's own generator, so text is part of the
per-(seed, index) determinism.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from synth.alphabet import Alphabet
from synth.config import TextConfig
from synth.errors import SynthError
from synth.files import read_text
from synth.rng import Uniforms, cumulative

BUNDLED_WORDS = Path(__file__).parent / "data" / "words.txt"


@lru_cache(maxsize=8)
def _read_lines(path: str) -> tuple[str, ...]:
    text = read_text(path, "text file")
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
    """The seeds' `randomstring`: characters drawn uniformly, length uniform in [min_len, max_len].

    With `runs` above 0, each next visible character is drawn, with that chance, from the class (letter, digit,
    other) of the last visible one, else from the whole set as before (where it may fall in that class too);
    spaces keep their share. Codes and numbers in the world keep to runs ("50TH", "A4-1200"), and a model that
    sees O and 0, l and 1 among their own kind learns which of them a context holds; uniform strings teach that
    either may stand anywhere."""

    def __init__(self, chars: str, min_len: int, max_len: int, runs: float = 0.0):
        solid = chars.replace(" ", "")
        if not solid:
            raise SynthError("random strings need a visible character; set text.random_chars or the alphabet")
        self.chars = chars
        self.solid = solid
        self.min_len, self.max_len = min_len, max_len
        self.runs = runs
        kinds: dict[str, str] = {}
        for ch in solid:  # repeats kept: a character given twice is drawn twice as often in its class too
            kind = "letter" if ch.isalpha() else "digit" if ch.isdigit() else "other"
            kinds[kind] = kinds.get(kind, "") + ch
        #: each visible character's class, as the string of the characters in it
        self.kind = {ch: pool for pool in kinds.values() for ch in pool}

    def sample(self, rng: Uniforms) -> str:
        n = rng.integers(self.min_len, self.max_len + 1)
        chars, solid = self.chars, self.solid
        if self.runs > 0:
            out, run = [], None
            for _ in range(n):
                ch = chars[rng.integers(0, len(chars))]
                if ch != " " and run is not None and rng.random() < self.runs:
                    ch = run[rng.integers(0, len(run))]
                out.append(ch)
                run = self.kind.get(ch, run)  # a space continues the run it interrupts
        else:
            out = [chars[rng.integers(0, len(chars))] for _ in range(n)]
        # spaces at the ends or doubled are invisible in the image, so they could never be read back
        for i, ch in enumerate(out):
            if ch == " " and (i == 0 or i == n - 1 or out[i - 1] == " "):
                out[i] = solid[rng.integers(0, len(solid))]
        return "".join(out)


def _encodable(lines: tuple[str, ...], alphabet: Alphabet, cfg: TextConfig, kind: str, path: str | Path) -> list[str]:
    """The entries the alphabet can encode; under `unencodable="error"`, a SynthError if any is left out."""
    chars = frozenset(alphabet.chars)
    encodable = [s for s in lines if chars.issuperset(s)]  # alphabet.can_encode, 10x faster for big lists
    if len(encodable) < len(lines) and cfg.unencodable == "error":
        bad = next(s for s in lines if not chars.issuperset(s))
        raise SynthError(
            f"{kind} {path}: {len(lines) - len(encodable)} of {len(lines)} entries have characters outside the "
            f"alphabet, e.g. {bad!r} (missing {alphabet.missing(bad)!r}); "
            "widen the alphabet, or set text.unencodable to 'filter' to skip them"
        )
    return encodable


class Lines:
    """Words of a lexicon or lines of a corpus, filtered once to what the alphabet and lengths allow."""

    def __init__(self, path: str | Path, alphabet: Alphabet, cfg: TextConfig, kind: str):
        lines = _read_lines(str(path))
        encodable = _encodable(lines, alphabet, cfg, kind, path)
        #: entries skipped for characters outside the alphabet
        self.unencodable = len(lines) - len(encodable)
        brk = cfg.breaks(alphabet.chars)
        if brk:  # a corpus line holding breaks is set as those lines: each must fit, and no more than text.lines
            ok = [s for s in encodable if len(parts := s.split(brk)) <= cfg.lines[1]
                  and all(cfg.min_len <= len(p) <= cfg.max_len for p in parts)]
        else:
            ok = [s for s in encodable if cfg.min_len <= len(s) <= cfg.max_len]
        #: entries skipped for characters outside the alphabet or a length outside the range
        self.dropped = len(lines) - len(ok)
        if not ok:
            raise SynthError(
                f"{kind} {path}: none of its {len(lines)} entries fit the alphabet and the length range "
                f"{cfg.min_len}-{cfg.max_len}; widen them, or draw random strings of the alphabet (--text random=1)"
            )
        self.items = ok
        self.path = str(path)

    def sample(self, rng: Uniforms) -> str:
        return self.items[rng.integers(0, len(self.items))]


#: after a word of prose: (mark, weight); most words take none. A full stop also capitalizes the next word.
PROSE_MARKS = ((".", 0.06), (",", 0.08), (";", 0.01), (":", 0.01), ("?", 0.005), ("!", 0.003))
#: shares of prose tokens that are a number, a capitalized word (a name), an all-caps word (an acronym), or
#: a word in brackets or quotes
PROSE_NUMBER, PROSE_NAME, PROSE_ACRONYM, PROSE_WRAPPED = 0.06, 0.08, 0.015, 0.02
#: (open, close) pairs; typeset pages quote ``so'' as often as "so", and a line model that never met a
#: backquote reads a hyphen or a quote in its place
PROSE_WRAPS = (("(", ")"), ("[", "]"), ('"', '"'), ("'", "'"), ("``", "''"), ("`", "'"))
#: shares of words joined to the next by a hyphen (risk-based, strike-slip) and of numbers that are a range
#: (59-69) or a percentage: a model that meets hyphens only at the line end reads a compound's as a space
PROSE_COMPOUND, PROSE_RANGE, PROSE_PERCENT = 0.04, 0.15, 0.08
#: share of lines that end in a word broken by a hyphen, as narrow printed columns do
PROSE_HYPHENATED = 0.15
#: English's most frequent words, and the share of prose words drawn from them: about two words in five of
#: running English text are among its hundred most frequent, where a uniform draw from a 74k-word list
#: almost never gives "of the", so a line model would meet its commonest words as rarities
PROSE_COMMON_WORDS = (
    "the of and to a in is that for it as was with be by on not he this are or his from at which but have an "
    "they were has been one their its we all can more there than also these other such into may will would "
    "only new used two each between both when our some no if about out up so most over after first time "
    "any must should then them those where while under through same well she her you"
).split()
PROSE_COMMON = 0.4


class Prose:
    """Lines of words shaped like printed text: sentence case, punctuation, numbers, names, brackets,
    words broken at the line end, for line recognizers (scanned pages). Words come from the lexicon;
    marks the alphabet lacks are never used. Lengths: at most max_len; min_len is aimed at but a line
    ends early when its next word would pass max_len."""

    def __init__(self, path: str | Path, alphabet: Alphabet, cfg: TextConfig):
        chars = frozenset(alphabet.chars)
        lexicon = _read_lines(str(path))
        self.words = [w for w in _encodable(lexicon, alphabet, cfg, "lexicon", path) if len(w) <= cfg.max_len]
        #: lexicon words skipped for characters outside the alphabet or a length beyond max_len
        self.dropped = len(lexicon) - len(self.words)
        self.common = [w for w in PROSE_COMMON_WORDS if alphabet.can_encode(w)]
        if not self.words or " " not in chars:
            raise SynthError(f"prose needs words of the lexicon {path} and a space in the alphabet")
        marks = [(m, w) for m, w in PROSE_MARKS if m in chars]
        self.marks = [m for m, _ in marks]
        self.mark_cum = cumulative([w for _, w in marks] + [1.0 - sum(w for _, w in marks)])
        self.wraps = [w for w in PROSE_WRAPS if chars.issuperset("".join(w))]
        self.digits = "".join(c for c in "0123456789" if c in chars)
        self.hyphen, self.percent = "-" in chars, "%" in chars
        self.min_len, self.max_len = cfg.min_len, cfg.max_len
        self.alphabet = alphabet

    def _number(self, rng: Uniforms) -> str:
        n = rng.integers(1, 5)
        tok = "".join(self.digits[rng.integers(0, len(self.digits))] for _ in range(n))
        if rng.random() < 0.2 and "." in self.marks:
            tok += "." + self.digits[rng.integers(0, len(self.digits))]
        return tok

    def _token(self, rng: Uniforms, capital: bool) -> str:
        u = rng.random()
        if u < PROSE_NUMBER:
            if not self.digits:
                return self.words[rng.integers(0, len(self.words))]
            tok = self._number(rng)
            v = rng.random()
            if v < PROSE_RANGE and self.hyphen:
                tok += "-" + self._number(rng)
            elif v < PROSE_RANGE + PROSE_PERCENT and self.percent:
                tok += "%"
            return tok
        common = self.common if self.common and rng.random() < PROSE_COMMON else self.words
        word = common[rng.integers(0, len(common))]
        if u < PROSE_NUMBER + PROSE_ACRONYM:
            cased = word.upper()
        elif capital or u < PROSE_NUMBER + PROSE_ACRONYM + PROSE_NAME:
            cased = word[:1].upper() + word[1:]
        else:
            cased = word
        word = cased if self.alphabet.can_encode(cased) else word
        if self.hyphen and rng.random() < PROSE_COMPOUND:
            word += "-" + self.words[rng.integers(0, len(self.words))]
        if rng.random() < PROSE_WRAPPED and self.wraps:
            a, b = self.wraps[rng.integers(0, len(self.wraps))]
            word = a + word + b
        return word

    def sample(self, rng: Uniforms) -> str:
        target = rng.integers(self.min_len, self.max_len + 1)
        capital = rng.random() < 0.5  # a line starts a sentence, or continues one
        out = ""
        while True:
            tok = self._token(rng, capital)
            k = rng.choice(self.mark_cum)
            mark = self.marks[k] if k < len(self.marks) else ""
            capital = mark in (".", "?", "!")
            piece = tok + mark
            room = self.max_len - len(out) - (1 if out else 0)
            if len(piece) > room or (len(out) >= self.min_len and len(out) + 1 + len(piece) > target):
                if (self.hyphen and room >= 4 and rng.random() < PROSE_HYPHENATED and tok.isalpha()
                        and len(tok) >= 6):
                    cut = min(room - 1, len(tok) - 2)
                    out += (" " if out else "") + tok[: max(2, cut)] + "-"
                break
            out += (" " if out else "") + piece
        return out if out else tok[: self.max_len]


#: the Hangul syllables of Korean plates (the use letter between the digits) and the regions of older plates
KOREAN_PLATE_SYLLABLES = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주아바사자배하허호"
KOREAN_REGIONS = ("서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기", "강원", "충북", "충남",
                  "전북", "전남", "경북", "경남", "제주")
#: what each class letter of a pattern stands for
PATTERN_CLASSES: dict[str, str | tuple[str, ...]] = {
    "L": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "D": "0123456789", "K": KOREAN_PLATE_SYLLABLES, "R": KOREAN_REGIONS,
}


class Patterns:
    """Texts from patterns, as plates are numbered (`TextConfig.patterns`): each class letter drawn from what
    the alphabet holds of its class, other characters kept."""

    def __init__(self, patterns: list[str], alphabet: Alphabet):
        chars = set(alphabet.chars)
        self.patterns = patterns
        self.classes = {k: [c for c in v if set(c) <= chars] for k, v in PATTERN_CLASSES.items()}
        for p in patterns:
            empty = sorted({c for c in p if c in self.classes and not self.classes[c]})
            loose = "".join(dict.fromkeys(c for c in p if c not in self.classes and c not in chars))
            if empty or loose:
                raise SynthError(f"text pattern {p!r}: " + (f"the alphabet holds nothing of class {empty}; " if empty
                                 else "") + (f"{loose!r} is not in the alphabet; " if loose else "") +
                                 "widen the alphabet or change the pattern")

    def sample(self, rng: Uniforms) -> str:
        p = self.patterns[rng.integers(0, len(self.patterns))]
        return "".join(pool[rng.integers(0, len(pool))] if (pool := self.classes.get(c)) else c for c in p)


class TextSource:
    """A weighted mix of sources with case transforms; texts never leave the alphabet."""

    def __init__(self, cfg: TextConfig, alphabet: Alphabet):
        problems = cfg.problems(alphabet.chars)
        if problems:
            raise SynthError(problems[0])
        self.cfg, self.alphabet = cfg, alphabet
        self.sources: dict[str, RandomStrings | Lines | Prose | Patterns] = {}
        weights = {k: w for k, w in cfg.sources.items() if w > 0}
        for name in weights:
            if name == "random":
                chars = cfg.random_chars if cfg.random_chars is not None else alphabet.chars
                if cfg.breaks(alphabet.chars):  # a break drawn at random would split a line the label does not
                    chars = chars.replace(cfg.line_break, "")
                self.sources[name] = RandomStrings(chars, cfg.min_len, cfg.max_len, cfg.random_runs)
            elif name == "words":
                self.sources[name] = Lines(cfg.lexicon or BUNDLED_WORDS, alphabet, cfg, "lexicon")
            elif name == "prose":
                self.sources[name] = Prose(cfg.lexicon or BUNDLED_WORDS, alphabet, cfg)
            elif name == "pattern":
                self.sources[name] = Patterns(cfg.patterns, alphabet)
            else:
                self.sources[name] = Lines(cfg.corpus, alphabet, cfg, "corpus")
        self.names = list(self.sources)
        self.cum = cumulative([weights[n] for n in self.names])
        self.cases = [c for c, w in cfg.case.items() if w > 0] or ["keep"]
        self.case_cum = cumulative([cfg.case.get(c, 1.0) for c in self.cases])

    @property
    def filtered(self) -> int:
        """How many lexicon/corpus entries were skipped because the alphabet or length range excludes them."""
        return sum(getattr(s, "dropped", 0) for s in self.sources.values())

    def sample(self, rng: Uniforms) -> tuple[str, str]:
        """One text and the name of the source it came from."""
        name = self.names[rng.choice(self.cum)]
        text = self.sources[name].sample(rng)
        if name in ("words", "corpus"):  # prose does its own casing
            case = self.cases[rng.choice(self.case_cum)]
            cased = apply_case(text, case)
            # a case change can leave the alphabet (e.g. digits-only lowercase alphabets): keep the original then
            if cased != text and self.alphabet.can_encode(cased):
                text = cased
        return text, name

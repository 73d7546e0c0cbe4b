"""Recognition metrics over paired reference and hypothesis texts, as fractions.

Error rates (cer, wer, ned) are 0 when perfect; accuracies are 1 when perfect. Edit distances are
unit-cost Levenshtein (insertion, deletion, substitution).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

from synth.errors import SynthError

_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def _pairs(refs: Sequence[str], hyps: Sequence[str]) -> list[tuple[str, str]]:
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    if not refs:
        raise SynthError("nothing to score: no samples were evaluated (check the dataset or the sample count)")
    return list(zip(refs, hyps, strict=True))


def _rate(edits: int, total: int) -> float:
    """Edits per reference unit; with no reference units at all, 0 if nothing was inserted, else 1."""
    return edits / total if total else float(edits > 0)


def cer(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Character error rate: total character edits / total reference characters (corpus level).

    Can exceed 1 when hypotheses insert more characters than the references hold.
    """
    pairs = _pairs(refs, hyps)
    return _rate(sum(Levenshtein.distance(r, h) for r, h in pairs), sum(len(r) for r, _ in pairs))


def wer(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Word error rate: total word edits / total reference words, words split on whitespace.

    Can exceed 1 like cer. For single-word samples it is 1 - word_accuracy except for empty texts.
    """
    pairs = [(r.split(), h.split()) for r, h in _pairs(refs, hyps)]
    return _rate(sum(Levenshtein.distance(r, h) for r, h in pairs), sum(len(r) for r, _ in pairs))


def word_accuracy(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Fraction of samples whose hypothesis equals the reference exactly."""
    pairs = _pairs(refs, hyps)
    return sum(r == h for r, h in pairs) / len(pairs)


def ned(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Mean normalized edit distance: per sample distance / max(len(ref), len(hyp)), averaged.

    In [0, 1], and every sample weighs the same whatever its length (unlike cer). Two empty texts
    count as distance 0. ICDAR's "1-NED" score is 1 minus this.
    """
    pairs = _pairs(refs, hyps)
    return sum(Levenshtein.normalized_distance(r, h) for r, h in pairs) / len(pairs)


def _alnum(text: str) -> str:
    return _NOT_ALNUM.sub("", text.lower())


def word_accuracy_ci_alnum(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Exact-match rate after lowercasing and keeping only [a-z0-9]: the usual scene-text protocol."""
    pairs = _pairs(refs, hyps)
    return sum(_alnum(r) == _alnum(h) for r, h in pairs) / len(pairs)


def score(refs: Sequence[str], hyps: Sequence[str]) -> dict[str, float | int]:
    """All metrics at once, keyed by name, plus n (the number of samples)."""
    return {
        "n": len(_pairs(refs, hyps)),
        "cer": cer(refs, hyps),
        "wer": wer(refs, hyps),
        "word_accuracy": word_accuracy(refs, hyps),
        "ned": ned(refs, hyps),
        "word_accuracy_ci_alnum": word_accuracy_ci_alnum(refs, hyps),
    }


def confusions(refs: Sequence[str], hyps: Sequence[str], top: int = 10) -> list[dict[str, str | int]]:
    """The most frequent character edits between references and readings, case folded (case errors would
    hide the rest where labels are all capitals): each as {"truth", "read", "count", "alone"}, where "truth"
    is "" for an inserted character and "read" "" for a dropped one, and "alone" counts the samples that this
    edit alone made wrong (what fixing it would win). Most frequent first, ties by "alone", then by text."""
    count: Counter[tuple[str, str]] = Counter()
    alone: Counter[tuple[str, str]] = Counter()
    for r, h in _pairs(refs, hyps):
        r, h = r.casefold(), h.casefold()
        if r == h:
            continue
        edits = [(r[i] if op != "insert" else "", h[j] if op != "delete" else "")
                 for op, i, j in Levenshtein.editops(r, h)]
        count.update(edits)
        if len(set(edits)) == 1:
            alone[edits[0]] += 1
    ranked = sorted(count, key=lambda e: (-count[e], -alone[e], e))[:top]
    return [{"truth": t, "read": h, "count": count[(t, h)], "alone": alone[(t, h)]} for t, h in ranked]

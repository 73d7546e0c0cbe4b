"""CTC decoding in NumPy (greedy, prefix beam search, lexicon), without TensorFlow: shared by training and the runtime.

The blank is id 0 (synth.alphabet.BLANK); logits are batch-major (B, T, C), before the softmax.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from synth.alphabet import BLANK, Alphabet
from synth.errors import SynthError

NEG_INF = -np.inf


def required_steps(label: Sequence) -> int:
    """The fewest output steps that can emit `label` (text or ids): one per symbol, plus a blank
    between each pair of equal neighbours, which CTC would otherwise merge."""
    return len(label) + sum(a == b for a, b in pairwise(label))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _lengths(logits: np.ndarray, lengths: Sequence[int] | np.ndarray | None) -> np.ndarray:
    if lengths is None:
        return np.full(len(logits), np.shape(logits)[1], dtype=np.int32)
    return np.asarray(lengths, dtype=np.int32).reshape(-1)


def greedy_decode(
    logits: np.ndarray, lengths: Sequence[int] | np.ndarray | None = None
) -> tuple[list[list[int]], np.ndarray]:
    """Best-path decoding: argmax per step, merge repeats, drop blanks.

    The confidence is the probability of that single best alignment (the product of the per-step
    maximum probabilities over the first `lengths` steps). It is a lower bound on the probability of
    the decoded text, comparable between images of equal width; longer inputs score lower.
    """
    logp = log_softmax(logits)
    lengths = _lengths(logp, lengths)
    best = logp.argmax(axis=-1)
    ids, confidences = [], np.empty(len(logp))
    for i, (path, n) in enumerate(zip(best, lengths, strict=True)):
        path = path[:n]
        keep = (path != BLANK) & np.concatenate([[True], path[1:] != path[:-1]])
        ids.append(path[keep].tolist())
        confidences[i] = np.exp(logp[i, np.arange(n), path].sum())
    return ids, confidences


def beam_search_decode(
    logits: np.ndarray, lengths: Sequence[int] | np.ndarray | None = None, beam_width: int = 10
) -> tuple[list[list[int]], np.ndarray]:
    """Prefix beam search: the most likely text summed over its alignments, as far as `beam_width` prefixes
    kept per step can tell; returns ids and each text's log-probability. At each step only the
    `beam_width` likeliest characters extend a prefix."""
    logp = log_softmax(logits)
    lengths = _lengths(logp, lengths)
    out_ids, out_logp = [], np.empty(len(logp))
    for i in range(len(logp)):
        # prefix -> [log p of its alignments ending in a blank, ... ending in its last character]
        beams: dict[tuple[int, ...], list[float]] = {(): [0.0, NEG_INF]}
        for t in range(lengths[i]):
            row = logp[i, t]
            chars = [int(c) for c in np.argpartition(row, -beam_width)[-beam_width:] if c != BLANK] \
                if len(row) > beam_width else [c for c in range(len(row)) if c != BLANK]
            nxt: dict[tuple[int, ...], list[float]] = {}
            for prefix, (blank, char) in beams.items():
                total = np.logaddexp(blank, char)
                entry = nxt.setdefault(prefix, [NEG_INF, NEG_INF])
                entry[0] = np.logaddexp(entry[0], total + row[BLANK])
                if prefix:  # the last character again, merged into it
                    entry[1] = np.logaddexp(entry[1], char + row[prefix[-1]])
                for c in chars:
                    longer = nxt.setdefault((*prefix, c), [NEG_INF, NEG_INF])
                    # after its own character a repeat needs a blank between, or it merges
                    longer[1] = np.logaddexp(longer[1], (blank if prefix and prefix[-1] == c else total) + row[c])
            beams = dict(sorted(nxt.items(), key=lambda kv: -np.logaddexp(*kv[1]))[:beam_width])
        best, (blank, char) = max(beams.items(), key=lambda kv: np.logaddexp(*kv[1]))
        out_ids.append(list(best))
        out_logp[i] = np.logaddexp(blank, char)
    return out_ids, out_logp


def ctc_log_likelihood(logp: np.ndarray, lengths: np.ndarray, labels: Sequence[Sequence[int]]) -> np.ndarray:
    """log p(label | logits) summed over all alignments (the CTC forward pass), for each row of
    log-probabilities `logp` (N, T, C) with its length and label; -inf where a label cannot fit."""
    n, steps = len(logp), logp.shape[1]
    width = 2 * max((len(lab) for lab in labels), default=0) + 1
    ext = np.zeros((n, width), dtype=np.int64)  # blank, l1, blank, l2, ..., blank
    ext_len = np.array([2 * len(lab) + 1 for lab in labels])
    for j, lab in enumerate(labels):
        ext[j, 1 : 2 * len(lab) : 2] = lab
    # a skip from s-2 to s is allowed onto a character that differs from the one two back
    skip = np.zeros((n, width), dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != BLANK) & (ext[:, 2:] != ext[:, :-2])
    rows = np.arange(n)[:, None]
    emit = logp[rows, 0, ext]  # (N, width): log p of each extended symbol at step 0
    alpha = np.full((n, width), NEG_INF)
    alpha[:, 0] = emit[:, 0]
    alpha[:, 1] = np.where(ext_len > 1, emit[:, 1], NEG_INF)
    for t in range(1, steps):
        one = np.concatenate([np.full((n, 1), NEG_INF), alpha[:, :-1]], axis=1)
        two = np.where(skip, np.concatenate([np.full((n, 2), NEG_INF), alpha[:, :-2]], axis=1), NEG_INF)
        stacked = np.stack([alpha, one, two])
        top = stacked.max(axis=0)
        safe = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore"):  # a position no alignment reaches yet: log 0, kept -inf below
            new = safe + np.log(np.exp(stacked - safe).sum(axis=0)) + logp[rows, t, ext]
        alpha = np.where((t < lengths)[:, None], np.where(np.isfinite(top), new, NEG_INF), alpha)
    last = alpha[np.arange(n), ext_len - 1]
    before = np.where(ext_len > 1, alpha[np.arange(n), np.maximum(ext_len - 2, 0)], NEG_INF)
    return np.logaddexp(last, before)


def lexicon_decode(
    logits: np.ndarray,
    lengths: Sequence[int] | np.ndarray | None,
    lexicon: Sequence[str],
    alphabet: Alphabet,
    candidates: int | None = 20,
) -> tuple[list[str], np.ndarray]:
    """The most likely lexicon word for each sequence, and its CTC log-likelihood.

    Every candidate word is scored by its exact probability under the logits (summed over all
    alignments), which ranks near-misses better than the edit distance to the greedy text does. To
    keep big lexicons cheap, only the `candidates` words nearest the greedy text by edit distance
    are scored (None scores them all). Words that cannot fit the output length score -inf.
    """
    words = [w for w in dict.fromkeys(lexicon) if w]
    if not words:
        raise SynthError("the lexicon is empty: pass a word list with at least one non-empty word")
    encoded = {w: alphabet.encode(w) for w in words}
    logp = log_softmax(logits)
    lengths = _lengths(logp, lengths)
    greedy, _ = greedy_decode(logits, lengths)
    pairs = []  # (sequence index, word) to score
    for i, ids in enumerate(greedy):
        if candidates is None or candidates >= len(words):
            shortlist = words
        else:
            found = process.extract(alphabet.decode(ids), words, scorer=Levenshtein.distance, limit=candidates)
            shortlist = [word for word, _, _ in found]
        pairs += [(i, w) for w in shortlist if required_steps(encoded[w]) <= lengths[i]]
    best_words, best_scores = [""] * len(logp), np.full(len(logp), NEG_INF)
    chunk = 512
    for start in range(0, len(pairs), chunk):
        part = pairs[start : start + chunk]
        rows = np.array([i for i, _ in part])
        scores = ctc_log_likelihood(logp[rows], lengths[rows], [encoded[w] for _, w in part])
        for (i, word), score in zip(part, scores, strict=True):
            if score > best_scores[i]:
                best_words[i], best_scores[i] = word, score
    return best_words, best_scores

"""CTC loss, output-length checks and decoding, all with the blank at id 0 (see synth.alphabet)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import tensorflow as tf
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from synth.alphabet import BLANK, Alphabet
from synth.errors import SynthError


def ctc_loss(labels: tf.Tensor, label_length: tf.Tensor, logits: tf.Tensor, logit_length: tf.Tensor) -> tf.Tensor:
    """Per-sample CTC negative log-likelihood of padded labels under batch-major logits (no softmax).

    Labels go in as a SparseTensor: that selects TensorFlow's C++ CTC kernel, measured faster on CPU
    than the dense path that `keras.ops.ctc_loss` takes. Label entries past `label_length` are zeroed
    first, so `tf.sparse.from_dense` drops them with the padding.
    """
    labels = tf.cast(labels, tf.int32)
    label_length = tf.cast(label_length, tf.int32)
    mask = tf.sequence_mask(label_length, tf.shape(labels)[1], dtype=tf.int32)
    return tf.nn.ctc_loss(
        labels=tf.sparse.from_dense(labels * mask),
        logits=tf.cast(logits, tf.float32),
        label_length=None,
        logit_length=tf.cast(logit_length, tf.int32),
        logits_time_major=False,
        blank_index=BLANK,
    )


def required_steps(label: Sequence) -> int:
    """The fewest output steps that can emit `label` (text or ids): one per symbol, plus a blank
    between each pair of equal neighbours, which CTC would otherwise merge."""
    return len(label) + sum(a == b for a, b in pairwise(label))


def check_output_steps(max_len: int, steps: int, can_repeat: bool = True) -> None:
    """Fail early, not as an infinite loss mid-training, when labels may not fit the model's output.

    The worst label of `max_len` symbols needs 2L-1 steps if the text source can repeat a character
    (every neighbour equal), else L; below the usual 2L+1 rule of thumb only a warning is given.
    """
    needed = 2 * max_len - 1 if can_repeat else max_len
    if steps < needed:
        worst = "with every character repeated" if can_repeat else "without repeats"
        raise SynthError(
            f"the model gives {steps} output steps but a {max_len}-character label {worst} needs {needed}: "
            "use wider images, a model with less width downsampling, or shorter texts"
        )
    if steps < 2 * max_len + 1:
        warnings.warn(
            f"{steps} output steps for labels of up to {max_len} characters is below the 2L+1 = "
            f"{2 * max_len + 1} rule of thumb; CTC may train slowly (wider images or shorter texts help)",
            stacklevel=2,
        )


def _log_softmax(logits: np.ndarray) -> np.ndarray:
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
    logp = _log_softmax(logits)
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
    """Prefix beam search with TensorFlow's decoder; returns ids and each text's log-probability.

    TensorFlow's decoder wants time-major input with the blank as the last class, so our blank
    column (0) is rolled to the end, which shifts every character id down by one until decoded.
    """
    logits = np.asarray(logits, dtype=np.float32)
    lengths = _lengths(logits, lengths)
    blank_last = np.roll(logits, -1, axis=-1)
    decoded, log_probs = tf.nn.ctc_beam_search_decoder(
        np.transpose(blank_last, (1, 0, 2)), lengths, beam_width=beam_width, top_paths=1
    )
    dense = tf.sparse.to_dense(decoded[0], default_value=-1).numpy()
    ids = [[int(c) + 1 for c in row if c >= 0] for row in dense]
    return ids, log_probs[:, 0].numpy()


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
    logits = np.asarray(logits, dtype=np.float32)
    lengths = _lengths(logits, lengths)
    greedy, _ = greedy_decode(logits, lengths)
    pairs = []  # (sequence index, word) to score
    for i, ids in enumerate(greedy):
        if candidates is None or candidates >= len(words):
            shortlist = words
        else:
            found = process.extract(alphabet.decode(ids), words, scorer=Levenshtein.distance, limit=candidates)
            shortlist = [word for word, _, _ in found]
        pairs += [(i, w) for w in shortlist if required_steps(encoded[w]) <= lengths[i]]
    scores = _score_pairs(logits, lengths, pairs, encoded)
    best_words, best_scores = [""] * len(logits), np.full(len(logits), -np.inf)
    for (i, word), score in zip(pairs, scores, strict=True):
        if score > best_scores[i]:
            best_words[i], best_scores[i] = word, score
    return best_words, best_scores


def _score_pairs(
    logits: np.ndarray, lengths: np.ndarray, pairs: list[tuple[int, str]], encoded: dict[str, list[int]]
) -> np.ndarray:
    """CTC log-likelihoods of (sequence, word) pairs, batched through the loss."""
    scores, chunk = [], 512
    for start in range(0, len(pairs), chunk):
        part = pairs[start : start + chunk]
        rows = [i for i, _ in part]
        labels = [encoded[w] for _, w in part]
        padded = np.zeros((len(part), max(map(len, labels))), dtype=np.int32)
        for j, label in enumerate(labels):
            padded[j, : len(label)] = label
        loss = ctc_loss(padded, [len(label) for label in labels], logits[rows], lengths[rows])
        scores.append(-loss.numpy())
    return np.concatenate(scores) if scores else np.empty(0)

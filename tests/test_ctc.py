import math
import warnings

import keras
import numpy as np
import pytest

from synth.alphabet import Alphabet
from synth.errors import SynthError
from train.ctc import check_output_steps, ctc_loss
from train.decode import (
    beam_search_decode,
    ctc_log_likelihood,
    greedy_decode,
    lexicon_decode,
    log_softmax,
    required_steps,
)

# T=3 steps over classes (blank, a=1, b=2); each row sums to 1, so log(probs) are valid logits.
PROBS = np.array([[0.5, 0.3, 0.2], [0.4, 0.3, 0.3], [0.2, 0.2, 0.6]])
# "ab": a b -, a - b, - a b, a a b, a b b
P_AB = 0.3 * 0.3 * 0.2 + 0.3 * 0.4 * 0.6 + 0.5 * 0.3 * 0.6 + 0.3 * 0.3 * 0.6 + 0.3 * 0.3 * 0.6  # 0.288
# "aa": only a - a (a a - and - a a would merge to "a")
P_AA = 0.3 * 0.4 * 0.2  # 0.024
# "b": b b b, b b -, - b b, b - -, - b -, - - b  (b - b would be "bb")
P_B = 0.2 * 0.3 * 0.6 + 0.2 * 0.3 * 0.2 + 0.5 * 0.3 * 0.6 + 0.2 * 0.4 * 0.2 + 0.5 * 0.3 * 0.2 + 0.5 * 0.4 * 0.6
# "ab" within the first 2 steps only: a b
P_AB_T2 = 0.3 * 0.3


def _logits(probs: np.ndarray, batch: int) -> np.ndarray:
    return np.repeat(np.log(probs)[None], batch, axis=0).astype(np.float32)


def test_loss_matches_hand_enumerated_alignments():
    labels = np.array([[1, 2], [1, 1], [2, 0], [2, 1], [1, 2]], dtype=np.int32)
    label_length = np.array([2, 2, 1, 1, 2])  # row 3: entries past the length are ignored
    logit_length = np.array([3, 3, 3, 3, 2])
    loss = ctc_loss(labels, label_length, _logits(PROBS, 5), logit_length).numpy()
    expected = -np.log([P_AB, P_AA, P_B, P_B, P_AB_T2])
    np.testing.assert_allclose(loss, expected, atol=1e-5)


def test_loss_agrees_with_keras_dense_ctc():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 12, 6)).astype(np.float32)
    labels = np.array([[1, 2, 2, 5], [3, 0, 0, 0], [4, 4, 4, 0], [5, 1, 0, 0]], dtype=np.int32)
    label_length = (labels > 0).sum(axis=1)
    logit_length = np.array([12, 7, 9, 12])
    ours = ctc_loss(labels, label_length, logits, logit_length).numpy()
    theirs = keras.ops.convert_to_numpy(keras.ops.ctc_loss(labels, logits, label_length, logit_length))
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)


def test_greedy_decode_by_hand():
    ids, conf = greedy_decode(np.log(PROBS)[None])  # argmax: blank, blank, b
    assert ids == [[2]]
    assert conf[0] == pytest.approx(0.5 * 0.4 * 0.6)


def test_greedy_merges_repeats_but_keeps_blank_separated_ones():
    path = [1, 1, 0, 1, 2, 2, 0, 0]
    logits = np.eye(3)[path][None] * 10
    ids, _ = greedy_decode(logits)
    assert ids == [[1, 1, 2]]
    assert greedy_decode(logits, [3])[0] == [[1]]


def test_blank_is_id_zero():
    logits = np.zeros((2, 6, 4), dtype=np.float32)
    logits[..., 0] = 10.0
    assert greedy_decode(logits)[0] == [[], []]
    assert beam_search_decode(logits)[0] == [[], []]
    assert Alphabet("abc").decode(greedy_decode(logits)[0][0]) == ""


def test_beam_search_finds_text_that_best_path_misses():
    # Every step: blank .6, a .4. Best path "- -" gives "" (p=.36), but "a" sums a a, a -, - a = .64.
    logits = np.log(np.array([[[0.6, 0.4], [0.6, 0.4]]]))
    assert greedy_decode(logits)[0] == [[]]
    ids, log_prob = beam_search_decode(logits, [2], beam_width=4)
    assert ids == [[1]]
    assert log_prob[0] == pytest.approx(math.log(0.64), abs=1e-5)


def test_beam_search_matches_greedy_on_peaked_logits_and_respects_lengths():
    paths = [[3, 0, 1, 1, 0, 2], [2, 2, 0, 2, 0, 0]]
    logits = np.eye(4)[paths] * 8
    ids, _ = beam_search_decode(logits, [6, 4])
    assert ids == [[3, 1, 2], [2, 2]]


def test_required_steps_counts_repeats():
    assert required_steps("") == 0
    assert required_steps("hello") == 6
    assert required_steps("aaa") == 5
    assert required_steps([1, 2, 2]) == 4


def test_check_output_steps_raises_with_numbers():
    with pytest.raises(SynthError, match=r"gives 20 output steps .* needs 29"):
        check_output_steps(15, 20)
    with pytest.warns(UserWarning, match="2L\\+1"):
        check_output_steps(15, 15, can_repeat=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_output_steps(15, 31)


def _lexicon_logits() -> np.ndarray:
    # alphabet "abct": ids a=1, b=2, c=3, t=4. Steps: c, -, b|a (b slightly ahead), t.
    probs = np.full((4, 5), 0.02)
    probs[0, 3] = probs[1, 0] = probs[3, 4] = 0.92
    probs[2, 2], probs[2, 1] = 0.5, 0.44
    return np.log(probs / probs.sum(axis=1, keepdims=True))[None]


def test_lexicon_decode_picks_most_likely_word_and_scores_it():
    alphabet = Alphabet("abct")
    logits = _lexicon_logits()
    assert alphabet.decode(greedy_decode(logits)[0][0]) == "cbt"
    words, scores = lexicon_decode(logits, None, ["bat", "ct", "cat", "cat"], alphabet)
    assert words == ["cat"]
    expected = -ctc_loss(np.array([[3, 1, 4]]), [3], logits.astype(np.float32), [4]).numpy()[0]
    assert scores[0] == pytest.approx(expected, abs=1e-5)


def test_lexicon_decode_skips_words_too_long_and_prefilters():
    alphabet = Alphabet("abct")
    logits = _lexicon_logits()
    words, scores = lexicon_decode(logits, None, ["tttt", "bat"], alphabet)  # tttt needs 7 steps > 4
    assert words == ["bat"]
    # "ca" is likelier than "cbta" (which must spend step 2 on b, step 4 on a), but is 2 edits from "cbt", not 1
    assert lexicon_decode(logits, None, ["cbta", "ca"], alphabet)[0] == ["ca"]
    assert lexicon_decode(logits, None, ["cbta", "ca"], alphabet, candidates=1)[0] == ["cbta"]
    words, scores = lexicon_decode(logits, None, ["tttt"], alphabet)
    assert words == [""] and scores[0] == -np.inf


def test_lexicon_decode_user_errors():
    with pytest.raises(SynthError, match="empty"):
        lexicon_decode(_lexicon_logits(), None, [""], Alphabet("abct"))
    with pytest.raises(SynthError, match="outside the alphabet"):
        lexicon_decode(_lexicon_logits(), None, ["cat", "dog"], Alphabet("abct"))


def peaked_logits(seed: int, batch: int = 16, steps: int = 20, classes: int = 6) -> np.ndarray:
    """Logits like a trained model's: one class far likelier at most steps, some steps in doubt."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1, (batch, steps, classes))
    logits[np.arange(batch)[:, None], np.arange(steps)[None], rng.integers(0, classes, (batch, steps))] += 6
    return logits.astype(np.float32)


def test_numpy_beam_search_agrees_with_tensorflows():
    import tensorflow as tf

    for seed in range(5):
        logits = peaked_logits(seed)
        lengths = np.random.default_rng(seed).integers(8, 21, len(logits))
        ids, logp = beam_search_decode(logits, lengths, beam_width=10)
        decoded, tf_logp = tf.nn.ctc_beam_search_decoder(np.transpose(np.roll(logits, -1, axis=-1), (1, 0, 2)),
                                                         lengths, beam_width=10, top_paths=1)
        dense = tf.sparse.to_dense(decoded[0], default_value=-1).numpy()
        assert ids == [[int(c) + 1 for c in row if c >= 0] for row in dense]
        # both keep 10 prefixes a step, so both sum a little less than every alignment of the text
        np.testing.assert_allclose(logp, tf_logp[:, 0].numpy(), atol=0.05)
        assert (logp <= ctc_log_likelihood(log_softmax(logits), lengths, ids) + 1e-9).all()


def test_numpy_ctc_likelihood_agrees_with_the_loss():
    logits = peaked_logits(7, batch=12, steps=15)
    rng = np.random.default_rng(7)
    labels = [rng.integers(1, 6, rng.integers(0, 7)).tolist() for _ in range(12)]
    lengths = rng.integers(12, 16, 12)
    mine = ctc_log_likelihood(log_softmax(logits), lengths, labels)
    padded = np.zeros((12, 6), np.int32)
    for j, lab in enumerate(labels):
        padded[j, : len(lab)] = lab
    theirs = -ctc_loss(padded, [len(lab) for lab in labels], logits, lengths).numpy()
    np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-3)
    assert ctc_log_likelihood(log_softmax(logits[:1]), np.array([2]), [[1, 1, 1]])[0] == -np.inf  # cannot fit

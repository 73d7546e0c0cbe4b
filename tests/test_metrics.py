import pytest

from synth.errors import SynthError
from train.metrics import cer, confusions, ned, score, wer, word_accuracy, word_accuracy_ci_alnum

REFS = ["hello world", "abc", "Foo-Bar 1", "same"]
HYPS = ["helo world", "abd", "foobar1", "same"]
# char edits: 1 (drop l), 1 (c->d), 4 (F->f, drop -, B->b, drop space), 0; ref chars 11+3+9+4 = 27
# word edits: 1 (hello->helo), 1, 2 (Foo-Bar->foobar1, drop 1), 0; ref words 2+1+2+1 = 6
# normalized: 1/11, 1/3, 4/9, 0; case-insensitive alnum: helloworld!=heloworld, abc!=abd, foobar1, same


def test_hand_computed_values():
    assert cer(REFS, HYPS) == pytest.approx(6 / 27)
    assert wer(REFS, HYPS) == pytest.approx(4 / 6)
    assert word_accuracy(REFS, HYPS) == pytest.approx(1 / 4)
    assert ned(REFS, HYPS) == pytest.approx((1 / 11 + 1 / 3 + 4 / 9 + 0) / 4)
    assert word_accuracy_ci_alnum(REFS, HYPS) == pytest.approx(2 / 4)


def test_score_has_every_key():
    assert score(REFS, HYPS) == {
        "n": 4,
        "cer": cer(REFS, HYPS),
        "wer": wer(REFS, HYPS),
        "word_accuracy": word_accuracy(REFS, HYPS),
        "ned": ned(REFS, HYPS),
        "word_accuracy_ci_alnum": word_accuracy_ci_alnum(REFS, HYPS),
    }


def test_perfect_and_empty_texts():
    assert score(["ab", ""], ["ab", ""])["cer"] == 0.0
    assert score(["ab", ""], ["ab", ""])["word_accuracy"] == 1.0
    assert cer([""], ["x"]) == 1.0  # no reference characters but an insertion
    assert ned(["", "ab"], ["", "abcd"]) == pytest.approx((0 + 2 / 4) / 2)
    assert cer(["ab"], ["abcdef"]) == pytest.approx(2.0)  # insertions can push cer past 1


def test_bad_input():
    with pytest.raises(SynthError, match="nothing to score"):
        score([], [])
    with pytest.raises(ValueError, match="2 references but 1"):
        cer(["a", "b"], ["a"])


def test_confusions_count_each_edit_and_the_words_it_alone_made_wrong():
    refs = ["NO", "WHO", "LOANS", "Abc", "GOOD", "tall"]
    hyps = ["N0", "WH0", "[OANS", "abc", "G00D", "tal"]
    got = {(c["truth"], c["read"]): (c["count"], c["alone"]) for c in confusions(refs, hyps)}
    # case folded: "Abc" read "abc" is no error; GOOD -> G00D holds two o->0, one word
    assert got == {("o", "0"): (4, 3), ("l", "["): (1, 1), ("l", ""): (1, 1)}
    assert [(c["truth"], c["read"]) for c in confusions(refs, hyps)][0] == ("o", "0")  # the most frequent first
    assert confusions(["ab"], ["xaby"]) == [{"truth": "", "read": "x", "count": 1, "alone": 0},
                                             {"truth": "", "read": "y", "count": 1, "alone": 0}]
    assert len(confusions(refs, hyps, top=1)) == 1 and confusions(["same"], ["same"]) == []

"""Right-to-left text: labels go to CTC in the order the image shows them and come back in logical order, in one
place (the alphabet), so that training, decoding, evaluation and prediction agree; files keep logical order."""

from __future__ import annotations

import numpy as np
import pytest

from synth import Alphabet, SynthConfig
from synth.direction import paragraph_rtl, to_logical, to_visual

ROUND_TRIPS = [
    ("غرفة رقم 15", True), ("חדר 12", True), ("مرحبا بالعالم", True), ("السعر ١٢٣ ريال", True),
    ("שלום עולם", True), ("ספר (חדש)", True), ("كتاب، قلم", True), ("שלום abc def", True), ("12.5%", True),
    ("שלום, world!", True), ("hello world", False), ("abc אבג def", False), ("abc (def) [x]", False),
]
HEBREW = "אבגדהוזחטי"


@pytest.mark.parametrize("text, rtl", ROUND_TRIPS)
def test_visual_order_reads_back_to_logical(text, rtl):
    visual = to_visual(text, rtl)
    assert to_logical(visual, rtl) == text
    assert sorted(visual.translate(str.maketrans("()[]", "()()"))) == sorted(text.translate(
        str.maketrans("()[]", "()()")))  # the same characters, brackets aside (mirrored in right-to-left runs)


def test_visual_order_is_what_the_image_shows():
    assert to_visual("שלום", True) == "םולש"  # the last letter is leftmost
    assert to_visual("חדר 12", True) == "12 רדח"  # a number reads left to right, left of its word
    assert to_visual("ספר (חדש)", True) == "(שדח) רפס"  # brackets drawn mirrored face their text
    assert to_visual("hello", False) == "hello" and to_visual("hello", True) == "hello"


def test_the_alphabet_knows_its_direction():
    assert paragraph_rtl(HEBREW + "0123456789 ") and not paragraph_rtl(SynthConfig().alphabet)
    hebrew, latin = Alphabet(HEBREW + " 0123456789"), Alphabet()
    assert hebrew.rtl and hebrew.bidi and not latin.rtl and not latin.bidi
    ids = hebrew.encode("אבג 12")
    assert hebrew.decode(ids) == "אבג 12"
    assert [hebrew.chars[i - 1] for i in ids] == list("12 גבא")  # CTC reads the image left to right
    assert latin.decode(latin.encode("abc 12")) == "abc 12"
    mixed = Alphabet(SynthConfig().alphabet + HEBREW)  # Latin lines that hold some Hebrew: runs left to right
    assert not mixed.rtl and mixed.bidi and mixed.decode(mixed.encode("see אבג here")) == "see אבג here"


def test_files_keep_logical_order(tmp_path):
    import synth
    from synth.dataset import iter_samples

    cfg = hebrew_config()
    synth.write(cfg, tmp_path / "he", 12, workers=0, progress=False)
    r = synth.Renderer(cfg)
    for i, (_, text, _) in enumerate(iter_samples(tmp_path / "he")):
        assert text == r.sample_spec(0, i).text  # labels.tsv holds the text as written, not as drawn
    batch = next(synth.batches(cfg, batch_size=4, workers=0))
    for label, n, text in zip(batch["label"], batch["label_length"], batch["text"], strict=True):
        assert r.alphabet.decode(label[:n]) == text and list(label[:n]) == r.alphabet.encode(text)


def hebrew_config() -> SynthConfig:
    from synth import EffectsConfig, FontConfig, TextConfig

    cfg = SynthConfig(alphabet=HEBREW, text=TextConfig(sources={"random": 1.0}, min_len=4, max_len=4),
                      fonts=FontConfig(bundled=False, scripts=["hebrew"]), effects=EffectsConfig.off())
    cfg.render.height, cfg.render.width = 32, 64
    return cfg


def test_a_tiny_model_learns_to_read_right_to_left(tmp_path):
    """The tiny task of tests/conftest.py in Hebrew: trained on labels in image order, it reads strings back in
    logical order. Fed logical labels, CTC would have to align them against the image's direction."""
    from conftest import TINY_STEPS, tiny_fit_config

    from synth import Renderer
    from train import metrics
    from train.fit import fit
    from train.recognizer import load

    cfg = tiny_fit_config()
    cfg.data = hebrew_config()
    fit(cfg, tmp_path / "he", progress=False)
    rec = load(tmp_path / "he")
    renderer = Renderer(cfg.data)
    samples = [renderer.render(seed=4242, index=i) for i in range(100)]
    texts = [spec.text for _, spec in samples]
    read = [p.text for p in rec.predict([img for img, _ in samples])]
    assert metrics.word_accuracy(texts, read) >= 0.85, (TINY_STEPS, list(zip(texts, read, strict=True))[:10])
    assert np.mean([r == t[::-1] for r, t in zip(read, texts, strict=True)]) < 0.1  # not read backwards

import json

import numpy as np
import pytest

from synth import Alphabet, EffectsConfig, FontConfig, Renderer, SynthConfig, SynthError, TextConfig
from synth.alphabet import BLANK, DEFAULT_CHARS, PAD
from synth.fonts import BUNDLED_DIR
from synth.rng import Draws

GREEK_CYRILLIC = "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΣΩабвгдежзийклмнопрстуфхцчшщыэюяБГДЖЗИЛПФЦЧШЩЭЮЯ"


def test_ids_start_at_one_and_zero_is_the_blank():
    a = Alphabet("abc")
    assert BLANK == 0 and PAD == 0
    assert a.encode("abc") == [1, 2, 3]
    assert a.encode("cab") == [3, 1, 2]
    assert a.size == 4 and len(a) == 3  # the model's classes: the characters plus the blank
    assert a.decode([1, 0, 2, 0, 0, 3]) == "abc"  # blanks and padding are skipped
    assert a.decode([3, 4, 99, -1]) == "c"  # out-of-range ids too


def test_duplicates_keep_first_position():
    a = Alphabet("abca b")
    assert a.chars == "abc "
    assert a.encode(" ") == [4]


def test_encode_decode_round_trip():
    a = Alphabet()
    assert a.chars == DEFAULT_CHARS
    rng = np.random.default_rng(0)
    for _ in range(200):
        text = "".join(rng.choice(list(DEFAULT_CHARS), size=rng.integers(1, 20)))
        ids = a.encode(text)
        assert all(1 <= i <= len(DEFAULT_CHARS) for i in ids)
        assert a.decode(ids) == text
        assert a.decode(np.array(ids + [0, 0, 0], np.int32)) == text  # padded numpy labels decode too


def test_json_save_load(tmp_path):
    a = Alphabet(GREEK_CYRILLIC + "0123 ")
    path = tmp_path / "alphabet.json"
    a.save(path)
    raw = path.read_text(encoding="utf-8")
    assert "ж" in raw  # stored readable, not as \\u escapes
    data = json.loads(raw)
    assert data["blank"] == 0 and data["chars"] == a.chars
    b = Alphabet.load(path)
    assert b == a and hash(b) == hash(a)
    assert b.encode("αж 1") == a.encode("αж 1")
    assert Alphabet.from_json(a.to_json()) == a


def test_load_bad_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(SynthError, match="bad.json"):
        Alphabet.load(path)
    path.write_text('{"letters": "abc"}', encoding="utf-8")
    with pytest.raises(SynthError, match="'chars'"):
        Alphabet.load(path)
    with pytest.raises(SynthError, match="missing.json"):
        Alphabet.load(tmp_path / "missing.json")


def test_empty_alphabet():
    with pytest.raises(SynthError, match="empty"):
        Alphabet("")
    with pytest.raises(SynthError, match="empty"):
        Renderer(SynthConfig(alphabet=""))


def test_multi_character_entries_rejected():
    with pytest.raises(SynthError, match="single characters"):
        Alphabet(["a", "bc"])


def test_unknown_char_names_it():
    a = Alphabet("abc")
    with pytest.raises(SynthError) as e:
        a.encode("abzcy")
    assert "'zy'" in str(e.value)  # the missing characters, in order of first use
    assert "abzcy" in str(e.value)
    assert a.missing("abzcyz") == "zy"
    assert a.can_encode("cab") and not a.can_encode("cat")
    assert "z" not in a and "a" in a


def test_non_latin_alphabet_renders():
    dejavu = BUNDLED_DIR / "dejavu"
    cfg = SynthConfig(
        alphabet=GREEK_CYRILLIC + " ",
        text=TextConfig(sources={"random": 1.0}, min_len=2, max_len=8),
        fonts=FontConfig(dirs=[str(dejavu)], bundled=False),
        effects=EffectsConfig.off(),
    )
    r = Renderer(cfg)
    assert sorted(f.name for f in r.fonts.fonts) == ["DejaVuSansMono-Bold", "DejaVuSerif-Italic"]
    for f in r.fonts.fonts:
        assert f.lacks(GREEK_CYRILLIC) == ""
    seen = set()
    for i in range(30):
        img, spec = r.render(0, i)
        assert set(spec.text) <= set(cfg.alphabet)
        assert r.alphabet.decode(r.alphabet.encode(spec.text)) == spec.text
        assert img.shape == (32, 128) and img.min() < 100  # something was drawn
        seen |= set(spec.text)
    assert len(seen) > 40  # the whole non-Latin range is drawn from


def test_non_latin_text_without_fonts_fails_clearly():
    cfg = SynthConfig(alphabet="абв", text=TextConfig(sources={"random": 1.0}, max_len=4),
                      fonts=FontConfig(include=["Breip"]))
    with pytest.raises(SynthError, match="no font draws 'абв' of the alphabet"):
        Renderer(cfg)  # before any sample: a character never drawn would be a model output never learnt


def test_text_draws_use_the_alphabet():
    # random strings draw from the whole alphabet when random_chars is None
    from synth.text import TextSource

    src = TextSource(TextConfig(sources={"random": 1.0}, min_len=5, max_len=5), Alphabet("xyz"))
    rng = Draws({"text": 8})
    texts = {src.sample(rng.start(0, i).stream("text"))[0] for i in range(50)}
    assert set("".join(texts)) == set("xyz")

"""Multi-line layout: every line inside the image, the label in reading order with its breaks, each
character's box on its own line; and a model that reads two-line crops as one sequence."""

from __future__ import annotations

import numpy as np
import pytest

from synth import Renderer, SynthConfig
from synth.config import EffectsConfig, FontConfig, TextConfig
from synth.errors import SynthError


def two_lines(**text) -> SynthConfig:
    cfg = SynthConfig(alphabet="ABCDEFGH0123456789|", fonts=FontConfig(include=["LiberationSans-Regular"]),
                      text=TextConfig(sources={"random": 1.0}, min_len=2, max_len=5, lines=(2, 3), line_break="|",
                                      **text))
    cfg.render.height, cfg.render.width = 64, 128
    return cfg


def test_lines_stack_inside_the_image_in_reading_order():
    r = Renderer(two_lines())
    counts = set()
    for i in range(40):
        img, spec = r.render(7, i, boxes=True)
        parts = spec.text.split("|")
        counts.add(len(parts))
        assert 2 <= len(parts) <= 3 and all(2 <= len(p) <= 5 for p in parts)
        h, w = img.shape
        rows = []
        for k, part in enumerate(parts):
            start = sum(len(p) + 1 for p in parts[:k])
            boxes = spec.boxes[start : start + len(part)]
            assert all(b is not None and 0 <= b[0] < b[2] <= w and 0 <= b[1] < b[3] <= h for b in boxes), spec
            rows.append((min(b[1] for b in boxes), max(b[3] for b in boxes)))
            lefts = [b[0] for b in boxes]
            assert lefts == sorted(lefts), (spec.text, k)  # left to right within a line
        assert spec.boxes[len(parts[0])] is None  # the break draws nothing
        for (top_a, bottom_a), (top_b, _) in zip(rows, rows[1:], strict=False):
            assert top_b > top_a and top_b >= (top_a + bottom_a) / 2, (spec.text, rows)  # each line below the last
    assert counts == {2, 3}


def test_a_corpus_line_with_breaks_is_set_as_those_lines(tmp_path):
    corpus = tmp_path / "plates.txt"
    corpus.write_text("AB12|345\nCD9|87|65\n", encoding="utf-8")
    cfg = two_lines(corpus=str(corpus))
    cfg.text.sources, cfg.text.lines = {"corpus": 1.0}, (1, 3)
    r = Renderer(cfg)
    texts = {r.sample_spec(0, i).text for i in range(20)}
    assert texts == {"AB12|345", "CD9|87|65"}  # as written: a corpus line is never joined to another


def test_line_settings_are_checked():
    cfg = two_lines()
    cfg.alphabet = "ABC012"  # no break character
    with pytest.raises(SynthError, match=r"text.line_break '\|': give one visible character of the alphabet"):
        Renderer(cfg)
    cfg = two_lines()
    cfg.render.align = ["middle"]
    with pytest.raises(SynthError, match="render.align"):
        Renderer(cfg)


def test_a_single_line_config_draws_as_before():
    """The default config's specs and pixels do not see the multi-line layout (tests/golden.json pins them)."""
    spec = Renderer(SynthConfig(effects=EffectsConfig.off())).sample_spec(0, 0)
    assert "lines" not in spec.layout


def test_a_two_line_model_learns_a_tiny_task(tmp_path, tiny_config):
    from train.fit import fit
    from train.recognizer import load

    cfg = tiny_config(model="twoline", steps=400, eval_every=400, checkpoint_every=400, learning_rate=3e-3)
    data = cfg.data
    data.alphabet += "|"
    data.text.min_len, data.text.max_len, data.text.lines, data.text.line_break = 2, 2, (2, 2), "|"
    data.render.height, data.render.width = 64, 64
    result = fit(cfg, tmp_path / "m", progress=False)
    rec = load(tmp_path / "m")
    r = Renderer(data)
    samples = [r.render(123, i) for i in range(100)]
    read = [p.text for p in rec.predict([im for im, _ in samples])]
    right = np.mean([a == s.text for a, (_, s) in zip(read, samples, strict=True)])
    assert right >= 0.8, (right, result.best, read[:5], [s.text for _, s in samples[:5]])

"""The config's own checks, gathered in one error, and the font library shared by everything in a process."""

import pytest

from synth import FontConfig, SynthConfig, SynthError
from synth.fonts import library


def test_validate_gathers_every_problem_with_its_fix():
    cfg = SynthConfig()
    cfg.render.height, cfg.render.margin = 4, -0.5
    cfg.text.min_len = 0
    cfg.effects.p_blur = 1.5
    with pytest.raises(SynthError) as e:
        cfg.validate()
    msg = str(e.value)
    assert msg.startswith("the config has 4 problems")
    for part in ("render.height 4", "render.margin -0.5", "text length range 0-15", "effects.p_blur 1.5"):
        assert part in msg
    SynthConfig().validate()  # the defaults pass
    SynthConfig.preset("lines").validate()


def test_one_problem_is_one_line():
    cfg = SynthConfig()
    cfg.fonts.size = (0.8, 0.5)
    with pytest.raises(SynthError, match=r"^fonts.size range \(0.8, 0.5\) is invalid"):
        cfg.validate()


def test_the_font_library_is_built_once_per_process(monkeypatch, font_dir):
    import synth.fonts

    hashed = []
    real = synth.fonts._sha256
    monkeypatch.setattr(synth.fonts, "_sha256", lambda p: hashed.append(p) or real(p))
    cfg = FontConfig(bundled=False, dirs=[str(font_dir)])
    first = library(cfg, "abc")
    n = len(hashed)
    assert n == len(first.fonts) > 0
    assert library(FontConfig(bundled=False, dirs=[str(font_dir)]), "abc") is first and len(hashed) == n
    assert library(cfg, "abcd") is not first  # another alphabet: another library
    touched = sorted(font_dir.iterdir())[0]
    touched.write_bytes(touched.read_bytes())  # a file written again: its time changed, checked again
    assert library(cfg, "abc") is not first

"""The config: its checks gathered in one error, its 0.3 layout read into today's sections, effects forced to a
strength through their components, and the font library shared by everything in a process."""

import json

import pytest

from synth import FontConfig, Renderer, SynthConfig, SynthError
from synth.config import replace_path
from synth.fonts import library


def test_validate_gathers_every_problem_with_its_fix():
    cfg = SynthConfig()
    cfg.render.height, cfg.render.margin = 4, -0.5
    cfg.text.min_len = 0
    cfg.effects.blur.p = 1.5
    with pytest.raises(SynthError) as e:
        cfg.validate()
    msg = str(e.value)
    assert msg.startswith("the config has 4 problems")
    for part in ("render.height 4", "render.margin -0.5", "text length range 0-15", "effects.blur.p 1.5"):
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


#: a 0.3 config's effects, as its manifests and model dirs hold them (flat p_* fields)
EFFECTS_03 = {
    "p_rotate": 0.5, "rotate": 3.0, "p_upside_down": 0.0, "p_shear": 0.3, "shear": 0.25, "p_perspective": 0.2,
    "perspective": 0.06, "p_tight": 0.0, "p_blur": 0.35, "blur": [0.3, 1.1], "p_background": 0.7,
    "backgrounds": {"flat": 0.4, "gradient": 0.35, "texture": 0.25, "image": 0.0}, "background_dirs": [],
    "paper": [170, 255], "ink": [0, 90], "p_invert": 0.1, "p_gaussian_noise": 0.5, "gaussian_noise": [2.0, 12.0],
    "p_speckle": 0.15, "speckle": [0.02, 0.1], "p_salt_pepper": 0.05, "salt_pepper": [0.002, 0.02],
    "p_binarize": 0.0, "binarize": [0.8, 1.2], "p_stroke_weight": 0.0, "stroke_weight": [-0.5, 0.6],
    "p_jpeg": 0.25, "jpeg": [30, 90], "p_curly_quotes": 0.5,
}


def test_a_03_config_loads_into_the_sections(tmp_path):
    data = SynthConfig().to_dict()
    data["effects"] = dict(EFFECTS_03, p_blur=0.9, rotate=5.0, background_dirs=["x"])
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"version": "0.3.0", "config": data}), encoding="utf-8")
    cfg = SynthConfig.load(path)
    want = SynthConfig()
    want.effects.blur.p, want.effects.rotate.degrees, want.effects.paper.dirs = 0.9, 5.0, ["x"]
    assert cfg == want
    data["effects"] = {"p_blurr": 1.0}  # a key neither layout knows is still refused by name
    with pytest.raises(SynthError, match="p_blurr"):
        SynthConfig.from_dict(data)


def test_set_reads_03_names(tmp_path):
    cfg = SynthConfig()
    replace_path(cfg, "effects.p_rotate", 0.0)
    replace_path(cfg, "effects.rotate", 7.0)  # a number where the section now stands: 0.3's degrees
    replace_path(cfg, "effects.blur.sigma", [1, 2])
    assert (cfg.effects.rotate.p, cfg.effects.rotate.degrees, cfg.effects.blur.sigma) == (0.0, 7.0, (1.0, 2.0))


def test_an_effect_is_forced_to_a_strength_through_its_component():
    r = Renderer(SynthConfig())
    spec = r.sample_spec(0, 3)
    blurred = r.forced(spec, "blur", 2.0)
    assert blurred.effects["blur"] == {"sigma": 2.0} and spec.effects["blur"] != {"sigma": 2.0}
    assert r.forced(spec, "blur", 0.0).effects["blur"] is None
    noisy = r.forced(spec, "gaussian_noise", 20.0)
    assert noisy.effects["gaussian_noise"]["std"] == 20.0
    turned = [r.forced(spec, "rotate", level).geometry["angle"] for level in (2.0, 6.0)]
    assert [abs(a) for a in turned] == [2.0, 6.0] and turned[0] * turned[1] > 0  # one direction at every level
    assert r.forced(spec, "perspective", 0.0).geometry["perspective"] is None
    assert r.render_spec(blurred).shape == r.render_spec(spec).shape
    with pytest.raises(SynthError, match="no strength to sweep"):
        r.forced(spec, "invert", 1.0)


def test_a_03_spec_is_read_with_its_layout():
    from synth.spec import Spec

    r = Renderer(SynthConfig())
    spec = r.sample_spec(0, 2)
    old = spec.to_dict()
    layout = old.pop("layout")
    assert layout.pop("stretch") == 1.0  # 0.3 did not stretch
    old["geometry"] = {**layout, **old["geometry"]}  # 0.3 kept the layout inside the geometry
    back = Spec.from_dict(old)
    assert back == spec and (r.render_spec(back) == r.render_spec(spec)).all()

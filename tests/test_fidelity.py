"""`synth compare`: its measures read what they say, and a gap between a config and a set shows where it is."""

import json

import cv2
import numpy as np
from conftest import fails

from synth import SynthConfig
from synth.cli import main
from synth.dataset import write
from synth.fidelity import DIFFERS, FAR, MEASURES, compare, image_measures, ks_distance

FONTS = ["LiberationSans-Regular", "Inconsolata"]


def small(noise: bool) -> SynthConfig:
    cfg = SynthConfig()
    cfg.fonts.include = list(FONTS)
    cfg.text.max_len = 8
    g = cfg.effects.gaussian_noise
    g.p, g.std = (1.0, (25.0, 40.0)) if noise else (0.0, g.std)
    return cfg


def test_ks_distance():
    a = np.arange(100.0)
    assert ks_distance(a, a) == 0.0
    assert ks_distance(a, a + 1000) == 1.0
    assert abs(ks_distance(np.array([1.0, 2, 3]), np.array([2.0, 3, 4])) - 1 / 3) < 1e-9


def test_image_measures_read_ink_contrast_polarity_and_leave_the_padding_out():
    img = np.full((32, 64), 240, np.uint8)
    img[8:24, 8:40] = 20  # a quarter of the box is ink
    m = image_measures(img, 32, 128)  # padded to 128 for the model: the padding is not the image's
    assert abs(m["aspect"] - 2.0) < 1e-9
    assert abs(m["ink share"] - 0.25) < 0.02
    assert m["dark text"] == 1.0 and m["contrast"] == 220.0 and m["noise"] == 0.0
    inverse = image_measures(255 - img, 32, 128)
    assert inverse["dark text"] == 0.0 and abs(inverse["ink share"] - 0.25) < 0.02
    soft = image_measures(cv2.GaussianBlur(img, (0, 0), 2.0), 32, 128)
    assert soft["sharpness"] < m["sharpness"] / 2
    grain = np.clip(img + np.random.default_rng(0).normal(0, 20, img.shape), 0, 255).astype(np.uint8)
    assert image_measures(grain, 32, 128)["noise"] > 5
    assert np.isnan(m["letter width"])  # no label, no letters
    assert abs(image_measures(img, 32, 128, "ab")["letter width"] - 1.0) < 0.06  # ink 32 wide, 16 high, 2 letters
    narrow = img.copy()
    narrow[:, 24:40] = 240
    assert abs(image_measures(narrow, 32, 128, "a b")["letter width"] - 0.5) < 0.06  # spaces are not letters


def test_a_config_matches_its_own_renders_and_shows_a_gap_it_lacks(tmp_path):
    real = write(small(noise=True), tmp_path / "noisy", 200, seed=1, workers=0, progress=False)
    same = compare(small(noise=True), real, count=200)
    assert same.real_count == same.synthetic_count == 200
    assert {r.measure for r in same.rows} == set(MEASURES)
    assert max(r.distance for r in same.rows) < DIFFERS, same.report()
    clean = {r.measure: r for r in compare(small(noise=False), real, count=200).rows}
    assert clean["noise"].distance >= FAR and clean["noise"].verdict == "far apart"
    assert clean["noise"].real[1] > clean["noise"].synthetic[1]
    assert clean["length"].distance < DIFFERS  # what the config did not change stays close


def test_condensed_lettering_shows_as_narrower_letters(tmp_path):
    real = write(small(noise=False), tmp_path / "plain", 200, seed=1, workers=0, progress=False)
    condensed = small(noise=False)
    condensed.effects.stretch.p, condensed.effects.stretch.factor = 1.0, (0.5, 0.55)
    rows = {r.measure: r for r in compare(condensed, real, count=200).rows}
    assert rows["letter width"].distance >= FAR, rows["letter width"]
    assert rows["letter width"].synthetic[1] < 0.7 * rows["letter width"].real[1]
    assert rows["length"].distance < DIFFERS


def test_cli_reports_missing_characters_and_json(tmp_path, capsys):
    real = tmp_path / "real"
    (real / "img").mkdir(parents=True)
    for i in range(3):
        img = np.full((30, 90), 230, np.uint8)
        cv2.putText(img, "ab", (5, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 10, 2)
        cv2.imwrite(str(real / "img" / f"{i}.png"), img)
    (real / "labels.tsv").write_text("".join(f"img/{i}.png\t{t}\n" for i, t in enumerate(["naïve", "cafe", "42"])),
                                     encoding="utf-8")
    flags = ["--set", f"fonts.include={json.dumps(FONTS)}", "--max-len", "8"]
    assert main(["compare", "--real", str(real), *flags]) == 0
    out = capsys.readouterr().out
    assert "3 real images against 3 samples" in out and "'ï' (1)" in out
    assert main(["compare", "--real", str(real), "--json", *flags]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["missing"] == {"ï": 1} and len(result["rows"]) == len(MEASURES)


def test_cli_bad_input(tmp_path, capsys):
    assert "not found" in fails(["compare", "--real", str(tmp_path / "none")], capsys)
    (tmp_path / "empty").mkdir()
    assert "labels.tsv" in fails(["compare", "--real", str(tmp_path / "empty")], capsys)
    assert "--count 0" in fails(["compare", "--real", str(tmp_path / "empty"), "--count", "0"], capsys)

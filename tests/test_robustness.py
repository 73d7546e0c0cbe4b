import dataclasses
import json
import shutil

import cv2
import numpy as np
import pytest

from synth.config import EffectsConfig, FontConfig
from synth.fonts import BUNDLED_DIR, FontLibrary
from synth.renderer import Renderer
from train import robustness, tesseract
from train.config import FitConfig
from train.evaluate import Evaluation, compare_tesseract
from train.report import eval_text, robustness_markdown, write_robustness
from train.runtime import Prediction

HELD_OUT = ["DejaVuSerif-Italic", "LiberationMono-Regular"]
#: the bundled fonts and the two of the `user_fonts` fixture, as a robustness run sees them
N_FONTS = len(FontLibrary(FontConfig(), FitConfig().data.alphabet).fonts) + 2


class Oracle:
    """A stand-in recognizer: reads an image perfectly when its font is in `good`, else drops the last
    character. It knows the font and text from the spec that rendered the image (see `made`)."""

    def __init__(self, config: FitConfig, meta: dict, good: set[str], made: dict[int, object]):
        self.config, self.meta, self.good, self.made = config, meta, good, made
        self.alphabet = None
        self.height, self.width = config.data.render.height, config.data.render.width
        self.read: list[object] = []
        self.views: set[int] = set()

    def predict(self, images, batch_size: int = 64, views: int = 1, **_) -> list[Prediction]:
        self.views.add(views)
        specs = [self.made[id(im)] for im in images]
        self.read += specs
        return [Prediction(s.text if s.font in self.good else s.text[:-1], 1.0) for s in specs]


@pytest.fixture
def made(monkeypatch):
    """Spec of every image rendered, by the image's id (the images stay alive until they are read)."""
    seen: dict[int, object] = {}
    original = Renderer.render_spec

    def render_spec(self, spec):
        img = original(self, spec)
        seen[id(img)] = spec
        return img

    monkeypatch.setattr(Renderer, "render_spec", render_spec)
    return seen


def _meta(exclude: list[str]) -> dict:
    cfg = FitConfig().data
    lib = FontLibrary(FontConfig(exclude=exclude), cfg.alphabet)
    return {"model": "default", "train_fonts": lib.manifest(), "holdout_fonts": exclude}


@pytest.fixture
def user_fonts(tmp_path):
    """A user's folder: a renamed copy of a training font (seen), and a link under another name to a held-out
    one (unseen), as a pinned set made of links into a system's font folder has."""
    d = tmp_path / "myfonts"
    d.mkdir()
    shutil.copy(BUNDLED_DIR / "liberation" / "LiberationSans-Regular.ttf", d / "MySans.ttf")
    (d / "MySerif.ttf").symlink_to(BUNDLED_DIR / "dejavu" / "DejaVuSerif-Italic.ttf")
    return d


def test_spec_override_keeps_text_and_geometry_across_fonts():
    data = robustness.data_config(Oracle(FitConfig(), {}, set(), {}))
    r = Renderer(data)
    spec = r.sample_spec(robustness.SEED, 3)
    images = []
    for name in ("Inconsolata", "EBGaramond12-Regular", "KaushanScript-Regular"):
        other = dataclasses.replace(spec, font=name)
        assert {k: v for k, v in other.to_dict().items() if k != "font"} == \
            {k: v for k, v in spec.to_dict().items() if k != "font"}
        images.append(r.render_spec(other))
    assert len({im.shape for im in images}) == 1
    assert not np.array_equal(images[0], images[1]) and not np.array_equal(images[1], images[2])
    swept = robustness.with_effect(r, spec, "rotation", 6.0)
    assert abs(swept.geometry["angle"]) == 6.0 and swept.text == spec.text and spec.geometry["angle"] != 6.0


def test_data_config_covers_every_font_with_the_models_settings(user_fonts):
    cfg = FitConfig()
    cfg.data.fonts.exclude = list(HELD_OUT)
    cfg.data.fonts.include = ["Inconsolata"]
    cfg.data.render.height = 40
    data = robustness.data_config(Oracle(cfg, {}, set(), {}), [str(user_fonts)])
    assert data.render.height == 40 and data.effects == cfg.data.effects
    names = {f.name for f in FontLibrary(data.fonts, data.alphabet).fonts}
    assert set(HELD_OUT) | {"Inconsolata", "MySans", "MySerif"} <= names and len(names) == N_FONTS


def test_seen_and_unseen_marking(user_fonts):
    lib = FontLibrary(FontConfig(dirs=[str(user_fonts)]), FitConfig().data.alphabet)
    seen = robustness.seen_fonts(_meta(HELD_OUT), lib.fonts)
    assert [n for n, s in seen.items() if not s] == HELD_OUT + ["MySerif"]  # by hash: a renamed copy is the font
    by_name = robustness.seen_fonts({"train_fonts": ["Inconsolata"]}, lib.fonts)
    assert [n for n, s in by_name.items() if s] == ["Inconsolata"]
    assert not any(robustness.seen_fonts({}, lib.fonts).values())


def test_run_and_report_files(tmp_path, made, user_fonts):
    cfg = FitConfig()
    cfg.data.fonts.exclude = list(HELD_OUT)  # as `train fit --holdout-fonts` records it
    meta = _meta(HELD_OUT)
    train_names = {f["name"] for f in meta["train_fonts"]}
    rec = Oracle(cfg, meta, train_names | {"MySans"}, made)
    result = robustness.run(rec, [str(user_fonts)], count=4, sweep_count=3)
    report = result.to_dict()

    # every font read the same texts in the same specs, font aside: clean first, then default (N_FONTS x 4)
    for part in (rec.read[: 4 * N_FONTS], rec.read[4 * N_FONTS : 8 * N_FONTS]):
        variants: dict[int, set[str]] = {}
        for s in part:
            d = s.to_dict()
            d.pop("font")
            variants.setdefault(s.index, set()).add(json.dumps(d, sort_keys=True))
        assert len(variants) == 4 and all(len(v) == 1 for v in variants.values())
        assert len({s.font for s in part}) == N_FONTS

    fonts = {f["name"]: f for f in report["fonts"]}
    assert len(fonts) == N_FONTS and [n for n, f in fonts.items() if not f["seen"]] == HELD_OUT + ["MySerif"]
    assert fonts["MySans"]["clean"]["word_accuracy"] == 1.0 and fonts["MySerif"]["default"]["word_accuracy"] == 0.0
    assert not fonts["MySans"]["bundled"] and fonts["Inconsolata"]["bundled"]
    agg = report["aggregate"]
    assert (agg["seen"]["fonts"], agg["unseen"]["fonts"]) == (N_FONTS - 3, 3)
    assert agg["seen"]["clean"]["n"] == (N_FONTS - 3) * 4 and agg["seen"]["clean"]["word_accuracy"] == 1.0
    assert agg["unseen"]["default"]["word_accuracy"] == 0.0 and report["gap"]["clean"]["word_accuracy"] == 1.0
    mine = report["folders"][str(user_fonts)]  # the folder passed, pooled on its own: MySans and MySerif
    assert mine["fonts"] == 2 and mine["clean"]["n"] == 8 and mine["clean"]["word_accuracy"] == 0.5
    assert set(report["sweeps"]) == {"rotation", "noise", "blur", "perspective"}
    assert report["sweeps"]["rotation"]["training_max"] == cfg.data.effects.rotate.degrees
    assert all(r["word_accuracy"] == 1.0 and r["n"] == 3 for s in report["sweeps"].values() for r in s["levels"])
    assert report["worst"] and all(w["font"] in HELD_OUT + ["MySerif"] for w in report["worst"])
    assert fonts["MySerif"]["worst"][0]["prediction"] == fonts["MySerif"]["worst"][0]["truth"][:-1]

    out = write_robustness(result, tmp_path / "rep")
    saved = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(report))
    md = (out / "report.md").read_text(encoding="utf-8")
    assert f"| seen | {N_FONTS - 3} | 100.0 | 0.0 | 100.0 | 0.0 |" in md and "| unseen | 3 | 0.0 |" in md
    assert "| MySerif | **no** | 0.0 |" in md and "clean +100.0 points" in md
    assert f"| {user_fonts} | 2 | 50.0 |" in md
    for png in ("fonts.png", "effects.png", "worst.png"):
        assert cv2.imread(str(out / png)) is not None


def test_texts_are_chosen_that_every_font_draws(made, font_dir):
    rec = Oracle(FitConfig(), {}, set(), made)
    report = robustness.run(rec, [str(font_dir)], count=6, sweeps=False).to_dict()
    fonts = {f["name"]: f for f in report["fonts"]}
    assert report["texts_every_font_draws"] == 6 and fonts["NoQDigits"]["skipped"] == 0
    assert fonts["NoQDigits"]["clean"]["n"] == 6 and fonts["Inconsolata"]["default"]["n"] == 6
    assert not any(c in "Q0123456789" for s in rec.read for c in s.text)


def test_a_face_of_capitals_does_not_hold_every_text_to_capitals(made, tmp_path):
    """A block-letter hand draws no lowercase: the texts keep their mixed case, and it reads the ones in
    capitals only (the others are counted as skipped)."""
    from synth.fonts import SCRIPTS_DIR

    shutil.copy(SCRIPTS_DIR / "hands" / "BecauseWeBuild-Regular.otf", tmp_path)
    rec = Oracle(FitConfig(), {}, set(), made)
    report = robustness.run(rec, [str(tmp_path)], count=40, sweeps=False, sources={"words": 1.0}).to_dict()
    hand = next(f for f in report["fonts"] if f["name"] == "BecauseWeBuild-Regular")
    texts = [s.text for s in rec.read if s.font != hand["name"]]
    assert report["texts_every_font_draws"] == 40 and any(not t.isupper() for t in texts)
    assert 0 < hand["skipped"] < 40 and hand["clean"]["n"] == 40 - hand["skipped"]
    assert all(s.text.isupper() for s in rec.read if s.font == hand["name"])


def test_texts_from_other_sources_than_the_models(made):
    """--text words=1: every font reads lexicon words, whatever mix the model trained on."""
    from synth.errors import SynthError

    rec = Oracle(FitConfig(), {}, set(), made)
    robustness.run(rec, count=5, sweeps=False, sources={"words": 1.0})
    assert rec.read and all(s.source == "words" and s.text.isalpha() for s in rec.read)
    with pytest.raises(SynthError, match="unknown text source"):
        robustness.run(rec, count=5, sweeps=False, sources={"poems": 1.0})


def test_every_image_is_read_in_the_views_asked_for(made):
    from synth.errors import SynthError

    rec = Oracle(FitConfig(), {}, set(), made)
    result = robustness.run(rec, count=3, sweeps=False, views=3)
    assert rec.views == {3} and result.views == 3
    assert "each image read in 3 views" in robustness_markdown(result)
    with pytest.raises(SynthError, match="--views 0: give 1 to 4"):
        robustness.run(rec, count=3, sweeps=False, views=0)


def test_fonts_that_cannot_draw_the_texts_are_skipped_and_counted(made):
    cfg = FitConfig()
    cfg.data.alphabet += "→"
    cfg.data.text.sources, cfg.data.text.random_chars = {"random": 1.0}, "→"
    cfg.data.effects = EffectsConfig.off()
    rec = Oracle(cfg, {}, set(), made)
    result = robustness.run(rec, count=2, sweeps=False)
    report = result.to_dict()
    fonts = {f["name"]: f for f in report["fonts"]}
    assert report["texts_every_font_draws"] == 0 and report["count"] == 2
    assert fonts["Breip"]["skipped"] == 2 and fonts["Breip"]["clean"] is None
    assert fonts["Caladea-Bold"]["skipped"] == 0 and fonts["Caladea-Bold"]["clean"]["n"] == 2
    assert report["sweeps"] == {} and "| Breip | **no** | - | - | - | - | 2 |" in robustness_markdown(result)


def _words() -> tuple[list[np.ndarray], list[str]]:
    cfg = FitConfig().data
    cfg.effects, cfg.render.height, cfg.render.width = EffectsConfig.off(), 64, None
    r = Renderer(cfg)
    refs = ["hello", "WORLD", "2024"]
    spec = r.sample_spec(0, 0)
    spec.geometry.update(x=0.5, y=0.5, margins=[0.1] * 4)  # a word crop: centred, a little room around it
    images = [r.render_spec(dataclasses.replace(spec, text=t, font="LiberationSans-Regular")) for t in refs]
    return images, refs


def test_tesseract_missing_degrades(monkeypatch, tmp_path):
    images, refs = _words()
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract on this PATH
    assert tesseract.find() is None
    out = compare_tesseract(images, refs)
    assert out == {"available": False, "reason": "tesseract not found (install tesseract-ocr)"}
    assert not compare_tesseract(images, refs, binary=str(tmp_path / "nope"))["available"]
    scores = {"n": 3, "cer": 0.1, "wer": 0.2, "word_accuracy": 0.5, "ned": 0.1, "word_accuracy_ci_alnum": 0.6}
    result = Evaluation(scores, images_per_second=100.0, by_height={}, by_length={}, tesseract=out)
    text = eval_text(result)
    assert "tesseract" in text.splitlines()[1] and text.count("not found") >= 6
    assert "tesseract" not in eval_text(dataclasses.replace(result, tesseract=None))


def test_tesseract_psm_choice():
    assert tesseract.psm_for(["one", "two"]) == 8 and tesseract.psm_for(["one", "two words"]) == 7


@pytest.mark.skipif(tesseract.find() is None, reason="tesseract-ocr is not installed")
def test_tesseract_reads_a_list_in_order():
    images, refs = _words()
    hyps = tesseract.read(images + [images[0]], psm=8)
    assert hyps == refs + ["hello"]
    out = compare_tesseract(images, refs)
    assert out["available"] and out["psm"] == 8 and out["word_accuracy"] == 1.0 and "by_length" in out
    assert "by_font" not in out  # real crops: no fonts to group by
    by_font = compare_tesseract(images, refs, fonts=["A", "B", "A"])["by_font"]
    assert by_font["A"]["n"] == 2 and by_font["B"]["n"] == 1 and by_font["A"]["word_accuracy"] == 1.0


def test_eval_text_shows_each_font_beside_tesseract():
    """A rendered set's report reads per font, ours beside Tesseract's: how the font benchmark is read."""
    def sc(n: int, acc: float) -> dict:
        return {"n": n, "cer": 1 - acc, "word_accuracy": acc, "word_accuracy_ci_alnum": min(1.0, acc + 0.125)}

    scores = {"n": 3, "cer": 0.1, "wer": 0.2, "word_accuracy": 0.5, "ned": 0.1, "word_accuracy_ci_alnum": 0.6}
    tess = {"available": True, "psm": 8, **scores, "images_per_second": 9.0, "by_height": {}, "by_length": {},
            "by_font": {"GreatVibes-Regular": sc(2, 0.25), "Inter-Regular": sc(1, 1.0)}}
    result = Evaluation(scores, images_per_second=100.0, by_height={}, by_length={}, tesseract=tess,
                        by_font={"GreatVibes-Regular": sc(2, 0.5), "Inter-Regular": sc(1, 0.75)})
    lines = eval_text(result).splitlines()
    head = lines.index("by font:  group  n  cer  word_accuracy  ci_alnum  tesseract cer  word_accuracy  ci_alnum")
    assert lines[head + 1].split() == ["GreatVibes-Regular", "2", "0.5000", "0.5000", "0.6250",
                                       "0.7500", "0.2500", "0.3750"]
    assert lines[head + 2].split() == ["Inter-Regular", "1", "0.2500", "0.7500", "0.8750", "0.0000", "1.0000", "1.0000"]
    assert "by font" not in eval_text(dataclasses.replace(result, by_font=None))
    errors = eval_text(dataclasses.replace(result, confusions=[{"truth": "o", "read": "0", "count": 7, "alone": 5},
                                                              {"truth": "e", "read": "", "count": 3, "alone": 0}]))
    rows = errors.splitlines()
    at = next(i for i, line in enumerate(rows) if line.startswith("most frequent errors"))
    assert rows[at + 1].split() == ["truth", "read", "count", "alone"]
    assert rows[at + 2].split() == ["'o'", "'0'", "7", "5"] and rows[at + 3].split() == ["'e'", "''", "3", "0"]
    assert "most frequent errors" not in eval_text(result)

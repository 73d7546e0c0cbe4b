"""A trained model dir as a Recognizer: the round trip through disk, images of any kind, decoders, evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from synth.alphabet import Alphabet
from synth.dataset import write
from synth.errors import SynthError
from synth.renderer import Renderer
from train import runtime
from train.config import FitConfig
from train.evaluate import evaluate
from train.models import build_model
from train.recognizer import Recognizer, load
from train.runtime import Prediction


def rendered(tiny_model, n: int, seed: int = 777) -> tuple[list[np.ndarray], list[str]]:
    renderer = Renderer(tiny_model.config.data)
    samples = [renderer.render(seed, i) for i in range(n)]
    return [img for img, _ in samples], [spec.text for _, spec in samples]


def odd_arrays(grey: np.ndarray) -> list[np.ndarray]:
    """The same kinds of input a user may hand over: colour, alpha, other sizes, tiny, blank."""
    rgb = np.stack([grey, grey, grey], axis=-1)
    tinted = rgb.copy()
    tinted[..., 2] = np.maximum(tinted[..., 2], 60)
    rgba = np.concatenate([rgb, np.full(grey.shape + (1,), 255, np.uint8)], axis=-1)
    return [
        rgb, tinted, rgba,
        np.repeat(np.repeat(grey, 3, axis=0), 3, axis=1),  # 3x larger
        grey[:, :20],  # narrow
        np.tile(grey, (1, 8)),  # very wide: squeezed to the model's width
        np.full((200, 30), 128, np.uint8),  # tall
        np.zeros((1, 1), np.uint8),  # one pixel
        np.full((3, 500), 255, np.uint8),  # a thin strip
    ]  # fmt: skip


def test_model_dir_holds_everything_to_use_it(tiny_model):
    d = tiny_model.dir
    for name in ("model.keras", "alphabet.json", "config.json", "meta.json"):
        assert (d / name).is_file(), name
    meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
    assert (meta["height"], meta["width"]) == (32, 64)
    assert meta["model"] == "default" and meta["output_steps"] == 16
    assert [f["name"] for f in meta["train_fonts"]] == ["LiberationSans-Regular"]
    assert Alphabet.load(d / "alphabet.json").chars == "0123456789"
    assert FitConfig.load(d / "config.json").to_dict() == tiny_model.config.to_dict()


def test_round_trip_predicts_as_the_model_in_memory(tiny_model):
    """The model saved at the last evaluation is the final checkpoint's weights: both must read alike."""
    d = tiny_model.dir
    rec = load(d)
    assert (rec.height, rec.width) == (32, 64) and rec.alphabet.chars == "0123456789"
    assert isinstance(rec.config, FitConfig)

    alphabet = Alphabet.load(d / "alphabet.json")
    model = build_model("default", alphabet.size, 32, 64)
    latest = (d / "checkpoints" / "latest").read_text(encoding="utf-8").strip()
    assert latest == f"step-{tiny_model.result.step:08d}"
    model.load_weights(d / "checkpoints" / latest / "model.weights.h5")
    memory = Recognizer(model, alphabet, 32, 64)

    images, _ = rendered(tiny_model, 48)
    images += odd_arrays(images[0])
    a, b = memory.predict(images), rec.predict(images)
    assert [p.text for p in a] == [p.text for p in b]
    np.testing.assert_allclose([p.confidence for p in a], [p.confidence for p in b], atol=1e-5, rtol=0)
    x, widths = rec.prepare(images)
    np.testing.assert_allclose(memory.logits(x, widths)[0], rec.logits(x, widths)[0], atol=1e-4, rtol=1e-4)


def test_predict_any_image_in_batches_or_alone(tiny_model):
    rec = load(tiny_model.dir)
    images, texts = rendered(tiny_model, 8)
    odd = odd_arrays(images[0])
    together = rec.predict(images + odd)
    assert len(together) == len(images) + len(odd)
    assert all(isinstance(p, Prediction) and set(p.text) <= set("0123456789") for p in together)
    assert all(0.0 <= p.confidence <= 1.0 for p in together)
    # one image at a time, or in batches of 3, reads the same
    for size in (1, 3):
        apart = rec.predict(images + odd, batch_size=size)
        assert [p.text for p in apart] == [p.text for p in together]
        np.testing.assert_allclose([p.confidence for p in apart], [p.confidence for p in together], atol=1e-5)
    # a grey image as RGB, RGBA or 3x larger is the same text
    assert together[0].text == texts[0]
    assert {p.text for p in together[len(images) : len(images) + 4]} == {texts[0]}


def test_a_line_set_vertically_is_read_turned(tiny_model, monkeypatch):
    monkeypatch.setattr(runtime, "TALL", 2.0)  # the tiny model's images are 2x as wide as tall
    rec = load(tiny_model.dir)
    images, texts = rendered(tiny_model, 8)
    upright = [p.text for p in rec.predict(images)]
    for k in (1, -1):  # turned either way; the way back is chosen by confidence, which a digit upside down
        turned = [np.rot90(im, k) for im in images]  # (0, 1, 6, 8, 9) can fool
        read = [p.text for p in rec.predict(turned)]
        assert sum(r == u for r, u in zip(read, upright, strict=True)) >= 6, (read, upright)
        unturned = [p.text for p in rec.predict(turned, turn_tall=False)]
        assert sum(r == u for r, u in zip(unturned, upright, strict=True)) <= 1, unturned
    assert sum(u == t for u, t in zip(upright, texts, strict=True)) >= 6


def test_views_keep_the_most_confident_reading(tiny_model):
    """`views=N` reads each image in the first N views and keeps, per image, the most confident of those
    readings; light text on dark, which the tiny model never saw, is read through the inverted view."""
    rec = load(tiny_model.dir)
    images, texts = rendered(tiny_model, 8)
    assert [p.text for p in rec.predict(images, views=1)] == [p.text for p in rec.predict(images)]
    dark = [255 - im for im in images]
    for batch in (images, dark):
        single = [rec.predict([runtime.view(im, name) for im in batch]) for name in runtime.VIEWS]
        for n in (2, 4):
            best = [max(reads[:n], key=lambda p: p.confidence) for reads in zip(*single, strict=True)]
            assert [p.text for p in rec.predict(batch, views=n)] == [p.text for p in best]
    plain = sum(p.text == t for p, t in zip(rec.predict(dark), texts, strict=True))
    assert sum(p.text == t for p, t in zip(rec.predict(dark, views=4), texts, strict=True)) >= max(6, plain + 2)
    for n in (0, len(runtime.VIEWS) + 1):
        with pytest.raises(SynthError, match=f"--views {n}: give 1 to 4"):
            rec.predict(images[:1], views=n)


def test_each_view_of_an_image():
    grey = np.full((20, 60), 200, np.uint8)
    grey[5:15, 10:50] = 30  # dark ink on light paper
    rgb = np.stack([grey] * 3, axis=-1)
    assert np.array_equal(runtime.view(rgb, "as is"), grey)
    wider = runtime.view(rgb, "wider")
    assert wider.shape == (20, 78)
    assert (wider[6:14, 15:63] == 30).all() and (wider[:, :10] == 200).all()  # the same ink, 1.3 times as wide
    framed = runtime.view(rgb, "margin")
    assert framed.shape == (24, 64)  # a tenth of the height on every side, in the paper's grey
    assert np.array_equal(framed[2:-2, 2:-2], grey) and (framed[:2] == 200).all() and (framed[:, -2:] == 200).all()
    assert np.array_equal(runtime.view(grey, "inverted"), 255 - grey)


def test_beam_and_lexicon_decoding(tiny_model):
    rec = load(tiny_model.dir)
    images, texts = rendered(tiny_model, 16)
    greedy = rec.predict(images)
    beam = rec.predict(images, method="beam")
    assert sum(p.text == t for p, t in zip(beam, texts, strict=True)) >= 14
    assert all(0.0 < p.confidence <= 1.0 for p in beam)
    assert sum(g.text == b.text for g, b in zip(greedy, beam, strict=True)) >= 14
    lexicon = sorted(set(texts)) + ["0000", "9999"]
    words = rec.predict(images, lexicon=lexicon)
    assert all(p.text in lexicon for p in words)
    assert sum(p.text == t for p, t in zip(words, texts, strict=True)) >= 15
    with pytest.raises(SynthError, match="unknown decoding"):
        rec.predict(images[:1], method="viterbi")


def test_evaluate_a_rendered_dataset(tiny_model, tmp_path):
    data = write(tiny_model.config.data, tmp_path / "set", 64, seed=31, workers=0, progress=False)
    rec = load(tiny_model.dir)
    result = evaluate(rec, data).to_dict()
    assert result["n"] == 64
    assert result["word_accuracy"] >= 0.85 and result["cer"] < 0.05, result
    assert set(result["by_font"]) == {"LiberationSans-Regular"}
    assert set(result["by_length"]) == {"3-5"} and result["by_length"]["3-5"]["n"] == 64
    assert result["images_per_second"] > 0
    assert len(result["worst"]) <= 24 and all(0 <= w["index"] < 64 for w in result["worst"])


def test_load_refuses_a_dir_without_a_model(tmp_path):
    with pytest.raises(SynthError, match="holds no model.keras"):
        load(tmp_path)
    (tmp_path / "model.keras").write_bytes(b"not a model")
    (tmp_path / "meta.json").write_text(json.dumps({"height": 32, "width": 64}))
    Alphabet("0123456789").save(tmp_path / "alphabet.json")
    with pytest.raises(SynthError, match="incomplete or corrupt"):
        load(tmp_path)

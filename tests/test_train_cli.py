"""`train` on the command line: predict and eval on images of any kind, the worst-read picture, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from synth.renderer import Renderer

REPO = Path(__file__).resolve().parent.parent
#: generous: each command imports TensorFlow (3-10 s) on a shared, loaded machine
TIMEOUT = 300
EVAL_KEYS = {"n", "cer", "wer", "word_accuracy", "ned", "word_accuracy_ci_alnum", "images_per_second", "confusions"}


def train_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "train", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT)


@pytest.fixture(scope="module")
def odd_images(tiny_model, tmp_path_factory) -> tuple[Path, list[Path], list[str]]:
    """A folder of real-looking files with a labels.tsv: three rendered samples stored as colour, 16-bit and
    RGBA PNGs and a JPEG, plus tall, wide, tiny, grey+alpha and 16-bit colour oddities (labelled anything)."""
    d = tmp_path_factory.mktemp("odd")
    renderer = Renderer(tiny_model.config.data)
    samples = [renderer.render(99, i) for i in range(3)]
    (g0, s0), (g1, s1), (g2, s2) = samples
    rows: list[tuple[str, np.ndarray, str]] = [
        ("grey.png", g0, s0.text),
        ("colour.png", cv2.cvtColor(g0, cv2.COLOR_GRAY2BGR), s0.text),
        ("sixteen.png", g0.astype(np.uint16) * 257, s0.text),
        ("rgba.png", cv2.cvtColor(g1, cv2.COLOR_GRAY2BGRA), s1.text),
        ("tinted_large.png", _tint(cv2.resize(g2, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)), s2.text),
        ("photo.jpg", cv2.cvtColor(g2, cv2.COLOR_GRAY2BGR), s2.text),
        ("tall.png", np.full((300, 40, 3), (40, 200, 90), np.uint8), "1234"),
        ("wide.png", np.tile(g1, (1, 12)), s1.text * 12),
        ("tiny.png", np.zeros((2, 3), np.uint8), "7"),
        ("pixel.png", np.full((1, 1), 255, np.uint8), ""),
        ("grey_alpha16.png", np.dstack([np.full((20, 90, 3), 50000, np.uint16),
                                        np.full((20, 90), 65535, np.uint16)]), "0"),
    ]
    paths = []
    for name, img, _ in rows:
        assert cv2.imwrite(str(d / name), img), name
        paths.append(d / name)
    assert cv2.imread(str(d / "sixteen.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    (d / "labels.tsv").write_text("".join(f"{name}\t{text}\n" for name, _, text in rows), encoding="utf-8")
    return d, paths, [text for _, _, text in rows]


def _tint(grey: np.ndarray) -> np.ndarray:
    """Dark blue ink on yellow paper."""
    ink = 1.0 - grey.astype(np.float32)[..., None] / 255.0
    paper, blue = np.array([40, 230, 250], np.float32), np.array([120, 30, 10], np.float32)
    return (paper * (1 - ink) + blue * ink).astype(np.uint8)


def test_predict_prints_one_line_per_image(tiny_model, odd_images):
    _, paths, texts = odd_images
    done = train_cli("predict", "--model", str(tiny_model.dir), *map(str, paths))
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len(lines) == len(paths), done.stdout
    read = {}
    for path, line in zip(paths, lines, strict=True):
        name, text, confidence = line.split("\t")
        assert name == str(path)
        assert set(text) <= set("0123456789")
        assert 0.0 <= float(confidence) <= 1.0
        read[path.name] = text
    # the same pixels as grey, colour and 16-bit PNG read the same: the model reads this one right
    assert read["grey.png"] == read["colour.png"] == read["sixteen.png"] == texts[0]
    assert read["rgba.png"] == texts[3]


def test_predict_with_beam_and_lexicon(tiny_model, odd_images, tmp_path):
    _, paths, texts = odd_images
    lexicon = tmp_path / "words.txt"
    lexicon.write_text("\n".join([texts[0], texts[3], "5555"]) + "\n", encoding="utf-8")
    done = train_cli("predict", "--model", str(tiny_model.dir), "--beam", "--lexicon", str(lexicon),
                     *map(str, paths[:4]))
    assert done.returncode == 0, done.stderr[-3000:]
    assert [line.split("\t")[1] for line in done.stdout.splitlines()] == [texts[0]] * 3 + [texts[3]]


def test_eval_json_is_one_object_with_the_metrics(tiny_model, odd_images):
    data, paths, _ = odd_images
    done = train_cli("eval", "--model", str(tiny_model.dir), "--data", str(data), "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)  # the whole of stdout is one JSON object
    assert set(result) == EVAL_KEYS
    assert result["n"] == len(paths)
    for k in ("word_accuracy", "ned", "word_accuracy_ci_alnum"):
        assert 0.0 <= result[k] <= 1.0, (k, result)
    for k in ("cer", "wer"):  # error rates may pass 1 when the model inserts characters
        assert result[k] >= 0.0, (k, result)
    assert 0 < result["word_accuracy"] < 1  # the rendered ones are read, the oddities are not
    assert result["images_per_second"] > 0
    assert result["confusions"] and all(c["count"] >= max(1, c["alone"]) for c in result["confusions"])
    assert all(c["truth"] != c["read"] for c in result["confusions"])


def test_eval_worst_writes_a_png(tiny_model, odd_images, tmp_path):
    data, _, _ = odd_images
    out = tmp_path / "worst.png"
    done = train_cli("eval", "--model", str(tiny_model.dir), "--data", str(data), "--worst", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] > 48 and img.shape[1] > 48
    assert "worst:" in done.stdout and "word_accuracy" in done.stdout


def test_fit_refuses_an_impossible_length_in_one_line(tmp_path):
    out = tmp_path / "run"
    done = train_cli("fit", "--out", str(out), "--width", "96", "--max-len", "15", "--steps", "5", "--quiet",
                     "--alphabet", "0123456789", "--text", "random=1", "--no-effects",
                     "--set", 'fonts.include=["LiberationSans-Regular"]', "--workers", "0")
    assert done.returncode == 2, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert "24 output steps" in errors[0] and "15-character" in errors[0] and "29" in errors[0]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert not (out / "config.json").exists()


def test_fit_config_from_a_preset_keeps_the_models_height(tmp_path):
    from train.cli import _fit_config, parser

    def config(*argv: str):
        return _fit_config(parser().parse_args(["fit", "--out", str(tmp_path / "run"), *argv]))

    cfg = config("--preset", "lines", "--model", "image_ocr")
    assert cfg.data.text.sources == {"prose": 1.0} and cfg.data.render.width is None
    assert cfg.data.render.height == 64  # image_ocr's native height, as without a preset
    assert cfg.train.model == "image_ocr"  # a --model given wins over the preset's
    assert config("--preset", "lines").train.model == "bigru"  # whole lines: the BiGRU's reach along the line
    assert config("--preset", "scene").train.model == config().train.model == "default"
    from synth import SynthError

    with pytest.raises(SynthError, match="--config and --preset"):
        config("--preset", "lines", "--config", str(tmp_path / "fit.json"))

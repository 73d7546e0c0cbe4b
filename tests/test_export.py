"""train export: each format's logits match the Keras model's and read the same texts; variable width where the
model allows; the runtime reads exports without TensorFlow; bad input is refused with nothing overwritten."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from synth.errors import SynthError
from synth.renderer import Renderer
from train.export import export, steps_rule
from train.models import MODELS, model_spec
from train.recognizer import load
from train.runtime import Recognizer

REPO = Path(__file__).resolve().parent.parent
#: (format, quantize) -> the largest logit difference allowed from the Keras model (None: reported only)
TOLERANCE = {("onnx", None): 1e-4, ("litert", None): 1e-4, ("saved_model", None): 1e-5, ("litert", "float16"): 0.05,
             ("litert", "int8"): None, ("onnx", "int8"): None}


@pytest.fixture(scope="module")
def exports(tiny_model, tmp_path_factory) -> dict[tuple[str, str | None], Path]:
    root = tmp_path_factory.mktemp("exports")
    return {(fmt, q): export(tiny_model.dir, fmt, root / f"{fmt}-{q}", q) for fmt, q in TOLERANCE}


@pytest.fixture(scope="module")
def images(tiny_model) -> list[np.ndarray]:
    renderer = Renderer(tiny_model.config.data)
    return [renderer.render(31, i)[0] for i in range(64)]


def test_every_format_reads_as_the_keras_model(tiny_model, exports, images, capsys):
    keras_rec = load(tiny_model.dir)
    x, widths = keras_rec.prepare(images)
    want_logits = keras_rec.run(x)
    want = [p.text for p in keras_rec.predict(images)]
    truth = [Renderer(tiny_model.config.data).sample_spec(31, i).text for i in range(64)]
    assert sum(w == t for w, t in zip(want, truth, strict=True)) > 50  # a model that reads, so texts can differ
    for key, folder in exports.items():
        rec = Recognizer.from_export(folder)
        got = rec.run(x)
        assert got.shape == want_logits.shape, key
        diff = float(np.abs(got - want_logits).max())
        texts = [p.text for p in rec.predict(images)]
        same = sum(a == b for a, b in zip(texts, want, strict=True))
        with capsys.disabled():
            print(f"\n{key}: logits within {diff:.2e}, {same}/64 texts as Keras reads them")
        if TOLERANCE[key] is not None:
            assert diff <= TOLERANCE[key], key
            assert texts == want, key
        assert np.array_equal(rec.output_steps(widths), keras_rec.output_steps(widths))
    info = json.loads((exports[("onnx", None)] / "synthocr.json").read_text())
    assert info["alphabet"] == "0123456789" and info["blank"] == 0 and info["height"] == 32 and info["width"] == 64


def test_the_output_steps_rule_fits_every_model():
    widths = np.arange(1, 4000)
    for name in MODELS:
        r = steps_rule(name)
        assert np.array_equal(np.maximum((widths + r["add"]) // r["div"] * r["mul"] - r["sub"], 0),
                              np.maximum(model_spec(name).steps(widths), 0)), name


def test_the_runtime_reads_without_tensorflow(tiny_model, exports, images, tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), images[0])
    texts = []
    for key in (("onnx", None), ("litert", None)):
        code = (
            "import sys, cv2\n"
            "from train.runtime import Recognizer\n"
            f"r = Recognizer.from_export({str(exports[key])!r})\n"
            f"print(r.predict([cv2.imread({str(tmp_path / 'a.png')!r})])[0].text)\n"
            "from train.cli import main\n"
            f"main(['predict', '--model', {str(exports[key])!r}, {str(tmp_path / 'a.png')!r}])\n"
            "assert not {'tensorflow', 'keras'} & set(sys.modules), 'TensorFlow was imported'\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
        assert done.returncode == 0, done.stderr
        text, line = done.stdout.splitlines()
        assert line.split("\t")[1] == text and done.stderr == ""
        texts.append(text)
    assert texts == [load(tiny_model.dir).predict([cv2.imread(str(tmp_path / "a.png"))])[0].text] * 2


def test_variable_width_and_recurrent_layers(tmp_path, tiny_config):
    from train.fit import fit

    cfg = tiny_config(steps=2, model="bigru", eval_every=2, checkpoint_every=2, val_count=32)
    cfg.data.render.width = None
    fit(cfg, tmp_path / "m", progress=False)
    keras_rec = load(tmp_path / "m")
    renderer = Renderer(cfg.data)
    for width in (48, 96):  # two batches of other widths through one export
        images = [renderer.render(5, i)[0] for i in range(4)]
        images = [np.pad(im, ((0, 0), (0, max(0, width - im.shape[1]))), mode="edge")[:, :width] for im in images]
        x, _ = keras_rec.prepare(images)
        onnx = Recognizer.from_export(tmp_path / "onnx") if width == 96 else Recognizer.from_export(
            export(tmp_path / "m", "onnx", tmp_path / "onnx"))
        assert np.abs(onnx.run(x) - keras_rec.run(x)).max() < 1e-4
    with pytest.raises(SynthError, match=r"layer 'bidirectional.*' \(Bidirectional\) loops .*pass --width N"):
        export(tmp_path / "m", "litert", tmp_path / "lite")
    assert not (tmp_path / "lite").exists()
    lite = Recognizer.from_export(export(tmp_path / "m", "litert", tmp_path / "lite", width=96))
    x, _ = keras_rec.prepare(images)
    assert x.shape[2] == 96 and np.abs(lite.run(x) - keras_rec.run(x)).max() < 1e-4


def test_bad_exports_are_refused_and_overwrite_nothing(tiny_model, exports, tmp_path, capsys):
    from train.cli import main

    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SynthError, match="already exists; choose another --out"):
        export(tiny_model.dir, "onnx", taken)
    assert [p.name for p in taken.iterdir()] == ["mine.txt"]
    with pytest.raises(SynthError, match="unknown export format 'tflite'"):
        export(tiny_model.dir, "tflite", tmp_path / "x")
    with pytest.raises(SynthError, match="a saved_model export takes none"):
        export(tiny_model.dir, "saved_model", tmp_path / "x", quantize="int8")
    with pytest.raises(SynthError, match="reads images 64 pixels wide only"):
        export(tiny_model.dir, "onnx", tmp_path / "x", width=128)
    empty = tmp_path / "empty"
    shutil.copytree(tiny_model.dir, empty, ignore=shutil.ignore_patterns("model.keras"))
    assert main(["export", "--model", str(empty), "--format", "onnx", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "holds no model.keras: train one with" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".tmp-*"))
    with pytest.raises(SynthError, match="holds no synthocr.json: make an export with"):
        Recognizer.from_export(tiny_model.dir)

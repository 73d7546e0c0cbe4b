"""Exports side by side: per model and format, file size, latency at batch 1 and 64 (and as a ratio to Keras in
the same run), and the word accuracy each reads on the same rendered set.

    python scripts/bench_export.py [--model MODEL_DIR] [--zoo] [--count 500] [--json out.json]

--model: a trained model dir, exported to every format and scored on `--count` samples rendered from its own
config (seed 2024, which training never uses). --zoo: every model of the zoo at its native size, untrained
(sizes and latencies only; accuracy needs training). Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from synth.alphabet import Alphabet
from synth.quiet import tensorflow

tensorflow()

from train.export import export  # noqa: E402
from train.models import MODELS, build_model, model_spec  # noqa: E402
from train.recognizer import load  # noqa: E402
from train.runtime import Recognizer  # noqa: E402

VARIANTS = [("saved_model", None), ("litert", None), ("litert", "float16"), ("litert", "int8"), ("onnx", None),
            ("onnx", "int8")]


def latency(rec: Recognizer, x: np.ndarray, repeats: int) -> float:
    """Median milliseconds of one forward pass of batch `x` (after one warm-up)."""
    rec.run(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        rec.run(x)
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.name != "synthocr.json") / 1e6


def untrained_dir(name: str, root: Path) -> Path:
    """A model dir of the zoo model `name` at its native size, untrained: what `train.load` reads."""
    spec = model_spec(name)
    d = root / name
    d.mkdir()
    alphabet = Alphabet()
    build_model(name, alphabet.size, spec.height, spec.width).save(d / "model.keras")
    alphabet.save(d / "alphabet.json")
    (d / "meta.json").write_text(json.dumps({"model": name, "height": spec.height, "width": spec.width}))
    return d


def rows_for(model_dir: Path, root: Path, images: list[np.ndarray] | None, texts: list[str] | None) -> list[dict]:
    keras_rec = load(model_dir)
    width = keras_rec.width or 4 * keras_rec.height
    batch = np.random.default_rng(0).random((64, keras_rec.height, width, 1), dtype=np.float32)
    rows = []
    readers: list[tuple[str, Recognizer, float]] = [("keras", keras_rec, float("nan"))]
    for fmt, q in VARIANTS:
        out = root / f"{model_dir.name}-{fmt}-{q}"
        try:
            export(model_dir, fmt, out, q, width=None if keras_rec.width else width)
        except Exception as e:  # a format a model cannot take: its message is the row
            rows.append({"model": keras_rec.model.name, "format": fmt, "quantize": q, "error": str(e)[:160]})
            continue
        readers.append((f"{fmt}{'-' + q if q else ''}", Recognizer.from_export(out), size_mb(out)))
    base = {}
    for label, rec, mb in readers:
        row = {"model": keras_rec.model.name, "format": label, "size_mb": mb,
               "ms_batch1": latency(rec, batch[:1], 30), "ms_batch64": latency(rec, batch, 5)}
        if label == "keras":
            base = row
        row["vs_keras_batch1"] = row["ms_batch1"] / base["ms_batch1"]
        row["vs_keras_batch64"] = row["ms_batch64"] / base["ms_batch64"]
        if images is not None:
            read = [p.text for p in rec.predict(images)]
            row["word_accuracy"] = sum(a == b for a, b in zip(read, texts, strict=True)) / len(texts)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, help="a trained model dir: every format, with accuracy")
    ap.add_argument("--zoo", action="store_true", help="every zoo model, untrained: sizes and latencies")
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    if a.model is None and not a.zoo:
        ap.error("give --model, --zoo or both")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if a.model is not None:
            from synth.renderer import Renderer

            rec = load(a.model)
            renderer = Renderer(rec.config.data)
            samples = [renderer.render(2024, i) for i in range(a.count)]
            rows += rows_for(a.model, root, [im for im, _ in samples], [s.text for _, s in samples])
        if a.zoo:
            for name in MODELS:
                rows += rows_for(untrained_dir(name, root), root, None, None)
    print("\n| model | format | MB | ms, batch 1 (x Keras) | ms, batch 64 (x Keras) | word accuracy |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        if "error" in r:
            print(f"| {r['model']} | {r['format']}{'-' + r['quantize'] if r['quantize'] else ''} | - | - | - | "
                  f"{r['error']} |")
            continue
        acc = f"{100 * r['word_accuracy']:.1f}%" if "word_accuracy" in r else "-"
        size = "-" if r["format"] == "keras" else f"{r['size_mb']:.2f}"
        print(f"| {r['model']} | {r['format']} | {size} | {r['ms_batch1']:.2f} ({r['vs_keras_batch1']:.2f}) | "
              f"{r['ms_batch64']:.1f} ({r['vs_keras_batch64']:.2f}) | {acc} |")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Scoring a recognizer on a labelled folder: the metrics, speed, breakdowns, and the worst samples."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from synth.dataset import iter_samples
from synth.errors import SynthError
from train import metrics
from train.recognizer import Recognizer

HEIGHT_BINS = (0, 24, 32, 48, 64, 128, 10**9)
LENGTH_BINS = (0, 3, 6, 10, 16, 32, 10**9)


def _bin(value: int, edges: Sequence[int]) -> str:
    for lo, hi in zip(edges, edges[1:], strict=False):
        if lo <= value < hi:
            return f"{lo}-{hi - 1}" if hi < 10**9 else f">={lo}"
    return "?"


def _group_order(key: str) -> tuple[int, str]:
    """Bins in numeric order ("3-5" before "10-15"), other groups (fonts) by name."""
    digits = key.lstrip(">=").split("-")[0]
    return (int(digits), key) if digits.isdigit() else (10**9, key)


def breakdown(refs: list[str], hyps: list[str], keys: list[str]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        groups[k].append(i)
    return {k: metrics.score([refs[i] for i in groups[k]], [hyps[i] for i in groups[k]])
            for k in sorted(groups, key=_group_order)}


def compare_tesseract(images: Sequence[np.ndarray], refs: list[str], binary: str = "tesseract",
                      psm: int | None = None) -> dict[str, Any]:
    """Tesseract's scores on the same images, in the shape of ours; {"available": False, "reason"} when it is
    not installed or fails, so that a comparison never costs the evaluation."""
    from train import tesseract

    path = tesseract.find(binary)
    if path is None:
        return {"available": False, "reason": f"{binary} not found (install tesseract-ocr)"}
    psm = tesseract.psm_for(refs) if psm is None else psm
    t0 = time.perf_counter()
    try:
        hyps = tesseract.read(images, psm, binary=path)
    except (RuntimeError, OSError) as e:
        return {"available": False, "reason": str(e)}
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {"available": True, "version": tesseract.version(path), "psm": psm,
                           **metrics.score(refs, hyps), "images_per_second": len(images) / seconds}
    out["by_height"] = breakdown(refs, hyps, [_bin(im.shape[0], HEIGHT_BINS) for im in images])
    out["by_length"] = breakdown(refs, hyps, [_bin(len(r), LENGTH_BINS) for r in refs])
    return out


def evaluate(rec: Recognizer, data_dir: str | Path, method: str = "greedy", lexicon: Sequence[str] | None = None,
             batch_size: int = 64, limit: int | None = None, worst: int = 24, compare: str | None = None,
             tesseract_binary: str = "tesseract", turn_tall: bool = True) -> dict[str, Any]:
    """Metrics of `score`, images per second (preprocessing, model and decoding), breakdowns by image height
    and label length, and the `worst` samples by edit distance (their images kept for a picture).

    `compare="tesseract"` adds Tesseract's numbers on the same images under "tesseract"."""
    images, refs, fonts = [], [], []
    for k, (img, text, font) in enumerate(iter_samples(data_dir)):
        if limit is not None and k >= limit:
            break
        images.append(img)
        refs.append(text)
        fonts.append(font)
    rec.predict(images[:2], method=method, lexicon=lexicon)  # trace the model before timing
    t0 = time.perf_counter()
    preds = rec.predict(images, method=method, lexicon=lexicon, batch_size=batch_size, turn_tall=turn_tall)
    seconds = time.perf_counter() - t0
    hyps = [p.text for p in preds]
    result: dict[str, Any] = metrics.score(refs, hyps)
    result["images_per_second"] = len(images) / seconds
    result["by_height"] = breakdown(refs, hyps, [_bin(im.shape[0], HEIGHT_BINS) for im in images])
    result["by_length"] = breakdown(refs, hyps, [_bin(len(r), LENGTH_BINS) for r in refs])
    if any(fonts):
        result["by_font"] = breakdown(refs, hyps, fonts)
    dist = np.array([Levenshtein.distance(r, h) / max(len(r), 1) for r, h in zip(refs, hyps, strict=True)])
    order = [int(i) for i in np.argsort(-dist, kind="stable")[:worst] if dist[i] > 0]
    result["worst"] = [{"index": i, "truth": refs[i], "prediction": hyps[i], "font": fonts[i],
                        "confidence": preds[i].confidence} for i in order]
    result["_worst_images"] = [images[i] for i in order]
    if compare == "tesseract":
        result["tesseract"] = compare_tesseract(images, refs, binary=tesseract_binary)
    elif compare is not None:
        raise SynthError(f"--compare {compare!r}: the only reference reader is tesseract")
    return result


METRICS = ("cer", "wer", "word_accuracy", "ned", "word_accuracy_ci_alnum")


def format_text(result: dict[str, Any], source: str = "") -> str:
    """The text report of `train eval`: our metrics, with Tesseract's in a column beside them when compared."""
    tess = result.get("tesseract")
    ok = bool(tess and tess["available"])
    label = f"tesseract psm {tess['psm']}" if ok else "tesseract"
    head = "" if tess is None else f"{label:>18}"
    missing = "" if tess is None or ok else f"{'not found' if 'not found' in tess['reason'] else 'failed':>18}"

    def theirs(key: str, fmt: str, src: dict[str, Any] | None) -> str:
        if tess is None:
            return ""
        return f"{format(src[key], fmt):>18}" if ok and src is not None else missing

    lines = [f"{result['n']} images{' from ' + str(source) if source else ''}", f"  {'metric':<24}{'ours':>10}{head}"]
    for k in METRICS:
        lines.append(f"  {k:<24}{result[k]:>10.4f}{theirs(k, '.4f', tess)}")
    lines.append(f"  {'images_per_second':<24}{result['images_per_second']:>10.1f}"
                 f"{theirs('images_per_second', '.1f', tess)}")
    if tess is not None and not ok:
        lines.append(f"  tesseract: {tess['reason']}")
    for name in ("by_height", "by_length"):
        extra = "  tesseract cer  word_accuracy" if ok else ""
        lines.append(f"{name.replace('_', ' ')}:  group  n  cer  word_accuracy{extra}")
        for g, sc in result[name].items():
            row = f"  {g:<10}{sc['n']:>6}  {sc['cer']:.4f}  {sc['word_accuracy']:.4f}"
            if ok:
                t = tess[name][g]
                row += f"  {t['cer']:.4f}  {t['word_accuracy']:.4f}"
            lines.append(row)
    if result["worst"]:
        lines.append("worst:")
        lines += [f"  {w['truth']!r} read as {w['prediction']!r}" for w in result["worst"][:10]]
    return "\n".join(lines)


def worst_grid(result: dict[str, Any], out: str | Path) -> Path:
    """worst.png: the worst-read images with truth and prediction under each."""
    import cv2

    from synth.preview import grid

    tiles = [(im, [f"truth: {w['truth']}", f"read:  {w['prediction']}"])
             for im, w in zip(result["_worst_images"], result["worst"], strict=True)]
    if not tiles:  # still write the file the user asked for, saying why it shows no samples
        tiles = [(np.full((32, 128), 255, np.uint8), ["no sample was misread"])]
    if len({im.shape[0] for im, _ in tiles}) > 1:  # real images differ in size: show them all at one height
        tiles = [(cv2.resize(im, (max(1, round(im.shape[1] * 48 / im.shape[0])), 48)), c) for im, c in tiles]
    wide = max(im.shape[1] for im, _ in tiles)
    out = Path(out)
    grid(tiles, columns=1 if wide > 600 else 3, scale=1 if wide > 300 else 2).save(out)  # lines: one a row
    return out

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
from train import metrics
from train.recognizer import Recognizer

HEIGHT_BINS = (0, 24, 32, 48, 64, 128, 10**9)
LENGTH_BINS = (0, 3, 6, 10, 16, 32, 10**9)


def _bin(value: int, edges: Sequence[int]) -> str:
    for lo, hi in zip(edges, edges[1:], strict=False):
        if lo <= value < hi:
            return f"{lo}-{hi - 1}" if hi < 10**9 else f">={lo}"
    return "?"


def breakdown(refs: list[str], hyps: list[str], keys: list[str]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        groups[k].append(i)
    return {k: metrics.score([refs[i] for i in ix], [hyps[i] for i in ix]) for k, ix in sorted(groups.items())}


def evaluate(rec: Recognizer, data_dir: str | Path, method: str = "greedy", lexicon: Sequence[str] | None = None,
             batch_size: int = 64, limit: int | None = None, worst: int = 24) -> dict[str, Any]:
    """Metrics of `score`, images per second (preprocessing, model and decoding), breakdowns by image height
    and label length, and the `worst` samples by edit distance (their images kept for a picture)."""
    images, refs, fonts = [], [], []
    for k, (img, text, font) in enumerate(iter_samples(data_dir)):
        if limit is not None and k >= limit:
            break
        images.append(img)
        refs.append(text)
        fonts.append(font)
    rec.predict(images[:2], method=method, lexicon=lexicon)  # trace the model before timing
    t0 = time.perf_counter()
    preds = rec.predict(images, method=method, lexicon=lexicon, batch_size=batch_size)
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
    return result


def worst_grid(result: dict[str, Any], out: str | Path) -> Path:
    """worst.png: the worst-read images with truth and prediction under each."""
    from synth.preview import grid

    tiles = [(im, [f"truth: {w['truth']}", f"read:  {w['prediction']}"])
             for im, w in zip(result["_worst_images"], result["worst"], strict=True)]
    out = Path(out)
    if tiles:
        heights = {im.shape[0] for im, _ in tiles}
        if len(heights) > 1:  # real images differ in size: show them all at one height
            import cv2

            tiles = [(cv2.resize(im, (max(1, round(im.shape[1] * 48 / im.shape[0])), 48)), c) for im, c in tiles]
        grid(tiles, columns=3, scale=1 if max(im.shape[1] for im, _ in tiles) > 300 else 2).save(out)
    return out

"""Scoring a recognizer on a labelled folder: the metrics, speed, breakdowns, and the worst samples."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from synth.dataset import iter_samples
from synth.errors import SynthError
from train import metrics
from train.runtime import Recognizer, check_views

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


def groups(images: Sequence[np.ndarray], refs: list[str], hyps: list[str],
           fonts: Sequence[str | None] = ()) -> dict[str, dict[str, dict[str, float]]]:
    """The scores by image height and label length, and by font where the images' fonts are known: one
    grouping for our readings and Tesseract's alike."""
    out = {"by_height": breakdown(refs, hyps, [_bin(im.shape[0], HEIGHT_BINS) for im in images]),
           "by_length": breakdown(refs, hyps, [_bin(len(r), LENGTH_BINS) for r in refs])}
    if any(fonts):
        out["by_font"] = breakdown(refs, hyps, list(fonts))
    return out


def compare_tesseract(images: Sequence[np.ndarray], refs: list[str], binary: str = "tesseract",
                      psm: int | None = None, fonts: Sequence[str | None] = ()) -> dict[str, Any]:
    """Tesseract's scores on the same images, in the shape of ours (by font too, where the images' fonts are
    known); {"available": False, "reason"} when it is not installed or fails, so that a comparison never
    costs the evaluation."""
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
                           **metrics.score(refs, hyps), "images_per_second": len(images) / seconds,
                           **groups(images, refs, hyps, fonts)}
    return out


@dataclass
class Evaluation:
    """A recognizer's scores on a labelled folder. `scores` holds `metrics.score`'s figures (n, cer, wer,
    word_accuracy, ...); `worst` the worst-read samples by edit distance, each with its index in the folder;
    `confusions` the most frequent character edits (`metrics.confusions`); `tesseract` Tesseract's scores on
    the same images, when compared."""

    scores: dict[str, float]
    images_per_second: float
    by_height: dict[str, dict[str, float]]
    by_length: dict[str, dict[str, float]]
    by_font: dict[str, dict[str, float]] | None = None
    worst: list[dict[str, Any]] = field(default_factory=list)
    confusions: list[dict[str, Any]] = field(default_factory=list)
    tesseract: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the scores at the top level, then the other fields (absent ones left out)."""
        d = {**self.scores, **{k: v for k, v in asdict(self).items() if k != "scores"}}
        return {k: v for k, v in d.items() if v is not None}


def evaluate(rec: Recognizer, data_dir: str | Path, method: str = "greedy", lexicon: Sequence[str] | None = None,
             batch_size: int = 64, limit: int | None = None, worst: int = 24, compare: str | None = None,
             tesseract_binary: str = "tesseract", turn_tall: bool = True, views: int = 1) -> Evaluation:
    """Metrics of `score`, images per second (preprocessing, model and decoding), breakdowns by image height
    and label length, and the `worst` samples by edit distance.

    `compare="tesseract"` adds Tesseract's numbers on the same images under "tesseract"; `views` as in
    `Recognizer.predict`."""
    if compare not in (None, "tesseract"):
        raise SynthError(f"--compare {compare!r}: the only reference reader is tesseract")
    check_views(views)
    images, refs, fonts = [], [], []
    for k, (img, text, font) in enumerate(iter_samples(data_dir)):
        if limit is not None and k >= limit:
            break
        images.append(img)
        refs.append(text)
        fonts.append(font)
    rec.predict(images[:2], method=method, lexicon=lexicon, views=views)  # trace the model before timing
    t0 = time.perf_counter()
    preds = rec.predict(images, method=method, lexicon=lexicon, batch_size=batch_size, turn_tall=turn_tall,
                        views=views)
    seconds = time.perf_counter() - t0
    hyps = [p.text for p in preds]
    dist = np.array([Levenshtein.distance(r, h) / max(len(r), 1) for r, h in zip(refs, hyps, strict=True)])
    order = [int(i) for i in np.argsort(-dist, kind="stable")[:worst] if dist[i] > 0]
    return Evaluation(
        scores=metrics.score(refs, hyps), images_per_second=len(images) / seconds,
        **groups(images, refs, hyps, fonts),
        worst=[{"index": i, "truth": refs[i], "prediction": hyps[i], "font": fonts[i],
                "confidence": preds[i].confidence} for i in order],
        confusions=metrics.confusions(refs, hyps),
        tesseract=(compare_tesseract(images, refs, binary=tesseract_binary, fonts=fonts)
                   if compare == "tesseract" else None),
    )


#: the figures `train eval --json` prints
METRICS = ("cer", "wer", "word_accuracy", "ned", "word_accuracy_ci_alnum")

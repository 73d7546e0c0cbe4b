"""How a config's samples differ from a set of real crops: image and label measures side by side, with their gaps.

`compare` measures the same things on both, each image as the model sees it (grey, resized to the config's
height, squeezed or padded to its width, the padding left out), and gives for each measure both sets' quantiles
and the Kolmogorov-Smirnov distance between them (0: the same distribution, 1: no overlap). A measure far apart
is a lead to try in an A/B run, not a verdict: a stream harder than the real set often costs a model nothing
(docs/benchmarks.md). Image measures need no ink mask, so that any labelled set can be measured: the ink is
the minority side of Otsu's threshold.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from synth.config import SynthConfig
from synth.errors import SynthError
from synth.image import to_model_input

#: each measure: what it says, and the settings that move it
MEASURES = {
    "aspect": ("width over height of the image before resizing", "render.width (--width auto), the text's length"),
    "ink share": ("share of pixels on the ink side of Otsu's threshold (how much of the box the text fills)",
                  "effects.tight, render.margin, fonts.size"),
    "contrast": ("grey levels from the 5th to the 95th percentile",
                 "effects.paper.paper and .ink, effects.colour.min_contrast, effects.lighting"),
    "brightness": ("mean grey", "effects.paper.paper and .ink, effects.invert"),
    "dark text": ("1 where the ink is darker than its background", "effects.invert, effects.colour"),
    "noise": ("median grey difference from the 3x3 median (grain, speckle, JPEG blocks)",
              "effects.gaussian_noise, effects.speckle, effects.salt_pepper, effects.jpeg"),
    "sharpness": ("standard deviation of the Laplacian over the contrast (blur lowers it)",
                  "effects.blur, effects.low_res, effects.motion_blur"),
    "letter width": ("the ink's width over its height, per character of the label (narrow, condensed letters read "
                     "low)", "effects.stretch, fonts.spacing, the fonts"),
    "length": ("characters of the label", "text.min_len, text.max_len, text.lexicon"),
    "digits": ("share of the label's characters that are digits", "text.sources (random and pattern), text.patterns"),
}
#: Kolmogorov-Smirnov distances from which a measure is reported as differing, and as far apart
DIFFERS, FAR = 0.2, 0.4


def image_measures(img: np.ndarray, height: int, width: int | None, text: str = "") -> dict[str, float]:
    """The image measures of one image (grey or colour, any size) as a model of that input size sees it; with
    its label `text`, the letter width too (NaN without a label or ink)."""
    h, w = img.shape[:2]
    x = to_model_input(img, height, width)
    content = round(w * height / h)
    x = x[:, : max(1, min(content, x.shape[1]))]  # the padding is the reader's, not the image's
    xf = x.astype(np.float32)
    p5, p95 = np.percentile(xf, (5, 95))
    contrast = float(p95 - p5)
    threshold, _ = cv2.threshold(x, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    above = x > threshold
    share_above = float(above.mean())
    ink_dark = share_above >= 0.5  # the ink is the minority side
    noise = float(np.median(np.abs(xf - cv2.medianBlur(x, 3).astype(np.float32))))
    laplacian = cv2.Laplacian(xf, cv2.CV_32F)
    chars = sum(not c.isspace() for c in text)
    ys, xs = np.nonzero(~above if ink_dark else above)
    letter_width = math.nan
    if chars and xs.size:  # the ink's extent from its 2nd to its 98th percentile: a speck at an edge is not text
        (x0, x1), (y0, y1) = np.percentile(xs, (2, 98)), np.percentile(ys, (2, 98))
        letter_width = float((x1 - x0 + 1) / (y1 - y0 + 1) / chars)
    return {
        "aspect": w / h,
        "ink share": 1.0 - share_above if ink_dark else share_above,
        "contrast": contrast,
        "brightness": float(xf.mean()),
        "dark text": float(ink_dark),
        "noise": noise,
        "sharpness": float(laplacian.std()) / max(contrast, 1.0),
        "letter width": letter_width,
    }


def label_measures(text: str) -> dict[str, float]:
    """The label measures of one text. Case is not one: many real sets write every label in capitals."""
    chars = [c for c in text if not c.isspace()]
    return {"length": float(len(text)), "digits": sum(c.isdigit() for c in chars) / max(1, len(chars))}


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical distributions."""
    a, b = np.sort(np.asarray(a, np.float64)), np.sort(np.asarray(b, np.float64))
    at = np.concatenate((a, b))
    return float(np.max(np.abs(np.searchsorted(a, at, side="right") / len(a)
                               - np.searchsorted(b, at, side="right") / len(b))))


@dataclass
class Row:
    measure: str
    real: list[float]  # 10th, 50th and 90th percentiles
    synthetic: list[float]
    distance: float

    @property
    def verdict(self) -> str:
        return "far apart" if self.distance >= FAR else "differs" if self.distance >= DIFFERS else ""


@dataclass
class Comparison:
    real_count: int
    synthetic_count: int
    rows: list[Row]
    #: characters of the real labels outside the config's alphabet, each with the number of labels holding it
    missing: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"real_count": self.real_count, "synthetic_count": self.synthetic_count, "missing": self.missing,
                "rows": [{"measure": r.measure, "real": r.real, "synthetic": r.synthetic, "distance": r.distance,
                          "verdict": r.verdict} for r in self.rows]}

    def report(self) -> str:
        lines = [f"{self.real_count} real images against {self.synthetic_count} samples of the config; quantiles "
                 "10/50/90, and the distance between the two (Kolmogorov-Smirnov: 0 the same, 1 apart)",
                 f"{'measure':<11} {'real':>20} {'synthetic':>20}  distance"]
        for r in sorted(self.rows, key=lambda r: -r.distance):
            real, synthetic = "/".join(f"{x:.3g}" for x in r.real), "/".join(f"{x:.3g}" for x in r.synthetic)
            lines.append(f"{r.measure:<11} {real:>20} {synthetic:>20}  {r.distance:.2f} {r.verdict}".rstrip())
        if self.missing:
            chars = ", ".join(f"{c!r} ({n})" for c, n in sorted(self.missing.items(), key=lambda kv: -kv[1]))
            lines.append(f"characters of the real labels outside the alphabet (labels holding them): {chars}")
        lines += ["measures:", *(f"  {k}: {what}; moved by {knobs}" for k, (what, knobs) in MEASURES.items())]
        return "\n".join(lines)


def compare(config: SynthConfig, real: str | Path, count: int = 1000, seed: int = 0) -> Comparison:
    """The first `count` images of the dataset folder `real` (any labels.tsv folder, LMDB, or ours) against
    samples 0..count-1 of `config` at `seed`."""
    from synth.dataset import iter_samples
    from synth.renderer import Renderer

    if count < 1:
        raise SynthError(f"--count {count}: compare at least one image")
    if not Path(real).is_dir():
        raise SynthError(f"real set folder not found: {real}; give a folder of labelled crops (labels.tsv or LMDB)")
    rc = config.render
    renderer = Renderer(config)
    chars = set(renderer.alphabet.chars)
    real_rows, missing = [], {}
    for img, text, _ in itertools.islice(iter_samples(real), count):
        real_rows.append(image_measures(img, rc.height, rc.width, text) | label_measures(text))
        for c in set(text) - chars:
            missing[c] = missing.get(c, 0) + 1
    synth_rows = []
    for i in range(len(real_rows)):  # as many as there are real ones, so that both quantiles are as sure
        img, spec = renderer.render(seed, i)
        synth_rows.append(image_measures(img, rc.height, rc.width, spec.text) | label_measures(spec.text))
    rows = []
    for m in MEASURES:
        a, b = (np.array([r[m] for r in side]) for side in (real_rows, synth_rows))
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]  # a label of spaces, or an image without ink, has no letters
        if not (a.size and b.size):
            continue
        rows.append(Row(m, np.percentile(a, (10, 50, 90)).tolist(), np.percentile(b, (10, 50, 90)).tolist(),
                        ks_distance(a, b)))
    return Comparison(len(real_rows), len(synth_rows), rows, missing)

"""Real labelled images mixed into the training stream at a share, in a deterministic order, lightly augmented.

`train fit --mix DIR:0.1` replaces a tenth of every batch's samples (the last ones) with real images from a
labels.tsv folder or a dataset of ours. Which real image and which augmentation a slot gets is a function of
the run's seed and the slot's position in the stream, so a resumed run continues with the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synth.alphabet import Alphabet
from synth.errors import SynthError
from synth.image import pad_images, to_model_input

#: far from the stream's and validation's seeds
MIX_SEED = 5_000_011


@dataclass
class RealSet:
    """Real images at the model's input size, their texts, and what was left out (characters outside the
    alphabet, or longer than the model's labels)."""

    path: str
    ratio: float
    images: list[np.ndarray]
    texts: list[str]
    left_out: int


def parse_mix(item: str) -> tuple[str, float]:
    """"DIR:0.1" -> (DIR, 0.1); a clear error naming the form otherwise."""
    path, sep, ratio = item.rpartition(":")
    try:
        share = float(ratio)
    except ValueError:
        share = -1.0
    if not sep or not path or not 0.0 < share < 1.0:
        raise SynthError(f"--mix {item!r}: give DIR:SHARE, a folder with labels.tsv (or a dataset of ours) and the "
                         "share of each batch its images take, between 0 and 1 (e.g. runs/real:0.1)")
    if not Path(path).is_dir():
        raise SynthError(f"--mix {item!r}: folder {path} not found")
    return path, share


def load(item: str, alphabet: Alphabet, height: int, width: int | None, max_len: int) -> RealSet:
    """The real set of a --mix item, held in memory at the model's input size."""
    from synth.dataset import iter_samples

    path, ratio = parse_mix(item)
    images, texts, left_out = [], [], 0
    for img, text, _ in iter_samples(path):
        if not text or not alphabet.can_encode(text) or len(text) > max_len:
            left_out += 1
            continue
        images.append(to_model_input(img, height, width))
        texts.append(text)
    if not images:
        raise SynthError(f"--mix {item!r}: none of its {left_out} labels fits the alphabet and {max_len} characters; "
                         "widen the alphabet or mix another folder")
    return RealSet(path, ratio, images, texts, left_out)


def slots(step: int, batch_size: int, ratio: float) -> tuple[int, int]:
    """(first, count): the real samples step `step` takes, numbered from the run's start: the share is met over
    the steps however it rounds."""
    first = math.floor(step * batch_size * ratio)
    return first, math.floor((step + 1) * batch_size * ratio) - first


def pick(real: RealSet, k: int, seed: int) -> tuple[np.ndarray, str]:
    """The k-th real sample of the run: every image once per epoch, in an order drawn per epoch, augmented by a
    draw of its own (contrast, brightness, a little noise), all from (seed, k)."""
    n = len(real.images)
    epoch, i = divmod(k, n)
    j = int(np.random.default_rng([MIX_SEED, seed, epoch]).permutation(n)[i])
    r = np.random.default_rng([MIX_SEED, seed, n, k])
    contrast, brightness, noise = r.uniform(0.75, 1.15), r.uniform(-20, 20), r.uniform(0, 4)
    img = real.images[j].astype(np.float32)
    img = (img - img.mean()) * contrast + img.mean() + brightness + noise * r.standard_normal(img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), real.texts[j]


def mixed(batches: Iterator[dict[str, Any]], sets: list[RealSet], alphabet: Alphabet, seed: int, start_step: int,
          batch_size: int, shard: tuple[int, int] = (0, 1), parts: int = 1) -> Iterator[dict[str, Any]]:
    """`batches` (as `synth.batches` gives them, from step `start_step`) with the last samples of each replaced
    by real ones, each set taking its share. `shard=(i, n)`: the batches are shard i of n of the stream's (as
    `synth.batches` takes it), so step s takes the real samples of batch s * n + i. `parts`: a batch is that many
    replicas' slices, and each slice's last samples are replaced in turn, so that every replica gets its share."""
    index, shards = shard
    for n, batch in enumerate(batches):
        step = (start_step + n) * shards + index
        if not any(slots(step, batch_size, real.ratio)[1] for real in sets):  # no real sample this step
            yield batch
            continue
        images, texts, fonts = list(batch["image"]), list(batch["text"]), list(batch["font"])
        widths = list(batch["width"])
        size = len(images) // parts
        # the places real samples take, in order: the last of every part, then the ones before them, ...
        taken = iter([(p + 1) * size - 1 - j for j in range(size) for p in range(parts)])
        for s, real in enumerate(sets):
            first, count = slots(step, batch_size, real.ratio)
            for k in range(first, first + count):
                at = next(taken)
                img, text = pick(real, k, seed + s)
                images[at], texts[at], fonts[at], widths[at] = img, text, "real", img.shape[1]
        images = [im[:, :w] for im, w in zip(images, widths, strict=True)]  # drop the padding before padding again
        stacked, widths_ = pad_images(images)
        labels = np.zeros_like(batch["label"])
        lengths = np.zeros_like(batch["label_length"])
        for i, t in enumerate(texts):
            ids = alphabet.encode(t)
            labels[i, : len(ids)] = ids
            lengths[i] = len(ids)
        yield {**batch, "image": stacked, "width": widths_, "label": labels, "label_length": lengths, "text": texts,
               "font": fonts}

"""Validation during training: a fixed set held in memory, scored with the model as it stands."""

from __future__ import annotations

import keras

from synth.alphabet import Alphabet
from synth.config import SynthConfig
from synth.streaming import numpy_batches, stream
from train import metrics
from train.config import VAL_SEED_OFFSET, FitConfig
from train.data import validation_data
from train.recognizer import Recognizer


class Validator:
    """A fixed validation set held in memory (rendered from a seed training never uses, or real images)."""

    def __init__(self, cfg: FitConfig, data: SynthConfig, model: keras.Model, alphabet: Alphabet):
        t = cfg.train
        if t.val_dir:
            from synth.dataset import read

            ds = read(t.val_dir, data.render.height, data.render.width, alphabet, batch_size=64, encode="keep")
        else:
            ds = stream(validation_data(data), seed=t.seed + VAL_SEED_OFFSET, batch_size=64, count=t.val_count,
                        workers=t.workers)
        self.batches = [(b["image"], b["width"], b["text"]) for b in numpy_batches(ds)]
        self.recognizer = Recognizer(model, alphabet, data.render.height, data.render.width)

    def evaluate(self) -> dict[str, float]:
        refs, hyps = [], []
        for images, widths, texts in self.batches:
            hyps += [p.text for p in self.recognizer.decode(*self.recognizer.logits(images, widths))]
            refs += texts
        return metrics.score(refs, hyps)


def better(new: dict[str, float], best: dict[str, float] | None) -> bool:
    """Whether scores `new` beat `best`: word accuracy first, then CER."""
    return best is None or (new["word_accuracy"], -new["cer"]) > (best["word_accuracy"], -best["cer"])

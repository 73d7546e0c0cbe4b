"""A trained model dir as an object that reads images: `train.load(MODEL_DIR).predict(images)`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from synth.alphabet import Alphabet
from synth.errors import SynthError
from synth.files import read_json
from synth.image import pad_images, to_float, to_model_input
from train import ctc
from train.config import FitConfig
from train.modeldir import MODEL_FILE
from train.models import output_steps

#: an image at least this many times taller than wide is also read turned a quarter each way: a line set
#: vertically (a table's column heading, a figure's axis label) and cropped from its page
TALL = 3.0


@dataclass
class Prediction:
    text: str
    confidence: float


class Recognizer:
    """The inference model with its alphabet and input size; decodes greedily, by beam, or to a lexicon."""

    def __init__(self, model: keras.Model, alphabet: Alphabet, height: int, width: int | None,
                 meta: dict[str, Any] | None = None, config: FitConfig | None = None):
        self.model, self.alphabet, self.height, self.width = model, alphabet, height, width
        self.meta = meta or {}
        self.config = config
        self._logits = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def prepare(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Any images (grey or colour, any size) -> a float batch (B, H, W, 1) and their true widths."""
        batch, widths = pad_images([to_model_input(im, self.height, self.width) for im in images])
        return to_float(batch), widths

    def logits(self, x: np.ndarray, widths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits = self._logits(tf.convert_to_tensor(x)).numpy()
        lengths = np.minimum(np.asarray(output_steps(self.model, widths)), logits.shape[1])
        return logits, lengths

    def decode(self, logits: np.ndarray, lengths: np.ndarray, method: str = "greedy",
               lexicon: Sequence[str] | None = None) -> list[Prediction]:
        if lexicon is not None:
            words, scores = ctc.lexicon_decode(logits, lengths, lexicon, self.alphabet)
            return [Prediction(w, float(np.exp(s))) for w, s in zip(words, scores, strict=True)]
        if method == "beam":
            ids, logp = ctc.beam_search_decode(logits, lengths)
            conf = np.exp(logp)
        elif method == "greedy":
            ids, conf = ctc.greedy_decode(logits, lengths)
        else:
            raise SynthError(f"unknown decoding {method!r}: use greedy or beam (or pass a lexicon)")
        return [Prediction(self.alphabet.decode(i), float(c)) for i, c in zip(ids, conf, strict=True)]

    def predict(self, images: Sequence[np.ndarray], method: str = "greedy", lexicon: Sequence[str] | None = None,
                batch_size: int = 64, turn_tall: bool = True) -> list[Prediction]:
        """Readings of `images`. With `turn_tall`, a tall image's reading is the more confident of its two
        quarter turns (equal sizes, so their alignment probabilities compare) when that reads at least two
        characters more than the image as it stands: a tall crop of one letter keeps its upright reading."""
        out: list[Prediction] = []
        for s in range(0, len(images), batch_size):
            x, widths = self.prepare(images[s : s + batch_size])
            out += self.decode(*self.logits(x, widths), method=method, lexicon=lexicon)
        tall = [i for i, im in enumerate(images) if turn_tall and im.shape[0] >= TALL * im.shape[1]]
        if tall:
            left, right = (self.predict([np.rot90(images[i], k) for i in tall], method, lexicon, batch_size, False)
                           for k in (1, -1))
            for i, a, b in zip(tall, left, right, strict=True):
                turned = max(a, b, key=lambda p: p.confidence)
                if len(turned.text) >= len(out[i].text) + 2:
                    out[i] = turned
        return out


def load(model_dir: str | Path) -> Recognizer:
    d = Path(model_dir)
    path = d / MODEL_FILE
    if not path.exists():
        raise SynthError(f"{d} holds no {MODEL_FILE}: train one with `train fit --out {d}` (a model is saved at "
                         "the first evaluation)")
    meta = read_json(d / "meta.json", "model record", "retrain or restore the model dir")
    alphabet = Alphabet.load(d / "alphabet.json")
    try:
        model = keras.saving.load_model(path, compile=False)
    except (OSError, ValueError) as e:
        raise SynthError(f"model dir {d} is incomplete or corrupt ({e}); retrain or restore it") from None
    outputs = model.output_shape[-1]
    if outputs != alphabet.size:
        raise SynthError(f"{d / 'alphabet.json'} has {len(alphabet.chars)} characters, but the model reads "
                         f"{outputs - 1} (and the blank): its texts would be wrong; restore the alphabet.json the "
                         "model was trained with")
    config = FitConfig.load(d / "config.json") if (d / "config.json").exists() else None
    return Recognizer(model, alphabet, meta["height"], meta["width"], meta, config)

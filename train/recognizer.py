"""A trained model dir as an object that reads images: `train.load(MODEL_DIR).predict(images)`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synth.quiet import tensorflow

tf = tensorflow()  # before Keras, which imports it: quietly

import keras
import numpy as np

from synth.alphabet import Alphabet
from synth.errors import SynthError
from synth.files import read_json
from train import runtime
from train.config import FitConfig
from train.modeldir import MODEL_FILE
from train.models import output_steps


class Recognizer(runtime.Recognizer):
    """The Keras model of a model dir, with its alphabet, input size and training config."""

    def __init__(self, model: keras.Model, alphabet: Alphabet, height: int, width: int | None,
                 meta: dict[str, Any] | None = None, config: FitConfig | None = None):
        super().__init__(alphabet, height, width, meta)
        self.model = model
        self.config = config
        self._logits = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def run(self, x: np.ndarray) -> np.ndarray:
        return self._logits(tf.convert_to_tensor(x)).numpy()

    def output_steps(self, widths: np.ndarray) -> np.ndarray:
        return output_steps(self.model, widths)


def load(model_dir: str | Path) -> Recognizer:
    d = Path(model_dir)
    path = d / MODEL_FILE
    if runtime.is_export(d):
        raise SynthError(f"{d} is an export (train export), which predict and eval read; this needs the model dir it "
                         f"was exported from: {read_json(d / runtime.EXPORT_FILE, 'export record').get('source', '?')}")
    if d.is_file():
        raise SynthError(f"{d} is a file; give the model dir (the --out of train fit)")
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

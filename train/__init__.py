"""train: CTC text recognizers fitted on the synth stream; decoding, evaluation, prediction, export.

Names are imported when first used: `train.runtime` (an exported model, read without TensorFlow) must not
import TensorFlow by importing the package.
"""

from importlib import import_module
from typing import Any

#: public name -> the module that holds it
_WHERE = {"FitConfig": "train.config", "TrainConfig": "train.config", "Recognizer": "train.recognizer",
          "load": "train.recognizer"}

__all__ = ["FitConfig", "Recognizer", "TrainConfig", "load"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'train' has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)

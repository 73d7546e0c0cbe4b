"""train: CTC text recognizers fitted on the synth stream; decoding, evaluation, prediction."""

from synth.quiet import tensorflow

tensorflow()  # first, so that the package's own imports of it find it loaded, and quiet

from train.config import FitConfig, TrainConfig  # noqa: E402 (after the quiet import)
from train.recognizer import Recognizer, load  # noqa: E402

__all__ = ["FitConfig", "Recognizer", "TrainConfig", "load"]

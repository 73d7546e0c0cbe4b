"""train: CTC text recognizers fitted on the synth stream; decoding, evaluation, prediction."""

from train.config import FitConfig, TrainConfig
from train.recognizer import Recognizer, load

__all__ = ["FitConfig", "Recognizer", "TrainConfig", "load"]

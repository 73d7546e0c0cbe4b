"""synth: labelled text images from fonts, as a tf.data stream, numpy batches or a dataset on disk.

TensorFlow is imported only by `stream` and `read` (lazily), so rendering alone stays light.
"""

from typing import Any

from synth.alphabet import Alphabet
from synth.batch import batches
from synth.config import EffectsConfig, FontConfig, RenderConfig, SynthConfig, TextConfig
from synth.dataset import write
from synth.errors import SynthError
from synth.fonts import FontLibrary
from synth.sample import Renderer, Spec
from synth.version import __version__

__all__ = [
    "Alphabet", "EffectsConfig", "FontConfig", "FontLibrary", "RenderConfig", "Renderer", "Spec", "SynthConfig",
    "SynthError", "TextConfig", "__version__", "batches", "read", "stream", "write",
]


def __getattr__(name: str) -> Any:
    if name == "stream":
        from synth.streaming import stream

        return stream
    if name == "read":
        from synth.dataset import read

        return read
    raise AttributeError(name)

"""synth: labelled text images from fonts, as a tf.data stream, numpy batches or a dataset on disk.

Names are imported when first used: inference imports `synth.image` without the renderer, and rendering
alone never imports TensorFlow (only `stream` and `read` do).
"""

from importlib import import_module
from typing import Any

from synth.errors import SynthError
from synth.version import __version__

#: public name -> the module that holds it
_WHERE = {
    "Alphabet": "synth.alphabet", "EffectsConfig": "synth.config", "FontConfig": "synth.config",
    "RenderConfig": "synth.config", "SynthConfig": "synth.config", "TextConfig": "synth.config",
    "FontLibrary": "synth.fonts", "Renderer": "synth.renderer", "Spec": "synth.spec", "batches": "synth.batch",
    "write": "synth.dataset", "read": "synth.dataset", "stream": "synth.streaming",
}

__all__ = [
    "Alphabet", "EffectsConfig", "FontConfig", "FontLibrary", "RenderConfig", "Renderer", "Spec", "SynthConfig",
    "SynthError", "TextConfig", "__version__", "batches", "read", "stream", "write",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'synth' has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)
